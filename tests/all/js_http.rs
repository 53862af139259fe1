//! k6's cookie surface and request params on the JavaScript engine, past what
//! `http_sdks::a_k6_script_uses_cookies_compression_redirects_and_auth` covers: jars cleared
//! and pruned, refused cookies, jars in a batch, the VU's jar emptied per iteration, `httpVersion`,
//! `status_text`, and params stampede refuses.

use crate::js_engine::{run_js, write_files};
use crate::semantics_server::SemanticsServer;
use crate::support::{runtime, TempDir};

const SCRIPT: &str = r#"
import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 2 };

/** The Cookie header the echo server received, or undefined. */
function sent(res) {
  const h = res.json().headers.find(([k]) => k.toLowerCase() === 'cookie');
  return h ? h[1] : undefined;
}

export default function () {
  const base = __ENV.BASE_URL;
  const jar = http.cookieJar();
  check(jar, { 'the VU jar is empty at the start of each iteration': (j) => Object.keys(j.cookiesForURL(base)).length === 0 });
  http.get(`${base}/cookie?set=a%3D1%3B%20Path%3D%2F&set=b%3D2%3B%20Path%3D%2F`);
  check(jar, { 'both stored': (j) => j.cookiesForURL(base).a[0] === '1' && j.cookiesForURL(base).b[0] === '2' });
  jar.delete(base, 'a');
  check(http.get(`${base}/echo`), { 'delete removes one': (r) => sent(r) === 'b=2' });
  jar.clear(base);
  check(http.get(`${base}/echo`), { 'clear removes the rest': (r) => sent(r) === undefined });

  const mine = new http.CookieJar();
  mine.set(base, 'own', 'x');
  const [withMine, withNone] = http.batch([
    ['GET', `${base}/echo`, null, { jar: mine }],
    { method: 'GET', url: `${base}/echo`, params: { jar: null, cookies: { only: 'this' } } },
  ]);
  check(withMine, { 'a batch request uses its jar': (r) => sent(r) === 'own=x' });
  check(withNone, { 'a batch request without a jar sends its own cookies': (r) => sent(r) === 'only=this' });

  const res = http.get(`${base}/echo`, { httpVersion: '1.1' });
  check(res, {
    'httpVersion 1.1': (r) => r.proto === 'HTTP/1.1',
    'status_text': (r) => r.status_text === '200 OK',
  });
  let refused = '';
  try {
    http.get(`${base}/echo`, { auth: 'ntlm' });
  } catch (e) {
    refused = `${e.name}: ${e.message}`;
  }
  check(refused, { 'ntlm is refused by name': (m) => m.startsWith('TypeError') && m.includes("'ntlm'") });
  let badUrl = '';
  try {
    mine.set('not a url', 'n', 'v');
  } catch (e) {
    badUrl = e.message;
  }
  check(mine, {
    'a refused cookie is dropped quietly, as in k6': (j) => j.set(base, 'far', '1', { domain: 'example.com' }) === false && j.cookiesForURL(base).far === undefined,
    'a bad URL throws': () => badUrl.includes('CookieJar.set'),
  });
  for (let i = 0; i < 200; i++) new http.CookieJar().set(base, 'tmp', String(i));
}
"#;

#[test]
fn k6_cookie_jars_batches_and_params_work_on_the_engine() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let dir = TempDir::new("js-http");
    write_files(&dir, &[("script.js", SCRIPT)]);
    let r = run_js(
        &dir.path("script.js"),
        &["-e", &format!("BASE_URL={}", server.url()), "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 22.0, "{}", r.output());
}

const FAILING_SCRIPT: &str = r#"
import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 1 };

/** The header `name` the echo server received, or undefined. */
function sent(res, name) {
  const h = res.json().headers.find(([k]) => k.toLowerCase() === name);
  return h ? h[1] : undefined;
}

export default function () {
  const base = __ENV.BASE_URL;
  const echoed = http.get(`${base}/echo`, { compression: 'gzip' });
  check(echoed, { 'a GET with compression goes without a body or Content-Encoding': (r) => sent(r, 'content-encoding') === undefined });
  http.get(`${base}/status/404`);
  http.get('http://127.0.0.1:1/');
}
"#;

