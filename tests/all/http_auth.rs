//! HTTP authentication with the URL's credentials, against a server that checks them.

use crate::guests::guest;
use crate::semantics_server::SemanticsServer;
use crate::support::{run, runtime, TempDir};

#[test]
fn basic_auth_comes_from_the_url_and_never_reaches_the_request_line() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let url = format!(
        "http://ada:s%3Acret@{}/basic?user=ada&pass=s%3Acret",
        server.addr
    );
    let dir = TempDir::new("basic-auth");
    let out = dir.path("points.jsonl");
    for auth in ["", "basic"] {
        let r = run(
            &guest("semantics"),
            &[
                "-e",
                &format!("URL={url}"),
                "-e",
                &format!("AUTH={auth}"),
                "-e",
                "EXPECT_STATUS=200",
                // The response's URL keeps the credentials as written (k6's `res.url`).
                "-e",
                &format!("EXPECT_URL={url}"),
                "-q",
                "--out",
                &format!("json={}", out.display()),
            ],
        );
        assert_eq!(r.code, 0, "{}", r.output());
        assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
        // The metrics' `url` tag masks them.
        let points = std::fs::read_to_string(&out).unwrap();
        assert!(!points.contains("ada:s%3Acret@"), "{points}");
        assert!(points.contains("http://****:****@"), "{points}");
    }
    let seen = server.seen();
    assert!(seen.iter().all(|s| !s.target.contains('@')));
}

#[test]
fn digest_auth_answers_the_challenge_and_both_requests_count() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    for alg in ["MD5", "SHA-256"] {
        let url = format!(
            "http://Mufasa:Circle%20of%20Life@{}/digest?algorithm={alg}&user=Mufasa&pass=Circle%20of%20Life",
            server.addr
        );
        let r = run(
            &guest("semantics"),
            &[
                "-e",
                &format!("URL={url}"),
                "-e",
                "AUTH=digest",
                "-e",
                "EXPECT_STATUS=200",
                "-e",
                "EXPECT_BODY=digest ok",
                // As k6 shows a digest request: without its credentials.
                "-e",
                &format!(
                    "EXPECT_URL=http://{}/digest?algorithm={alg}&user=Mufasa&pass=Circle%20of%20Life",
                    server.addr
                ),
                "-i",
                "3",
                "-q",
                "--threshold",
                "http_reqs{status:401}: count==3",
            ],
        );
        assert_eq!(r.code, 0, "{alg}: {}", r.output());
        assert_eq!(r.metric("checks", "fails"), 0.0, "{alg}: {}", r.output());
        assert_eq!(
            r.metric("http_reqs", "count"),
            6.0,
            "the challenge and the answer"
        );
        // k6 counts the challenge's 401 as expected.
        assert_eq!(r.metric("http_req_failed", "value"), 0.0, "{alg}");
    }
    // Wrong password: the answer is refused and the 401 comes back.
    let url = format!(
        "http://Mufasa:wrong@{}/digest?algorithm=MD5&user=Mufasa&pass=right",
        server.addr
    );
    let r = run(
        &guest("semantics"),
        &[
            "-e",
            &format!("URL={url}"),
            "-e",
            "AUTH=digest",
            "-e",
            "EXPECT_STATUS=401",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(
        r.metric("http_req_failed", "value"),
        0.5,
        "the second 401 is a failure"
    );
}
