//! Entra groups for Windows Autopilot device preparation: the device group (owned by the
//! Intune Provisioning Client) and the user group, their owners and members.
//!
//! - [`resource`]: `autopilot_group` and `autopilot_device_group` (one implementation);
//!   [`member`]: `autopilot_group_member`; [`data_sources`](mod@data_sources): `autopilot_group`,
//!   `autopilot_user`, `autopilot_service_principal`.
//! - [`api`]: the Graph calls (create with bound owners, consistency waits, batched changes);
//!   [`created`]: groups this provider instance just created, for the checks of resources planned next.
//! - Pure logic: Graph bodies ([`wire`]), `mailNickname` rules ([`nickname`]), the
//!   owner/member change plan ([`plan_members`]), device-group requirements ([`identity`]),
//!   OData lookups ([`escape`]), object ids ([`object_id`]).

pub mod api;
pub mod created;
pub mod data_sources;
pub mod escape;
pub mod identity;
pub mod member;
pub mod nickname;
pub mod object_id;
pub mod plan_members;
pub mod resource;
pub mod schema;
#[cfg(test)]
pub(crate) mod test_support;
pub mod wire;

pub use object_id::{InvalidObjectId, ObjectId};

use std::sync::Arc;

use crate::framework::resource::{DataSource, Resource};
use crate::resources::ProviderData;

/// `autopilot_group`, `autopilot_device_group` and `autopilot_group_member`, for
/// `AutopilotProvider::resources`.
pub fn resources() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![
        Arc::new(resource::GroupResource::group()),
        Arc::new(resource::GroupResource::device_group()),
        Arc::new(member::GroupMemberResource),
    ]
}

/// Data sources `autopilot_group`, `autopilot_user` and `autopilot_service_principal`, for
/// `AutopilotProvider::data_sources`.
pub fn data_sources() -> Vec<Arc<dyn DataSource<ProviderData>>> {
    vec![
        Arc::new(data_sources::GroupDataSource),
        Arc::new(data_sources::UserDataSource),
        Arc::new(data_sources::ServicePrincipalDataSource),
    ]
}
