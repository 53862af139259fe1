//! The built-in target's routes.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::Stats;

const MAX_DELAY: Duration = Duration::from_secs(60);
const MAX_BYTES: usize = 64 << 20;

/// Decodes `%XX` escapes (and `+` as a space), leaving anything malformed as it is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Full::new(body.into()))
        .expect("static response parts are valid")
}

pub(super) async fn handle(req: Request<Incoming>, stats: &Stats) -> Response<Full<Bytes>> {
    stats.count_request();
    let path = req.uri().path().to_owned();
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (head, arg) = (parts.next().unwrap_or(""), parts.next());
    match (head, arg) {
        ("", None) => text(StatusCode::OK, "hello from stampede\n"),
        ("get", None) => {
            let headers: serde_json::Map<String, serde_json::Value> = req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        serde_json::Value::String(
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        ),
                    )
                })
                .collect();
            let body = serde_json::json!({
                "method": req.method().as_str(),
                "proto": format!("{:?}", req.version()),
                "path": path,
                "query": req.uri().query().unwrap_or(""),
                "headers": headers,
            });
            Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.to_string())))
                .expect("valid response")
        }
        ("post", None) => {
            let content_type = req.headers().get("content-type").cloned();
            let body = match req.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return text(StatusCode::BAD_REQUEST, "could not read the request body\n")
                }
            };
            let mut res = Response::builder();
            if let Some(ct) = content_type {
                res = res.header("content-type", ct);
            }
            res.body(Full::new(body)).expect("valid response")
        }
        ("status", Some(code)) => match code
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
        {
            Some(status) => text(status, ""),
            None => text(
                StatusCode::BAD_REQUEST,
                format!("`{code}` is not an HTTP status\n"),
            ),
        },
        ("delay", Some(ms)) => match ms.parse::<u64>() {
            Ok(ms) => {
                tokio::time::sleep(Duration::from_millis(ms).min(MAX_DELAY)).await;
                text(StatusCode::OK, "ok\n")
            }
            Err(_) => text(
                StatusCode::BAD_REQUEST,
                format!("`{ms}` is not a number of milliseconds\n"),
            ),
        },
        ("bytes", Some(n)) => match n.parse::<usize>() {
            Ok(n) if n <= MAX_BYTES => {
                let body: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                Response::builder()
                    .header("content-type", "application/octet-stream")
                    .body(Full::new(Bytes::from(body)))
                    .expect("valid response")
            }
            _ => text(
                StatusCode::BAD_REQUEST,
                format!("`{n}` is not a byte count up to {MAX_BYTES}\n"),
            ),
        },
        ("redirect-to", None) => {
            let target = req
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("url=")))
                .map(percent_decode);
            match target {
                Some(url) if !url.is_empty() => Response::builder()
                    .status(StatusCode::FOUND)
                    .header("location", url)
                    .body(Full::new(Bytes::new()))
                    .expect("valid response"),
                _ => text(StatusCode::BAD_REQUEST, "give the target as ?url=…\n"),
            }
        }
        ("redirect", Some(n)) => match n.parse::<u32>() {
            Ok(0 | 1) => Response::builder()
                .status(StatusCode::FOUND)
                .header("location", "/get")
                .body(Full::new(Bytes::new()))
                .expect("valid response"),
            Ok(n) => Response::builder()
                .status(StatusCode::FOUND)
                .header("location", format!("/redirect/{}", n - 1))
                .body(Full::new(Bytes::new()))
                .expect("valid response"),
            Err(_) => text(
                StatusCode::BAD_REQUEST,
                format!("`{n}` is not a number of redirects\n"),
            ),
        },
        ("capacity", None) => stats.targets.queue(req.uri().query()).await,
        ("degrade", None) => stats.targets.degrade(req.uri().query()).await,
        _ => text(StatusCode::NOT_FOUND, format!("no route for {path}\n")),
    }
}
