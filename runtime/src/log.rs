//! The test's log on stderr, in k6's `key=value` format, with rate limits so that a script
//! failing in every iteration cannot flood the terminal or slow the test down.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Details, shown with `--verbose`.
    Debug,
    /// Normal messages.
    Info,
    /// Something worth a look.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }
}

/// Lines per key and window before the rest of the window is suppressed: stampede's own
/// messages (a script that fails in every iteration says so ten times a second).
const BURST: u32 = 10;
/// The same for what the script writes itself (`console.*`, a guest's stdout and stderr):
/// k6 writes every line; a thousand a second keep a debugging session whole and still stop a
/// script that logs in every iteration of a fast loop from turning the test into a log writer.
pub const SCRIPT_BURST: u32 = 1000;
const WINDOW: Duration = Duration::from_secs(1);

/// Where log lines go. Cheap to clone.
#[derive(Clone)]
pub struct Logger {
    inner: Arc<Inner>,
}

struct Inner {
    min: Level,
    out: Mutex<Box<dyn Write + Send>>,
    limits: Mutex<HashMap<String, Window>>,
    /// Where the script's own lines go instead (k6's `consoleOutput`).
    console: std::sync::OnceLock<Logger>,
}

struct Window {
    start: Instant,
    count: u32,
    suppressed: u64,
}

impl Logger {
    /// Logs at `min` level and above to stderr.
    pub fn stderr(min: Level) -> Self {
        Self::to_writer(min, Box::new(std::io::stderr()))
    }

