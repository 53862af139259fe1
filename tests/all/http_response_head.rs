//! The fields of an HTTP/1.1 response head as a script reads them, against servers that send
//! exact bytes: Go's client (k6) takes `Transfer-Encoding`, a `Content-Length` that chunks
//! override and `Connection: close` out of a response's fields, keeps one of several equal
//! `Content-Length` fields, and folds a continued line into one space. The script's
//! expectations are what k6 v2.2 printed for the same bytes (run by hand against a Python
//! server sending them).

use crate::js_engine::{run_js, write_files};
use crate::support::{runtime, TempDir};
use crate::wire::{Answer, Capture};

const SCRIPT: &str = r#"import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 2 };

function fields(res) {
  const out = {};
  for (const k of Object.keys(res.headers).sort()) out[k] = res.headers[k];
  return JSON.stringify(out);
}

// Expectations are what k6 v2.2 gives for the same bytes (Go's client takes the framing
// fields out of a response's fields and folds a continued line into one space).
export default function () {
  const chunked = http.get(__ENV.CHUNKED);
  check(chunked, {
    'chunked: body': (r) => r.body === 'okabc',
    'chunked: fields as k6 has them': (r) =>
      fields(r) === '{"Connection":"Keep-Alive","X-Dup":"one, two","X-Fold":"first second third","X-Last":"z"}' || console.log(fields(r)),
  });
  const dup = http.get(__ENV.DUP);
  check(dup, {
    'repeated Content-Length kept once, Connection: close taken out': (r) =>
      r.body === 'ok' && fields(r) === '{"Content-Length":"2","Set-Cookie":"a=1"}' || console.log(fields(r)),
    'cookie read': (r) => r.cookies.a[0].value === '1',
  });
  const old = http.get(__ENV.HTTP10);
  check(old, {
    'HTTP/1.0 keeps Connection: close': (r) =>
      fields(r) === '{"Connection":"close","Content-Length":"2"}' || console.log(fields(r)),
  });
  const head = http.request('HEAD', __ENV.HEAD);
  check(head, {
    'HEAD keeps Content-Length beside chunked': (r) =>
      r.body === '' && fields(r) === '{"Content-Length":"7","X-A":"1"}' || console.log(fields(r)),
  });
}
"#;

/// Each answer, and the environment variable its server's URL goes in.
const ANSWERS: [(&str, &[u8]); 4] = [
    (
        "CHUNKED",
        b"HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\nContent-Length: 99\r\n\
          X-Fold: first\r\n  second \r\n\tthird\r\nX-Dup: one\r\nx-dup: two\r\n\
          connection: Keep-Alive\r\nX-Last: z\r\n\r\n2\r\nok\r\n3\r\nabc\r\n0\r\n\r\n",
    ),
    (
        "DUP",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\ncontent-length: 2\r\n\
          Connection: Upgrade, CLOSE\r\n\r\nok",
    ),
    (
        "HTTP10",
        b"HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    ),
    (
        "HEAD",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 7\r\nX-A: 1\r\n\r\n",
    ),
];

#[test]
fn framing_fields_are_taken_out_of_res_headers_as_k6_does() {
    let rt = runtime();
    let servers: Vec<(&str, Capture)> = ANSWERS
        .iter()
        .map(|(var, bytes)| (*var, Capture::start(&rt, Answer::Bytes(bytes.to_vec()))))
        .collect();
    let dir = TempDir::new("response-head");
    write_files(&dir, &[("head.js", SCRIPT)]);
    let mut args: Vec<String> = vec!["-q".into()];
    for (var, server) in &servers {
        args.push("-e".into());
        args.push(format!("{var}={}/x", server.base()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_js(&dir.path("head.js"), &args);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 12.0, "{}", r.output());
    // Two iterations, one request each per server.
    for (var, server) in &servers {
        assert_eq!(server.requests().len(), 2, "{var}");
    }
}
