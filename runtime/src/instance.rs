//! One instance of a test split between machines: its aligned start (`--start-at`), and
//! `setup()`'s data handed over as a file (`--setup-data`, `--export-setup-data`), so that
//! `setup()` runs in one place and every instance begins the load at the same instant.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How an instance of a split test starts: when, and where `setup()`'s data comes from or
/// goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handover {
    /// `--start-at`: hold until then, once ready.
    pub start_at: Option<SystemTime>,
    /// `--setup-data FILE`: read `setup()`'s data from it.
    pub setup_data: Option<PathBuf>,
    /// `--export-setup-data FILE`: write `setup()`'s data to it.
    pub export_setup_data: Option<PathBuf>,
}

/// The largest setup data read from a file (k6 keeps setup data in memory too).
pub const MAX_SETUP_DATA: u64 = 64 << 20;

/// Parses `--start-at`: an RFC 3339 time (`2030-01-02T03:04:05Z`, `…+02:00`, fractions of
/// seconds allowed), or `+DURATION` from now (for tests and quick trials).
pub fn parse_start_at(s: &str, now: SystemTime) -> Result<SystemTime, String> {
    let t = s.trim();
    let bad = |why: &str| {
        format!(
            "invalid --start-at `{s}`: {why} (write an RFC 3339 time like 2030-01-02T03:04:05Z, or +30s)"
        )
    };
    if let Some(rel) = t.strip_prefix('+') {
        let d = crate::options::parse_duration(rel).map_err(|e| bad(&e))?;
        return Ok(now + d);
    }
    // humantime reads UTC times; an offset is applied here.
    let (base, offset) =
        split_offset(t).ok_or_else(|| bad("its time zone offset is not ±HH:MM"))?;
    let utc = humantime::parse_rfc3339_weak(base).map_err(|e| bad(&e.to_string()))?;
    let shifted = if offset >= 0 {
        utc.checked_sub(Duration::from_secs(offset as u64))
    } else {
        utc.checked_add(Duration::from_secs(offset.unsigned_abs()))
    };
    shifted.ok_or_else(|| bad("out of range"))
}

/// The time without its zone, and the zone's offset east of UTC in seconds.
fn split_offset(t: &str) -> Option<(&str, i64)> {
    if let Some(base) = t.strip_suffix(['Z', 'z']) {
        return Some((base, 0));
    }
    let date_time_len = "2030-01-02T03:04:05".len();
    if t.len() > date_time_len {
        let tail = &t[t.len().saturating_sub(6)..];
        let sign = match tail.as_bytes().first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Some((t, 0)), // no zone: UTC, as humantime reads it
        };
        let (h, m) = tail[1..].split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        if h > 23 || m > 59 {
            return None;
        }
        return Some((&t[..t.len() - 6], sign * (h * 3600 + m * 60)));
    }
    Some((t, 0))
}

/// How long until `at` (zero when it has passed), and how late it is when it has.
pub fn until(at: SystemTime, now: SystemTime) -> Result<Duration, Duration> {
    at.duration_since(now).map_err(|e| e.duration())
}

/// Where this instance's setup data comes from or goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupRole {
    /// Runs `setup()` itself (unless `noSetup`), and writes its data here if given.
    Runs(Option<PathBuf>),
    /// Reads the data another instance wrote, and leaves `setup()` (and, when the file is
    /// shared, `teardown()`) to that instance.
    Reads {
        /// The file.
        path: PathBuf,
        /// Whether `teardown()` runs elsewhere too.
        skip_teardown: bool,
    },
}

/// What `--setup-data READ` and `--export-setup-data WRITE` make of an instance whose
/// segment starts at 0 (`first`) or not. Naming the same file in both shares it: the first
/// segment's instance runs `setup()` and `teardown()` and writes the data, the others read it.
pub fn setup_role(read: Option<&Path>, write: Option<&Path>, first: bool) -> SetupRole {
    match (read, write) {
        (Some(r), Some(w)) if r == w => {
            if first {
                SetupRole::Runs(Some(w.to_path_buf()))
            } else {
                SetupRole::Reads {
                    path: r.to_path_buf(),
                    skip_teardown: true,
                }
            }
        }
        (Some(r), _) => SetupRole::Reads {
            path: r.to_path_buf(),
            skip_teardown: false,
        },
        (None, w) => SetupRole::Runs(w.map(Path::to_path_buf)),
    }
}

