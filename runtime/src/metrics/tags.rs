//! Tag sets: the `key=value` pairs that make a sample's series. Each distinct set is interned
//! once for the whole test and then named by a small [`TagSetId`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use hashbrown::HashTable;
use xxhash_rust::xxh3::xxh3_64;

pub use super::tag_set::TagSet;
use super::tag_set::{self, Pairs};

/// The id of an interned [`TagSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagSetId(pub u32);

/// Distinct tag sets (metric series) kept by default; see [`TagInterner::set_limit`].
pub const DEFAULT_MAX_SERIES: usize = 10_000;

/// The value of `name` in the series the excess is folded into.
pub const OVERFLOW: &str = "(overflow)";

/// Tags of few values, kept in a folded series: every system tag but `url` and `name` (and
/// `vu`, `iter`, which count up).
const FEW_VALUES: &[&str] = &[
    "scenario",
    "group",
    "method",
    "status",
    "proto",
    "expected_response",
    "error_code",
    "check",
    "tls_version",
    "subproto",
    "ip",
];

/// What [`TagInterner::intern_pairs`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interned {
    /// The set's id: its own series, or the overflow series it was folded into.
    pub id: TagSetId,
    /// Whether the set was folded (past the limit): its id names a series of other sets too,
    /// and asking again folds again (a cache of such ids would only fill with new URLs).
    pub folded: bool,
}

/// Every tag set seen in a test, up to a limit; past it, new sets are folded into overflow
/// series that keep only the tags of few values, so that memory stays bounded whatever the
/// script tags its samples with.
#[derive(Debug)]
pub struct TagInterner {
    inner: RwLock<State>,
    /// Sets folded so far (new sets past the limit, counted each time one is asked for).
    folded: AtomicU64,
}

#[derive(Debug)]
struct State {
    /// The ids of `sets`, found by the hash of a set's bytes: a set is looked up by the bytes
    /// its pairs encode to, without making it first.
    ids: HashTable<u32>,
    sets: Vec<TagSet>,
    limit: usize,
    /// Tag keys a folded set keeps besides [`FEW_VALUES`]: those thresholds filter on.
    keep: Vec<String>,
    /// The tags the first folded set lost, until the warning about them is taken.
    notice: Option<Vec<String>>,
    noticed: bool,
}

impl Default for TagInterner {
    fn default() -> Self {
        Self {
            inner: RwLock::new(State {
                ids: HashTable::new(),
                sets: Vec::new(),
                limit: DEFAULT_MAX_SERIES,
                keep: Vec::new(),
                notice: None,
                noticed: false,
            }),
            folded: AtomicU64::new(0),
        }
    }
}

impl TagInterner {
    /// The id of `set`, interning it if new; past the limit, the id of its overflow series.
    pub fn intern(&self, set: TagSet) -> TagSetId {
        self.intern_encoded(set.encoded(), &mut Vec::new()).id
    }

    /// The set `pairs` make (the last value of a repeated key wins), as
    /// [`intern`](Self::intern), and whether it was folded; `scratch` is a buffer to reuse,
    /// so that a set already interned costs no allocation.
    pub fn intern_pairs(&self, pairs: &[(&str, &str)], scratch: &mut Vec<u8>) -> Interned {
        let mut buf = std::mem::take(scratch);
        tag_set::encode(Pairs::from_slice(pairs), &mut buf);
        let found = self.intern_encoded(&buf, scratch);
        *scratch = buf;
        found
    }

    /// The set of canonical bytes `bytes`; `scratch` is for the folded set's.
    fn intern_encoded(&self, bytes: &[u8], scratch: &mut Vec<u8>) -> Interned {
        let hash = xxh3_64(bytes);
        let own = |id| Interned { id, folded: false };
        let full = {
            let inner = self.inner.read().expect("tag interner lock");
            if let Some(id) = inner.find(hash, bytes) {
                return own(id);
            }
            inner.sets.len() >= inner.limit
        };
        if !full {
            let mut inner = self.inner.write().expect("tag interner lock");
            if let Some(id) = inner.find(hash, bytes) {
                return own(id);
            }
            if inner.sets.len() < inner.limit {
                return own(inner.insert(hash, bytes));
            }
        }
        Interned {
            id: self.fold(bytes, scratch),
            folded: true,
        }
    }

