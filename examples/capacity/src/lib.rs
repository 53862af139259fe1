//! A script for `stampede capacity`: one GET of `$BASE_URL$TARGET` per iteration, checked, with
//! the service's objectives written as thresholds so that `--slo-from-thresholds` takes them.
//!
//! ```sh
//! stampede serve --listen 127.0.0.1:8080 &
//! stampede capacity examples/capacity -e BASE_URL=http://127.0.0.1:8080 \
//!     -e 'TARGET=/capacity?workers=4&ms=20' --slo-from-thresholds
//! ```
//!
//! `/capacity?workers=4&ms=20` is the built-in target's service of known capacity: 4 workers
//! of 20 ms each, 200 requests per second.

use stampede::{check, http, Options};

fn options() -> Options {
    Options::new()
        .threshold("http_req_duration", "p(95)<100")
        .threshold("http_req_failed", "rate<0.01")
}

fn iteration() {
    let base = stampede::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let target = stampede::env("TARGET").unwrap_or_else(|| "/capacity?workers=4&ms=20".into());
    let res = http::get(&format!("{base}{target}"));
    check!(res, { "status is 200" => |r| r.status() == 200 });
}

stampede::script! {
    options: options,
    default: iteration,
}
