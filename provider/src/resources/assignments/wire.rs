//! App assignments (`mobileAppAssignment`, v1.0 and beta) and script assignments
//! (`deviceManagementScriptAssignment`, beta only) as Graph JSON, and how to find the one a
//! resource owns among an app's or script's assignments.
//!
//! ## Assignment ids, and finding "ours"
//!
//! Graph documents assignment ids only as read-only keys. Observed values (third-party scripts
//! and issue threads, e.g. MSEndpointMgr/IntuneWin32App#149) show mobile-app assignment ids are
//! *derived*, not random: `{groupId}_{intent}_{exclusion}` — the group id (or the fixed ids
//! `acacacac-9df4-4c7d-9d50-4ef0226f57a9` for All users and `adadadad-808e-44e2-905a-0b7873a8a531`
//! for All devices), the `installIntent` member value (available 0, required 1, uninstall 2,
//! availableWithoutEnrollment 3 — the CSDL values) and 0 for include / 1 for exclude.
//! Consequences: an id survives a replace-all `/assign` that keeps the same target and intent,
//! but changes when the intent changes; and a group can hold one assignment per app. The
//! documentation samples use GUIDs, and script assignment ids are not documented at all.
//!
//! So a resource never relies on the id alone: [`find_owned`] looks for the stored id first and
//! falls back to the target identity ([`TargetKey`]: kind + group, not the filter, not the
//! intent). The same fallback adopts the assignment after a create whose response was lost.

use serde_json::{Map, Value, json};
use thiserror::Error;

use super::settings::{AppSettings, GraphSettings, SettingsError};
use super::target::{ApiVersion, Target, TargetError, TargetKey, TargetParseError, bare_odata_type};

/// `@odata.type` of an app assignment.
pub const MOBILE_APP_ASSIGNMENT: &str = "#microsoft.graph.mobileAppAssignment";
/// `@odata.type` of a script assignment.
pub const SCRIPT_ASSIGNMENT: &str = "#microsoft.graph.deviceManagementScriptAssignment";
/// The legacy script assignment type (`targetGroupId`); read, never written.
pub const SCRIPT_GROUP_ASSIGNMENT: &str = "#microsoft.graph.deviceManagementScriptGroupAssignment";

/// `installIntent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Intent {
    Available,
    Required,
    Uninstall,
    AvailableWithoutEnrollment,
}

impl Intent {
    /// Every intent, in CSDL member-value order.
    pub const ALL: [Intent; 4] =
        [Intent::Available, Intent::Required, Intent::Uninstall, Intent::AvailableWithoutEnrollment];
    /// Friendly names.
    pub const NAMES: [&'static str; 4] =
        ["available", "required", "uninstall", "available_without_enrollment"];

    pub fn name(self) -> &'static str {
        match self {
            Intent::Available => "available",
            Intent::Required => "required",
            Intent::Uninstall => "uninstall",
            Intent::AvailableWithoutEnrollment => "available_without_enrollment",
        }
    }

    /// Graph member name.
    pub fn graph(self) -> &'static str {
        match self {
            Intent::AvailableWithoutEnrollment => "availableWithoutEnrollment",
            other => other.name(),
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.name() == name)
    }

    pub fn from_graph(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.graph() == value)
    }
}

/// Errors building or reading assignment bodies.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("assignment target: {0}")]
    TargetParse(#[from] TargetParseError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("the assignment response is malformed: {0}")]
    Malformed(String),
    #[error("intent `{0}` is not one this provider knows")]
    UnknownIntent(String),
}

/// The app assignment a resource wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppAssignment {
    pub intent: Intent,
    pub target: Target,
    /// `None`: the defaults for the app type ([`AppSettings::default_for_app`]).
    pub settings: Option<AppSettings>,
}

