//! The positional arguments of `stampede:host`'s request functions made a host request: the
//! URL, headers, body and k6's params, and what k6 throws when a request fails under `throw`.

use rquickjs::convert::Coerced;
use rquickjs::{Ctx, FromJs, Object, Result, Value};

use super::jar::{self, JarArg};
use crate::host::http;
use crate::modules::bytes;

/// Turns a `{name: value}` object (headers, tags) or an array of pairs into pairs. Arrays as
/// values give one pair each, as k6 does for repeated headers.
pub(super) fn pairs<'js>(value: &Value<'js>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let Some(obj) = value.as_object() else {
        return Ok(out);
    };
    if let Some(array) = obj.as_array() {
        for item in array.iter::<Value>() {
            let item = item?;
            if let Some(pair) = item.as_array() {
                let k: Coerced<String> = pair.get(0)?;
                let v: Coerced<String> = pair.get(1)?;
                out.push((k.0, v.0));
            }
        }
        return Ok(out);
    }
    for entry in obj.props::<String, Value>() {
        let (k, v) = entry?;
        if v.is_undefined() || v.is_null() {
            continue;
        }
        if let Some(list) = v.as_array() {
            for item in list.iter::<Coerced<String>>() {
                out.push((k.clone(), item?.0));
            }
        } else {
            let v: Coerced<String> = Coerced::from_js(v.ctx(), v.clone())?;
            out.push((k, v.0));
        }
    }
    Ok(out)
}

/// A request body: a string (UTF-8), an ArrayBuffer or a typed array / DataView.
fn body_bytes_of<'js>(value: &Value<'js>) -> Result<Vec<u8>> {
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    if let Some(s) = value.as_string() {
        return Ok(s.to_string()?.into_bytes());
    }
    if value.is_object() {
        // An ArrayBuffer or any view of one: its bytes. Anything else is sent as its string
        // form, so the TypeError `bytes::of` throws for it is taken back.
        match bytes::of(value.ctx(), value, "body") {
            Ok(bytes) => return Ok(bytes),
            Err(_) => drop(value.ctx().catch()),
        }
    }
    let s: Coerced<String> = Coerced::from_js(value.ctx(), value.clone())?;
    Ok(s.0.into_bytes())
}

/// The index of each of `request`'s positional arguments.
pub(super) mod arg {
    pub const METHOD: usize = 0;
    pub const URL: usize = 1;
    pub const HEADERS: usize = 2;
    pub const BODY: usize = 3;
    pub const TIMEOUT_MS: usize = 4;
    pub const TAGS: usize = 5;
    pub const NAME: usize = 6;
    pub const REDIRECTS: usize = 7;
    pub const DISCARD: usize = 8;
    pub const JAR: usize = 9;
    pub const COOKIES: usize = 10;
    pub const COMPRESSION: usize = 11;
    pub const AUTH: usize = 12;
    pub const HTTP_VERSION: usize = 13;
    /// k6's `throw` for this request: a boolean, or nothing for the test's option.
    pub const THROW: usize = 14;
}

/// The request's own `throw` in `args` (`undefined`: the test's option).
pub(super) fn throw_of(args: &[Value<'_>]) -> Option<bool> {
    args.get(arg::THROW).and_then(Value::as_bool)
}

/// What k6 throws for a request that got no response under `throw`: a `GoError` (an `Error`
/// named so) whose message is Go's `*url.Error`, `Get "http://…": why`.
pub(super) fn go_error(ctx: &Ctx<'_>, args: &[Value<'_>], why: &str) -> rquickjs::Error {
    let text = |i: usize| {
        args.get(i)
            .and_then(|v| v.as_string())
            .and_then(|s| s.to_string().ok())
            .unwrap_or_default()
    };
    let method = text(arg::METHOD);
    let mut op = method.to_ascii_lowercase();
    if let Some(first) = op.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    let message = format!("{op} \"{}\": {why}", text(arg::URL));
    let made = || -> Result<Value<'_>> {
        let error: rquickjs::Constructor = ctx.globals().get("Error")?;
        let error: Object = error.construct((message,))?;
        // Not enumerable, as an error's own `name` would be.
        let name = rquickjs::object::Property::from("GoError")
            .writable()
            .configurable();
        error.prop("name", name)?;
        Ok(error.into_value())
    };
    match made() {
        Ok(error) => ctx.throw(error),
        Err(e) => e,
    }
}

