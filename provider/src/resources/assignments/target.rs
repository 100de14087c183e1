//! Assignment targets: who an app or script assignment applies to, in friendly terms and as
//! Graph's polymorphic `deviceAndAppManagementAssignmentTarget`.
//!
//! Types and properties (beta `beta-complex-types.json`, v1.0 CSDL): `groupAssignmentTarget`
//! (`groupId`), `exclusionGroupAssignmentTarget` (derives from `groupAssignmentTarget`, so it has
//! `groupId` too), `allDevicesAssignmentTarget`, `allLicensedUsersAssignmentTarget`. In **beta** the
//! base type has `deviceAndAppManagementAssignmentFilterId` / `…FilterType` (`none|include|exclude`);
//! in **v1.0** the base type has no properties, so filters exist only on beta.
//!
//! Parsing is lenient about what the service (and its documentation examples) send: `@odata.type`
//! with or without the leading `#`, filter id `null` or `""`, filter type absent or `"none"`.

use serde_json::{Map, Value, json};
use thiserror::Error;

/// `@odata.type` of a target including a group.
pub const GROUP_TARGET: &str = "#microsoft.graph.groupAssignmentTarget";
/// `@odata.type` of a target excluding a group.
pub const EXCLUSION_GROUP_TARGET: &str = "#microsoft.graph.exclusionGroupAssignmentTarget";
/// `@odata.type` of the "All devices" virtual group.
pub const ALL_DEVICES_TARGET: &str = "#microsoft.graph.allDevicesAssignmentTarget";
/// `@odata.type` of the "All users" (all licensed users) virtual group.
pub const ALL_LICENSED_USERS_TARGET: &str = "#microsoft.graph.allLicensedUsersAssignmentTarget";

const FILTER_ID: &str = "deviceAndAppManagementAssignmentFilterId";
const FILTER_TYPE: &str = "deviceAndAppManagementAssignmentFilterType";

/// Which Graph API version a body is for; decides whether filter properties may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    Beta,
}

/// `@odata.type` without its leading `#` (the service sends `#`, the doc examples often do not).
pub fn bare_odata_type(odata_type: &str) -> &str {
    odata_type.strip_prefix('#').unwrap_or(odata_type)
}

/// The four target kinds this provider manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetKind {
    Group,
    ExclusionGroup,
    AllDevices,
    AllLicensedUsers,
}

impl TargetKind {
    /// Every kind.
    pub const ALL: [TargetKind; 4] =
        [TargetKind::Group, TargetKind::ExclusionGroup, TargetKind::AllDevices, TargetKind::AllLicensedUsers];

    /// The `@odata.type` written to Graph (with `#`).
    pub fn odata_type(self) -> &'static str {
        match self {
            TargetKind::Group => GROUP_TARGET,
            TargetKind::ExclusionGroup => EXCLUSION_GROUP_TARGET,
            TargetKind::AllDevices => ALL_DEVICES_TARGET,
            TargetKind::AllLicensedUsers => ALL_LICENSED_USERS_TARGET,
        }
    }

    /// The kind of a Graph `@odata.type`, with or without `#`; `None` for other target types
    /// (`configurationManagerCollectionAssignmentTarget`, the abstract base type, …).
    pub fn from_odata_type(odata_type: &str) -> Option<Self> {
        let bare = bare_odata_type(odata_type);
        Self::ALL.into_iter().find(|k| bare_odata_type(k.odata_type()) == bare)
    }

    /// Whether the target names a group (`group_id` required), as opposed to a virtual group.
    pub fn has_group(self) -> bool {
        matches!(self, TargetKind::Group | TargetKind::ExclusionGroup)
    }

    /// Whether the target excludes rather than includes.
    pub fn is_exclusion(self) -> bool {
        self == TargetKind::ExclusionGroup
    }

    /// Friendly name in `autopilot_app_assignment.target.type`.
    pub fn app_name(self) -> &'static str {
        match self {
            TargetKind::Group => "group",
            TargetKind::ExclusionGroup => "exclusion_group",
            TargetKind::AllDevices => "all_devices",
            TargetKind::AllLicensedUsers => "all_licensed_users",
        }
    }

    /// Friendly name in `autopilot_script_assignment.target.type` (the portal calls the same
    /// virtual group "All users" for scripts).
    pub fn script_name(self) -> &'static str {
        match self {
            TargetKind::AllLicensedUsers => "all_users",
            other => other.app_name(),
        }
    }

    /// Every friendly app target name, for validators and docs.
    pub fn app_names() -> [&'static str; 4] {
        Self::ALL.map(Self::app_name)
    }

    /// Every friendly script target name, for validators and docs.
    pub fn script_names() -> [&'static str; 4] {
        Self::ALL.map(Self::script_name)
    }

    /// Parse an app target name.
    pub fn parse_app(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.app_name() == name)
    }

    /// Parse a script target name.
    pub fn parse_script(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.script_name() == name)
    }
}

