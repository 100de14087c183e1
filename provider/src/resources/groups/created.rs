//! Groups this provider instance created moments ago, and what it created them with.
//!
//! A group create does not wait for the new group to replicate (each confirming read sat on
//! the apply's critical path). Resources planned right after it in the same apply — the
//! device preparation policy checking its device group, the join settings checking their
//! allowed groups — would then look the group up while Graph may still answer 404 or show it
//! without its owners. They ask here first: a group this provider created a few minutes ago
//! is an assigned security group with the owners it was created with, whatever a lagging
//! replica says, and the later writes (binding, assignment) have their own bounded retries.
//! Held in [`ProviderData`](crate::resources::ProviderData): one tenant's groups.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What a create request made (the resources create assigned, non-dynamic security groups).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedGroup {
    /// The Intune Provisioning Client was bound as an owner in the create request.
    pub owned_by_provisioning_client: bool,
}

/// How long a created group is vouched for: one apply, generously; replication takes
/// seconds to minutes.
const REMEMBERED_FOR: Duration = Duration::from_secs(600);

/// When each group was created, and with what, by lower-case group id.
#[derive(Debug, Default)]
pub struct CreatedGroups(Mutex<HashMap<String, (Instant, CreatedGroup)>>);

impl CreatedGroups {
    /// Records that group `id` was created just now.
    pub fn remember(&self, id: &str, group: CreatedGroup) {
        let mut map = self.map();
        map.retain(|_, (at, _)| at.elapsed() < REMEMBERED_FOR);
        map.insert(id.to_ascii_lowercase(), (Instant::now(), group));
    }

    /// What group `id` was created with, if it was created in the last few minutes.
    pub fn recall(&self, id: &str) -> Option<CreatedGroup> {
        self.map()
            .get(&id.to_ascii_lowercase())
            .filter(|(at, _)| at.elapsed() < REMEMBERED_FOR)
            .map(|(_, group)| group.clone())
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, (Instant, CreatedGroup)>> {
        // A poisoned map holds complete entries (each change is one insert or retain).
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recalled_case_insensitively() {
        let created = CreatedGroups::default();
        let id = "21D05557-B7B6-418F-86FA-A3118D751BE4";
        assert_eq!(created.recall(id), None);
        created.remember(id, CreatedGroup { owned_by_provisioning_client: true });
        assert_eq!(
            created.recall(&id.to_ascii_lowercase()),
            Some(CreatedGroup { owned_by_provisioning_client: true })
        );
        assert_eq!(CreatedGroups::default().recall(id), None, "another provider instance knows nothing");
    }
}
