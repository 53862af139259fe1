//! A response's header fields, made into a [`HeaderMap`] only when something asks for one.
//!
//! An HTTP/1.x head is kept as it arrived (its bytes, shared with the read buffer), with a
//! note of which of the few fields the client itself looks at are there. Most requests only
//! ask whether `Location`, `Content-Encoding` or `Set-Cookie` came, which that note answers;
//! the map — the head parsed again, names and values checked, everything hashed — is made the
//! first time anything reads the fields as a whole (the script, a redirect, decompression, a
//! cookie jar, `httpDebug`). HTTP/2 responses arrive as a map.

use std::borrow::Cow;
use std::sync::OnceLock;

use bytes::Bytes;
use http::header::{
    CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, LOCATION, SET_COOKIE, TRANSFER_ENCODING,
    WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderName, HeaderValue};

/// The fields the client looks at on every response, one bit each.
const KNOWN: [HeaderName; 7] = [
    TRANSFER_ENCODING,
    CONTENT_LENGTH,
    CONNECTION,
    LOCATION,
    CONTENT_ENCODING,
    SET_COOKIE,
    WWW_AUTHENTICATE,
];

/// The bits of the framing fields among [`KNOWN`].
pub(crate) const TRANSFER_ENCODING_BIT: u8 = 1;
pub(crate) const CONTENT_LENGTH_BIT: u8 = 1 << 1;
pub(crate) const CONNECTION_BIT: u8 = 1 << 2;

/// The bit of a field name (as received, any case) among [`KNOWN`]; 0 for the others.
pub(crate) fn known_bit(name: &[u8]) -> u8 {
    // By length and first letter, then the whole name: most fields are none of these, and
    // each response's fields all pass through here.
    let i = match (name.len(), name.first().map(u8::to_ascii_lowercase)) {
        (8, Some(b'l')) => 3,
        (10, Some(b'c')) => 2,
        (10, Some(b's')) => 5,
        (14, Some(b'c')) => 1,
        (16, Some(b'c')) => 4,
        (16, Some(b'w')) => 6,
        (17, Some(b't')) => 0,
        _ => return 0,
    };
    if token_eq_lower(name, KNOWN_NAMES[i]) {
        1 << i
    } else {
        0
    }
}

/// Whether the field name `name` (a token, as httparse accepts names) is `lower` (lowercase
/// letters and `-`, at least 8 bytes, as long as `name`) in any case: eight bytes at a time,
/// each made lowercase by setting its 0x20 bit. Of all bytes, only the letters themselves
/// and CR (0x0D, never in a token) become a lowercase letter or `-` that way.
fn token_eq_lower(name: &[u8], lower: &[u8]) -> bool {
    const CASE: u64 = 0x2020_2020_2020_2020;
    let n = name.len();
    if n != lower.len() || n < 8 {
        return name.eq_ignore_ascii_case(lower);
    }
    let word = |b: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let mut at = 0;
    while at + 8 < n {
        if word(name, at) | CASE != word(lower, at) {
            return false;
        }
        at += 8;
    }
    // The last eight bytes, overlapping the word before when the length is not a multiple.
    word(name, n - 8) | CASE == word(lower, n - 8)
}

/// [`KNOWN`]'s names as bytes, in its order.
const KNOWN_NAMES: [&[u8]; 7] = [
    b"transfer-encoding",
    b"content-length",
    b"connection",
    b"location",
    b"content-encoding",
    b"set-cookie",
    b"www-authenticate",
];

/// A head's bytes as received (status line and fields), which httparse accepted: names are
/// tokens no longer than a [`HeaderName`] takes, values hold only bytes a [`HeaderValue`]
/// takes once an obs-fold's line ends are made spaces.
#[derive(Debug, Clone)]
pub(crate) struct RawHead {
    pub(crate) bytes: Bytes,
    /// How many fields it has.
    pub(crate) fields: usize,
    /// Which of [`KNOWN`] it has.
    pub(crate) known: u8,
    /// Which of [`KNOWN`] the map leaves out, as Go's client takes them out of a response's
    /// fields (see [`ResponseHeaders::hide`]).
    pub(crate) hidden: u8,
}

