//! `http.asyncRequest` as k6 v2.2 runs it (issue 14, "k6 scripts run unchanged"): each request
//! runs from the moment it is made, while the VU sleeps, waits for a timer, sends a request of
//! its own or runs JavaScript; its promise settles as soon as its response is in, so that
//! `Promise.race` resolves with the faster request while the slower is still in flight.
//!
//! The scripts below ran on k6 v2.2.0 against `stampede serve` (the server these tests start)
//! on this machine; what k6 measured is in the comments. Times are asserted with a margin on
//! the side that matters: below what running the requests one after another (or waiting for
//! all of a turn's requests together, as stampede did before) would take.

use serde_json::Value;

use crate::js_engine::{run_js, write_files};
use crate::support::{runtime, target, RunResult, TempDir};

fn run(script: &str, extra: &[&str]) -> (RunResult, TempDir) {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("js-async");
    write_files(&dir, &[("script.js", script)]);
    let base = format!("BASE_URL={}", server.url());
    let mut args = vec!["-q", "-e", base.as_str()];
    args.extend_from_slice(extra);
    let r = run_js(&dir.path("script.js"), &args);
    (r, dir)
}

/// A trend's average, in ms.
fn avg(r: &RunResult, name: &str) -> f64 {
    r.metric(name, "avg")
}

const TIMING: &str = r#"
import http from 'k6/http';
import { check, sleep } from 'k6';
import { setTimeout } from 'k6/timers';
import { Trend } from 'k6/metrics';

export const options = { iterations: 1 };

const race = new Trend('t_race');
const any = new Trend('t_any');
const slept = new Trend('t_sleep');
const turns = new Trend('t_turns');
const sync = new Trend('t_sync');
const busy = new Trend('t_busy');
const returned = new Trend('t_returned');
const B = __ENV.BASE_URL;

