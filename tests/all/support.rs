//! Running the `stampede` binary against servers on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A finished `stampede` run.
pub struct RunResult {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The `--summary-export` JSON, when the run wrote one.
    pub summary: Option<Value>,
}

impl RunResult {
    /// A metric's field from the summary export, e.g. `("http_reqs", "count")`.
    pub fn metric(&self, name: &str, field: &str) -> f64 {
        let summary = self
            .summary
            .as_ref()
            .unwrap_or_else(|| panic!("no summary export; stderr:\n{}", self.stderr));
        summary["metrics"][name][field].as_f64().unwrap_or_else(|| {
            panic!(
                "no {name}.{field} in the summary export: {}",
                summary["metrics"][name]
            )
        })
    }

    /// Whether the summary export has the metric.
    pub fn has_metric(&self, name: &str) -> bool {
        self.summary
            .as_ref()
            .is_some_and(|s| !s["metrics"][name].is_null())
    }

    /// Everything printed, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A scratch directory removed at drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "stampede-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The stampede binary under test.
pub fn stampede() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stampede"));
    // Keep the user's STAMPEDE_* settings out of the tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("STAMPEDE_") || k == "GITHUB_STEP_SUMMARY" {
            cmd.env_remove(k);
        }
    }
    // And the system environment out of the scripts (stampede passes it to them by default,
    // as k6 does): the test guests read variables such as PATH from `-e` only.
    cmd.env("STAMPEDE_INCLUDE_SYSTEM_ENV_VARS", "false");
    cmd
}

/// Runs `stampede run SCRIPT ARGS… --summary-export FILE` and collects everything.
pub fn run(script: &Path, args: &[&str]) -> RunResult {
    let dir = TempDir::new("run");
    let export = dir.path("summary.json");
    let mut cmd = stampede();
    cmd.arg("run")
        .arg(script)
        .args(args)
        .arg("--summary-export")
        .arg(&export);
    run_command(cmd, Some(&export))
}

/// Runs a prepared command; reads `export` afterwards if given.
pub fn run_command(mut cmd: Command, export: Option<&Path>) -> RunResult {
    let started = Instant::now();
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("running stampede");
    let elapsed = started.elapsed();
    let summary = export
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|s| serde_json::from_str(&s).expect("the summary export is JSON"));
    RunResult {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed,
        summary,
    }
}

/// A tokio runtime for the servers of one test, running on its own threads while the test
/// waits for the stampede process.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The built-in target on a free port, in `rt`.
pub fn target(rt: &tokio::runtime::Runtime) -> stampede_runtime::serve::Server {
    rt.block_on(stampede_runtime::serve::Server::start(
        "127.0.0.1:0".parse().unwrap(),
    ))
    .unwrap()
}
