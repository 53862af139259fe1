//! `stampede:host`: the host's imports as JavaScript functions, for the built-in modules.
//!
//! Calls are typed (records and strings through the component ABI, no JSON in between), and
//! the hot ones take their arguments positionally so that no object is built per call.
//! Responses stay in the host (a resource): JavaScript holds a handle, and each part crosses
//! over when it is first read. Handles are released at the end of the call that made them
//! (setup, iteration, teardown), so the host's table never grows with a script's history.

use std::cell::{Cell, RefCell};

use rquickjs::convert::Coerced;
use rquickjs::function::{Opt, Rest};
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::FromJs;
use rquickjs::{
    ArrayBuffer, CatchResultExt, Ctx, Exception, Function, IntoJs, Module, Object, Result, Value,
};

use crate::host::{checks, context, execution, http, metrics};

mod args;
mod jar;
use args::{go_error, pairs, request_of, set_jar, throw_of};
use jar::JarArg;

/// The module's exports, declared and defined from one list.
struct HostModule;

/// The functions of `stampede:host`.
pub(crate) const FUNCTIONS: &[&str] = &[
    "request",
    "startRequest",
    "batch",
    "status",
    "proto",
    "url",
    "error",
    "errorCode",
    "timings",
    "headers",
    "header",
    "bodyText",
    "bodyBytes",
    "jsonDepth",
    "cookies",
    "connection",
    "setResponseCallback",
    "newJar",
    "vuJar",
    "jarSet",
    "jarCookies",
    "jarClear",
    "jarDelete",
    "check",
    "register",
    "add",
    "info",
    "ids",
    "env",
    "sleep",
    "log",
    "groupEnter",
    "groupExit",
    "abortTest",
    "failTest",
    "randomSeed",
    "execState",
    "execOptions",
    "vuTags",
    "setVuTag",
    "deleteVuTag",
];

impl ModuleDef for HostModule {
    fn declare(decl: &Declarations<'_>) -> Result<()> {
        for name in FUNCTIONS {
            decl.declare(*name)?;
        }
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        let c = || ctx.clone();
        exports.export("request", Function::new(c(), request)?)?;
        exports.export("startRequest", Function::new(c(), start_request)?)?;
        exports.export("batch", Function::new(c(), batch)?)?;
        exports.export(
            "status",
            Function::new(c(), |h: f64| with_response(h, |r| Ok(r.status())))?,
        )?;
        exports.export(
            "proto",
            Function::new(c(), |h: f64| with_response(h, |r| Ok(r.proto())))?,
        )?;
        exports.export(
            "url",
            Function::new(c(), |h: f64| with_response(h, |r| Ok(r.url())))?,
        )?;
        exports.export(
            "error",
            Function::new(c(), |h: f64| with_response(h, |r| Ok(r.error())))?,
        )?;
        exports.export(
            "errorCode",
            Function::new(c(), |h: f64| with_response(h, |r| Ok(r.error_code())))?,
        )?;
        exports.export("timings", Function::new(c(), timings)?)?;
        exports.export("headers", Function::new(c(), headers)?)?;
        exports.export(
            "header",
            Function::new(c(), |h: f64, name: String| {
                with_response(h, |r| Ok(r.header(&name)))
            })?,
        )?;
        exports.export("bodyText", Function::new(c(), body_text)?)?;
        exports.export("bodyBytes", Function::new(c(), body_bytes)?)?;
        exports.export("jsonDepth", Function::new(c(), json_depth)?)?;
        exports.export("cookies", Function::new(c(), cookies)?)?;
        exports.export("connection", Function::new(c(), connection)?)?;
        exports.export(
            "setResponseCallback",
            Function::new(c(), set_response_callback)?,
        )?;
        exports.export("newJar", Function::new(c(), jar::new_jar)?)?;
        exports.export("vuJar", Function::new(c(), jar::vu_jar)?)?;
        exports.export("jarSet", Function::new(c(), jar::jar_set)?)?;
        exports.export("jarCookies", Function::new(c(), jar::jar_cookies)?)?;
        exports.export("jarClear", Function::new(c(), jar::jar_clear)?)?;
        exports.export("jarDelete", Function::new(c(), jar::jar_delete)?)?;
        exports.export("check", Function::new(c(), check)?)?;
        exports.export("register", Function::new(c(), register)?)?;
        exports.export("add", Function::new(c(), add)?)?;
        exports.export("info", Function::new(c(), info)?)?;
        exports.export("ids", Function::new(c(), ids)?)?;
        exports.export("env", Function::new(c(), env)?)?;
        exports.export("sleep", Function::new(c(), |s: f64| sleep(s))?)?;
        exports.export("log", Function::new(c(), log)?)?;
        exports.export(
            "groupEnter",
            Function::new(c(), |name: Coerced<String>| context::group_enter(&name.0))?,
        )?;
        exports.export("groupExit", Function::new(c(), context::group_exit)?)?;
        exports.export(
            "abortTest",
            Function::new(c(), |reason: Coerced<String>| {
                context::abort_test(&reason.0)
            })?,
        )?;
        exports.export(
            "failTest",
            Function::new(c(), |reason: Coerced<String>| context::fail_test(&reason.0))?,
        )?;
        exports.export("randomSeed", Function::new(c(), random_seed)?)?;
        exports.export("execState", Function::new(c(), execution::state)?)?;
        exports.export("execOptions", Function::new(c(), execution::options)?)?;
        exports.export("vuTags", Function::new(c(), vu_tags)?)?;
        exports.export("setVuTag", Function::new(c(), set_vu_tag)?)?;
        exports.export(
            "deleteVuTag",
            Function::new(c(), |name: Coerced<String>| execution::delete_tag(&name.0))?,
        )?;
        Ok(())
    }
}

