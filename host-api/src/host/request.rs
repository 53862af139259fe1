//! A script's request as the client takes it: the WIT record (or `send-json`'s JSON) checked
//! and made a [`Request`], its cookies and jar resolved.

use std::time::Duration;

use bytes::Bytes;
use wasmtime::component::ResourceTable;

use crate::bindings::stampede::script::http as wit_http;
use crate::http::cookies::{JarHandle, SharedJar};
use crate::http::{errors, AuthScheme, Request, RequestCookie, RequestError};

/// The request of `send-json`: `request`'s fields in camelCase, all but `url` optional.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JsonRequest {
    #[serde(default = "default_method")]
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    timeout_ms: Option<f64>,
    #[serde(default)]
    tags: Vec<(String, String)>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    max_redirects: Option<u32>,
    #[serde(default)]
    discard_body: bool,
    /// `[[name, value, replace]]`.
    #[serde(default)]
    cookies: Vec<(String, String, bool)>,
    #[serde(default)]
    compression: String,
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    http_version: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}

impl JsonRequest {
    pub(super) fn into_wit(
        self,
        body: Vec<u8>,
        jar: wit_http::JarChoice,
    ) -> Result<wit_http::Request, RequestError> {
        let auth = match self.auth.as_deref() {
            None | Some("") => None,
            Some("basic") => Some(wit_http::AuthScheme::Basic),
            Some("digest") => Some(wit_http::AuthScheme::Digest),
            Some(other) => {
                return Err(RequestError::new(
                    errors::GENERIC,
                    format!("unsupported auth scheme `{other}` (use 'basic' or 'digest')"),
                ))
            }
        };
        let extras = wit_http::RequestExtras {
            timeout_ms: self
                .timeout_ms
                .filter(|t| t.is_finite() && *t >= 0.0)
                .map(|t| t.round() as u64),
            tags: self.tags,
            name: self.name,
            max_redirects: self.max_redirects,
            discard_body: self.discard_body,
            jar,
            cookies: self
                .cookies
                .into_iter()
                .map(|(name, value, replace)| wit_http::RequestCookie {
                    name,
                    value,
                    replace,
                })
                .collect(),
            compression: self.compression,
            auth,
            http_version: self.http_version,
        };
        Ok(wit_http::Request {
            method: self.method,
            url: self.url,
            headers: self.headers,
            body,
            extras: Some(extras),
        })
    }
}

impl wit_http::Request {
    /// The `name` tag the script set, if any.
    pub(super) fn name(&self) -> Option<&str> {
        self.extras.as_ref().and_then(|e| e.name.as_deref())
    }

    /// The request's own tags.
    pub(super) fn tags(&self) -> &[(String, String)] {
        self.extras.as_ref().map_or(&[], |e| &e.tags)
    }
}

pub(crate) fn to_request(
    req: &mut wit_http::Request,
    vu_jar: &SharedJar,
    table: &ResourceTable,
) -> Result<Request, RequestError> {
    let method = http::Method::from_bytes(req.method.as_bytes()).map_err(|_| {
        RequestError::new(
            errors::GENERIC,
            format!("invalid HTTP method `{}`", req.method),
        )
    })?;
    let jar = match req.extras.as_ref().map(|e| &e.jar) {
        None | Some(wit_http::JarChoice::Vu) => Some(vu_jar.clone()),
        Some(wit_http::JarChoice::NoJar) => None,
        Some(wit_http::JarChoice::Custom(handle)) => Some(
            match table.get(handle).map_err(|e| {
                RequestError::new(errors::GENERIC, format!("invalid cookie jar: {e}"))
            })? {
                JarHandle::Vu => vu_jar.clone(),
                JarHandle::Own(jar) => jar.clone(),
            },
        ),
    };
    let http_version = match req.extras.as_ref().and_then(|e| e.http_version.as_deref()) {
        None => None,
        Some(v) => Some(v.parse::<crate::http::HttpVersion>().map_err(|e| {
            RequestError::new(errors::GENERIC, format!("invalid httpVersion: {e}"))
        })?),
    };
    let mut request = Request {
        http_version,
        method,
        url: std::mem::take(&mut req.url),
        headers: std::mem::take(&mut req.headers),
        body: Bytes::from(std::mem::take(&mut req.body)),
        timeout: None,
        max_redirects: None,
        discard_body: false,
        jar,
        cookies: Vec::new(),
        compression: String::new(),
        auth: None,
        decompress: true,
    };
    if let Some(extras) = req.extras.as_mut() {
        apply_extras(&mut request, extras);
    }
    Ok(request)
}

/// The rarely set params of a request (checked already), moved out of `extras` into `request`.
fn apply_extras(request: &mut Request, extras: &mut wit_http::RequestExtras) {
    request.timeout = extras.timeout_ms.map(Duration::from_millis);
    request.max_redirects = extras.max_redirects;
    request.discard_body = extras.discard_body;
    request.cookies = std::mem::take(&mut extras.cookies)
        .into_iter()
        .map(|c| RequestCookie {
            name: c.name,
            value: c.value,
            replace: c.replace,
        })
        .collect();
    request.compression = std::mem::take(&mut extras.compression);
    request.auth = extras.auth.map(|a| match a {
        wit_http::AuthScheme::Basic => AuthScheme::Basic,
        wit_http::AuthScheme::Digest => AuthScheme::Digest,
    });
}
