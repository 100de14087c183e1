//! The in-memory tenant: named collections of JSON objects keyed by id, plus the
//! relationships of each object (owners, members, assignments, ...) as id lists.
//!
//! Every write remembers what readers saw before it, so a configurable consistency lag can
//! serve the old version (or a 404 for a new object) until the write has "replicated" —
//! the behaviour Entra documents for freshly created or changed objects.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// Time source for consistency lag and rate windows; tests can use a manual clock to move
/// time forward without sleeping.
#[derive(Clone, Debug)]
pub struct Clock {
    start: Instant,
    manual: Option<Arc<Mutex<Duration>>>,
}

impl Clock {
    /// Real time.
    pub fn system() -> Self {
        Self { start: Instant::now(), manual: None }
    }

    /// A clock that only moves when [`Clock::advance`] is called.
    pub fn manual() -> Self {
        Self { start: Instant::now(), manual: Some(Arc::new(Mutex::new(Duration::ZERO))) }
    }

    pub fn now(&self) -> Instant {
        match &self.manual {
            Some(offset) => self.start + *offset.lock().unwrap_or_else(PoisonError::into_inner),
            None => Instant::now(),
        }
    }

    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(offset) = &self.manual {
            *offset.lock().unwrap_or_else(PoisonError::into_inner) += by;
        }
    }
}

/// One stored object: its JSON properties and its relationships (navigation name → ids).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    pub data: Map<String, Value>,
    pub links: BTreeMap<String, Vec<String>>,
}

impl Record {
    pub fn new(data: Map<String, Value>) -> Self {
        Self { data, links: BTreeMap::new() }
    }

    pub fn id(&self) -> &str {
        self.data.get("id").and_then(Value::as_str).unwrap_or_default()
    }

    /// Ids of one relationship (empty if none).
    pub fn link(&self, name: &str) -> &[String] {
        self.links.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn link_mut(&mut self, name: &str) -> &mut Vec<String> {
        self.links.entry(name.to_owned()).or_default()
    }

    /// String property, or `""`.
    pub fn str(&self, key: &str) -> &str {
        self.data.get(key).and_then(Value::as_str).unwrap_or_default()
    }
}

#[derive(Clone, Debug)]
struct Entry {
    seq: u64,
    /// `None` once deleted (kept while the deletion may still be invisible).
    current: Option<Record>,
    /// What readers saw before the last write.
    before: Option<Record>,
    changed_at: Instant,
}

/// All collections of one tenant.
#[derive(Debug)]
pub struct Store {
    collections: BTreeMap<String, BTreeMap<String, Entry>>,
    seq: u64,
    lag: Duration,
    clock: Clock,
}

impl Store {
    pub fn new(clock: Clock) -> Self {
        Self { collections: BTreeMap::new(), seq: 0, lag: Duration::ZERO, clock }
    }

    pub fn set_lag(&mut self, lag: Duration) {
        self.lag = lag;
    }

    pub fn lag(&self) -> Duration {
        self.lag
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn settled(&self, entry: &Entry) -> bool {
        self.clock.now().saturating_duration_since(entry.changed_at) >= self.lag
    }

    fn visible<'a>(&self, entry: &'a Entry) -> Option<&'a Record> {
        if self.settled(entry) { entry.current.as_ref() } else { entry.before.as_ref() }
    }

    /// The object as a Graph reader currently sees it (respects the consistency lag).
    pub fn get(&self, collection: &str, id: &str) -> Option<Record> {
        let entry = self.collections.get(collection)?.get(&id.to_ascii_lowercase())?;
        self.visible(entry).cloned()
    }

    /// The latest committed object, ignoring the lag (for the control API and for writes).
    pub fn get_latest(&self, collection: &str, id: &str) -> Option<Record> {
        self.collections.get(collection)?.get(&id.to_ascii_lowercase())?.current.clone()
    }

    /// Visible objects in creation order.
    pub fn list(&self, collection: &str) -> Vec<Record> {
        let Some(entries) = self.collections.get(collection) else { return Vec::new() };
        let mut found: Vec<(u64, Record)> =
            entries.values().filter_map(|e| self.visible(e).map(|r| (e.seq, r.clone()))).collect();
        found.sort_by_key(|(seq, _)| *seq);
        found.into_iter().map(|(_, r)| r).collect()
    }

    /// Latest objects in creation order, ignoring the lag.
    pub fn list_latest(&self, collection: &str) -> Vec<Record> {
        let Some(entries) = self.collections.get(collection) else { return Vec::new() };
        let mut found: Vec<(u64, Record)> =
            entries.values().filter_map(|e| e.current.clone().map(|r| (e.seq, r))).collect();
        found.sort_by_key(|(seq, _)| *seq);
        found.into_iter().map(|(_, r)| r).collect()
    }

    /// Names of collections that hold at least one entry (also deleted ones).
    pub fn collection_names(&self) -> Vec<String> {
        self.collections.keys().cloned().collect()
    }

