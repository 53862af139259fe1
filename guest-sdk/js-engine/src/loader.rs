//! Module names and where each module's code comes from.
//!
//! - `k6`, `k6/http`, … and their `stampede`, `stampede/http`, … aliases are the engine's own
//!   ([`modules::BUILTINS`](crate::modules::BUILTINS));
//! - `./x.js`, `../lib/x.js` and `/abs/x.js` are files, resolved against the importing file
//!   and read through the host (`modules.source`), which keeps the list of what was read and
//!   hands TypeScript (`./x.ts`) over with its types removed;
//! - `https://…` URLs are remote modules, fetched by the host once per test as k6 fetches
//!   them; in a remote module, `./x.js`, `../x.js` and `/x.js` are URLs of the same server, and
//!   a local file may not be imported (as in k6);
//! - anything else (a bare name, an `http://` URL) is an error that names it and the importing
//!   file.
//!
//! A file without `import`/`export` that fills `module.exports` is CommonJS
//! ([`commonjs`](crate::commonjs)): run as k6 runs it, and seen as an ES module.

use rquickjs::loader::{ImportAttributes, Loader as JsLoader, Resolver as JsResolver};
use rquickjs::{Ctx, Error, Module, Result};

use crate::modules;

/// The module name of the entry script at `path`.
pub fn entry_name(path: &str) -> String {
    normalize(path)
}

/// Resolves import specifiers to module names.
pub struct Resolver;

/// Loads a module by its resolved name.
pub struct Loader;

impl JsResolver for Resolver {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<String> {
        resolve(base, name).map_err(|message| {
            failed(
                ctx,
                &format!("cannot resolve '{name}' imported by '{base}': {message}"),
            )
        })
    }
}

/// Throws `message` as an `Error`: QuickJS's own resolving and loading errors are
/// `ReferenceError`s cut at 255 bytes, which lost the end of a long URL's message (the why).
fn failed(ctx: &Ctx<'_>, message: &str) -> Error {
    rquickjs::Exception::throw_message(ctx, message)
}

/// The module name `name` imported from the module `base` stands for.
pub fn resolve(base: &str, name: &str) -> std::result::Result<String, String> {
    if let Some(builtin) = modules::builtin_name(name) {
        // The engine itself imports from no module (an empty base).
        if modules::is_internal(builtin) && !modules::is_builtin(base) && !base.is_empty() {
            return Err(format!("'{name}' is internal to stampede's engine"));
        }
        return Ok(builtin.to_string());
    }
    if let Some(module) = jslib(name) {
        return Ok(module.to_string());
    }
    if is_remote(base) {
        if let Some(name) = relative_url(base, name) {
            return Ok(name);
        }
        if name.starts_with("file://") {
            return Err(format!(
                "the remote module '{base}' may not import the local file '{name}'"
            ));
        }
    }
    let path = name.strip_prefix("file://").unwrap_or(name);
    if path.starts_with('/') {
        return Ok(normalize(path));
    }
    if path.starts_with("./") || path.starts_with("../") {
        let dir = match base.rfind('/') {
            Some(i) => &base[..i],
            None => "",
        };
        return Ok(normalize(&format!("{dir}/{path}")));
    }
    if name.starts_with("k6/") || name.starts_with("stampede/") {
        return Err(format!(
            "no module named '{name}' in stampede (it has {})",
            modules::public_names().join(", ")
        ));
    }
    if name.starts_with("https://") {
        return remote_name(name)
            .ok_or_else(|| format!("'{name}' is not a URL stampede can fetch"));
    }
    if let Some((scheme, _)) = name.split_once("://") {
        return Err(format!(
            "only file and https imports are loaded, as in k6: '{name}' has `{scheme}`"
        ));
    }
    Err(format!(
        "cannot find module '{name}': import files by a relative path ('./{name}'), or a built-in module ({})",
        modules::public_names().join(", ")
    ))
}

/// The engine's own copy of a module of k6's jslib (`https://jslib.k6.io/k6-summary/0.0.2/index.js`,
/// any version): no script needs the network for it.
fn jslib(name: &str) -> Option<&'static str> {
    let rest = name
        .strip_prefix("https://jslib.k6.io/")
        .or_else(|| name.strip_prefix("http://jslib.k6.io/"))?;
    let (lib, rest) = rest.split_once('/')?;
    let (version, file) = rest.split_once('/')?;
    let version_ok = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    (lib == "k6-summary" && version_ok && file == "index.js").then_some(modules::JSLIB_SUMMARY)
}

/// Whether the module `name` is a remote one (a URL fetched by the host).
pub fn is_remote(name: &str) -> bool {
    name.starts_with("https://")
}

/// The parts of an `https://` URL: `https://authority`, its path (`/` at least) and its
/// query (`?…`, or empty); the fragment is dropped.
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let rest = url.strip_prefix("https://")?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.is_empty() || authority.contains(|c: char| c.is_whitespace() || c == '\\') {
        return None;
    }
    let origin = &url[.."https://".len() + end];
    let rest = &rest[end..];
    let (path, query) = match rest.find('?') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    Some((origin, if path.is_empty() { "/" } else { path }, query))
}

/// The module name of the URL `url`: its path without `.` and `..` segments.
fn remote_name(url: &str) -> Option<String> {
    let (origin, path, query) = split_url(url)?;
    Some(format!("{origin}{}{query}", normalize(path)))
}

