//! TypeScript modules: types removed on the host before the engine sees the file, as k6 does
//! with esbuild.
//!
//! The file is transformed, not only stripped: k6 also accepts enums, namespaces and parameter
//! properties, and drops an import whose names are only used as types (`import { Options }`
//! without `type`), which a strip that keeps every import cannot do (the engine would then
//! look for an export that the other module no longer has). The transform reflows the code,
//! so it comes with a source map: errors name the `.ts` file's own lines.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex};

use swc_common::errors::{DiagnosticBuilder, Emitter, Handler, HANDLER};
use swc_common::sync::Lrc;
use swc_common::{BytePos, Globals, SourceMap, GLOBALS};
use swc_ts_fast_strip::{operate, Mode, Options};

/// Whether the file at `path` is TypeScript, by its name (`.ts`, `.mts`, `.cts`).
pub fn is_typescript(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "ts" | "mts" | "cts"))
}

/// A TypeScript file made JavaScript: the code and its source map (JSON, back to the file).
#[derive(Debug)]
pub struct Stripped {
    /// The JavaScript.
    pub code: String,
    /// The source map from `code` back to the TypeScript file.
    pub map: Option<String>,
}

/// One diagnostic: its message and where it points.
type Diagnostic = (String, Option<BytePos>);

/// The diagnostics swc reports while it works.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<Diagnostic>>>);

impl Emitter for Collected {
    fn emit(&mut self, db: &mut DiagnosticBuilder<'_>) {
        let at = db.span.primary_span().map(|s| s.lo);
        let mut found = self.0.lock().unwrap_or_else(|e| e.into_inner());
        found.push((db.message(), at));
    }
}

/// The deepest brackets (`(`, `[`, `{`) a TypeScript file may nest. swc parses, transforms
/// and drops the syntax tree by recursion; past this (or [`MAX_CHAIN`]) a file is refused
/// before it is parsed.
pub const MAX_NESTING: usize = 1000;

/// The stack of the thread that transforms a file. The VU that asks runs on a fiber whose
/// stack (1 MiB, half of it wasm's) swc would overflow at some 350 nested parentheses, and an
/// overflow there ends the process. The stack is address space: only the pages used are memory.
const STRIP_STACK: usize = 256 << 20;

/// The JavaScript of the TypeScript module `text`, read from `path`. An error names the file,
/// the line and column (1-based), and what is wrong there.
///
/// The work is done on a thread of its own, with a stack large enough for [`MAX_NESTING`].
pub fn strip(path: &Path, text: String) -> Result<Stripped, String> {
    if let Some((line, what)) = too_deep(&text) {
        return Err(format!(
            "{}:{line}: {what}: nested deeper than a TypeScript file may be",
            path.display()
        ));
    }
    let owned = path.to_owned();
    let worker = std::thread::Builder::new()
        .name("typescript".into())
        .stack_size(STRIP_STACK)
        .spawn(move || transform(&owned, text))
        .map_err(|e| {
            format!(
                "{}: cannot start the TypeScript compiler: {e}",
                path.display()
            )
        })?;
    worker.join().unwrap_or_else(|_| {
        Err(format!(
            "{}: the TypeScript compiler failed on this file",
            path.display()
        ))
    })
}

/// The most code (bytes, outside strings and comments, not counting spaces) between a `;` or
/// `,` and the start of the file or of the brackets around it: an expression or statement
/// chain (`!!!…`, `a + a + …`, `if (a) if (a) …`) nests about this deep in swc's syntax tree.
pub const MAX_CHAIN: usize = 20_000;

