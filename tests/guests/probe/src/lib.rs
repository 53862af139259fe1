//! A test guest whose behaviour the test picks with `-e MODE=…`:
//!
//! - `get` (default): GET `$BASE_URL$PATH` (PATH defaults to `/`) and check the status is 200.
//! - `trap`: like `get`, but every `$EVERY`th iteration of a VU hits `unreachable`.
//! - `panic`: like `trap`, with a Rust panic.
//! - `error`: like `trap`, returning an error.
//! - `spin`: loop forever without yielding (only epoch interruption can stop it).
//! - `sleep`: sleep `$SLEEP` seconds per iteration.
//! - `abort`: like `get`, and abort the test in the VU's `$AFTER`th iteration.
//! - `fail`: like `get`, and mark the test as failed.
//! - `group`: GET inside the groups `outer` and `outer › inner`.
//! - `work`: `$WORK` rounds of arithmetic (CPU the generator spends per iteration), then `get`.
//! - `batch`: `$N` GETs of `$PATH` in one `http::batch`.
//!
//! `$SETUP` and `$TEARDOWN` pick what setup and teardown do: nothing (unset), `sleep:SECONDS`,
//! `error`, `trap` or `abort`; teardown logs `teardown ran` when it runs.
//!
//! Extra entry points for scenarios' `exec`: `other` (GET `$BASE_URL/get`).

use stampede::{check, http, Options, Result};

fn var(name: &str, default: &str) -> String {
    stampede::env(name).unwrap_or_else(|| default.to_owned())
}

fn get() -> bool {
    let url = format!("{}{}", var("BASE_URL", "http://127.0.0.1:8080"), var("PATH", "/"));
    let res = http::get(&url);
    check!(res, { "status is 200" => |r| r.status() == 200 })
}

fn unlucky() -> bool {
    let every: u64 = var("EVERY", "3").parse().unwrap_or(3);
    let it = stampede::info().iteration_in_scenario;
    every > 0 && it % every == every - 1
}

fn lifecycle(var_name: &str) -> Result<()> {
    match stampede::env(var_name).as_deref() {
        None | Some("") => Ok(()),
        Some("error") => stampede::bail!("{var_name} failed on purpose"),
        Some("trap") => core::arch::wasm32::unreachable(),
        Some("abort") => stampede::abort_test(&format!("{var_name} aborted on purpose")),
        Some(other) => match other.strip_prefix("sleep:").and_then(|s| s.parse::<f64>().ok()) {
            Some(secs) => {
                stampede::sleep_secs(secs);
                Ok(())
            }
            None => stampede::bail!("unknown {var_name} `{other}`"),
        },
    }
}

fn setup() -> Result<()> {
    lifecycle("SETUP")
}

fn teardown() -> Result<()> {
    stampede::log::info("teardown ran");
    lifecycle("TEARDOWN")
}

fn options() -> Options {
    match stampede::env("OPTIONS") {
        Some(json) => Options::from_json(&json),
        None => Options::new(),
    }
}