export default async function () {
  const start = Date.now();
  let t0 = Date.now();
  const winner = await Promise.race([http.asyncRequest('GET', `${B}/delay/600`), http.asyncRequest('GET', `${B}/delay/50`)]);
  race.add(Date.now() - t0);
  t0 = Date.now();
  const first = await Promise.any([http.asyncRequest('GET', `${B}/delay/500`), http.asyncRequest('GET', `${B}/delay/60`)]);
  any.add(Date.now() - t0);

  // Started before a sleep, awaited after it: it ran during the sleep.
  t0 = Date.now();
  const p = http.asyncRequest('GET', `${B}/delay/250`);
  sleep(0.4);
  await p;
  slept.add(Date.now() - t0);

  // Started in different turns of the event loop: they overlap.
  t0 = Date.now();
  const q1 = http.asyncRequest('GET', `${B}/delay/300`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const q2 = http.asyncRequest('GET', `${B}/delay/300`);
  await Promise.all([q1, q2]);
  turns.add(Date.now() - t0);

  // A synchronous request does not hold up one in flight.
  t0 = Date.now();
  const s = http.asyncRequest('GET', `${B}/delay/400`);
  const got = http.get(`${B}/delay/250`);
  await s;
  sync.add(Date.now() - t0);

  // Nor does JavaScript that keeps the VU busy.
  t0 = Date.now();
  const b = http.asyncRequest('GET', `${B}/delay/300`);
  while (Date.now() - t0 < 400) {}
  await b;
  busy.add(Date.now() - t0);

  // Promises settle in the order the responses come in.
  const order = [];
  await Promise.all([300, 100, 200].map((d) => http.asyncRequest('GET', `${B}/delay/${d}`).then(() => order.push(d))));

  check(null, {
    'the race is won by the faster request': () => winner.url.endsWith('/delay/50') && winner.status === 200,
    'any gives the faster request': () => first.url.endsWith('/delay/60'),
    'the synchronous request answered': () => got.status === 200,
    'promises settle in completion order': () => order.join() === '100,200,300',
  });

  // Not awaited: the iteration waits for it, as k6's event loop does.
  http.asyncRequest('GET', `${B}/delay/700`);
  returned.add(Date.now() - start);
}
"#;

#[test]
fn async_requests_run_while_the_vu_does_anything_else() {
    let (r, _dir) = run(TIMING, &[]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 4.0, "{}", r.output());
    // 2 + 2 + 1 + 2 + 2 + 1 + 3 + 1.
    assert_eq!(r.metric("http_reqs", "count"), 14.0, "{}", r.output());
    let report = r.output();
    // k6 v2.2.0, same script and server: race 61 ms, any 63 ms, sleep 401 ms, turns 403 ms,
    // sync 402 ms, busy 400 ms, and the iteration 703 ms longer than the function (stampede,
    // debug build: 52–126, 67, 402, 405, 402, 400 and 761).
    let race = avg(&r, "t_race");
    assert!(
        (45.0..450.0).contains(&race),
        "race took {race} ms: {report}"
    );
    let any = avg(&r, "t_any");
    assert!((55.0..400.0).contains(&any), "any took {any} ms: {report}");
    // One after the other: 650 ms.
    let slept = avg(&r, "t_sleep");
    assert!(
        (395.0..600.0).contains(&slept),
        "sleep step took {slept} ms: {report}"
    );
    // One after the other (or the first turn's request waited for before the timer): 700 ms.
    let turns = avg(&r, "t_turns");
    assert!(
        (395.0..650.0).contains(&turns),
        "two turns took {turns} ms: {report}"
    );
    // One after the other: 650 ms.
    let sync = avg(&r, "t_sync");
    assert!(
        (395.0..600.0).contains(&sync),
        "sync step took {sync} ms: {report}"
    );
    // One after the other (the request sent when the loop ends): 700 ms.
    let busy = avg(&r, "t_busy");
    assert!(
        (395.0..620.0).contains(&busy),
        "busy step took {busy} ms: {report}"
    );
    // The iteration ends when its last request does.
    let tail = r.metric("iteration_duration", "avg") - avg(&r, "t_returned");
    assert!(
        tail >= 690.0,
        "the iteration ended {tail} ms after returning: {report}"
    );
}

const SAMPLES: &str = r#"
import http from 'k6/http';
import { group } from 'k6';

export const options = { iterations: 1 };
const B = __ENV.BASE_URL;

export default async function () {
  let inGroup;
  group('g', () => {
    const params = (mode) => ({ tags: { name: 'same', mode }, responseCallback: http.expectedStatuses(404) });
    http.get(`${B}/status/404`, params('sync-group'));
    inGroup = http.asyncRequest('GET', `${B}/status/404`, null, params('async-group'));
  });
  // The VU's response callback when the request starts is the one that counts.
  http.get(`${B}/status/404?c=default`, { tags: { mode: 'sync-default' } });
  const byDefault = http.asyncRequest('GET', `${B}/status/404?c=default`, null, { tags: { mode: 'async-default' } });
  http.setResponseCallback(http.expectedStatuses(404));
  http.get(`${B}/redirect/1`, { tags: { mode: 'sync-redirect' } });
  const redirected = http.asyncRequest('GET', `${B}/redirect/1`, null, { tags: { mode: 'async-redirect' } });
  await Promise.all([inGroup, byDefault, redirected]);
  // Stamped when it completed, not when the script got to it.
  const early = http.asyncRequest('GET', `${B}/delay/100`, null, { tags: { mode: 'stamp-async' } });
  http.get(`${B}/delay/600`, { tags: { mode: 'stamp-sync' } });
  await early;
}
"#;

/// Seconds since midnight of a JSON output point's time (`…T13:59:00.114786Z`).
fn seconds_of(point: &Value) -> f64 {
    let time = point["data"]["time"].as_str().unwrap();
    let clock = time.split('T').nth(1).unwrap().trim_end_matches('Z');
    let parts: Vec<f64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
}

/// The `http_req_*` points of one request mode: (metric, tags without `mode`, value) sorted.
fn points_of(lines: &str, mode: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for line in lines.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] != "Point" || v["data"]["tags"]["mode"] != mode {
            continue;
        }
        let metric = v["metric"].as_str().unwrap().to_owned();
        let mut tags = v["data"]["tags"].clone();
        tags.as_object_mut().unwrap().remove("mode");
        out.push((metric, tags));
    }
    out.sort_by(|a, b| (a.0.as_str(), a.1.to_string()).cmp(&(b.0.as_str(), b.1.to_string())));
    out
}

