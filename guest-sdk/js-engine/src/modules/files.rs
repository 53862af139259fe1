//! `open()`, k6's global that reads a file in the init context, and `stampede:files`, which
//! tells the engine's own modules (`k6/data`) whether the VU is in its init context.
//!
//!   const users = JSON.parse(open('./users.json'));     // a string (UTF-8)
//!   const logo = open('../assets/logo.png', 'b');        // an ArrayBuffer
//!
//! A relative path is resolved against the file that calls `open` (as an import is), an
//! absolute one is taken as it is. Files are read through the host (`modules.read`): each file
//! is read from disk once per test whatever the number of VUs, it is bounded in size there
//! (`MAX_FILE` in `host-api/src/modules.rs`), and it becomes part of what a cached build of the
//! script depends on.
//!
//! The init context is the evaluation of the script's top level, once per VU: it starts when
//! the VU loads its script ([`enter_init`]) and ends with the first call that finishes
//! ([`leave_init`]). Outside it, `open` throws, as in k6: files are read before the test
//! starts, never while it measures.

use std::cell::Cell;

use rquickjs::function::Opt;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{Ctx, Exception, Function, Module, Result, Value};

use super::bytes;

thread_local! {
    /// Whether this VU is evaluating its script's top level.
    static IN_INIT: Cell<bool> = const { Cell::new(false) };
}

/// The VU starts loading its script: its init context begins.
pub fn enter_init() {
    IN_INIT.with(|i| i.set(true));
}

/// A call into the script ended: the init context, if it was one, is over.
pub fn leave_init() {
    IN_INIT.with(|i| i.set(false));
}

/// Whether the VU is in its init context.
pub fn in_init() -> bool {
    IN_INIT.with(Cell::get)
}

/// The contents of the file at the absolute path `path`.
#[cfg(not(test))]
fn read(path: &str) -> std::result::Result<Vec<u8>, String> {
    crate::host::modules::read(path)
}

/// Natively (the engine's unit tests, without a host) files come from the machine's disk.
#[cfg(test)]
fn read(path: &str) -> std::result::Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

/// The absolute path `path` stands for when the module `caller` opens it.
pub fn resolve(caller: Option<&str>, path: &str) -> String {
    let path = path.strip_prefix("file://").unwrap_or(path);
    if path.starts_with('/') {
        return crate::loader::entry_name(path);
    }
    // A caller that is not a file (a built-in module, `eval`) opens relative to the script.
    let base = match caller {
        Some(c) if c.starts_with('/') => c.to_string(),
        _ => crate::loader::entry_name(&main_path()),
    };
    let dir = base.rfind('/').map_or("", |i| &base[..i]);
    crate::loader::entry_name(&format!("{dir}/{path}"))
}

#[cfg(not(test))]
fn main_path() -> String {
    crate::host::modules::main()
}

#[cfg(test)]
fn main_path() -> String {
    "/".to_string()
}

/// `open(path, mode)`: the file as a string, or as an `ArrayBuffer` when `mode` is `'b'`.
fn open<'js>(ctx: Ctx<'js>, path: Value<'js>, mode: Opt<Value<'js>>) -> Result<Value<'js>> {
    let Some(path) = path.as_string().map(|s| s.to_string()).transpose()? else {
        return Err(Exception::throw_type(
            &ctx,
            &format!(
                "open() needs a file path (a string), got {}",
                bytes::type_name(&path)
            ),
        ));
    };
    if path.is_empty() {
        return Err(Exception::throw_type(
            &ctx,
            "open() needs a file path, got ''",
        ));
    }
    if !in_init() {
        return Err(Exception::throw_message(
            &ctx,
            &format!(
                "open('{path}') can only be called in the init context (the script's top level): \
                 read files there, once, and use what they hold in the test's functions"
            ),
        ));
    }
    let binary = match mode.0 {
        None => false,
        Some(m) if m.is_undefined() || m.is_null() => false,
        Some(m) => match m.as_string().map(|s| s.to_string()).transpose()?.as_deref() {
            Some("b") => true,
            Some("" | "r" | "t") => false,
            _ => {
                return Err(Exception::throw_type(
                    &ctx,
                    &format!(
                        "open('{path}'): mode must be 'b' (an ArrayBuffer) or left out (a string)"
                    ),
                ))
            }
        },
    };
    // Level 0 is the JavaScript function that called `open` (a native call has no frame).
    let caller = ctx
        .script_or_module_name(0)
        .and_then(|a| a.to_string().ok());
    let relative = !(path.starts_with('/') || path.starts_with("file://"));
    if let Some(remote) = caller.as_deref().filter(|c| crate::loader::is_remote(c)) {
        if relative {
            return Err(Exception::throw_message(
                &ctx,
                &format!(
                    "open('{path}') in the remote module {remote}: a remote module opens \
                     files by absolute path only (k6 would look for the URL's path on this machine)"
                ),
            ));
        }
    }
    let full = resolve(caller.as_deref(), &path);
    let data =
        read(&full).map_err(|e| Exception::throw_message(&ctx, &format!("open('{path}'): {e}")))?;
    if binary {
        return bytes::buffer(&ctx, data);
    }
    let text = match String::from_utf8(data) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    Ok(rquickjs::String::from_str(ctx, &text)?.into_value())
}

