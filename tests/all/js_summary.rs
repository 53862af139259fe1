//! Issue 14: the end of a k6 script's test as k6 v2.2 ends it — setup's and teardown's checks
//! under the groups `::setup` and `::teardown`, `setup_data` in the summary export, the
//! script's own `handleSummary(data)`, and jslib's `k6-summary` served by the engine.

use std::path::Path;

use serde_json::Value;

use crate::js_engine::{js_cache, write_files};
use crate::support::{run_command, runtime, stampede, target, RunResult, TempDir};

/// Runs `script.js` in `dir`, from `dir` (files a handleSummary names land there), with a
/// summary export.
fn run_in(dir: &TempDir, args: &[&str]) -> RunResult {
    let export = dir.path("export.json");
    let mut cmd = stampede();
    cmd.current_dir(dir.path(""))
        .env("STAMPEDE_CACHE_DIR", js_cache())
        .arg("run")
        .arg("script.js")
        .args(args)
        .arg("--summary-export")
        .arg(&export);
    run_command(cmd, Some(&export))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} not written: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

const LIFECYCLE: &str = r#"
import http from 'k6/http';
import { check, group } from 'k6';
export const options = { iterations: 2, thresholds: { checks: ['rate==1'] } };
export function setup() {
  check(1, { 'setup ran': (v) => v === 1 });
  group('prepare', () => { check(true, { 'prepared': (v) => v }); });
  return { token: 'abc', n: 3, list: [1, 2] };
}
export default function (data) {
  check(data, { 'data arrived': (d) => d.token === 'abc' });
}
export function teardown(data) {
  check(data, { 'teardown sees data': (d) => d.n === 3 });
}
"#;

