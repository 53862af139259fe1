//! The JavaScript runtime of this VU and the calls into the user's script.
//!
//! One runtime and one context per VU (per component instance). They are made by
//! [`preinitialize`] — during stampede's snapshot of the engine, so that VUs start from a copy of
//! that memory — or, without a snapshot, on the first call. The user's script is loaded on the
//! first export call (k6's init context): its top level runs once per VU, with the host there,
//! so it may read `__ENV`, create metrics and log.

use std::cell::RefCell;

use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Function, Module, Object, Persistent, Runtime, Value,
};

use crate::event_loop;
use crate::host::context;
use crate::loader;
use crate::modules;

/// The largest stack the interpreter may use, in bytes: past it a script's recursion is a
/// `RangeError`, before the wasm stack (1 MiB) overflows.
const MAX_STACK: usize = 768 << 10;

/// Memory the JavaScript heap may grow by after the snapshot before the first garbage
/// collection. QuickJS frees most garbage at once by reference counting; its collector (for
/// cycles) visits, and so writes to, every object: one run in a VU would copy most of the
/// snapshot's pages into that VU.
const GC_HEADROOM: usize = 1 << 20;

/// Names a script exports that are not entry points.
const NOT_ENTRY_POINTS: &[&str] = &["options", "setup", "teardown", "handleSummary"];

struct Vm {
    // Dropped in field order: the context before its runtime.
    ctx: Context,
    rt: Runtime,
    /// The script's module namespace once loaded, or why it could not be.
    script: Option<Result<Persistent<Object<'static>>, String>>,
}

thread_local! {
    static VM: RefCell<Option<Vm>> = const { RefCell::new(None) };
}

/// Makes the runtime, the context, k6's globals and the built-in modules.
pub fn preinitialize() {
    VM.with(|vm| {
        let mut vm = vm.borrow_mut();
        if vm.is_none() {
            *vm = Some(Vm::new().unwrap_or_else(|e| panic!("starting the JavaScript engine: {e}")));
        }
    });
}

impl Vm {
    fn new() -> Result<Self, String> {
        let rt = Runtime::new_with_alloc(crate::heap::Blocks).map_err(|e| e.to_string())?;
        rt.set_max_stack_size(MAX_STACK);
        rt.set_loader(loader::Resolver, loader::Loader);
        event_loop::track_rejections(&rt);
        let ctx = Context::full(&rt).map_err(|e| e.to_string())?;
        // SAFETY: the runtime was made with `heap::Blocks` just above.
        ctx.with(|ctx| unsafe {
            crate::heap::install(rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr()))
        });
        ctx.with(|ctx| -> Result<(), String> {
            modules::install_globals(&ctx)
                .catch(&ctx)
                .map_err(|e| describe(&e))?;
            event_loop::install(&ctx)
                .catch(&ctx)
                .map_err(|e| describe(&e))?;
            // Evaluated now, they are in the snapshot: a VU only links to them.
            for name in modules::PRELOADED {
                let promise = Module::import(&ctx, *name)
                    .catch(&ctx)
                    .map_err(|e| describe(&e))?;
                promise
                    .finish::<Value>()
                    .catch(&ctx)
                    .map_err(|e| format!("built-in module {name}: {}", describe(&e)))?;
            }
            Ok(())
        })?;
        // Leave the snapshot without garbage, and far from the next collection.
        rt.run_gc();
        let used = rt.memory_usage().malloc_size.max(0) as usize;
        rt.set_gc_threshold(used + GC_HEADROOM);
        Ok(Self {
            ctx,
            rt,
            script: None,
        })
    }
}

