//! A script whose HTTP goes through the standard `wasi:http` interface — here with the `wstd`
//! crate's client — instead of stampede's SDK. stampede serves `wasi:http` with the same
//! per-VU keep-alive connections and records the same metrics, so this script is measured
//! exactly like the quickstart. The `x-stampede-name` and `x-stampede-tag-*` headers set the
//! `name` tag and extra tags (stampede removes them before sending).
//!
//! ```sh
//! stampede run examples/wasi-http -e BASE_URL=http://127.0.0.1:8080 --vus 10 --duration 10s
//! ```

use stampede::{check, Options, Result};
use wstd::http::{Body, Client, Request};

fn options() -> Options {
    Options::new().vus(2).iterations(20).threshold("http_req_duration{name:home}", "p(95)<250")
}

fn iteration() -> Result<()> {
    let base = stampede::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
    wstd::runtime::block_on(async move {
        let request = Request::get(format!("{base}/"))
            .header("x-stampede-name", "home")
            .header("x-stampede-tag-client", "wstd")
            .body(Body::empty())?;
        let mut response = Client::new().send(request).await?;
        let status = response.status().as_u16();
        let body = response.body_mut().str_contents().await?.to_owned();
        check("status is 200", status == 200);
        check("body says hello", body.contains("hello"));
        Ok(())
    })
}

stampede::script! {
    options: options,
    default: iteration,
}
