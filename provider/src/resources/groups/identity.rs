//! The Intune Provisioning Client service principal, and what makes a group usable as the
//! device group of a Windows Autopilot device preparation policy.
//!
//! Microsoft's requirements (memdocs `create-assigned-device-group.md`): a security group,
//! membership type Assigned, not role-assignable, owned by the service principal with appId
//! `f1346770-5b25-470b-88bd-d5744ab7952c`. Without that owner device preparation fails
//! silently, so the check lists every unmet requirement with what to change.

use std::fmt;

use super::object_id::ObjectId;
use super::wire::{DirectoryObjectRef, Group, ObjectKind};

/// appId of the first-party "Intune Provisioning Client" application.
pub const PROVISIONING_CLIENT_APP_ID: &str = "f1346770-5b25-470b-88bd-d5744ab7952c";

/// The display names the provisioning client has in different tenants.
pub const PROVISIONING_CLIENT_DISPLAY_NAMES: [&str; 2] =
    ["Intune Provisioning Client", "Intune Autopilot ConfidentialClient"];

/// The provisioning client's appId as an [`ObjectId`] (for URL building).
pub fn provisioning_client_app_id() -> ObjectId {
    ObjectId::from_canonical_literal(PROVISIONING_CLIENT_APP_ID)
}

/// Whether `owner` is the provisioning client: a service principal with its appId, or the
/// object id the caller resolved for it (when the owners were read without `appId`).
pub fn is_provisioning_client(owner: &DirectoryObjectRef, resolved_id: Option<&ObjectId>) -> bool {
    let by_app_id =
        owner.app_id.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(PROVISIONING_CLIENT_APP_ID))
            && matches!(owner.kind(), ObjectKind::ServicePrincipal | ObjectKind::Unknown);
    let by_id = resolved_id.is_some_and(|id| owner.id.eq_ignore_ascii_case(id.as_str()));
    by_app_id || by_id
}

/// One unmet requirement of a device preparation device group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceGroupFinding {
    NotSecurityEnabled,
    MailEnabled,
    /// A Microsoft 365 (`Unified`) group.
    Unified,
    DynamicMembership,
    RoleAssignable,
    MissingProvisioningClientOwner,
}

impl DeviceGroupFinding {
    /// Whether the group can be fixed in place (owner) or must be replaced (its type is
    /// fixed at creation).
    pub fn needs_new_group(&self) -> bool {
        !matches!(self, DeviceGroupFinding::MissingProvisioningClientOwner)
    }
}

impl fmt::Display for DeviceGroupFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            DeviceGroupFinding::NotSecurityEnabled => {
                "the group is not a security group (securityEnabled is false); device preparation needs a security group"
            }
            DeviceGroupFinding::MailEnabled => {
                "the group is mail-enabled; use a mail-disabled security group"
            }
            DeviceGroupFinding::Unified => "the group is a Microsoft 365 group; use a security group",
            DeviceGroupFinding::DynamicMembership => {
                "the group has dynamic membership; device preparation needs an assigned (static) group, and a group's \
                 membership type should not be changed while a policy uses it: create a new assigned group"
            }
            DeviceGroupFinding::RoleAssignable => {
                "the group is role-assignable (isAssignableToRole); create a group that is not"
            }
            DeviceGroupFinding::MissingProvisioningClientOwner => {
                "the Intune Provisioning Client service principal (appId f1346770-5b25-470b-88bd-d5744ab7952c, \
                 named \"Intune Provisioning Client\" or \"Intune Autopilot ConfidentialClient\") is not an owner; \
                 add it as owner, or device preparation will not add devices to the group"
            }
        };
        f.write_str(text)
    }
}