    /// The overflow series of the set of bytes `bytes`: its tags of few values and those
    /// thresholds name, with `name` set to [`OVERFLOW`]. Should even those be too many, one
    /// last series takes the rest. Found under the read lock once it exists.
    fn fold(&self, bytes: &[u8], scratch: &mut Vec<u8>) -> TagSetId {
        self.folded.fetch_add(1, Ordering::Relaxed);
        let lost = {
            let inner = self.inner.read().expect("tag interner lock");
            let kept = |k: &str| FEW_VALUES.contains(&k) || inner.keep.iter().any(|have| have == k);
            let mut pairs: Pairs<'_> = tag_set::Iter::new(bytes).filter(|(k, _)| kept(k)).collect();
            if !pairs.iter().any(|(k, _)| *k == "name") {
                pairs.push(("name", OVERFLOW));
            }
            tag_set::encode(pairs, scratch);
            let hash = xxh3_64(scratch);
            match inner.find(hash, scratch) {
                Some(id) if inner.noticed => return id,
                _ => {}
            }
            let lost = tag_set::Iter::new(bytes).filter(|(k, _)| !kept(k));
            lost.map(|(k, _)| k.to_owned()).collect::<Vec<_>>()
        };
        let mut inner = self.inner.write().expect("tag interner lock");
        if !inner.noticed {
            inner.noticed = true;
            inner.notice = Some(lost);
        }
        let hash = xxh3_64(scratch);
        if let Some(id) = inner.find(hash, scratch) {
            return id;
        }
        // Folded sets of few values are few; a bound all the same, for tags that are not.
        if inner.sets.len() < inner.limit + inner.limit / 10 + 100 {
            return inner.insert(hash, scratch);
        }
        tag_set::encode(Pairs::from_slice(&[("name", OVERFLOW)]), scratch);
        let hash = xxh3_64(scratch);
        match inner.find(hash, scratch) {
            Some(id) => id,
            None => inner.insert(hash, scratch),
        }
    }

    /// Keeps at most `limit` distinct sets (the overflow series come on top: at most one per
    /// combination of the tags of few values). Takes effect for sets interned from now on.
    pub fn set_limit(&self, limit: usize) {
        self.inner.write().expect("tag interner lock").limit = limit.max(1);
    }

    /// Tag keys overflow series keep too (those thresholds filter on).
    pub fn keep_keys<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.inner.write().expect("tag interner lock");
        for k in keys {
            if !inner.keep.iter().any(|have| have == k) {
                inner.keep.push(k.to_owned());
            }
        }
    }

    /// How many times a new set was folded into an overflow series.
    pub fn folded(&self) -> u64 {
        self.folded.load(Ordering::Relaxed)
    }

    /// Once, after the first set was folded: the tags it lost (for the warning).
    pub fn take_overflow_notice(&self) -> Option<Vec<String>> {
        // A read lock answers the usual question (no fold yet) without blocking interning.
        let none = self
            .inner
            .read()
            .expect("tag interner lock")
            .notice
            .is_none();
        if none {
            return None;
        }
        self.inner.write().expect("tag interner lock").notice.take()
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.inner.read().expect("tag interner lock").limit
    }

    /// The set named `id`.
    pub fn get(&self, id: TagSetId) -> TagSet {
        self.inner.read().expect("tag interner lock").sets[id.0 as usize].clone()
    }

    /// Number of distinct sets.
    pub fn len(&self) -> usize {
        self.inner.read().expect("tag interner lock").sets.len()
    }

    /// Whether no set was interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes the interned sets hold: the sets, the table of their ids, the list of them.
    pub fn heap_size(&self) -> usize {
        let inner = self.inner.read().expect("tag interner lock");
        let sets: usize = inner.sets.iter().map(TagSet::heap_size).sum();
        sets + inner.ids.capacity() * (size_of::<u32>() + 1)
            + inner.sets.capacity() * size_of::<TagSet>()
    }
}

