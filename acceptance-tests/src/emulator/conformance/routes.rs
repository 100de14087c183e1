//! Which type (or action parameters) the body of each write operation holds. Every write
//! route the emulator serves has an entry; a write with a body on any other path is reported
//! as `UnmappedOperation`, so a new route cannot silently skip the conformance check.

/// What a request body must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// An entity (or its complex-typed members) of this type.
    Entity(&'static str),
    /// The parameters of this bound action (key in the table's `actions`).
    Action(&'static str),
    /// A `$ref` body: `{"@odata.id": "<url>"}`.
    Reference,
    /// An action without parameters (an empty body or `{}`).
    Empty,
    /// The `$batch` envelope (its inner requests are checked one by one).
    Batch,
}

/// `*` matches one path segment.
const OPERATIONS: &[(&str, &str, Shape)] = &[
    ("POST", "$batch", Shape::Batch),
    ("POST", "groups", Shape::Entity("group")),
    ("PATCH", "groups/*", Shape::Entity("group")),
    ("POST", "groups/*/owners/$ref", Shape::Reference),
    ("POST", "groups/*/members/$ref", Shape::Reference),
    ("POST", "servicePrincipals", Shape::Entity("servicePrincipal")),
    ("POST", "directoryObjects/getByIds", Shape::Action("directoryObject.getByIds")),
    ("POST", "directory/deletedItems/*/restore", Shape::Empty),
    ("PUT", "policies/deviceRegistrationPolicy", Shape::Entity("deviceRegistrationPolicy")),
    ("POST", "deviceManagement/configurationPolicies", Shape::Entity("deviceManagementConfigurationPolicy")),
    ("PUT", "deviceManagement/configurationPolicies/*", Shape::Entity("deviceManagementConfigurationPolicy")),
    (
        "PATCH",
        "deviceManagement/configurationPolicies/*",
        Shape::Entity("deviceManagementConfigurationPolicy"),
    ),
    (
        "POST",
        "deviceManagement/configurationPolicies/*/assign",
        Shape::Action("deviceManagementConfigurationPolicy.assign"),
    ),
    (
        "POST",
        "deviceManagement/configurationPolicies/*/setEnrollmentTimeDeviceMembershipTarget",
        Shape::Action("deviceManagementConfigurationPolicy.setEnrollmentTimeDeviceMembershipTarget"),
    ),
    (
        "POST",
        "deviceManagement/configurationPolicies/*/retrieveEnrollmentTimeDeviceMembershipTarget",
        Shape::Empty,
    ),
    (
        "POST",
        "deviceManagement/configurationPolicies/*/clearEnrollmentTimeDeviceMembershipTarget",
        Shape::Empty,
    ),
    (
        "POST",
        "deviceManagement/importedDeviceIdentities/importDeviceIdentityList",
        Shape::Action("importedDeviceIdentity.importDeviceIdentityList"),
    ),
    (
        "POST",
        "deviceManagement/importedDeviceIdentities/searchExistingIdentities",
        Shape::Action("importedDeviceIdentity.searchExistingIdentities"),
    ),
    ("PATCH", "deviceManagement/importedDeviceIdentities/*", Shape::Entity("importedDeviceIdentity")),
    ("POST", "deviceAppManagement/mobileApps/*/assignments", Shape::Entity("mobileAppAssignment")),
    ("PATCH", "deviceAppManagement/mobileApps/*/assignments/*", Shape::Entity("mobileAppAssignment")),
    ("POST", "deviceAppManagement/mobileApps/*/assign", Shape::Action("mobileApp.assign")),
    ("POST", "deviceManagement/deviceManagementScripts", Shape::Entity("deviceManagementScript")),
    ("PATCH", "deviceManagement/deviceManagementScripts/*", Shape::Entity("deviceManagementScript")),
    (
        "POST",
        "deviceManagement/deviceManagementScripts/*/assign",
        Shape::Action("deviceManagementScript.assign"),
    ),
];

/// The body shape of `method` on `path` (relative to the version, without query), if known.
pub fn shape_of(method: &str, path: &str) -> Option<Shape> {
    let path = path.split('?').next().unwrap_or_default().trim_matches('/');
    let segments: Vec<&str> = path.split('/').collect();
    OPERATIONS.iter().find_map(|(m, pattern, shape)| {
        let pattern: Vec<&str> = pattern.split('/').collect();
        let matches = m.eq_ignore_ascii_case(method)
            && pattern.len() == segments.len()
            && pattern.iter().zip(&segments).all(|(p, s)| *p == "*" || p == s);
        matches.then_some(*shape)
    })
}