#[test]
fn async_requests_record_the_samples_and_tags_of_the_same_sync_request() {
    let dir = TempDir::new("js-async-out");
    let out = dir.path("out.json");
    let (r, _d) = run(SAMPLES, &["-o", &format!("json={}", out.display())]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 10.0, "{}", r.output());
    let lines = std::fs::read_to_string(&out).unwrap();
    let stamp = |mode: &str| {
        lines
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| {
                v["type"] == "Point"
                    && v["metric"] == "http_reqs"
                    && v["data"]["tags"]["mode"] == mode
            })
            .map(|v| seconds_of(&v))
            .unwrap_or_else(|| panic!("no sample of {mode}"))
    };
    let gap = stamp("stamp-sync") - stamp("stamp-async");
    assert!(
        gap > 0.4,
        "the async request's samples are {gap} s before the sync one's"
    );
    for case in ["group", "default", "redirect"] {
        let sync = points_of(&lines, &format!("sync-{case}"));
        let async_ = points_of(&lines, &format!("async-{case}"));
        assert!(!sync.is_empty(), "{case}: no samples\n{lines}");
        assert_eq!(sync, async_, "{case}: the same samples and tags");
    }
    // k6 v2.2.0 tags the same requests so: the group the request started in, the request's
    // own callback, and the VU's callback as it was when the request started.
    let tags = |mode: &str| {
        points_of(&lines, mode)
            .into_iter()
            .find(|(m, _)| m == "http_req_failed")
            .map(|(_, t)| t)
            .unwrap_or_else(|| panic!("no http_req_failed for {mode}"))
    };
    let group = tags("async-group");
    assert_eq!(group["group"], "::g");
    assert_eq!(group["name"], "same");
    assert_eq!(group["expected_response"], "true");
    assert_eq!(tags("async-default")["expected_response"], "false");
    assert_eq!(tags("async-default")["group"], "");
    // One sample set per hop: the redirect and the page it leads to.
    let hops = points_of(&lines, "async-redirect")
        .into_iter()
        .filter(|(m, _)| m == "http_reqs")
        .count();
    assert_eq!(hops, 2);
}

const ERRORS: &str = r#"
import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 1, throw: true };

export default async function () {
  let e;
  try {
    await http.asyncRequest('GET', 'http://127.0.0.1:1/');
  } catch (x) {
    e = x;
  }
  const answered = await http.asyncRequest('GET', `${__ENV.BASE_URL}/status/503`);
  check(e, {
    'rejected with a Go error, not an Error': (x) => x !== undefined && !(x instanceof Error),
    'its text is the method, the URL and why': (x) => String(x).startsWith('Get "http://127.0.0.1:1/": '),
    'op, url and error()': (x) => x.op === 'Get' && x.url === 'http://127.0.0.1:1/' && x.error() === String(x),
  });
  check(answered, { 'a response with an error status is no rejection': (r) => r.status === 503 });
}
"#;

#[test]
fn with_throw_a_request_without_response_rejects_its_promise_as_k6_does() {
    // k6 v2.2.0 prints for the rejection: typeof object, instanceof Error false, String(e)
    // `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`, keys
    // op, url, err, error (a function), temporary, timeout, unwrap.
    let (r, _dir) = run(ERRORS, &[]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 4.0, "{}", r.output());
    // Both requests are recorded, the failed one too.
    assert_eq!(r.metric("http_reqs", "count"), 2.0, "{}", r.output());
}

const UNCAUGHT: &str = r#"
import http from 'k6/http';

export const options = { iterations: 1, throw: true };

export default function () {
  http.asyncRequest('GET', 'http://127.0.0.1:1/x');
  http.asyncRequest('GET', `${__ENV.BASE_URL}/delay/1000`);
}
"#;