impl State {
    fn find(&self, hash: u64, bytes: &[u8]) -> Option<TagSetId> {
        let sets = &self.sets;
        self.ids
            .find(hash, |&id| sets[id as usize].encoded() == bytes)
            .map(|&id| TagSetId(id))
    }

    fn insert(&mut self, hash: u64, bytes: &[u8]) -> TagSetId {
        let id = self.sets.len() as u32;
        self.sets.push(TagSet::from_encoded(bytes));
        let sets = &self.sets;
        self.ids
            .insert_unique(hash, id, |&id| xxh3_64(sets[id as usize].encoded()));
        TagSetId(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_gives_one_id_per_distinct_set() {
        let interner = TagInterner::default();
        let a = interner.intern(TagSet::from_pairs([("k", "v")]));
        let b = interner.intern(TagSet::from_pairs([("k", "v")]));
        let c = interner.intern(TagSet::from_pairs([("k", "w")]));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(interner.get(c).get("k"), Some("w"));

        // Pairs in any order, a repeated key's last value: the same set, found by its bytes.
        let mut scratch = Vec::new();
        let d = interner.intern_pairs(&[("z", "1"), ("k", "x"), ("k", "w")], &mut scratch);
        let e = interner.intern_pairs(&[("k", "w"), ("z", "1")], &mut scratch);
        assert_eq!(d, e);
        assert!(!d.folded);
        assert_eq!(interner.intern_pairs(&[("k", "w")], &mut scratch).id, c);
        assert_eq!(interner.len(), 3);
        interner.set_limit(3);
        let f = interner.intern_pairs(&[("k", "new")], &mut scratch);
        assert!(f.folded);
        assert_eq!(
            interner.get(f.id).iter().collect::<Vec<_>>(),
            [("name", OVERFLOW)]
        );
        assert_eq!(
            interner.intern_pairs(&[("z", "1"), ("k", "w")], &mut scratch),
            d
        );
    }

    #[test]
    fn past_the_limit_new_sets_fold_into_overflow_series() {
        let interner = TagInterner::default();
        interner.set_limit(3);
        interner.keep_keys(["tier"]);
        let url = |u: &str, status: &str| {
            TagSet::from_pairs([
                ("url", u),
                ("name", u),
                ("status", status),
                ("tier", "gold"),
                ("id", u),
            ])
        };
        let first: Vec<_> = (0..3)
            .map(|i| interner.intern(url(&format!("/{i}"), "200")))
            .collect();
        assert_eq!(interner.len(), 3);
        assert_eq!(interner.take_overflow_notice(), None);
        // Sets seen before the limit keep their own series.
        assert_eq!(interner.intern(url("/1", "200")), first[1]);

        let a = interner.intern(url("/3", "200"));
        let b = interner.intern(url("/4", "200"));
        let c = interner.intern(url("/5", "500"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let folded = interner.get(a);
        assert_eq!(
            folded.iter().collect::<Vec<_>>(),
            [("name", OVERFLOW), ("status", "200"), ("tier", "gold")]
        );
        assert_eq!(interner.folded(), 3);
        assert_eq!(
            interner.take_overflow_notice(),
            Some(vec!["id".to_owned(), "name".to_owned(), "url".to_owned()])
        );
        assert_eq!(interner.take_overflow_notice(), None, "one warning");

        // Tags thresholds keep can still vary too much: a bound all the same.
        for i in 0..1000 {
            let set = TagSet::from_pairs([("url", "/x"), ("tier", &*format!("t{i}"))]);
            interner.intern(set);
        }
        assert!(interner.len() <= 3 + 100 + 1, "{}", interner.len());
    }
}
