#![no_main]
//! Fuzzes what the HTTP client takes from peers: Set-Cookie lines, digest challenges and
//! compressed bodies (see stampede_host_api::fuzzing::http_semantics).

libfuzzer_sys::fuzz_target!(|data: &[u8]| stampede_host_api::fuzzing::http_semantics(data));
