//! A tag set in one allocation: its pairs, sorted by key, written as bytes in a canonical
//! form, so that two sets are equal exactly when their bytes are, and a set can be looked up
//! by the bytes of pairs a caller has just encoded without allocating.
//!
//! A set is kept for every metric series of a test (up to `maxSeries`), so its size is the
//! price of a series. The form, pair after pair:
//!
//! - the key: a varint `h`; below `KNOWN.len()` it names one of the [`KNOWN`] keys (the
//!   system tags: one byte instead of the name), else `h - KNOWN.len()` bytes of name follow;
//! - the value: a varint `h`; `h` even: `h / 2` bytes of value follow; `h` odd: the value is
//!   the one written at byte `h / 2` of the set (`url` and `name` are mostly the same string,
//!   written once). A value of [`SHARED_MIN`] bytes or more that equals an earlier pair's value
//!   is always written that way, and keys of [`KNOWN`] always by their number: one set, one
//!   form.

use std::fmt;
use std::sync::Arc;

use smallvec::SmallVec;

/// Keys written as one byte: the system tags k6 knows, the most common first.
const KNOWN: &[&str] = &[
    "scenario",
    "group",
    "method",
    "url",
    "name",
    "status",
    "proto",
    "expected_response",
    "error_code",
    "check",
    "tls_version",
    "subproto",
    "ip",
    "vu",
    "iter",
    "error",
    "service",
    "ocsp_status",
];

/// The shortest value written once when two keys share it (a reference costs a byte or two).
const SHARED_MIN: usize = 4;

/// Pairs as a caller has them, before they are put in canonical order.
pub(super) type Pairs<'a> = SmallVec<[(&'a str, &'a str); 16]>;

/// A sorted set of tags with unique keys.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct TagSet(Arc<[u8]>);

impl TagSet {
    /// A set from pairs; when a key repeats, the last value wins.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut buf = Vec::new();
        encode(pairs.into_iter().collect(), &mut buf);
        Self::from_encoded(&buf)
    }

    /// The set whose canonical bytes are `bytes` (as [`encode`] wrote them).
    pub(super) fn from_encoded(bytes: &[u8]) -> Self {
        Self(Arc::from(bytes))
    }

    /// Its canonical bytes.
    pub(super) fn encoded(&self) -> &[u8] {
        &self.0
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        get(&self.0, key)
    }

    /// The tags, sorted by key.
    pub fn iter(&self) -> Iter<'_> {
        Iter::new(&self.0)
    }

    /// Whether every `(key, value)` of `filter` is in this set.
    pub fn contains_all(&self, filter: &[(String, String)]) -> bool {
        filter.iter().all(|(k, v)| self.get(k) == Some(v.as_str()))
    }

    /// Heap bytes the set holds (its bytes and the two reference counts before them).
    pub fn heap_size(&self) -> usize {
        self.0.len() + 2 * size_of::<usize>()
    }
}

impl fmt::Debug for TagSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The value of `key` in the encoded set `bytes`.
pub(super) fn get<'a>(bytes: &'a [u8], key: &str) -> Option<&'a str> {
    Iter::new(bytes).find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// Writes the canonical bytes of `pairs` into `out` (cleared first): the pairs sorted by key,
