//! Shared immutable strings and the tables that hand out one copy of each.
//!
//! A large fleet repeats the same few thousand strings (node names, tags, meta keys and
//! values, check names) across tens of thousands of Consul service instances; keeping one
//! reference-counted copy of each is most of what keeps such a fleet small.

use rustc_hash::FxHashSet;
use serde::Serialize;
use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::ops::Deref;
use std::sync::Arc;

/// An immutable, cheaply cloned string; equal strings from one [`Interner`] share memory.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when nothing but the tables holding it refer to it any more.
    fn unused(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::from("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Arc::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Arc::from(s))
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

/// String to string pairs sorted by key (Consul service meta), shared between every
/// service instance that carries the same ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Meta(Box<[(Text, Text)]>);

impl Meta {
    /// Pairs in any order; a repeated key keeps its last value, as a JSON object does.
    pub fn new(mut pairs: Vec<(Text, Text)>) -> Meta {
        // Stable, so that among equal keys the last one stays last.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Text, Text)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        Meta(out.into_boxed_slice())
    }

    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&Text> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The pairs, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&Text, &Text)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl Serialize for Meta {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// A table of shared values: the first copy of a value is kept and handed out again.
pub struct Pool<T: ?Sized> {
    set: FxHashSet<Arc<T>>,
    /// Size after the last sweep; the next sweep waits until the table doubles.
    swept: usize,
}

impl<T: ?Sized> Default for Pool<T> {
    fn default() -> Pool<T> {
        Pool {
            set: FxHashSet::default(),
            swept: 0,
        }
    }
}

impl<T: ?Sized + Hash + Eq> Pool<T> {
    /// The shared copy of `value`, made from it with `make` the first time.
    pub fn get<Q>(&mut self, value: &Q, make: impl FnOnce(&Q) -> Arc<T>) -> Arc<T>
    where
        Arc<T>: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if let Some(v) = self.set.get(value) {
            return v.clone();
        }
        let v = make(value);
        self.set.insert(v.clone());
        v
    }

    /// Adds a value that is already shared, so later equal values share it too.
    pub fn adopt(&mut self, value: &Arc<T>) {
        if !self.set.contains(&**value) {
            self.set.insert(value.clone());
        }
    }

    /// Drops the values nobody else holds, once the table has doubled since the last
    /// time, so that a long watch does not keep every string it ever saw.
    pub fn sweep(&mut self) {
        if self.set.len() < 1024 || self.set.len() < self.swept * 2 {
            return;
        }
        self.set.retain(|v| Arc::strong_count(v) > 1);
        self.swept = self.set.len();
    }

    /// How many values the table holds.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// One copy of each string.
#[derive(Default)]
pub struct Interner {
    set: FxHashSet<Text>,
    swept: usize,
}

impl Interner {
    /// The shared copy of `s`.
    pub fn text(&mut self, s: &str) -> Text {
        if let Some(t) = self.set.get(s) {
            return t.clone();
        }
        let t = Text::from(s);
        self.set.insert(t.clone());
        t
    }

    /// Adds a string that is already shared, so later equal strings share it too.
    pub fn adopt(&mut self, t: &Text) {
        if !self.set.contains(t.as_str()) {
            self.set.insert(t.clone());
        }
    }

    /// Drops the strings nobody else holds, once the table has doubled since the last time.
    pub fn sweep(&mut self) {
        if self.set.len() < 1024 || self.set.len() < self.swept * 2 {
            return;
        }
        self.set.retain(|t| !t.unused());
        self.swept = self.set.len();
    }

    /// How many strings the table holds.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_copy_until_swept() {
        let mut i = Interner::default();
        let a = i.text("pg-test-1");
        let b = i.text(&String::from("pg-test-1"));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, "pg-test-1");
        assert_eq!(format!("{a} {a:?}"), "pg-test-1 \"pg-test-1\"");
        for n in 0..2000 {
            i.text(&n.to_string());
        }
        i.sweep();
        assert_eq!(i.len(), 1, "only the string still held is kept");
    }

    #[test]
    fn meta_is_sorted_keeps_the_last_value_and_serializes_as_a_map() {
        let t = Text::from;
        let m = Meta::new(vec![
            (t("seq"), t("1")),
            (t("cluster"), t("pg-a")),
            (t("seq"), t("2")),
        ]);
        assert_eq!(m.get("seq").map(Text::as_str), Some("2"));
        assert_eq!(m.get("role"), None);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"cluster":"pg-a","seq":"2"}"#
        );
        let mut pool: Pool<Meta> = Pool::default();
        let a = pool.get(&m, |m| Arc::new(m.clone()));
        let b = pool.get(&m.clone(), |m| Arc::new(m.clone()));
        assert!(Arc::ptr_eq(&a, &b));
    }
}
