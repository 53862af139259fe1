//! CommonJS files, as k6 loads them: a file without `import` or `export` statements that
//! fills `module.exports` or `exports` (k6's jslib bundles — k6-utils, k6chaijs, papaparse —
//! and most npm builds) runs as a function of `exports`, `require` and `module`, and is seen
//! by the importing module as an ES module: `module.exports` as its default export, and each
//! of its properties as a named export (`import { uuidv4 } from './k6-utils.js'`).
//!
//! The function runs when the file is loaded — while the importing module is linked, before
//! its body runs — and what it exported is kept for `require` and for the ES module made in
//! its place. `require(name)` gives a CommonJS file's `module.exports` and any other module's
//! namespace (`require('k6/http').get`), resolved against the requiring file; the global
//! `require` resolves against the test's script.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt::Write as _;

use rquickjs::context::EvalOptions;
use rquickjs::{Ctx, Exception, Function, Module, Object, Result, Value};

use crate::loader;

/// The global object's property that holds each CommonJS file's `module.exports` by name.
const REGISTRY: &str = "__stampedeCommonJs";

/// What a CommonJS file's code is wrapped in, on its first line (so that its lines keep their
/// numbers): the function of `exports`, `require`, `module`, `__filename` and `__dirname`.
const HEAD: &str = "(function (exports, require, module, __filename, __dirname) {";

thread_local! {
    /// Files whose CommonJS function is running: a `require` cycle back to one is an error.
    static LOADING: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
    /// The CommonJS files loaded, whose first line starts with [`HEAD`].
    static WRAPPED: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

/// The column of the file `path` that QuickJS's `line:column` of it stands for: on the first
/// line of a CommonJS file, past the function head it was wrapped in (a minified bundle is one
/// line, and its source map is read by column).
pub fn own_column(path: &str, line: u32, column: u32) -> u32 {
    let head = HEAD.len() as u32;
    if line == 1 && column > head && WRAPPED.with(|w| w.borrow().contains(path)) {
        column - head
    } else {
        column
    }
}

/// Whether `code` is a CommonJS file: no `import`/`export` statement (nor `import.meta`), and
/// something of CommonJS's (`module.exports`, `exports.x`, `require(…)`). A file that is
/// neither stays an ES module, as it always was.
pub fn is_commonjs(code: &str) -> bool {
    if has_module_syntax(code) {
        return false;
    }
    let bare = without_comments(code);
    // The CommonJS names are looked for in the code as it is too: a `//` inside a regular
    // expression (`/^https?:\/\//`) reads as a comment, which would hide the rest of its line
    // (all of a minified bundle).
    !has_module_syntax(&bare) && (commonjs_names(&bare) || commonjs_names(code))
}

/// Whether `text` uses a name of CommonJS's: `module.exports`, `exports.x`, `require(…)`.
fn commonjs_names(text: &str) -> bool {
    free_word(text, "exports") || text.contains("module.exports") || text.contains("require(")
}

/// Whether `text` names the variable `word` (not a property: neither `x.exports` nor the key
/// of `{ exports: 1 }` counts).
fn free_word(text: &str, word: &str) -> bool {
    let b = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    text.match_indices(word).any(|(at, _)| {
        let end = at + word.len();
        (at == 0 || !(ident(b[at - 1]) || b[at - 1] == b'.'))
            && !b.get(end).copied().is_some_and(ident)
            && !text[end..].trim_start().starts_with(':')
    })
}

/// Whether a statement of `text` starts with the keyword `import` (not `import(`) or `export`.
fn has_module_syntax(text: &str) -> bool {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    for keyword in ["import", "export"] {
        for (at, _) in text.match_indices(keyword) {
            let end = at + keyword.len();
            if (at > 0 && (word(b[at - 1]) || b[at - 1] == b'.'))
                || b.get(end).copied().is_some_and(word)
            {
                continue;
            }
            // A statement starts here: at the start, after `;`, `}` or a line break.
            let before = text[..at].trim_end_matches([' ', '\t']);
            let starts = before.is_empty() || before.ends_with([';', '}', '\n', '\r']);
            let next = text[end..].trim_start().bytes().next();
            // `import.meta` is a module's, wherever it stands.
            if keyword == "import" && next == Some(b'.') {
                return true;
            }
            if starts && !(keyword == "import" && next == Some(b'(')) {
                return true;
            }
        }
    }
    false
}

/// `code` without its `//` and `/* */` comments, strings and template literals kept.
fn without_comments(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut chars = code.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                out.push(' ');
            }
            ('"' | '\'' | '`', _) => {
                quote = Some(c);
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Runs the CommonJS file `name` (its source `code`) and returns the ES module that stands
/// for it. `entry`: the file is the test's script, whose default export is `exports.default`
/// (k6's default function), as it is for a file compiled from an ES module (`__esModule`).
pub fn load<'js>(ctx: &Ctx<'js>, name: &str, code: &str, entry: bool) -> Result<String> {
    let fresh = LOADING.with(|l| l.borrow_mut().insert(name.to_owned()));
    if !fresh {
        return Err(Exception::throw_message(
            ctx,
            &format!("{name} requires itself (a require cycle): CommonJS files cannot"),
        ));
    }
    let exports = run(ctx, name, code);
    LOADING.with(|l| l.borrow_mut().remove(name));
    let exports = exports?;
    registry(ctx)?.set(name, exports.clone())?;
    Ok(es_module(name, &exports, entry))
}

/// Runs the file's code as a function of `exports`, `require` and `module` (its first line
/// stays line 1, so that stack traces point at the file's own lines); `module.exports`.
fn run<'js>(ctx: &Ctx<'js>, name: &str, code: &str) -> Result<Value<'js>> {
    let mut options = EvalOptions::default();
    options.global = true;
    options.strict = false;
    options.filename = Some(name.to_owned());
    let source = format!("{HEAD}{code}\n}})");
    WRAPPED.with(|w| w.borrow_mut().insert(name.to_owned()));
    let function: Function = ctx.eval_with_options(source, options)?;
    let module = Object::new(ctx.clone())?;
    let exports = Object::new(ctx.clone())?;
    module.set("exports", exports.clone())?;
    module.set("id", name)?;
    let dir = name
        .rsplit_once('/')
        .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
    let require = requirer(ctx, name.to_owned())?;
    function.call::<_, ()>((
        rquickjs::function::This(exports.clone()),
        exports,
        require,
        module.clone(),
        name,
        dir,
    ))?;
    module.get("exports")
}

