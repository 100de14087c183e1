//! Tests of the settings translation against the portal captures and Graph samples copied into
//! `testdata/` (sources in `testdata/README.md`).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;

const WIN32_APP: &str = "e83d36e1-3ff2-4567-90d9-940919184ad5";
const WINGET_APP: &str = "3e17a039-a8c6-4cac-b892-ee5b9d64b2b6";
const WIN32_APP_2: &str = "e2dd1944-5854-4b0d-951c-7dbd8edab3a8";

fn sample(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The portal's collection values carry a junk key literally named `@odata.`; Graph ignores it.
fn strip_junk(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("@odata.");
            map.values_mut().for_each(strip_junk);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_junk),
        _ => {}
    }
}

fn capture_settings(text: &str) -> Value {
    let mut body = sample(text);
    strip_junk(&mut body);
    body["settings"].take()
}

fn app_types() -> HashMap<String, AppType> {
    HashMap::from([
        (WIN32_APP.to_owned(), AppType::Win32Lob),
        (WINGET_APP.to_owned(), AppType::WinGet),
        (WIN32_APP_2.to_owned(), AppType::Win32Lob),
    ])
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// What `dpp_create_user_driven.dt.beta.request.json` was created with.
fn user_driven_capture_settings() -> PolicySettings {
    PolicySettings {
        user_account_type: UserAccountType::Administrator,
        allow_skip: true,
        allow_diagnostics: true,
        allowed_app_ids: strings(&[WIN32_APP, WINGET_APP]),
        allowed_script_ids: strings(&[
            "18e40aa8-88b8-41f7-b80c-a102ce073a1f",
            "0bd442c4-c0f8-40d2-a808-9933177bc80e",
        ]),
        ..PolicySettings::new(DeploymentMode::UserDriven)
    }
}

/// What `dpp_create_automatic_with_scripts_and_apps.dt.beta.request.json` (a user-driven policy
/// despite its name) was created with.
fn second_capture_settings() -> PolicySettings {
    PolicySettings {
        user_account_type: UserAccountType::StandardUser,
        allow_skip: true,
        allow_diagnostics: true,
        allowed_app_ids: strings(&[WIN32_APP, WINGET_APP, WIN32_APP_2]),
        allowed_script_ids: strings(&[
            "18e40aa8-88b8-41f7-b80c-a102ce073a1f",
            "218b3c41-c45f-4cba-a84a-d8bc14e64a2e",
            "18f676c3-5835-4f9c-9437-438652a3ef76",
        ]),
        ..PolicySettings::new(DeploymentMode::UserDriven)
    }
}

fn automatic_capture_settings() -> PolicySettings {
    PolicySettings {
        allowed_app_ids: strings(&[WIN32_APP, WINGET_APP, WIN32_APP_2]),
        ..PolicySettings::new(DeploymentMode::Automatic)
    }
}

const USER_DRIVEN_CAPTURE: &str = include_str!("testdata/dpp_create_user_driven.request.json");
const SECOND_CAPTURE: &str = include_str!("testdata/dpp_create_user_driven_scripts_and_apps.request.json");
const AUTOMATIC_CAPTURE: &str = include_str!("testdata/dpp_create_automatic_partial.request.json");

#[test]
fn written_settings_equal_the_portal_captures() {
    for (name, settings, capture) in [
        ("user-driven", user_driven_capture_settings(), USER_DRIVEN_CAPTURE),
        ("second user-driven", second_capture_settings(), SECOND_CAPTURE),
        ("automatic", automatic_capture_settings(), AUTOMATIC_CAPTURE),
    ] {
        let written = settings.to_graph_settings(&app_types()).unwrap();
        assert_eq!(written, capture_settings(capture), "{name}");
    }
}

#[test]
fn portal_captures_read_back_as_what_created_them() {
    for (settings, capture) in [
        (user_driven_capture_settings(), USER_DRIVEN_CAPTURE),
        (second_capture_settings(), SECOND_CAPTURE),
        (automatic_capture_settings(), AUTOMATIC_CAPTURE),
    ] {
        // The raw capture, junk keys and all, as a `settings`-carrying object.
        assert_eq!(PolicySettings::from_graph_settings(&sample(capture)).unwrap(), settings);
    }
}

#[test]
fn round_trip_for_both_modes_and_both_account_types() {
    for mode in [DeploymentMode::UserDriven, DeploymentMode::Automatic] {
        for account in [UserAccountType::StandardUser, UserAccountType::Administrator] {
            for (apps, scripts) in [(vec![], vec![]), (strings(&[WINGET_APP]), strings(&[WIN32_APP_2]))] {
                let mut s = PolicySettings::new(mode);
                if mode == DeploymentMode::UserDriven {
                    s.user_account_type = account;
                    s.installation_timeout_minutes = 720;
                    s.custom_error_message = "Call \"IT\" – ext. 42".to_owned();
                    s.allow_skip = account == UserAccountType::Administrator;
                }
                s.allowed_app_ids = apps;
                s.allowed_script_ids = scripts;
                let graph = s.to_graph_settings(&app_types()).unwrap();
                let template = mode.template();
                // The GET shape wraps the array in `value`.
                let page = json!({ "value": graph });
                assert_eq!(
                    PolicySettings::from_graph_settings_for(template, &[&page]).unwrap(),
                    s,
                    "{mode:?} {account:?}"
                );
                if mode == DeploymentMode::UserDriven || !s.allowed_app_ids.is_empty() {
                    assert_eq!(PolicySettings::from_graph_settings(&graph).unwrap(), s);
                }
            }
        }
    }
}

#[test]
fn account_type_is_written_with_the_table_ids() {
    let mut s = PolicySettings::new(DeploymentMode::UserDriven);
    for (account, value) in [
        (UserAccountType::Administrator, "enrollment_autopilot_dpp_accountype_0"),
        (UserAccountType::StandardUser, "enrollment_autopilot_dpp_accountype_1"),
    ] {
        s.user_account_type = account;
        let graph = s.to_graph_settings(&HashMap::new()).unwrap();
        assert_eq!(graph[3]["settingInstance"]["choiceSettingValue"]["value"], value);
    }
}

#[test]
fn automatic_mode_writes_only_apps_and_scripts() {
    let mut s = PolicySettings::new(DeploymentMode::Automatic);
    assert_eq!(s.to_graph_settings(&HashMap::new()).unwrap(), json!([]));
    s.allowed_script_ids = strings(&[WIN32_APP]);
    let graph = s.to_graph_settings(&HashMap::new()).unwrap();
    assert_eq!(graph.as_array().unwrap().len(), 1);
    assert_eq!(
        graph[0]["settingInstance"]["settingInstanceTemplateReference"]["settingInstanceTemplateId"],
        "ff20a4a9-a2f4-4a2e-84e0-4cd1dc9bed31"
    );
}

#[test]
fn an_app_without_a_type_is_an_error() {
    let mut s = PolicySettings::new(DeploymentMode::UserDriven);
    s.allowed_app_ids = strings(&["11111111-1111-1111-1111-111111111111"]);
    assert_eq!(
        s.to_graph_settings(&app_types()).unwrap_err(),
        CatalogError::AppTypeMissing { app_id: "11111111-1111-1111-1111-111111111111".into() }
    );
}

#[test]
fn june_2024_get_with_legacy_ids_and_boolean_values_parses() {
    // dpp_get_settings.dt.beta.response.json: `…_devicegroup`, `…_custonerror`, `…_allowedapps`
    // (collectionSettingInstance, empty), allowskip/allowdiagnostics as BooleanSettingValue.
    let s = PolicySettings::from_graph_settings(&sample(include_str!(
        "testdata/dpp_get_settings_2024.response.json"
    )))
    .unwrap();
    assert_eq!(
        s,
        PolicySettings {
            user_account_type: UserAccountType::Administrator,
            custom_error_message: "Contact your organization's support person for help.".to_owned(),
            ..PolicySettings::new(DeploymentMode::UserDriven)
        }
    );
}

#[test]
fn dt_fixture_with_group_collection_wrappers_parses() {
    // dpp_get_settings_fixture.dt.beta.response.json wraps the four deployment choices in
    // groupSettingCollectionInstances.
    let page = sample(include_str!("testdata/dpp_get_settings_fixture.response.json"));
    let s = PolicySettings::from_graph_settings_for(Template::UserDriven, &[&page]).unwrap();
    assert_eq!(
        s,
        PolicySettings {
            user_account_type: UserAccountType::Administrator,
            custom_error_message: "Contact your organization's support person for help.".to_owned(),
            ..PolicySettings::new(DeploymentMode::UserDriven)
        }
    );
}

#[test]
fn generic_doc_example_fails_on_its_unknown_setting_id() {
    // list_settings.beta.response.json is an auditPolicies example with placeholder ids.
    let err = PolicySettings::from_graph_settings(&sample(include_str!(
        "testdata/list_settings.beta.response.json"
    )))
    .unwrap_err();
    assert_eq!(err, CatalogError::UnknownSetting { definition_id: "Setting Definition Id value".into() });
}

/// The user-driven capture's settings with one instance replaced.
fn with_instance(index: usize, instance: Value) -> Value {
    let mut settings = capture_settings(USER_DRIVEN_CAPTURE);
    settings[index]["settingInstance"] = instance;
    settings
}

#[test]
fn unknown_ids_and_values_are_typed_errors_naming_them() {
    let new_setting = with_instance(
        4,
        json!({ "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                "settingDefinitionId": "enrollment_autopilot_dpp_newthing",
                "simpleSettingValue": { "value": 1 } }),
    );
    let err = PolicySettings::from_graph_settings(&new_setting).unwrap_err();
    assert_eq!(
        err,
        CatalogError::UnknownSetting { definition_id: "enrollment_autopilot_dpp_newthing".into() }
    );
    assert!(err.to_string().contains("enrollment_autopilot_dpp_newthing"));

    let mut unknown_value = capture_settings(USER_DRIVEN_CAPTURE);
    unknown_value[3]["settingInstance"]["choiceSettingValue"]["value"] =
        json!("enrollment_autopilot_dpp_accountype_2");
    assert_eq!(
        PolicySettings::from_graph_settings(&unknown_value).unwrap_err(),
        CatalogError::UnknownValue {
            definition_id: "enrollment_autopilot_dpp_accountype".into(),
            value: "enrollment_autopilot_dpp_accountype_2".into()
        }
    );

    let mut hybrid = capture_settings(USER_DRIVEN_CAPTURE);
    hybrid[2]["settingInstance"]["choiceSettingValue"]["value"] =
        json!("enrollment_autopilot_dpp_jointype_1");
    assert!(matches!(
        PolicySettings::from_graph_settings(&hybrid).unwrap_err(),
        CatalogError::UnsupportedValue { definition_id, .. } if definition_id == "enrollment_autopilot_dpp_jointype"
    ));

    let mut child = capture_settings(USER_DRIVEN_CAPTURE);
    child[6]["settingInstance"]["choiceSettingValue"]["children"] = json!([{
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
        "settingDefinitionId": "enrollment_autopilot_dpp_allowskip_attempts", "simpleSettingValue": { "value": 3 } }]);
    assert_eq!(
        PolicySettings::from_graph_settings(&child).unwrap_err(),
        CatalogError::UnknownSetting { definition_id: "enrollment_autopilot_dpp_allowskip_attempts".into() }
    );
}

/// The user-driven capture as a GET page with the `settingDefinitions` expansion on the account
/// type, labelling its options as given.
fn with_account_labels(admin_label: &str, standard_label: &str, value: &str) -> Value {
    let mut settings = capture_settings(USER_DRIVEN_CAPTURE);
    settings[3]["settingInstance"]["choiceSettingValue"]["value"] = json!(value);
    // Shape of Microsoft365DSC's mocked `settings?$expand=settingDefinitions` item.
    settings[3]["settingDefinitions"] = json!([{
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingDefinition",
        "id": "enrollment_autopilot_dpp_accountype",
        "name": "AccountType",
        "options": [
            { "itemId": "enrollment_autopilot_dpp_accountype_0", "name": admin_label,
              "optionValue": { "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue", "value": 0 } },
            { "itemId": "enrollment_autopilot_dpp_accountype_1", "name": standard_label,
              "optionValue": { "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue", "value": 1 } }
        ]
    }]);
    json!({ "value": settings })
}

#[test]
fn account_type_labels_from_the_tenant_confirm_the_table() {
    // Table interpretation (DSC, current DT, third-party script): _0 Administrator, _1 Standard.
    for (value, expected) in [
        ("enrollment_autopilot_dpp_accountype_0", UserAccountType::Administrator),
        ("enrollment_autopilot_dpp_accountype_1", UserAccountType::StandardUser),
    ] {
        let page = with_account_labels("Administrator", "StandardUser", value);
        let s = PolicySettings::from_graph_settings_for(Template::UserDriven, &[&page]).unwrap();
        assert_eq!(s.user_account_type, expected);
    }
}

#[test]
fn account_type_labels_from_the_tenant_contradicting_the_table_are_an_error() {
    // DT's older interpretation: _0 Standard user, _1 Administrator.
    for value in ["enrollment_autopilot_dpp_accountype_0", "enrollment_autopilot_dpp_accountype_1"] {
        let page = with_account_labels("Standard user", "Administrator", value);
        let err = PolicySettings::from_graph_settings_for(Template::UserDriven, &[&page]).unwrap_err();
        assert!(
            matches!(&err, CatalogError::MeaningMismatch { definition_id: "enrollment_autopilot_dpp_accountype", value_id, .. }
                if *value_id == value),
            "{err:?}"
        );
        assert!(err.to_string().contains(value));
    }
}

#[test]
fn alternative_value_shapes_are_accepted() {
    let mut settings = capture_settings(USER_DRIVEN_CAPTURE);
    // Timeout as a numeric string.
    settings[4]["settingInstance"]["simpleSettingValue"]["value"] = json!("90");
    // Nested types without `#` (generated Intune doc examples).
    settings[0]["settingInstance"]["@odata.type"] =
        json!("microsoft.graph.deviceManagementConfigurationChoiceSettingInstance");
    // App values: reordered keys with spaces, and a bare id.
    settings[9]["settingInstance"]["simpleSettingCollectionValue"] = json!([
        { "value": format!("{{ \"type\": \"#microsoft.graph.win32LobApp\", \"id\": \"{WIN32_APP}\" }}") },
        { "value": WINGET_APP }
    ]);
    // Script value as an object.
    settings[10]["settingInstance"]["simpleSettingCollectionValue"] =
        json!([{ "value": "{\"id\":\"18e40aa8-88b8-41f7-b80c-a102ce073a1f\"}" }]);
    let s = PolicySettings::from_graph_settings(&settings).unwrap();
    assert_eq!(s.installation_timeout_minutes, 90);
    assert_eq!(s.allowed_app_ids, [WIN32_APP, WINGET_APP]);
    assert_eq!(s.allowed_script_ids, ["18e40aa8-88b8-41f7-b80c-a102ce073a1f"]);

    settings[4]["settingInstance"]["simpleSettingValue"]["value"] = json!("ninety");
    assert!(matches!(
        PolicySettings::from_graph_settings(&settings).unwrap_err(),
        CatalogError::UnexpectedShape { definition_id, .. } if definition_id == "enrollment_autopilot_dpp_timeout"
    ));
}

#[test]
fn structural_problems_are_reported() {
    // A user-driven policy missing its timeout.
    let mut missing = capture_settings(USER_DRIVEN_CAPTURE);
    missing.as_array_mut().unwrap().remove(4);
    assert_eq!(
        PolicySettings::from_graph_settings(&missing).unwrap_err(),
        CatalogError::MissingSetting {
            definition_id: "enrollment_autopilot_dpp_timeout",
            template: "user-driven"
        }
    );

    // The same setting twice.
    let mut twice = capture_settings(USER_DRIVEN_CAPTURE);
    let copy = twice[5].clone();
    twice.as_array_mut().unwrap().push(copy);
    assert!(matches!(
        PolicySettings::from_graph_settings(&twice).unwrap_err(),
        CatalogError::DuplicateSetting { .. }
    ));

    // User-driven settings under the automatic template.
    let page = json!({ "value": capture_settings(USER_DRIVEN_CAPTURE) });
    assert!(matches!(
        PolicySettings::from_graph_settings_for(Template::Automatic, &[&page]).unwrap_err(),
        CatalogError::SettingNotInTemplate { template: "automatic", .. }
    ));

    // A page that is not the last one.
    let paged = json!({ "value": [], "@odata.nextLink": "https://graph.microsoft.com/beta/next" });
    assert!(matches!(
        PolicySettings::from_graph_settings(&paged).unwrap_err(),
        CatalogError::NotASettingsList { .. }
    ));
    assert!(matches!(
        PolicySettings::from_graph_settings(&json!(42)).unwrap_err(),
        CatalogError::NotASettingsList { .. }
    ));
}

#[test]
fn pages_are_read_together() {
    let all = capture_settings(USER_DRIVEN_CAPTURE);
    let (first, second) = all.as_array().unwrap().split_at(6);
    let p1 = json!({ "value": first });
    let p2 = json!({ "value": second });
    assert_eq!(
        PolicySettings::from_graph_settings_for(Template::UserDriven, &[&p1, &p2]).unwrap(),
        user_driven_capture_settings()
    );
}

#[test]
fn policy_with_expanded_settings_is_accepted() {
    let mut policy = sample(include_str!("testdata/dpp_get_policy.response.json"));
    policy["settings"] = capture_settings(SECOND_CAPTURE);
    assert_eq!(PolicySettings::from_graph_settings(&policy).unwrap(), second_capture_settings());
}

#[test]
fn allowed_app_values_are_exactly_the_portal_strings() {
    let mut s = PolicySettings::new(DeploymentMode::Automatic);
    s.allowed_app_ids = strings(&[WINGET_APP]);
    let graph = s.to_graph_settings(&app_types()).unwrap();
    assert_eq!(
        graph[0]["settingInstance"]["simpleSettingCollectionValue"][0]["value"],
        "{\"id\":\"3e17a039-a8c6-4cac-b892-ee5b9d64b2b6\",\"type\":\"#microsoft.graph.winGetApp\"}"
    );
}
