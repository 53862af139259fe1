//! Writing what a script's `handleSummary` returned: to stdout, stderr, or files.

use std::io::Write;

use stampede_runtime::log::{Level, Logger};

/// Writes each output: `stdout` and `stderr` to the process's own, any other name to the file
/// of that path (relative to the working directory, made or truncated; its directory must
/// exist), as k6 does. Failures are logged together, and the others still written.
pub fn write(outputs: &[(String, Vec<u8>)], log: &Logger) {
    let mut errors = Vec::new();
    for (name, data) in outputs {
        let written = match name.as_str() {
            "stdout" => {
                let mut out = std::io::stdout().lock();
                out.write_all(data).and_then(|()| out.flush())
            }
            "stderr" => std::io::stderr().lock().write_all(data),
            path => std::fs::write(path, data),
        };
        if let Err(e) = written {
            errors.push(format!("could not write '{name}': {e}"));
        }
    }
    if !errors.is_empty() {
        log.log(
            Level::Error,
            &format!(
                "Could not save some summary information: {}",
                errors.join("; ")
            ),
            &[],
        );
    }
}
