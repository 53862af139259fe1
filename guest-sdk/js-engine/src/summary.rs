//! `handleSummary(data)`: the script's own end-of-test summary, as k6 calls it.

use rquickjs::{CatchResultExt, Ctx, Function, Object, Value};

use crate::bindings::SummaryOutcome;
use crate::event_loop;
use crate::modules::{self, bytes};
use crate::vm::{describe, with_script};

/// Calls the script's `handleSummary` with the summary `data` (JSON text) and collects what
/// it returned.
pub fn handle_summary(data: &str) -> SummaryOutcome {
    let result = with_script(|ctx, ns| {
        let Some(f) = ns
            .get::<_, Option<Function>>("handleSummary")
            .map_err(|e| e.to_string())?
        else {
            return Ok(SummaryOutcome::None);
        };
        modules::begin_call();
        let data = ctx
            .json_parse(data.to_owned())
            .catch(ctx)
            .map_err(|e| format!("the summary is not JSON: {}", describe(&e)))?;
        let called = f
            .call::<_, Value>((data,))
            .catch(ctx)
            .and_then(|v| event_loop::settle_value(ctx, v).catch(ctx));
        match called {
            Ok(v) => Ok(outputs(ctx, v)),
            Err(e) => Ok(SummaryOutcome::Thrown(describe(&e))),
        }
    });
    modules::end_call();
    result.unwrap_or_else(SummaryOutcome::Thrown)
}

/// What `handleSummary` returned, as k6 reads it: `null` or `undefined` for the normal
/// summary, else an object whose values are strings or `ArrayBuffer`s.
fn outputs<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> SummaryOutcome {
    if value.is_undefined() || value.is_null() {
        return SummaryOutcome::None;
    }
    let Some(obj) = value
        .as_object()
        .filter(|o| !o.is_array() && !o.is_function())
    else {
        return SummaryOutcome::Invalid(
            "handleSummary() should return a map with string keys".into(),
        );
    };
    match entries(ctx, obj) {
        Ok(list) => SummaryOutcome::Outputs(list),
        Err(e) => SummaryOutcome::Invalid(e),
    }
}

fn entries<'js>(ctx: &Ctx<'js>, obj: &Object<'js>) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut list = Vec::new();
    for entry in obj.props::<String, Value>() {
        let (key, v) = entry.map_err(|e| e.to_string())?;
        let is_data = v.is_string() || v.as_object().is_some_and(|o| !o.is_array());
        let data = is_data
            .then(|| bytes::of(ctx, &v, "handleSummary").catch(ctx).ok())
            .flatten()
            .ok_or_else(|| {
                format!(
                    "error handling summary object {key}: invalid type {}, it needs to be a string or ArrayBuffer",
                    bytes::type_name(&v)
                )
            })?;
        list.push((key, data));
    }
    Ok(list)
}
