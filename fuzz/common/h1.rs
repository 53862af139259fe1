//! Runs stampede's sans-IO HTTP/1 decoder over a response given in pieces.

use bytes::BytesMut;
use stampede_host_api::http::h1::decode::{Decoder, Error, Event, Limits};

/// Everything a decoded response says.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded {
    pub status: u16,
    pub http10: bool,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, Vec<u8>)>,
    pub keep_alive: bool,
    /// The response needed the close to end.
    pub needed_close: bool,
    /// Bytes after the response.
    pub rest: Vec<u8>,
}

pub fn limits(small: bool) -> Limits {
    if small {
        Limits {
            max_head_bytes: 300,
            max_fields: 8,
            max_chunk_line: 16,
        }
    } else {
        Limits::default()
    }
}

fn fields(h: &http::HeaderMap) -> Vec<(String, Vec<u8>)> {
    h.iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect()
}

/// Decodes `pieces` in order, then the close; the result, or the error's text.
pub fn decode(pieces: &[&[u8]], head_request: bool, limits: Limits) -> Result<Decoded, String> {
    let mut d = Decoder::new(head_request, limits);
    let mut buf = BytesMut::new();
    let mut head = None;
    let mut body = Vec::new();
    let mut next = 0;
    let mut closed = false;
    loop {
        let event = match d.decode(&mut buf) {
            Ok(Some(e)) => e,
            Ok(None) if next < pieces.len() => {
                buf.extend_from_slice(pieces[next]);
                next += 1;
                continue;
            }
            Ok(None) => {
                closed = true;
                match d.eof(&mut buf) {
                    Ok(Some(e)) => e,
                    Ok(None) => return Err("eof gave nothing".into()),
                    Err(e) => return Err(describe(&e)),
                }
            }
            Err(e) => return Err(describe(&e)),
        };
        match event {
            Event::Head(h) => {
                assert!(head.is_none(), "two heads");
                assert!(h.status >= 100, "status {} below 100", h.status);
                head = Some(h);
            }
            Event::Data(b) => {
                assert!(!b.is_empty(), "empty data event");
                assert!(head.is_some(), "data before the head");
                body.extend_from_slice(&b);
            }
            Event::End(end) => {
                let head = head.expect("a head before the end");
                let mut rest = buf.to_vec();
                for p in &pieces[next..] {
                    rest.extend_from_slice(p);
                }
                return Ok(Decoded {
                    status: head.status,
                    http10: head.version == stampede_host_api::http::h1::decode::Version::Http10,
                    headers: fields(&head.headers),
                    body,
                    trailers: fields(&end.trailers),
                    keep_alive: end.keep_alive,
                    needed_close: closed,
                    rest,
                });
            }
        }
    }
}

fn describe(e: &Error) -> String {
    e.to_string()
}