impl AppAssignment {
    /// Body for `POST …/mobileApps/{id}/assignments`, `PATCH …/assignments/{id}` and an entry of
    /// `/assign`. `app_odata_type` is the app's `@odata.type` (from a GET of the app), which
    /// decides the settings type.
    pub fn to_graph(
        &self,
        version: ApiVersion,
        app_id: &str,
        app_odata_type: &str,
    ) -> Result<Value, WireError> {
        let settings = match self.settings.clone().or_else(|| AppSettings::default_for_app(app_odata_type)) {
            Some(s) => s.to_graph(app_id, app_odata_type)?,
            None => Value::Null,
        };
        Ok(json!({
            "@odata.type": MOBILE_APP_ASSIGNMENT,
            "intent": self.intent.graph(),
            "target": self.target.to_graph(version)?,
            "settings": settings,
        }))
    }
}

/// An app assignment as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadAppAssignment {
    pub id: String,
    pub intent: Intent,
    pub target: Target,
    pub settings: GraphSettings,
    /// `direct` or `policySets` (beta); absent in v1.0.
    pub source: Option<String>,
    pub source_id: Option<String>,
}

impl ReadAppAssignment {
    /// Parse one app assignment (a bare object, or the `{"value": {…}}` wrapper of the
    /// generated documentation examples).
    pub fn from_graph(body: &Value) -> Result<Self, WireError> {
        let obj = unwrap_entity(body)?;
        let id = required_text(obj, "id")?;
        let intent_text = required_text(obj, "intent")?;
        let intent = Intent::from_graph(&intent_text).ok_or(WireError::UnknownIntent(intent_text))?;
        let target =
            Target::from_graph(obj.get("target").ok_or_else(|| malformed("an assignment has no target"))?)?;
        let settings = GraphSettings::from_graph(obj.get("settings"))?;
        Ok(Self {
            id,
            intent,
            target,
            settings,
            source: obj.get("source").and_then(Value::as_str).map(str::to_owned),
            source_id: obj.get("sourceId").and_then(Value::as_str).map(str::to_owned),
        })
    }
}

/// The script assignment a resource wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptAssignment {
    pub target: Target,
}

impl ScriptAssignment {
    /// An entry of `POST …/deviceManagementScripts/{id}/assign` (`deviceManagementScriptAssignments`).
    /// Scripts are beta-only.
    pub fn to_graph(&self) -> Result<Value, WireError> {
        Ok(json!({
            "@odata.type": SCRIPT_ASSIGNMENT,
            "target": self.target.to_graph(ApiVersion::Beta)?,
        }))
    }
}

/// A script assignment as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadScriptAssignment {
    pub id: String,
    pub target: Target,
}

impl ReadScriptAssignment {
    /// Parse one script assignment. Accepts `deviceManagementScriptAssignment` (`target`) and the
    /// legacy `deviceManagementScriptGroupAssignment`: with a `target` (as in the DT fixture), or
    /// with only `targetGroupId`, read as an include-group target.
    pub fn from_graph(body: &Value) -> Result<Self, WireError> {
        let obj = unwrap_entity(body)?;
        let id = required_text(obj, "id")?;
        let target = script_target(obj)?;
        Ok(Self { id, target: Target::from_graph(&target)? })
    }
}

/// The target object of a script assignment entry, synthesising one for legacy entries.
fn script_target(obj: &Map<String, Value>) -> Result<Value, WireError> {
    match (obj.get("target"), obj.get("targetGroupId").and_then(Value::as_str)) {
        (Some(t @ Value::Object(_)), _) => Ok(t.clone()),
        (_, Some(group)) => Ok(json!({ "@odata.type": super::target::GROUP_TARGET, "groupId": group })),
        _ => Err(malformed("a script assignment has neither target nor targetGroupId")),
    }
}

/// The items of one page of `GET …/assignments` (`{"value": [...]}`), or of the `assignments`
/// of an entity read with `$expand=assignments`. Kept as raw JSON: replace-all writes must
/// echo other people's assignments exactly.
pub fn assignment_items(page: &Value) -> Result<Vec<Value>, WireError> {
    let items = match page {
        Value::Array(items) => items,
        Value::Object(obj) => match obj.get("value").or_else(|| obj.get("assignments")) {
            Some(Value::Array(items)) => items,
            _ => return Err(malformed("expected a `value` (or `assignments`) array")),
        },
        _ => return Err(malformed("expected a JSON object or array")),
    };
    Ok(items.clone())
}

