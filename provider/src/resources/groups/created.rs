//! Groups this provider process created moments ago, and what it created them with.
//!
//! A group create does not wait for the new group to replicate (each confirming read sat on
//! the apply's critical path). Resources planned right after it in the same apply — the
//! device preparation policy checking its device group, the join settings checking their
//! allowed groups — would then look the group up while Graph may still answer 404 or show it
//! without its owners. They ask here first: a group this process created a few minutes ago
//! is an assigned security group with the owners it was created with, whatever a lagging
//! replica says, and the later writes (binding, assignment) have their own bounded retries.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::graph::GraphClient;

/// What a create request made (the resources create assigned, non-dynamic security groups).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedGroup {
    /// The Intune Provisioning Client was bound as an owner in the create request.
    pub owned_by_provisioning_client: bool,
}

/// How long a created group is vouched for: one apply, generously; replication takes
/// seconds to minutes.
const REMEMBERED_FOR: Duration = Duration::from_secs(600);

/// Graph client ([`GraphClient::instance_id`]: one tenant) and lower-case group id.
type Key = (u64, String);

/// When each group was created, and with what.
static CREATED: LazyLock<Mutex<HashMap<Key, (Instant, CreatedGroup)>>> = LazyLock::new(Default::default);

/// Records that `graph` created group `id` just now.
pub fn remember(graph: &GraphClient, id: &str, group: CreatedGroup) {
    // A poisoned map holds complete entries (each change is one insert or retain).
    let mut map = CREATED.lock().unwrap_or_else(PoisonError::into_inner);
    map.retain(|_, (at, _)| at.elapsed() < REMEMBERED_FOR);
    map.insert((graph.instance_id(), id.to_ascii_lowercase()), (Instant::now(), group));
}

/// What `graph` created group `id` with, if it did so in the last few minutes.
pub fn recall(graph: &GraphClient, id: &str) -> Option<CreatedGroup> {
    let map = CREATED.lock().unwrap_or_else(PoisonError::into_inner);
    map.get(&(graph.instance_id(), id.to_ascii_lowercase()))
        .filter(|(at, _)| at.elapsed() < REMEMBERED_FOR)
        .map(|(_, group)| group.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn recalled_per_client_and_case_insensitively() {
        let server = wiremock::MockServer::start().await;
        let a = super::super::test_support::client(&server);
        let b = super::super::test_support::client(&server);
        let id = "21D05557-B7B6-418F-86FA-A3118D751BE4";
        assert_eq!(recall(&a, id), None);
        remember(&a, id, CreatedGroup { owned_by_provisioning_client: true });
        assert_eq!(
            recall(&a, &id.to_ascii_lowercase()),
            Some(CreatedGroup { owned_by_provisioning_client: true })
        );
        assert_eq!(recall(&b, id), None, "another client may be another tenant");
    }
}
