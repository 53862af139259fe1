//! The web platform's globals of `webapi.js` (`crypto`, `CryptoKey`, `TextEncoder`,
//! `TextDecoder`), made when a script first reads one.
//!
//! Evaluating `webapi.js` in the snapshot would make every VU pay for its objects (about 60 KB
//! of RSS per VU, measured with 200 idle VUs: the collector's passes touch every page of the
//! heap); most scripts never use them. Each name is an accessor on `globalThis` until then: the
//! first read evaluates the module, which defines the globals as plain values in its place.

use rquickjs::{Ctx, Function, Result, Value};

/// The globals `webapi.js` defines.
const NAMES: &[&str] = &["crypto", "CryptoKey", "TextEncoder", "TextDecoder"];

/// Evaluates `webapi.js` and returns the global `name` it defined. It runs once: the module
/// replaces every accessor with a value. (Declared directly, not imported: an import would be
/// resolved from the script reading the global, and scripts may not import internal modules.)
fn load<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Value<'js>> {
    let (_, done) = super::declare(ctx, "stampede:webapi")?.eval()?;
    done.finish::<Value>()?;
    ctx.globals().get(name)
}

/// Defines the accessors.
pub fn install<'js>(ctx: &Ctx<'js>) -> Result<()> {
    let define: Function<'js> = ctx.eval(
        "(name, get) => Object.defineProperty(globalThis, name, {
           get() { return get(name); },
           set(value) {
             Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
           },
           configurable: true,
           enumerable: false,
         })",
    )?;
    let get = Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String| load(&ctx, &name))?;
    for name in NAMES {
        define.call::<_, Value>((*name, get.clone()))?;
    }
    Ok(())
}

/// `stampede:lazy` (internal): `html()`, `k6/html`'s namespace, evaluated on first use, for
/// `res.html()` (`html_response.js`), and `gjson()`, `stampede:gjson`'s, for
/// `res.json(selector)`: preloading them would cost every VU their objects.
struct LazyModule;

impl rquickjs::module::ModuleDef for LazyModule {
    fn declare(decl: &rquickjs::module::Declarations<'_>) -> Result<()> {
        decl.declare("html")?;
        decl.declare("gjson")?;
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &rquickjs::module::Exports<'js>) -> Result<()> {
        let html = Function::new(ctx.clone(), |ctx: Ctx<'js>| {
            // `k6/html` is public: the import is the same module a script's import gets.
            rquickjs::Module::import(&ctx, "k6/html")?.finish::<rquickjs::Object<'js>>()
        })?;
        exports.export("html", html)?;
        let gjson = Function::new(ctx.clone(), |ctx: Ctx<'js>| {
            rquickjs::Module::import(&ctx, "stampede:gjson")?.finish::<rquickjs::Object<'js>>()
        })?;
        exports.export("gjson", gjson)?;
        Ok(())
    }
}

/// Declares `stampede:lazy` under `name`.
pub fn declare_lazy<'js>(ctx: &Ctx<'js>, name: &str) -> Result<rquickjs::Module<'js>> {
    rquickjs::Module::declare_def::<LazyModule, _>(ctx.clone(), name)
}
