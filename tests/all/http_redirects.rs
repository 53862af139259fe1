//! Redirects as Go's client follows them, on real sockets: methods and bodies, headers that
//! stay on their host, `Location` forms, and the end of a chain.

use crate::guests::guest;
use crate::semantics_server::{Seen, SemanticsServer};
use crate::support::{run, runtime, RunResult};

/// Runs the `semantics` guest's `request` mode once with `vars` against a fresh server.
fn request(vars: &[(&str, &str)], extra: &[&str]) -> (RunResult, Vec<Seen>, SemanticsServer) {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let mut args: Vec<String> = vec!["-e".into(), format!("BASE_URL={}", server.url())];
    for (k, v) in vars {
        args.push("-e".into());
        args.push(format!(
            "{k}={}",
            v.replace("{base}", &server.url())
                .replace("{port}", &server.addr.port().to_string())
        ));
    }
    args.push("-q".into());
    args.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&guest("semantics"), &argv);
    let seen = server.seen();
    // Keep the runtime alive until the server has been read.
    drop(rt);
    (r, seen, server)
}

fn assert_checks_pass(r: &RunResult) {
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.metric("checks", "passes") > 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'{' | b'}' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn see_other_and_found_turn_a_post_into_a_get_without_body_or_content_headers() {
    for status in ["301", "302", "303"] {
        let path = format!("/redirect?status={status}&to=%2Fecho");
        let (r, seen, _) = request(
            &[
                ("METHOD", "POST"),
                ("PATH", &path),
                ("BODY", "payload"),
                (
                    "HEADERS",
                    "Content-Type: text/plain\nContent-Language: en\nX-Keep: yes",
                ),
                ("EXPECT_STATUS", "200"),
            ],
            &[],
        );
        assert_checks_pass(&r);
        assert_eq!(r.metric("http_reqs", "count"), 2.0, "each hop is a request");
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].body, b"payload");
        let hop = &seen[1];
        assert_eq!(
            (hop.method.as_str(), hop.body.len()),
            ("GET", 0),
            "{status}"
        );
        assert_eq!(hop.header("content-type"), None, "{status}");
        assert_eq!(hop.header("content-language"), None, "{status}");
        assert_eq!(hop.header("content-length"), None, "{status}");
        assert_eq!(hop.header("x-keep").as_deref(), Some("yes"));
        assert_eq!(
            hop.header("referer"),
            Some(format!(
                "{}/redirect?status={status}&to=%2Fecho",
                r_base(&seen)
            )),
        );
    }
}

/// `http://127.0.0.1:PORT` from the Host header of the first request.
fn r_base(seen: &[Seen]) -> String {
    format!("http://{}", seen[0].header("host").unwrap())
}

#[test]
fn temporary_and_permanent_redirects_keep_method_and_body() {
    for status in ["307", "308"] {
        let path = format!("/redirect?status={status}&to=%2Fecho");
        let (r, seen, _) = request(
            &[
                ("METHOD", "PUT"),
                ("PATH", &path),
                ("BODY", "payload"),
                ("HEADERS", "Content-Type: text/plain"),
                ("EXPECT_STATUS", "200"),
            ],
            &[],
        );
        assert_checks_pass(&r);
        let hop = &seen[1];
        assert_eq!(
            (hop.method.as_str(), hop.body.as_slice()),
            ("PUT", &b"payload"[..])
        );
        assert_eq!(hop.header("content-type").as_deref(), Some("text/plain"));
    }
    // HEAD stays HEAD on a 302.
    let (r, seen, _) = request(
        &[
            ("METHOD", "HEAD"),
            ("PATH", "/redirect?status=302&to=%2Fecho"),
            ("EXPECT_STATUS", "200"),
        ],
        &[],
    );
    assert_checks_pass(&r);
    assert_eq!(seen[1].method, "HEAD");
}

#[test]
fn credentials_and_cookies_the_script_set_stay_on_their_host() {
    // Same host, other path: everything goes along.
    let (r, seen, _) = request(
        &[
            ("PATH", "/redirect?status=302&to=%2Fecho"),
            (
                "HEADERS",
                "Authorization: Bearer t0k3n\nCookie: mine=1\nProxy-Authorization: p\nX-Other: o",
            ),
            ("EXPECT_STATUS", "200"),
        ],
        &[],
    );
    assert_checks_pass(&r);
    assert_eq!(
        seen[1].header("authorization").as_deref(),
        Some("Bearer t0k3n")
    );
    assert_eq!(seen[1].header("cookie").as_deref(), Some("mine=1"));
    // Another host (localhost instead of 127.0.0.1, same port, as Go compares host names):
    // the sensitive ones are dropped, the rest goes along.
    let to = enc("http://localhost:{port}/echo");
    let path = format!("/redirect?status=307&to={to}");
    let (r, seen, _) = request(
        &[
            ("PATH", &path),
            (
                "HEADERS",
                "Authorization: Bearer t0k3n\nCookie: mine=1\nProxy-Authorization: p\nX-Other: o",
            ),
            ("EXPECT_STATUS", "200"),
        ],
        &[],
    );
    assert_checks_pass(&r);
    let hop = &seen[1];
    assert!(hop.header("host").unwrap().starts_with("localhost:"));
    for h in ["authorization", "cookie", "proxy-authorization"] {
        assert_eq!(hop.header(h), None, "{h} must not reach another host");
    }
    assert_eq!(hop.header("x-other").as_deref(), Some("o"));
    // Back on the first host after another: once dropped, dropped for good (as in Go).
    let to = enc("http://127.0.0.1:{port}/echo?again");
    let path = format!(
        "/redirect?status=302&to={}",
        enc(&format!(
            "http://localhost:{{port}}/redirect?status=302&to={to}"
        ))
    );
    let (r, seen, _) = request(
        &[
            ("PATH", &path),
            ("HEADERS", "Authorization: Bearer t0k3n"),
            ("EXPECT_STATUS", "200"),
        ],
        &[],
    );
    assert_checks_pass(&r);
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].header("authorization"), None);
    assert_eq!(seen[2].header("authorization"), None);
}

