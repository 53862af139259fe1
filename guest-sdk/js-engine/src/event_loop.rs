//! The event loop of a VU: promise jobs, timers (`setTimeout`, `setInterval`) and the
//! requests of `http.asyncRequest`.
//!
//! Host calls block the VU (not the test: the host suspends this VU's fiber), so an `async`
//! iteration settles by running promise jobs until none is left. Then, as k6's event loop,
//! it waits for what comes next: a request in flight completing (the host's
//! `async-http.wait`, which returns them in the order they completed) or the earliest timer
//! being due. Requests run on the host meanwhile, whatever the VU does. An iteration ends
//! when its promise has settled and no job, timer or request is left, as in k6; when it
//! throws, the requests still in flight are cancelled (by the host, at the end of the call).

use std::cell::RefCell;
use std::collections::BTreeMap;

use rquickjs::function::{Opt, Rest};
use rquickjs::{Ctx, Error, FromJs, Function, Persistent, Promise, Result, Value};

use crate::host::{async_http, context};

/// A pending timer: when it is due (ms on the VU's clock), its callback and arguments, and
/// its period when it repeats.
struct Timer {
    due_ms: f64,
    callback: Persistent<Function<'static>>,
    args: Vec<Persistent<Value<'static>>>,
    every_ms: Option<f64>,
}

#[derive(Default)]
struct Timers {
    next_id: u32,
    by_id: BTreeMap<u32, Timer>,
}

thread_local! {
    static TIMERS: RefCell<Timers> = RefCell::new(Timers::default());
    /// The requests in flight, by the host's number: what to call with the outcome
    /// (`(responseHandle)` or `(undefined, error)`).
    static REQUESTS: RefCell<BTreeMap<u64, Persistent<Function<'static>>>> =
        const { RefCell::new(BTreeMap::new()) };
}

/// Notes request `id` (started on the host): `on_done` gets its outcome.
pub fn add_request<'js>(ctx: &Ctx<'js>, id: u64, on_done: Function<'js>) {
    let f = Persistent::save(ctx, on_done);
    REQUESTS.with(|r| r.borrow_mut().insert(id, f));
}

/// Waits for requests in flight (at most `timeout_ms`), and hands each completed one to its
/// callback, in the order they completed; false when none completed.
fn collect_requests(ctx: &Ctx<'_>, timeout_ms: Option<f64>) -> Result<bool> {
    let done = async_http::wait(timeout_ms);
    let any = !done.is_empty();
    for c in done {
        let Some(f) = REQUESTS.with(|r| r.borrow_mut().remove(&c.id)) else {
            continue;
        };
        let f = f.restore(ctx)?;
        match c.outcome {
            Ok(response) => {
                let handle = crate::modules::host::keep(response);
                f.call::<_, ()>((handle,))?;
            }
            Err(error) => f.call::<_, ()>((Value::new_undefined(ctx.clone()), error))?,
        }
    }
    Ok(any)
}

/// Runs what comes next once no promise job is left: a due timer, else the requests that
/// complete before the next timer, else that timer; false when nothing is left.
fn run_next_event(ctx: &Ctx<'_>) -> Result<bool> {
    if REQUESTS.with(|r| r.borrow().is_empty()) {
        return run_next_timer(ctx);
    }
    let wait = next_timer().map(|(_, due)| (due - now_ms()).max(0.0));
    if wait == Some(0.0) {
        return run_next_timer(ctx);
    }
    if collect_requests(ctx, wait)? {
        return Ok(true);
    }
    if wait.is_none() {
        // Nothing completed and nothing else to wait for: the host has no request of ours in
        // flight (it never forgets one during a call), so there is nothing left.
        REQUESTS.with(|r| r.borrow_mut().clear());
        return Ok(false);
    }
    run_next_timer(ctx)
}

/// Forgets the requests in flight (the host cancels them when the call ends).
pub fn clear_requests() {
    REQUESTS.with(|r| r.borrow_mut().clear());
}

/// Milliseconds on a monotonic clock.
fn now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

/// Installs `setTimeout`, `clearTimeout`, `setInterval` and `clearInterval` as globals.
pub fn install(ctx: &Ctx<'_>) -> Result<()> {
    let g = ctx.globals();
    g.set("setTimeout", Function::new(ctx.clone(), set_timeout)?)?;
    g.set("setInterval", Function::new(ctx.clone(), set_interval)?)?;
    let clear = |id: Opt<Value<'_>>| {
        if let Some(id) = id.0.and_then(|v| v.as_number()) {
            TIMERS.with(|t| t.borrow_mut().by_id.remove(&(id as u32)));
        }
    };
    g.set("clearTimeout", Function::new(ctx.clone(), clear)?)?;
    g.set("clearInterval", Function::new(ctx.clone(), clear)?)?;
    Ok(())
}