/// Makes the runtime's objects so far immortal to the VUs that start from the snapshot
/// (`heap::make_immortal`); `top` is where the heap's top starts (`heap::plug_holes`).
pub fn make_immortal(top: usize) {
    VM.with(|cell| {
        let guard = cell.borrow();
        let vm = guard.as_ref().expect("preinitialized");
        vm.ctx.with(|ctx| {
            // SAFETY: the runtime is live and idle (preinitialisation ran its collection);
            // `top` comes from `plug_holes`, after which every block is allocated above it.
            unsafe {
                crate::heap::make_immortal(rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr()), top)
            }
        });
    });
}

/// Runs `f` with this VU's context and the loaded script (loading it on first use).
pub(crate) fn with_script<R>(
    f: impl for<'js> FnOnce(&Ctx<'js>, Object<'js>) -> Result<R, String>,
) -> Result<R, String> {
    preinitialize();
    VM.with(|cell| {
        let mut guard = cell.borrow_mut();
        let vm = guard.as_mut().expect("preinitialized");
        if vm.script.is_none() {
            crate::heap::settle();
            modules::vu_started();
            let loaded = vm.ctx.with(|ctx| load_script(&ctx));
            vm.script = Some(loaded);
        }
        let script = match vm.script.as_ref().expect("loaded") {
            Ok(ns) => ns.clone(),
            Err(e) => return Err(e.clone()),
        };
        let _ = &vm.rt;
        vm.ctx.with(|ctx| {
            let ns = script.restore(&ctx).map_err(|e| e.to_string())?;
            f(&ctx, ns)
        })
    })
}

/// Evaluates the script (k6's init context) and returns its module namespace.
fn load_script(ctx: &Ctx<'_>) -> Result<Persistent<Object<'static>>, String> {
    let main = crate::host::modules::main();
    let result = (|| {
        let promise = Module::import(ctx, loader::entry_name(&main))?;
        let ns = event_loop::settle::<Object>(ctx, promise)?;
        Ok(ns)
    })();
    let ns = result.catch(ctx).map_err(|e| describe(&e))?;
    modules::end_call();
    Ok(Persistent::save(ctx, ns))
}

/// Describes an error thrown by the script: `Name: message` and the stack (file:line:column).
pub fn describe(e: &CaughtError<'_>) -> String {
    match e {
        CaughtError::Exception(ex) => {
            let message = ex.message().unwrap_or_default();
            let name: Option<String> = ex.get("name").ok();
            let head = match name.as_deref() {
                Some(n) if !n.is_empty() && !message.is_empty() => format!("{n}: {message}"),
                Some(n) if !n.is_empty() => n.to_string(),
                _ => message,
            };
            let text = match ex.stack() {
                Some(stack) if !stack.trim().is_empty() => {
                    format!("{head}\n{}", stack.trim_end())
                }
                _ => head,
            };
            crate::positions::map_places(&text, |path, line, column| {
                let own = crate::commonjs::own_column(path, line, column);
                original(path, line, own)
                    .or_else(|| (own != column).then(|| format!("{path}:{line}:{own}")))
            })
        }
        CaughtError::Value(v) => show(v),
        CaughtError::Error(e) => e.to_string(),
    }
}

/// Where `line:column` of the module `path` came from (`path:line:column`), by its source map.
#[cfg(not(test))]
fn original(path: &str, line: u32, column: u32) -> Option<String> {
    crate::host::modules::original(path, line, column)
        .map(|p| format!("{}:{}:{}", p.path, p.line, p.column))
}

/// Natively (the engine's unit tests, without a host) no module has a source map.
#[cfg(test)]
fn original(_path: &str, _line: u32, _column: u32) -> Option<String> {
    None
}

/// A value as text, as `console.log` would print it.
fn show(v: &Value<'_>) -> String {
    modules::show(v).unwrap_or_else(|_| format!("{v:?}"))
}

/// The script's `options` as JSON (`{}` when it has none). The call cannot fail: a script
/// that cannot load logs why and stops the VU (the host reports the trap).
pub fn options() -> String {
    let result = with_script(|ctx, ns| {
        let options: Value = ns.get("options").map_err(|e| e.to_string())?;
        let options = match options.as_function() {
            Some(f) => f
                .call::<_, Value>(())
                .catch(ctx)
                .map_err(|e| describe(&e))?,
            None => options,
        };
        if options.is_undefined() || options.is_null() {
            return Ok("{}".to_string());
        }
        ctx.json_stringify(options)
            .catch(ctx)
            .map_err(|e| {
                format!(
                    "the script's options cannot be written as JSON: {}",
                    describe(&e)
                )
            })?
            .map(|s| s.to_string().map_err(|e| e.to_string()))
            .transpose()
            .map(|s| s.unwrap_or_else(|| "{}".into()))
    });
    modules::end_call();
    result.unwrap_or_else(|e| fatal(&e))
}

/// `default` and the other exported functions a scenario's `exec` may name.
pub fn entry_points() -> Vec<String> {
    let result = with_script(|_, ns| entry_names(&ns));
    result.unwrap_or_else(|e| fatal(&e))
}

/// The exported functions that are entry points, in the namespace's order (the same in every
/// VU: a module namespace lists its exports sorted).
fn entry_names(ns: &Object<'_>) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for key in ns.keys::<String>() {
        let key = key.map_err(|e| e.to_string())?;
        let value: Value = ns.get(&key).map_err(|e| e.to_string())?;
        if value.is_function() && !NOT_ENTRY_POINTS.contains(&key.as_str()) {
            names.push(key);
        }
    }
    Ok(names)
}

