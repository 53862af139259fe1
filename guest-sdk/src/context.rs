//! Where the script runs: the VU and iteration, variables from `-e`, think time, logging,
//! groups, and stopping or failing the test.

use std::time::Duration;

use crate::bindings::stampede::script::context::{self as wit, LogLevel};

pub use wit::{ExecInfo, TestIds};

/// Facts about the current VU and iteration (k6's `exec.vu` and `exec.scenario`).
///
/// ```no_run
/// let info = stampede::info();
/// let user = format!("user-{}", info.vu_id);
/// ```
pub fn info() -> ExecInfo {
    wit::info()
}

/// The VU's and the current iteration's numbers in the whole test (k6's `exec.vu.idInTest`,
/// `exec.scenario.iterationInInstance` and `exec.scenario.iterationInTest`): unique across
/// the instances of a test split with `--execution-segment`, where `info().vu_id` is only
/// unique within one instance.
///
/// ```no_run
/// let ids = stampede::ids();
/// let order = format!("order-{}", ids.scenario_iteration_in_test);
/// ```
pub fn ids() -> TestIds {
    wit::ids()
}

/// A variable given with `-e NAME=VALUE` (k6's `__ENV`).
pub fn env(name: &str) -> Option<String> {
    wit::env(name)
}

/// Pauses this VU (think time). Other VUs keep running; the wait counts in
/// `iteration_duration` but not in any request's duration.
pub fn sleep(duration: Duration) {
    wit::sleep(duration.as_secs_f64());
}

/// Pauses this VU for `seconds`, as k6's `sleep(seconds)`.
pub fn sleep_secs(seconds: f64) {
    wit::sleep(seconds);
}

/// Runs `body` inside the group `name`: its samples carry the tag `group=::name` (nested
/// groups join with `::`), and its duration becomes a `group_duration` sample.
///
/// ```no_run
/// stampede::group("login", || {
///     stampede::http::get("http://127.0.0.1:8080/get");
/// });
/// ```
pub fn group<R>(name: &str, body: impl FnOnce() -> R) -> R {
    struct Exit;
    impl Drop for Exit {
        fn drop(&mut self) {
            wit::group_exit();
        }
    }
    wit::group_enter(name);
    let _exit = Exit;
    body()
}

/// Stops the whole test now, as k6's `test.abort()`: no new iterations start, `teardown`
/// still runs, and stampede exits with code 108.
pub fn abort_test(reason: &str) -> ! {
    wit::abort_test(reason);
    unreachable!("stampede did not stop the iteration after abort-test")
}

/// Marks the test as failed (exit code 110) without stopping it.
pub fn fail_test(reason: &str) {
    wit::fail_test(reason);
}

/// Logging to the test's log (stderr), with the VU's id.
pub mod log {
    use super::{wit, LogLevel};

    /// Logs at debug level (shown with `--verbose`).
    pub fn debug(message: &str) {
        wit::log(LogLevel::Debug, message);
    }

    /// Logs at info level.
    pub fn info(message: &str) {
        wit::log(LogLevel::Info, message);
    }

    /// Logs a warning.
    pub fn warn(message: &str) {
        wit::log(LogLevel::Warn, message);
    }

    /// Logs an error (the iteration goes on).
    pub fn error(message: &str) {
        wit::log(LogLevel::Error, message);
    }
}