fn set_timeout<'js>(ctx: Ctx<'js>, f: Function<'js>, ms: Opt<f64>, args: Rest<Value<'js>>) -> u32 {
    add_timer(&ctx, f, ms.0, args.0, false)
}

fn set_interval<'js>(ctx: Ctx<'js>, f: Function<'js>, ms: Opt<f64>, args: Rest<Value<'js>>) -> u32 {
    add_timer(&ctx, f, ms.0, args.0, true)
}

fn add_timer<'js>(
    ctx: &Ctx<'js>,
    f: Function<'js>,
    ms: Option<f64>,
    args: Vec<Value<'js>>,
    repeat: bool,
) -> u32 {
    let delay = ms.filter(|m| m.is_finite() && *m > 0.0).unwrap_or(0.0);
    let timer = Timer {
        due_ms: now_ms() + delay,
        callback: Persistent::save(ctx, f),
        args: args.into_iter().map(|a| Persistent::save(ctx, a)).collect(),
        every_ms: repeat.then_some(delay),
    };
    TIMERS.with(|t| {
        let mut t = t.borrow_mut();
        t.next_id = t.next_id.wrapping_add(1).max(1);
        let id = t.next_id;
        t.by_id.insert(id, timer);
        id
    })
}

/// Drops the timers left behind (at the end of an iteration).
pub fn clear_timers() {
    TIMERS.with(|t| t.borrow_mut().by_id.clear());
}

/// The earliest timer: its id and when it is due.
fn next_timer() -> Option<(u32, f64)> {
    TIMERS.with(|t| {
        let t = t.borrow();
        t.by_id
            .iter()
            .min_by(|a, b| a.1.due_ms.total_cmp(&b.1.due_ms))
            .map(|(id, timer)| (*id, timer.due_ms))
    })
}

/// Runs the earliest timer, sleeping until it is due; false when there is none.
fn run_next_timer(ctx: &Ctx<'_>) -> Result<bool> {
    let Some((id, due)) = next_timer() else {
        return Ok(false);
    };
    let wait = due - now_ms();
    if wait > 0.0 {
        context::sleep(wait / 1000.0);
    }
    let timer = TIMERS.with(|t| {
        let mut t = t.borrow_mut();
        let timer = t.by_id.remove(&id)?;
        if let Some(every) = timer.every_ms {
            t.by_id.insert(
                id,
                Timer {
                    due_ms: now_ms() + every.max(1.0),
                    callback: timer.callback.clone(),
                    args: timer.args.clone(),
                    every_ms: Some(every),
                },
            );
        }
        Some(timer)
    });
    if let Some(timer) = timer {
        let f = timer.callback.restore(ctx)?;
        let args = timer
            .args
            .into_iter()
            .map(|a| a.restore(ctx))
            .collect::<Result<Vec<_>>>()?;
        let mut call = rquickjs::function::Args::new(ctx.clone(), args.len());
        call.push_args(args)?;
        f.call_arg::<Value>(call)?;
    }
    Ok(true)
}

/// Waits for `promise` to settle, running jobs and timers; its value, or its rejection thrown.
pub fn settle<'js, T: FromJs<'js>>(ctx: &Ctx<'js>, promise: Promise<'js>) -> Result<T> {
    settle_checked(ctx, promise, false)
}

/// `settle`; with `uncaught`, a promise rejected that nothing handles once the jobs have run
/// ends the wait with `Uncaught (in promise) …`, as k6's event loop does.
fn settle_checked<'js, T: FromJs<'js>>(
    ctx: &Ctx<'js>,
    promise: Promise<'js>,
    uncaught: bool,
) -> Result<T> {
    let main = promise.clone().into_value();
    loop {
        if let Some(result) = promise.result::<T>() {
            return result;
        }
        if ctx.execute_pending_job() {
            continue;
        }
        if uncaught {
            throw_uncaught(ctx, &main)?;
        }
        if !run_next_event(ctx)? {
            return Err(Error::new_from_js_message(
                "promise",
                "value",
                "the promise never settled: nothing left to wait for (no pending timer or request)",
            ));
        }
    }
}

/// `settle` for a value that may be a promise (an `async` function's result); then, as k6's
/// event loop does, runs what the iteration left queued — promise jobs, timers and requests
/// in flight — until nothing is left (an interval never cleared holds the iteration, as in
/// k6). A promise rejected that nothing handles fails it, as in k6. When the value is an
/// error, nothing more runs: k6 ends the iteration there, and the requests still in flight
/// are cancelled.
pub fn settle_value<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<Value<'js>> {
    let result = match value.as_promise() {
        Some(p) => settle_checked::<Value>(ctx, p.clone(), true),
        None => Ok(value.clone()),
    };
    let drained = match &result {
        Ok(_) => drain(ctx, &value),
        Err(_) => Ok(()),
    };
    clear_timers();
    clear_requests();
    clear_rejections();
    let value = result?;
    drained.map(|()| value)
}

