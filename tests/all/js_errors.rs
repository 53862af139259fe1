//! JavaScript scripts that go wrong: each error names the user's file and line or the missing
//! module; a script that allocates without bound or spins is contained, counted, and the test
//! goes on.

use std::time::Duration;

use crate::js_engine::{run_js, write_files};
use crate::support::{runtime, target, TempDir};

/// Exit code for an exception in the init context, setup or teardown (k6's).
const SCRIPT_EXCEPTION: i32 = 107;

/// Writes `text` as the folder's `script.js` and returns its path.
pub fn script(dir: &TempDir, text: &str) -> std::path::PathBuf {
    write_files(dir, &[("script.js", text)]);
    dir.path("script.js")
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    let dir = TempDir::new("js-syntax");
    let path = script(
        &dir,
        "import http from 'k6/http';\n\nexport default function () {\n  const x = ;\n}\n",
    );
    let r = run_js(&path, &["-q"]);
    assert_eq!(r.code, SCRIPT_EXCEPTION, "{}", r.output());
    assert!(r.stderr.contains("SyntaxError"), "{}", r.output());
    assert!(
        r.stderr.contains("script.js:4"),
        "names line 4: {}",
        r.output()
    );
    // The engine stops after saying why; that stop is not shown as a trap of its own.
    assert!(
        r.stderr.contains("the script stopped on the error above"),
        "{}",
        r.output()
    );
    assert!(!r.stderr.contains("wasm backtrace"), "{}", r.output());
}

#[test]
fn an_exception_in_an_iteration_is_counted_with_its_line() {
    let dir = TempDir::new("js-throw");
    let path = script(
        &dir,
        "export const options = { vus: 1, iterations: 4 };\n\
         function inner() {\n  throw new Error('boom on purpose');\n}\n\
         export default function () {\n  if (__ITER % 2 === 1) inner();\n}\n",
    );
    let r = run_js(&path, &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 4.0);
    assert_eq!(r.metric("iteration_errors", "count"), 2.0);
    assert!(
        r.stderr.contains("Error: boom on purpose"),
        "{}",
        r.output()
    );
    assert!(
        r.stderr.contains("script.js:3"),
        "names the line: {}",
        r.output()
    );
}

#[test]
fn an_exception_in_setup_fails_the_test() {
    let dir = TempDir::new("js-setup-throw");
    let path = script(
        &dir,
        "export function setup() {\n  null.x;\n}\nexport default function () {}\n",
    );
    let r = run_js(&path, &["-q"]);
    assert_eq!(r.code, SCRIPT_EXCEPTION, "{}", r.output());
    assert!(r.stderr.contains("TypeError"), "{}", r.output());
    assert!(r.stderr.contains("script.js:2"), "{}", r.output());
}

#[test]
fn a_missing_module_is_named() {
    let dir = TempDir::new("js-missing");
    let path = script(
        &dir,
        "import { helper } from './lib/helpers.js';\nexport default function () { helper(); }\n",
    );
    let r = run_js(&path, &["-q"]);
    assert_eq!(r.code, SCRIPT_EXCEPTION, "{}", r.output());
    assert!(r.stderr.contains("lib/helpers.js"), "{}", r.output());
    assert!(r.stderr.contains("no such file"), "{}", r.output());

    let k6 = script(
        &dir,
        "import nope from 'k6/nope';\nexport default function () {}\n",
    );
    let r = run_js(&k6, &["-q"]);
    assert_eq!(r.code, SCRIPT_EXCEPTION, "{}", r.output());
    assert!(r.stderr.contains("'k6/nope'"), "{}", r.output());
}

#[test]
fn unbounded_allocation_hits_the_memory_limit_and_is_counted() {
    let dir = TempDir::new("js-oom");
    let path = script(
        &dir,
        "export const options = { vus: 1, iterations: 3 };\n\
         export default function () {\n  const hoard = [];\n  for (;;) hoard.push('x'.repeat(1 << 16) + hoard.length);\n}\n",
    );
    let r = run_js(&path, &["-q", "--vu-memory-limit", "32"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 3.0);
    assert_eq!(r.metric("iteration_errors", "count"), 3.0, "{}", r.output());
    assert!(
        r.stderr.contains("out of memory") || r.stderr.contains("memory"),
        "{}",
        r.output()
    );
}

/// A script may recurse thousands deep (k6 goes deeper still: its stack grows on the Go heap);
/// past stampede's bound the iteration fails with an explanation, counted, and the VU goes on
/// with the next one.
#[test]
fn deep_recursion_works_and_too_deep_is_an_explained_iteration_error() {
    let dir = TempDir::new("js-recursion");
    let path = script(
        &dir,
        "import { check } from 'k6';
         export const options = { vus: 1, iterations: 3 };
         function f(n) { return n === 0 ? 0 : 1 + f(n - 1); }
         export default function () {
           check(f(5000), { 'recursed 5,000 deep': (d) => d === 5000 });
           if (__ITER === 1) f(1000000);
         }
",
    );
    let r = run_js(&path, &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 3.0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 3.0, "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 1.0, "{}", r.output());
    assert!(r.stderr.contains("recursion too deep"), "{}", r.output());
}

#[test]
fn a_spinning_script_is_preempted() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("js-spin");
    let path = script(
        &dir,
        r#"
import http from 'k6/http';
import exec from 'k6/execution';
export const options = {
  scenarios: {
    spin: { executor: 'constant-vus', vus: 1, duration: '1s', gracefulStop: '200ms', exec: 'spin' },
    work: { executor: 'constant-vus', vus: 1, duration: '1s', exec: 'work' },
  },
};
export function spin() { for (;;) {} }
export function work() { http.get(`${__ENV.BASE_URL}/`); }
"#,
    );
    // The engine is prepared first (on a cold cache that takes seconds): the time limit below
    // is about the spinning VU, not about preparing the engine.
    let warm_dir = TempDir::new("js-warm");
    let warm = script(&warm_dir, "export default function () {}\n");
    assert_eq!(run_js(&warm, &["-q"]).code, 0);
    let r = run_js(&path, &["-e", &format!("BASE_URL={}", server.url()), "-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        r.elapsed < Duration::from_secs(15),
        "the spinning VU was stopped: {:?}",
        r.elapsed
    );
    assert!(
        r.metric("http_reqs", "count") > 10.0,
        "the other VU kept working: {}",
        r.output()
    );
}
