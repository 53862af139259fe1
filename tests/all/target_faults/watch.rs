//! Runs of stampede against the fault server, watched from outside (open sockets, time).

use super::server::*;
use crate::guests::guest;
use crate::support::{runtime, stampede, RunResult, TempDir};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Open sockets of a process: entries of `/proc/PID/fd` that link to `socket:[…]`.
pub(super) fn open_sockets(pid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|link| link.to_string_lossy().starts_with("socket:"))
        .count()
}

/// A run of stampede watched from outside.
pub(super) struct Watched {
    pub(super) run: RunResult,
    /// Open sockets of the stampede process, every 100 ms.
    pub(super) sockets: Vec<usize>,
}

/// Runs `stampede run SCRIPT ARGS… --summary-export FILE`, counting its open sockets every
/// 100 ms, and kills it (failing the test) if it runs longer than `limit`.
pub(super) fn run_watched(script: &Path, args: &[&str], limit: Duration) -> Watched {
    let dir = TempDir::new("faults");
    let export = dir.path("summary.json");
    let (out, err) = (dir.path("stdout"), dir.path("stderr"));
    let mut cmd = stampede();
    cmd.arg("run")
        .arg(script)
        .args(args)
        .arg("--summary-export")
        .arg(&export)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("starting stampede");
    let pid = child.id();
    let mut sockets = Vec::new();
    let mut next_poll = started;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "stampede {args:?} hung: killed after {limit:?}\n--- stderr ---\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        if Instant::now() >= next_poll {
            sockets.push(open_sockets(pid));
            next_poll += Duration::from_millis(100);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let summary = std::fs::read_to_string(&export)
        .ok()
        .map(|s| serde_json::from_str(&s).expect("the summary export is JSON"));
    Watched {
        run: RunResult {
            code: status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err).unwrap_or_default(),
            elapsed,
            summary,
        },
        sockets,
    }
}

/// The message the client gives a script for `fault`: api-flow's `setup()` POSTs to
/// `$BASE_URL/post` and fails (exit code 107) with the response's error on stderr.
pub(super) fn message_for(server: &FaultServer, fault: &str, args: &[&str]) -> (String, Duration) {
    let base = format!("BASE_URL={}/{fault}", server.base());
    let mut all = vec!["-e", &base, "-q"];
    all.extend_from_slice(args);
    let w = run_watched(&guest("api-flow"), &all, Duration::from_secs(30));
    let r = w.run;
    assert_eq!(r.code, 107, "setup fails on {fault}: {}", r.output());
    let start = r
        .stderr
        .find("Some(\\\"")
        .unwrap_or_else(|| panic!("no error message in: {}", r.output()))
        + "Some(\\\"".len();
    let len = r.stderr[start..].find("\\\")").expect("the message ends");
    (r.stderr[start..start + len].to_owned(), r.elapsed)
}

/// Requests to a fault: how many, with which timeout, and what must come back.
pub(super) struct Expect {
    pub(super) fault: &'static str,
    pub(super) code: u32,
    /// `--http-timeout`.
    pub(super) timeout: &'static str,
    /// Bounds of the duration of each failed request (`http_req_duration`), ms.
    pub(super) duration_ms: (f64, f64),
    /// A part of the message the script gets.
    pub(super) message: &'static str,
}

pub(super) const N: u64 = 3;

/// Runs N iterations of the probe against `e.fault`, then checks the code, the time, that every
/// failure had a connection of its own, and the message a script gets.
pub(super) fn expect_fault(e: &Expect) -> (Watched, FaultServer) {
    let rt = runtime();
    let server = FaultServer::start(&rt);
    let base = format!("BASE_URL={}", server.base());
    let path = format!("PATH=/{}", e.fault);
    let iterations = N.to_string();
    let threshold = format!("http_reqs{{error_code:{}}}: count=={N}", e.code);
    let w = run_watched(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            &path,
            "-i",
            &iterations,
            "-q",
            "--http-timeout",
            e.timeout,
            "--threshold",
            &threshold,
            "--threshold",
            "http_req_failed: rate==1",
        ],
        Duration::from_secs(30),
    );
    let r = &w.run;
    assert_eq!(
        r.code,
        0,
        "{}: every request fails with {}\n{}",
        e.fault,
        e.code,
        r.output()
    );
    assert_eq!(r.metric("http_reqs", "count"), N as f64, "{}", r.output());
    assert_eq!(r.metric("http_req_failed", "value"), 1.0);
    assert_eq!(r.metric("checks", "fails"), N as f64);
    let (min, max) = (
        r.metric("http_req_duration", "min"),
        r.metric("http_req_duration", "max"),
    );
    assert!(
        min >= e.duration_ms.0 && max < e.duration_ms.1,
        "{}: failed requests took {min}..{max} ms, not within {:?} ms",
        e.fault,
        e.duration_ms
    );
    let iteration_max = r.metric("iteration_duration", "max");
    assert!(
        iteration_max < e.duration_ms.1 + 500.0,
        "{}: an iteration took {iteration_max} ms",
        e.fault
    );
    // A failed connection is never reused: one connection per request.
    assert_eq!(server.requests(), N, "{}", e.fault);
    assert_eq!(server.connections(), N, "{}", e.fault);

    let (connections, requests) = (server.connections(), server.requests());
    let (message, took) = message_for(&server, e.fault, &["--http-timeout", e.timeout]);
    assert!(
        message.contains(e.message),
        "{}: the message `{message}` does not say `{}`",
        e.fault,
        e.message
    );
    eprintln!(
        "[target_faults] {}: error_code {} message {message:?}; requests {min:.1}..{max:.1} ms, \
         iterations max {iteration_max:.1} ms; run {:?} (setup run {took:?}); server: {} \
         connections for {} requests; stampede sockets max {}",
        e.fault,
        e.code,
        r.elapsed,
        connections,
        requests,
        w.sockets.iter().max().unwrap_or(&0),
    );
    (w, server)
}