/// Declares `stampede:host` under `name`.
pub fn declare<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Module<'js>> {
    Module::declare_def::<HostModule, _>(ctx.clone(), name)
}

// ---- per-VU and per-call state ----------------------------------------------------------

thread_local! {
    /// Responses made during the current call; a handle is an index + 1.
    static RESPONSES: RefCell<Vec<Option<http::Response>>> = const { RefCell::new(Vec::new()) };
    /// The state of this VU's `Math.random` (xorshift64*), seeded when the VU starts.
    static RANDOM: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) };
}

/// Seeds `Math.random` for this VU: every VU starts from the same snapshot, so the state the
/// snapshot holds must not be shared.
pub fn vu_started() {
    // k6's `responseType` decides per request, `discardResponseBodies` only its default
    // (`k6/http` reads it): the host is not to discard on its own.
    http::discard_by_request();
    let info = context::info();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut seed = nanos ^ (u64::from(info.vu_id)).wrapping_mul(0xA24B_AED4_963E_E407);
    // splitmix64, so that close seeds give unrelated streams.
    seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    RANDOM.with(|r| r.set(z.max(1)));
}

/// `randomSeed(n)`: the same seed gives the same `Math.random` sequence.
fn random_seed(seed: f64) {
    let mut z = (seed as i64 as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    RANDOM.with(|r| r.set((z ^ (z >> 31)).max(1)));
}

/// A number in [0, 1) from this VU's generator.
fn random() -> f64 {
    RANDOM.with(|r| {
        let mut x = r.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// Start of a call into the script. Cached facts are dropped: the next call may belong to
/// another scenario, with other `env` values.
pub fn begin_call() {
    INFO.with(|i| *i.borrow_mut() = None);
    ENV.with(|e| e.borrow_mut().clear());
}

/// End of a call into the script: the responses it made are released.
pub fn end_call() {
    crate::event_loop::clear_requests();
    crate::event_loop::clear_rejections();
    RESPONSES.with(|r| r.borrow_mut().clear());
    INFO.with(|i| *i.borrow_mut() = None);
    ENV.with(|e| e.borrow_mut().clear());
}

/// Installs the globals that need native code: `Math.random` (per VU) and the host bridge
/// that `globals.js` uses, removed again by it.
pub fn install(ctx: &Ctx<'_>) -> Result<()> {
    let math: Object = ctx.globals().get("Math")?;
    math.set(
        "random",
        Function::new(ctx.clone(), random)?.with_name("random")?,
    )?;
    let bridge = Object::new(ctx.clone())?;
    bridge.set("env", Function::new(ctx.clone(), env)?)?;
    bridge.set("envNames", Function::new(ctx.clone(), env_names)?)?;
    bridge.set("info", Function::new(ctx.clone(), info)?)?;
    bridge.set("log", Function::new(ctx.clone(), log)?)?;
    ctx.globals().set("__stampedeBridge", bridge)?;
    Ok(())
}

// ---- HTTP -------------------------------------------------------------------------------

/// Keeps a response for the script: its handle.
pub(crate) fn keep(res: http::Response) -> f64 {
    RESPONSES.with(|r| {
        let mut r = r.borrow_mut();
        r.push(Some(res));
        r.len() as f64
    })
}

/// `request(method, url, headers, body, timeoutMs, tags, name, redirects, discard, jar,
/// cookies, compression, auth, httpVersion)`: sends one request and returns the handle of its
/// response.
fn request<'js>(ctx: Ctx<'js>, args: Rest<Value<'js>>) -> Result<f64> {
    let throw = throw_of(&args.0);
    with_request(
        &ctx,
        &args.0,
        |req| match crate::host::async_http::send_checked(req, throw) {
            Ok(res) => Ok(keep(res)),
            Err(why) => Err(go_error(&ctx, &args.0, &why)),
        },
    )
}

/// The request `args` describe (as `request`'s arguments), with its jar, handed to `f`; a
/// script's own jar is borrowed meanwhile.
fn with_request<'js, R>(
    ctx: &Ctx<'js>,
    args: &[Value<'js>],
    f: impl FnOnce(&http::Request<'_>) -> Result<R>,
) -> Result<R> {
    let (req, jar) = request_of(ctx, args)?;
    let held = match &jar {
        JarArg::Custom(c) => Some(c.try_borrow()?),
        _ => None,
    };
    let mut req: http::Request<'_> = req;
    set_jar(&mut req, jar::choose(&jar, held.as_deref()));
    f(&req)
}

/// `startRequest(onDone, method, url, headers, …)` (after `onDone`, as `request`'s
/// arguments): starts the request on the host (k6's `http.asyncRequest`) and returns at once;
/// the event loop calls `onDone(handle)` with its response when it completes, or
/// `onDone(undefined, error)` when it failed and k6's `throw` option is set.
fn start_request<'js>(ctx: Ctx<'js>, on_done: Function<'js>, args: Rest<Value<'js>>) -> Result<()> {
    let throw = throw_of(&args.0);
    with_request(&ctx, &args.0, |req| {
        match crate::host::async_http::start(req, throw) {
            Ok(id) => {
                crate::event_loop::add_request(&ctx, id, on_done);
                Ok(())
            }
            Err(e) => Err(Exception::throw_message(&ctx, &e)),
        }
    })
}

/// `batch([[method, url, headers, …], …])` (each as `request`'s arguments): sends the
/// requests concurrently; the handles of their responses in order.
fn batch<'js>(ctx: Ctx<'js>, list: Vec<Vec<Value<'js>>>) -> Result<Vec<f64>> {
    let mut reqs = Vec::with_capacity(list.len());
    let mut jars = Vec::with_capacity(list.len());
    for args in &list {
        let (req, jar) = request_of(&ctx, args)?;
        reqs.push(req);
        jars.push(jar);
    }
    let held = jars
        .iter()
        .map(|j| match j {
            JarArg::Custom(c) => c.try_borrow().map(Some),
            _ => Ok(None),
        })
        .collect::<Result<Vec<_>>>()?;
    let reqs: Vec<http::Request<'_>> = reqs
        .into_iter()
        .zip(jars.iter().zip(&held))
        .map(|(mut req, (jar, held))| {
            set_jar(&mut req, jar::choose(jar, held.as_deref()));
            req
        })
        .collect();
    match crate::host::async_http::batch_checked(&reqs, None) {
        Ok(responses) => Ok(responses.into_iter().map(keep).collect()),
        Err((i, why)) => {
            // As k6: the first request that got no response, named.
            let failed = list.get(i as usize).map(Vec::as_slice).unwrap_or_default();
            Err(go_error(&ctx, failed, &why))
        }
    }
}

/// `setResponseCallback(statuses, ranges)`: the statuses and `[min, max]` ranges this VU's
/// requests count as expected; `null` statuses for none (no `http_req_failed`).
fn set_response_callback(statuses: Option<Vec<f64>>, ranges: Option<Vec<Vec<f64>>>) {
    let Some(statuses) = statuses else {
        http::set_response_callback(None);
        return;
    };
    let int = |n: f64| n.clamp(i32::MIN as f64, i32::MAX as f64) as i32;
    let ranges = ranges
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.len() == 2)
        .map(|r| (int(r[0]), int(r[1])))
        .collect();
    http::set_response_callback(Some(&http::ExpectedStatuses {
        statuses: statuses.into_iter().map(int).collect(),
        ranges,
    }));
}

/// The connection's peer and TLS parameters, with k6's names.
fn connection<'js>(ctx: Ctx<'js>, h: f64) -> Result<Object<'js>> {
    let c = with_response(h, |r| Ok(r.connection()))?;
    let o = Object::new(ctx)?;
    o.set("remote_ip", c.remote_ip)?;
    o.set("remote_port", c.remote_port)?;
    o.set("tls_version", c.tls_version)?;
    o.set("tls_cipher_suite", c.tls_cipher_suite)?;
    Ok(o)
}

