//! The HTTP client outputs push with (Prometheus remote-write, OTLP/HTTP): one keep-alive
//! HTTP/1.1 connection (TLS for `https://`), a timeout per request, a bounded read of the
//! answer, and retries with backoff where the receiver asks for them (5xx, 429). TLS trusts
//! what the VUs trust (see [`stampede_host_api::fetch`]).
//!
//! It runs on a single-threaded tokio runtime of its own, on the output's thread: pushing
//! never touches the VUs' threads.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use stampede_host_api::fetch::{authority, connect, own_client_config, USER_AGENT};

/// Longest answer read from a receiver (its error message, at most).
const MAX_ANSWER: usize = 64 << 10;
/// Tries of one push when the receiver says to try again.
const TRIES: u32 = 3;

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// `http://` or `https://` URL.
    pub url: Uri,
    /// Headers on every request.
    pub headers: Vec<(String, String)>,
    /// Per request.
    pub timeout: Duration,
    /// Accept any TLS certificate.
    pub insecure_skip_tls_verify: bool,
}

impl PushConfig {
    /// Checks `url` (absolute, http or https, with a host) for the output `output`.
    pub fn parse_url(url: &str, output: &str) -> Result<Uri, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("invalid URL `{url}` for --out {output}: {e}"))?;
        match (uri.scheme_str(), uri.host()) {
            (Some("http" | "https"), Some(_)) => Ok(uri),
            _ => Err(format!(
                "invalid URL `{url}` for --out {output}: expected http://HOST[:PORT]/PATH or https://…"
            )),
        }
    }
}

/// The answer to a push.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its body (at most 64 KiB).
    pub body: Bytes,
}

/// A pushing client.
pub struct Pusher {
    config: PushConfig,
    headers: HeaderMap,
    runtime: OwnRuntime,
    conn: Option<SendRequest<Full<Bytes>>>,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Pusher {
    /// A client for `config`.
    pub fn new(config: PushConfig) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the output's runtime: {e}"))?;
        let mut headers = HeaderMap::new();
        for (k, v) in &config.headers {
            let name =
                HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header `{k}`: {e}"))?;
            let value = HeaderValue::from_str(v).map_err(|e| format!("header `{k}`: {e}"))?;
            headers.append(name, value);
        }
        let tls = (config.url.scheme_str() == Some("https")).then(|| {
            tokio_rustls::TlsConnector::from(own_client_config(config.insecure_skip_tls_verify))
        });
        Ok(Self {
            config,
            headers,
            runtime: OwnRuntime(Some(runtime)),
            conn: None,
            tls,
        })
    }

    /// POSTs `body` with `headers` (besides the configured ones), trying again after a 5xx, a
    /// 429 or a connection failure. A non-2xx final answer is an error naming the status and
    /// the start of the receiver's message.
    pub fn post(
        &mut self,
        body: Bytes,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Answer, String> {
        let mut last = String::new();
        for attempt in 0..TRIES {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(250 << attempt));
            }
            match self.once(body.clone(), headers) {
                Ok(a) if a.status.is_success() => return Ok(a),
                Ok(a) => {
                    last = format!(
                        "{} answered {}: {}",
                        self.config.url,
                        a.status,
                        String::from_utf8_lossy(&a.body[..a.body.len().min(300)]).trim()
                    );
                    let again =
                        a.status.is_server_error() || a.status == StatusCode::TOO_MANY_REQUESTS;
                    if !again {
                        break;
                    }
                }
                Err(e) => {
                    self.conn = None;
                    last = format!("pushing to {}: {e}", self.config.url);
                }
            }
        }
        Err(last)
    }

    fn once(&mut self, body: Bytes, extra: &[(HeaderName, HeaderValue)]) -> Result<Answer, String> {
        let uri = &self.config.url;
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(http::header::HOST, authority(uri))
            .header(http::header::USER_AGENT, USER_AGENT)
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        req.headers_mut().extend(self.headers.clone());
        for (k, v) in extra {
            req.headers_mut().insert(k.clone(), v.clone());
        }
        let timeout = self.config.timeout;
        let Self {
            runtime,
            conn,
            config,
            tls,
            ..
        } = self;
        runtime.get().block_on(async {
            let exchange = async {
                let sender = match conn.take() {
                    Some(s) if !s.is_closed() => s,
                    _ => connect(&config.url, tls.as_ref()).await?,
                };
                let mut sender = sender;
                sender.ready().await.map_err(|e| e.to_string())?;
                let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
                let status = res.status();
                let body = Limited::new(res.into_body(), MAX_ANSWER)
                    .collect()
                    .await
                    .map_err(|e| format!("reading the answer: {e}"))?
                    .to_bytes();
                *conn = Some(sender);
                Ok::<_, String>(Answer { status, body })
            };
            tokio::time::timeout(timeout, exchange)
                .await
                .map_err(|_| format!("no answer within {}s", timeout.as_secs_f64()))?
        })
    }
}

/// The pusher's own runtime, shut down without waiting when dropped: an output may be dropped
/// on an async thread, where a runtime may not block.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
