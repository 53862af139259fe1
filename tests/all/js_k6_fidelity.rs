//! Behaviours an outside comparison with k6 v2.2 found different, each as k6 has it: what
//! `console.log` prints, strings with unpaired surrogates, an abort in the init context, a
//! rate threshold with no samples, the method as written, and k6's warning for a test in
//! which no iteration ended.

use crate::js_engine::run_js;
use crate::js_errors::script;
use crate::semantics_server::SemanticsServer;
use crate::support::{runtime, TempDir};

/// k6 prints values in its own form, not as JSON (k6 v2.2 printed each of these lines so).
#[test]
fn console_prints_values_as_k6_does() {
    let dir = TempDir::new("js-console-form");
    let path = script(
        &dir,
        r#"
export const options = { iterations: 1 };
export default function () {
  const o = { a: 1, b: 'x', c: [1, 2], d: null, e: undefined, f() {}, g: {} };
  console.log('L1', o);
  const cyc = { a: 1 }; cyc.self = cyc;
  console.log('L2', cyc, [], [[1], { z: true }]);
  console.log('L3', () => 1, new TypeError('bad'), Symbol('sym'), 12.5, true, undefined, null);
  console.log('L4', new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([1, 255]).buffer);
  console.log('L5', new Date(0), { when: new Date(0) });
  const shared = { k: 1 };
  console.log('L6', { p: shared, q: shared }, [Symbol('s')]);
  // What would take long or blow the stack is cut short (the line is cut at 16 KiB anyway).
  console.log('L7', new Array(1e9));
  let list = null;
  for (let i = 0; i < 100000; i++) list = { n: list };
  console.log('L8', list);
  console.log('L9', 'done');
}
"#,
    );
    let r = run_js(&path, &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 1.0, "{}", r.output());
    assert!(!r.stderr.contains("level=error"), "{}", r.output());
    for part in ["L7 [ null, null, ", "L8 { n: { n: { n: ", "L9 done"] {
        assert!(r.stderr.contains(part), "{part}\n{}", r.output());
    }
    for line in [
        r#"L1 { a: 1, b: \"x\", c: [ 1, 2 ], d: null, e: null, f: [object Function], g: {} }"#,
        r#"L2 { a: 1, self: [Circular] } [] [ [ 1 ], { z: true } ]"#,
        r#"L3 [object Function] TypeError: bad sym 12.5 true undefined null"#,
        r#"L4 Uint8Array(2) [ 1, 2 ] Uint8Array(0) [] ArrayBuffer { [Uint8Contents]: <01 ff>, byteLength: 2 }"#,
        r#"L5 \"1970-01-01T00:00:00.000Z\" { when: \"1970-01-01T00:00:00.000Z\" }"#,
        r#"L6 { p: { k: 1 }, q: { k: 1 } } [ \"s\" ]"#,
    ] {
        assert!(r.stderr.contains(line), "{line}\n{}", r.output());
    }
}

/// A string with an unpaired surrogate (half an emoji) leaves the engine with U+FFFD in its
/// place, as Go's conversion gives it in k6: logging, encoding, hashing and sending it work.
#[test]
fn unpaired_surrogates_become_replacement_characters() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let dir = TempDir::new("js-surrogates");
    let path = script(
        &dir,
        r#"
import http from 'k6/http';
import { check } from 'k6';
import encoding from 'k6/encoding';
import crypto from 'k6/crypto';
export const options = { iterations: 1 };
export default function () {
  const half = '\u{1F600}ab'.slice(1);   // a low surrogate, then "ab"
  const cut = 'ab\u{1F600}'.slice(0, 3); // "ab", then a high surrogate
  console.log('cut:', cut);
  check(null, {
    'TextEncoder': () => new TextEncoder().encode(cut).join() === '97,98,239,191,189',
    'b64encode': () => encoding.b64encode(half) === encoding.b64encode('\uFFFDab'),
    'sha256': () => crypto.sha256(cut, 'hex') === crypto.sha256('ab\uFFFD', 'hex'),
    'sent': () => http.post(`http://${__ENV.ADDR}/echo`, cut).status === 200,
    // Inside the engine a lone surrogate stays what it is (QuickJS converts these sources
    // with the same function, left unchanged).
    'regexp': () => new RegExp('[\uD800-\uDFFF]', 'u').test('\uD800') && !new RegExp('\uD800', 'u').test('\uFFFD'),
    'eval': () => eval("'" + '\uD800' + "'").charCodeAt(0) === 0xD800,
  });
}
"#,
    );
    let addr = format!("ADDR={}", server.addr);
    let r = run_js(&path, &["-q", "--no-summary", "-e", &addr]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert!(r.stderr.contains("cut: ab\u{FFFD}"), "{}", r.output());
    let seen = server.seen();
    assert_eq!(
        seen.last().map(|s| s.body.as_slice()),
        Some("ab\u{FFFD}".as_bytes())
    );
}