/// The request of `[method, url, headers, body, timeoutMs, tags, name, redirects, discard,
/// jar, cookies, compression, auth, httpVersion]` (absent trailing ones take their defaults),
/// with the VU's jar for now, and the jar it names.
pub(super) fn request_of<'js>(
    ctx: &Ctx<'js>,
    args: &[Value<'js>],
) -> Result<(http::Request<'static>, JarArg<'js>)> {
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .unwrap_or_else(|| Value::new_undefined(ctx.clone()))
    };
    let opt_num = |v: Value<'js>| v.as_number().filter(|n| n.is_finite() && *n >= 0.0);
    let opt_string = |v: Value<'js>| -> Result<Option<String>> {
        if v.is_undefined() || v.is_null() {
            return Ok(None);
        }
        Ok(Some(Coerced::<String>::from_js(ctx, v)?.0))
    };
    let method: Coerced<String> = Coerced::from_js(ctx, arg(arg::METHOD))?;
    let url: Coerced<String> = Coerced::from_js(ctx, arg(arg::URL))?;
    let extras = http::RequestExtras {
        timeout_ms: opt_num(arg(arg::TIMEOUT_MS)).map(|n| n.round() as u64),
        tags: pairs(&arg(arg::TAGS))?,
        name: arg(arg::NAME)
            .as_string()
            .map(|s| s.to_string())
            .transpose()?,
        max_redirects: opt_num(arg(arg::REDIRECTS)).map(|n| n.min(u32::MAX as f64) as u32),
        discard_body: arg(arg::DISCARD).as_bool().unwrap_or(false),
        jar: http::JarChoice::Vu,
        cookies: jar::request_cookies(&arg(arg::COOKIES))?,
        compression: opt_string(arg(arg::COMPRESSION))?.unwrap_or_default(),
        auth: jar::auth(ctx, &arg(arg::AUTH))?,
        http_version: opt_string(arg(arg::HTTP_VERSION))?,
    };
    let req = http::Request {
        method: method.0,
        url: url.0,
        headers: pairs(&arg(arg::HEADERS))?,
        body: body_bytes_of(&arg(arg::BODY))?,
        // The common request hands over no extras at all.
        extras: (!is_plain(&extras)).then_some(extras),
    };
    Ok((req, JarArg::of(ctx, &arg(arg::JAR))?))
}

/// Whether `extras` are all defaults (the VU's jar is set apart, after).
fn is_plain(extras: &http::RequestExtras<'_>) -> bool {
    extras.timeout_ms.is_none()
        && extras.tags.is_empty()
        && extras.name.is_none()
        && extras.max_redirects.is_none()
        && !extras.discard_body
        && extras.cookies.is_empty()
        && extras.compression.is_empty()
        && extras.auth.is_none()
        && extras.http_version.is_none()
}

/// Sets the jar of `req`: a jar other than the VU's makes the request carry extras.
pub(super) fn set_jar<'a>(req: &mut http::Request<'a>, jar: http::JarChoice<'a>) {
    match (&mut req.extras, jar) {
        (Some(extras), jar) => extras.jar = jar,
        (None, http::JarChoice::Vu) => {}
        (None, jar) => {
            req.extras = Some(http::RequestExtras {
                timeout_ms: None,
                tags: Vec::new(),
                name: None,
                max_redirects: None,
                discard_body: false,
                jar,
                cookies: Vec::new(),
                compression: String::new(),
                auth: None,
                http_version: None,
            })
        }
    }
}
