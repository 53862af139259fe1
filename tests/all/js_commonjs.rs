//! CommonJS files in k6 scripts (issue 14): the jslib bundles and npm builds that fill
//! `module.exports` — imported by name or as a default, loading others with `require` — and
//! k6's global `require`, each script run by stampede and, where k6 is at hand, by k6: both
//! must count the same checks.

use crate::js_engine::{run_js, write_files};
use crate::js_modules::assert_checks;
use crate::support::TempDir;

/// A UMD bundle, as webpack writes a library for browsers, Node and k6 alike.
const UMD: &str = r#"!function (root, factory) {
  if (typeof exports === 'object' && typeof module === 'object') module.exports = factory();
  else if (typeof define === 'function' && define.amd) define([], factory);
  else root.tools = factory();
}(this, function () {
  function between(lo, hi) { return Math.max(lo, Math.min(hi, lo)); }
  return { between: between, version: '1.2.3', 'not-a-name': true };
});
"#;

/// A file that fills `exports` and `require`s a built-in module and a file of its own.
const HELPERS: &str = r#"'use strict';
const { check } = require('k6');
const tools = require('./tools.js');
const esm = require('./esm.js');
exports.double = (n) => n * 2;
exports.checkBetween = (v) => check(v, { 'between keeps the low end': (x) => tools.between(x, 9) === x });
exports.fromEsm = esm.answer;
"#;

/// A bundle that is handed `exports` as an argument, as some build tools write them.
const HANDED: &str = r#"(function (target) {
  target.greet = function (name) { return 'hello ' + name; };
})(exports);
"#;

const ESM: &str = "export const answer = 42;\n";

const SCRIPT: &str = r#"
import tools, { between, version } from './tools.js';
import { double, checkBetween, fromEsm } from './helpers.js';
import * as handed from './handed.js';
import { check } from 'k6';

const http = require('k6/http');
const again = require('./helpers.js');

export const options = { iterations: 2 };

export default function () {
  checkBetween(3);
  check(null, {
    'named and default imports': () => between(1, 5) === 1 && tools.version === version && version === '1.2.3',
    'a property that is no name stays on the default': () => tools['not-a-name'] === true,
    'exports filled by a function': () => double(21) === 42 && fromEsm === 42,
    'require gives the same exports': () => again.double === double,
    'a bundle handed exports': () => handed.greet('k6') === 'hello k6',
    'require of a built-in module': () => typeof http.get === 'function',
  });
}
"#;

#[test]
fn commonjs_files_are_imported_and_required_as_in_k6() {
    let dir = TempDir::new("js-commonjs");
    write_files(
        &dir,
        &[
            ("script.js", SCRIPT),
            ("tools.js", UMD),
            ("helpers.js", HELPERS),
            ("handed.js", HANDED),
            ("esm.js", ESM),
        ],
    );
    let script = dir.path("script.js");
    let r = run_js(&script, &["-q"]);
    // Seven checks an iteration, two iterations.
    assert_checks(&r, 14.0, &script, &[]);
}

/// The test's script itself in CommonJS, as k6 scripts were written before ES modules.
const CJS_SCRIPT: &str = r#"
var k6 = require('k6');
exports.options = { iterations: 3 };
exports.default = function () {
  k6.check(1, { 'a CommonJS script runs its default function': function (x) { return x === 1; } });
};
"#;

#[test]
fn a_commonjs_script_runs_as_in_k6() {
    let dir = TempDir::new("js-commonjs");
    write_files(&dir, &[("script.js", CJS_SCRIPT)]);
    let script = dir.path("script.js");
    let r = run_js(&script, &["-q"]);
    assert_checks(&r, 3.0, &script, &[]);
}

/// An error thrown while a CommonJS file loads names the file and its line.
#[test]
fn an_error_in_a_commonjs_file_names_its_line() {
    let dir = TempDir::new("js-commonjs");
    let broken = "exports.a = 1;\nthrow new Error('broken on purpose');\n";
    write_files(
        &dir,
        &[
            (
                "script.js",
                "import { a } from './broken.js';\nexport default function () {}\n",
            ),
            ("broken.js", broken),
        ],
    );
    let r = run_js(&dir.path("script.js"), &["-q"]);
    assert_eq!(r.code, 107, "{}", r.output());
    assert!(r.stderr.contains("broken on purpose"), "{}", r.output());
    assert!(r.stderr.contains("broken.js:2"), "{}", r.output());
}

/// What minified bundles for Node lean on, as jslib's k6chaijs and aws are built: a `//` inside
/// a regular expression on the bundle's one line, and the global object named `global`. And
/// what k6 refuses of `async` functions, refused alike (k6's messages).
const NODE_STYLE_SCRIPT: &str = r#"
import { check, group } from 'k6';
import { SharedArray } from 'k6/data';
import { strip, hasGlobal } from './min.js';

function refusal(f) {
  try { f(); return ''; } catch (e) { return String(e); }
}
const asyncArray = refusal(() => new SharedArray('later', async () => [1]));

export const options = { iterations: 2 };

export default function () {
  const asyncGroup = refusal(() => group('g', async () => {}));
  const asyncCheck = refusal(() => check(1, { 'never recorded': async () => true }));
  check(null, {
    'a regex with // does not hide module.exports': () => strip('https://a.test/x') === 'a.test/x',
    'global is the global object': () => hasGlobal(),
    'async SharedArray refused': () => asyncArray.includes('does not support async functions'),
    'async group refused': () => asyncGroup.includes('group() does not support async functions'),
    'async check refused': () => asyncCheck.includes('check() does not support async functions'),
  });
}
"#;

#[test]
fn node_style_bundles_load_and_async_callbacks_are_refused_as_in_k6() {
    let dir = TempDir::new("js-commonjs");
    let min = "var strip=function(u){return u.replace(/^https?:\\/\\//,\"\")};\
               module.exports={strip:strip,hasGlobal:function(){return global===globalThis}};\n";
    write_files(&dir, &[("script.js", NODE_STYLE_SCRIPT), ("min.js", min)]);
    let script = dir.path("script.js");
    let r = run_js(&script, &["-q"]);
    assert_checks(&r, 10.0, &script, &[]);
}