/// A script that cannot load: say why in the test's log, then trap. (`options` and
/// `entry-points` have no error in the world; a trap is how they fail. No panic: its message on
/// stderr would only repeat the log line.)
fn fatal(message: &str) -> ! {
    context::log(context::LogLevel::Error, message);
    std::process::abort();
}

/// Runs `setup()`; its result as JSON bytes.
pub fn setup() -> Result<Vec<u8>, String> {
    let result = with_script(|ctx, ns| {
        modules::begin_call();
        let value: Value = match ns
            .get::<_, Option<Function>>("setup")
            .map_err(|e| e.to_string())?
        {
            Some(setup) => {
                let ret = setup
                    .call::<_, Value>(())
                    .catch(ctx)
                    .map_err(|e| describe(&e))?;
                event_loop::settle_value(ctx, ret)
                    .catch(ctx)
                    .map_err(|e| describe(&e))?
            }
            // No setup(): no data at all (k6 then has no `setup_data` in the summary).
            None => return Ok(Vec::new()),
        };
        // A setup() that returns nothing is one without data, as in k6: the iterations and
        // teardown() get `undefined` (a default parameter applies), and there is no
        // `setup_data` in the summary.
        if value.is_undefined() {
            return Ok(Vec::new());
        }
        let json = ctx
            .json_stringify(value)
            .catch(ctx)
            .map_err(|e| format!("setup's result cannot be written as JSON: {}", describe(&e)))?;
        Ok(json
            .map(|s| s.to_string().unwrap_or_default().into_bytes())
            .unwrap_or_else(|| b"null".to_vec()))
    });
    modules::end_call();
    result
}

/// Runs one iteration of the entry point at index `entry` of [`entry_points`], with the setup
/// data.
pub fn iteration(entry: u32) -> Result<(), String> {
    let result = with_script(|ctx, ns| {
        modules::begin_call();
        let entry = entry_function(&ns, entry)?;
        let data = iteration_data(ctx)?;
        call_settled(ctx, &entry, data)
    });
    modules::end_call();
    result
}

/// The entry point at `index`: the names are listed once per VU.
fn entry_function<'js>(ns: &Object<'js>, index: u32) -> Result<Function<'js>, String> {
    let name = ENTRIES.with(|names| {
        let mut names = names.borrow_mut();
        if names.is_none() {
            *names = Some(entry_names(ns)?);
        }
        let names = names.as_ref().expect("just set");
        usize::try_from(index)
            .ok()
            .and_then(|i| names.get(i))
            .cloned()
            .ok_or_else(|| format!("the script has no entry point number {index}"))
    })?;
    ns.get::<_, Option<Function>>(name.as_str())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the script has no exported function named '{name}'"))
}