/// Every requirement `group` (read with `GROUP_SELECT`) and its `owners` fail, in a fixed
/// order; empty when it is a valid device group.
pub fn check_device_group(
    group: &Group,
    owners: &[DirectoryObjectRef],
    provisioning_client_id: Option<&ObjectId>,
) -> Vec<DeviceGroupFinding> {
    let mut findings = Vec::new();
    if group.security_enabled != Some(true) {
        findings.push(DeviceGroupFinding::NotSecurityEnabled);
    }
    if group.mail_enabled == Some(true) {
        findings.push(DeviceGroupFinding::MailEnabled);
    }
    if group.is_unified() {
        findings.push(DeviceGroupFinding::Unified);
    }
    if group.is_dynamic() {
        findings.push(DeviceGroupFinding::DynamicMembership);
    }
    // Graph reports `null` for groups created without the property: not role-assignable.
    if group.is_assignable_to_role == Some(true) {
        findings.push(DeviceGroupFinding::RoleAssignable);
    }
    if !owners.iter().any(|o| is_provisioning_client(o, provisioning_client_id)) {
        findings.push(DeviceGroupFinding::MissingProvisioningClientOwner);
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(path: &str) -> Group {
        serde_json::from_str(path).unwrap()
    }

    fn owners(text: &str) -> Vec<DirectoryObjectRef> {
        serde_json::from_str::<super::super::wire::DirectoryObjectPage>(text).unwrap().value
    }

    const SP_OWNERS: &str = include_str!("testdata/list_owners_servicePrincipal.dt.beta.response.json");
    const USER_OWNERS: &str = include_str!("testdata/list_owners.v1.0.response.json");

    #[test]
    fn app_id_constant_is_an_object_id() {
        assert_eq!(provisioning_client_app_id(), ObjectId::parse(PROVISIONING_CLIENT_APP_ID).unwrap());
    }

    #[test]
    fn dpp_fixture_group_owned_by_the_client_is_valid() {
        let g = group(include_str!("testdata/get_group_dpp.dt.beta.response.json"));
        assert_eq!(check_device_group(&g, &owners(SP_OWNERS), None), vec![]);
    }

    #[test]
    fn missing_owner_is_reported_and_fixable_in_place() {
        let g = group(include_str!("testdata/get_group_dpp.dt.beta.response.json"));
        let findings = check_device_group(&g, &owners(USER_OWNERS), None);
        assert_eq!(findings, vec![DeviceGroupFinding::MissingProvisioningClientOwner]);
        assert!(!findings[0].needs_new_group());
        assert!(findings[0].to_string().contains(PROVISIONING_CLIENT_APP_ID));
        assert_eq!(check_device_group(&g, &[], None), findings);
    }

    #[test]
    fn owner_matches_by_resolved_object_id_without_app_id() {
        let g = group(include_str!("testdata/get_group_dpp.dt.beta.response.json"));
        let owner = DirectoryObjectRef {
            id: "AAAAAAAA-aaaa-aaaa-aaaa-aaaaaaaaaaaa".to_owned(),
            ..Default::default()
        };
        let resolved = ObjectId::parse("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa").unwrap();
        assert_eq!(check_device_group(&g, std::slice::from_ref(&owner), Some(&resolved)), vec![]);
        assert_eq!(
            check_device_group(&g, &[owner], None),
            vec![DeviceGroupFinding::MissingProvisioningClientOwner]
        );
    }

    #[test]
    fn a_user_carrying_the_app_id_is_not_the_client() {
        let owner = DirectoryObjectRef {
            id: "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb".to_owned(),
            odata_type: Some("#microsoft.graph.user".to_owned()),
            app_id: Some(PROVISIONING_CLIENT_APP_ID.to_owned()),
            ..Default::default()
        };
        assert!(!is_provisioning_client(&owner, None));
    }

    #[test]
    fn wrong_group_kinds_name_every_problem() {
        let dynamic = group(include_str!("testdata/create_dynamic_security_group.dt.beta.response.json"));
        assert_eq!(
            check_device_group(&dynamic, &owners(SP_OWNERS), None),
            vec![DeviceGroupFinding::DynamicMembership]
        );

        let role = group(include_str!("testdata/create_role_assignable_group.v1.0.response.json"));
        assert_eq!(
            check_device_group(&role, &owners(SP_OWNERS), None),
            vec![
                DeviceGroupFinding::MailEnabled,
                DeviceGroupFinding::Unified,
                DeviceGroupFinding::RoleAssignable
            ]
        );

        let m365 = group(include_str!("testdata/get_group.v1.0.response.json"));
        let findings = check_device_group(&m365, &owners(USER_OWNERS), None);
        assert_eq!(
            findings,
            vec![
                DeviceGroupFinding::NotSecurityEnabled,
                DeviceGroupFinding::MailEnabled,
                DeviceGroupFinding::Unified,
                DeviceGroupFinding::MissingProvisioningClientOwner,
            ]
        );
        assert!(findings[..3].iter().all(DeviceGroupFinding::needs_new_group));
    }
}
