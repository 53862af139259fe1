//! JavaScript scripts on stampede's engine (QuickJS in a component, the script loaded as data):
//! k6 scripts run unchanged against real servers, modules import each other, and the engine is
//! prepared once and cached.

use std::path::{Path, PathBuf};

use crate::guests::target_dir;
use crate::support::{run_command, runtime, stampede, target, RunResult, TempDir};

/// The cache the JavaScript tests share: the engine is prepared once per test run.
pub fn js_cache() -> PathBuf {
    target_dir().join("js-test-cache")
}

/// Writes `files` (path relative to `dir`, contents) into `dir`.
pub fn write_files(dir: &TempDir, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Runs `script` (as `script.js` in a new folder named after `name`) with `args` and checks
/// that it exits 0 with every check passing, `passes` of them.
pub fn checks_pass(name: &str, script: &str, args: &[&str], passes: f64) -> RunResult {
    let dir = TempDir::new(name);
    write_files(&dir, &[("script.js", script)]);
    let r = run_js(&dir.path("script.js"), args);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), passes, "{}", r.output());
    r
}

/// Runs `stampede run SCRIPT ARGS… --summary-export` with the tests' JavaScript cache.
pub fn run_js(script: &Path, args: &[&str]) -> RunResult {
    run_js_with_cache(script, args, &js_cache())
}

/// `run_js` with a cache directory of its own.
pub fn run_js_with_cache(script: &Path, args: &[&str], cache: &Path) -> RunResult {
    let out = TempDir::new("js-run");
    let export = out.path("summary.json");
    let mut cmd = stampede();
    cmd.env("STAMPEDE_CACHE_DIR", cache)
        .arg("run")
        .arg(script)
        .args(args)
        .arg("--summary-export")
        .arg(&export);
    run_command(cmd, Some(&export))
}

const K6_SCRIPT: &str = r#"
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import { itemName } from './lib/items.js';

const orders = new Counter('orders');
const echoTime = new Trend('echo_time', true);

export const options = {
  vus: 2,
  iterations: 6,
  thresholds: { checks: ['rate==1'], orders: ['count==6'], 'http_req_duration{name:echo}': ['max>0'] },
};

export function setup() {
  const res = http.get(`${__ENV.BASE_URL}/get`);
  return { token: 't0k3n', status: res.status };
}