/// Whether an assignment filter narrows the target to matching devices or removes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FilterMode {
    Include,
    Exclude,
}

impl FilterMode {
    /// Friendly names, identical to Graph's `deviceAndAppManagementAssignmentFilterType` members.
    pub const NAMES: [&'static str; 2] = ["include", "exclude"];

    pub fn name(self) -> &'static str {
        match self {
            FilterMode::Include => "include",
            FilterMode::Exclude => "exclude",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "include" => Some(FilterMode::Include),
            "exclude" => Some(FilterMode::Exclude),
            _ => None,
        }
    }
}

/// An assignment filter (beta only).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Filter {
    pub id: String,
    pub mode: FilterMode,
}

/// One assignment target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub kind: TargetKind,
    /// Set exactly for [`TargetKind::has_group`] kinds (checked by `validate`, enforced by
    /// [`Target::to_graph`]).
    pub group_id: Option<String>,
    pub filter: Option<Filter>,
}

/// What makes one target the same as another for ownership: kind and group, not the filter.
///
/// The filter is deliberately left out. Intune keeps at most one assignment per app (or script)
/// and group — a portal edit that adds a filter, or a `/assign` that lists the same group twice,
/// does not create a second assignment (observed: MG-Cloudflow/Intune-Toolkit#57, where the second
/// entry for the same target "just gets ignored"). So a filter change is an update of our
/// assignment, not somebody else's assignment appearing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    pub kind: TargetKind,
    /// Lower-cased, so GUIDs in different case compare equal.
    pub group_id: Option<String>,
}

impl TargetKey {
    /// A key from its parts (lower-casing the group id).
    pub fn new(kind: TargetKind, group_id: Option<&str>) -> Self {
        Self { kind, group_id: group_id.map(str::to_ascii_lowercase) }
    }

    /// The key of a Graph target object; `None` for target types this provider does not manage.
    pub fn of_graph(target: &Value) -> Option<Self> {
        let kind = TargetKind::from_odata_type(target.get("@odata.type")?.as_str()?)?;
        let group_id = if kind.has_group() { target.get("groupId").and_then(Value::as_str) } else { None };
        Some(Self::new(kind, group_id))
    }
}

/// Why a target cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetError {
    #[error("a `{kind}` target needs a group id")]
    MissingGroupId { kind: &'static str },
    #[error("a `{kind}` target takes no group id")]
    UnexpectedGroupId { kind: &'static str },
    #[error("assignment filters exist only in the Graph beta API; this body is for v1.0")]
    FilterNeedsBeta,
}

/// Why a Graph target cannot be read as one of ours.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetParseError {
    #[error("the assignment target is not a JSON object")]
    NotAnObject,
    #[error("the assignment target has no `@odata.type`")]
    MissingType,
    #[error("target type `{0}` is not one this provider manages")]
    Unsupported(String),
    #[error("the `{0}` target has no `groupId`")]
    MissingGroupId(String),
    #[error("the assignment filter type `{0}` is not include, exclude or none")]
    UnknownFilterType(String),
    #[error("the assignment filter is `{0}` but has no filter id")]
    FilterWithoutId(String),
}