/// The [`TargetKey`] of a raw assignment entry (app or script), if its target is one we manage.
pub fn entry_key(entry: &Value) -> Option<TargetKey> {
    match entry.get("target") {
        Some(t @ Value::Object(_)) => TargetKey::of_graph(t),
        _ => entry.as_object().and_then(|o| script_target(o).ok()).and_then(|t| TargetKey::of_graph(&t)),
    }
}

/// The `id` of a raw assignment entry.
pub fn entry_id(entry: &Value) -> Option<&str> {
    entry.get("id").and_then(Value::as_str)
}

/// How [`find_owned`] found the owned assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// By the id stored in state.
    ById(usize),
    /// By target identity (the id changed, or there was none yet): the resource should store
    /// the new id.
    ByTarget(usize),
    /// Gone.
    Missing,
}

/// Find the owned assignment among `entries`: the stored `id` first, then the target identity.
pub fn find_owned(entries: &[Value], id: Option<&str>, key: &TargetKey) -> Found {
    if let Some(id) = id
        && let Some(i) = entries.iter().position(|e| entry_id(e).is_some_and(|x| x.eq_ignore_ascii_case(id)))
    {
        return Found::ById(i);
    }
    match entries.iter().position(|e| entry_key(e).as_ref() == Some(key)) {
        Some(i) => Found::ByTarget(i),
        None => Found::Missing,
    }
}

/// The entity of a single-entity body (bare, or wrapped in `{"value": {…}}`).
fn unwrap_entity(body: &Value) -> Result<&Map<String, Value>, WireError> {
    let obj = body.as_object().ok_or_else(|| malformed("expected a JSON object"))?;
    match obj.get("value") {
        Some(Value::Object(inner)) if !obj.contains_key("id") => Ok(inner),
        _ => Ok(obj),
    }
}

fn required_text(obj: &Map<String, Value>, key: &str) -> Result<String, WireError> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| malformed(&format!("no `{key}`")))
}

fn malformed(what: &str) -> WireError {
    WireError::Malformed(what.to_owned())
}

/// Whether `odata_type` (with or without `#`) names `expected`.
pub fn is_odata_type(odata_type: &str, expected: &str) -> bool {
    bare_odata_type(odata_type) == bare_odata_type(expected)
}

#[cfg(test)]
mod tests {
    use super::super::settings::{
        InstallTimeWindow, Notifications, RestartGrace, WIN32_LOB_APP, WINGET_APP, Win32Settings,
        WinGetSettings,
    };
    use super::super::target::{Filter, FilterMode, TargetKind};
    use super::*;

    fn sample(name: &str) -> Value {
        let text = match name {
            "app.assign.beta" => include_str!("testdata/app.assign.beta.request.json"),
            "app.assign.v1.0" => include_str!("testdata/app.assign.v1.0.request.json"),
            "app.create.beta.req" => include_str!("testdata/app.create_assignment.beta.request.json"),
            "app.create.beta.resp" => include_str!("testdata/app.create_assignment.beta.response.json"),
            "app.create.v1.req" => include_str!("testdata/app.create_assignment.v1.0.request.json"),
            "app.create.v1.resp" => include_str!("testdata/app.create_assignment.v1.0.response.json"),
            "app.list.beta" => include_str!("testdata/app.list_assignments.beta.response.json"),
            "app.list.v1" => include_str!("testdata/app.list_assignments.v1.0.response.json"),
            "app.patch.beta.req" => include_str!("testdata/app.patch_assignment.beta.request.json"),
            "app.patch.beta.resp" => include_str!("testdata/app.patch_assignment.beta.response.json"),
            "app.patch.v1.req" => include_str!("testdata/app.patch_assignment.v1.0.request.json"),
            "app.patch.v1.resp" => include_str!("testdata/app.patch_assignment.v1.0.response.json"),
            "app.get.win32" => include_str!("testdata/app.get_win32LobApp.beta.response.json"),
            "app.get.winget" => include_str!("testdata/app.get_winGetApp.beta.response.json"),
            "app.list_types" => include_str!("testdata/app.list_mobileApps_types.dt.beta.response.json"),
            "script.assign" => include_str!("testdata/script.assign.beta.request.json"),
            "script.list" => include_str!("testdata/script.list_assignments.beta.response.json"),
            "script.expand" => include_str!("testdata/script.get_expand_assignments.dt.beta.response.json"),
            other => panic!("no sample {other}"),
        };
        serde_json::from_str(text).unwrap()
    }

