//! App and PowerShell-script assignments to the device-preparation device group
//! (`autopilot_app_assignment`, `autopilot_script_assignment`): apps and scripts that Windows
//! Autopilot device preparation installs during OOBE must also be assigned to the device group,
//! in system context, or Intune reports them "Skipped" (graph-reference.md §4).
//!
//! Each resource owns **one** assignment and never touches the others — the top complaint about
//! existing providers is that replace-all writes silently delete assignments someone else made
//! (anchors.md, user pain 7). The pieces:
//!
//! | piece | module |
//! |---|---|
//! | friendly target ⇄ Graph `…AssignmentTarget`, ownership key | [`target`] |
//! | intent, app/script assignment bodies, parsing, finding "ours" after id changes | [`wire`] |
//! | typed Win32 / WinGet settings, app-type check, read-back reconciliation | [`settings`] |
//! | replace-all `/assign` body keeping everyone else's assignments | [`merge`] |
//! | per-app / per-script async lock | [`lock`] |
//! | plan-time findings with attribute paths | [`validate`] |
//! | data-source lookups by name, import ids | [`lookup`] |
//! | Graph calls shared by both resources, the process-wide parent locks | [`remote`] |
//! | `autopilot_app_assignment` (attributes in [`app_model`]) | [`app_resource`] |
//! | `autopilot_script_assignment` | [`script_resource`] |
//! | data sources `autopilot_mobile_app`, `autopilot_powershell_script` | [`mod@data_sources`] |
//!
//! Write strategy the resources are meant to use:
//! * apps: the documented one-at-a-time endpoints (`POST/PATCH/DELETE …/mobileApps/{id}/assignments[/{id}]`);
//!   an intent or target change deletes and re-creates (the id encodes both, see [`wire`]); after
//!   an ambiguous create (timeout), list and adopt by [`wire::find_owned`]. Fall back to
//!   [`merge`] + `/assign` only where a per-assignment call is refused.
//! * scripts: Microsoft lists per-assignment create/update/delete for
//!   `deviceManagementScriptAssignment`, but no stored page shows them working and the other
//!   known implementation uses `/assign`; so: list (`GET …/deviceManagementScripts/{id}/assignments`,
//!   all pages) → [`merge::merge`] → `POST …/assign`, all under [`lock::KeyedLocks`] keyed by script id.
//!   Writers outside this process (portal, other tools) can still race the read → assign window.
//! * replication lag (graph-reference §0): a write path waits a bounded time for a parent that is
//!   not visible yet ([`remote::list_for_write`]); for two minutes after its own write a resource
//!   takes a missing assignment for lag and polls ([`remote::wait_for`]) before reading it as
//!   deleted or skipping the delete ([`remote::stamp_written`] in private state).

use std::sync::Arc;

use crate::framework::{DataSource, Resource};
use crate::resources::ProviderData;

pub mod app_model;
pub mod app_resource;
#[cfg(test)]
mod app_resource_tests;
pub mod data_sources;
pub mod lock;
pub mod lookup;
pub mod merge;
pub mod remote;
pub mod script_resource;
#[cfg(test)]
mod script_resource_tests;
pub mod settings;
pub mod target;
pub mod validate;
pub mod wire;

/// The resources of this module and of `powershell_script`, for `AutopilotProvider::resources`.
pub fn resources() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![
        Arc::new(app_resource::AppAssignmentResource),
        Arc::new(script_resource::ScriptAssignmentResource),
        Arc::new(crate::resources::powershell_script::resource::PowerShellScript),
    ]
}

/// The data sources `autopilot_mobile_app` and `autopilot_powershell_script`, for
/// `AutopilotProvider::data_sources`.
pub fn data_sources() -> Vec<Arc<dyn DataSource<ProviderData>>> {
    vec![Arc::new(data_sources::MobileAppDataSource), Arc::new(data_sources::PowerShellScriptDataSource)]
}
