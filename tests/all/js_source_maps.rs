//! Bundled scripts with source maps: an error's stack names the files the user wrote, not the
//! bundle, as in k6 (which reads a `//# sourceMappingURL=` comment's inline `data:` map or the
//! file it names, and warns and goes on when the map cannot be used).
//!
//! The bundle and its map are made here: two source files (`src/lib.js`, `src/main.js`) put
//! one after the other, and a map written by hand (each bundle line to its original line).

use base64::Engine as _;

use crate::js_engine::{run_js, write_files};
use crate::support::TempDir;

/// What a bundler makes of `src/lib.js` and `src/main.js` (1-based lines):
///
/// | bundle | original        |
/// |--------|-----------------|
/// | 2–4    | src/lib.js 10–12 |
/// | 5      | src/main.js 3   |
/// | 6–8    | src/main.js 20–22 |
const BUNDLE: &str = "// bundled from src/lib.js and src/main.js\n\
function fail(what) {\n\
  throw new Error('failed: ' + what);\n\
}\n\
export const options = { vus: 1, iterations: 2 };\n\
export default function () {\n\
  fail('iteration ' + __ITER);\n\
}\n";

/// The source map of [`BUNDLE`]: each line's first column to the original line's, with
/// `sources` relative to the map (in `dist/`).
fn bundle_map() -> String {
    // (bundle line, source index, original line, column), all 0-based.
    let lines: [(u32, i64, i64, i64); 7] = [
        (1, 0, 9, 0),
        (2, 0, 10, 2),
        (3, 0, 11, 0),
        (4, 1, 2, 0),
        (5, 1, 19, 0),
        (6, 1, 20, 2),
        (7, 1, 21, 0),
    ];
    let mut mappings = String::new();
    let (mut source, mut line, mut col, mut at) = (0i64, 0i64, 0i64, 0u32);
    for (gen, src, orig, column) in lines {
        while at < gen {
            mappings.push(';');
            at += 1;
        }
        // Each segment: generated column (from 0 on each line), source, line, column as
        // deltas from the previous segment's.
        for value in [column, src - source, orig - line, column - col] {
            vlq(&mut mappings, value);
        }
        (source, line, col) = (src, orig, column);
    }
    format!(
        r#"{{"version":3,"file":"bundle.js","sources":["../src/lib.js","../src/main.js"],"names":[],"mappings":"{mappings}"}}"#
    )
}

/// Appends `value` in the base64 VLQ of source maps.
fn vlq(out: &mut String, value: i64) {
    const DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut v = if value < 0 {
        ((-value) << 1) | 1
    } else {
        value << 1
    };
    loop {
        let mut digit = v & 31;
        v >>= 5;
        if v > 0 {
            digit |= 32;
        }
        out.push(DIGITS[digit as usize] as char);
        if v == 0 {
            break;
        }
    }
}

/// Runs `dist/bundle.js` and checks that its errors name the original files' lines.
fn assert_mapped(dir: &TempDir) {
    let r = run_js(&dir.path("dist/bundle.js"), &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 2.0, "{}", r.output());
    assert!(
        r.stderr.contains("Error: failed: iteration 0"),
        "{}",
        r.output()
    );
    let lib = dir.path("src/lib.js").display().to_string();
    let main = dir.path("src/main.js").display().to_string();
    assert!(
        r.stderr.contains(&format!("{lib}:11:")),
        "the throw is line 11 of src/lib.js: {}",
        r.output()
    );
    assert!(
        r.stderr.contains(&format!("{main}:21:")),
        "the call is line 21 of src/main.js: {}",
        r.output()
    );
    assert!(!r.stderr.contains("bundle.js:3:"), "{}", r.output());
}

#[test]
fn an_inline_source_map_names_the_original_files() {
    let dir = TempDir::new("js-map-inline");
    let encoded = base64::engine::general_purpose::STANDARD.encode(bundle_map());
    let bundle = format!("{BUNDLE}//# sourceMappingURL=data:application/json;base64,{encoded}\n");
    write_files(&dir, &[("dist/bundle.js", &bundle)]);
    assert_mapped(&dir);
}

#[test]
fn a_source_map_file_next_to_the_bundle_names_the_original_files() {
    let dir = TempDir::new("js-map-file");
    let bundle = format!("{BUNDLE}//# sourceMappingURL=bundle.js.map\n");
    write_files(
        &dir,
        &[
            ("dist/bundle.js", &bundle),
            ("dist/bundle.js.map", &bundle_map()),
        ],
    );
    assert_mapped(&dir);
}

#[test]
fn a_broken_source_map_is_a_warning_and_the_bundle_runs() {
    // k6: "Couldn't load source map for file:///…/bundle.js" and the test goes on.
    let dir = TempDir::new("js-map-broken");
    let bundle = format!("{BUNDLE}//# sourceMappingURL=missing.js.map\n");
    write_files(&dir, &[("dist/bundle.js", &bundle)]);
    let r = run_js(&dir.path("dist/bundle.js"), &["-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 2.0, "{}", r.output());
    assert_eq!(
        r.stderr.matches("cannot use the source map").count(),
        1,
        "warned once, not once per VU: {}",
        r.output()
    );
    assert!(r.stderr.contains("missing.js.map"), "{}", r.output());
    assert!(
        r.stderr.contains("bundle.js:3:"),
        "places in the bundle itself: {}",
        r.output()
    );
}

/// A minified CommonJS bundle, as webpack makes k6's jslib: one line, read by column. Its two
/// functions' `throw`s are 38 columns apart, less than the function head a CommonJS file is
/// wrapped in, so a column not led back past that head names the wrong file.
#[test]
fn a_one_line_commonjs_bundle_is_mapped_by_its_own_columns() {
    let code = "module.exports={a:function(){throw new Error('in a')},b:function(){throw new Error('in b')}};";
    let mut mappings = String::new();
    let (a, b) = (code.find("throw").unwrap(), code.rfind("throw").unwrap());
    // (generated column, source, original line 0-based, column), as deltas.
    for (i, segment) in [[a as i64, 0, 4, 0], [(b - a) as i64, 1, 3, 0]]
        .iter()
        .enumerate()
    {
        if i > 0 {
            mappings.push(',');
        }
        for value in segment {
            vlq(&mut mappings, *value);
        }
    }
    let map = format!(
        r#"{{"version":3,"sources":["../src/a.js","../src/b.js"],"names":[],"mappings":"{mappings}"}}"#
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(map);
    let dir = TempDir::new("js-map-commonjs");
    write_files(
        &dir,
        &[
            (
                "dist/bundle.js",
                &format!("{code}\n//# sourceMappingURL=data:application/json;base64,{encoded}\n"),
            ),
            (
                "script.js",
                "import { a, b } from './dist/bundle.js';\n\
                 export const options = { iterations: 2 };\n\
                 export default function () { if (__ITER === 0) a(); else b(); }\n",
            ),
        ],
    );
    let r = run_js(&dir.path("script.js"), &["-q"]);
    assert_eq!(r.metric("iteration_errors", "count"), 2.0, "{}", r.output());
    for (message, place) in [("in a", "src/a.js:5:"), ("in b", "src/b.js:8:")] {
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains(message))
            .unwrap_or_else(|| panic!("no error `{message}`: {}", r.output()));
        let place = dir.path(place).display().to_string();
        assert!(
            line.contains(&place),
            "`{message}` at {place}: {}",
            r.output()
        );
    }
}
