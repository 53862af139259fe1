//! `httpDebug`: requests and responses written out as k6 logs them (`Request:` / `Response:`
//! and the message as it would read on the wire, with the body in `full` mode).

use std::fmt::Write as _;

use super::{Exchange, HttpDebug};

/// Largest body shown, so that a debug run cannot fill the log with one response (the log
/// cuts any message at 16 KiB).
const MAX_BODY: usize = 8 << 10;

/// The request as the script gave it, with the headers the client adds when the script does
/// not (`Host`, `User-Agent`, `Content-Length`, `Connection: close`).
pub fn request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    user_agent: Option<&str>,
    close: bool,
    mode: HttpDebug,
) -> String {
    let parsed = url::Url::parse(url).ok();
    let target = parsed
        .as_ref()
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        })
        .unwrap_or_else(|| url.to_owned());
    let mut out = format!("Request:\n{method} {target} HTTP/1.1\n");
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if let Some(u) = &parsed {
        if !has("host") {
            let host = u.host_str().unwrap_or_default();
            let _ = match u.port() {
                Some(p) => writeln!(out, "Host: {host}:{p}"),
                None => writeln!(out, "Host: {host}"),
            };
        }
    }
    if let Some(ua) = user_agent.filter(|ua| !ua.is_empty() && !has("user-agent")) {
        let _ = writeln!(out, "User-Agent: {ua}");
    }
    if !body.is_empty() && !has("content-length") {
        let _ = writeln!(out, "Content-Length: {}", body.len());
    }
    for (k, v) in headers {
        let _ = writeln!(out, "{k}: {v}");
    }
    if close && !has("connection") {
        out.push_str("Connection: close\n");
    }
    finish(&mut out, body, mode);
    out
}

/// One response (each redirect hop is one), or why there was none.
pub fn response(ex: &Exchange, mode: HttpDebug) -> String {
    if ex.status == 0 {
        let why = ex.error.as_ref().map(|e| e.message.as_str()).unwrap_or("");
        return format!(
            "Response:\nno response to {} {}: {why}\n",
            ex.method, ex.url
        );
    }
    let reason = http::StatusCode::from_u16(ex.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = format!("Response:\n{} {} {reason}\n", ex.proto, ex.status);
    let mut names: Vec<&http::HeaderName> = ex.headers.keys().collect();
    names.sort_by_key(|n| n.as_str());
    for name in names {
        for v in ex.headers.get_all(name) {
            let _ = writeln!(
                out,
                "{}: {}",
                canonical(name.as_str()),
                String::from_utf8_lossy(v.as_bytes())
            );
        }
    }
    finish(&mut out, &ex.body, mode);
    out
}

fn finish(out: &mut String, body: &[u8], mode: HttpDebug) {
    out.push('\n');
    if mode == HttpDebug::Full && !body.is_empty() {
        let shown = &body[..body.len().min(MAX_BODY)];
        out.push_str(&String::from_utf8_lossy(shown));
        if body.len() > MAX_BODY {
            let _ = write!(out, "… ({} more bytes)", body.len() - MAX_BODY);
        }
    }
    out.push('\n');
}

/// `content-type` as Go writes it: `Content-Type`.
fn canonical(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let c = if upper { c.to_ascii_uppercase() } else { c };
            upper = c == '-';
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::RequestError;
    use bytes::Bytes;

    #[test]
    fn a_request_reads_as_on_the_wire() {
        let text = request(
            "POST",
            "http://127.0.0.1:8080/x?y=1",
            &[("X-A".into(), "b".into())],
            b"hello body",
            Some("stampede/1"),
            false,
            HttpDebug::Full,
        );
        assert_eq!(
            text,
            "Request:\nPOST /x?y=1 HTTP/1.1\nHost: 127.0.0.1:8080\nUser-Agent: stampede/1\n\
             Content-Length: 10\nX-A: b\n\nhello body\n"
        );
        let headers_only = request(
            "GET",
            "https://a.io/",
            &[],
            b"x",
            None,
            true,
            HttpDebug::Headers,
        );
        assert_eq!(
            headers_only,
            "Request:\nGET / HTTP/1.1\nHost: a.io\nContent-Length: 1\nConnection: close\n\n\n"
        );
    }

    #[test]
    fn a_response_shows_status_sorted_headers_and_maybe_the_body() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-b", "2".parse().unwrap());
        headers.insert("content-type", "text/plain".parse().unwrap());
        // Built from a failed exchange, so that the test does not depend on every field.
        let mut ex = Exchange::failed_before_sending(
            "GET",
            "http://a/".into(),
            RequestError::new(0, String::new()),
        );
        ex.error = None;
        ex.status = 404;
        ex.proto = "HTTP/1.1";
        ex.headers = headers.into();
        ex.body = Bytes::from_static(b"nope");
        assert_eq!(
            response(&ex, HttpDebug::Full),
            "Response:\nHTTP/1.1 404 Not Found\nContent-Type: text/plain\nX-B: 2\n\nnope\n"
        );
        assert!(response(&ex, HttpDebug::Headers).ends_with("X-B: 2\n\n\n"));
    }
}