#[test]
fn a_rejection_nothing_handles_fails_the_iteration_and_cancels_the_rest() {
    // k6 v2.2.0: `Uncaught (in promise) Get "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1:
    // connect: connection refused`, one http_reqs sample, an iteration of 15 ms.
    let (r, _dir) = run(UNCAUGHT, &[]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        r.stderr
            .contains(r#"Uncaught (in promise) Get \"http://127.0.0.1:1/x\": "#),
        "{}",
        r.output()
    );
    assert_eq!(r.metric("http_reqs", "count"), 1.0, "{}", r.output());
    let took = r.metric("iteration_duration", "max");
    assert!(took < 800.0, "the iteration waited: {took} ms");
}

const IN_INIT: &str = r#"
import http from 'k6/http';

http.asyncRequest('GET', `${__ENV.BASE_URL}/delay/100`);
export default function () {}
"#;

#[test]
fn an_async_request_in_the_init_context_throws_as_in_k6() {
    // k6 v2.2.0: `GoError: Making http requests in the init context is not supported`, exit
    // code 107.
    let (r, _dir) = run(IN_INIT, &[]);
    assert_eq!(r.code, 107, "{}", r.output());
    assert!(
        r.stderr
            .contains("Making http requests in the init context is not supported"),
        "{}",
        r.output()
    );
}

const CANCEL: &str = r#"
import http from 'k6/http';

export const options = {
  scenarios: {
    thrown: { executor: 'per-vu-iterations', iterations: 1, exec: 'thrown' },
    cut: { executor: 'constant-vus', vus: 1, duration: '1s', gracefulStop: '0s', exec: 'cut', startTime: '1s' },
  },
};
const B = __ENV.BASE_URL;

export async function thrown() {
  http.asyncRequest('GET', `${B}/delay/1500?case=thrown`);
  await http.asyncRequest('GET', `${B}/delay/100?case=first`);
  throw new Error('boom');
}

export async function cut() {
  await http.asyncRequest('GET', `${B}/delay/6000?case=cut`);
}
"#;

#[test]
fn requests_in_flight_are_cancelled_without_samples_when_the_iteration_ends_early() {
    // k6 v2.2.0: one http_reqs sample (case=first); the iteration that threw lasted 128 ms
    // (its other request was cancelled, not waited for); the interrupted one recorded nothing.
    let dir = TempDir::new("js-async-out");
    let out = dir.path("out.json");
    let (r, _d) = run(CANCEL, &["-o", &format!("json={}", out.display())]);
    assert_eq!(r.code, 0, "{}", r.output());
    let lines = std::fs::read_to_string(&out).unwrap();
    let urls: Vec<String> = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "Point" && v["metric"] == "http_reqs")
        .map(|v| v["data"]["tags"]["url"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(urls.len(), 1, "{urls:?}");
    assert!(urls[0].ends_with("case=first"), "{urls:?}");
    let thrown: Vec<f64> = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| {
            v["type"] == "Point"
                && v["metric"] == "iteration_duration"
                && v["data"]["tags"]["scenario"] == "thrown"
        })
        .map(|v| v["data"]["value"].as_f64().unwrap())
        .collect();
    assert_eq!(thrown.len(), 1, "{}", r.output());
    assert!(thrown[0] < 1000.0, "the iteration waited: {thrown:?}");
    // The interrupted request does not hold the test: 2 s of scenarios, not 7 (measured on
    // the samples' clock: the run's wall time also holds preparing the engine).
    let times: Vec<f64> = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "Point")
        .map(|v| seconds_of(&v))
        .collect();
    let span = times.iter().cloned().fold(f64::MIN, f64::max)
        - times.iter().cloned().fold(f64::MAX, f64::min);
    assert!(span < 4.5, "the samples span {span} s");
}

const CAP: &str = r#"
import http from 'k6/http';
import { check } from 'k6';
import { Trend } from 'k6/metrics';

export const options = { iterations: 1, batch: 2 };
const took = new Trend('t_cap');

export default async function () {
  const t0 = Date.now();
  const all = await Promise.all([1, 2, 3].map((i) => http.asyncRequest('GET', `${__ENV.BASE_URL}/delay/300?n=${i}`)));
  took.add(Date.now() - t0);
  check(all, { 'every request answered': (rs) => rs.every((r) => r.status === 200) });
}
"#;

#[test]
fn at_most_batch_requests_of_a_vu_run_at_once_and_the_rest_wait_their_turn() {
    // stampede's own bound (k6 has none and takes 313 ms here): two run, the third waits.
    let (r, _dir) = run(CAP, &[]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 1.0, "{}", r.output());
    let took = avg(&r, "t_cap");
    assert!(
        (590.0..900.0).contains(&took),
        "took {took} ms: {}",
        r.output()
    );
}

/// The bound on a VU's requests in flight: past 10,000 started and not settled, `asyncRequest`
/// rejects (k6 has no bound); the requests already started are cancelled when the iteration
/// ends with an error, and the test goes on.
#[test]
fn a_vu_may_have_at_most_10000_requests_in_flight() {
    let (r, _dir) = run(
        r#"
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 1 };
export default async function () {
  for (let i = 0; i < 10000; i++) http.asyncRequest('GET', `${__ENV.BASE_URL}/delay/5000`);
  let why = '';
  try { await http.asyncRequest('GET', `${__ENV.BASE_URL}/`); } catch (e) { why = String(e); }
  check(why, { 'the 10,001st is refused': (w) => w.includes('too many requests in flight') });
  throw new Error('end the iteration: what is in flight is cancelled');
}
"#,
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 1.0, "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 1.0, "{}", r.output());
    // Cancelled requests record nothing.
    assert!(!r.has_metric("http_reqs"), "{}", r.output());
}