impl Target {
    /// A target without a filter.
    pub fn new(kind: TargetKind, group_id: Option<&str>) -> Self {
        Self { kind, group_id: group_id.map(str::to_owned), filter: None }
    }

    /// Its ownership key.
    pub fn key(&self) -> TargetKey {
        TargetKey::new(self.kind, self.group_id.as_deref())
    }

    /// The Graph target object. On beta an absent filter is written explicitly as
    /// `null`/`"none"` (the shape the portal sends) so a PATCH clears a filter set elsewhere;
    /// on v1.0 the filter properties do not exist and are never written.
    pub fn to_graph(&self, version: ApiVersion) -> Result<Value, TargetError> {
        let mut obj = Map::new();
        obj.insert("@odata.type".into(), json!(self.kind.odata_type()));
        match (self.kind.has_group(), &self.group_id) {
            (true, Some(group_id)) => {
                obj.insert("groupId".into(), json!(group_id));
            }
            (true, None) => return Err(TargetError::MissingGroupId { kind: self.kind.app_name() }),
            (false, Some(_)) => return Err(TargetError::UnexpectedGroupId { kind: self.kind.app_name() }),
            (false, None) => {}
        }
        match (version, &self.filter) {
            (ApiVersion::V1, Some(_)) => return Err(TargetError::FilterNeedsBeta),
            (ApiVersion::V1, None) => {}
            (ApiVersion::Beta, Some(filter)) => {
                obj.insert(FILTER_ID.into(), json!(filter.id));
                obj.insert(FILTER_TYPE.into(), json!(filter.mode.name()));
            }
            (ApiVersion::Beta, None) => {
                obj.insert(FILTER_ID.into(), Value::Null);
                obj.insert(FILTER_TYPE.into(), json!("none"));
            }
        }
        Ok(Value::Object(obj))
    }

    /// Read a Graph target (v1.0 or beta shape).
    pub fn from_graph(target: &Value) -> Result<Self, TargetParseError> {
        let obj = target.as_object().ok_or(TargetParseError::NotAnObject)?;
        let odata_type =
            obj.get("@odata.type").and_then(Value::as_str).ok_or(TargetParseError::MissingType)?;
        let kind = TargetKind::from_odata_type(odata_type)
            .ok_or_else(|| TargetParseError::Unsupported(bare_odata_type(odata_type).to_owned()))?;
        let group_id = if kind.has_group() {
            let id = obj.get("groupId").and_then(Value::as_str).filter(|g| !g.is_empty());
            Some(id.ok_or_else(|| TargetParseError::MissingGroupId(kind.app_name().to_owned()))?.to_owned())
        } else {
            None
        };
        let filter_id = obj.get(FILTER_ID).and_then(Value::as_str).filter(|f| !f.is_empty());
        let filter_type = obj.get(FILTER_TYPE).and_then(Value::as_str);
        let filter = match (filter_type, filter_id) {
            (None | Some("none"), _) => None,
            (Some(mode), id) => {
                let mode = FilterMode::parse(mode)
                    .ok_or_else(|| TargetParseError::UnknownFilterType(mode.to_owned()))?;
                let id = id.ok_or_else(|| TargetParseError::FilterWithoutId(mode.name().to_owned()))?;
                Some(Filter { id: id.to_owned(), mode })
            }
        };
        Ok(Self { kind, group_id, filter })
    }

