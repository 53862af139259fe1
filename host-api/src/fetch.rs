//! stampede's own HTTP/1.1 client, for what it fetches for itself rather than for a VU: a
//! script's remote modules (`import … from 'https://…'`, as k6 loads them) and the outputs'
//! pushes. TLS trusts what the VUs trust ([`own_client_config`]): the system's roots,
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`, else the Mozilla roots stampede carries.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub use crate::http::tls::own_client_config;

/// The user agent of stampede's own requests.
pub const USER_AGENT: &str = concat!("stampede/", env!("CARGO_PKG_VERSION"));

/// Requests made for one module: Go's client (k6 fetches with it) stops at the 10th redirect.
const MAX_REQUESTS: usize = 10;

/// How long fetching one module may take, redirects included (k6 gives it a minute).
pub const MODULE_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to `uri`'s host: TLS through `tls` when given (`https://`), plain otherwise.
pub async fn connect(
    uri: &Uri,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<SendRequest<Full<Bytes>>, String> {
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if tls.is_some() { 443 } else { 80 });
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    match tls {
        Some(tls) => {
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                .map_err(|e| format!("invalid host `{host}`: {e}"))?;
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {host}: {e}"))?;
            handshake(stream).await
        }
        None => handshake(tcp).await,
    }
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// The authority (`host[:port]`) of `uri`, for its `Host` header.
pub fn authority(uri: &Uri) -> String {
    uri.authority().map_or_else(String::new, |a| a.to_string())
}

/// The body of `url` (an `https://` URL), fetched on a thread and runtime of its own so that
/// any thread may wait for it, async or not: redirects followed (to `https://` only), at most
/// `limit` bytes, within [`MODULE_TIMEOUT`]. An error says what went wrong in words meant for
/// the user; the caller names the module.
pub fn get_module(url: &str, limit: u64) -> Result<Vec<u8>, String> {
    let url = url.to_owned();
    let fetch = move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime to fetch it: {e}"))?;
        runtime.block_on(async {
            tokio::time::timeout(MODULE_TIMEOUT, follow(&url, limit))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {} s", MODULE_TIMEOUT.as_secs())))
        })
    };
    std::thread::Builder::new()
        .name("stampede-fetch".into())
        .spawn(fetch)
        .map_err(|e| format!("cannot start a thread to fetch it: {e}"))?
        .join()
        .unwrap_or_else(|_| Err("fetching it failed".into()))
}

/// GETs `url`, following redirects.
async fn follow(url: &str, limit: u64) -> Result<Vec<u8>, String> {
    let mut current = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(own_client_config(false));
    for _ in 0..MAX_REQUESTS {
        if current.scheme() != "https" {
            return Err(format!(
                "it leads to {current}, and modules are fetched over https only"
            ));
        }
        let got = get_once(&current, &tls, limit).await.map_err(|e| {
            if current.as_str() == url {
                e
            } else {
                format!("{e} (redirected to {current})")
            }
        })?;
        match got {
            Got::Body(body) => return Ok(body),
            Got::Redirect(location) => {
                current = current
                    .join(&location)
                    .map_err(|e| format!("the server redirected to `{location}`: {e}"))?;
            }
        }
    }
    Err(format!("stopped after {MAX_REQUESTS} redirects"))
}

/// What one GET gave.
enum Got {
    Body(Vec<u8>),
    Redirect(String),
}

async fn get_once(
    url: &url::Url,
    tls: &tokio_rustls::TlsConnector,
    limit: u64,
) -> Result<Got, String> {
    let uri: Uri = url
        .as_str()
        .parse()
        .map_err(|e| format!("not a URL: {e}"))?;
    let mut sender = connect(&uri, Some(tls)).await?;
    let req = Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, authority(&uri))
        .header(http::header::USER_AGENT, USER_AGENT)
        .header(http::header::ACCEPT, "*/*")
        // As Go's client asks (and undoes) for k6.
        .header(http::header::ACCEPT_ENCODING, "gzip")
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    sender.ready().await.map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = res.status();
    if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
        let location = res
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("the server answered {status} without a usable Location"))?;
        return Ok(Got::Redirect(location.to_owned()));
    }
    if status != StatusCode::OK {
        return Err(format!("the server answered {status}"));
    }
    let too_large = || format!("it is larger than the {} MiB a module may be", limit >> 20);
    let declared = res
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let gzip = match res.headers().get(http::header::CONTENT_ENCODING) {
        None => false,
        Some(v) if v.as_bytes().eq_ignore_ascii_case(b"gzip") => true,
        Some(v) => {
            let v = String::from_utf8_lossy(v.as_bytes());
            return Err(format!(
                "it came in the content coding `{v}`, not asked for"
            ));
        }
    };
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let body = match Limited::new(res.into_body(), cap).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(e) => return Err(format!("reading the body: {e}")),
    };
    if !gzip {
        return Ok(Got::Body(body.to_vec()));
    }
    // Undone within the same bound: a small bomb stops at the limit.
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("its gzip body does not decode: {e}"))?;
    if out.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(Got::Body(out))
}