/// Where a file nests past [`MAX_NESTING`] or [`MAX_CHAIN`], if it does: the 1-based line and
/// which bound. Strings, template literals and comments are skipped; a bracket inside a
/// regular expression counts (the bounds are far above what code nests, so that slack does
/// not matter).
fn too_deep(text: &str) -> Option<(usize, String)> {
    let bytes = text.as_bytes();
    let (mut line, mut i) = (1usize, 0usize);
    // The chain so far, and the chain at each open bracket around this place.
    let (mut chain, mut open) = (0usize, Vec::new());
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        match b {
            b'\n' => line += 1,
            b' ' | b'\t' | b'\r' => {}
            b'(' | b'[' | b'{' => {
                open.push(chain);
                chain += 1;
                if open.len() > MAX_NESTING {
                    return Some((line, format!("brackets nest more than {MAX_NESTING} deep")));
                }
            }
            b')' | b']' | b'}' => chain = open.pop().unwrap_or(0),
            b';' | b',' => chain = open.last().map_or(0, |c| c + 1),
            b'\'' | b'"' | b'`' => i = skip_string(bytes, i, b, &mut line),
            b'/' if bytes.get(i) == Some(&b'/') => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i) == Some(&b'*') => {
                let end = text[i + 1..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 1 + n + 2);
                line += bytes[i..end].iter().filter(|&&c| c == b'\n').count();
                i = end;
            }
            _ => chain += 1,
        }
        if chain > MAX_CHAIN {
            let what = format!("more than {MAX_CHAIN} bytes of code without a ';' or ','");
            return Some((line, what));
        }
    }
    None
}

