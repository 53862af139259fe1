//! The built-in modules: k6's API, one file per module.
//!
//! A module is either JavaScript embedded in the engine (`*.js` next to this file, compiled
//! when first imported — at snapshot time for those in [`PRELOADED`]) or native Rust (a
//! [`ModuleDef`](rquickjs::module::ModuleDef)). JavaScript modules reach the host through the
//! internal native module `stampede:host` ([`host`]). To add a module, see `README.md`.

use rquickjs::{Ctx, Error, Module, Result, Value};

pub mod bytes;
pub mod crypto;
pub mod encoding;
pub mod files;
pub mod host;
pub mod html;
pub mod webcrypto;
pub mod webglobals;

/// How a built-in module is made.
pub enum Source {
    /// JavaScript source, evaluated as an ES module.
    Js(&'static str),
    /// A native module.
    Native(for<'js> fn(&Ctx<'js>, &str) -> Result<Module<'js>>),
}

/// Every built-in module by its canonical name. `stampede`, `stampede/http`, … are aliases of
/// `k6`, `k6/http`, … (see [`builtin_name`]).
pub const BUILTINS: &[(&str, Source)] = &[
    ("stampede:host", HOST),
    ("stampede:web", Source::Js(include_str!("web.js"))),
    ("k6", Source::Js(include_str!("k6.js"))),
    ("k6/http", Source::Js(include_str!("http.js"))),
    (
        "stampede:http-body",
        Source::Js(include_str!("http_body.js")),
    ),
    (
        "stampede:http-extra",
        Source::Js(include_str!("http_extra.js")),
    ),
    ("k6/metrics", Source::Js(include_str!("metrics.js"))),
    ("k6/execution", Source::Js(include_str!("execution.js"))),
    // k6's API beyond HTTP (see README.md, "Adding a module").
    (
        "stampede:crypto",
        Source::Native(crypto::declare_primitives),
    ),
    ("stampede:text", Source::Native(encoding::declare_text)),
    ("stampede:webcrypto", Source::Native(webcrypto::declare)),
    (
        "stampede:webcrypto-keys",
        Source::Js(include_str!("webcrypto_keys.js")),
    ),
    (
        "stampede:webcrypto-asym",
        Source::Js(include_str!("webcrypto_asym.js")),
    ),
    ("stampede:subtle", Source::Js(include_str!("webcrypto.js"))),
    ("stampede:webapi", Source::Js(include_str!("webapi.js"))),
    ("k6/encoding", Source::Native(encoding::declare)),
    ("k6/crypto", Source::Native(crypto::declare)),
    ("k6/timers", Source::Js(include_str!("timers.js"))),
    ("stampede:files", Source::Native(files::declare)),
    ("k6/data", Source::Js(include_str!("data.js"))),
    ("stampede:html", Source::Native(html::declare)),
    ("k6/html", Source::Js(include_str!("html.js"))),
    ("stampede:lazy", Source::Native(webglobals::declare_lazy)),
    ("stampede:gjson", Source::Js(include_str!("gjson.js"))),
    (
        "stampede:html-response",
        Source::Js(include_str!("html_response.js")),
    ),
    // k6's jslib, served from the engine for any version (see `loader::jslib`).
    (JSLIB_SUMMARY, Source::Js(include_str!("k6_summary.js"))),
];

/// The engine's copy of `https://jslib.k6.io/k6-summary/<version>/index.js`.
pub const JSLIB_SUMMARY: &str = "jslib:k6-summary";

/// The host's imports. The engine's own unit tests run natively, without a host: they get a
/// fake that records the calls.
#[cfg(not(test))]
const HOST: Source = Source::Native(host::declare);
#[cfg(test)]
const HOST: Source = Source::Js(include_str!("fake_host.js"));

#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod webcrypto_tests;

/// Modules only the engine's own modules may import.
const INTERNAL: &[&str] = &[
    "stampede:host",
    "stampede:web",
    "stampede:http-body",
    "stampede:http-extra",
    "stampede:crypto",
    "stampede:text",
    "stampede:webapi",
    "stampede:webcrypto",
    "stampede:webcrypto-keys",
    "stampede:webcrypto-asym",
    "stampede:subtle",
    "stampede:files",
    "stampede:html",
    "stampede:lazy",
    "stampede:html-response",
];

/// Modules evaluated when the engine is pre-initialised, so that every VU finds them ready.
pub const PRELOADED: &[&str] = &[
    "stampede:web",
    "k6",
    "k6/http",
    "k6/metrics",
    "k6/execution",
    "stampede:html-response",
];

/// The canonical name of a built-in module `name` (`stampede/http` → `k6/http`), if it is one.
pub fn builtin_name(name: &str) -> Option<&'static str> {
    let canonical = match name.strip_prefix("stampede") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("k6{rest}"),
        _ => name.to_string(),
    };
    BUILTINS.iter().map(|(n, _)| *n).find(|n| *n == canonical)
}

/// Whether `name` (already resolved) is a built-in module.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.iter().any(|(n, _)| *n == name)
}

/// Whether `name` is internal to the engine.
pub fn is_internal(name: &str) -> bool {
    INTERNAL.contains(&name)
}

/// The names a script may import, for error messages.
pub fn public_names() -> Vec<String> {
    BUILTINS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !is_internal(n) && !n.starts_with("jslib:"))
        .map(|n| format!("'{n}'"))
        .collect()
}

/// Declares the built-in module `name`.
pub fn declare<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Module<'js>> {
    match BUILTINS.iter().find(|(n, _)| *n == name) {
        Some((_, Source::Js(source))) => Module::declare(ctx.clone(), name, *source),
        Some((_, Source::Native(declare))) => declare(ctx, name),
        None => Err(Error::new_loading_message(name, "not a built-in module")),
    }
}

/// Installs k6's globals (`__ENV`, `__VU`, `__ITER`, `console`, `open` …) before any script.
pub fn install_globals(ctx: &Ctx<'_>) -> Result<()> {
    host::install(ctx)?;
    files::install(ctx)?;
    webglobals::install(ctx)?;
    crate::commonjs::install(ctx)?;
    ctx.eval::<(), _>(include_str!("globals.js"))
}

/// Called when a VU loads its script: per-VU state that the snapshot must not share.
pub fn vu_started() {
    host::vu_started();
    files::enter_init();
}

/// Called at the start of every call into the script (setup, iteration, teardown).
pub fn begin_call() {
    host::begin_call();
}

/// Called at the end of every call into the script: host resources made during it are
/// released.
pub fn end_call() {
    host::end_call();
    files::leave_init();
}

/// A value as `console.log` prints it.
pub fn show(v: &Value<'_>) -> Result<String> {
    host::show(v)
}