/// Writes `data` to `path` (making its directory) whole or not at all: to a temporary file
/// first, then renamed, so that a reader polling for it (setup data, partial results) never
/// sees half of it.
pub fn write_whole(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

/// Reads setup data from `path`, waiting up to `wait` for another instance to write it.
pub async fn read_setup_data(path: &Path, wait: Duration) -> Result<Vec<u8>, String> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::fs::metadata(path).await {
            Ok(m) if m.len() > MAX_SETUP_DATA => {
                return Err(format!(
                    "setup data {} is {} bytes, more than the {MAX_SETUP_DATA} accepted",
                    path.display(),
                    m.len()
                ))
            }
            Ok(_) => {
                return tokio::fs::read(path)
                    .await
                    .map_err(|e| format!("cannot read setup data {}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read setup data {}: {e}", path.display())),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "setup data {} did not appear within {} (the instance of the first segment writes it)",
                path.display(),
                crate::options::format_duration(wait)
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Holds until `at` (`--start-at`), or until the test is stopped. Logs how long it waits,
/// or how late this instance is when the time has passed: it then starts at once.
pub async fn hold_until(at: SystemTime, control: &crate::vu::Control, log: &crate::log::Logger) {
    use crate::log::Level;
    use crate::options::format_duration;
    match until(at, SystemTime::now()) {
        Ok(wait) => {
            log.log(
                Level::Debug,
                &format!("holding for {} until --start-at", format_duration(wait)),
                &[],
            );
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = control.graceful().cancelled() => {}
            }
        }
        Err(late) if late > Duration::from_millis(100) => log.log(
            Level::Warn,
            &format!(
                "this instance was ready {} after --start-at: it starts now, behind the others",
                format_duration(late)
            ),
            &[],
        ),
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SystemTime {
        parse_start_at(s, SystemTime::UNIX_EPOCH).unwrap()
    }

    #[test]
    fn start_times_parse_as_rfc_3339_or_relative() {
        let base = at("2030-01-02T03:04:05Z");
        assert_eq!(at("2030-01-02T05:04:05+02:00"), base);
        assert_eq!(at("2030-01-02T00:34:05-02:30"), base);
        assert_eq!(at("2030-01-02 03:04:05"), base);
        assert_eq!(
            at("2030-01-02T03:04:05.250Z"),
            base + Duration::from_millis(250)
        );
        assert_eq!(
            at("+1m30s"),
            SystemTime::UNIX_EPOCH + Duration::from_secs(90)
        );
        for bad in [
            "tomorrow",
            "2030-13-01T00:00:00Z",
            "+soon",
            "2030-01-02T03:04:05+2:00",
        ] {
            let err = parse_start_at(bad, SystemTime::UNIX_EPOCH).unwrap_err();
            assert!(err.contains("invalid --start-at"), "{err}");
        }
    }

    #[test]
    fn a_shared_file_keeps_setup_in_the_first_segment() {
        let f = Path::new("/results/setup");
        assert_eq!(
            setup_role(Some(f), Some(f), true),
            SetupRole::Runs(Some(f.into()))
        );
        assert_eq!(
            setup_role(Some(f), Some(f), false),
            SetupRole::Reads {
                path: f.into(),
                skip_teardown: true
            }
        );
        assert_eq!(
            setup_role(Some(f), None, true),
            SetupRole::Reads {
                path: f.into(),
                skip_teardown: false
            }
        );
        assert_eq!(
            setup_role(None, Some(f), false),
            SetupRole::Runs(Some(f.into()))
        );
        assert_eq!(setup_role(None, None, false), SetupRole::Runs(None));
    }

    #[tokio::test]
    async fn setup_data_is_waited_for_then_read_whole() {
        let dir = std::env::temp_dir().join(format!("stampede-setup-{}", std::process::id()));
        let path = dir.join("data");
        let _ = std::fs::remove_file(&path);
        let writer = {
            let path = path.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                write_whole(&path, b"{\"token\":1}").unwrap();
            })
        };
        let got = read_setup_data(&path, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(got, b"{\"token\":1}");
        writer.await.unwrap();
        let err = read_setup_data(&dir.join("never"), Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(err.contains("did not appear"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