/// Installs the global `open`.
pub fn install(ctx: &Ctx<'_>) -> Result<()> {
    let f = Function::new(ctx.clone(), open)?.with_name("open")?;
    ctx.globals().set("open", f)
}

/// k6/data's shared arrays, kept by the host: one copy for all the VUs of a test.
#[cfg(not(test))]
mod shared {
    use crate::host::modules;

    pub fn length(name: &str) -> Option<u32> {
        modules::shared_length(name)
    }

    pub fn make(name: &str, items: &[String]) -> Result<u32, String> {
        modules::shared_make(name, items)
    }

    pub fn get(name: &str, index: u32) -> Option<String> {
        modules::shared_get(name, index)
    }
}

/// Natively (unit tests, without a host), the arrays are kept in the process.
#[cfg(test)]
mod shared {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    thread_local! {
        static ARRAYS: RefCell<BTreeMap<String, Vec<String>>> = const { RefCell::new(BTreeMap::new()) };
    }

    pub fn length(name: &str) -> Option<u32> {
        ARRAYS.with(|a| a.borrow().get(name).map(|v| v.len() as u32))
    }

    pub fn make(name: &str, items: &[String]) -> Result<u32, String> {
        ARRAYS.with(|a| {
            let mut a = a.borrow_mut();
            Ok(a.entry(name.to_string())
                .or_insert_with(|| items.to_vec())
                .len() as u32)
        })
    }

    pub fn get(name: &str, index: u32) -> Option<String> {
        ARRAYS.with(|a| a.borrow().get(name)?.get(index as usize).cloned())
    }
}

/// `stampede:files` (internal): `inInit()`, and the host's shared arrays for `k6/data`.
struct FilesModule;

impl ModuleDef for FilesModule {
    fn declare(decl: &Declarations<'_>) -> Result<()> {
        for name in ["inInit", "sharedLength", "sharedMake", "sharedGet"] {
            decl.declare(name)?;
        }
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        exports.export("inInit", Function::new(ctx.clone(), in_init)?)?;
        exports.export(
            "sharedLength",
            Function::new(ctx.clone(), |name: String| shared::length(&name))?,
        )?;
        exports.export(
            "sharedMake",
            Function::new(
                ctx.clone(),
                |ctx: Ctx<'js>, name: String, items: Vec<String>| {
                    shared::make(&name, &items).map_err(|e| Exception::throw_range(&ctx, &e))
                },
            )?,
        )?;
        exports.export(
            "sharedGet",
            Function::new(ctx.clone(), |name: String, index: u32| {
                shared::get(&name, index)
            })?,
        )?;
        Ok(())
    }
}

/// Declares `stampede:files` under `name`.
pub fn declare<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Module<'js>> {
    Module::declare_def::<FilesModule, _>(ctx.clone(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_against_the_calling_file() {
        assert_eq!(resolve(Some("/s/main.js"), "data.json"), "/s/data.json");
        assert_eq!(resolve(Some("/s/main.js"), "./d/x.csv"), "/s/d/x.csv");
        assert_eq!(resolve(Some("/s/lib/a.js"), "../x.bin"), "/s/x.bin");
        assert_eq!(resolve(Some("/s/main.js"), "/etc/./y"), "/etc/y");
        assert_eq!(resolve(Some("/s/main.js"), "file:///t/z"), "/t/z");
        assert_eq!(resolve(Some("k6/data"), "z.json"), "/z.json");
    }
}
