//! The event loop of a VU: promise jobs, and timers (`setTimeout`, `setInterval`).
//!
//! Host calls block the VU (not the test: the host suspends this VU's fiber), so an `async`
//! iteration settles by running promise jobs until none is left; when only timers remain, the
//! VU sleeps through the host until the earliest is due, as k6's event loop waits for them.
//! An iteration ends when its promise has settled and no job or timer is left, as in k6.

use std::cell::RefCell;
use std::collections::BTreeMap;

use rquickjs::function::{Opt, Rest};
use rquickjs::{Ctx, Error, FromJs, Function, Persistent, Promise, Result, Value};

use crate::host::context;

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

/// Runs the earliest timer, sleeping until it is due; false when there is none.
fn run_next_timer(ctx: &Ctx<'_>) -> Result<bool> {
    let next = TIMERS.with(|t| {
        let t = t.borrow();
        t.by_id
            .iter()
            .min_by(|a, b| a.1.due_ms.total_cmp(&b.1.due_ms))
            .map(|(id, timer)| (*id, timer.due_ms))
    });
    let Some((id, due)) = next else {
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
    loop {
        if let Some(result) = promise.result::<T>() {
            return result;
        }
        if ctx.execute_pending_job() {
            continue;
        }
        if !run_next_timer(ctx)? {
            return Err(Error::new_from_js_message(
                "promise",
                "value",
                "the promise never settled: nothing left to wait for (no pending timer or request)",
            ));
        }
    }
}

/// `settle` for a value that may be a promise (an `async` function's result); then, as k6's
/// event loop does, runs what the iteration left queued — promise jobs and timers — until
/// nothing is left (an interval never cleared holds the iteration, as in k6).
pub fn settle_value<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<Value<'js>> {
    let result = match value.as_promise() {
        Some(p) => settle::<Value>(ctx, p.clone()),
        None => Ok(value),
    };
    let drained = drain(ctx);
    clear_timers();
    let value = result?;
    drained.map(|()| value)
}

/// Runs promise jobs and due timers until none is left.
fn drain(ctx: &Ctx<'_>) -> Result<()> {
    loop {
        if ctx.execute_pending_job() {
            continue;
        }
        if !run_next_timer(ctx)? {
            return Ok(());
        }
    }
}
