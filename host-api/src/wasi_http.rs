//! Standard `wasi:http/outgoing-handler`, served by the VU's own client.
//!
//! Guests that use their language's HTTP library (JS `fetch`, a Rust `wasi:http` client…)
//! call `wasi:http`. wasmtime-wasi-http implements the interface and hands each request to
//! [`WasiHttpHooks::send_request`], which stampede overrides: the request goes over the same
//! keep-alive connections, is timed the same way and lands in the same metrics as one sent
//! through stampede's own `http` interface. The stock sender, which opens a connection per
//! request, is never used.
//!
//! Headers starting with `x-stampede-` are stampede's and are not sent: `x-stampede-name`
//! sets the `name` tag, and `x-stampede-tag-KEY: VALUE` adds the tag `KEY=VALUE`.

use std::future::Future;
use std::time::Duration;

use http::HeaderMap;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error as WasiError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::http::{errors, Completed, Exchange, Request, RequestError, VuClient};

/// The prefix of stampede's own headers.
const PREFIX: &str = "x-stampede-";

/// The hooks of one VU's `wasi:http`.
pub struct Bridge {
    client: VuClient,
}

impl Bridge {
    /// Serves `wasi:http` with `client` (a clone of the VU's).
    pub fn new(client: VuClient) -> Self {
        Self { client }
    }
}

/// Takes stampede's headers out of `headers`: the name tag and extra tags.
fn take_tags(headers: &mut HeaderMap) -> (Option<String>, Vec<(String, String)>) {
    let ours: Vec<_> = headers
        .keys()
        .filter(|k| k.as_str().starts_with(PREFIX))
        .cloned()
        .collect();
    let mut name = None;
    let mut tags = Vec::new();
    for key in ours {
        for value in headers.remove(&key).into_iter() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match key.as_str()[PREFIX.len()..].strip_prefix("tag-") {
                Some(tag) if !tag.is_empty() => tags.push((tag.to_owned(), value)),
                _ if key.as_str() == "x-stampede-name" => name = Some(value),
                _ => {}
            }
        }
    }
    (name, tags)
}

/// The `wasi:http` error a failed request shows the guest.
fn wasi_error(e: &RequestError) -> WasiError {
    match e.code {
        errors::TCP_DIAL_REFUSED => WasiError::ConnectionRefused,
        errors::TCP_DIAL_TIMEOUT => WasiError::ConnectionTimeout,
        errors::REQUEST_TIMEOUT => WasiError::HttpResponseTimeout,
        errors::TCP_RESET_BY_PEER | errors::TCP_BROKEN_PIPE => WasiError::ConnectionTerminated,
        errors::DNS | errors::DNS_NO_SUCH_HOST => WasiError::DnsError {
            rcode: Some(e.message.clone()),
            info_code: None,
        },
        errors::BLACKLISTED_IP => WasiError::DestinationIpProhibited,
        errors::BLOCKED_HOSTNAME => WasiError::HttpRequestDenied,
        errors::TLS_UNKNOWN_AUTHORITY | errors::TLS_HOSTNAME_MISMATCH => {
            WasiError::TlsCertificateError
        }
        errors::TLS => WasiError::TlsProtocolError,
        errors::INVALID_URL => WasiError::HttpRequestUriInvalid,
        _ => WasiError::InternalError(Some(e.message.clone())),
    }
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), WasiError>> + Send>,
                ),
                WasiError,
            >,
        > + Send,
>;

impl WasiHttpHooks for Bridge {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), WasiError>> + Send>,
    ) -> ResponseFuture {
        let client = self.client.clone();
        Box::new(async move {
            let (mut parts, body) = request.into_parts();
            let (name, tags) = take_tags(&mut parts.headers);
            // The guest may still be writing the body: wait for all of it.
            let body = body.collect().await?.to_bytes();
            let headers = parts
                .headers
                .iter()
                .filter(|(k, _)| *k != http::header::HOST)
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let timeout = options.and_then(|o| match (o.connect_timeout, o.first_byte_timeout) {
                (None, None) => None,
                (c, f) => Some(c.unwrap_or(Duration::ZERO) + f.unwrap_or(client.config().timeout)),
            });
            // The guest's own client decides about redirects, cookies and decompression: the
            // request goes as it is and the response comes back as it came.
            let mut req = Request::new(parts.method, parts.uri.to_string());
            req.headers = headers;
            req.body = body;
            req.timeout = timeout;
            req.max_redirects = Some(0);
            req.decompress = false;
            let mut ex: Exchange = client.send(req, &mut |_| {}).await;
            let body = std::mem::take(&mut ex.body);
            let headers = std::mem::take(&mut ex.headers).into_map();
            let (status, error) = (ex.status, ex.error.clone());
            client.outbox().push(Completed {
                name,
                tags,
                exchange: ex,
            });
            if let Some(e) = error {
                return Err(wasi_error(&e));
            }
            let mut response = http::Response::builder()
                .status(status)
                .body(
                    Full::new(body)
                        .map_err(|never: std::convert::Infallible| -> WasiError { match never {} })
                        .boxed_unsync(),
                )
                .map_err(|e| WasiError::InternalError(Some(e.to_string())))?;
            *response.headers_mut() = headers;
            let done: Box<dyn Future<Output = Result<(), WasiError>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stampede_headers_become_tags_and_are_not_sent() {
        let mut h = HeaderMap::new();
        h.insert("x-stampede-name", "get user".parse().unwrap());
        h.insert("x-stampede-tag-team", "api".parse().unwrap());
        h.insert("accept", "*/*".parse().unwrap());
        let (name, tags) = take_tags(&mut h);
        assert_eq!(name.as_deref(), Some("get user"));
        assert_eq!(tags, vec![("team".to_string(), "api".to_string())]);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("accept"));
    }
}
