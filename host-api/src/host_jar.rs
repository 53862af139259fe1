//! The host side of the `cookie-jar` resource: k6's `CookieJar` methods on the VU's jar or on
//! a jar the script made.

use std::time::{Duration, SystemTime};

use wasmtime::component::Resource;

use crate::bindings::stampede::script::http as wit_http;
use crate::http::cookies::{JarHandle, NewCookie, SharedJar};
use crate::ScriptCtxView;

/// A `Set-Cookie` as the script sees it (k6's fields).
pub(crate) fn response_cookie(c: NewCookie) -> wit_http::ResponseCookie {
    wit_http::ResponseCookie {
        name: c.name,
        value: c.value,
        domain: c.domain.unwrap_or_default(),
        path: c.path.unwrap_or_default(),
        http_only: c.http_only,
        secure: c.secure,
        max_age: c.max_age.unwrap_or(0),
        expires: c.expires.map(millis_since_epoch).unwrap_or(0),
    }
}

fn millis_since_epoch(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

fn parse_url(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL `{url}`: {e}"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(format!(
            "invalid URL `{url}`: cookies need an http or https URL, not `{other}:`"
        )),
    }
}

impl ScriptCtxView<'_> {
    fn jar_of(&self, r: &Resource<JarHandle>) -> wasmtime::Result<SharedJar> {
        Ok(match self.table.get(r)? {
            JarHandle::Vu => self.http.jar().clone(),
            JarHandle::Own(jar) => jar.clone(),
        })
    }
}

impl wit_http::HostCookieJar for ScriptCtxView<'_> {
    fn new(&mut self) -> wasmtime::Result<Resource<JarHandle>> {
        Ok(self.table.push(JarHandle::Own(SharedJar::new()))?)
    }

    fn set(
        &mut self,
        r: Resource<JarHandle>,
        url: String,
        name: String,
        value: String,
        options: wit_http::CookieOptions,
    ) -> wasmtime::Result<Result<(), String>> {
        let jar = self.jar_of(&r)?;
        let url = match parse_url(&url) {
            Ok(u) => u,
            Err(e) => return Ok(Err(e)),
        };
        if name.is_empty() {
            return Ok(Err("a cookie needs a name".into()));
        }
        let expires = options.expires_ms.map(|ms| {
            let magnitude = Duration::from_millis(ms.unsigned_abs());
            if ms >= 0 {
                SystemTime::UNIX_EPOCH + magnitude
            } else {
                SystemTime::UNIX_EPOCH - magnitude
            }
        });
        let cookie = NewCookie {
            name,
            value,
            domain: options
                .domain
                .filter(|d| !d.is_empty())
                .map(|d| d.trim_start_matches('.').to_owned()),
            path: options.path.filter(|p| !p.is_empty()),
            expires,
            max_age: options.max_age,
            secure: options.secure,
            http_only: options.http_only,
        };
        let stored = jar.lock().store(&url, cookie, SystemTime::now());
        Ok(stored.map_err(|e| e.0))
    }

    fn cookies_for_url(
        &mut self,
        r: Resource<JarHandle>,
        url: String,
    ) -> wasmtime::Result<Result<Vec<(String, String)>, String>> {
        let jar = self.jar_of(&r)?;
        let url = match parse_url(&url) {
            Ok(u) => u,
            Err(e) => return Ok(Err(e)),
        };
        let jar = jar.lock();
        Ok(Ok(jar
            .cookies_for(&url, SystemTime::now())
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()))
    }

    fn clear(
        &mut self,
        r: Resource<JarHandle>,
        url: String,
    ) -> wasmtime::Result<Result<(), String>> {
        let jar = self.jar_of(&r)?;
        Ok(parse_url(&url).map(|u| jar.lock().remove_for(&u, None, SystemTime::now())))
    }

    fn delete(
        &mut self,
        r: Resource<JarHandle>,
        url: String,
        name: String,
    ) -> wasmtime::Result<Result<(), String>> {
        let jar = self.jar_of(&r)?;
        if name.is_empty() {
            return Ok(Err("cookie: is null".into()));
        }
        Ok(parse_url(&url).map(|u| jar.lock().remove_for(&u, Some(&name), SystemTime::now())))
    }

    fn drop(&mut self, r: Resource<JarHandle>) -> wasmtime::Result<()> {
        self.table.delete(r)?;
        Ok(())
    }
}