/// The cookies the response set.
fn cookies<'js>(ctx: Ctx<'js>, h: f64) -> Result<rquickjs::Array<'js>> {
    let list = with_response(h, |r| Ok(r.cookies()))?;
    jar::response_cookies(&ctx, list)
}

/// Runs `f` on the response with handle `h`.
fn with_response<T>(h: f64, f: impl FnOnce(&http::Response) -> Result<T>) -> Result<T> {
    RESPONSES.with(|r| {
        let r = r.borrow();
        match r.get((h as usize).wrapping_sub(1)).and_then(Option::as_ref) {
            Some(res) => f(res),
            None => Err(rquickjs::Error::new_from_js_message(
                "handle",
                "response",
                "the response is no longer available: read what you need from a response during the call (iteration, setup, teardown) that made it",
            )),
        }
    })
}

fn timings<'js>(ctx: Ctx<'js>, h: f64) -> Result<Object<'js>> {
    let t = with_response(h, |r| Ok(r.timings()))?;
    let o = Object::new(ctx)?;
    o.set("blocked", t.blocked)?;
    o.set("connecting", t.connecting)?;
    o.set("tls_handshaking", t.tls_handshaking)?;
    o.set("sending", t.sending)?;
    o.set("waiting", t.waiting)?;
    o.set("receiving", t.receiving)?;
    o.set("duration", t.duration)?;
    Ok(o)
}