/// k6 v2.2 with this script exports `root_group.groups.setup` (checks `setup ran` and the
/// group `prepare` with `prepared`, path `::setup::prepare::prepared`), `groups.teardown`,
/// the iterations' check at the root, and `"setup_data": {"list": [1, 2], "n": 3, "token":
/// "abc"}`.
#[test]
fn setup_and_teardown_checks_are_grouped_and_setup_data_exported() {
    let dir = TempDir::new("js-lifecycle-groups");
    write_files(&dir, &[("script.js", LIFECYCLE)]);
    let r = run_in(&dir, &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    let s = r.summary.as_ref().expect("an export");
    let root = &s["root_group"];
    assert_eq!(root["checks"]["data arrived"]["passes"], 2, "{s:#}");
    let setup = &root["groups"]["setup"];
    assert_eq!(setup["path"], "::setup");
    assert_eq!(setup["checks"]["setup ran"]["passes"], 1, "{s:#}");
    assert_eq!(setup["checks"]["setup ran"]["path"], "::setup::setup ran");
    let prepare = &setup["groups"]["prepare"];
    assert_eq!(
        prepare["checks"]["prepared"]["path"],
        "::setup::prepare::prepared"
    );
    let teardown = &root["groups"]["teardown"];
    assert_eq!(
        teardown["checks"]["teardown sees data"]["passes"], 1,
        "{s:#}"
    );
    assert!(root["checks"].get("setup ran").is_none(), "not at the root");
    assert_eq!(
        s["setup_data"],
        serde_json::json!({"token": "abc", "n": 3, "list": [1, 2]})
    );
    assert_eq!(r.metric("checks", "passes"), 5.0);
}

/// Without setup(), k6 exports no `setup_data`; nor when setup() returns nothing, and the
/// iterations and teardown() then get `undefined` (k6 v2.2: both checks pass).
#[test]
fn no_setup_no_setup_data() {
    let dir = TempDir::new("js-no-setup");
    write_files(&dir, &[("script.js", "export default function () {}\n")]);
    let r = run_in(&dir, &["-q", "-i", "1"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.summary.as_ref().unwrap().get("setup_data").is_none());
    let script = r#"
import { check } from 'k6';
export function setup() {}
export default function (data = { fallback: true }) {
  check(data, { 'the default parameter applies': (d) => d.fallback === true });
}
export function teardown(data) {
  check(data, { 'teardown gets undefined': (d) => d === undefined });
}
"#;
    write_files(&dir, &[("script.js", script)]);
    let r = run_in(&dir, &["-q", "-i", "1"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 2.0, "{}", r.output());
    assert!(r.summary.as_ref().unwrap().get("setup_data").is_none());
}

const HANDLE_SUMMARY: &str = r#"
import http from 'k6/http';
import { check, group } from 'k6';
import { Trend } from 'k6/metrics';
const sizes = new Trend('sizes');
export const options = {
  iterations: 3,
  thresholds: { http_reqs: ['count==3'], 'sizes': ['max<100'], checks: ['rate>0.9'] },
};
export function setup() { return { who: 'setup' }; }
export default function () {
  group('page', () => {
    const res = http.get(`${__ENV.BASE_URL}/`);
    check(res, { 'is 200': (r) => r.status === 200 });
    sizes.add(7);
  });
}
export function handleSummary(data) {
  const bytes = new Uint8Array([0, 1, 2, 255]);
  return {
    stdout: 'MY SUMMARY: ' + data.metrics.http_reqs.values.count + ' requests\n',
    stderr: 'to stderr\n',
    'data.json': JSON.stringify(data),
    'raw.bin': bytes.buffer,
  };
}
"#;

/// k6 v2.2 prints only what handleSummary returns (`MY SUMMARY: 3 requests`), writes the
/// files, and hands it the data checked below (metrics with type, contains, values and
/// thresholds `{ok}`; groups and checks as arrays; options; state; setup_data).
#[test]
fn handle_summary_gets_k6s_data_and_writes_what_it_returns() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("js-handle-summary");
    write_files(&dir, &[("script.js", HANDLE_SUMMARY)]);
    let r = run_in(
        &dir,
        &["-e", &format!("BASE_URL={}", server.url()), "--no-color"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.stdout, "MY SUMMARY: 3 requests\n", "{}", r.output());
    assert!(!r.stdout.contains("TOTAL RESULTS"), "no normal summary");
    assert!(r.stderr.contains("to stderr\n"), "{}", r.output());
    assert_eq!(std::fs::read(dir.path("raw.bin")).unwrap(), [0, 1, 2, 255]);
    let d = read_json(&dir.path("data.json"));
    let reqs = &d["metrics"]["http_reqs"];
    assert_eq!(reqs["type"], "counter");
    assert_eq!(reqs["contains"], "default");
    assert_eq!(reqs["values"]["count"], 3);
    assert!(reqs["values"]["rate"].as_f64().unwrap() > 0.0);
    assert_eq!(reqs["thresholds"]["count==3"]["ok"], true);
    let dur = &d["metrics"]["http_req_duration"];
    assert_eq!(dur["type"], "trend");
    assert_eq!(dur["contains"], "time");
    for stat in ["avg", "min", "med", "max", "p(90)", "p(95)"] {
        assert!(dur["values"][stat].is_number(), "{stat} in {dur}");
    }
    assert_eq!(d["metrics"]["sizes"]["values"]["max"], 7);
    assert_eq!(d["metrics"]["sizes"]["thresholds"]["max<100"]["ok"], true);
    let checks = &d["metrics"]["checks"];
    assert_eq!(checks["type"], "rate");
    assert_eq!(checks["values"]["rate"], 1);
    assert_eq!(checks["values"]["passes"], 3);
    assert_eq!(checks["values"]["fails"], 0);
    let page = &d["root_group"]["groups"][0];
    assert_eq!(page["name"], "page");
    assert_eq!(page["path"], "::page");
    assert_eq!(page["checks"][0]["name"], "is 200");
    assert_eq!(page["checks"][0]["passes"], 3);
    assert_eq!(d["root_group"]["id"], "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(d["options"]["summaryTrendStats"][5], "p(95)");
    assert_eq!(d["options"]["noColor"], true, "--no-color, as k6 shows it");
    // As in k6's data: no metric of the generator's own (no threshold names one here).
    assert!(
        d["metrics"].get("generator_cpu").is_none(),
        "{}",
        d["metrics"]
    );
    assert_eq!(d["state"]["isStdOutTTY"], false);
    assert!(d["state"]["testRunDurationMs"].as_f64().unwrap() > 0.0);
    assert_eq!(d["setup_data"]["who"], "setup");
    // --summary-export keeps working.
    assert_eq!(r.metric("http_reqs", "count"), 3.0);
}

/// As k6: an exception in handleSummary is logged and the normal summary printed; an
/// unusable result is logged and nothing printed.
#[test]
fn a_failing_handle_summary_is_reported_as_k6_does() {
    let dir = TempDir::new("js-handle-summary-throws");
    write_files(
        &dir,
        &[(
            "script.js",
            "export default function () {}\nexport function handleSummary(data) {\n  throw new Error('no summary today');\n}\n",
        )],
    );
    let r = run_in(&dir, &["-i", "1"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.stderr.contains("no summary today"), "{}", r.output());
    assert!(r.stderr.contains("script.js:3"), "where: {}", r.output());
    assert!(r.stdout.contains("TOTAL RESULTS"), "{}", r.output());

    write_files(
        &dir,
        &[(
            "script.js",
            "export default function () {}\nexport function handleSummary() { return { stdout: 42 }; }\n",
        )],
    );
    let r = run_in(&dir, &["-i", "1"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        r.stderr
            .contains("error handling summary object stdout: invalid type"),
        "{}",
        r.output()
    );
    assert!(!r.stdout.contains("TOTAL RESULTS"), "{}", r.output());

    // handleSummaryTimeout bounds it.
    write_files(
        &dir,
        &[(
            "script.js",
            "export const options = { handleSummaryTimeout: '1s' };\nexport default function () {}\nexport function handleSummary() { for (;;) {} }\n",
        )],
    );
    let r = run_in(&dir, &["-i", "1"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        r.stderr.contains("handleSummaryTimeout (1s)"),
        "{}",
        r.output()
    );
    assert!(r.elapsed.as_secs() < 30, "{:?}", r.elapsed);
}

const TEXT_SUMMARY: &str = r#"
import { check, group } from 'k6';
import { Counter } from 'k6/metrics';
import { textSummary, jUnit, humanizeValue } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js';
import old from 'https://jslib.k6.io/k6-summary/0.0.1/index.js';
const things = new Counter('things');
export const options = { iterations: 4, thresholds: { things: ['count==4', 'count>100'] } };
export function setup() { check(true, { 'setup check': (v) => v }); }
export default function () {
  things.add(1);
  group('work', () => { check(__ITER, { 'even': (i) => i % 2 === 0 }); });
}
export function handleSummary(data) {
  return {
    stdout: textSummary(data, { indent: ' ', enableColors: false }),
    'junit.xml': jUnit(data),
    'human.txt': [
      humanizeValue(1234.5, { type: 'trend', contains: 'time' }, ''),
      humanizeValue(0.5, { type: 'rate', contains: 'default' }, ''),
      humanizeValue(2048, { type: 'counter', contains: 'data' }, ''),
      old.humanizeValue(12, { type: 'trend', contains: 'time' }, 'us'),
    ].join(' '),
  };
}
"#;

/// The text is k6's classic summary, as jslib's textSummary writes it: groups with `█`,
/// checks with ✓/✗ and their share, then every metric with dots to a column.
#[test]
fn jslib_k6_summary_is_served_by_the_engine() {
    let dir = TempDir::new("js-jslib-summary");
    write_files(&dir, &[("script.js", TEXT_SUMMARY)]);
    let r = run_in(&dir, &[]);
    assert_eq!(r.code, 99, "count>100 fails: {}", r.output());
    let out = &r.stdout;
    assert!(
        out.contains("     █ setup\n\n       ✓ setup check\n"),
        "{out}"
    );
    assert!(
        out.contains("     █ work\n\n       ✗ even\n        ↳  50% — ✓ 2 / ✗ 2\n"),
        "{out}"
    );
    let things = out
        .lines()
        .find(|l| l.starts_with("   ✗ things."))
        .expect(out);
    assert!(things.contains(".: 4 "), "{things}");
    let checks = out
        .lines()
        .find(|l| l.starts_with("     checks."))
        .expect(out);
    assert!(
        checks.contains(": 60.00% ") && checks.contains(" ✓ 3 ") && checks.contains(" ✗ 2"),
        "{checks}"
    );
    assert!(!out.contains('\x1b'), "no colours: {out}");
    let junit = std::fs::read_to_string(dir.path("junit.xml")).unwrap();
    assert!(
        junit.starts_with("<?xml version=\"1.0\"?>\n<testsuites tests=\"2\" failures=\"1\">"),
        "{junit}"
    );
    assert!(
        junit.contains("<testcase name=\"things - count==4\" />"),
        "{junit}"
    );
    assert!(
        junit.contains(
            "<testcase name=\"things - count&gt;100\"><failure message=\"failed\" /></testcase>"
        ),
        "{junit}"
    );
    let human = std::fs::read_to_string(dir.path("human.txt")).unwrap();
    assert_eq!(human, "1.23s 50.00% 2.0 kB 12000.00µs");
}