/// `name` (`./x.js`, `../x.js` or `/x.js`) resolved against the remote module `base`; `None`
/// when `name` is not a path.
fn relative_url(base: &str, name: &str) -> Option<String> {
    if !(name.starts_with("./") || name.starts_with("../") || name.starts_with('/')) {
        return None;
    }
    if let Some(elsewhere) = name.strip_prefix("//") {
        // Scheme-relative: another server, over https too.
        return remote_name(&format!("https://{elsewhere}"));
    }
    let (origin, base_path, _) = split_url(base)?;
    let joined = if name.starts_with('/') {
        name.to_string()
    } else {
        let dir = &base_path[..base_path.rfind('/').unwrap_or(0)];
        format!("{dir}/{name}")
    };
    remote_name(&format!("{origin}{joined}"))
}

/// Removes `.` and `..` segments and repeated slashes from an absolute path.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

impl JsLoader for Loader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<Module<'js>> {
        if modules::is_builtin(name) {
            return modules::declare(ctx, name);
        }
        let source = crate::host::modules::source(name).map_err(|message| {
            failed(ctx, &format!("cannot load the module '{name}': {message}"))
        })?;
        if let Some(warning) = source.warning {
            crate::host::context::log(crate::host::context::LogLevel::Warn, &warning);
        }
        if crate::commonjs::is_commonjs(&source.code) {
            let entry = name == entry_name(&crate::host::modules::main());
            let code = crate::commonjs::load(ctx, name, &source.code, entry)?;
            return Module::declare(ctx.clone(), name, code);
        }
        Module::declare(ctx.clone(), name, source.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_imports_resolve_against_the_importing_file() {
        assert_eq!(resolve("/a/b/main.js", "./lib.js").unwrap(), "/a/b/lib.js");
        assert_eq!(
            resolve("/a/b/main.js", "../c/lib.js").unwrap(),
            "/a/c/lib.js"
        );
        assert_eq!(resolve("/a/b/main.js", "./x/../y.js").unwrap(), "/a/b/y.js");
        assert_eq!(resolve("/a/main.js", "/etc//z.js").unwrap(), "/etc/z.js");
        assert_eq!(
            resolve("/a/main.js", "file:///srv/z.js").unwrap(),
            "/srv/z.js"
        );
        assert_eq!(entry_name("/a/./b/../main.js"), "/a/main.js");
    }

    #[test]
    fn k6_and_stampede_names_are_the_same_modules() {
        assert_eq!(
            resolve("/a.js", "k6/http").unwrap(),
            resolve("/a.js", "stampede/http").unwrap()
        );
        assert_eq!(
            resolve("/a.js", "k6").unwrap(),
            resolve("/a.js", "stampede").unwrap()
        );
    }

    #[test]
    fn unknown_modules_are_named() {
        let e = resolve("/a.js", "k6/nope").unwrap_err();
        assert!(e.contains("'k6/nope'"), "{e}");
        let e = resolve("/a.js", "lodash").unwrap_err();
        assert!(e.contains("'lodash'"), "{e}");
        let e = resolve("/a.js", "http://jslib.k6.io/x.js").unwrap_err();
        assert!(e.contains("`http`"), "{e}");
        let e = resolve("/a.js", "ftp://h/x.js").unwrap_err();
        assert!(e.contains("`ftp`"), "{e}");
        assert!(
            resolve("/a.js", "stampede:host").is_err(),
            "internal modules are hidden"
        );
        assert!(resolve("k6/http", "stampede:host").is_ok());
    }

    #[test]
    fn k6_summary_from_jslib_is_the_engines_own_for_any_version() {
        for v in ["0.0.1", "0.0.2", "0.0.4", "0.1.0"] {
            let url = format!("https://jslib.k6.io/k6-summary/{v}/index.js");
            assert_eq!(resolve("/a.js", &url).unwrap(), modules::JSLIB_SUMMARY);
        }
        assert_eq!(
            resolve("/a.js", "https://jslib.k6.io/k6-utils/1.4.0/index.js").unwrap(),
            "https://jslib.k6.io/k6-utils/1.4.0/index.js"
        );
        assert_ne!(
            resolve("/a.js", "https://jslib.k6.io/k6-summary//index.js").unwrap(),
            modules::JSLIB_SUMMARY,
            "not a version: fetched"
        );
        assert!(!modules::public_names().iter().any(|n| n.contains("jslib")));
    }

    #[test]
    fn remote_modules_resolve_as_urls() {
        let base = "https://h.test:8443/lib/v1/util.js?x=1";
        assert_eq!(
            resolve(
                "/s/main.js",
                "https://h.test:8443/lib/./a/../util.js?x=1#frag"
            )
            .unwrap(),
            "https://h.test:8443/lib/util.js?x=1"
        );
        assert_eq!(
            resolve("/s/main.js", "https://h.test").unwrap(),
            "https://h.test/"
        );
        assert_eq!(
            resolve(base, "./dep.js").unwrap(),
            "https://h.test:8443/lib/v1/dep.js"
        );
        assert_eq!(
            resolve(base, "../../up.js?v=2").unwrap(),
            "https://h.test:8443/up.js?v=2"
        );
        assert_eq!(
            resolve(base, "/abs/z.js").unwrap(),
            "https://h.test:8443/abs/z.js"
        );
        assert_eq!(
            resolve(base, "//other.test:9/a/./b.js").unwrap(),
            "https://other.test:9/a/b.js"
        );
        assert_eq!(
            resolve(base, "k6/http").unwrap(),
            resolve("/a.js", "k6/http").unwrap()
        );
        let e = resolve(base, "file:///etc/passwd").unwrap_err();
        assert!(e.contains("may not import the local file"), "{e}");
        assert!(resolve("/a.js", "https://").is_err());
        assert!(resolve("/a.js", "https:///x.js").is_err());
        assert!(resolve("/a.js", "https://a b/x.js").is_err());
        assert!(is_remote(
            &resolve("/a.js", "https://jslib.k6.io/k6-utils/1.4.0/index.js").unwrap()
        ));
    }
}