/// The headers as `[[name, value], …]`.
fn headers<'js>(ctx: Ctx<'js>, h: f64) -> Result<rquickjs::Array<'js>> {
    let list = with_response(h, |r| Ok(r.headers()))?;
    let out = rquickjs::Array::new(ctx.clone())?;
    for (i, (k, v)) in list.into_iter().enumerate() {
        let pair = rquickjs::Array::new(ctx.clone())?;
        pair.set(0, k)?;
        pair.set(1, v)?;
        out.set(i, pair)?;
    }
    Ok(out)
}

fn body_text(h: f64) -> Result<String> {
    let bytes = with_response(h, |r| Ok(r.body()))?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// How deep the arrays and objects of the JSON `text` nest, counted no further than one past
/// `limit`: `res.json()` refuses what Go's encoding/json (k6's) refuses, more than 10,000
/// levels, before QuickJS's parser — which recurses on the wasm stack — could overflow it.
fn json_depth(text: String, limit: f64) -> f64 {
    let limit = limit.max(0.0) as usize;
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    break;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest as f64
}

fn body_bytes<'js>(ctx: Ctx<'js>, h: f64) -> Result<ArrayBuffer<'js>> {
    let bytes = with_response(h, |r| Ok(r.body()))?;
    ArrayBuffer::new(ctx, bytes)
}