    const G: &str = "a1a7c4d7-9a1e-4c81-9d92-6f4eb3a7b9a5";

    #[test]
    fn intent_names_match_metadata() {
        let mut graph: Vec<_> = Intent::ALL.iter().map(|i| i.graph()).collect();
        graph.sort_unstable();
        assert_eq!(graph, ["available", "availableWithoutEnrollment", "required", "uninstall"]);
        for i in Intent::ALL {
            assert_eq!(Intent::parse(i.name()), Some(i));
            assert_eq!(Intent::from_graph(i.graph()), Some(i));
        }
        assert_eq!(Intent::NAMES, Intent::ALL.map(Intent::name));
    }

    #[test]
    fn reference_body_for_the_device_group() {
        // graph-reference.md §4a "Body (Win32 app, required for the device group)".
        let a = AppAssignment {
            intent: Intent::Required,
            target: Target::new(TargetKind::Group, Some("<deviceGroupId>")),
            settings: None,
        };
        assert_eq!(
            a.to_graph(ApiVersion::Beta, "app", WIN32_LOB_APP).unwrap(),
            json!({
                "@odata.type": "#microsoft.graph.mobileAppAssignment",
                "intent": "required",
                "target": {
                    "@odata.type": "#microsoft.graph.groupAssignmentTarget",
                    "groupId": "<deviceGroupId>",
                    "deviceAndAppManagementAssignmentFilterId": null,
                    "deviceAndAppManagementAssignmentFilterType": "none"
                },
                "settings": {
                    "@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings",
                    "notifications": "showAll",
                    "deliveryOptimizationPriority": "notConfigured",
                    "installTimeSettings": null,
                    "restartSettings": null
                }
            })
        );
    }

    #[test]
    fn bodies_for_other_app_types_and_v1() {
        let a = AppAssignment {
            intent: Intent::Required,
            target: Target::new(TargetKind::AllLicensedUsers, None),
            settings: None,
        };
        // Office and other types: no settings. v1.0: no filter properties.
        let body = a.to_graph(ApiVersion::V1, "app", "#microsoft.graph.officeSuiteApp").unwrap();
        assert_eq!(body["settings"], Value::Null);
        assert_eq!(
            body["target"],
            json!({"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"})
        );
        // The v1.0 create sample has the same target (without `#`).
        let req = sample("app.create.v1.req");
        assert_eq!(Target::from_graph(&req["target"]).unwrap(), a.target);
        // Settings for the wrong app type are refused, naming the app.
        let wrong = AppAssignment { settings: Some(AppSettings::WinGet(WinGetSettings::default())), ..a };
        let err = wrong.to_graph(ApiVersion::Beta, "app-9", WIN32_LOB_APP).unwrap_err();
        assert!(err.to_string().contains("app app-9 is #microsoft.graph.win32LobApp"), "{err}");
    }

    #[test]
    fn written_bodies_read_back_equal() {
        let settings = [
            (
                WIN32_LOB_APP,
                Some(AppSettings::Win32(Win32Settings {
                    notifications: Notifications::HideAll,
                    install_time: Some(InstallTimeWindow {
                        use_local_time: false,
                        start: None,
                        deadline: Some("2026-03-01T00:00:00Z".into()),
                    }),
                    ..Default::default()
                })),
            ),
            (
                WINGET_APP,
                Some(AppSettings::WinGet(WinGetSettings {
                    restart: Some(RestartGrace {
                        grace_period_minutes: 60,
                        countdown_minutes: 5,
                        snooze_minutes: None,
                    }),
                    ..Default::default()
                })),
            ),
            (WIN32_LOB_APP, None),
        ];
        for (app_type, s) in settings {
            for intent in Intent::ALL {
                let a = AppAssignment {
                    intent,
                    target: Target {
                        kind: TargetKind::Group,
                        group_id: Some(G.into()),
                        filter: Some(Filter { id: G.into(), mode: FilterMode::Include }),
                    },
                    settings: s.clone(),
                };
                let mut body = a.to_graph(ApiVersion::Beta, "app", app_type).unwrap();
                body["id"] = json!(format!("{G}_1_0"));
                let read = ReadAppAssignment::from_graph(&body).unwrap();
                assert_eq!(read.intent, intent);
                assert_eq!(read.target, a.target);
                assert_eq!(AppSettings::reconcile(a.settings.as_ref(), &read.settings), a.settings);
            }
        }
    }