    /// Logs to `out` (a file, or a buffer in tests).
    pub fn to_writer(min: Level, out: Box<dyn Write + Send>) -> Self {
        Self {
            inner: Arc::new(Inner {
                min,
                out: Mutex::new(out),
                limits: Mutex::new(HashMap::new()),
                console: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Sends the script's own lines (console, stdout, stderr) to `out` from now on, for this
    /// log and its clones: k6's `consoleOutput`. Only the first call counts.
    pub fn redirect_console(&self, out: Box<dyn Write + Send>) {
        let _ = self
            .inner
            .console
            .set(Logger::to_writer(self.inner.min, out));
    }

    /// Where the script's own lines go: this log, or the `consoleOutput` file.
    pub fn console(&self) -> &Logger {
        self.inner.console.get().unwrap_or(self)
    }

    /// Whether lines at `level` are written.
    pub fn enabled(&self, level: Level) -> bool {
        level >= self.inner.min
    }

    /// Writes one line with extra `key=value` fields.
    pub fn log(&self, level: Level, msg: &str, fields: &[(&str, &str)]) {
        if !self.enabled(level) {
            return;
        }
        let time = humantime::format_rfc3339_millis(SystemTime::now());
        let msg = clip(msg);
        let mut line = format!("time=\"{time}\" level={} msg={}", level.name(), quote(&msg));
        for (k, v) in fields {
            let _ = write!(line, " {k}={}", quote(&clip(v)));
        }
        line.push('\n');
        let mut out = self.inner.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }

    /// Like [`log`](Self::log), but at most a few lines per second for each `key`; the
    /// number suppressed is reported when the next window opens.
    pub fn limited(&self, key: &str, level: Level, msg: &str, fields: &[(&str, &str)]) {
        self.limited_to(BURST, key, level, msg, fields);
    }

    /// [`limited`](Self::limited) with `burst` lines a second for `key`.
    pub fn limited_to(
        &self,
        burst: u32,
        key: &str,
        level: Level,
        msg: &str,
        fields: &[(&str, &str)],
    ) {
        if !self.enabled(level) {
            return;
        }
        let report = {
            let mut limits = self.inner.limits.lock().unwrap_or_else(|e| e.into_inner());
            let w = limits.entry(key.to_owned()).or_insert(Window {
                start: Instant::now(),
                count: 0,
                suppressed: 0,
            });
            let mut report = None;
            if w.start.elapsed() >= WINDOW {
                if w.suppressed > 0 {
                    report = Some(w.suppressed);
                }
                *w = Window {
                    start: Instant::now(),
                    count: 0,
                    suppressed: 0,
                };
            }
            if w.count >= burst {
                w.suppressed += 1;
                return;
            }
            w.count += 1;
            report
        };
        if let Some(n) = report {
            self.log(
                level,
                &format!("{n} similar messages were suppressed"),
                &[("source", key)],
            );
        }
        self.log(level, msg, fields);
    }

    /// Reports the messages still suppressed (at the end of the test).
    pub fn flush_suppressed(&self) {
        let pending: Vec<(String, u64)> = {
            let mut limits = self.inner.limits.lock().unwrap_or_else(|e| e.into_inner());
            limits
                .iter_mut()
                .filter(|(_, w)| w.suppressed > 0)
                .map(|(k, w)| (k.clone(), std::mem::take(&mut w.suppressed)))
                .collect()
        };
        for (key, n) in pending {
            self.log(
                Level::Warn,
                &format!("{n} similar messages were suppressed"),
                &[("source", &key)],
            );
        }
    }
}

/// Longest message written; a script cannot fill the log with one call.
const MAX_MESSAGE: usize = 16 << 10;

fn clip(msg: &str) -> std::borrow::Cow<'_, str> {
    if msg.len() <= MAX_MESSAGE {
        return msg.into();
    }
    let mut end = MAX_MESSAGE;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &msg[..end], msg.len() - end).into()
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
    {
        return s.to_owned();
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            '\x07' => q.push_str("\\a"),
            '\x08' => q.push_str("\\b"),
            '\x0b' => q.push_str("\\v"),
            '\x0c' => q.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\x7f' => q.push_str(&format!("\\x{:02x}", c as u32)),
            c if unprintable(c) && (c as u32) <= 0xffff => {
                q.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if unprintable(c) => q.push_str(&format!("\\U{:08x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// A character Go's `%q` (logrus's, k6's) escapes besides the ASCII controls: other controls,
/// spaces other than ' ' (a no-break space, a line separator), format characters (invisible
/// ones, and the bidirectional overrides that would reorder the rest of the line) and private
/// use. A script's escape sequences (`\x1b[2J`) never reach the terminal as such.
fn unprintable(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{ad}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e000}'..='\u{f8ff}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
                | '\u{f0000}'..='\u{10ffff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn values_are_quoted_as_go_quotes_them() {
        assert_eq!(quote("plain-1.2/x"), "plain-1.2/x");
        assert_eq!(quote("a \"b\"\n"), r#""a \"b\"\n""#);
        // A terminal's escape sequence, a bell, a no-break space, a zero-width space.
        assert_eq!(
            quote("\x1b[2J\x07 a\u{a0}b\u{200b}c é"),
            r#""\x1b[2J\a a\u00a0b\u200bc é""#
        );
        // k6 wrote this line so: bidirectional controls and private use, escaped.
        assert_eq!(
            quote("a\u{202e}b\u{2066}c\u{e000}d\u{f0000}"),
            r#""a\u202eb\u2066c\ue000d\U000f0000""#
        );
    }

    #[test]
    fn lines_are_k6_style_and_rate_limited() {
        let buf = Buf::default();
        let log = Logger::to_writer(Level::Info, Box::new(buf.clone()));
        log.log(Level::Debug, "hidden", &[]);
        for i in 0..50 {
            log.limited(
                "iteration",
                Level::Error,
                &format!("boom {i}"),
                &[("vu", "1")],
            );
        }
        log.flush_suppressed();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("hidden"));
        assert_eq!(text.matches("boom").count(), BURST as usize);
        assert!(text.contains("level=error msg=\"boom 0\" vu=1"), "{text}");
        assert!(
            text.contains("40 similar messages were suppressed"),
            "{text}"
        );
        // The script's own lines have a budget of their own, a hundred times larger.
        for i in 0..1005 {
            log.limited_to(
                SCRIPT_BURST,
                "console",
                Level::Info,
                &format!("line {i}"),
                &[],
            );
        }
        log.flush_suppressed();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches("msg=\"line ").count(), SCRIPT_BURST as usize);
        // A field is cut as the message is: a peer's megabytes in an error stay out of the log.
        let long = "x".repeat(1 << 20);
        log.log(Level::Warn, "Request Failed", &[("error", &long)]);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let last = text.lines().last().unwrap();
        assert!(last.len() < MAX_MESSAGE + 200, "{}", last.len());
        assert!(
            text.contains("5 similar messages were suppressed"),
            "{text}"
        );
    }
}
