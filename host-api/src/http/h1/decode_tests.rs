//! The decoder without sockets: every framing, fed whole and byte by byte.

use super::*;

/// Everything a decoded response says, for comparisons.
#[derive(Debug, PartialEq)]
struct Decoded {
    status: u16,
    version: Version,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
    keep_alive: bool,
    /// Bytes left after the response.
    rest: Vec<u8>,
}

fn fields(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Feeds `raw` in pieces of `step` bytes (then the close, if `close`) and collects the result.
fn feed(raw: &[u8], step: usize, head_request: bool, close: bool) -> Result<Decoded, Error> {
    let mut d = Decoder::new(head_request, Limits::default());
    let mut buf = BytesMut::new();
    let mut head = None;
    let mut body = Vec::new();
    let mut pieces = raw.chunks(step.max(1));
    loop {
        let event = match d.decode(&mut buf)? {
            Some(e) => Some(e),
            None => match pieces.next() {
                Some(p) => {
                    buf.extend_from_slice(p);
                    continue;
                }
                None if close => d.eof(&mut buf)?,
                None => return Err(Error::Eof { nothing: false }),
            },
        };
        match event {
            Some(Event::Head(h)) => head = Some(h),
            Some(Event::Data(b)) => {
                assert!(!b.is_empty(), "data events are never empty");
                body.extend_from_slice(&b);
            }
            Some(Event::End(end)) => {
                let head = head.expect("a head before the end");
                let mut rest = buf.to_vec();
                for p in pieces {
                    rest.extend_from_slice(p);
                }
                return Ok(Decoded {
                    status: head.status,
                    version: head.version,
                    headers: fields(&head.headers),
                    body,
                    trailers: fields(&end.trailers),
                    keep_alive: end.keep_alive,
                    rest,
                });
            }
            None => unreachable!("eof gives an event or an error"),
        }
    }
}

/// Decodes `raw` whole and one byte at a time, requiring the same result.
fn decode(raw: &[u8], close: bool) -> Result<Decoded, Error> {
    decode_for(raw, false, close)
}

fn decode_for(raw: &[u8], head_request: bool, close: bool) -> Result<Decoded, Error> {
    let whole = feed(raw, raw.len(), head_request, close);
    for step in [1, 2, 3, 7] {
        let split = feed(raw, step, head_request, close);
        assert_eq!(
            format!("{whole:?}"),
            format!("{split:?}"),
            "fed {step} bytes at a time"
        );
    }
    whole
}

fn malformed_with(raw: &[u8], close: bool) -> String {
    match decode(raw, close) {
        Err(Error::Malformed(why)) => why,
        other => panic!("expected a malformed response, got {other:?}"),
    }
}

#[test]
fn a_length_delimited_body_ends_at_its_length_and_keeps_the_connection() {
    let d = decode(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nhelloHTTP/1.1",
        false,
    )
    .unwrap();
    assert_eq!((d.status, d.version), (200, Version::Http11));
    assert_eq!(d.body, b"hello");
    assert!(d.keep_alive);
    assert_eq!(d.rest, b"HTTP/1.1", "what follows is not this response's");
    assert_eq!(
        d.headers.iter().filter(|(k, _)| k == "set-cookie").count(),
        2
    );
}

#[test]
fn a_chunked_body_with_extensions_and_trailers_is_joined() {
    let d = decode(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;ext=1;q=\"x\"\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n",
        false,
    )
    .unwrap();
    assert_eq!(d.body, b"hello, world");
    assert_eq!(
        d.trailers,
        vec![
            ("x-trailer".to_string(), "t".to_string()),
            ("x-other".to_string(), "u".to_string())
        ]
    );
    assert!(d.keep_alive);
    assert!(d.rest.is_empty());
}

#[test]
fn chunk_lines_with_bare_line_feeds_are_read() {
    let d = decode(
        b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n",
        false,
    )
    .unwrap();
    assert_eq!(d.body, b"abc");
    assert!(d.trailers.is_empty());
}

#[test]
fn a_body_until_close_ends_with_the_connection() {
    let d = decode(b"HTTP/1.1 200 OK\r\n\r\nuntil close", true).unwrap();
    assert_eq!(d.body, b"until close");
    assert!(!d.keep_alive);
    assert!(matches!(
        decode(b"HTTP/1.1 200 OK\r\n\r\nuntil close", false),
        Err(Error::Eof { nothing: false })
    ));
}

#[test]
fn interim_answers_are_skipped() {
    let d = decode(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        false,
    )
    .unwrap();
    assert_eq!((d.status, d.body.as_slice()), (200, &b"ok"[..]));
    assert!(d.headers.iter().all(|(k, _)| k != "link"));
}

#[test]
fn switching_protocols_ends_the_exchange_and_the_connection() {
    let d = decode(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00",
        false,
    )
    .unwrap();
    assert_eq!(d.status, 101);
    assert!(d.body.is_empty());
    assert!(!d.keep_alive);
}

#[test]
fn head_204_and_304_answers_have_no_body_whatever_they_announce() {
    let head = decode_for(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
        true,
        false,
    )
    .unwrap();
    assert!(head.body.is_empty() && head.keep_alive);
    for status in ["204 No Content", "304 Not Modified"] {
        let raw = format!("HTTP/1.1 {status}\r\nContent-Length: 5\r\n\r\n");
        let d = decode(raw.as_bytes(), false).unwrap();
        assert!(d.body.is_empty() && d.keep_alive, "{status}");
    }
}

#[test]
fn http_1_0_keeps_the_connection_only_when_it_says_so_with_a_length() {
    let keep = decode(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
        false,
    )
    .unwrap();
    assert_eq!(keep.version, Version::Http10);
    assert!(keep.keep_alive);
    let silent = decode(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false).unwrap();
    assert!(!silent.keep_alive, "HTTP/1.0 closes by default");
    let until_close = decode(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nbody",
        true,
    )
    .unwrap();
    assert!(!until_close.keep_alive, "a body delimited by the close");
    let chunked = decode(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        false,
    )
    .unwrap();
    assert!(!chunked.keep_alive, "chunked in HTTP/1.0 is faulty framing");
}

#[test]
fn connection_close_is_honoured_in_any_case_and_list() {
    let d = decode(
        b"HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n",
        false,
    )
    .unwrap();
    assert!(!d.keep_alive);
}

#[test]
fn an_obs_fold_becomes_spaces() {
    let d = decode(
        b"HTTP/1.1 200 OK\r\nX-Folded: hello\r\n  there\r\nContent-Length: 0\r\n\r\n",
        false,
    )
    .unwrap();
    let (_, v) = d.headers.iter().find(|(k, _)| k == "x-folded").unwrap();
    assert_eq!(v.split_whitespace().collect::<Vec<_>>(), ["hello", "there"]);
    assert!(!v.contains(['\r', '\n']));
}

#[test]
fn transfer_codings_other_than_chunked_are_refused_as_go_does() {
    for te in [
        "gzip",
        "gzip, chunked",
        "chunked, gzip",
        "chunked, chunked",
        "identity",
    ] {
        let raw = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {te}\r\n\r\n0\r\n\r\n");
        let why = malformed_with(raw.as_bytes(), true);
        assert!(
            why.contains("unsupported Transfer-Encoding") && why.contains(te),
            "{te}: {why}"
        );
    }
    // Split over two fields, still two codings.
    let why = malformed_with(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        true,
    );
    assert!(why.contains("unsupported"), "{why}");
    let ok = decode(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding:  Chunked \r\n\r\n0\r\n\r\n",
        false,
    )
    .unwrap();
    assert!(ok.keep_alive);
}

#[test]
fn chunked_with_a_length_is_read_as_chunked_but_not_trusted_again() {
    let d = decode(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        false,
    )
    .unwrap();
    assert_eq!(d.body, b"ok");
    assert!(!d.keep_alive);
}

#[test]
fn lengths_must_be_digits_and_agree() {
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", false)
            .unwrap()
            .body,
        b"ok"
    );
    for bad in ["-1", "+1", "0x10", "", "1 2"] {
        let raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
        assert!(
            malformed_with(raw.as_bytes(), true).contains("Content-Length"),
            "{bad}"
        );
    }
    let why = malformed_with(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        true,
    );
    assert!(why.contains("conflicting"), "{why}");
}

