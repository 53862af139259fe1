//! How values read in the summary: times as k6 shows them (`298.96µs`, `4.45ms`, `1.2s`),
//! data sizes in SI units (`642 kB`).

/// Two decimals, cut rather than rounded (as k6 does), without trailing zeros.
fn two(v: f64) -> String {
    trim(format!("{:.2}", (v * 100.0 + 1e-9).floor() / 100.0))
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A time in milliseconds, as k6 prints it.
pub fn format_time(ms: f64) -> String {
    if !ms.is_finite() {
        return format!("{ms}");
    }
    let sign = if ms < 0.0 { "-" } else { "" };
    let ms = ms.abs();
    if ms == 0.0 {
        return "0s".into();
    }
    let body = if ms < 0.001 {
        format!("{}ns", two(ms * 1e6))
    } else if ms < 1.0 {
        format!("{}µs", two(ms * 1e3))
    } else if ms < 1000.0 {
        format!("{}ms", two(ms))
    } else if ms < 60_000.0 {
        format!("{}s", two(ms / 1e3))
    } else {
        let total_s = ms / 1e3;
        let h = (total_s / 3600.0).floor();
        let m = ((total_s - h * 3600.0) / 60.0).floor();
        let s = total_s - h * 3600.0 - m * 60.0;
        let s = trim(format!("{s:.1}"));
        if h > 0.0 {
            format!("{h}h{m}m{s}s")
        } else {
            format!("{m}m{s}s")
        }
    };
    format!("{sign}{body}")
}

/// A number of bytes, in SI units with k6's rounding.
pub fn format_data(bytes: f64) -> String {
    if bytes < 10.0 {
        return format!("{} B", bytes.max(0.0).round());
    }
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let e = (bytes.log10() / 3.0).floor().min(6.0);
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
        assert_eq!(format_time(0.5263), "526.3µs");
        assert_eq!(format_time(4.452225716202925), "4.45ms");
        assert_eq!(format_time(30.189434), "30.18ms");
        assert_eq!(format_time(35.32545), "35.32ms");
        assert_eq!(format_time(1500.0), "1.5s");
        assert_eq!(format_time(90_000.0), "1m30s");
        assert_eq!(format_time(0.0005), "500ns");
    }

    #[test]
    fn data_reads_like_k6() {
        assert_eq!(format_data(641550.0), "642 kB");
        assert_eq!(format_data(247455.0), "248 kB");
        assert_eq!(format_data(82397.48), "82 kB");
        assert_eq!(format_data(5.0), "5 B");
        assert_eq!(format_data(1234.0), "1.2 kB");
        assert_eq!(format_data(3_500_000.0), "3.5 MB");
    }
}
