//! HTTP/1.1 on the wire, seen from the server's side: what stampede writes (framing owned by
//! the client, URLs normalised by WHATWG's rules, credentials as Basic auth, IPv6), and how it
//! reads what servers send (early answers to uploads, refused transfer codings, obs-fold,
//! header limits).

use crate::support::runtime;
use crate::wire::{expect, settle, Answer, Capture};

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

fn ok_server(rt: &tokio::runtime::Runtime) -> Capture {
    Capture::start(rt, Answer::Bytes(OK.to_vec()))
}

#[test]
fn framing_headers_are_written_by_the_client() {
    let rt = runtime();
    let server = ok_server(&rt);
    let base = server.base();
    // A script Host is honoured (as Go's req.Host); a matching Content-Length is accepted and
    // written once; chunked is honoured.
    let r = expect(
        &[
            ("BASE_URL", &base),
            ("PATH", "/a"),
            ("METHOD", "POST"),
            ("SIZE", "5"),
            ("HEADERS", "Host: api.example\nContent-Length: 5\nX-One: 1"),
        ],
        &["-i", "1"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let chunked = expect(
        &[
            ("BASE_URL", &base),
            ("PATH", "/b"),
            ("METHOD", "PUT"),
            ("SIZE", "3"),
            ("HEADERS", "Transfer-Encoding: chunked"),
        ],
        &["-i", "1"],
    );
    assert_eq!(chunked.code, 0, "{}", chunked.output());
    let seen = server.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let first = seen[0].to_ascii_lowercase();
    assert!(
        first.starts_with("post /a http/1.1\r\nhost: api.example\r\n"),
        "{first}"
    );
    assert_eq!(first.matches("content-length").count(), 1, "{first}");
    assert!(first.contains("content-length: 5\r\n") && first.ends_with("\r\n\r\nxxxxx"));
    assert!(first.contains("x-one: 1\r\n"));
    let second = seen[1].to_ascii_lowercase();
    assert!(
        second.contains("transfer-encoding: chunked\r\n"),
        "{second}"
    );
    assert!(!second.contains("content-length"), "{second}");
    assert!(
        second.ends_with("\r\n\r\n3\r\nxxx\r\n0\r\n\r\n"),
        "{second:?}"
    );
}

#[test]
fn framing_headers_that_contradict_the_body_are_refused_before_sending() {
    let rt = runtime();
    let server = ok_server(&rt);
    let base = server.base();
    for (headers, says) in [
        ("Content-Length: 4", "says `4` but the body has 5 bytes"),
        (
            "Transfer-Encoding: gzip",
            "Transfer-Encoding `gzip` is not supported",
        ),
        (
            "Transfer-Encoding: chunked\nContent-Length: 5",
            "both Content-Length and Transfer-Encoding",
        ),
        ("Host: a\nHost: b", "more than one Host header"),
    ] {
        let r = expect(
            &[
                ("BASE_URL", &base),
                ("METHOD", "POST"),
                ("SIZE", "5"),
                ("HEADERS", headers),
            ],
            &[
                "-i",
                "1",
                "--threshold",
                "http_reqs{error_code:1000}: count==1",
            ],
        );
        assert_eq!(r.code, 0, "{headers}: {}", r.output());
        assert!(r.stderr.contains(says), "{headers}: {}", r.stderr);
    }
    assert!(server.requests().is_empty(), "nothing reached the server");
}

#[test]
fn urls_are_normalised_and_credentials_become_basic_auth() {
    let rt = runtime();
    let server = ok_server(&rt);
    let port = server.addr.port();
    let cases = [
        // No path: `/`.
        (format!("http://127.0.0.1:{port}"), ""),
        // Non-ASCII and spaces percent-encoded; the fragment is not sent.
        (format!("http://127.0.0.1:{port}"), "/é è?q=ü v#frag"),
        // Credentials: Basic auth, and not on the request line.
        (
            format!("http://us%20er:p%40ss@127.0.0.1:{port}"),
            "/private",
        ),
    ];
    for (base, path) in &cases {
        let r = expect(&[("BASE_URL", base), ("PATH", path)], &["-i", "1"]);
        assert_eq!(r.code, 0, "{base}{path}: {}", r.output());
    }
    let seen = server.requests();
    assert!(seen[0].starts_with("GET / HTTP/1.1\r\n"), "{}", seen[0]);
    assert!(
        seen[1].starts_with("GET /%C3%A9%20%C3%A8?q=%C3%BC%20v HTTP/1.1\r\n"),
        "{}",
        seen[1]
    );
    assert!(
        seen[2].starts_with("GET /private HTTP/1.1\r\n"),
        "{}",
        seen[2]
    );
    // base64("us er:p@ss")
    assert!(
        seen[2].contains("authorization: Basic dXMgZXI6cEBzcw==\r\n"),
        "{}",
        seen[2]
    );
    for s in &seen {
        assert!(s.contains(&format!("host: 127.0.0.1:{port}\r\n")), "{s}");
    }
}

#[test]
fn a_script_authorization_wins_over_url_credentials() {
    let rt = runtime();
    let server = ok_server(&rt);
    let base = format!("http://user:pass@127.0.0.1:{}", server.addr.port());
    let r = expect(
        &[
            ("BASE_URL", &base),
            ("HEADERS", "Authorization: Bearer t0k3n"),
        ],
        &["-i", "1"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let seen = server.requests();
    assert_eq!(seen[0].matches("authorization").count(), 1, "{}", seen[0]);
    assert!(seen[0].contains("authorization: Bearer t0k3n\r\n"));
}

#[test]
fn an_invalid_port_is_1020_never_a_default() {
    let r = expect(
        &[("BASE_URL", "http://127.0.0.1:99999")],
        &[
            "-i",
            "2",
            "--threshold",
            "http_reqs{error_code:1020}: count==2",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.stderr.contains("invalid port number"), "{}", r.stderr);
}

#[test]
fn ipv6_literals_connect_and_are_bracketed_in_host() {
    let rt = runtime();
    let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("[http_wire] no IPv6 loopback here: skipped");
        return;
    };
    drop(listener);
    let server = Capture::start_on(&rt, "[::1]:0", Answer::Bytes(OK.to_vec()));
    let base = format!("http://[::1]:{}", server.addr.port());
    let r = expect(&[("BASE_URL", &base)], &["-i", "3"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 6.0);
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert!(
        seen[0].contains(&format!("host: [::1]:{}\r\n", server.addr.port())),
        "{}",
        seen[0]
    );
    assert_eq!(server.connections(), 1, "kept alive");
}

#[test]
fn an_early_answer_to_an_upload_is_that_answer_not_a_broken_pipe() {
    // The server reads the head, answers 413 and closes with the body unread (the kernel
    // resets the connection): the client must report the 413.
    let rt = runtime();
    let server = Capture::start(
        &rt,
        Answer::EarlyAndClose(
            b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 9\r\n\r\ntoo large"
                .to_vec(),
        ),
    );
    let base = server.base();
    let r = expect(
        &[
            ("BASE_URL", &base),
            ("PATH", "/upload"),
            ("METHOD", "POST"),
            ("SIZE", "16777216"),
            ("STATUS", "413"),
            ("BODY", "too large"),
        ],
        &[
            "-i",
            "3",
            "--threshold",
            "http_reqs{status:413}: count==3",
            "--threshold",
            "http_reqs{error_code:1413}: count==3",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 6.0, "{}", r.output());
    settle();
    assert_eq!(
        server.connections(),
        3,
        "a connection cut short is not reused"
    );
}

#[test]
fn transfer_codings_other_than_chunked_are_refused_as_go_does() {
    let rt = runtime();
    let server = Capture::start(
        &rt,
        Answer::Bytes(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
                .to_vec(),
        ),
    );
    let base = server.base();
    let r = expect(
        &[("BASE_URL", &base)],
        &[
            "-i",
            "2",
            "--threshold",
            "http_reqs{error_code:1000}: count==2",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        r.stderr.contains(
            "unsupported Transfer-Encoding `gzip, chunked` (only `chunked` is supported)"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn an_obs_fold_is_read_as_spaces() {
    let rt = runtime();
    let server = Capture::start(
        &rt,
        Answer::Bytes(
            b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n\tb\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ),
    );
    let base = server.base();
    let r = expect(&[("BASE_URL", &base), ("BODY", "ok")], &["-i", "2"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 4.0, "{}", r.output());
    assert_eq!(server.connections(), 1, "kept alive");
}

#[test]
fn http_1_0_is_not_kept_alive_unless_it_says_so_with_a_length() {
    let rt = runtime();
    for (answer, connections) in [
        (&b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"[..], 3),
        (
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
            1,
        ),
    ] {
        let server = Capture::start(&rt, Answer::Bytes(answer.to_vec()));
        let base = server.base();
        let r = expect(&[("BASE_URL", &base), ("BODY", "ok")], &["-i", "3"]);
        assert_eq!(r.code, 0, "{}", r.output());
        assert_eq!(r.metric("checks", "passes"), 6.0);
        settle();
        assert_eq!(
            server.connections(),
            connections,
            "{:?}",
            String::from_utf8_lossy(answer)
        );
    }
}

#[test]
fn a_header_block_over_the_limit_fails_and_a_large_one_under_it_passes() {
    let rt = runtime();
    // 2 MiB of fields (over hyper's and curl's limits, under Go's 10 MiB): read.
    let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..2048 {
        big.extend_from_slice(format!("X-F{i}: ").as_bytes());
        big.resize(big.len() + 1000, b'v');
        big.extend_from_slice(b"\r\n");
    }
    big.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
    let server = Capture::start(&rt, Answer::Bytes(big));
    let base = server.base();
    let r = expect(&[("BASE_URL", &base), ("BODY", "ok")], &["-i", "2"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 4.0);
    // 11 MiB: refused, with the limit named.
    let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
    while huge.len() < 11 << 20 {
        huge.extend_from_slice(b"X-Filler: ");
        huge.resize(huge.len() + 4000, b'f');
        huge.extend_from_slice(b"\r\n");
    }
    huge.extend_from_slice(b"\r\n");
    let server = Capture::start(&rt, Answer::Bytes(huge));
    let base = server.base();
    let r = expect(
        &[("BASE_URL", &base)],
        &[
            "-i",
            "1",
            "--threshold",
            "http_reqs{error_code:1000}: count==1",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        r.stderr
            .contains("the response head is larger than 10485760 bytes"),
        "{}",
        r.stderr
    );
}