    #[test]
    fn every_app_sample_with_an_id_parses_or_fails_on_the_abstract_target() {
        // The generated doc examples use the abstract target type; everything else parses.
        for name in ["app.create.beta.resp", "app.patch.beta.resp"] {
            let err = ReadAppAssignment::from_graph(&sample(name)).unwrap_err();
            assert_eq!(
                err,
                WireError::TargetParse(TargetParseError::Unsupported(
                    "microsoft.graph.deviceAndAppManagementAssignmentTarget".into()
                ))
            );
        }
        for name in ["app.create.v1.resp", "app.patch.v1.resp"] {
            let read = ReadAppAssignment::from_graph(&sample(name)).unwrap();
            assert_eq!(read.id, "591620b7-20b7-5916-b720-1659b7201659");
            assert_eq!(read.intent, Intent::Required);
            assert_eq!(read.target.kind, TargetKind::AllLicensedUsers);
            assert_eq!(
                read.settings,
                GraphSettings::Other("microsoft.graph.windowsUniversalAppXAppAssignmentSettings".into())
            );
            assert_eq!(read.source, None);
        }
        let assign = &sample("app.assign.beta")["mobileAppAssignments"][0];
        let read = ReadAppAssignment::from_graph(assign).unwrap();
        assert_eq!(read.source.as_deref(), Some("policySets"));
        assert_eq!(read.source_id.as_deref(), Some("Source Id value"));
        assert!(matches!(read.settings, GraphSettings::WinGet(_)));
        for name in ["app.list.beta", "app.list.v1"] {
            let items = assignment_items(&sample(name)).unwrap();
            assert_eq!(items.len(), 1);
            assert_eq!(entry_id(&items[0]), Some("591620b7-20b7-5916-b720-1659b7201659"));
            assert_eq!(entry_key(&items[0]), None, "abstract target is never ours");
        }
        // Requests have no id.
        for name in [
            "app.create.beta.req",
            "app.patch.beta.req",
            "app.create.v1.req",
            "app.patch.v1.req",
            "app.assign.v1.0",
        ] {
            let body = sample(name);
            let entry = body.get("mobileAppAssignments").map_or(&body, |a| &a[0]);
            assert!(entry.get("target").is_some(), "{name}");
        }
    }

