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

/// The JavaScript of the TypeScript module `text`, read from `path`. An error names the file,
/// the line and column (1-based), and what is wrong there.
pub fn strip(path: &Path, text: String) -> Result<Stripped, String> {
    let cm: Lrc<SourceMap> = Default::default();
    let collected = Collected::default();
    let handler = Handler::with_emitter(true, false, Box::new(collected.clone()));
    let options = Options {
        module: Some(true),
        filename: Some(path.display().to_string()),
        mode: Mode::Transform,
        source_map: true,
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

    #[test]
    fn names_tell_typescript() {
        assert!(is_typescript(Path::new("/a/b.ts")));
        assert!(is_typescript(Path::new("/a/b.mts")));
        assert!(is_typescript(Path::new("/a/b.cts")));
        assert!(!is_typescript(Path::new("/a/b.js")));
        assert!(!is_typescript(Path::new("/a/ts")));
    }
}
