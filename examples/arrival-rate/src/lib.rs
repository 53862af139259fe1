//! Two scenarios at once: an open-model API load at a constant `$RATE` iterations per second
//! (k6's `constant-arrival-rate`, which starts iterations on schedule however slow the server
//! is, and counts `dropped_iterations` when it runs out of VUs), and a closed-model browsing
//! load that ramps up and down (`ramping-vus`). Each calls its own entry point and tags its
//! samples.
//!
//! ```sh
//! stampede run examples/arrival-rate -e BASE_URL=http://127.0.0.1:8080 -e RATE=200
//! ```

use std::time::Duration;

use stampede::{check, http, json, Options};

fn var(name: &str, default: &str) -> String {
    stampede::env(name).unwrap_or_else(|| default.to_owned())
}

fn options() -> Options {
    let rate: u64 = var("RATE", "100").parse().unwrap_or(100);
    let duration = var("DURATION", "20s");
    Options::new()
        .set(
            "scenarios",
            json!({
                "api": {
                    "executor": "constant-arrival-rate",
                    "rate": rate,
                    "timeUnit": "1s",
                    "duration": duration,
                    "preAllocatedVUs": 10,
                    "maxVUs": 50,
                    "exec": "api",
                    "tags": { "kind": "api" },
                },
                "browse": {
                    "executor": "ramping-vus",
                    "startVUs": 1,
                    "stages": [
                        { "duration": var("RAMP", "10s"), "target": 5 },
                        { "duration": var("RAMP", "10s"), "target": 0 },
                    ],
                    "exec": "browse",
                    "tags": { "kind": "web" },
                },
            }),
        )
        .threshold("http_req_duration{scenario:api}", "p(95)<250")
        .threshold("dropped_iterations", "count<1")
        .threshold("checks{kind:web}", "rate>0.99")
}

fn base() -> String {
    var("BASE_URL", "http://127.0.0.1:8080")
}

fn api() {
    let res = http::Request::post(&format!("{}/post", base()))
        .json(&json!({ "event": "click", "vu": stampede::info().vu_id }))
        .name("events")
        .send();
    check!(res, { "event stored" => |r| r.status() == 200 });
}

fn browse() {
    let res = http::get(&format!("{}/", base()));
    check!(res, { "page loads" => |r| r.status() == 200 });
    stampede::sleep(Duration::from_millis(200));
}

fn nothing() {}

stampede::script! {
    options: options,
    default: nothing,
    exec: [api, browse],
}
