//! Ids of objects this provider process deleted.
//!
//! Intune's lists trail its deletes (by seconds to minutes). When Terraform replaces a resource
//! it deletes and then creates in the same process, and a create that lists what exists would
//! take the rows it just deleted for present and write nothing. Deletes are final and Graph
//! never reuses an id, so a buried id stays buried for the life of the process.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

/// A set of deleted ids, shared by every resource of one provider instance.
#[derive(Debug, Default)]
pub struct Tombstones(Mutex<HashSet<String>>);

impl Tombstones {
    /// Records that `ids` were deleted.
    pub fn bury<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        self.set().extend(ids.into_iter().map(str::to_ascii_lowercase));
    }

    /// Whether `id` was deleted by this process.
    pub fn is_buried(&self, id: &str) -> bool {
        self.set().contains(&id.to_ascii_lowercase())
    }

    fn set(&self) -> MutexGuard<'_, HashSet<String>> {
        // A panic while holding the lock cannot leave the set half-changed.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buried_ids_are_found_whatever_their_case() {
        let t = Tombstones::default();
        assert!(!t.is_buried("A1"));
        t.bury(["A1", "b2"]);
        assert!(t.is_buried("a1"));
        assert!(t.is_buried("B2"));
        assert!(!t.is_buried("c3"));
    }
}
