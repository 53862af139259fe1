//! k6's modules beyond HTTP on stampede's JavaScript engine — `k6/encoding`, `k6/crypto`,
//! WebCrypto, `k6/data` with `open()`, `k6/timers` and `k6/html` — in k6 scripts run by the
//! `stampede` binary against servers on 127.0.0.1, and, where k6 itself is at hand (`$K6`, or
//! `/work/ext/bin/k6`), by k6 on the same script: both must count the same checks.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::js_engine::{run_js, write_files};
use crate::support::{runtime, target, RunResult, TempDir};

/// k6, when this machine has it: the reference the scripts are compared with.
pub(crate) fn k6() -> Option<PathBuf> {
    std::env::var_os("K6")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/work/ext/bin/k6")))
        .filter(|p| p.is_file())
}

/// Runs `script` with k6 (when present) and returns its checks' (passes, fails).
pub(crate) fn k6_checks(script: &Path, args: &[&str]) -> Option<(f64, f64)> {
    let k6 = k6()?;
    let out = TempDir::new("k6-run");
    let export = out.path("summary.json");
    let result = Command::new(k6)
        .arg("run")
        .arg("--quiet")
        .arg("--no-usage-report")
        .arg("--summary-export")
        .arg(&export)
        .args(args)
        .arg(script)
        .current_dir(script.parent().unwrap())
        .output()
        .expect("running k6");
    let text = std::fs::read_to_string(&export).unwrap_or_else(|_| {
        panic!(
            "k6 wrote no summary: {}",
            String::from_utf8_lossy(&result.stderr)
        )
    });
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    let checks = &summary["metrics"]["checks"];
    Some((
        checks["passes"].as_f64().unwrap(),
        checks["fails"].as_f64().unwrap(),
    ))
}

/// Asserts that every check of the run passed, that there were `want` of them, and that k6
/// (when present) counts the same.
pub(crate) fn assert_checks(r: &RunResult, want: f64, script: &Path, args: &[&str]) {
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), want, "{}", r.output());
    if let Some((passes, fails)) = k6_checks(script, args) {
        assert_eq!((passes, fails), (want, 0.0), "k6 counts the checks alike");
    }
}

const CRYPTO_SCRIPT: &str = r#"
import http from 'k6/http';
import { check } from 'k6';
import encoding from 'k6/encoding';
import crypto from 'k6/crypto';

export const options = { vus: 2, iterations: 4 };

const secret = 'a shared secret';
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

