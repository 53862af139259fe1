//! Cookie jars and k6's cookie params: the host's `cookie-jar` resources as JavaScript objects,
//! and the jar and cookies a request names.
//!
//! A jar is a native class instance: the resource is dropped (and the host's jar with it) when
//! JavaScript collects the object, so a script that makes a jar per iteration does not grow the
//! host's table.

use rquickjs::class::{JsClass, Readable, Trace, Tracer};
use rquickjs::convert::Coerced;
use rquickjs::function::Constructor;
use rquickjs::{Class, Ctx, Exception, FromJs, JsLifetime, Object, Result, Value};

use crate::host::http;

/// A host cookie jar held by JavaScript (`k6/http`'s `CookieJar` wraps one).
pub struct JarBox(http::CookieJar);

// SAFETY: `JarBox` holds no JavaScript value, so it has no `'js` lifetime to change.
unsafe impl<'js> JsLifetime<'js> for JarBox {
    type Changed<'to> = JarBox;
}

impl<'js> Trace<'js> for JarBox {
    fn trace<'a>(&self, _tracer: Tracer<'a, 'js>) {}
}

impl<'js> JsClass<'js> for JarBox {
    const NAME: &'static str = "HostCookieJar";
    type Mutable = Readable;

    fn constructor(_ctx: &Ctx<'js>) -> Result<Option<Constructor<'js>>> {
        Ok(None)
    }
}

/// The jar a request reads and fills: k6's `jar` param.
pub enum JarArg<'js> {
    /// Absent: the VU's own jar.
    Vu,
    /// `jar: null`: none.
    NoJar,
    /// A jar the script made (or the VU's, through `http.cookieJar()`).
    Custom(Class<'js, JarBox>),
}

impl<'js> JarArg<'js> {
    /// The `jar` argument: `undefined` → the VU's, `null` → none, else a host jar.
    pub fn of(ctx: &Ctx<'js>, v: &Value<'js>) -> Result<Self> {
        if v.is_undefined() {
            return Ok(JarArg::Vu);
        }
        if v.is_null() {
            return Ok(JarArg::NoJar);
        }
        match v.as_object().and_then(Class::<JarBox>::from_object) {
            Some(c) => Ok(JarArg::Custom(c)),
            None => Err(Exception::throw_type(
                ctx,
                "params.jar must be a CookieJar (http.cookieJar() or new http.CookieJar()) or null",
            )),
        }
    }
}

/// Puts the jar of `arg` into `req`; `held` keeps a custom jar borrowed while the request is
/// sent.
pub fn choose<'a>(arg: &JarArg<'_>, held: Option<&'a JarBox>) -> http::JarChoice<'a> {
    match (arg, held) {
        (JarArg::NoJar, _) => http::JarChoice::NoJar,
        (_, Some(jar)) => http::JarChoice::Custom(&jar.0),
        _ => http::JarChoice::Vu,
    }
}

/// k6's `cookies` param: `{name: value}` or `{name: {value, replace}}`.
pub fn request_cookies<'js>(v: &Value<'js>) -> Result<Vec<http::RequestCookie>> {
    let mut out = Vec::new();
    let Some(obj) = v.as_object() else {
        return Ok(out);
    };
    for entry in obj.props::<String, Value>() {
        let (name, c) = entry?;
        if c.is_undefined() || c.is_null() {
            continue;
        }
        let (value, replace) = match c.as_object() {
            Some(o) if !c.is_string() => {
                let value: Value = o.get("value")?;
                let value = if value.is_undefined() || value.is_null() {
                    String::new()
                } else {
                    Coerced::<String>::from_js(v.ctx(), value)?.0
                };
                let replace: Coerced<bool> = o.get("replace")?;
                (value, replace.0)
            }
            _ => (Coerced::<String>::from_js(v.ctx(), c)?.0, false),
        };
        out.push(http::RequestCookie {
            name,
            value,
            replace,
        });
    }
    Ok(out)
}

/// k6's `auth` param: `'basic'` or `'digest'` (absent or empty: basic when the URL has
/// credentials).
pub fn auth<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Result<Option<http::AuthScheme>> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    let s = Coerced::<String>::from_js(ctx, v.clone())?.0;
    match s.as_str() {
        "" => Ok(None),
        "basic" => Ok(Some(http::AuthScheme::Basic)),
        "digest" => Ok(Some(http::AuthScheme::Digest)),
        other => Err(Exception::throw_type(
            ctx,
            &format!("unsupported auth '{other}' (stampede has 'basic' and 'digest'; 'ntlm' is not supported)"),
        )),
    }
}

