//! Tag sets: the `key=value` pairs that make a sample's series. Each distinct set is interned
//! once for the whole test and then named by a small [`TagSetId`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

/// A sorted set of tags with unique keys.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct TagSet(Arc<[(Arc<str>, Arc<str>)]>);

impl TagSet {
    /// A set from pairs; when a key repeats, the last value wins.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut v: Vec<(&str, &str)> = pairs.into_iter().collect();
        v.reverse();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v.dedup_by(|a, b| a.0 == b.0);
        Self(
            v.into_iter()
                .map(|(k, val)| (Arc::from(k), Arc::from(val)))
                .collect(),
        )
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// The tags, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Whether every `(key, value)` of `filter` is in this set.
    pub fn contains_all(&self, filter: &[(String, String)]) -> bool {
        filter.iter().all(|(k, v)| self.get(k) == Some(v.as_str()))
    }
}

impl fmt::Debug for TagSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

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

/// Every tag set seen in a test, up to a limit; past it, new sets are folded into overflow
/// series that keep only the tags of few values, so that memory stays bounded whatever the
/// script tags its samples with.
#[derive(Debug)]
pub struct TagInterner {
    inner: RwLock<Interned>,
}

#[derive(Debug)]
struct Interned {
    ids: HashMap<TagSet, TagSetId>,
    sets: Vec<TagSet>,
    limit: usize,
    /// Tag keys a folded set keeps besides [`FEW_VALUES`]: those thresholds filter on.
    keep: Vec<String>,
    /// Sets folded so far (new sets past the limit, counted each time one is asked for).
    folded: u64,
    /// The tags the first folded set lost, until the warning about them is taken.
    notice: Option<Vec<String>>,
    noticed: bool,
}

impl Default for TagInterner {
    fn default() -> Self {
        Self {
            inner: RwLock::new(Interned {
                ids: HashMap::new(),
                sets: Vec::new(),
                limit: DEFAULT_MAX_SERIES,
                keep: Vec::new(),
                folded: 0,
                notice: None,
                noticed: false,
            }),
        }
    }
}

impl TagInterner {
    /// The id of `set`, interning it if new; past the limit, the id of its overflow series.
    pub fn intern(&self, set: TagSet) -> TagSetId {
        if let Some(id) = self.inner.read().expect("tag interner lock").ids.get(&set) {
            return *id;
        }
        let mut inner = self.inner.write().expect("tag interner lock");
        if let Some(id) = inner.ids.get(&set) {
            return *id;
        }
        if inner.sets.len() >= inner.limit {
            return inner.fold(&set);
        }
        inner.insert(set)
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
        self.inner.read().expect("tag interner lock").folded
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
}

impl Interned {
    fn insert(&mut self, set: TagSet) -> TagSetId {
        let id = TagSetId(self.sets.len() as u32);
        self.sets.push(set.clone());
        self.ids.insert(set, id);
        id
    }

    /// The overflow series of `set`: its tags of few values and those thresholds name, with
    /// `name` set to [`OVERFLOW`]. Should even those be too many, one last series takes the rest.
    fn fold(&mut self, set: &TagSet) -> TagSetId {
        self.folded += 1;
        let kept = |k: &str| FEW_VALUES.contains(&k) || self.keep.iter().any(|have| have == k);
        let mut pairs: Vec<(&str, &str)> = set.iter().filter(|(k, _)| kept(k)).collect();
        if !self.noticed {
            self.noticed = true;
            let lost = set
                .iter()
                .filter(|(k, _)| !kept(k))
                .map(|(k, _)| k.to_owned());
            self.notice = Some(lost.collect());
        }
        if !pairs.iter().any(|(k, _)| *k == "name") {
            pairs.push(("name", OVERFLOW));
        }
        let folded = TagSet::from_pairs(pairs);
        if let Some(id) = self.ids.get(&folded) {
            return *id;
        }
        // Folded sets of few values are few; a bound all the same, for tags that are not.
        if self.sets.len() < self.limit + self.limit / 10 + 100 {
            return self.insert(folded);
        }
        let last = TagSet::from_pairs([("name", OVERFLOW)]);
        match self.ids.get(&last) {
            Some(id) => *id,
            None => self.insert(last),
        }
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
    }

    #[test]
    fn interning_gives_one_id_per_distinct_set() {
        let interner = TagInterner::default();
        let a = interner.intern(TagSet::from_pairs([("k", "v")]));
        let b = interner.intern(TagSet::from_pairs([("k", "v")]));
        let c = interner.intern(TagSet::from_pairs([("k", "w")]));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(interner.get(c).get("k"), Some("w"));
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
