//! The quickstart: one GET per iteration, two checks and a latency threshold.
//!
//! ```sh
//! stampede run examples/quickstart -e BASE_URL=http://127.0.0.1:8080 --vus 10 --duration 10s
//! ```

use stampede::{check, http, Options};

fn options() -> Options {
    Options::new()
        .vus(5)
        .duration("10s")
        .threshold("http_req_duration", "p(95)<250")
        .threshold("checks", "rate>0.99")
}

fn iteration() {
    let base = stampede::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let res = http::get(&format!("{base}/"));
    check!(res, {
        "status is 200" => |r| r.status() == 200,
        "body says hello" => |r| r.text().contains("hello"),
    });
}

stampede::script! {
    options: options,
    default: iteration,
}
