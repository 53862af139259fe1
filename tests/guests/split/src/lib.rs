//! A test guest for tests split between instances (execution segments).
//!
//! `setup()` makes a token no other instance could guess and logs `setup ran`; every
//! iteration GETs `$BASE_URL/`, checks that the token came through, and counts itself in
//! `split_iterations`, tagged with its VU's and its own numbers in the whole test and the
//! token, so that a test can see the instances ran every iteration once, on VUs of their own,
//! with setup's data. `teardown()` logs `teardown ran`. Options come from `$OPTIONS` (JSON).

use serde::{Deserialize, Serialize};
use stampede::{check, http, Counter, Options, Result};

static SEEN: Counter = Counter::new("split_iterations");

#[derive(Serialize, Deserialize)]
struct Data {
    token: u64,
}

fn options() -> Options {
    match stampede::env("OPTIONS") {
        Some(json) => Options::from_json(&json),
        None => Options::new(),
    }
}

fn setup() -> Result<Data> {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the host's randomness: each setup() gets its own token.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(stampede::info().test_elapsed_ms);
    let token = h.finish() | 1;
    stampede::log::info(&format!("setup ran: token {token}"));
    Ok(Data { token })
}

fn iteration(data: &Data) {
    let base = stampede::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let res = http::get(&format!("{base}/"));
    check!(res, { "status is 200" => |r| r.status() == 200 });
    stampede::check("setup data came through", data.token != 0);
    let ids = stampede::ids();
    let info = stampede::info();
    SEEN.add_tagged(
        1.0,
        &[
            ("vu_in_test", &ids.vu_id_in_test.to_string()),
            ("iter_in_test", &ids.scenario_iteration_in_test.to_string()),
            ("iter_in_instance", &ids.scenario_iteration_in_instance.to_string()),
            ("scn", &info.scenario),
            ("token", &data.token.to_string()),
        ],
    );
}

fn teardown(data: &Data) {
    stampede::log::info(&format!("teardown ran: token {}", data.token));
}

stampede::script! {
    options: options,
    metrics: [&SEEN],
    setup: setup,
    default: iteration,
    teardown: teardown,
}