// ---- checks, metrics, context -----------------------------------------------------------

/// `check(name, ok, tags)`: records one check result.
fn check<'js>(name: Coerced<String>, ok: bool, tags: Opt<Value<'js>>) -> Result<bool> {
    let tags = match tags.0 {
        Some(t) => pairs(&t)?,
        None => Vec::new(),
    };
    Ok(checks::check(&name.0, ok, &tags))
}

/// `register(name, kind, isTime)`: a custom metric's handle.
fn register(ctx: Ctx<'_>, name: String, kind: String, is_time: Opt<bool>) -> Result<u32> {
    let kind = match kind.as_str() {
        "counter" => metrics::MetricType::Counter,
        "gauge" => metrics::MetricType::Gauge,
        "rate" => metrics::MetricType::Rate,
        "trend" => metrics::MetricType::Trend,
        other => {
            return Err(Exception::throw_type(
                &ctx,
                &format!("unknown metric type '{other}'"),
            ))
        }
    };
    metrics::register(&name, kind, is_time.0.unwrap_or(false)).map_err(|e| {
        Exception::throw_message(&ctx, &format!("cannot create the metric '{name}': {e}"))
    })
}

/// `add(handle, value, tags)`.
fn add<'js>(id: u32, value: f64, tags: Opt<Value<'js>>) -> Result<()> {
    let tags = match tags.0 {
        Some(t) => pairs(&t)?,
        None => Vec::new(),
    };
    metrics::add(id, value, &tags);
    Ok(())
}

thread_local! {
    /// `context.info()` of the current call: it does not change within a call, and scripts
    /// read it often (`__VU`, `__ITER`, `exec.*`).
    static INFO: RefCell<Option<context::ExecInfo>> = const { RefCell::new(None) };
}

