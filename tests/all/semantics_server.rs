//! A server for the HTTP semantics tests (cookies, compression, redirects, authentication):
//! it records every request it receives and answers what the query string asks for.
//!
//! - `/echo` — 200, the request's method, path, headers and body as JSON.
//! - `/cookie?set=LINE&set=LINE` — 200 with one `Set-Cookie: LINE` per `set`, and `/echo`'s body.
//! - `/redirect?status=302&to=LOCATION&set=LINE` — that status with `Location: LOCATION`
//!   (percent-decoded to raw bytes, so non-ASCII arrives as it would from a server) and
//!   optional `Set-Cookie`s; `to` absent sends no `Location`.
//! - `/loop` — a 302 to itself.
//! - `/encoded?ce=gzip,br&text=TEXT` — TEXT (default `hello`) encoded with those codings in
//!   turn, `Content-Encoding: gzip, br`.
//! - `/encoded?ce=gzip,br&text=…` — the text in those codings (`&claim=N`: the header lists
//!   them N times over).
//! - `/bomb?ce=gzip` — 10 GiB of zeros in about 10 MB of gzip (or `zstd`; 1 GiB in `br`).
//! - `/garbage?ce=gzip` — bytes that are not in that coding.
//! - `/digest?algorithm=SHA-256&qop=auth&user=U&pass=P` — RFC 7616: a 401 challenge, then 200
//!   for a correct answer (checked here, independently of the client) and 401 for a wrong one.
//! - `/basic?user=U&pass=P` — 200 for the right `Authorization: Basic`, else 401.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use md5::Digest as _;
use tokio::net::TcpListener;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    /// The values of header `name`, joined by `, `.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// The running server.
pub struct SemanticsServer {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl SemanticsServer {
    /// Starts on 127.0.0.1 in `rt`.
    pub fn start(rt: &tokio::runtime::Runtime) -> Self {
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let bomb = Arc::new(std::sync::OnceLock::<HashMap<String, Bytes>>::new());
        let log = seen.clone();
        rt.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let log = log.clone();
                let bomb = bomb.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let log = log.clone();
                        let bomb = bomb.clone();
                        async move { Ok::<_, Infallible>(answer(req, &log, &bomb).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Self { addr, seen }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn query(target: &str) -> Vec<(String, Vec<u8>)> {
    let q = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    out
}

fn text(q: &[(String, Vec<u8>)], key: &str) -> Option<String> {
    q.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

async fn answer(
    req: Request<hyper::body::Incoming>,
    log: &Mutex<Vec<Seen>>,
    bomb: &std::sync::OnceLock<HashMap<String, Bytes>>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        target: target.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    log.lock().unwrap().push(seen.clone());
    let q = query(&target);
    let mut res = Response::builder();
    let echo = || {
        serde_json::json!({
            "method": seen.method,
            "target": seen.target,
            "headers": seen.headers,
            "body": String::from_utf8_lossy(&seen.body),
        })
        .to_string()
    };
    for (k, v) in &q {
        if k == "set" {
            res = res.header("set-cookie", v.as_slice());
        }
    }
    let body: Bytes = match seen.path() {
        "/echo" | "/cookie" => echo().into(),
        "/redirect" => {
            let status: u16 = text(&q, "status")
                .and_then(|s| s.parse().ok())
                .unwrap_or(302);
            res = res.status(status);
            if let Some((_, to)) = q.iter().find(|(k, _)| k == "to") {
                res = res.header(
                    "location",
                    hyper::header::HeaderValue::from_bytes(to).unwrap(),
                );
            }
            Bytes::from_static(b"moved")
        }
        "/loop" => {
            res = res.status(302).header("location", "/loop");
            Bytes::new()
        }
        "/encoded" => {
            let mut data = text(&q, "text")
                .unwrap_or_else(|| "hello".into())
                .into_bytes();
            let ce = text(&q, "ce").unwrap_or_default();
            for coding in ce.split(',').map(str::trim) {
                data = encode(coding, &data);
            }
            // `claim=N`: the header lists the codings N times over (the body has them once).
            let claim = text(&q, "claim").and_then(|n| n.parse().ok()).unwrap_or(1);
            res = res.header("content-encoding", vec![ce.as_str(); claim].join(","));
            data.into()
        }
        "/bomb" => {
            let ce = text(&q, "ce").unwrap_or_else(|| "gzip".into());
            res = res.header("content-encoding", ce.as_str());
            bomb.get_or_init(make_bombs)[&ce].clone()
        }
        "/garbage" => {
            res = res.header("content-encoding", text(&q, "ce").unwrap_or_default());
            Bytes::from_static(b"this is not compressed data, not at all, no")
        }
        "/digest" => return digest(&seen, &q),
        "/basic" => {
            use base64::Engine as _;
            let want = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    text(&q, "user").unwrap_or_default(),
                    text(&q, "pass").unwrap_or_default()
                ))
            );
            if seen.header("authorization").as_deref() == Some(want.as_str()) {
                Bytes::from_static(b"welcome")
            } else {
                res = res
                    .status(401)
                    .header("www-authenticate", "Basic realm=\"test\"");
                Bytes::from_static(b"who are you")
            }
        }
        _ => {
            res = res.status(404);
            Bytes::new()
        }
    };
    res.body(Full::new(body)).unwrap()
}

fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
                e.write_all(data).unwrap();
            }
            out
        }
        "zstd" => zstd::stream::encode_all(data, 3).unwrap(),
        "" | "identity" => data.to_vec(),
        other => panic!("the test server cannot encode {other}"),
    }
}