/// What k6 records of requests that fail: `proto` only on those that got a response, and no
/// `{expected_response:true}` sub-metric of zeros when no request was expected.
#[test]
fn failed_requests_are_tagged_and_summed_as_k6_does() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let dir = TempDir::new("js-http");
    write_files(&dir, &[("script.js", FAILING_SCRIPT)]);
    let jsonl = dir.path("out.jsonl");
    let out = format!("json={}", jsonl.display());
    let base = format!("BASE_URL={}", server.url());
    let r = run_js(&dir.path("script.js"), &["-e", &base, "-q", "--out", &out]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 1.0, "{}", r.output());
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let reqs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|p: &serde_json::Value| p["type"] == "Point" && p["metric"] == "http_reqs")
        .collect();
    assert_eq!(reqs.len(), 3);
    let refused = reqs
        .iter()
        .find(|p| p["data"]["tags"]["status"] == "0")
        .unwrap();
    assert!(refused["data"]["tags"].get("proto").is_none(), "{refused}");
    assert_eq!(reqs[0]["data"]["tags"]["proto"], "HTTP/1.1");
}

/// With every request failed, no `{expected_response:true}` row of zeros (k6 shows none).
#[test]
fn no_expected_response_sub_metric_without_expected_responses() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let dir = TempDir::new("js-http");
    let script = "import http from 'k6/http';\nexport const options = { iterations: 2 };\n\
                  export default function () { http.get(`${__ENV.BASE_URL}/status/404`); }\n";
    write_files(&dir, &[("script.js", script)]);
    let base = format!("BASE_URL={}", server.url());
    let r = run_js(&dir.path("script.js"), &["-e", &base]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 2.0);
    assert!(
        !r.has_metric("http_req_duration{expected_response:true}"),
        "{}",
        r.output()
    );
    assert!(
        !r.stdout.contains("expected_response:true"),
        "{}",
        r.output()
    );
}

const THROW_SCRIPT: &str = r#"
import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 1, throw: true };

function caught(f) {
  try { f(); return null; } catch (e) { return e; }
}

export default async function () {
  const down = 'http://127.0.0.1:1/';
  const base = __ENV.BASE_URL;
  const e = caught(() => http.get(down));
  const quiet = caught(() => http.get(down, { throw: false }));
  const inBatch = caught(() => http.batch([`${base}/echo`, ['POST', down, 'x']]));
  let rejected = null;
  try { await http.asyncRequest('GET', down, null, { throw: true }); } catch (r) { rejected = r; }
  let resolved = null;
  try { resolved = await http.asyncRequest('GET', down, null, { throw: false }); } catch (r) { resolved = r; }
  check(null, {
    "throw is k6's catchable GoError": () => e instanceof Error && e.name === 'GoError'
      && e.message.startsWith('Get "http://127.0.0.1:1/": '),
    'a request may turn it off': () => quiet === null,
    'a batch throws for the request that failed': () => inBatch !== null && String(inBatch).startsWith('GoError: Post "http://127.0.0.1:1/": '),
    'an async request is rejected': () => rejected !== null && String(rejected).startsWith('Get "http://127.0.0.1:1/": '),
    'or resolved with status 0 when its own throw is off': () => resolved !== null && resolved.status === 0,
  });
  http.get(down); // uncaught: ends the iteration, as in k6
  check(null, { 'never reached': () => true });
}
"#;

/// k6's `throw` in JavaScript: a catchable `GoError`, per request too (both ways), in a batch
/// and for `asyncRequest`; uncaught, it ends the iteration.
#[test]
fn throw_is_a_catchable_go_error_per_request_as_in_k6() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let dir = TempDir::new("js-http");
    write_files(&dir, &[("script.js", THROW_SCRIPT)]);
    let base = format!("BASE_URL={}", server.url());
    let script = dir.path("script.js");
    let r = run_js(&script, &["-e", &base, "-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 5.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 1.0, "{}", r.output());
    assert!(r.stderr.contains("GoError: Get"), "{}", r.output());
    if let Some((passes, fails)) = crate::js_modules::k6_checks(&script, &["-e", &base]) {
        assert_eq!((passes, fails), (5.0, 0.0), "k6 counts the checks alike");
    }
}