/// the last value of a repeated key kept.
pub(super) fn encode(mut pairs: Pairs<'_>, out: &mut Vec<u8>) {
    // Keep the last value of each key: reverse, stable-sort, keep the first of each run.
    pairs.reverse();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs.dedup_by(|a, b| a.0 == b.0);
    out.clear();
    // Values written in full so far that later pairs may refer to: (value, its offset).
    let mut written: SmallVec<[(&str, usize); 8]> = SmallVec::new();
    for (k, v) in pairs {
        match KNOWN.iter().position(|known| *known == k) {
            Some(i) => put_varint(out, i),
            None => {
                put_varint(out, KNOWN.len() + k.len());
                out.extend_from_slice(k.as_bytes());
            }
        }
        let earlier = (v.len() >= SHARED_MIN)
            .then(|| written.iter().find(|(w, _)| *w == v))
            .flatten();
        match earlier {
            Some(&(_, at)) => put_varint(out, at * 2 + 1),
            None => {
                if v.len() >= SHARED_MIN {
                    written.push((v, out.len()));
                }
                put_varint(out, v.len() * 2);
                out.extend_from_slice(v.as_bytes());
            }
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint at `*pos`, moving past it.
fn take_varint(bytes: &[u8], pos: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = bytes[*pos];
        *pos += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

/// Reads `len` bytes of text at `*pos`, moving past them.
fn take_str<'a>(bytes: &'a [u8], pos: &mut usize, len: usize) -> &'a str {
    let s = &bytes[*pos..*pos + len];
    *pos += len;
    std::str::from_utf8(s).expect("a tag set's text is written from strings")
}

/// The pairs of an encoded set, in order.
pub struct Iter<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Iter<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.bytes;
        if self.pos >= bytes.len() {
            return None;
        }
        let pos = &mut self.pos;
        let h = take_varint(bytes, pos);
        let key = match KNOWN.get(h) {
            Some(known) => known,
            None => take_str(bytes, pos, h - KNOWN.len()),
        };
        let h = take_varint(bytes, pos);
        let value = if h & 1 == 0 {
            take_str(bytes, pos, h / 2)
        } else {
            let mut at = h / 2;
            let len = take_varint(bytes, &mut at) / 2;
            take_str(bytes, &mut at, len)
        };
        Some((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_sorted_and_the_last_value_wins() {
        let set = TagSet::from_pairs([("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![("a", "2"), ("b", "3")]);
        assert_eq!(set.get("b"), Some("3"));
        assert_eq!(set.get("c"), None);
        assert!(set.contains_all(&[("a".into(), "2".into())]));
        assert!(!set.contains_all(&[("a".into(), "1".into())]));
        assert_eq!(TagSet::from_pairs([]), TagSet::default());
        assert_eq!(TagSet::default().iter().count(), 0);
    }

    #[test]
    fn sets_are_equal_by_content_whatever_the_order_given() {
        let url = "http://127.0.0.1:8080/?id=1234567";
        let a = TagSet::from_pairs([
            ("scenario", "default"),
            ("url", url),
            ("name", url),
            ("tier", "gold"),
            ("status", "200"),
        ]);
        let b = TagSet::from_pairs([
            ("status", "500"),
            ("tier", "gold"),
            ("name", url),
            ("status", "200"),
            ("url", url),
            ("scenario", "default"),
        ]);
        assert_eq!(a, b);
        assert_eq!(a.encoded(), b.encoded());
        let c = TagSet::from_pairs([("url", url), ("name", "/x")]);
        assert_ne!(a, c);
        assert_eq!(c.get("name"), Some("/x"));
    }

    #[test]
    fn a_value_two_keys_share_is_written_once() {
        let url = "http://127.0.0.1:8080/some/long/path?id=1234567";
        let set = TagSet::from_pairs([
            ("method", "GET"),
            ("url", url),
            ("name", url),
            ("mine", url),
            ("status", "200"),
            ("other", "200"),
        ]);
        assert_eq!(set.get("url"), Some(url));
        assert_eq!(set.get("name"), Some(url));
        assert_eq!(set.get("mine"), Some(url));
        assert_eq!(set.get("other"), Some("200"));
        // The URL once, a byte per known key, three bytes per other key and its length.
        let once = url.len() + 1;
        let keys = 4 + (1 + 4) + (1 + 5);
        let small = 4 + 4 + 4;
        assert_eq!(set.encoded().len(), once + keys + small + 2);
        assert_eq!(
            set.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["method", "mine", "name", "other", "status", "url"]
        );
    }

    #[test]
    fn long_keys_and_values_and_odd_text_survive() {
        let long = "é".repeat(5000);
        let key = "k".repeat(300);
        let set = TagSet::from_pairs([
            (key.as_str(), long.as_str()),
            ("", ""),
            ("url", long.as_str()),
            ("x", "🦀"),
            ("error_code", "1211"),
        ]);
        assert_eq!(set.get(&key), Some(long.as_str()));
        assert_eq!(set.get("url"), Some(long.as_str()));
        assert_eq!(set.get(""), Some(""));
        assert_eq!(set.get("x"), Some("🦀"));
        assert_eq!(set.get("error_code"), Some("1211"));
        assert_eq!(set.iter().count(), 5);
        // The long value is kept once, referred to from past the first 64 bytes.
        assert!(set.encoded().len() < long.len() + key.len() + 40);
    }
}