    /// Whether two targets are the same, comparing ids without regard to case.
    pub fn same_as(&self, other: &Target) -> bool {
        let filter_eq = match (&self.filter, &other.filter) {
            (None, None) => true,
            (Some(a), Some(b)) => a.mode == b.mode && a.id.eq_ignore_ascii_case(&b.id),
            _ => false,
        };
        self.key() == other.key() && filter_eq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odata_types_round_trip_with_and_without_hash() {
        for kind in TargetKind::ALL {
            assert_eq!(TargetKind::from_odata_type(kind.odata_type()), Some(kind));
            assert_eq!(TargetKind::from_odata_type(bare_odata_type(kind.odata_type())), Some(kind));
            assert!(kind.odata_type().starts_with("#microsoft.graph."));
        }
        assert_eq!(
            TargetKind::from_odata_type("microsoft.graph.deviceAndAppManagementAssignmentTarget"),
            None
        );
        assert_eq!(
            TargetKind::from_odata_type("#microsoft.graph.configurationManagerCollectionAssignmentTarget"),
            None
        );
    }

    #[test]
    fn friendly_names_parse_back_and_differ_only_for_all_users() {
        for kind in TargetKind::ALL {
            assert_eq!(TargetKind::parse_app(kind.app_name()), Some(kind));
            assert_eq!(TargetKind::parse_script(kind.script_name()), Some(kind));
        }
        assert_eq!(TargetKind::parse_app("all_users"), None);
        assert_eq!(TargetKind::parse_script("all_licensed_users"), None);
        assert_eq!(
            TargetKind::app_names(),
            ["group", "exclusion_group", "all_devices", "all_licensed_users"]
        );
        assert_eq!(TargetKind::script_names(), ["group", "exclusion_group", "all_devices", "all_users"]);
    }

    #[test]
    fn group_target_beta_matches_the_reference_body() {
        // graph-reference.md §4a body (Win32 app required for the device group).
        let t = Target::new(TargetKind::Group, Some("g1"));
        assert_eq!(
            t.to_graph(ApiVersion::Beta).unwrap(),
            json!({
                "@odata.type": "#microsoft.graph.groupAssignmentTarget",
                "groupId": "g1",
                "deviceAndAppManagementAssignmentFilterId": null,
                "deviceAndAppManagementAssignmentFilterType": "none"
            })
        );
        assert_eq!(
            t.to_graph(ApiVersion::V1).unwrap(),
            json!({ "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g1" })
        );
    }

    #[test]
    fn write_errors() {
        let mut t = Target::new(TargetKind::Group, None);
        assert_eq!(t.to_graph(ApiVersion::Beta), Err(TargetError::MissingGroupId { kind: "group" }));
        t = Target::new(TargetKind::AllDevices, Some("g"));
        assert_eq!(t.to_graph(ApiVersion::Beta), Err(TargetError::UnexpectedGroupId { kind: "all_devices" }));
        t = Target {
            kind: TargetKind::AllDevices,
            group_id: None,
            filter: Some(Filter { id: "f".into(), mode: FilterMode::Include }),
        };
        assert_eq!(t.to_graph(ApiVersion::V1), Err(TargetError::FilterNeedsBeta));
        assert_eq!(
            t.to_graph(ApiVersion::Beta).unwrap(),
            json!({ "@odata.type": ALL_DEVICES_TARGET,
                    "deviceAndAppManagementAssignmentFilterId": "f",
                    "deviceAndAppManagementAssignmentFilterType": "include" })
        );
    }

    #[test]
    fn every_written_target_reads_back_equal() {
        let filters = [None, Some(Filter { id: "F1".into(), mode: FilterMode::Exclude })];
        for kind in TargetKind::ALL {
            for filter in filters.clone() {
                let group = kind.has_group().then_some("G1");
                let t = Target { kind, group_id: group.map(Into::into), filter };
                let back = Target::from_graph(&t.to_graph(ApiVersion::Beta).unwrap()).unwrap();
                assert_eq!(back, t);
                if t.filter.is_none() {
                    assert_eq!(Target::from_graph(&t.to_graph(ApiVersion::V1).unwrap()).unwrap(), t);
                }
            }
        }
    }

    #[test]
    fn lenient_parsing_of_sample_shapes() {
        // graph-samples mobileAppAssignments/assign.beta.request.json: no `#`, filter include.
        let t = Target::from_graph(&json!({
            "@odata.type": "microsoft.graph.allLicensedUsersAssignmentTarget",
            "deviceAndAppManagementAssignmentFilterId": "Device And App Management Assignment Filter Id value",
            "deviceAndAppManagementAssignmentFilterType": "include"
        }))
        .unwrap();
        assert_eq!(t.kind, TargetKind::AllLicensedUsers);
        assert_eq!(t.filter.unwrap().mode, FilterMode::Include);
        // Empty filter id with "none", and a missing filter type, both mean "no filter".
        for target in [
            json!({"@odata.type": GROUP_TARGET, "groupId": "g", FILTER_ID: "", FILTER_TYPE: "none"}),
            json!({"@odata.type": GROUP_TARGET, "groupId": "g", FILTER_ID: "stale-id", FILTER_TYPE: "none"}),
            json!({"@odata.type": GROUP_TARGET, "groupId": "g"}),
        ] {
            assert_eq!(Target::from_graph(&target).unwrap(), Target::new(TargetKind::Group, Some("g")));
        }
        // DT fixture get_expand_assignments: `#` and exclusion group.
        let t = Target::from_graph(&json!({
            "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget",
            "groupId": "33333333-3333-3333-3333-333333333333"
        }))
        .unwrap();
        assert_eq!(
            t.key(),
            TargetKey::new(TargetKind::ExclusionGroup, Some("33333333-3333-3333-3333-333333333333"))
        );
    }

    #[test]
    fn parse_errors_name_the_problem() {
        let cases = [
            (json!("x"), TargetParseError::NotAnObject),
            (json!({"groupId": "g"}), TargetParseError::MissingType),
            (
                json!({"@odata.type": "microsoft.graph.deviceAndAppManagementAssignmentTarget"}),
                TargetParseError::Unsupported(
                    "microsoft.graph.deviceAndAppManagementAssignmentTarget".into(),
                ),
            ),
            (json!({"@odata.type": GROUP_TARGET}), TargetParseError::MissingGroupId("group".into())),
            (
                json!({"@odata.type": ALL_DEVICES_TARGET, FILTER_TYPE: "sometimes", FILTER_ID: "f"}),
                TargetParseError::UnknownFilterType("sometimes".into()),
            ),
            (
                json!({"@odata.type": ALL_DEVICES_TARGET, FILTER_TYPE: "include", FILTER_ID: null}),
                TargetParseError::FilterWithoutId("include".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Target::from_graph(&input), Err(want), "{input}");
        }
    }

    #[test]
    fn keys_ignore_case_and_filter_but_not_kind() {
        let a = TargetKey::of_graph(&json!({"@odata.type": GROUP_TARGET, "groupId": "ABC"})).unwrap();
        let b = TargetKey::of_graph(
            &json!({"@odata.type": "microsoft.graph.groupAssignmentTarget", "groupId": "abc",
            FILTER_ID: "f", FILTER_TYPE: "include"}),
        )
        .unwrap();
        assert_eq!(a, b);
        let c =
            TargetKey::of_graph(&json!({"@odata.type": EXCLUSION_GROUP_TARGET, "groupId": "abc"})).unwrap();
        assert_ne!(a, c);
        assert_eq!(
            TargetKey::of_graph(&json!({"@odata.type": "microsoft.graph.scopeTagGroupAssignmentTarget"})),
            None
        );
        // A stray groupId on a virtual group does not split the key.
        assert_eq!(
            TargetKey::of_graph(&json!({"@odata.type": ALL_DEVICES_TARGET, "groupId": "x"})),
            Some(TargetKey::new(TargetKind::AllDevices, None))
        );
    }

    #[test]
    fn same_as_compares_filters_case_insensitively() {
        let with = |id: &str, mode| Target {
            kind: TargetKind::Group,
            group_id: Some("G".into()),
            filter: Some(Filter { id: id.into(), mode }),
        };
        assert!(with("AB", FilterMode::Include).same_as(&with("ab", FilterMode::Include)));
        assert!(!with("ab", FilterMode::Include).same_as(&with("ab", FilterMode::Exclude)));
        assert!(!with("ab", FilterMode::Include).same_as(&Target::new(TargetKind::Group, Some("g"))));
        assert!(
            Target::new(TargetKind::Group, Some("G")).same_as(&Target::new(TargetKind::Group, Some("g")))
        );
    }
}
