//! Facts about Intune apps and scripts, and the Intune Provisioning Client, that this provider
//! instance has seen, so the resources planned after a data source or another resource do not
//! look the same object up again.
//!
//! Terraform plans every resource on its own and again in the apply (a new provider process),
//! and the module's references run in dependency order: the data sources find the apps and
//! scripts, the app assignments then need each app's type, the policy needs the same types
//! and that the scripts exist. Each lookup was a round trip on the plan's or apply's critical
//! path. What is kept: an app's `@odata.type` (it never changes for an app id) and that a
//! script existed a few minutes ago (a check for a helpful plan-time error; a script deleted
//! in between fails the write that needs it); the provisioning client's service principal
//! (looked up by each device group's plan and create). Held in [`ProviderData`](super::ProviderData), so
//! two provider configurations (two tenants) never share facts.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::groups::wire::ServicePrincipal;

/// How long a script counts as existing after it was seen.
const SCRIPT_SEEN_FOR: Duration = Duration::from_secs(600);

/// App types and recently seen scripts, by lower-case object id.
#[derive(Debug, Default)]
pub struct Observed {
    app_types: Mutex<HashMap<String, String>>,
    scripts: Mutex<HashMap<String, Instant>>,
    provisioning_client: Mutex<Option<ServicePrincipal>>,
}

impl Observed {
    /// Records the `@odata.type` Graph gave app `id` (as Graph spells it, `#microsoft.graph.…`).
    pub fn remember_app(&self, id: &str, odata_type: &str) {
        locked(&self.app_types).insert(id.to_ascii_lowercase(), odata_type.to_owned());
    }

    /// The `@odata.type` of app `id`, if this provider instance has seen the app.
    pub fn app_odata_type(&self, id: &str) -> Option<String> {
        locked(&self.app_types).get(&id.to_ascii_lowercase()).cloned()
    }

    /// Records that PowerShell script `id` exists (it was read, or its assignments were).
    pub fn remember_script(&self, id: &str) {
        let mut map = locked(&self.scripts);
        map.retain(|_, at| at.elapsed() < SCRIPT_SEEN_FOR);
        map.insert(id.to_ascii_lowercase(), Instant::now());
    }

    /// Whether this provider instance saw script `id` in the last few minutes.
    pub fn script_seen(&self, id: &str) -> bool {
        locked(&self.scripts).get(&id.to_ascii_lowercase()).is_some_and(|at| at.elapsed() < SCRIPT_SEEN_FOR)
    }

    /// Records the Intune Provisioning Client's service principal (it exists).
    pub fn remember_provisioning_client(&self, sp: &ServicePrincipal) {
        *locked(&self.provisioning_client) = Some(sp.clone());
    }

    /// The Intune Provisioning Client's service principal, if this provider instance found it.
    pub fn provisioning_client(&self) -> Option<ServicePrincipal> {
        locked(&self.provisioning_client).clone()
    }
}

fn locked<T>(map: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned map holds complete entries (each change is one insert or retain).
    map.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_case_insensitive() {
        let seen = Observed::default();
        assert_eq!(seen.app_odata_type("APP-1"), None);
        seen.remember_app("APP-1", "#microsoft.graph.win32LobApp");
        assert_eq!(seen.app_odata_type("app-1").as_deref(), Some("#microsoft.graph.win32LobApp"));
        assert!(!seen.script_seen("S-1"));
        seen.remember_script("s-1");
        assert!(seen.script_seen("S-1"));
        assert!(!Observed::default().script_seen("s-1"), "another provider instance knows nothing");
    }
}