/// Calls `f(data)` and runs the event loop until its result settles and nothing is left.
fn call_settled<'js>(ctx: &Ctx<'js>, f: &Function<'js>, data: Value<'js>) -> Result<(), String> {
    let ret = f
        .call::<_, Value>((data,))
        .catch(ctx)
        .map_err(|e| describe(&e))?;
    event_loop::settle_value(ctx, ret)
        .catch(ctx)
        .map_err(|e| describe(&e))?;
    Ok(())
}

/// Runs `teardown(data)`.
pub fn teardown(data: &[u8]) -> Result<(), String> {
    let result = with_script(|ctx, ns| {
        modules::begin_call();
        if let Some(teardown) = ns
            .get::<_, Option<Function>>("teardown")
            .map_err(|e| e.to_string())?
        {
            let data = setup_value(ctx, data)?;
            call_settled(ctx, &teardown, data)?;
        }
        Ok(())
    });
    modules::end_call();
    result
}

/// The setup data as the iterations see it: asked of the host and parsed the first time, then
/// the same value for every iteration of the VU (as k6: what one iteration changes in it, the
/// next sees).
fn iteration_data<'js>(ctx: &Ctx<'js>) -> Result<Value<'js>, String> {
    let cached = DATA.with(|d| d.borrow().clone());
    if let Some(v) = cached {
        return v.restore(ctx).map_err(|e| e.to_string());
    }
    let value = setup_value(ctx, &context::setup_data())?;
    DATA.with(|d| *d.borrow_mut() = Some(Persistent::save(ctx, value.clone())));
    Ok(value)
}

/// `bytes`, setup's JSON, as a value: `undefined` when there are none (no `setup`).
fn setup_value<'js>(ctx: &Ctx<'js>, bytes: &[u8]) -> Result<Value<'js>, String> {
    if bytes.is_empty() {
        return Ok(Value::new_undefined(ctx.clone()));
    }
    ctx.json_parse(bytes.to_vec())
        .catch(ctx)
        .map_err(|e| format!("the setup data is not JSON: {}", describe(&e)))
}

thread_local! {
    /// The setup data, parsed once per VU.
    static DATA: RefCell<Option<Persistent<Value<'static>>>> = const { RefCell::new(None) };
    /// The names of the entry points, in `entry-points`' order.
    static ENTRIES: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs natively: the built-in modules compile, link and evaluate without calling the host.
    #[test]
    fn the_engine_starts_with_every_built_in_module() {
        let vm = Vm::new().unwrap();
        vm.ctx.with(|ctx| {
            for name in modules::PRELOADED {
                let ns: Object = Module::import(&ctx, *name)
                    .unwrap()
                    .finish()
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                if !modules::is_internal(name) {
                    assert!(ns.keys::<String>().count() > 0, "{name} exports something");
                }
            }
            let fetch: Value = ctx.globals().get("fetch").unwrap();
            assert!(fetch.is_function(), "fetch is a global");
            let env: Value = ctx.globals().get("__ENV").unwrap();
            assert!(env.is_object(), "__ENV is a global");
        });
    }

    #[test]
    fn errors_show_name_message_and_where() {
        let vm = Vm::new().unwrap();
        vm.ctx.with(|ctx| {
            let err = Module::declare(
                ctx.clone(),
                "/t/bad.js",
                "export default function () {\n  let x = ;\n}",
            )
            .catch(&ctx)
            .unwrap_err();
            let text = describe(&err);
            assert!(text.starts_with("SyntaxError: "), "{text}");
            assert!(
                text.contains("/t/bad.js:2"),
                "names the file and line: {text}"
            );
        });
    }
}
