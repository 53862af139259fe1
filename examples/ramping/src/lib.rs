//! A ramping load: VUs go from 0 to `$TARGET` over `$RAMP_UP`, hold for `$HOLD`, and go back
//! to 0 over `$RAMP_DOWN` (k6's `ramping-vus` executor), each VU pausing between requests.
//!
//! ```sh
//! stampede run examples/ramping -e BASE_URL=http://127.0.0.1:8080 -e TARGET=50
//! ```

use std::time::Duration;

use stampede::{check, http, json, Options};

fn var(name: &str, default: &str) -> String {
    stampede::env(name).unwrap_or_else(|| default.to_owned())
}

fn options() -> Options {
    let target: u64 = var("TARGET", "20").parse().unwrap_or(20);
    Options::new()
        .set(
            "scenarios",
            json!({
                "ramp": {
                    "executor": "ramping-vus",
                    "startVUs": 0,
                    "stages": [
                        { "duration": var("RAMP_UP", "10s"), "target": target },
                        { "duration": var("HOLD", "20s"), "target": target },
                        { "duration": var("RAMP_DOWN", "10s"), "target": 0 },
                    ],
                    "gracefulRampDown": "5s",
                },
            }),
        )
        .threshold("http_req_failed", "rate<0.01")
        .threshold("http_req_duration", "p(95)<500")
}

fn iteration() {
    let base = var("BASE_URL", "http://127.0.0.1:8080");
    let res = http::get(&format!("{base}/get"));
    check!(res, { "status is 200" => |r| r.status() == 200 });
    stampede::sleep(Duration::from_millis(100));
}

stampede::script! {
    options: options,
    default: iteration,
}
