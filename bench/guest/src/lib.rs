//! The benchmark's script: each iteration sends one keep-alive GET to `$URL` and checks its
//! status — the same work wrk does per request, plus what makes stampede a load tester (the
//! script, the check, the metrics). Modes for the other measurements: `$MODE=sleep` parks the
//! VU for `$SLEEP` seconds per iteration (VU start-up and memory); `$MODE=batch` sends `$BATCH`
//! GETs at once per iteration (HTTP/2 streams on one connection, against h2load's `-m`);
//! `$MODE=think` sends the GET and then sleeps `$SLEEP` seconds (memory of VUs that hold a
//! connection).

use std::sync::OnceLock;

use stampede::{check, http};

fn url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| stampede::env("URL").unwrap_or_else(|| "http://127.0.0.1:8080/".into()))
}

fn mode() -> &'static str {
    static MODE: OnceLock<String> = OnceLock::new();
    MODE.get_or_init(|| stampede::env("MODE").unwrap_or_else(|| "get".into()))
}

fn think() -> f64 {
    stampede::env("SLEEP").and_then(|s| s.parse().ok()).unwrap_or(1.0)
}

fn iteration() {
    if mode() == "sleep" {
        stampede::sleep_secs(think());
        return;
    }
    if mode() == "batch" {
        static BATCH: OnceLock<usize> = OnceLock::new();
        let n = *BATCH.get_or_init(|| {
            stampede::env("BATCH")
                .and_then(|s| s.parse().ok())
                .unwrap_or(10)
        });
        let requests = (0..n).map(|_| http::Request::get(url())).collect();
        for res in http::batch(requests) {
            check!(res, { "status is 200" => |r| r.status() == 200 });
        }
        return;
    }
    let res = http::get(url());
    check!(res, { "status is 200" => |r| r.status() == 200 });
    if mode() == "think" {
        stampede::sleep_secs(think());
    }
}

stampede::script! {
    default: iteration,
}
