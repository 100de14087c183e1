use serde_json::{Value, json};

use super::*;

fn kinds(method: &str, path: &str, body: Value) -> Vec<(ViolationKind, String)> {
    check_request(method, path, path, body.to_string().as_bytes())
        .into_iter()
        .map(|v| (v.kind, v.pointer))
        .collect()
}

fn group() -> Value {
    json!({
        "displayName": "g", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true,
        "groupTypes": [], "isAssignableToRole": false, "description": "d",
        "owners@odata.bind": ["https://graph.microsoft.com/v1.0/directoryObjects/a1e5b8f0-1d2c-4c3b-9a4e-000000000001"]
    })
}

fn assignment() -> Value {
    json!({
        "@odata.type": "#microsoft.graph.mobileAppAssignment", "intent": "required",
        "settings": {"@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings",
                     "notifications": "showAll", "deliveryOptimizationPriority": "notConfigured",
                     "installTimeSettings": null, "restartSettings": null},
        "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g",
                   "deviceAndAppManagementAssignmentFilterType": "none",
                   "deviceAndAppManagementAssignmentFilterId": null}
    })
}

const ASSIGNMENTS: &str = "/beta/deviceAppManagement/mobileApps/c3/assignments";

#[test]
fn the_table_parses_and_has_the_needed_types() {
    let m = model().expect("table parses");
    for ty in ["group", "servicePrincipal"] {
        assert!(m.v1.types.contains_key(ty), "v1.0 {ty}");
    }
    for ty in [
        "deviceRegistrationPolicy",
        "deviceManagementConfigurationPolicy",
        "mobileAppAssignment",
        "winGetAppAssignmentSettings",
        "importedDeviceIdentity",
        "deviceManagementScriptAssignment",
    ] {
        assert!(m.beta.types.contains_key(ty), "beta {ty}");
    }
}

#[test]
fn conforming_bodies_pass() {
    let policy = json!({
        "name": "p", "description": "d", "platforms": "windows10", "technologies": "enrollment",
        "roleScopeTagIds": ["0"], "templateReference": {"templateId": "80d33118-b7b4-40d8-b15f-81be745e053f_1"},
        "settings": [{"@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting",
            "settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                "settingDefinitionId": "x", "settingInstanceTemplateReference": {"settingInstanceTemplateId": "t"},
                "simpleSettingValue": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue",
                    "value": 60, "settingValueTemplateReference": {"settingValueTemplateId": "v"}}}}]
    });
    let cases: Vec<(&str, &str, Value)> = vec![
        ("POST", "/v1.0/groups", group()),
        ("PATCH", "/v1.0/groups/x", json!({"description": "new", "members@odata.bind": ["u"]})),
        (
            "POST",
            "/v1.0/groups/x/members/$ref",
            json!({"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/y"}),
        ),
        ("POST", "/v1.0/directoryObjects/getByIds", json!({"ids": ["a"], "types": ["group"]})),
        ("POST", ASSIGNMENTS, assignment()),
        ("POST", "/beta/deviceManagement/configurationPolicies", policy),
        (
            "POST",
            "/beta/deviceManagement/configurationPolicies/p/retrieveEnrollmentTimeDeviceMembershipTarget",
            json!({}),
        ),
        ("POST", "/v1.0/$batch", json!({"requests": []})),
        (
            "PUT",
            "/beta/policies/deviceRegistrationPolicy",
            json!({"userDeviceQuota": 50, "multiFactorAuthConfiguration": "notRequired",
                   "azureADJoin": {"isAdminConfigurable": true, "allowedToJoin": {
                       "@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership", "users": [], "groups": ["g"]}}}),
        ),
    ];
    for (method, path, body) in cases {
        assert_eq!(kinds(method, path, body.clone()), vec![], "{method} {path} {body}");
    }
    // No body at all (an action without parameters, a DELETE) is fine.
    assert!(
        check_request(
            "POST",
            "/beta/deviceManagement/configurationPolicies/p/retrieveEnrollmentTimeDeviceMembershipTarget",
            "",
            b""
        )
        .is_empty()
    );
}