impl RawHead {
    /// The fields as a map, in the order received.
    fn to_map(&self) -> HeaderMap {
        let mut slots = vec![httparse::EMPTY_HEADER; self.fields];
        let mut res = httparse::Response::new(&mut slots);
        let mut config = httparse::ParserConfig::default();
        config.allow_obsolete_multiline_headers_in_responses(true);
        let mut map = HeaderMap::with_capacity(self.fields);
        if !matches!(
            config.parse_response(&mut res, &self.bytes),
            Ok(httparse::Status::Complete(_))
        ) {
            debug_assert!(false, "a head the decoder accepted does not parse again");
            return map;
        }
        let base = self.bytes.as_ptr() as usize;
        let mut length_seen = false;
        for h in res.headers.iter() {
            let bit = known_bit(h.name.as_bytes());
            if bit & self.hidden != 0 {
                continue;
            }
            // Go keeps one of several (equal) `Content-Length` fields.
            if bit == CONTENT_LENGTH_BIT {
                if length_seen {
                    continue;
                }
                length_seen = true;
            }
            let start = h.value.as_ptr() as usize - base;
            let (Ok(name), Some(value)) = (
                HeaderName::from_bytes(h.name.as_bytes()),
                value_at(&self.bytes, start, start + h.value.len()),
            ) else {
                debug_assert!(false, "a field the decoder accepted is not valid");
                continue;
            };
            map.append(name, value);
        }
        map
    }
}

/// A value's bytes with each obs-fold (a line end and the next line's indentation) made one
/// space, as Go's client reads it: every line trimmed, the lines joined by a space.
pub(crate) fn unfolded(v: &[u8]) -> Cow<'_, [u8]> {
    if !v.iter().any(|b| matches!(*b, b'\r' | b'\n')) {
        return Cow::Borrowed(v);
    }
    let mut out = Vec::with_capacity(v.len());
    for (i, line) in v.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(line.trim_ascii());
    }
    Cow::Owned(out)
}

/// The field value at `start..end` of `raw`, sharing its memory; an obs-fold (line end and
/// indentation) becomes a space.
pub(crate) fn value_at(raw: &Bytes, start: usize, end: usize) -> Option<HeaderValue> {
    // Line ends are not valid in a value: only a value that fails can hold an obs-fold, so
    // the usual value is checked once, and takes the slice without another reference to it.
    if let Ok(value) = HeaderValue::from_maybe_shared(raw.slice(start..end)) {
        return Some(value);
    }
    HeaderValue::from_bytes(&unfolded(&raw[start..end])).ok()
}

/// A response's header fields: kept as received until a map is asked for (through `Deref`),
/// then as that map.
#[derive(Clone, Default)]
pub struct ResponseHeaders {
    raw: Option<RawHead>,
    map: OnceLock<Box<HeaderMap>>,
}

impl ResponseHeaders {
    pub(crate) fn raw(raw: RawHead) -> Self {
        Self {
            raw: Some(raw),
            map: OnceLock::new(),
        }
    }

    /// Leaves the fields of `mask` (bits of [`KNOWN`]) out of the map, as Go's client does with
    /// `Transfer-Encoding`, a `Content-Length` that chunks override and `Connection: close`.
    /// Only before the map is made: the decoder calls it on the head it parsed.
    pub(crate) fn hide(&mut self, mask: u8) {
        if let Some(raw) = &mut self.raw {
            debug_assert!(self.map.get().is_none(), "hidden after the map was made");
            raw.hidden |= mask;
            raw.known &= !mask;
        }
    }

    /// The fields as a map (made on the first call).
    pub fn map(&self) -> &HeaderMap {
        self.map.get_or_init(|| {
            Box::new(match &self.raw {
                Some(raw) => raw.to_map(),
                None => HeaderMap::new(),
            })
        })
    }

    /// The fields as a map, owned.
    pub fn into_map(self) -> HeaderMap {
        self.map();
        self.map.into_inner().map(|m| *m).unwrap_or_default()
    }

    /// Whether a field `name` is there; for the fields the client looks at on every response,
    /// without making the map.
    pub fn contains(&self, name: &HeaderName) -> bool {
        if let (Some(raw), None) = (&self.raw, self.map.get()) {
            if let Some(i) = KNOWN.iter().position(|k| k == name) {
                return raw.known & (1 << i) != 0;
            }
        }
        self.map().contains_key(name)
    }
}

impl From<HeaderMap> for ResponseHeaders {
    fn from(map: HeaderMap) -> Self {
        Self {
            raw: None,
            map: OnceLock::from(Box::new(map)),
        }
    }
}

impl std::ops::Deref for ResponseHeaders {
    type Target = HeaderMap;

    fn deref(&self) -> &HeaderMap {
        self.map()
    }
}

impl std::ops::DerefMut for ResponseHeaders {
    fn deref_mut(&mut self) -> &mut HeaderMap {
        self.map();
        self.raw = None;
        self.map.get_mut().expect("made just above")
    }
}