/// Zeros that decompress far past `responseBodyLimit`: 10 GiB in about 10 MB of gzip (one
/// compressed 64 MiB member repeated; gzip members and zstd frames may follow each other), and
/// 1 GiB of brotli (one stream, which cannot be repeated, so made smaller to be quick).
fn make_bombs() -> HashMap<String, Bytes> {
    let zeros = vec![0u8; 64 << 20];
    let repeat = |member: Vec<u8>| -> Bytes {
        let mut out = Vec::with_capacity(member.len() * 160);
        for _ in 0..160 {
            out.extend_from_slice(&member);
        }
        out.into()
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&zeros).unwrap();
    let mut m = HashMap::new();
    m.insert("gzip".to_owned(), repeat(gz.finish().unwrap()));
    m.insert(
        "zstd".to_owned(),
        repeat(zstd::stream::encode_all(&zeros[..], 3).unwrap()),
    );
    let mut br = Vec::new();
    {
        let mut e = brotli::CompressorWriter::new(&mut br, 1 << 16, 1, 24);
        for _ in 0..16 {
            e.write_all(&zeros).unwrap();
        }
    }
    m.insert("br".to_owned(), br.into());
    m
}

fn hash(alg: &str, s: &str) -> String {
    let bytes: Vec<u8> = match alg {
        "SHA-256" => sha2::Sha256::digest(s.as_bytes()).to_vec(),
        _ => md5::Md5::digest(s.as_bytes()).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses `k=v, k="v"` pairs of a Digest `Authorization`.
fn digest_params(v: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let rest = v.strip_prefix("Digest ").unwrap_or("");
    let mut chars = rest.char_indices().peekable();
    let mut key = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '=' => {
                let mut val = String::new();
                if chars.peek().map(|(_, c)| *c) == Some('"') {
                    chars.next();
                    while let Some((_, c)) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some((_, n)) = chars.next() {
                                    val.push(n);
                                }
                            }
                            '"' => break,
                            c => val.push(c),
                        }
                    }
                } else {
                    while let Some((_, c)) = chars.peek().copied() {
                        if c == ',' {
                            break;
                        }
                        val.push(c);
                        chars.next();
                    }
                }
                out.insert(std::mem::take(&mut key).trim().to_owned(), val);
            }
            ',' => key.clear(),
            c => key.push(c),
        }
    }
    out
}

fn digest(seen: &Seen, q: &[(String, Vec<u8>)]) -> Response<Full<Bytes>> {
    let alg = text(q, "algorithm").unwrap_or_else(|| "MD5".into());
    let qop = text(q, "qop").unwrap_or_else(|| "auth".into());
    let (user, pass) = (
        text(q, "user").unwrap_or_default(),
        text(q, "pass").unwrap_or_default(),
    );
    let realm = "stampede@test";
    let nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
    let challenge = || {
        Response::builder()
            .status(401)
            .header(
                "www-authenticate",
                format!("Digest realm=\"{realm}\", qop=\"{qop}\", algorithm={alg}, nonce=\"{nonce}\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""),
            )
            .body(Full::new(Bytes::from_static(b"authenticate")))
            .unwrap()
    };
    let Some(auth) = seen.header("authorization") else {
        return challenge();
    };
    let p = digest_params(&auth);
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    let ha1 = hash(&alg, &format!("{user}:{realm}:{pass}"));
    let ha2 = hash(&alg, &format!("{}:{}", seen.method, get("uri")));
    let expected = hash(
        &alg,
        &format!(
            "{ha1}:{nonce}:{}:{}:{}:{ha2}",
            get("nc"),
            get("cnonce"),
            get("qop")
        ),
    );
    let ok = get("username") == user
        && get("uri") == seen.target
        && get("nonce") == nonce
        && get("qop") == qop
        && get("algorithm") == alg
        && get("opaque") == "5ccc069c403ebaf9f0171e9517f40e41"
        && get("response") == expected;
    if ok {
        Response::new(Full::new(Bytes::from_static(b"digest ok")))
    } else {
        challenge()
    }
}