#[test]
fn a_declared_length_reserves_nothing() {
    // A peer announcing an exabyte gets a decoder that only ever holds what arrived.
    let mut d = Decoder::new(false, Limits::default());
    let mut buf =
        BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000\r\n\r\nab"[..]);
    assert!(matches!(d.decode(&mut buf), Ok(Some(Event::Head(_)))));
    assert_eq!(d.framing(), Framing::Length(1_000_000_000_000_000_000));
    match d.decode(&mut buf) {
        Ok(Some(Event::Data(b))) => assert_eq!(&b[..], b"ab"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(d.decode(&mut buf), Ok(None)));
    assert!(matches!(
        d.eof(&mut buf),
        Err(Error::Eof { nothing: false })
    ));
}

#[test]
fn malformed_heads_and_chunks_say_what_is_wrong() {
    for (raw, says) in [
        (&b"HTTP/1.1 abc\r\n\r\n"[..], "status"),
        (b"\x00\x17\xffGARBAGE\r\n\r\n", "version"),
        (b"HTTP/1.1 200 OK\r\nthis is no header\r\n\r\n", "header"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "invalid chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n",
            "longer than its size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
            "invalid chunk size",
        ),
    ] {
        let why = malformed_with(raw, true);
        assert!(why.to_lowercase().contains(says), "{why} (wanted `{says}`)");
    }
}

#[test]
fn a_close_before_anything_arrived_is_told_apart() {
    assert!(matches!(
        decode(b"", true),
        Err(Error::Eof { nothing: true })
    ));
    assert!(matches!(
        decode(b"HTTP/1.1 200 OK\r\nContent-", true),
        Err(Error::Eof { nothing: false })
    ));
    assert!(matches!(
        decode(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", true),
        Err(Error::Eof { nothing: false })
    ));
}

#[test]
fn peer_controlled_sizes_are_bounded() {
    let limits = Limits {
        max_head_bytes: 1024,
        max_fields: 100,
        max_chunk_line: 64,
    };
    let run = |raw: &[u8]| {
        let mut d = Decoder::new(false, limits);
        let mut buf = BytesMut::new();
        for piece in raw.chunks(100) {
            buf.extend_from_slice(piece);
            loop {
                match d.decode(&mut buf) {
                    Ok(Some(Event::End(_))) => return Ok(()),
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        Err("incomplete".to_string())
    };
    // A head that never ends fails once past the limit, not at the end of the stream.
    let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
    let line = format!("X-A: {}\r\n", "b".repeat(50));
    endless.extend(std::iter::repeat_n(line.as_bytes(), 200).flatten());
    assert!(run(&endless)
        .unwrap_err()
        .contains("larger than 1024 bytes"));
    // Too many fields, within the size.
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    many.extend(std::iter::repeat_n(b"a:\r\n".as_slice(), 150).flatten());
    many.extend_from_slice(b"\r\n");
    assert!(run(&many)
        .unwrap_err()
        .contains("more than 100 header fields"));
    // A chunk-size line that never ends.
    let mut line = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    line.extend(std::iter::repeat_n(b'x', 500));
    assert!(run(&line).unwrap_err().contains("longer than 64 bytes"));
    // Interim heads count against the head limit.
    let interim = b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n".repeat(40);
    assert!(run(&interim)
        .unwrap_err()
        .contains("larger than 1024 bytes"));
    // Trailers too.
    let mut trailers = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".to_vec();
    trailers.extend(std::iter::repeat_n(b"X-T: y\r\n".as_slice(), 200).flatten());
    assert!(run(&trailers)
        .unwrap_err()
        .contains("trailer section is larger"));
}

#[test]
fn the_end_of_a_head_is_found_across_pieces() {
    assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n\r\n", 0), Some(19));
    assert_eq!(find_head_end(b"HTTP/1.1 200 OK\n\n", 0), Some(17));
    assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n", 0), None);
    assert_eq!(
        find_head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n", 20),
        Some(25)
    );
    assert_eq!(chunk_size(b"1a").ok(), Some(26));
    assert_eq!(chunk_size(b"0;ext=1").ok(), Some(0));
}

#[test]
fn a_body_that_came_with_its_head_is_taken_at_once() {
    let mut d = Decoder::new(false, Limits::default());
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP"[..]);
    assert!(matches!(d.decode(&mut buf), Ok(Some(Event::Head(_)))));
    let (body, end) = d.take_complete(&mut buf).expect("complete");
    assert_eq!((&body[..], end.keep_alive), (&b"ok"[..], true));
    assert_eq!(&buf[..], b"HTTP");
    assert!(d.is_done());
    // Not all there: nothing taken, the decoder goes on.
    let mut d = Decoder::new(false, Limits::default());
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok"[..]);
    assert!(matches!(d.decode(&mut buf), Ok(Some(Event::Head(_)))));
    assert!(d.take_complete(&mut buf).is_none());
    assert_eq!(&buf[..], b"ok");
    let mut d = Decoder::new(false, Limits::default());
    let mut buf =
        BytesMut::from(&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..]);
    assert!(matches!(d.decode(&mut buf), Ok(Some(Event::Head(_)))));
    assert!(
        d.take_complete(&mut buf).is_none(),
        "chunked bodies are decoded piece by piece"
    );
}

/// The map of a head is made only when asked for: what the decoder accepts must make one
/// without failing, and what it refuses is refused when the head arrives, as before.
#[test]
fn fields_a_map_cannot_take_are_refused_with_the_head() {
    for (raw, says) in [
        (
            &b"HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n"[..],
            "header value",
        ),
        (b"HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n", "header value"),
        (b"HTTP/1.1 200 OK\r\nX\"A: b\r\n\r\n", "header name"),
        (b"HTTP/1.1 200 OK\r\n: b\r\n\r\n", "header name"),
        (b"HTTP/1.1 200 OK\r\nX A: b\r\n\r\n", "header name"),
    ] {
        let why = malformed_with(raw, true);
        assert!(why.to_lowercase().contains(says), "{why} (wanted `{says}`)");
    }
    let mut long = b"HTTP/1.1 200 OK\r\n".to_vec();
    long.extend(std::iter::repeat_n(b'x', 1 << 16));
    long.extend_from_slice(b": 1\r\nContent-Length: 0\r\n\r\n");
    let why = malformed_with(&long, true);
    assert!(why.contains("invalid header name"), "{why}");
    // Bytes over 0x7f (obs-text) are valid in a value, and reach the map as they came.
    let d = decode(
        b"HTTP/1.1 200 OK\r\nX-A: caf\xc3\xa9 \xff\r\nContent-Length: 0\r\n\r\n",
        false,
    )
    .unwrap();
    assert_eq!(
        d.headers[0],
        ("x-a".to_owned(), "caf\u{e9} \u{fffd}".to_owned())
    );
}

/// The framing fields are read without the map, obs-folds included; a `Connection: close` is
/// then left out of the map, as Go's client leaves it out.
#[test]
fn folded_framing_fields_are_read_as_the_map_shows_them() {
    let d = decode(
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive,\r\n close\r\nContent-Length:\r\n 2\r\n\r\nok",
        false,
    )
    .unwrap();
    assert_eq!(d.body, b"ok");
    assert!(!d.keep_alive, "the folded `close` counts");
    assert!(
        d.headers.iter().all(|(k, _)| k != "connection"),
        "{:?}",
        d.headers
    );
    let (_, v) = d
        .headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .unwrap();
    assert_eq!(
        v, "2",
        "a fold before the value is no space, as Go reads it"
    );
}

/// A head with more fields than the parser's slots on the stack gives every field in the map
/// made later, in order.
#[test]
fn a_head_of_many_fields_makes_the_whole_map() {
    let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..200 {
        raw.extend_from_slice(format!("X-{}: v{i}\r\n", i % 150).as_bytes());
    }
    raw.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let d = decode(&raw, false).unwrap();
    assert_eq!(d.headers.len(), 201);
    assert_eq!(d.headers[0], ("x-0".to_owned(), "v0".to_owned()));
    assert_eq!(d.headers[1], ("x-0".to_owned(), "v150".to_owned()));
    assert_eq!(
        d.headers[200],
        ("content-length".to_owned(), "0".to_owned())
    );
}