export default async function () {
  // A signed request, as an API with HMAC authentication wants it.
  const payload = JSON.stringify({ order: __VU * 100 + __ITER });
  const signature = crypto.hmac('sha256', secret, payload, 'hex');
  const res = http.post(`${__ENV.BASE_URL}/post`, payload, {
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Basic ${encoding.b64encode('user:pässword')}`,
      'X-Signature': signature,
    },
  });

  // `crypto` is k6/crypto here: WebCrypto is the global one.
  const { subtle } = globalThis.crypto;
  const key = await subtle.importKey(
    'raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: { name: 'SHA-256' } }, false, ['sign', 'verify'],
  );
  const webSig = await subtle.sign('HMAC', key, new TextEncoder().encode(res.body));
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode('abc'));
  const hasher = crypto.createHash('md5');
  hasher.update('hello ');
  hasher.update('world');
  const random = new Uint8Array(16);
  globalThis.crypto.getRandomValues(random);
  const verified = await subtle.verify('HMAC', key, webSig, new TextEncoder().encode(res.body));

  check(res, {
    'echoed': (r) => r.status === 200 && r.body === payload,
    'hmac in hex': () => /^[0-9a-f]{64}$/.test(signature),
    'WebCrypto signs as k6/crypto': (r) => hex(webSig) === crypto.hmac('sha256', secret, r.body, 'hex'),
    'and verifies': () => verified,
    'digest': () => hex(digest) === 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    'sha256 of k6/crypto': () => crypto.sha256('abc', 'hex') === hex(digest),
    'hasher': () => hasher.digest('hex') === '5eb63bbbe01eeed093cb22bb8f5acdc3',
    'sha1 base64': () => crypto.sha1('abc', 'base64') === 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0=',
    'sha384': () => crypto.sha384('', 'hex').startsWith('38b060a751ac9638'),
    'sha512': () => crypto.sha512('', 'hex').endsWith('f927da3e'),
    'b64 round trip': () => encoding.b64decode(encoding.b64encode('user:pässword'), 'std', 's') === 'user:pässword',
    'rawurl': () => encoding.b64encode('\xff\xfe?', 'rawurl') === 'w7_Dvj8',
    'b64decode to bytes': () => new Uint8Array(encoding.b64decode('AAEC')).join() === '0,1,2',
    'random bytes': () => crypto.randomBytes(8).byteLength === 8 && random.some((b) => b !== 0),
    'uuid': () => /^[0-9a-f-]{36}$/.test(globalThis.crypto.randomUUID()),
  });
}
"#;

#[test]
fn encoding_crypto_and_webcrypto_as_k6_has_them() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("js-crypto");
    write_files(&dir, &[("script.js", CRYPTO_SCRIPT)]);
    let base = format!("BASE_URL={}", server.url());
    let args = ["-e", base.as_str(), "-q"];
    let r = run_js(&dir.path("script.js"), &args);
    assert_checks(&r, 60.0, &dir.path("script.js"), &args);
}

const DATA_SCRIPT: &str = r#"
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { pick } from './lib/pick.js';

export const options = { vus: 3, iterations: 9 };

const users = new SharedArray('users', () => {
  console.log('making the users');
  return JSON.parse(open('./data/users.json')).users;
});
const rows = new SharedArray('rows', function () {
  return open('data/rows.csv').trim().split('\n').slice(1).map((line) => line.split(','));
});
const logo = open('./data/logo.bin', 'b');

export default function () {
  const user = pick(users, __VU);
  let refused = '';
  try {
    open('./data/users.json');
  } catch (e) {
    refused = String(e);
  }
  let readOnly = false;
  try {
    user.name = 'mallory';
  } catch (e) {
    readOnly = e instanceof TypeError;
  }
  check(user, {
    'a user': (u) => typeof u.name === 'string' && u.name.length > 0,
    'users': () => users.length === 4,
    'csv rows': () => rows.length === 2 && rows[1][1] === 'paris',
    'for-of': () => [...rows].map((r) => r[0]).join() === 'ada,bob',
    'binary': () => logo.byteLength === 4 && new Uint8Array(logo)[3] === 255,
    'open only in init': () => refused.includes('init'),
    'read-only': () => readOnly && user.name !== 'mallory',
  });
}
"#;

#[test]
fn open_and_shared_array_read_files_in_the_init_context() {
    let dir = TempDir::new("js-data");
    write_files(
        &dir,
        &[
            ("script.js", DATA_SCRIPT),
            (
                "lib/pick.js",
                // Opened relative to this file, not to the script.
                "const offset = JSON.parse(open('../data/offset.json')).offset;\n\
                 export function pick(list, vu) { return list[(vu + offset) % list.length]; }\n",
            ),
            ("data/offset.json", r#"{"offset": 1}"#),
            (
                "data/users.json",
                r#"{"users":[{"name":"ada"},{"name":"bob"},{"name":"cy"},{"name":"dee"}]}"#,
            ),
            ("data/rows.csv", "name,city\nada,london\nbob,paris\n"),
        ],
    );
    std::fs::write(dir.path("data/logo.bin"), [1u8, 2, 3, 255]).unwrap();
    let script = dir.path("script.js");
    let r = run_js(&script, &["-q"]);
    assert_checks(&r, 63.0, &script, &[]);
    // One copy for the test: the first VU makes it, the others find it made.
    assert_eq!(
        r.stderr.matches("making the users").count(),
        1,
        "{}",
        r.output()
    );

    // A file that is not there: the script does not load, and the message names it.
    write_files(
        &dir,
        &[(
            "missing.js",
            "const x = open('./nope.json');\nexport default function () {}\n",
        )],
    );
    let r = run_js(&dir.path("missing.js"), &["-q"]);
    assert_ne!(r.code, 0, "{}", r.output());
    assert!(r.stderr.contains("open('./nope.json')"), "{}", r.output());
    assert!(r.stderr.contains("nope.json"), "{}", r.output());
}

const TIMERS_SCRIPT: &str = r#"
import { check } from 'k6';
import { setTimeout, clearTimeout, setInterval, clearInterval } from 'k6/timers';

export const options = { vus: 2, iterations: 4 };

export default async function () {
  const order = [];
  const start = Date.now();
  const cancelled = setTimeout(() => order.push('cancelled'), 10);
  clearTimeout(cancelled);
  setTimeout((what) => order.push(what), 60, 'late');
  setTimeout(() => order.push('early'), 20);
  let ticks = 0;
  await new Promise((resolve) => {
    const id = setInterval(() => {
      ticks++;
      if (ticks === 3) {
        clearInterval(id);
        resolve();
      }
    }, 15);
  });
  await new Promise((resolve) => setTimeout(resolve, 80));
  const elapsed = Date.now() - start;
  check(order, {
    'in due order': (o) => o.join() === 'early,late',
    'an interval ticks until cleared': () => ticks === 3,
    'timers wait': () => elapsed >= 80,
    'globals are the module\'s': () => globalThis.setTimeout === setTimeout,
  });
}
"#;

#[test]
fn timers_run_on_the_vu_s_event_loop() {
    let dir = TempDir::new("js-timers");
    write_files(&dir, &[("script.js", TIMERS_SCRIPT)]);
    let script = dir.path("script.js");
    let r = run_js(&script, &["-q"]);
    assert_checks(&r, 16.0, &script, &[]);
    assert!(
        r.metric("iteration_duration", "min") >= 80.0,
        "{}",
        r.output()
    );
}

/// k6's own `k6/timers` example shape: a synchronous `default` that only starts timers.
const SYNC_TIMERS_SCRIPT: &str = r#"
import { check } from 'k6';
import { setTimeout } from 'k6/timers';

export const options = { vus: 1, iterations: 3 };

export default function () {
  const start = Date.now();
  setTimeout(() => {
    check(Date.now() - start, { 'the timer ran before the iteration ended': (ms) => ms >= 50 });
  }, 50);
}
"#;

#[test]
fn a_synchronous_iteration_waits_for_its_timers_as_k6_does() {
    let dir = TempDir::new("js-sync-timers");
    write_files(&dir, &[("script.js", SYNC_TIMERS_SCRIPT)]);
    let script = dir.path("script.js");
    let r = run_js(&script, &["-q"]);
    assert_checks(&r, 3.0, &script, &[]);
    assert!(
        r.metric("iteration_duration", "min") >= 50.0,
        "{}",
        r.output()
    );
}

/// Serves `page` as text/html to every request on 127.0.0.1, for `requests` requests.
fn serve_html(page: &'static str, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    url
}

const PAGE: &str = r#"<!doctype html>
<html><head><title>Shop &amp; more</title>
<meta name="csrf-token" content="t0k3n"></head>
<body>
  <h1 id="top" class="title big">Products</h1>
  <ul class="items">
    <li data-id="1"><a href="/p/1">Chair</a> <span class="price">10</span></li>
    <li data-id="2" class="sold"><a href="/p/2">Table</a> <span class="price">25</span></li>
    <li data-id="3"><a href="/p/3">Lamp</a> <span class="price">7</span></li>
  </ul>
  <form action="/login"><input name="user" value="ada"><input type="hidden" name="csrf" value="f0rm"></form>
</body></html>"#;

const HTML_SCRIPT: &str = r#"
import http from 'k6/http';
import { check } from 'k6';
import { parseHTML } from 'k6/html';

export const options = { vus: 1, iterations: 2 };

export default function () {
  const res = http.get(__ENV.PAGE_URL);
  const doc = parseHTML(res.body);
  const links = [];
  doc.find('ul.items li a').each((i, a) => links.push(`${i}:${a.getAttribute('href')}`));
  const prices = doc.find('.price').map((i, p) => Number(p.text()));
  // A hostile page: k6 refuses to nest elements more than 512 deep, and so does stampede.
  let deepRefused = false;
  try {
    parseHTML('<div>'.repeat(5000));
  } catch (e) {
    deepRefused = true;
  }
  check(doc, {
    'title': (d) => d.find('title').text() === 'Shop & more',
    'meta by attribute': (d) => d.find('meta[name="csrf-token"]').attr('content') === 't0k3n',
    'hidden input': (d) => d.find('input[name=csrf]').val() === 'f0rm',
    'each': () => links.join() === '0:/p/1,1:/p/2,2:/p/3',
    'map': () => prices.reduce((a, b) => a + b, 0) === 42,
    'size': (d) => d.find('li').size() === 3,
    'class selector': (d) => d.find('li.sold a').text() === 'Table',
    'eq and first/last': (d) => d.find('li').eq(2).find('a').text() === 'Lamp' && d.find('li').first().attr('data-id') === '1' && d.find('li').last().attr('data-id') === '3',
    'text of many': (d) => d.find('li a').text() === 'ChairTableLamp',
    'missing attr': (d) => d.find('h1').attr('nope') === undefined,
    'nothing found': (d) => d.find('table').size() === 0 && d.find('table').text() === '',
    'id and classes': (d) => d.find('#top').is('.big') && d.find('h1').attr('id') === 'top' && d.find('h1').get(0).nodeName() === 'h1',
    'res.html': () => res.html().find('h1').text() === 'Products' && res.html('li').size() === 3,
    'a page nested too deep is refused': () => deepRefused,
    'children and parent': (d) => d.find('ul').children().size() === 3 && d.find('a').first().parent().attr('data-id') === '1',
  }, {});
}
"#;

#[test]
fn html_is_parsed_and_queried_with_css_selectors() {
    let dir = TempDir::new("js-html");
    write_files(&dir, &[("script.js", HTML_SCRIPT)]);
    let script = dir.path("script.js");
    let runs = if k6().is_some() { 2 } else { 1 };
    let url = serve_html(PAGE, 3 * runs);
    let page = format!("PAGE_URL={url}");
    let args = ["-e", page.as_str(), "-q"];
    let r = run_js(&script, &args);
    assert_checks(&r, 30.0, &script, &args);

    // `res.html()` in a script that does not import k6/html (it is loaded on first use).
    write_files(&dir, &[("res.js", RES_HTML_SCRIPT)]);
    let script = dir.path("res.js");
    let r = run_js(&script, &args);
    assert_checks(&r, 2.0, &script, &args);
}

const RES_HTML_SCRIPT: &str = r#"
import http from 'k6/http';
import { check } from 'k6';

export default function () {
  const res = http.get(__ENV.PAGE_URL);
  check(res, {
    'a selector': (r) => r.html('title').text() === 'Shop & more',
    'the document': (r) => r.html().find('li').first().data('id') === 1,
  });
}
"#;