export default function (data) {
  group('order', () => {
    const res = http.post(`${__ENV.BASE_URL}/post`, JSON.stringify({ item: itemName(exec.vu.idInTest) }), {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${data.token}` },
      tags: { name: 'echo' },
    });
    check(res, {
      'status is 200': (r) => r.status === 200,
      'echoed': (r) => r.json().item === `item-${__VU}`,
      'setup data arrived': () => data.status === 200,
      'content type': (r) => r.headers['Content-Type'] !== undefined,
    });
    echoTime.add(res.timings.duration);
    orders.add(1);
  });
  const [a, b] = http.batch([`${__ENV.BASE_URL}/`, ['GET', `${__ENV.BASE_URL}/status/204`]]);
  check(a, { 'batch 1': (r) => r.body.includes('hello') });
  check(b, { 'batch 2': (r) => r.status === 204 });
  if (__ITER === 0) console.log(`vu ${__VU} in ${exec.scenario.name}`);
  sleep(0.01);
}

export function teardown(data) {
  console.log(`teardown with ${data.token}`);
}
"#;

const ITEMS_JS: &str = r#"
import { sleep } from 'k6';
export function itemName(vu) {
  sleep(0);
  return `item-${vu}`;
}
"#;

#[test]
fn a_k6_script_runs_unchanged() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("js-k6");
    write_files(
        &dir,
        &[("script.js", K6_SCRIPT), ("lib/items.js", ITEMS_JS)],
    );
    let r = run_js(
        &dir.path("script.js"),
        &["-e", &format!("BASE_URL={}", server.url())],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 6.0);
    // setup's GET, then per iteration one POST and a batch of two.
    assert_eq!(r.metric("http_reqs", "count"), 19.0);
    assert_eq!(r.metric("checks", "passes"), 36.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0);
    assert_eq!(r.metric("orders", "count"), 6.0);
    assert!(r.metric("echo_time", "max") > 0.0);
    assert!(r.has_metric("group_duration"));
    assert!(r.stderr.contains("vu 1 in default"), "{}", r.output());
    assert!(r.stderr.contains("teardown with t0k3n"), "{}", r.output());
    assert_eq!(server.stats().requests(), 19);
}

#[test]
fn the_examples_run_on_the_engine() {
    let rt = runtime();
    let server = target(&rt);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = format!("BASE_URL={}", server.url());
    let quick = run_js(
        &root.join("examples/js-quickstart/script.js"),
        &["-e", &base, "-u", "2", "-i", "10", "-q"],
    );
    assert_eq!(quick.code, 0, "{}", quick.output());
    assert_eq!(quick.metric("http_reqs", "count"), 10.0);
    assert_eq!(quick.metric("checks", "passes"), 20.0);
    let fetch = run_js(
        &root.join("examples/js-fetch/script.js"),
        &[
            "-e",
            &base,
            "-q",
            "--threshold",
            "http_reqs{client:fetch}: count==10",
        ],
    );
    assert_eq!(fetch.code, 0, "{}", fetch.output());
    assert_eq!(fetch.metric("http_reqs", "count"), 10.0);
    assert_eq!(fetch.metric("checks", "passes"), 20.0);
    assert_eq!(server.stats().requests(), 20);
}

/// Issue 14: a scenario's `env` must not leak into the next scenario, nor into the init
/// context; `__ENV` lists what it holds. (Each scenario has VUs
/// of its own here, as in k6: the test needs two, since `first` may run until its
/// `maxDuration` and graceful stop, past `second`'s start.)
#[test]
fn each_scenario_sees_its_own_env() {
    let dir = TempDir::new("js-env");
    write_files(
        &dir,
        &[(
            "script.js",
            r#"
import { check } from 'k6';
import exec from 'k6/execution';
export const options = {
  scenarios: {
    first: { executor: 'per-vu-iterations', vus: 1, iterations: 2, env: { COLOR: 'red' } },
    second: { executor: 'per-vu-iterations', vus: 1, iterations: 2, startTime: '500ms', env: { SHAPE: 'square' } },
  },
};
// The init context sees the test's variables only (k6 evaluates it for no scenario).
const initKeys = JSON.stringify(__ENV);
export default function () {
  const first = exec.scenario.name === 'first';
  check(__ENV, {
    'COLOR is the scenario\'s': (e) => e.COLOR === (first ? 'red' : undefined),
    'SHAPE is the scenario\'s': (e) => e.SHAPE === (first ? undefined : 'square'),
    '-e reaches every scenario': (e) => e.GLOBAL === 'yes',
    '__ENV lists them': (e) => JSON.stringify(e) === (first ? '{"COLOR":"red","GLOBAL":"yes"}' : '{"GLOBAL":"yes","SHAPE":"square"}')
      && Object.keys(e).length === 2,
    'the init context saw -e only': () => initKeys === '{"GLOBAL":"yes"}',
  });
}
"#,
        )],
    );
    let r = run_js(
        &dir.path("script.js"),
        &["-e", "GLOBAL=yes", "-q", "--include-system-env-vars=false"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 4.0);
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 20.0);
}

/// Issue 14: the cache depends on the files the script imports, not on its folder.
#[test]
fn files_next_to_the_script_do_not_rebuild_it() {
    let dir = TempDir::new("js-cache");
    let cache = TempDir::new("js-cache-dir");
    write_files(
        &dir,
        &[
            (
                "script.js",
                "import { greet } from './lib.js';\nexport default function () { greet(); }\n",
            ),
            ("lib.js", "export function greet() { console.log('hi'); }\n"),
        ],
    );
    let script = dir.path("script.js");
    let first = run_js_with_cache(&script, &["-q"], &cache.0);
    assert_eq!(first.code, 0, "{}", first.output());
    let entries = |p: &Path| -> Vec<String> {
        let mut v: Vec<String> = walk(p)
            .into_iter()
            .map(|p| p.display().to_string())
            .collect();
        v.sort();
        v
    };
    let before = entries(&cache.0);
    assert!(!before.is_empty(), "the engine is cached");
    // A summary written next to the script, and another script there: neither is imported.
    std::fs::write(dir.path("summary.json"), "{}").unwrap();
    std::fs::write(dir.path("other.js"), "export default function () {}").unwrap();
    let second = run_js_with_cache(&script, &["-q"], &cache.0);
    assert_eq!(second.code, 0, "{}", second.output());
    assert_eq!(entries(&cache.0), before, "nothing new was built");
    assert!(
        second.elapsed < std::time::Duration::from_secs(5),
        "cached start: {:?}",
        second.elapsed
    );
    // An imported file that changes is seen at once.
    std::fs::write(
        dir.path("lib.js"),
        "export function greet() { console.log('hello again'); }\n",
    )
    .unwrap();
    let third = run_js_with_cache(&script, &[], &cache.0);
    assert_eq!(third.code, 0, "{}", third.output());
    assert!(third.stderr.contains("hello again"), "{}", third.output());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `k6/execution`'s numbers in the test come from the host (`context.ids`): on a test that is
/// not split into execution segments they equal those in the instance.
#[test]
fn execution_numbers_in_the_test_match_the_instance_when_not_split() {
    let dir = TempDir::new("js-ids");
    write_files(
        &dir,
        &[(
            "script.js",
            r#"
import { check } from 'k6';
import exec from 'k6/execution';
export const options = { vus: 2, iterations: 6 };
const seen = [];
export default function () {
  seen.push(exec.scenario.iterationInTest);
  check(exec, {
    'idInTest is __VU': (e) => e.vu.idInTest === __VU && e.vu.idInInstance === __VU,
    'iterationInTest is iterationInInstance': (e) => e.scenario.iterationInTest === e.scenario.iterationInInstance,
    'iterationInTest is below 6': (e) => e.scenario.iterationInTest >= 0 && e.scenario.iterationInTest < 6,
    'never seen twice by this VU': () => new Set(seen).size === seen.length,
  });
}
"#,
        )],
    );
    let r = run_js(&dir.path("script.js"), &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 24.0, "{}", r.output());
}

/// VUs are lent to scenarios as k6 lends them: the one idle longest first. Scenario `a` ends
/// before `b` starts, but the test needs two VUs (a's `maxDuration` overlaps b's start): k6
/// v2.2 runs `a` on VU 1 and `b` on VU 2 (three runs of this script; stampede ran both on VU 2
/// before). k6 makes larger pools in parallel, so their order is not fixed there.
#[test]
fn vus_move_between_scenarios_with_the_numbers_k6_gives_them() {
    checks_pass(
        "js-vu-order",
        r#"
import { check } from 'k6';
import exec from 'k6/execution';
export const options = {
  scenarios: {
    a: { executor: 'shared-iterations', vus: 1, iterations: 1, exec: 'a' },
    b: { executor: 'shared-iterations', vus: 1, iterations: 1, exec: 'b', startTime: '500ms' },
  },
};
export function a() { check(__VU, { 'a on VU 1': (v) => v === 1 && exec.vu.idInInstance === 1 }); }
export function b() { check(__VU, { 'b on VU 2': (v) => v === 2 && exec.vu.idInInstance === 2 }); }
"#,
        &["-q"],
        2.0,
    );
}

/// `exec.test.options` is k6's view of the options: shortcuts made into the `default`
/// scenario (and gone from the top), k6's defaults filled in, `null` for what nothing set,
/// durations in Go's form — the values k6 v2.2 gives for this script.
#[test]
fn test_options_read_as_in_k6() {
    checks_pass(
        "js-test-options",
        r#"
import { check } from 'k6';
import exec from 'k6/execution';
export const options = { vus: 2, iterations: 2, duration: '90s', thresholds: { checks: ['rate>0.5'] } };
export default function () {
  const o = exec.test.options;
  check(o, {
    'shortcuts are gone': (o) => !('vus' in o) && !('duration' in o) && !('iterations' in o),
    'default scenario': (o) => JSON.stringify(o.scenarios.default) ===
      '{"executor":"shared-iterations","startTime":null,"gracefulStop":null,"env":null,"exec":null,"tags":null,"vus":2,"iterations":2,"maxDuration":"1m30s"}',
    'defaults filled': (o) => o.summaryTrendStats.join() === 'avg,min,med,max,p(90),p(95)' &&
      o.systemTags.length === 14 && o.setupTimeout === null && o.dns.ttl === null,
    'thresholds as written': (o) => JSON.stringify(o.thresholds) === '{"checks":["rate>0.5"]}',
  });
}
"#,
        &["-q"],
        8.0,
    );
}

/// Scenarios call their `exec` function (an index into the script's entry points, whatever
/// the order of its exports), and each VU decodes the setup data once: what an iteration
/// changes in it, the VU's next iteration sees; teardown gets setup's data as it was.
/// k6 v2.2.0 on this script: exit 0; zeta_calls 3, alpha_calls 4, no default_calls;
/// zeta_seen min 1 max 3 value 3; alpha_seen min 10 max 40 value 40.
#[test]
fn exec_picks_its_function_and_each_vu_keeps_its_setup_data() {
    let dir = TempDir::new("js-entries");
    write_files(&dir, &[("entries.js", ENTRIES_SCRIPT)]);
    let r = run_js(&dir.path("entries.js"), &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("zeta_calls", "count"), 3.0, "{}", r.output());
    assert_eq!(r.metric("alpha_calls", "count"), 4.0, "{}", r.output());
    let summary = r.summary.as_ref().unwrap();
    assert!(
        summary["metrics"].get("default_calls").is_none(),
        "{}",
        r.output()
    );
    for (gauge, min, max) in [("zeta_seen", 1.0, 3.0), ("alpha_seen", 10.0, 40.0)] {
        assert_eq!(r.metric(gauge, "min"), min, "{gauge}: {}", r.output());
        assert_eq!(r.metric(gauge, "max"), max, "{gauge}: {}", r.output());
        assert_eq!(r.metric(gauge, "value"), max, "{gauge}: {}", r.output());
    }
}

const ENTRIES_SCRIPT: &str = r#"import { Counter, Gauge } from 'k6/metrics';

const zetaCalls = new Counter('zeta_calls');
const alphaCalls = new Counter('alpha_calls');
const defaultCalls = new Counter('default_calls');
const zetaSeen = new Gauge('zeta_seen');
const alphaSeen = new Gauge('alpha_seen');

export const options = {
  scenarios: {
    z: { executor: 'per-vu-iterations', vus: 1, iterations: 3, exec: 'zeta' },
    a: { executor: 'per-vu-iterations', vus: 1, iterations: 4, exec: 'alpha' },
  },
};

export function setup() {
  return { z: 0, a: 0 };
}

// Exported out of alphabetical order, with `default` between them.
export function zeta(data) {
  data.z += 1;
  zetaCalls.add(1);
  zetaSeen.add(data.z);
}

export default function (data) {
  defaultCalls.add(1);
}

export function alpha(data) {
  data.a += 10;
  alphaCalls.add(1);
  alphaSeen.add(data.a);
}

export function teardown(data) {
  if (data.z !== 0 || data.a !== 0) throw new Error(`teardown saw ${JSON.stringify(data)}`);
}
"#;

/// `stampede kubernetes render script.js` ships the script's source (the pods' stampede carries
/// the engine), not the engine component without the script.
#[test]
fn a_javascript_script_renders_for_kubernetes_as_its_source() {
    let dir = TempDir::new("js-k8s");
    write_files(
        &dir,
        &[(
            "checkout.js",
            "export default function () { console.log('checkout-marker'); }\n",
        )],
    );
    let mut cmd = stampede();
    cmd.env("STAMPEDE_CACHE_DIR", js_cache())
        .args(["kubernetes", "render"])
        .arg(dir.path("checkout.js"))
        .args(["--instances", "2", "--", "-i", "4"]);
    let r = run_command(cmd, None);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.stdout.contains("checkout.js:"), "{}", r.stdout);
    assert!(r.stdout.contains("checkout-marker"), "{}", r.stdout);
    assert!(r.stdout.contains("\"/script/checkout.js\""), "{}", r.stdout);
    assert!(!r.stdout.contains(".wasm.gz"), "{}", r.stdout);
}

/// As in k6: `setup()` and `teardown()` run as VU 0 (`__VU`, `exec.vu.idInTest`), the
/// iterations on VUs from 1; `exec.vu.tags.group` is the group the VU is in; and a check whose
/// function throws counts as failed before the exception goes on. k6 v2.2 counts the same
/// checks.
#[test]
fn setup_runs_as_vu_0_and_a_throwing_check_fails() {
    let dir = TempDir::new("js-vu0");
    let script = r#"
import exec from 'k6/execution';
import { check, group } from 'k6';
export const options = { vus: 2, iterations: 4 };
export function setup() { check(null, { 'setup is VU 0': () => __VU === 0 && exec.vu.idInTest === 0 }); }
export default function () {
  check(null, { 'iterations are VUs 1 and 2': () => __VU >= 1 && __VU <= 2 });
  check(exec.vu.tags, { 'the group tag is empty outside any': (t) => t.group === '' });
  group('named', () => check(exec.vu.tags, { 'and the group inside one': (t) => t.group === '::named' }));
  try {
    check(null, { 'a check that throws': () => { throw new Error('on purpose'); } });
  } catch (e) {
    check(e, { 'its exception goes on': (x) => x.message === 'on purpose' });
  }
}
export function teardown() { check(null, { 'teardown is VU 0': () => __VU === 0 && exec.vu.idInTest === 0 }); }
"#;
    write_files(&dir, &[("script.js", script)]);
    let path = dir.path("script.js");
    let r = run_js(&path, &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    // 2 from setup and teardown, 4 passing per iteration; the throwing one fails each time.
    assert_eq!(r.metric("checks", "passes"), 18.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 4.0, "{}", r.output());
    if let Some(k6) = crate::js_modules::k6_checks(&path, &[]) {
        assert_eq!(k6, (18.0, 4.0), "k6 counts the checks alike");
    }
}

/// The snapshot's objects are immortal to the VUs (their counts are never written, the
/// collector never visits them: src/quickjs_patch.rs). A script that changes built-ins, grows
/// their strings and makes garbage in cycles through them, past several collections, in
/// several VUs: nothing of the snapshot may change under another VU, or be freed.
const SNAPSHOT_SCRIPT: &str = r#"
import http from 'k6/http';
import { check } from 'k6';
import encoding from 'k6/encoding';

export const options = { vus: 3, iterations: 12 };

export default function () {
  const name = http.get.name;
  let grown = name;
  for (let i = 0; i < 40; i++) grown += 'x';
  const tag = String(__VU);
  const own = tag + name;
  check(grown, {
    'a built-in string grows as a copy': (g) => g.length === name.length + 40 && http.get.name === name && name === 'get',
    'a string made from one is its own': () => own === `${__VU}get`,
  });

  for (let i = 0; i < 24; i++) JSON[`p${__VU}_${i}`] = i;
  for (let i = 0; i < 24; i++) delete JSON[`p${__VU}_${i}`];
  Math.back = { math: Math };
  delete Math.back;
  check(JSON, {
    'a built-in object loses what it was given': (j) => Object.getOwnPropertyNames(j).join() === 'isRawJSON,parse,rawJSON,stringify',
  });

  let seen = 0;
  const weak = new WeakMap([[JSON, 1], [http, 2]]);
  for (let i = 0; i < 30000; i++) {
    const a = { get: http.get, enc: encoding.b64encode, list: [JSON, Math, name] };
    const b = { a, i };
    a.b = b;
    seen += a.list.length;
  }
  check(seen, {
    'built-ins work after the collections': (n) => n === 90000
      && encoding.b64encode('hi') === 'aGk='
      && JSON.stringify({ a: [1, 'x'] }) === '{"a":[1,"x"]}'
      && typeof http.get === 'function' && http.get.name === 'get'
      && weak.get(JSON) === 1 && weak.get(http) === 2
      && Object.keys(Math).length === 0,
  });
}
"#;

#[test]
fn vus_change_built_ins_without_changing_them_for_others() {
    checks_pass("js-snapshot", SNAPSHOT_SCRIPT, &[], 4.0 * 12.0);
}
