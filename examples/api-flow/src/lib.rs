//! An API flow: setup logs in once and hands a token to every iteration; each iteration posts
//! an order as JSON, checks the echo, and records custom metrics with tags.
//!
//! ```sh
//! stampede run examples/api-flow -e BASE_URL=http://127.0.0.1:8080 --vus 10 --duration 10s
//! ```

use serde::{Deserialize, Serialize};
use stampede::http::Request;
use stampede::{check, json, Counter, Options, Result, Trend};

/// Time from sending an order to reading its confirmation.
static ORDER_TIME: Trend = Trend::time("order_time");
/// Orders the API confirmed.
static ORDERS: Counter = Counter::new("orders_placed");

#[derive(Serialize, Deserialize)]
struct Session {
    token: String,
    base: String,
}

fn options() -> Options {
    Options::new()
        .vus(2)
        .iterations(20)
        .tag("flow", "orders")
        .threshold("order_time", "p(95)<500")
        .threshold("orders_placed", "count>0")
        .threshold("http_req_duration{name:create order}", "p(99)<1000")
}

fn base_url() -> String {
    stampede::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into())
}

fn setup() -> Result<Session> {
    let base = base_url();
    let res = Request::post(&format!("{base}/post"))
        .json(&json!({ "user": "ada", "token": "t0k3n-from-setup" }))
        .name("login")
        .send();
    stampede::ensure!(res.status() == 200, "login failed with status {}: {:?}", res.status(), res.error());
    let body: stampede::Json = res.json()?;
    let token = body["token"].as_str().unwrap_or_default().to_owned();
    Ok(Session { token, base })
}

fn place_order(session: &Session) -> Result<()> {
    let vu = stampede::info().vu_id;
    let order = json!({ "vu": vu, "item": "widget", "quantity": 2 });
    let res = stampede::group("checkout", || {
        Request::post(&format!("{}/post", session.base))
            .header("authorization", &format!("Bearer {}", session.token))
            .json(&order)
            .name("create order")
            .tag("api", "orders")
            .send()
    });
    let ok = check!(res, {
        "order accepted" => |r| r.status() == 200,
        "order echoed" => |r| r.json::<stampede::Json>().map(|b| b["item"] == "widget").unwrap_or(false),
    });
    ORDER_TIME.add_tagged(res.timings().duration, &[("item", "widget")]);
    if ok {
        ORDERS.add(1.0);
    }
    Ok(())
}

fn teardown(session: &Session) {
    stampede::log::info(&format!("done; the session token was {}", session.token));
}

stampede::script! {
    options: options,
    metrics: [&ORDER_TIME, &ORDERS],
    setup: setup,
    default: place_order,
    teardown: teardown,
}