#[allow(clippy::empty_loop)]
fn iteration() -> Result<()> {
    match var("MODE", "get").as_str() {
        "get" => {
            get();
        }
        // `$BATCH` requests (default 1, one `send`; more: one `batch`) of `$METHOD` to `$PATH`
        // with a body of `$SIZE` bytes, the headers of `$HEADERS` (`name: value` lines) and
        // `$HTTP_VERSION`, each checked against `$STATUS` and, if set, `$BODY`. A failure's
        // error is logged as `error: …`.
        "expect" => {
            let url = format!("{}{}", var("BASE_URL", "http://127.0.0.1:8080"), var("PATH", "/"));
            let n: usize = var("BATCH", "1").parse().unwrap_or(1);
            let status: u16 = var("STATUS", "200").parse().unwrap_or(200);
            let body = stampede::env("BODY");
            let responses = if n <= 1 {
                vec![expect_request(&url).send()]
            } else {
                http::batch((0..n).map(|_| expect_request(&url)).collect())
            };
            for res in responses {
                if let Some(e) = res.error() {
                    stampede::log::warn(&format!("error: {e}"));
                }
                check!(res, {
                    "status as expected" => |r| r.status() == status,
                    "body as expected" => |r| body.as_deref().is_none_or(|b| r.text() == b),
                });
            }
        }
        "trap" => {
            get();
            if unlucky() {
                core::arch::wasm32::unreachable();
            }
        }
        "panic" => {
            get();
            if unlucky() {
                panic!("the probe panicked on purpose");
            }
        }
        "error" => {
            get();
            stampede::ensure!(!unlucky(), "the probe failed on purpose");
        }
        "spin" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "sleep" => {
            let secs: f64 = var("SLEEP", "1").parse().unwrap_or(1.0);
            stampede::sleep_secs(secs);
        }
        "abort" => {
            get();
            let after: u64 = var("AFTER", "5").parse().unwrap_or(5);
            if stampede::info().iteration_in_scenario + 1 >= after {
                stampede::abort_test("the probe had enough");
            }
        }
        "fail" => {
            get();
            stampede::fail_test("the probe saw bad data");
        }
        "count" => {
            // The guest's own count of its iterations, to compare with stampede's.
            static ITERATIONS: stampede::Counter = stampede::Counter::new("probe_iterations");
            get();
            ITERATIONS.add(1.0);
        }
        "work" => {
            let rounds: u64 = var("WORK", "1000000").parse().unwrap_or(1_000_000);
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for _ in 0..rounds {
                x = std::hint::black_box(x.rotate_left(5) ^ x.wrapping_mul(31));
            }
            get();
        }
        "batch" => {
            let n: usize = var("N", "10").parse().unwrap_or(10);
            let url = format!("{}{}", var("BASE_URL", "http://127.0.0.1:8080"), var("PATH", "/"));
            let reqs = (0..n).map(|_| http::Request::new("GET", &url)).collect();
            for res in http::batch(reqs) {
                check!(res, { "batch status is 200" => |r| r.status() == 200 });
            }
        }
        "group" => {
            stampede::group("outer", || {
                get();
                stampede::group("inner", get);
            });
        }
        "grow" => {
            // Keeps every block: the VU's memory limit must stop this, not the machine.
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
            }
        }
        "recurse" => {
            std::hint::black_box(recurse(0));
        }
        "absurd" => {
            // Silly sizes and values the host must take in stride.
            stampede::log::info(&"x".repeat(4 << 20));
            stampede::sleep_secs(f64::NAN);
            stampede::sleep_secs(-5.0);
            let _ = stampede::env(&"n".repeat(1 << 20));
            check("still alive", true);
            static HUGE: stampede::Counter = stampede::Counter::new("an_absurd_name_that_is_far_too_long_for_a_metric_an_absurd_name_that_is_far_too_long_for_a_metric_an_absurd_name_that_is_far_too_long");
            HUGE.add(1.0);
        }
        "print" => {
            for i in 0..500 {
                println!("line {i} from the probe");
            }
        }
        "sandbox" => {
            // Everything a script must not be able to reach.
            check("no files", std::fs::read_dir("/").is_err() && std::fs::read("/etc/passwd").is_err());
            check("no writes", std::fs::write("/tmp/stampede-probe", b"x").is_err());
            check("no sockets", std::net::TcpStream::connect("127.0.0.1:1").is_err());
            check("no process environment", std::env::vars().next().is_none());
            check("no arguments", std::env::args().count() <= 1);
        }
        other => stampede::bail!("unknown MODE `{other}`"),
    }
    Ok(())
}

/// The request of the `expect` mode.
fn expect_request(url: &str) -> http::Request {
    let size: usize = var("SIZE", "0").parse().unwrap_or(0);
    let mut req = http::Request::new(&var("METHOD", "GET"), url);
    if size > 0 {
        req = req.body(vec![b'x'; size]);
    }
    for line in var("HEADERS", "").lines() {
        if let Some((name, value)) = line.split_once(':') {
            req = req.header(name.trim(), value.trim());
        }
    }
    if let Some(version) = stampede::env("HTTP_VERSION") {
        req = req.http_version(&version);
    }
    req
}

/// Recursion without end, each frame keeping some stack.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    recurse(depth + 1) + frame[0]
}

fn other() {
    let res = http::get(&format!("{}/get", var("BASE_URL", "http://127.0.0.1:8080")));
    check!(res, { "other is 200" => |r| r.status() == 200 });
}

stampede::script! {
    options: options,
    setup: setup,
    default: iteration,
    exec: [other],
    teardown: teardown,
}