impl std::fmt::Debug for ResponseHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.map().fmt(f)
    }
}

impl PartialEq for ResponseHeaders {
    fn eq(&self, other: &Self) -> bool {
        self.map() == other.map()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(head: &'static [u8]) -> ResponseHeaders {
        let mut slots = [httparse::EMPTY_HEADER; 8];
        let mut res = httparse::Response::new(&mut slots);
        let mut config = httparse::ParserConfig::default();
        config.allow_obsolete_multiline_headers_in_responses(true);
        config.parse_response(&mut res, head).unwrap();
        let known = res
            .headers
            .iter()
            .fold(0, |k, h| k | known_bit(h.name.as_bytes()));
        ResponseHeaders::raw(RawHead {
            bytes: Bytes::from_static(head),
            fields: res.headers.len(),
            known,
            hidden: 0,
        })
    }

    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nServer: x\r\nSet-Cookie: a=1\r\nX-Fold: a\r\n b\r\n\
        set-cookie: b=2\r\nCONTENT-length: 0\r\nWww-Authenticate: Basic\r\n\r\n";

    #[test]
    fn lookups_without_the_map_agree_with_the_map() {
        let h = raw(HEAD);
        for name in &KNOWN {
            let lazy = h.contains(name);
            assert!(h.map.get().is_none(), "no map made for {name}");
            assert_eq!(lazy, raw(HEAD).map().contains_key(name), "{name}");
        }
        assert!(h.contains(&SET_COOKIE) && h.contains(&CONTENT_LENGTH));
        assert!(h.contains(&WWW_AUTHENTICATE) && !h.contains(&LOCATION));
        // Another name makes the map.
        assert!(h.contains(&HeaderName::from_static("x-fold")));
        assert!(h.map.get().is_some());
        assert_eq!(h.get("x-fold").unwrap(), "a b");
        let names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "server",
                "set-cookie",
                "x-fold",
                "content-length",
                "www-authenticate"
            ],
            "in order, repeated names once"
        );
        assert_eq!(h.get_all("set-cookie").iter().count(), 2);
        assert_eq!(known_bit(b"Location"), 1 << 3);
        assert_eq!(known_bit(b"Locatiox"), 0);
    }

    #[test]
    fn each_known_field_has_its_bit_in_any_case_and_no_other_name_has_one() {
        for (i, name) in KNOWN.iter().enumerate() {
            assert_eq!(KNOWN_NAMES[i], name.as_str().as_bytes());
            let upper = name.as_str().to_ascii_uppercase();
            assert_eq!(known_bit(name.as_str().as_bytes()), 1 << i, "{name}");
            assert_eq!(known_bit(upper.as_bytes()), 1 << i, "{upper}");
        }
        // Near misses in one byte, at every position: each byte made another token byte.
        for (i, name) in KNOWN_NAMES.iter().enumerate() {
            for at in 0..name.len() {
                for b in (b'!'..=b'~').filter(|b| !b"()<>@,;:\\\"/[]?={}".contains(b)) {
                    let mut near = name.to_vec();
                    near[at] = b;
                    let same = near.eq_ignore_ascii_case(name);
                    assert_eq!(
                        known_bit(&near) == 1 << i,
                        same,
                        "{:?}",
                        String::from_utf8_lossy(&near)
                    );
                }
            }
        }
        for other in [
            "content-type",
            "cache-control",
            "last-modified",
            "server",
            "set-cookie2",
            "connectiox",
            "keep-alive",
            "",
        ] {
            assert_eq!(known_bit(other.as_bytes()), 0, "{other}");
        }
    }

    #[test]
    fn a_map_changed_in_place_stays_changed() {
        let mut h = raw(HEAD);
        h.remove("set-cookie");
        h.insert("location", HeaderValue::from_static("/x"));
        assert!(!h.contains(&SET_COOKIE));
        assert!(h.contains(&LOCATION));
        assert!(h.raw.is_none());
        let cloned = h.clone();
        assert_eq!(cloned.get("location").unwrap(), "/x");
        assert_eq!(cloned, h);
        assert_eq!(h.into_map().len(), 5);
    }

    #[test]
    fn from_a_map_and_empty() {
        let mut map = HeaderMap::new();
        map.insert("a", HeaderValue::from_static("1"));
        let h = ResponseHeaders::from(map);
        assert!(h.contains(&HeaderName::from_static("a")));
        assert!(!h.contains(&LOCATION));
        let empty = ResponseHeaders::default();
        assert!(!empty.contains(&SET_COOKIE));
        assert!(empty.is_empty());
    }
}
