//! How values read in the summary: times as k6 shows them (`298.96µs`, `4.45ms`, `1.2s`),
//! data sizes in SI units (`642 kB`).

/// `v` cut (not rounded) to `places` decimals, without trailing zeros: k6's
/// `toFixedNoTrailingZerosTrunc` (`12.3456` → `12.34`, `1.5` → `1.5`, `2.0` → `2`).
fn cut(v: f64, places: i32) -> String {
    let scale = 10f64.powi(places);
    let kept = (scale * v).trunc() / scale;
    shortest(&format!("{kept:.*}", places as usize))
}

/// A decimal read back and written with the shortest digits, as JavaScript's
/// `parseFloat(s).toString()` does (`"4.50"` → `4.5`, `"3.00"` → `3`).
fn shortest(s: &str) -> String {
    let v: f64 = s.parse().unwrap_or(0.0);
    if v == 0.0 {
        "0".into()
    } else {
        format!("{v}")
    }
}

/// A time in milliseconds, as k6 prints it: `0s`; whole nanoseconds below a microsecond;
/// microseconds and milliseconds with two decimals cut; seconds with two decimals cut below a
/// minute, whole (cut) seconds above; then minutes and hours (`1m5s`, `1h2m3s`).
pub fn format_time(ms: f64) -> String {
    if !ms.is_finite() {
        return format!("{ms}");
    }
    if ms == 0.0 {
        return "0s".into();
    }
    if ms < 0.001 {
        return format!("{}ns", shortest(&format!("{}", (ms * 1e6).trunc())));
    }
    if ms < 1.0 {
        return format!("{}µs", cut(ms * 1000.0, 2));
    }
    if ms < 1000.0 {
        return format!("{}ms", cut(ms, 2));
    }
    let places = if ms > 60_000.0 { 0 } else { 2 };
    let secs = format!("{}s", cut((ms % 60_000.0) / 1000.0, places));
    let minutes = (ms / 60_000.0).trunc();
    if minutes < 1.0 {
        return secs;
    }
    let hours = (minutes / 60.0).trunc();
    let with_minutes = format!("{}m{secs}", minutes % 60.0);
    if hours < 1.0 {
        with_minutes
    } else {
        format!("{hours}h{with_minutes}")
    }
}

/// A number of bytes, in SI units as k6 writes them: below 10 the number itself (`5 B`,
/// `3.25 B`), else one decimal below 10 of the unit (`1.2 kB`) and none above (`642 kB`).
pub fn format_data(bytes: f64) -> String {
    if bytes < 10.0 {
        return format!("{} B", shortest(&format!("{bytes}")));
    }
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let e = (bytes.ln() / 1000f64.ln()).floor().clamp(0.0, 8.0);
    let val = (bytes / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    let unit = UNITS[e as usize];
    if val < 10.0 {
        format!("{val:.1} {unit}")
    } else {
        format!("{val:.0} {unit}")
    }
}

/// k6's `summaryTimeUnit`: every time in the summary in one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Seconds.
    S,
    /// Milliseconds.
    Ms,
    /// Microseconds.
    Us,
}

impl TimeUnit {
    /// k6's names: `s`, `ms`, `us`.
    pub fn parse(s: &str) -> Result<TimeUnit, String> {
        match s.trim() {
            "s" => Ok(TimeUnit::S),
            "ms" => Ok(TimeUnit::Ms),
            "us" => Ok(TimeUnit::Us),
            other => Err(format!(
                "invalid summary time unit `{other}`: use s, ms or us"
            )),
        }
    }

    /// A time in milliseconds in this unit, with two decimals, as k6 shows it.
    pub fn format(self, ms: f64) -> String {
        let (v, unit) = match self {
            TimeUnit::S => (ms / 1000.0, "s"),
            TimeUnit::Ms => (ms, "ms"),
            TimeUnit::Us => (ms * 1000.0, "µs"),
        };
        format!("{v:.2}{unit}")
    }
}

/// A time in milliseconds, in `unit` if one is set, else as k6 picks.
pub fn format_time_in(ms: f64, unit: Option<TimeUnit>) -> String {
    match unit {
        Some(u) => u.format(ms),
        None => format_time(ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_time_unit_fixes_the_unit_like_k6() {
        assert_eq!(TimeUnit::parse("ms").unwrap().format(0.4412), "0.44ms");
        assert_eq!(TimeUnit::parse("s").unwrap().format(43.32), "0.04s");
        assert_eq!(TimeUnit::parse("us").unwrap().format(4.45), "4450.00µs");
        assert_eq!(format_time_in(1500.0, None), "1.5s");
        assert!(TimeUnit::parse("min").is_err());
    }

    #[test]
    fn times_read_like_k6() {
        assert_eq!(format_time(0.0), "0s");
        assert_eq!(format_time(0.298964), "298.96µs");
        // 0.5263 × 1000 × 100 is 52629.999…: k6 cuts it to 526.29µs (checked with `k6 run`).
        assert_eq!(format_time(0.5263), "526.29µs");
        assert_eq!(format_time(4.452225716202925), "4.45ms");
        assert_eq!(format_time(30.189434), "30.18ms");
        assert_eq!(format_time(35.32545), "35.32ms");
        assert_eq!(format_time(1500.0), "1.5s");
        assert_eq!(format_time(90_000.0), "1m30s");
        assert_eq!(format_time(0.0005), "500ns");
    }

    #[test]
    fn times_are_cut_like_k6_not_rounded() {
        // k6 v2.2's humanizeGenericDuration: each value as `k6 run` prints it for a time trend
        // holding it (trend-format.js and the like).
        assert_eq!(format_time(223.5), "223.5ms");
        assert_eq!(format_time(1234.567), "1.23s");
        assert_eq!(format_time(12.3456), "12.34ms");
        assert_eq!(format_time(0.5), "500µs");
        assert_eq!(format_time(65_432.1), "1m5s");
        assert_eq!(format_time(59_999.0), "59.99s");
        assert_eq!(format_time(60_000.0), "1m0s");
        assert_eq!(format_time(119_999.0), "1m59s");
        assert_eq!(format_time(3_600_000.0), "1h0m0s");
        assert_eq!(format_time(5_025_500.0), "1h23m45s");
        assert_eq!(format_time(0.000_999_9), "999ns");
        assert_eq!(format_time(0.000_000_4), "0ns");
        assert_eq!(format_time(0.999_999), "999.99µs");
    }

    #[test]
    fn data_reads_like_k6() {
        assert_eq!(format_data(641550.0), "642 kB");
        assert_eq!(format_data(247455.0), "248 kB");
        assert_eq!(format_data(82397.48), "82 kB");
        assert_eq!(format_data(5.0), "5 B");
        assert_eq!(format_data(1234.0), "1.2 kB");
        assert_eq!(format_data(3_500_000.0), "3.5 MB");
        // k6 writes small amounts as they are (a rate of bytes per second, mostly).
        assert_eq!(format_data(3.25), "3.25 B");
        assert_eq!(format_data(0.0), "0 B");
        assert_eq!(format_data(999_960.0), "1000 kB");
    }
}