/// method, path, body, expected (kind, JSON pointer) pairs sorted by pointer.
type Case = (&'static str, &'static str, Value, Vec<(ViolationKind, &'static str)>);

#[test]
fn each_violation_kind_is_caught() {
    use ViolationKind::*;
    let mut unknown = group();
    unknown["visibilityy"] = json!("Private");
    let mut nested_unknown = assignment();
    nested_unknown["settings"]["notification"] = json!("showAll");
    let mut wrong_type = assignment();
    wrong_type["target"]["@odata.type"] = json!("#microsoft.graph.win32LobAppAssignmentSettings");
    let mut abstract_target = assignment();
    abstract_target["target"].as_object_mut().expect("object").remove("@odata.type");
    let mut bad_enum = assignment();
    bad_enum["intent"] = json!("mandatory");
    let mut bad_filter_enum = assignment();
    bad_filter_enum["target"]["deviceAndAppManagementAssignmentFilterType"] = json!("Include");
    let mut stray_context = group();
    stray_context["@odata.context"] = json!("https://graph.microsoft.com/v1.0/$metadata#groups/$entity");
    let mut stray_bind = group();
    stray_bind["displayName@odata.bind"] = json!(["x"]);
    let mut wrong_value = group();
    wrong_value["securityEnabled"] = json!("true");
    let cases: Vec<Case> = vec![
        ("POST", "/v1.0/groups", unknown, vec![(UnknownProperty, "/visibilityy")]),
        ("POST", ASSIGNMENTS, nested_unknown, vec![(UnknownProperty, "/settings/notification")]),
        ("POST", ASSIGNMENTS, wrong_type, vec![(WrongOdataType, "/target/@odata.type")]),
        ("POST", ASSIGNMENTS, abstract_target, vec![(WrongOdataType, "/target/@odata.type")]),
        ("POST", ASSIGNMENTS, bad_enum, vec![(BadEnumValue, "/intent")]),
        (
            "POST",
            ASSIGNMENTS,
            bad_filter_enum,
            vec![(BadEnumValue, "/target/deviceAndAppManagementAssignmentFilterType")],
        ),
        (
            "POST",
            "/beta/deviceManagement/configurationPolicies",
            json!({"name": "p", "platforms": "windows10,commodore64"}),
            vec![(BadEnumValue, "/platforms")],
        ),
        (
            "PUT",
            "/beta/policies/deviceRegistrationPolicy",
            json!({"azureADJoin": {"appliesTo": "selected", "allowedGroups": ["g"]}}),
            vec![
                (DeprecatedProperty, "/azureADJoin/allowedGroups"),
                (DeprecatedProperty, "/azureADJoin/appliesTo"),
            ],
        ),
        ("POST", "/v1.0/groups", stray_context, vec![(StrayAnnotation, "/@odata.context")]),
        ("POST", "/v1.0/groups", stray_bind, vec![(StrayAnnotation, "/displayName@odata.bind")]),
        (
            "POST",
            "/v1.0/groups/x/owners/$ref",
            json!({"@odata.id": "u", "@odata.type": "#microsoft.graph.user"}),
            vec![(StrayAnnotation, "/@odata.type")],
        ),
        (
            "POST",
            "/beta/deviceManagement/configurationPolicies/p/assign",
            json!({"@odata.type": "#microsoft.graph.x", "assignments": []}),
            vec![(StrayAnnotation, "/@odata.type")],
        ),
        ("POST", "/v1.0/groups", wrong_value, vec![(WrongValueType, "/securityEnabled")]),
        (
            "POST",
            "/beta/deviceManagement/importedDeviceIdentities/importDeviceIdentityList",
            json!({"importedDeviceIdentities": [{"importedDeviceIdentifier": "a,b,c",
                   "importedDeviceIdentityType": "serial", "platform": "windows"}], "overwrite": false}),
            vec![
                (BadEnumValue, "/importedDeviceIdentities/0/importedDeviceIdentityType"),
                (UnknownProperty, "/overwrite"),
            ],
        ),
        ("POST", "/beta/deviceManagement/somethingNew", json!({"a": 1}), vec![(UnmappedOperation, "")]),
    ];
    for (method, path, body, expected) in cases {
        let mut got = kinds(method, path, body.clone());
        got.sort_by(|a, b| a.1.cmp(&b.1));
        let expected: Vec<(ViolationKind, String)> =
            expected.into_iter().map(|(k, p)| (k, p.to_owned())).collect();
        assert_eq!(got, expected, "{method} {path} {body}");
    }
}

#[test]
fn subtypes_are_accepted_where_the_base_type_is_declared() {
    // exclusionGroupAssignmentTarget derives from groupAssignmentTarget, which derives from the
    // declared deviceAndAppManagementAssignmentTarget.
    let mut body = assignment();
    body["target"]["@odata.type"] = json!("#microsoft.graph.exclusionGroupAssignmentTarget");
    body["settings"] =
        json!({"@odata.type": "#microsoft.graph.winGetAppAssignmentSettings", "notifications": "hideAll"});
    assert_eq!(kinds("POST", ASSIGNMENTS, body), vec![]);
}

/// The checked-in table matches the official metadata when that is available: the directory
/// in `GRAPH_METADATA_DIR`, else `../shared/graph-metadata` next to the repository (CI); skipped
/// (with a note) when neither exists, since the emulator itself never reads it.
#[test]
fn the_table_is_fresh_against_the_official_metadata() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("GRAPH_METADATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/graph-metadata"));
    if !dir.join("v1.0-Prod.csdl").is_file() {
        eprintln!("skipped: no Graph metadata at {} (set GRAPH_METADATA_DIR)", dir.display());
        return;
    }
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts/gen-graph-types"))
        .arg("--check")
        .arg(&dir)
        .output()
        .expect("python3 runs the generator");
    assert!(
        out.status.success(),
        "graph_types.json is stale against {}: run scripts/gen-graph-types\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