/// The index just past the string that `quote` opened before `i`, counting its lines.
fn skip_string(bytes: &[u8], mut i: usize, quote: u8, line: &mut usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'\n' if quote != b'`' => return i,
            b'\n' => *line += 1,
            c if c == quote => return i + 1,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// [`strip`]'s work, on the thread with the large stack.
fn transform(path: &Path, text: String) -> Result<Stripped, String> {
    let cm: Lrc<SourceMap> = Default::default();
    let collected = Collected::default();
    let handler = Handler::with_emitter(true, false, Box::new(collected.clone()));
    // Class fields stay native, so that a parameter property is assigned after the fields'
    // initializers run, as TypeScript's ES2022 output and esbuild (k6's) have it.
    let transform = serde_json::from_value(serde_json::json!({ "nativeClassProperties": true }))
        .map_err(|e| format!("the TypeScript transform's settings: {e}"))?;
    let options = Options {
        module: Some(true),
        filename: Some(path.display().to_string()),
        mode: Mode::Transform,
        source_map: true,
        transform: Some(transform),
        ..Default::default()
    };
    // swc's passes look for the handler and the globals of the compilation in thread-local
    // slots; a panic inside it (a bug on odd input) must not take the host down.
    let result = catch_unwind(AssertUnwindSafe(|| {
        GLOBALS.set(&Globals::new(), || {
            HANDLER.set(&handler, || operate(&cm, &handler, text, options))
        })
    }));
    let output = match result {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => {
            let found = collected.0.lock().unwrap_or_else(|e| e.into_inner());
            let Some((message, at)) = found.first() else {
                return Err(format!("{}: {e}", path.display()));
            };
            let place = match at {
                Some(pos) => match cm.try_lookup_char_pos(*pos) {
                    Ok(loc) => format!("{}:{}:{}", path.display(), loc.line, loc.col.0 + 1),
                    Err(_) => path.display().to_string(),
                },
                None => path.display().to_string(),
            };
            return Err(format!("SyntaxError: {message} ({place})"));
        }
        Err(_) => {
            return Err(format!(
                "{}: the TypeScript compiler failed on this file",
                path.display()
            ))
        }
    };
    Ok(Stripped {
        code: output.code,
        map: output.map,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_go_and_enums_become_javascript() {
        let out = strip(
            Path::new("/s/a.ts"),
            "import { Shape, area } from './lib.ts';\n\
             import type { Opt } from './lib.ts';\n\
             enum Color { Red, Green = 'g' }\n\
             export const options: Opt = { vus: 1 };\n\
             export default function (): void { const s: Shape = { w: 2 }; area(s); }\n"
                .into(),
        )
        .unwrap();
        assert!(
            out.code.contains("import { area } from './lib.ts'"),
            "{}",
            out.code
        );
        assert!(
            !out.code.contains("Shape") && !out.code.contains("Opt"),
            "{}",
            out.code
        );
        assert!(out.code.contains("Color[\"Red\"] = 0"), "{}", out.code);
        assert!(out.map.unwrap().contains("\"mappings\""));
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column() {
        let e = strip(
            Path::new("/s/a.ts"),
            "const a: number = 1;\nconst b: = 2;\n".into(),
        )
        .unwrap_err();
        assert!(e.starts_with("SyntaxError: "), "{e}");
        assert!(e.contains("/s/a.ts:2:10"), "{e}");
    }

    /// `const x: number = ` and a value nested `n` deep: parentheses, arrays and objects.
    fn nested(n: usize) -> String {
        let open = "([{a:".repeat(n / 3) + &"(".repeat(n % 3);
        let close = ")".repeat(n % 3) + &"}])".repeat(n / 3);
        format!(
            "// ((((( in a comment\nconst s = '[[[[';\nexport const x: number = {open}1{close};\n"
        )
    }

    #[test]
    fn nesting_up_to_the_bound_is_transformed_on_a_small_stack() {
        // A VU calls on a fiber with 512 KiB for host calls; swc alone needs far more here.
        let small = std::thread::Builder::new().stack_size(512 << 10);
        let out = small
            .spawn(|| strip(Path::new("/s/deep.ts"), nested(MAX_NESTING)))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert!(
            out.code.contains("export const x = ["),
            "{}",
            &out.code[..80]
        );
        // The string's four and one per array.
        assert_eq!(out.code.matches('[').count(), 4 + MAX_NESTING / 3);
    }

    #[test]
    fn nesting_past_the_bound_is_refused_with_the_line() {
        let e = strip(Path::new("/s/deep.ts"), nested(MAX_NESTING + 1)).unwrap_err();
        assert_eq!(
            e,
            "/s/deep.ts:3: brackets nest more than 1000 deep: nested deeper than a TypeScript file may be"
        );
        // Brackets in strings, templates and comments do not count.
        let quoted = format!(
            "const a = '{0}';\nconst b = `{0}\n`;\n/* {0} */ // {0}\nexport const c = \"{0}\";\n",
            "(".repeat(MAX_NESTING + 1)
        );
        assert_eq!(too_deep(&quoted), None);
    }

    #[test]
    fn chains_up_to_the_bound_are_transformed_and_longer_ones_refused() {
        // Each of these nests once per byte or two; at the bound, swc's recursion fits the
        // thread's stack with room to spare (a million `!` overflowed 256 MiB: the process ended).
        let n = MAX_CHAIN - 30;
        let chains = [
            format!("export const x = {}true;\n", "!".repeat(n)),
            // (swc takes time quadratic in a chain of `+`: 28 s for 10,000 in a debug build.)
            format!("export const x = true{};\n", "+1".repeat(2_000)),
            format!("export const x = {}true;\n", "a=>".repeat(n / 3)),
            // Chains in brackets add up: `(` does not start a new one.
            format!(
                "export const x = {}true{};\n",
                "!!!!!!!!!!!!!!!!!!!(".repeat(900),
                ")".repeat(900)
            ),
        ];
        for text in chains {
            let r = strip(Path::new("/s/c.ts"), text);
            assert!(r.is_ok(), "{:?}", r.err());
        }
        let refused = [
            format!("export const x = {}true;\n", "!".repeat(MAX_CHAIN)),
            format!("export const x = {}true;\n", "!".repeat(1 << 20)),
            format!("let a = 1;\n{}a = 2;\n", "if(a)".repeat(200_000)),
            format!(
                "export const x = {}true{};\n",
                "!!!!!!!!!!!!!!!!!!!!!!!!(".repeat(900),
                ")".repeat(900)
            ),
        ];
        for text in refused {
            let e = strip(Path::new("/s/c.ts"), text).unwrap_err();
            assert!(e.contains("more than 20000 bytes of code without"), "{e}");
        }
        // Commas and semicolons end a chain: a long file of short statements is fine.
        assert_eq!(too_deep(&"let a = !!b;\n".repeat(10_000)), None);
        assert_eq!(too_deep(&format!("[{}]", "-1,".repeat(50_000))), None);
    }

    #[test]
    fn names_tell_typescript() {
        assert!(is_typescript(Path::new("/a/b.ts")));
        assert!(is_typescript(Path::new("/a/b.mts")));
        assert!(is_typescript(Path::new("/a/b.cts")));
        assert!(!is_typescript(Path::new("/a/b.js")));
        assert!(!is_typescript(Path::new("/a/ts")));
    }
}
