//! Facts about Intune apps and scripts this provider process has just seen, so the resources
//! planned after a data source or another resource do not look the same object up again.
//!
//! Terraform plans every resource on its own and again in the apply (a new provider process),
//! and the module's references run in dependency order: the data sources find the apps and
//! scripts, the app assignments then need each app's type, the policy needs the same types
//! and that the scripts exist. Each lookup was a round trip on the plan's or apply's critical
//! path. What is kept: an app's `@odata.type` (it never changes for an app id) and that a
//! script existed a few minutes ago (a check for a helpful plan-time error; a script deleted
//! in between fails the write that needs it). Keys include the Graph client
//! ([`GraphClient::instance_id`]), so two provider configurations never share facts.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::graph::GraphClient;

/// How long a script counts as existing after it was seen.
const SCRIPT_SEEN_FOR: Duration = Duration::from_secs(600);

/// Graph client and lower-case object id.
type Key = (u64, String);

static APP_TYPES: LazyLock<Mutex<HashMap<Key, String>>> = LazyLock::new(Default::default);
static SCRIPTS: LazyLock<Mutex<HashMap<Key, Instant>>> = LazyLock::new(Default::default);

fn key(graph: &GraphClient, id: &str) -> Key {
    (graph.instance_id(), id.to_ascii_lowercase())
}

/// Records the `@odata.type` Graph gave app `id` (as Graph spells it, `#microsoft.graph.…`).
pub fn remember_app(graph: &GraphClient, id: &str, odata_type: &str) {
    // A poisoned map holds complete entries (each change is one insert).
    APP_TYPES.lock().unwrap_or_else(PoisonError::into_inner).insert(key(graph, id), odata_type.to_owned());
}

/// The `@odata.type` of app `id`, if this process has seen the app.
pub fn app_odata_type(graph: &GraphClient, id: &str) -> Option<String> {
    APP_TYPES.lock().unwrap_or_else(PoisonError::into_inner).get(&key(graph, id)).cloned()
}

/// Records that PowerShell script `id` exists (it was read, or its assignments were).
pub fn remember_script(graph: &GraphClient, id: &str) {
    let mut map = SCRIPTS.lock().unwrap_or_else(PoisonError::into_inner);
    map.retain(|_, at| at.elapsed() < SCRIPT_SEEN_FOR);
    map.insert(key(graph, id), Instant::now());
}

/// Whether this process saw script `id` in the last few minutes.
pub fn script_seen(graph: &GraphClient, id: &str) -> bool {
    SCRIPTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key(graph, id))
        .is_some_and(|at| at.elapsed() < SCRIPT_SEEN_FOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn facts_are_per_client_and_case_insensitive() {
        let server = wiremock::MockServer::start().await;
        let a = crate::resources::groups::test_support::client(&server);
        let b = crate::resources::groups::test_support::client(&server);
        assert_eq!(app_odata_type(&a, "APP-1"), None);
        remember_app(&a, "APP-1", "#microsoft.graph.win32LobApp");
        assert_eq!(app_odata_type(&a, "app-1").as_deref(), Some("#microsoft.graph.win32LobApp"));
        assert_eq!(app_odata_type(&b, "app-1"), None);
        assert!(!script_seen(&a, "S-1"));
        remember_script(&a, "s-1");
        assert!(script_seen(&a, "S-1"));
        assert!(!script_seen(&b, "s-1"));
    }
}