    /// Looks an id up in several collections (visible view); returns the collection name too.
    pub fn find(&self, collections: &[&'static str], id: &str) -> Option<(&'static str, Record)> {
        collections.iter().find_map(|c| self.get(c, id).map(|r| (*c, r)))
    }

    /// Stores a new object (or replaces a deleted one) under its `id`; subject to the lag.
    pub fn insert(&mut self, collection: &str, record: Record) {
        self.write(collection, record.id().to_ascii_lowercase(), Some(record), false);
    }

    /// Replaces an object; subject to the lag. Returns false if it does not exist.
    pub fn replace(&mut self, collection: &str, record: Record) -> bool {
        let id = record.id().to_ascii_lowercase();
        if self.get_latest(collection, &id).is_none() {
            return false;
        }
        self.write(collection, id, Some(record), false);
        true
    }

    /// Applies what a handler changed (`after` against the `before` it read) to the latest
    /// version, so a concurrent write to other fields of the same object is kept (requests run
    /// on several threads; writing back a whole stale copy would lose it, which Graph does not).
    /// Returns false if the object no longer exists.
    pub fn commit_changes(&mut self, collection: &str, before: &Record, after: Record) -> bool {
        let Some(mut latest) = self.get_latest(collection, after.id()) else { return false };
        for key in before.data.keys() {
            if !after.data.contains_key(key) {
                latest.data.remove(key);
            }
        }
        for (key, value) in after.data {
            if before.data.get(&key) != Some(&value) {
                latest.data.insert(key, value);
            }
        }
        self.replace(collection, latest)
    }

    /// Deletes an object; readers may still see it during the lag. False if absent.
    pub fn remove(&mut self, collection: &str, id: &str) -> bool {
        let id = id.to_ascii_lowercase();
        if self.get_latest(collection, &id).is_none() {
            return false;
        }
        self.write(collection, id, None, false);
        true
    }

    /// Out-of-band write (fixtures, control API): visible at once, no lag.
    pub fn write_settled(&mut self, collection: &str, id: &str, record: Option<Record>) {
        self.write(collection, id.to_ascii_lowercase(), record, true);
    }

    fn write(&mut self, collection: &str, id: String, record: Option<Record>, settled: bool) {
        let now = self.clock.now();
        let lag = self.lag;
        self.seq += 1;
        let seq = self.seq;
        let entries = self.collections.entry(collection.to_owned()).or_default();
        let previous = entries.get(&id).cloned();
        let before = match (&previous, settled) {
            (_, true) => record.clone(),
            (None, false) => None,
            (Some(e), false) => {
                if now.saturating_duration_since(e.changed_at) >= lag {
                    e.current.clone()
                } else {
                    e.before.clone()
                }
            }
        };
        let seq = previous.as_ref().filter(|e| e.current.is_some()).map_or(seq, |e| e.seq);
        entries.insert(id, Entry { seq, current: record, before, changed_at: now });
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.collections.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(id: &str, name: &str) -> Record {
        let Value::Object(m) = json!({"id": id, "displayName": name}) else { unreachable!() };
        Record::new(m)
    }

    #[test]
    fn commit_changes_keeps_a_concurrent_write_to_other_fields() {
        let mut store = Store::new(Clock::manual());
        store.insert("policies", rec("p", "one"));
        // Two handlers read the same version; each changes its own field.
        let before = store.get_latest("policies", "p").unwrap();
        let mut binding = before.clone();
        binding.data.insert("targets".into(), json!(["g"]));
        let mut assign = before.clone();
        assign.data.insert("assignments".into(), json!([1]));
        assign.data.remove("displayName");
        assert!(store.commit_changes("policies", &before, binding));
        assert!(store.commit_changes("policies", &before, assign));
        let latest = store.get_latest("policies", "p").unwrap();
        assert_eq!(latest.data.get("targets"), Some(&json!(["g"])));
        assert_eq!(latest.data.get("assignments"), Some(&json!([1])));
        assert!(latest.data.get("displayName").is_none());
        assert!(!store.commit_changes("policies", &before, rec("gone", "x")));
    }

    #[test]
    fn lag_hides_new_objects_and_serves_stale_versions() {
        let clock = Clock::manual();
        let mut store = Store::new(clock.clone());
        store.set_lag(Duration::from_secs(5));
        store.insert("groups", rec("A", "one"));
        assert!(store.get("groups", "a").is_none());
        assert!(store.list("groups").is_empty());
        clock.advance(Duration::from_secs(5));
        assert_eq!(store.get("groups", "a").map(|r| r.str("displayName").to_owned()), Some("one".into()));

        store.replace("groups", rec("a", "two"));
        store.replace("groups", rec("a", "three"));
        assert_eq!(store.get("groups", "a").map(|r| r.str("displayName").to_owned()), Some("one".into()));
        assert_eq!(
            store.get_latest("groups", "a").map(|r| r.str("displayName").to_owned()),
            Some("three".into())
        );
        clock.advance(Duration::from_secs(5));
        assert_eq!(store.list("groups").len(), 1);
        assert_eq!(store.get("groups", "a").map(|r| r.str("displayName").to_owned()), Some("three".into()));

        store.remove("groups", "a");
        assert!(store.get("groups", "a").is_some(), "deletion not yet visible");
        clock.advance(Duration::from_secs(5));
        assert!(store.get("groups", "a").is_none());
    }
}