#[test]
fn a_script_host_header_follows_relative_redirects_only() {
    let (r, seen, _) = request(
        &[
            ("PATH", "/redirect?status=302&to=next%3Fx%3D1"),
            ("HEADERS", "Host: virtual.example"),
            ("EXPECT_STATUS", "404"),
        ],
        &[],
    );
    assert_checks_pass(&r);
    assert_eq!(seen[1].target, "/next?x=1");
    assert_eq!(seen[1].header("host").as_deref(), Some("virtual.example"));
    let to = enc("http://127.0.0.1:{port}/echo");
    let path = format!("/redirect?status=302&to={to}");
    let (r, seen, _) = request(
        &[
            ("PATH", &path),
            ("HEADERS", "Host: virtual.example"),
            ("EXPECT_STATUS", "200"),
        ],
        &[],
    );
    assert_checks_pass(&r);
    assert!(seen[1].header("host").unwrap().starts_with("127.0.0.1:"));
}

#[test]
fn locations_resolve_as_urls_do() {
    for (location, target) in [
        ("/echo?a=1", "/echo?a=1"),
        ("?q=2", "/redirect?q=2"),
        ("echo#frag", "/echo"),
        (
            "//127.0.0.1:{port}/echo?scheme-relative",
            "/echo?scheme-relative",
        ),
        ("/caf\u{e9}?n=\u{fc}", "/caf%C3%A9?n=%C3%BC"),
        ("/a/./b/../echo", "/a/echo"),
    ] {
        let path = format!("/redirect?status=302&to={}", enc(location));
        let (r, seen, _) = request(&[("PATH", &path)], &[]);
        assert_eq!(r.code, 0, "{}", r.output());
        assert_eq!(seen.len(), 2, "{location}: {seen:?}");
        assert_eq!(seen[1].target, target, "{location}");
    }
}

#[test]
fn an_empty_location_ends_the_chain_and_a_bad_one_is_an_error() {
    let (r, seen, _) = request(
        &[
            ("PATH", "/redirect?status=302&to="),
            ("EXPECT_STATUS", "302"),
        ],
        &[],
    );
    assert_checks_pass(&r);
    assert_eq!(seen.len(), 1);
    let (r, seen, _) = request(
        &[("PATH", "/redirect?status=301"), ("EXPECT_STATUS", "301")],
        &[],
    );
    assert_checks_pass(&r);
    assert_eq!(seen.len(), 1);
    let (r, seen, _) = request(
        &[
            ("PATH", "/redirect?status=302&to=http%3A%2F%2F%5B%3A%3A1"),
            ("EXPECT_STATUS", "0"),
            ("EXPECT_CODE", "1000"),
            ("EXPECT_ERROR", "failed to parse Location header"),
        ],
        &["--threshold", "http_reqs{status:0}: count==1"],
    );
    assert_checks_pass(&r);
    assert_eq!(seen.len(), 1);
}

#[test]
fn max_redirects_returns_the_last_redirect_with_k6s_warning() {
    let (r, seen, _) = request(
        &[("PATH", "/loop"), ("EXPECT_STATUS", "302")],
        &["--max-redirects", "3"],
    );
    assert_checks_pass(&r);
    assert_eq!(seen.len(), 4, "the first request and three redirects");
    assert!(
        !r.stderr.contains("Stopped after"),
        "a limit set in the options is not warned about"
    );
    let (r, seen, _) = request(
        &[
            ("PATH", "/loop"),
            ("REDIRECTS", "0"),
            ("EXPECT_STATUS", "302"),
        ],
        &[],
    );
    assert_checks_pass(&r);
    assert_eq!(seen.len(), 1);
    // Ten by default, then k6's warning.
    let (r, seen, _) = request(&[("PATH", "/loop"), ("EXPECT_STATUS", "302")], &[]);
    assert_checks_pass(&r);
    assert_eq!(seen.len(), 11);
    assert_eq!(r.metric("http_reqs", "count"), 11.0);
    assert!(
        r.stderr.contains("Stopped after 11 redirects"),
        "{}",
        r.output()
    );
}