/// The ES module for a CommonJS file: `module.exports` as the default export (or its
/// `default`, for the entry and for `__esModule` files), and a named export for each of its
/// properties that is a name.
fn es_module(name: &str, exports: &Value<'_>, entry: bool) -> String {
    let key = js_string(name);
    let mut src = format!("const m = globalThis.{REGISTRY}[{key}];\n");
    if entry {
        src.push_str("export default m == null ? undefined : m.default;\n");
    } else {
        src.push_str("export default m != null && m.__esModule ? m.default : m;\n");
    }
    let names: Vec<String> = exports
        .as_object()
        .and_then(|o| o.keys::<String>().collect::<Result<Vec<_>>>().ok())
        .unwrap_or_default();
    let is_name = |k: &str| {
        let mut c = k.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == '$')
            && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    for (i, k) in names
        .iter()
        .filter(|k| *k != "default" && is_name(k))
        .enumerate()
    {
        let _ = writeln!(src, "const e{i} = m[\"{k}\"];\nexport {{ e{i} as {k} }};");
    }
    src
}

/// `text` as a JavaScript string literal.
fn js_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn registry<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let globals = ctx.globals();
    if let Some(r) = globals.get::<_, Option<Object>>(REGISTRY)? {
        return Ok(r);
    }
    let r = Object::new(ctx.clone())?;
    let define: Function = ctx.eval("(o, k, v) => Object.defineProperty(o, k, { value: v })")?;
    define.call::<_, ()>((globals, REGISTRY, r.clone()))?;
    Ok(r)
}

/// `require` for the file `base`.
fn requirer<'js>(ctx: &Ctx<'js>, base: String) -> Result<Function<'js>> {
    Function::new(ctx.clone(), move |ctx: Ctx<'js>, spec: String| {
        require(&ctx, &base, &spec)
    })
}

/// What `require(spec)` from the file `base` gives.
fn require<'js>(ctx: &Ctx<'js>, base: &str, spec: &str) -> Result<Value<'js>> {
    let name = loader::resolve(base, spec).map_err(|m| Exception::throw_message(ctx, &m))?;
    if LOADING.with(|l| l.borrow().contains(&name)) {
        return Err(Exception::throw_message(
            ctx,
            &format!("{base} requires {name}, which is still loading (a require cycle)"),
        ));
    }
    let namespace: Object = Module::import(ctx, name.clone())?.finish()?;
    match registry(ctx)?.get::<_, Option<Value>>(name.as_str())? {
        Some(exports) => Ok(exports),
        None => Ok(namespace.into_value()),
    }
}

/// The global `require` (k6 has one in the init context), resolving against the script — or,
/// called from a remote module, against that module's URL (which may load no local file).
pub fn install<'js>(ctx: &Ctx<'js>) -> Result<()> {
    let global = Function::new(ctx.clone(), |ctx: Ctx<'js>, spec: String| {
        // Level 0 is the JavaScript function that called `require`.
        let caller = ctx
            .script_or_module_name(0)
            .and_then(|a| a.to_string().ok())
            .filter(|c| loader::is_remote(c));
        let base = caller.unwrap_or_else(|| loader::entry_name(&crate::host::modules::main()));
        require(&ctx, &base, &spec)
    })?;
    ctx.globals().set("require", global)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commonjs_files_are_told_from_es_modules() {
        for cjs in [
            "module.exports = { a: 1 };",
            "exports.uuid = () => 1; // export default later",
            "!function(e,t){\"object\"==typeof exports&&\"object\"==typeof module?module.exports=t():e.x=t()}(this,()=>1);",
            "const http = require('k6/http');\nconst x = import('./lazy.js');\nexports.get = http.get;",
            "/* export const a = 1; */ module.exports = 2;",
            "!function(t,e){for(var r in e)t[r]=e[r]}(exports,(()=>({URL: 1}))());",
            "var strip=function(u){return u.replace(/^https?:\\/\\//,\"\")}; module.exports={strip:strip};",
        ] {
            assert!(is_commonjs(cjs), "{cjs}");
        }
        for esm in [
            "import http from 'k6/http';\nexport default function () {}",
            "export const a = 1; module.exports = 3;",
            "const a = 1\nexport { a }; exports.b = 2;",
            "console.log(import.meta.url); exports.x = 1;",
            "/* c */export default 1; require('x');",
            "const exportsCount = 1; importantThing();",
            "const m = { exports: 1 }; console.log(m.exports);",
            "export default function () { console.log('no module.exports here'); }",
        ] {
            assert!(!is_commonjs(esm), "{esm}");
        }
    }

    #[test]
    fn comments_go_and_strings_stay() {
        assert_eq!(
            without_comments("a // x\nb /* y */ c '//' \"/*\" `*/`"),
            "a \nb   c '//' \"/*\" `*/`"
        );
    }
}
