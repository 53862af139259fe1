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

/// Every tag set seen in a test.
#[derive(Debug, Default)]
pub struct TagInterner {
    inner: RwLock<Interned>,
}

#[derive(Debug, Default)]
struct Interned {
    ids: HashMap<TagSet, TagSetId>,
    sets: Vec<TagSet>,
}

impl TagInterner {
    /// The id of `set`, interning it if new.
    pub fn intern(&self, set: TagSet) -> TagSetId {
        if let Some(id) = self.inner.read().expect("tag interner lock").ids.get(&set) {
            return *id;
        }
        let mut inner = self.inner.write().expect("tag interner lock");
        if let Some(id) = inner.ids.get(&set) {
            return *id;
        }
        let id = TagSetId(inner.sets.len() as u32);
        inner.sets.push(set.clone());
        inner.ids.insert(set, id);
        id
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
}