/// `exec.test.abort()` while the script loads: k6's exit code for an abort (108), not that of
/// a script that failed to load (107).
#[test]
fn an_abort_in_the_init_context_exits_108() {
    let dir = TempDir::new("js-abort-init");
    let path = script(
        &dir,
        "import exec from 'k6/execution';\n\
         if (__ENV.STOP) exec.test.abort('not configured');\n\
         export default function () {}\n",
    );
    let r = run_js(&path, &["-q", "-e", "STOP=1"]);
    assert_eq!(r.code, 108, "{}", r.output());
    assert!(r.stderr.contains("not configured"), "{}", r.output());
}

/// As in k6, a rate threshold over no samples is not judged and passes, and a live
/// `abortOnFail` waits for samples.
#[test]
fn a_rate_threshold_over_no_samples_passes() {
    let dir = TempDir::new("js-empty-rate");
    let path = script(
        &dir,
        r#"
import { check, sleep } from 'k6';
export const options = {
  scenarios: { s: { executor: 'constant-vus', vus: 1, duration: __ENV.D || '1s' } },
  thresholds: {
    checks: [{ threshold: 'rate>0.9', abortOnFail: true }],
    'http_req_failed{status:500}': ['rate>0'],
  },
};
const loaded = Date.now();
export default function () {
  if (__ENV.CHECK_AFTER && Date.now() - loaded > Number(__ENV.CHECK_AFTER)) check(1, { ok: () => true });
  sleep(0.2);
}
"#,
    );
    let r = run_js(&path, &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.stdout.contains("'rate>0.9'"), "{}", r.output());
    // Checks only from the third second on: the live judgements at 2 s see no samples.
    let r = run_js(&path, &["-q", "-e", "D=4s", "-e", "CHECK_AFTER=2500"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.metric("checks", "passes") > 0.0, "{}", r.output());
}

/// k6 sends the method as the script wrote it (Go does not change its case); and it parses a
/// response's JSON once, so a change to what `json()` gave is seen by the next call.
#[test]
fn the_method_goes_as_written_and_json_is_parsed_once() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let dir = TempDir::new("js-method-case");
    let path = script(
        &dir,
        "import http from 'k6/http';\n\
         import { check } from 'k6';\n\
         export const options = { iterations: 1 };\n\
         export default function () {\n\
           const res = http.request('post', `http://${__ENV.ADDR}/echo`, 'x');\n\
           res.json().mine = 5;\n\
           check(res, { 'json() kept': (r) => r.json().mine === 5 });\n\
         }\n",
    );
    let addr = format!("ADDR={}", server.addr);
    let r = run_js(&path, &["-q", "-e", &addr]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    let seen = server.seen();
    assert_eq!(
        seen.iter().map(|s| s.method.as_str()).collect::<Vec<_>>(),
        ["post"]
    );
}

/// k6's warning when not one iteration ended (here each is cut short by the end of the test).
#[test]
fn a_test_where_no_iteration_ended_says_so() {
    let dir = TempDir::new("js-no-iteration");
    let path = script(
        &dir,
        "import { sleep } from 'k6';\n\
         export const options = { scenarios: { s: { executor: 'constant-vus', vus: 1, duration: '1s', gracefulStop: '0s' } } };\n\
         export default function () { sleep(5); }\n",
    );
    let r = run_js(&path, &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        r.stderr.contains(
            "No script iterations fully finished, consider making the test duration longer"
        ),
        "{}",
        r.output()
    );
}