/// The current VU and iteration, fetched once per call.
fn info(ctx: Ctx<'_>) -> Result<Object<'_>> {
    let i = INFO.with(|i| i.borrow_mut().get_or_insert_with(context::info).clone());
    let o = Object::new(ctx)?;
    o.set("vuId", i.vu_id)?;
    o.set("iterationInInstance", i.iteration_in_instance as f64)?;
    o.set("iterationInScenario", i.iteration_in_scenario as f64)?;
    o.set("scenario", i.scenario)?;
    o.set("testElapsedMs", i.test_elapsed_ms as f64)?;
    Ok(o)
}

/// The VU's and the iteration's numbers in the whole test (on a test split with execution
/// segments, they differ from those in this instance).
fn ids(ctx: Ctx<'_>) -> Result<Object<'_>> {
    let i = context::ids();
    let o = Object::new(ctx)?;
    o.set("vuIdInTest", i.vu_id_in_test)?;
    o.set(
        "scenarioIterationInInstance",
        i.scenario_iteration_in_instance as f64,
    )?;
    o.set(
        "scenarioIterationInTest",
        i.scenario_iteration_in_test as f64,
    )?;
    Ok(o)
}

/// The tags on the VU's samples now (k6's `exec.vu.tags`).
fn vu_tags(ctx: Ctx<'_>) -> Result<Object<'_>> {
    let o = Object::new(ctx)?;
    for (k, v) in execution::tags() {
        o.set(k, v)?;
    }
    Ok(o)
}

/// Sets a tag on the VU's samples; a `TypeError` when the host refuses it.
fn set_vu_tag(ctx: Ctx<'_>, name: Coerced<String>, value: Coerced<String>) -> Result<()> {
    execution::set_tag(&name.0, &value.0).map_err(|e| Exception::throw_type(&ctx, &e))
}

thread_local! {
    /// Variables read during the current call (`__ENV.NAME` in a loop asks the host once).
    static ENV: RefCell<Vec<(String, Option<String>)>> = const { RefCell::new(Vec::new()) };
}

/// A variable from `-e` or the scenario's `env`: asked once per call, because a VU may run the
/// next call in a scenario whose `env` differs. The init context sees the test's variables
/// only, as in k6 (a VU's script is not evaluated for one scenario).
fn env(name: String) -> Option<String> {
    ENV.with(|e| {
        let mut e = e.borrow_mut();
        if let Some((_, v)) = e.iter().find(|(n, _)| *n == name) {
            return v.clone();
        }
        let v = if super::files::in_init() {
            execution::env_vars(true)
                .into_iter()
                .find_map(|(n, v)| (n == name).then_some(v))
        } else {
            context::env(&name)
        };
        e.push((name, v.clone()));
        v
    })
}

/// The names of the variables `__ENV` holds now (`Object.keys(__ENV)`).
fn env_names() -> Vec<String> {
    // The host's names are unique (a map's keys).
    execution::env_vars(super::files::in_init())
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// Think time; NaN and negative values sleep not at all.
fn sleep(seconds: f64) {
    if seconds.is_finite() && seconds > 0.0 {
        context::sleep(seconds);
    }
}

fn log(level: String, message: String) {
    let level = match level.as_str() {
        "debug" => context::LogLevel::Debug,
        "warn" => context::LogLevel::Warn,
        "error" => context::LogLevel::Error,
        _ => context::LogLevel::Info,
    };
    context::log(level, &message);
}

/// A value as text for a log line: strings as they are, errors with their stack, objects as
/// JSON (falling back to `String(v)`).
pub fn show(v: &Value<'_>) -> Result<String> {
    let ctx = v.ctx();
    if let Some(s) = v.as_string() {
        return s.to_string();
    }
    if let Some(obj) = v.as_object() {
        if let Some(e) = obj.as_exception() {
            let message = e.message().unwrap_or_default();
            let name: Option<String> = obj.get("name").ok();
            let head = match name {
                Some(n) if !message.is_empty() => format!("{n}: {message}"),
                Some(n) => n,
                None => message,
            };
            return Ok(head);
        }
        if !v.is_function() {
            if let Ok(Some(json)) = ctx.json_stringify(v.clone()).catch(ctx) {
                return json.to_string();
            }
        }
    }
    let s: Coerced<String> = Coerced::from_js(ctx, v.clone())?;
    Ok(s.0)
}

#[allow(dead_code)]
fn into_js<'js, T: IntoJs<'js>>(ctx: &Ctx<'js>, t: T) -> Result<Value<'js>> {
    t.into_js(ctx)
}

#[cfg(test)]
mod json_depth_tests {
    #[test]
    fn json_depth_counts_nesting_outside_strings_and_stops_past_the_limit() {
        let depth = |t: &str, limit| super::json_depth(t.to_owned(), limit);
        assert_eq!(depth(r#"{"a": [1, {"b": []}]}"#, 10.0), 4.0);
        assert_eq!(depth(r#"["[[[", "\"{{", {}]"#, 10.0), 2.0);
        assert_eq!(depth("7", 10.0), 0.0);
        assert_eq!(depth(&"[".repeat(50), 10.0), 11.0);
    }
}