/// Runs promise jobs, due timers and completed requests until none is left.
fn drain<'js>(ctx: &Ctx<'js>, main: &Value<'js>) -> Result<()> {
    loop {
        if ctx.execute_pending_job() {
            continue;
        }
        throw_uncaught(ctx, main)?;
        if !run_next_event(ctx)? {
            return Ok(());
        }
    }
}

thread_local! {
    /// Promises rejected that nothing handles (yet), with their reasons.
    static UNHANDLED: RefCell<Vec<(Persistent<Value<'static>>, Persistent<Value<'static>>)>> =
        const { RefCell::new(Vec::new()) };
}

/// Most unhandled rejections kept: the first is the one reported.
const MAX_UNHANDLED: usize = 64;

/// Notes the promises rejected without a handler, and forgets them when one is added.
pub fn track_rejections(rt: &rquickjs::Runtime) {
    rt.set_host_promise_rejection_tracker(Some(Box::new(|ctx, promise, reason, handled| {
        UNHANDLED.with(|u| {
            let mut u = u.borrow_mut();
            if handled {
                u.retain(|(p, _)| p.clone().restore(&ctx).is_ok_and(|p| p != promise));
            } else if u.len() < MAX_UNHANDLED {
                u.push((
                    Persistent::save(&ctx, promise),
                    Persistent::save(&ctx, reason),
                ));
            }
        });
    })));
}

/// Forgets the rejections noted (at the end of a call).
pub fn clear_rejections() {
    UNHANDLED.with(|u| u.borrow_mut().clear());
}

/// Throws `Uncaught (in promise) …` (with the reason's stack, as k6 shows it) for the first
/// rejected promise other than `main` that nothing handles.
fn throw_uncaught<'js>(ctx: &Ctx<'js>, main: &Value<'js>) -> Result<()> {
    let first = UNHANDLED.with(|u| {
        let u = u.borrow();
        for (p, reason) in u.iter() {
            match p.clone().restore(ctx) {
                Ok(p) if p == *main => continue,
                _ => return Some(reason.clone()),
            }
        }
        None
    });
    let Some(reason) = first else {
        return Ok(());
    };
    let reason = reason.restore(ctx)?;
    let stack = reason
        .as_object()
        .and_then(|o| o.get::<_, Option<String>>("stack").ok().flatten())
        .filter(|s| !s.is_empty());
    // As k6: an error as its name, message and stack, anything else as `String(reason)`.
    let shown = match reason.as_object().and_then(|o| o.as_exception()) {
        Some(_) => crate::modules::show(&reason).unwrap_or_default(),
        None => rquickjs::convert::Coerced::<String>::from_js(ctx, reason.clone())
            .map(|s| s.0)
            .unwrap_or_default(),
    };
    let text = match stack {
        Some(stack) => format!("{shown}\n{}", stack.trim_end()),
        None => shown,
    };
    clear_rejections();
    let text = rquickjs::String::from_str(ctx.clone(), &format!("Uncaught (in promise) {text}"))?;
    Err(ctx.throw(text.into_value()))
}

#[cfg(test)]
mod tests {
    use rquickjs::{CatchResultExt, Context, Runtime, Value};

    /// Evaluates `src` (an expression) and settles it as an iteration's result.
    fn settle(src: &str) -> Result<String, String> {
        let rt = Runtime::new().unwrap();
        super::track_rejections(&rt);
        let ctx = Context::full(&rt).unwrap();
        ctx.with(|ctx| {
            let v: Value = ctx.eval(src).unwrap();
            let out = super::settle_value(&ctx, v)
                .catch(&ctx)
                .map_err(|e| crate::vm::describe(&e))?;
            Ok(crate::modules::show(&out).unwrap())
        })
    }

    #[test]
    fn a_rejection_nothing_handles_fails_the_call_as_in_k6() {
        // k6 v2.2.0 logs `Uncaught (in promise) Error: never handled` with the stack.
        let err =
            settle("(async () => { Promise.reject(new Error('never handled')); return 1; })()")
                .unwrap_err();
        assert!(
            err.starts_with("Uncaught (in promise) Error: never handled\n"),
            "{err}"
        );
        // Handled before the jobs ran out: no error.
        let ok = settle(
            "(async () => { const p = Promise.reject(new Error('x')); await null; \
             p.catch(() => {}); return 'handled in time'; })()",
        );
        assert_eq!(ok.as_deref(), Ok("handled in time"));
        // The call's own rejection is its error, not an uncaught one.
        let err = settle("(async () => { throw new Error('own'); })()").unwrap_err();
        assert!(err.starts_with("Error: own"), "{err}");
        // Anything else than an error shows as its string, as k6's Go errors do.
        let err =
            settle("(async () => { Promise.reject({ toString: () => 'Get \"u\": why' }); })()")
                .unwrap_err();
        assert_eq!(err, "Uncaught (in promise) Get \"u\": why");
    }
}
