//! Durations as k6 writes them: `30s`, `1m30s`, `250ms`, `1.5h`, `2d`; a bare number, in a
//! string or as a JSON number, means milliseconds (k6's "extended" durations). On the command
//! line, as in k6, a duration needs its unit.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Parses a duration such as `1m30s`. Units: `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    let bad =
        |why: &str| format!("invalid duration `{s}`: {why} (examples: 30s, 1m30s, 250ms, 2h)");
    if text.is_empty() {
        return Err(bad("empty"));
    }
    if text.starts_with('-') {
        return Err(bad("durations cannot be negative"));
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    if let Ok(ms) = text.parse::<f64>() {
        return secs_to_duration(ms / 1000.0).ok_or_else(|| bad("too large"));
    }
    let mut total = 0f64; // nanoseconds
    let mut rest = text;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| bad("missing unit after the last number"))?;
        if num_len == 0 {
            return Err(bad("expected a number"));
        }
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| bad("malformed number"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            "" => return Err(bad("missing unit")),
            other => return Err(bad(&format!("unknown unit `{other}`"))),
        };
        total += number * nanos_per_unit;
        rest = &rest[unit_len..];
    }
    secs_to_duration(total / 1e9).ok_or_else(|| bad("too large"))
}

/// Parses a duration given on the command line: as in k6 (whose flags take Go durations), a
/// number needs its unit, except 0 — `-d 30` is refused rather than read as 30 ms.
pub fn parse_flag_duration(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    if text.parse::<f64>().is_ok_and(|n| n != 0.0) {
        return Err(format!(
            "invalid duration `{s}`: missing unit (examples: 30s, 1m30s, 250ms, 2h)"
        ));
    }
    parse_duration(text)
}

fn secs_to_duration(secs: f64) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(secs).ok()
}

/// Formats a duration the way k6 prints it: `1m30s`, `250ms`, `2h0m0s`.
pub fn format_duration(d: Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms == 0 {
        return if d.is_zero() {
            "0s".into()
        } else {
            format!("{}µs", d.as_micros())
        };
    }
    if total_ms < 1000 {
        return format!("{total_ms}ms");
    }
    let secs = d.as_secs_f64();
    let h = (secs / 3600.0).floor() as u64;
    let m = ((secs - h as f64 * 3600.0) / 60.0).floor() as u64;
    let s = secs - h as f64 * 3600.0 - m as f64 * 60.0;
    let s = if (s - s.round()).abs() < 1e-9 {
        format!("{}", s.round() as u64)
    } else {
        format!("{:.3}", s).trim_end_matches('0').to_string()
    };
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m{s}s"),
        (h, m) => format!("{h}h{m}m{s}s"),
    }
}

/// A duration option: accepts `"30s"` or a number of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl std::str::FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s).map(Dur)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30s\" or a number of milliseconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Ok(Dur(Duration::from_millis(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                u64::try_from(v)
                    .map(|v| Dur(Duration::from_millis(v)))
                    .map_err(|_| {
                        E::custom(format!(
                            "invalid duration {v}: durations cannot be negative"
                        ))
                    })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                secs_to_duration(v / 1000.0)
                    .map(Dur)
                    .ok_or_else(|| E::custom(format!("invalid duration {v}")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k6_durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(
            parse_duration("1h2m3s4ms").unwrap(),
            Duration::from_millis(3_723_004)
        );
        assert_eq!(parse_duration("100us").unwrap(), Duration::from_micros(100));
        // A bare number is milliseconds, as in k6 (`K6_DURATION=10000` is 10 s).
        assert_eq!(parse_duration("10000").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_micros(1500));
        assert_eq!(parse_duration(" 5s ").unwrap(), Duration::from_secs(5));
    }

    #[test]
    fn rejects_bad_durations_with_a_reason() {
        for bad in ["", "s", "10x", "-5s", "1m30", "abc", "1..5s", "5 s"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("invalid duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn flags_need_a_unit_as_in_k6() {
        assert_eq!(parse_flag_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_flag_duration("0").unwrap(), Duration::ZERO);
        let err = parse_flag_duration("1000").unwrap_err();
        assert!(err.contains("missing unit"), "{err}");
    }

    #[test]
    fn json_numbers_are_milliseconds() {
        let d: Dur = serde_json::from_str("1500").unwrap();
        assert_eq!(d.0, Duration::from_millis(1500));
        let d: Dur = serde_json::from_str("\"2m\"").unwrap();
        assert_eq!(d.0, Duration::from_secs(120));
        let d: Dur = serde_json::from_str("\"1500\"").unwrap();
        assert_eq!(d.0, Duration::from_millis(1500));
        let d: Dur = serde_json::from_str("\"2m\"").unwrap();
        assert_eq!(d.0, Duration::from_secs(120));
        assert!(serde_json::from_str::<Dur>("-1").is_err());
    }

    #[test]
    fn formats_like_k6() {
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h0m0s");
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }
}