    #[test]
    fn unwraps_value_wrapper_and_reports_malformed() {
        let wrapped = json!({"value": {"id": "x", "intent": "uninstall",
            "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}});
        let read = ReadAppAssignment::from_graph(&wrapped).unwrap();
        assert_eq!(read.intent, Intent::Uninstall);
        assert_eq!(read.settings, GraphSettings::None);
        let no_target = json!({"id": "x", "intent": "required"});
        assert!(matches!(ReadAppAssignment::from_graph(&no_target), Err(WireError::Malformed(_))));
        let bad_intent = json!({"id": "x", "intent": "maybe", "target": {}});
        assert_eq!(ReadAppAssignment::from_graph(&bad_intent), Err(WireError::UnknownIntent("maybe".into())));
        assert!(assignment_items(&json!({"values": []})).is_err());
        assert!(assignment_items(&json!("x")).is_err());
        assert_eq!(assignment_items(&json!([])).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn app_type_of_app_samples() {
        // The app GETs (wrapped in `value`) and the DT list carry the @odata.type the settings check needs.
        assert_eq!(sample("app.get.win32")["value"]["@odata.type"], json!(WIN32_LOB_APP));
        assert_eq!(sample("app.get.winget")["value"]["@odata.type"], json!(WINGET_APP));
        let types: Vec<_> = assignment_items(&sample("app.list_types"))
            .unwrap()
            .iter()
            .map(|a| a["@odata.type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            types,
            ["#microsoft.graph.winGetApp", "#microsoft.graph.win32LobApp", "#microsoft.graph.officeSuiteApp"]
        );
    }

    #[test]
    fn script_bodies_and_samples() {
        let s = ScriptAssignment { target: Target::new(TargetKind::Group, Some("<deviceGroupId>")) };
        // graph-reference.md §4b body, plus the explicit "no filter" of beta targets.
        assert_eq!(
            s.to_graph().unwrap(),
            json!({ "@odata.type": "#microsoft.graph.deviceManagementScriptAssignment",
                    "target": { "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "<deviceGroupId>",
                                "deviceAndAppManagementAssignmentFilterId": null,
                                "deviceAndAppManagementAssignmentFilterType": "none" } })
        );
        // DT fixture: five legacy-typed entries carrying targets.
        let items = assignment_items(&sample("script.expand")).unwrap();
        let read: Vec<_> = items.iter().map(|i| ReadScriptAssignment::from_graph(i).unwrap()).collect();
        let kinds: Vec<_> = read.iter().map(|r| r.target.kind).collect();
        assert_eq!(
            kinds,
            [
                TargetKind::Group,
                TargetKind::Group,
                TargetKind::AllLicensedUsers,
                TargetKind::AllDevices,
                TargetKind::ExclusionGroup
            ]
        );
        assert_eq!(read[4].target.group_id.as_deref(), Some("33333333-3333-3333-3333-333333333333"));
        // Legacy entry with only targetGroupId.
        let assign = sample("script.assign");
        let legacy =
            ReadScriptAssignment::from_graph(&assign["deviceManagementScriptGroupAssignments"][0]).unwrap();
        assert_eq!(legacy.target, Target::new(TargetKind::Group, Some("Target Group Id value")));
        // The doc example's scopeTagGroupAssignmentTarget (not in the metadata) and the abstract type are not ours.
        let err =
            ReadScriptAssignment::from_graph(&assign["deviceManagementScriptAssignments"][0]).unwrap_err();
        assert!(err.to_string().contains("scopeTagGroupAssignmentTarget"), "{err}");
        let list = assignment_items(&sample("script.list")).unwrap();
        assert!(ReadScriptAssignment::from_graph(&list[0]).is_err());
        assert_eq!(entry_key(&list[0]), None);
        assert!(ReadScriptAssignment::from_graph(&json!({"id": "x"})).is_err());
    }

    #[test]
    fn find_owned_prefers_id_then_target() {
        let entry = |id: &str, group: &str| {
            json!({"id": id, "intent": "required",
                   "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group}})
        };
        let entries = vec![
            entry("g1_1_0", "g1"),
            entry("G2_0_0", "g2"),
            json!({"id": "x", "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}),
        ];
        let key = |g: &str| TargetKey::new(TargetKind::Group, Some(g));
        assert_eq!(find_owned(&entries, Some("g1_1_0"), &key("g1")), Found::ById(0));
        assert_eq!(
            find_owned(&entries, Some("g2_0_0"), &key("g2")),
            Found::ById(1),
            "ids compare without case"
        );
        // Intent changed in the portal: id g2_1_0 is gone, target g2 is still there.
        assert_eq!(find_owned(&entries, Some("g2_1_0"), &key("G2")), Found::ByTarget(1));
        assert_eq!(
            find_owned(&entries, None, &TargetKey::new(TargetKind::AllDevices, None)),
            Found::ByTarget(2)
        );
        assert_eq!(find_owned(&entries, Some("nope"), &key("g3")), Found::Missing);
        assert_eq!(
            find_owned(&entries, None, &TargetKey::new(TargetKind::ExclusionGroup, Some("g1"))),
            Found::Missing
        );
        // Script entries with only targetGroupId are found by target too.
        let legacy = vec![json!({"id": "s1", "targetGroupId": "g9"})];
        assert_eq!(find_owned(&legacy, None, &key("g9")), Found::ByTarget(0));
        assert!(is_odata_type("microsoft.graph.winGetApp", WINGET_APP));
    }
}