/// A host error as a JavaScript exception.
fn thrown(ctx: &Ctx<'_>, what: &str, e: String) -> rquickjs::Error {
    Exception::throw_message(ctx, &format!("{what}: {e}"))
}

/// `newJar()`: a new, empty jar.
pub fn new_jar(ctx: Ctx<'_>) -> Result<Class<'_, JarBox>> {
    Class::instance(ctx, JarBox(http::CookieJar::new()))
}

/// `vuJar()`: the VU's own jar.
pub fn vu_jar(ctx: Ctx<'_>) -> Result<Class<'_, JarBox>> {
    Class::instance(ctx, JarBox(http::vu_cookie_jar()))
}

/// `jarSet(jar, url, name, value, {domain, path, expiresMs, maxAge, secure, httpOnly})`: whether
/// the jar kept the cookie.
pub fn jar_set<'js>(
    ctx: Ctx<'js>,
    jar: Class<'js, JarBox>,
    url: String,
    name: String,
    value: String,
    opts: Object<'js>,
) -> Result<bool> {
    let whole = |n: Option<f64>| n.filter(|n| n.is_finite()).map(|n| n as i64);
    let options = http::CookieOptions {
        domain: opts.get("domain")?,
        path: opts.get("path")?,
        expires_ms: whole(opts.get("expiresMs")?),
        max_age: whole(opts.get("maxAge")?),
        secure: opts.get::<_, Option<bool>>("secure")?.unwrap_or(false),
        http_only: opts.get::<_, Option<bool>>("httpOnly")?.unwrap_or(false),
    };
    match jar.borrow().0.set(&url, &name, &value, &options) {
        Ok(()) => Ok(true),
        // As k6 (Go's jar): a cookie the jar refuses (a `domain` that does not match the URL's
        // host, say) is dropped without an exception; only a URL that is not one throws.
        Err(_) if is_http_url(&url) => Ok(false),
        Err(e) => Err(thrown(&ctx, "CookieJar.set", e)),
    }
}

/// Whether `url` starts like an absolute http(s) URL with a host.
fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    !rest.is_empty() && !rest.starts_with('/')
}

/// `jarCookies(jar, url)`: `{name: [value, …]}` of what a request to `url` would send.
pub fn jar_cookies<'js>(
    ctx: Ctx<'js>,
    jar: Class<'js, JarBox>,
    url: String,
) -> Result<Object<'js>> {
    let list = jar
        .borrow()
        .0
        .cookies_for_url(&url)
        .map_err(|e| thrown(&ctx, "CookieJar.cookiesForURL", e))?;
    let out = Object::new(ctx.clone())?;
    for (name, value) in list {
        let values: rquickjs::Array = match out.get::<_, Option<rquickjs::Array>>(&name)? {
            Some(a) => a,
            None => {
                let a = rquickjs::Array::new(ctx.clone())?;
                out.set(&name, a.clone())?;
                a
            }
        };
        values.set(values.len(), value)?;
    }
    Ok(out)
}

/// `jarClear(jar, url)`.
pub fn jar_clear<'js>(ctx: Ctx<'js>, jar: Class<'js, JarBox>, url: String) -> Result<()> {
    jar.borrow()
        .0
        .clear(&url)
        .map_err(|e| thrown(&ctx, "CookieJar.clear", e))
}

/// `jarDelete(jar, url, name)`.
pub fn jar_delete<'js>(
    ctx: Ctx<'js>,
    jar: Class<'js, JarBox>,
    url: String,
    name: String,
) -> Result<()> {
    jar.borrow()
        .0
        .delete(&url, &name)
        .map_err(|e| thrown(&ctx, "CookieJar.delete", e))
}

/// The cookies a response set, as `[{name, value, domain, path, http_only, secure, max_age,
/// expires}, …]` (k6's field names).
pub fn response_cookies<'js>(
    ctx: &Ctx<'js>,
    list: Vec<http::ResponseCookie>,
) -> Result<rquickjs::Array<'js>> {
    let out = rquickjs::Array::new(ctx.clone())?;
    for (i, c) in list.into_iter().enumerate() {
        let o = Object::new(ctx.clone())?;
        o.set("name", c.name)?;
        o.set("value", c.value)?;
        o.set("domain", c.domain)?;
        o.set("path", c.path)?;
        o.set("http_only", c.http_only)?;
        o.set("secure", c.secure)?;
        o.set("max_age", c.max_age as f64)?;
        o.set("expires", c.expires as f64)?;
        out.set(i, o)?;
    }
    Ok(out)
}
