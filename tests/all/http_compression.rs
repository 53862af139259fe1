//! Compressed bodies on real sockets: responses decoded as k6 decodes them (and bombs stopped at
//! `responseBodyLimit`), request bodies compressed with k6's `compression`.

use std::io::Read;

use crate::guests::guest;
use crate::semantics_server::SemanticsServer;
use crate::support::{run, runtime};

#[test]
fn every_content_coding_is_decoded_without_asking_for_it() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let r = run(
        &guest("semantics"),
        &[
            "-e",
            &format!("BASE_URL={}", server.url()),
            "-e",
            "MODE=decoded",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 6.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    // No Accept-Encoding is sent unless the script sets one (as k6).
    assert!(server
        .seen()
        .iter()
        .all(|s| s.header("accept-encoding").is_none()));
}

#[test]
fn a_compression_bomb_fails_the_request_at_the_body_limit() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    for ce in ["gzip", "br", "zstd"] {
        let r = run(
            &guest("semantics"),
            &[
                "-e",
                &format!("BASE_URL={}", server.url()),
                "-e",
                &format!("PATH=/bomb?ce={ce}"),
                "-e",
                "EXPECT_STATUS=0",
                "-e",
                "EXPECT_CODE=1000",
                "-e",
                "EXPECT_ERROR=once decompressed",
                "-q",
            ],
        );
        assert_eq!(r.code, 0, "{ce}: {}", r.output());
        assert_eq!(r.metric("checks", "fails"), 0.0, "{ce}: {}", r.output());
        // 10 GiB of zeros in about 10 MB: the wire bytes are counted, the zeros never held.
        let received = r.metric("data_received", "count");
        assert!(received < 20e6, "{ce}: {received}");
        assert_eq!(r.metric("http_req_failed", "value"), 1.0);
    }
}

/// A `Content-Encoding` of 50,000 codings (each a decoder, deep in the stack) is refused at
/// once, as curl refuses more than 5; five are undone.
#[test]
fn a_response_may_list_at_most_five_codings() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("semantics"),
        &[
            "-e",
            &base,
            "-e",
            "PATH=/encoded?ce=gzip&claim=50000",
            "-e",
            "EXPECT_STATUS=0",
            "-e",
            "EXPECT_CODE=1701",
            "-e",
            "EXPECT_ERROR=Content-Encoding lists more than 5 codings",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    let r = run(
        &guest("semantics"),
        &[
            "-e",
            &base,
            "-e",
            "PATH=/encoded?ce=gzip,br,zstd,deflate,gzip&text=five",
            "-e",
            "EXPECT_STATUS=200",
            "-e",
            "EXPECT_BODY=five",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
}

#[test]
fn damaged_compressed_data_is_error_1701() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    for ce in ["gzip", "deflate", "br", "zstd"] {
        let r = run(
            &guest("semantics"),
            &[
                "-e",
                &format!("BASE_URL={}", server.url()),
                "-e",
                &format!("PATH=/garbage?ce={ce}"),
                "-e",
                "EXPECT_STATUS=0",
                "-e",
                "EXPECT_CODE=1701",
                "-e",
                "EXPECT_ERROR=error decompressing response body",
                "-q",
                "--threshold",
                "http_reqs{error_code:1701}: count==1",
            ],
        );
        assert_eq!(r.code, 0, "{ce}: {}", r.output());
        assert_eq!(r.metric("checks", "fails"), 0.0, "{ce}: {}", r.output());
    }
}

#[test]
fn request_bodies_are_compressed_with_k6s_compression_param() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let r = run(
        &guest("semantics"),
        &[
            "-e",
            &format!("BASE_URL={}", server.url()),
            "-e",
            "METHOD=POST",
            "-e",
            "PATH=/echo",
            "-e",
            "BODY=a body worth compressing, a body worth compressing",
            "-e",
            "COMPRESSION=gzip, br",
            "-e",
            "EXPECT_STATUS=200",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let seen = server.seen();
    let req = &seen[0];
    assert_eq!(req.header("content-encoding").as_deref(), Some("gzip, br"));
    assert_eq!(
        req.header("content-length"),
        Some(req.body.len().to_string()),
        "the length is the compressed one"
    );
    // Undo br, then gzip.
    let mut unbr = Vec::new();
    brotli::Decompressor::new(&req.body[..], 4096)
        .read_to_end(&mut unbr)
        .unwrap();
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&unbr[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, "a body worth compressing, a body worth compressing");
    // An unknown algorithm fails the request with k6's message.
    let r = run(
        &guest("semantics"),
        &[
            "-e",
            &format!("BASE_URL={}", server.url()),
            "-e",
            "METHOD=POST",
            "-e",
            "PATH=/echo",
            "-e",
            "BODY=x",
            "-e",
            "COMPRESSION=lzma",
            "-e",
            "EXPECT_ERROR=unknown compression algorithm lzma",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
}
