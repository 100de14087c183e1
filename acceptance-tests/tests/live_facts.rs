#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test
//! One test per fact that Microsoft's sources leave uncertain (graph-reference.md, the open
//! questions in `provider/src/resources/device_preparation_policy/mod.rs`, the evidence tables
//! `device_preparation_policy/catalog.rs` and `device_join_settings/policy.rs::SHAPES`).
//!
//! Each test asserts what the emulator (and so the provider) encodes. By default it runs against
//! the emulator — the counterpart that keeps the emulator honest to that choice; with
//! `AUTOPILOT_LIVE_TENANT=1` (+ `ARM_*`) the same code runs against Microsoft Graph and settles the
//! fact: a failure there means the emulator and the provider's table must change. The tests talk
//! to Graph directly (no terraform), name everything with the run's prefix and delete what they
//! create. The list, with what each one settles, is in README.md ("Live tests for uncertain facts").

use acceptance_tests::target::{GraphProbe, Target};
use reqwest::Method;
use serde_json::{Value, json};

const USER_DRIVEN: &str = "80d33118-b7b4-40d8-b15f-81be745e053f_1";
const AUTOMATIC: &str = "a6157a7f-aa00-42d9-ac82-7d2479f545db_1";
const POLICIES: &str = "/beta/deviceManagement/configurationPolicies";
const PROVISIONING_CLIENT_APP_ID: &str = "f1346770-5b25-470b-88bd-d5744ab7952c";
const TIMEOUT: &str = "enrollment_autopilot_dpp_timeout";

async fn start() -> (Target, GraphProbe) {
    let target = Target::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("target");
    let probe = target.probe().await.expect("graph probe");
    (target, probe)
}

fn choice(definition: &str, instance_template: &str, value_template: &str, value: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting", "settingInstance": {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
        "settingDefinitionId": definition,
        "settingInstanceTemplateReference": {"settingInstanceTemplateId": instance_template},
        "choiceSettingValue": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingValue",
            "value": value, "children": [], "settingValueTemplateReference": {"settingValueTemplateId": value_template}}}})
}

fn simple(
    definition: &str,
    instance_template: &str,
    value_template: &str,
    value_type: &str,
    value: Value,
) -> Value {
    json!({"@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting", "settingInstance": {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
        "settingDefinitionId": definition,
        "settingInstanceTemplateReference": {"settingInstanceTemplateId": instance_template},
        "simpleSettingValue": {"@odata.type": format!("#microsoft.graph.deviceManagementConfiguration{value_type}SettingValue"),
            "value": value, "settingValueTemplateReference": {"settingValueTemplateId": value_template}}}})
}

/// A user-driven policy as the portal sends it (ids from the portal capture), without apps and
/// scripts (the provider omits empty lists too).
fn user_driven(name: &str, timeout: i64, error_message: &str) -> Value {
    json!({"name": name, "description": "", "roleScopeTagIds": ["0"], "platforms": "windows10",
        "technologies": "enrollment", "templateReference": {"templateId": USER_DRIVEN}, "settings": [
        choice("enrollment_autopilot_dpp_deploymentmode", "5180aeab-886e-4589-97d4-40855c646315", "5874c2f6-bcf1-463b-a9eb-bee64e2f2d82", "enrollment_autopilot_dpp_deploymentmode_0"),
        choice("enrollment_autopilot_dpp_deploymenttype", "f4184296-fa9f-4b67-8b12-1723b3f8456b", "e0af022f-37f3-4a40-916d-1ab7281c88d9", "enrollment_autopilot_dpp_deploymenttype_0"),
        choice("enrollment_autopilot_dpp_jointype", "6310e95d-6cfa-4d2f-aae0-1e7af12e2182", "1fa84eb3-fcfa-4ed6-9687-0f3d486402c4", "enrollment_autopilot_dpp_jointype_0"),
        choice("enrollment_autopilot_dpp_accountype", "d4f2a840-86d5-4162-9a08-fa8cc608b94e", "bf13bb47-69ef-4e06-97c1-50c2859a49c2", "enrollment_autopilot_dpp_accountype_1"),
        simple(TIMEOUT, "6dec0657-dfb8-4906-a7ee-3ac6ee1edecb", "0bbcce5b-a55a-4e05-821a-94bf576d6cc8", "Integer", json!(timeout)),
        simple("enrollment_autopilot_dpp_customerrormessage", "2ddf0619-2b7a-46de-b29b-c6191e9dda6e", "fe5002d5-fbe9-4920-9e2d-26bfc4b4cc97", "String", json!(error_message)),
        choice("enrollment_autopilot_dpp_allowskip", "2a71dc89-0f17-4ba9-bb27-af2521d34710", "a2323e5e-ac56-4517-8847-b0a6fdb467e7", "enrollment_autopilot_dpp_allowskip_1"),
        choice("enrollment_autopilot_dpp_allowdiagnostics", "e2b7a81b-f243-4abd-bce3-c1856345f405", "c59d26fd-3460-4b26-b47a-f7e202e7d5a3", "enrollment_autopilot_dpp_allowdiagnostics_0"),
    ]})
}

async fn create_policy(probe: &GraphProbe, body: &Value) -> String {
    let reply = probe.call(Method::POST, POLICIES, Some(body)).await.expect("create policy");
    assert_eq!(reply.status, 201, "create policy: {}", reply.body);
    reply.body["id"].as_str().expect("policy id").to_owned()
}

async fn delete_policy(probe: &GraphProbe, id: &str) {
    let reply = probe.call(Method::DELETE, &format!("{POLICIES}/{id}"), None).await.expect("delete policy");
    assert!(matches!(reply.status, 200 | 204), "delete policy {id}: {} {}", reply.status, reply.body);
}

/// The settings of a policy, keyed by definition id.
async fn settings(probe: &GraphProbe, id: &str) -> Vec<Value> {
    let page = probe.get(&format!("{POLICIES}/{id}/settings")).await.expect("settings");
    page["value"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|s| s["settingInstance"].clone())
        .collect()
}

fn instance<'a>(settings: &'a [Value], definition: &str) -> &'a Value {
    settings
        .iter()
        .find(|s| s["settingDefinitionId"] == definition)
        .unwrap_or_else(|| panic!("setting {definition} missing in {settings:#?}"))
}

/// Object id of the Intune Provisioning Client service principal in this tenant.
async fn provisioning_client(probe: &GraphProbe) -> String {
    let list = probe
        .get(&format!(
            "/v1.0/servicePrincipals?$filter=appId%20eq%20'{PROVISIONING_CLIENT_APP_ID}'&$select=id"
        ))
        .await
        .expect("service principal lookup");
    list["value"][0]["id"]
        .as_str()
        .expect("the Intune Provisioning Client service principal exists (create it with autopilot_service_principal)")
        .to_owned()
}

/// A security group named with the run's prefix, optionally owned by `owner` (a service principal).
async fn create_group(target: &Target, probe: &GraphProbe, name: &str, owner: Option<&str>) -> String {
    let mut body = json!({"displayName": target.name(name), "mailEnabled": false, "securityEnabled": true,
        "mailNickname": format!("tfacc{}", uuid::Uuid::new_v4().simple()), "groupTypes": []});
    if let Some(owner) = owner {
        body["owners@odata.bind"] =
            json!([format!("https://graph.microsoft.com/v1.0/servicePrincipals/{owner}")]);
    }
    let reply = probe.call(Method::POST, "/v1.0/groups", Some(&body)).await.expect("create group");
    assert_eq!(reply.status, 201, "create group: {}", reply.body);
    reply.body["id"].as_str().expect("group id").to_owned()
}

/// Deletes and purges a test group (purge answers 404 where deletion was permanent).
async fn delete_group(probe: &GraphProbe, id: &str) {
    let reply = probe.call(Method::DELETE, &format!("/v1.0/groups/{id}"), None).await.expect("delete group");
    assert_eq!(reply.status, 204, "delete group {id}: {}", reply.body);
    let purge =
        probe.call(Method::DELETE, &format!("/v1.0/directory/deletedItems/{id}"), None).await.expect("purge");
    assert!(matches!(purge.status, 204 | 404), "purge {id}: {} {}", purge.status, purge.body);
}

/// Graph reads are eventually consistent: retry a read a few times before judging it.
async fn eventually<F, Fut>(mut read: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    for _ in 0..10 {
        if let Some(v) = read().await {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    panic!("the read never showed the expected object");
}

/// Fact 1 (catalog.rs, "disputed option meaning"; DPP open question 1): `accountype_0` is
/// Administrator and `accountype_1` Standard user, and every option id the provider writes exists.
#[tokio::test(flavor = "multi_thread")]
async fn fact_account_type_option_ids_mean_administrator_and_standard_user() {
    let (target, probe) = start().await;
    let templates = probe
        .get(&format!(
            "/beta/deviceManagement/configurationPolicyTemplates/{USER_DRIVEN}/settingTemplates?$expand=settingDefinitions"
        ))
        .await
        .expect("setting templates");
    let definitions: Vec<Value> = templates["value"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["settingDefinitions"].as_array().cloned().unwrap_or_default())
        .collect();
    let account = definitions
        .iter()
        .find(|d| d["id"] == "enrollment_autopilot_dpp_accountype")
        .expect("account type definition");
    let label = |item: &str| {
        account["options"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["itemId"] == item)
            .map(|o| o["displayName"].as_str().unwrap_or_default().to_lowercase())
            .unwrap_or_else(|| panic!("option {item} missing: {account}"))
    };
    assert!(label("enrollment_autopilot_dpp_accountype_0").contains("admin"), "{account}");
    assert!(label("enrollment_autopilot_dpp_accountype_1").contains("standard"), "{account}");
    for (definition, option) in [
        ("enrollment_autopilot_dpp_deploymentmode", "enrollment_autopilot_dpp_deploymentmode_0"),
        ("enrollment_autopilot_dpp_deploymenttype", "enrollment_autopilot_dpp_deploymenttype_0"),
        ("enrollment_autopilot_dpp_jointype", "enrollment_autopilot_dpp_jointype_0"),
        ("enrollment_autopilot_dpp_allowskip", "enrollment_autopilot_dpp_allowskip_1"),
        ("enrollment_autopilot_dpp_allowdiagnostics", "enrollment_autopilot_dpp_allowdiagnostics_1"),
    ] {
        let d = definitions
            .iter()
            .find(|d| d["id"] == definition)
            .unwrap_or_else(|| panic!("{definition} missing"));
        assert!(
            d["options"].as_array().into_iter().flatten().any(|o| o["itemId"] == option),
            "{option} missing: {d}"
        );
    }
    if target.is_live() {
        // The check the provider's catalog documents, on the definition endpoint itself.
        let def = probe
            .get("/beta/deviceManagement/configurationSettings/enrollment_autopilot_dpp_accountype")
            .await
            .expect("configurationSettings");
        assert_eq!(&def["options"], &account["options"], "the two endpoints disagree");
    }
    target.stop().await;
}

/// Fact 2 (DPP open question 2; policy.rs "PUT is not documented"): `PUT …/configurationPolicies/{id}`
/// with the create body (and the id echoed) replaces the settings.
#[tokio::test(flavor = "multi_thread")]
async fn fact_put_with_the_create_body_replaces_settings() {
    let (target, probe) = start().await;
    let name = target.name("fact put");
    let id = create_policy(&probe, &user_driven(&name, 60, "Call the help desk")).await;
    let mut body = user_driven(&name, 120, "Call the help desk");
    body["id"] = json!(id);
    let reply = probe.call(Method::PUT, &format!("{POLICIES}/{id}"), Some(&body)).await.expect("put");
    assert!(matches!(reply.status, 200 | 204), "PUT refused: {} {}", reply.status, reply.body);
    let value = eventually(|| async {
        let s = settings(&probe, &id).await;
        let v = instance(&s, TIMEOUT)["simpleSettingValue"]["value"].clone();
        (v == json!(120)).then_some(v)
    })
    .await;
    assert_eq!(value, 120);
    delete_policy(&probe, &id).await;
    target.stop().await;
}

/// Fact 3 (DPP open question 3): the service returns the shapes the portal sends — choice
/// values as option ids, the timeout as an integer value, the message as a string.
#[tokio::test(flavor = "multi_thread")]
async fn fact_settings_read_back_in_the_shapes_the_portal_sends() {
    let (target, probe) = start().await;
    let id = create_policy(&probe, &user_driven(&target.name("fact shapes"), 90, "Call the help desk")).await;
    let s = settings(&probe, &id).await;
    let account = instance(&s, "enrollment_autopilot_dpp_accountype");
    assert_eq!(account["@odata.type"], "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance");
    assert_eq!(account["choiceSettingValue"]["value"], "enrollment_autopilot_dpp_accountype_1");
    let timeout = &instance(&s, TIMEOUT)["simpleSettingValue"];
    assert_eq!(timeout["@odata.type"], "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue");
    assert!(timeout["value"].is_i64(), "timeout is not a JSON integer: {timeout}");
    let message = &instance(&s, "enrollment_autopilot_dpp_customerrormessage")["simpleSettingValue"];
    assert_eq!(message["value"], "Call the help desk");
    delete_policy(&probe, &id).await;
    target.stop().await;
}

/// Fact 4 (DPP open question 4): an automatic (Windows 365) policy without apps and scripts —
/// an empty `settings` list — is accepted.
#[tokio::test(flavor = "multi_thread")]
async fn fact_automatic_policy_without_apps_or_scripts_is_accepted() {
    let (target, probe) = start().await;
    let body = json!({"name": target.name("fact automatic"), "description": "", "roleScopeTagIds": ["0"],
        "platforms": "windows10", "technologies": "enrollment", "templateReference": {"templateId": AUTOMATIC},
        "settings": []});
    let id = create_policy(&probe, &body).await;
    let policy = probe.get(&format!("{POLICIES}/{id}")).await.expect("read");
    assert_eq!(policy["templateReference"]["templateId"], AUTOMATIC);
    assert_eq!(policy["settingCount"], 0);
    delete_policy(&probe, &id).await;
    target.stop().await;
}

/// Fact 5 (DPP open question 6): the custom error message takes at most 1,000 characters, and
/// an empty message is accepted.
#[tokio::test(flavor = "multi_thread")]
async fn fact_custom_error_message_limits() {
    let (target, probe) = start().await;
    let long = "x".repeat(1001);
    let reply = probe
        .call(Method::POST, POLICIES, Some(&user_driven(&target.name("fact long message"), 60, &long)))
        .await
        .expect("create");
    assert_eq!(reply.status, 400, "1,001 characters accepted: {}", reply.body);
    let id = create_policy(&probe, &user_driven(&target.name("fact empty message"), 60, "")).await;
    delete_policy(&probe, &id).await;
    let id = create_policy(&probe, &user_driven(&target.name("fact 1000"), 60, &"x".repeat(1000))).await;
    delete_policy(&probe, &id).await;
    target.stop().await;
}

/// Fact 6 (DPP open question 7; graph-reference "known issue (high risk)"): binding the device
/// group works with application-only auth, and binding another group replaces the first
/// without a `clear…` call.
#[tokio::test(flavor = "multi_thread")]
async fn fact_device_group_binding_is_app_only_and_replaces() {
    let (target, probe) = start().await;
    let sp = provisioning_client(&probe).await;
    let first = create_group(&target, &probe, "fact devices A", Some(&sp)).await;
    let second = create_group(&target, &probe, "fact devices B", Some(&sp)).await;
    let id = create_policy(&probe, &user_driven(&target.name("fact binding"), 60, "")).await;
    let bind = |group: &str| json!({"enrollmentTimeDeviceMembershipTargets": [{"targetType": "staticSecurityGroup", "targetId": group}]});
    for group in [&first, &second] {
        // A new group may not have replicated to Intune yet: retry a few times.
        let answer = eventually(|| async {
            let reply = probe
                .call(
                    Method::POST,
                    &format!("{POLICIES}/{id}/setEnrollmentTimeDeviceMembershipTarget"),
                    Some(&bind(group)),
                )
                .await
                .expect("bind");
            assert_ne!(
                reply.status, 500,
                "app-only binding answered 500 (the reported issue): {}",
                reply.body
            );
            (reply.status == 200 && reply.body["value"]["validationSucceeded"] == true).then_some(reply.body)
        })
        .await;
        assert_eq!(answer["value"]["validationSucceeded"], true);
    }
    let reply = probe
        .call(Method::POST, &format!("{POLICIES}/{id}/retrieveEnrollmentTimeDeviceMembershipTarget"), None)
        .await
        .expect("retrieve");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let bound: Vec<&str> = reply.body["enrollmentTimeDeviceMembershipTargetResult"]
        ["enrollmentTimeDeviceMembershipTargetValidationStatuses"]
        .as_array()
        .or_else(|| reply.body["value"]["enrollmentTimeDeviceMembershipTargetValidationStatuses"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|s| s["targetId"].as_str())
        .collect();
    assert_eq!(bound, [second.as_str()], "the second binding did not replace the first: {}", reply.body);
    delete_policy(&probe, &id).await;
    delete_group(&probe, &first).await;
    delete_group(&probe, &second).await;
    target.stop().await;
}

/// Fact 7 (DPP open question 8): `/assign` accepts a group target with
/// `deviceAndAppManagementAssignmentFilterType: "none"` and no filter id, and reads it back.
#[tokio::test(flavor = "multi_thread")]
async fn fact_assign_accepts_filter_type_none_without_a_filter() {
    let (target, probe) = start().await;
    let group = create_group(&target, &probe, "fact users", None).await;
    let id = create_policy(&probe, &user_driven(&target.name("fact assign"), 60, "")).await;
    let body = json!({"assignments": [{"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget",
        "groupId": group, "deviceAndAppManagementAssignmentFilterType": "none"}}]});
    let reply =
        probe.call(Method::POST, &format!("{POLICIES}/{id}/assign"), Some(&body)).await.expect("assign");
    assert!(matches!(reply.status, 200 | 204), "assign refused: {} {}", reply.status, reply.body);
    let read = eventually(|| async {
        let page = probe.get(&format!("{POLICIES}/{id}/assignments")).await.ok()?;
        (page["value"].as_array().map(Vec::len) == Some(1)).then_some(page)
    })
    .await;
    assert_eq!(read["value"][0]["target"]["groupId"], group.as_str());
    assert_eq!(read["value"][0]["target"]["deviceAndAppManagementAssignmentFilterType"], "none");
    delete_policy(&probe, &id).await;
    delete_group(&probe, &group).await;
    target.stop().await;
}

/// Fact 8 (device_join_settings `SHAPES`): the tenant returns the current shape of the device
/// registration policy — `allowedToJoin` typed by `@odata.type`, MFA by name, a numeric quota.
/// Read-only, safe in any tenant.
#[tokio::test(flavor = "multi_thread")]
async fn fact_device_registration_policy_has_the_current_shape() {
    let (target, probe) = start().await;
    let policy = probe.get("/beta/policies/deviceRegistrationPolicy").await.expect("read");
    let kind = policy["azureADJoin"]["allowedToJoin"]["@odata.type"].as_str().unwrap_or_default();
    assert!(
        [
            "#microsoft.graph.allDeviceRegistrationMembership",
            "#microsoft.graph.enumeratedDeviceRegistrationMembership",
            "#microsoft.graph.noDeviceRegistrationMembership"
        ]
        .contains(&kind),
        "allowedToJoin is not in the current shape: {policy}"
    );
    let mfa = policy["multiFactorAuthConfiguration"].as_str().unwrap_or_default();
    assert!(["notRequired", "required"].contains(&mfa), "MFA is not named: {policy}");
    assert!(policy["userDeviceQuota"].is_i64(), "no numeric quota: {policy}");
    target.stop().await;
}

/// Fact 9 (graph-reference "sources disagree on soft-delete"): deleting a security group moves
/// it to deleted items (restorable) instead of removing it at once.
#[tokio::test(flavor = "multi_thread")]
async fn fact_deleting_a_security_group_is_a_soft_delete() {
    let (target, probe) = start().await;
    let id = create_group(&target, &probe, "fact soft delete", None).await;
    let reply = probe.call(Method::DELETE, &format!("/v1.0/groups/{id}"), None).await.expect("delete");
    assert_eq!(reply.status, 204, "{}", reply.body);
    let deleted =
        eventually(|| async { probe.get(&format!("/v1.0/directory/deletedItems/{id}")).await.ok() }).await;
    assert_eq!(deleted["id"], id.as_str());
    let purge =
        probe.call(Method::DELETE, &format!("/v1.0/directory/deletedItems/{id}"), None).await.expect("purge");
    assert_eq!(purge.status, 204, "{}", purge.body);
    target.stop().await;
}

/// Fact 10 (graph-reference "filtering by importedDeviceIdentifier … unverified"): corporate
/// identifiers can be found with `$filter=importedDeviceIdentifier eq '…'`.
#[tokio::test(flavor = "multi_thread")]
async fn fact_corporate_identifiers_filter_by_identifier() {
    let (target, probe) = start().await;
    let serial = format!("TFACC{}", uuid::Uuid::new_v4().simple()).to_uppercase();
    let identifier = format!("Contoso,Acceptance Model,{serial}");
    let body = json!({"overwriteImportedDeviceIdentities": false, "importedDeviceIdentities": [{
        "importedDeviceIdentifier": identifier, "importedDeviceIdentityType": "manufacturerModelSerial",
        "platform": "windows", "description": target.name("fact filter")}]});
    let reply = probe
        .call(
            Method::POST,
            "/beta/deviceManagement/importedDeviceIdentities/importDeviceIdentityList",
            Some(&body),
        )
        .await
        .expect("import");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["value"][0]["status"], true, "{}", reply.body);
    let filter = format!("importedDeviceIdentifier eq '{identifier}'");
    let query: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    let found = eventually(|| async {
        let page = probe
            .get(&format!("/beta/deviceManagement/importedDeviceIdentities?$filter={query}"))
            .await
            .ok()?;
        (page["value"].as_array().map(Vec::len) == Some(1)).then_some(page)
    })
    .await;
    assert_eq!(found["value"][0]["importedDeviceIdentifier"], identifier.as_str());
    let id = found["value"][0]["id"].as_str().expect("id").to_owned();
    let reply = probe
        .call(Method::DELETE, &format!("/beta/deviceManagement/importedDeviceIdentities/{id}"), None)
        .await
        .expect("delete");
    assert!(matches!(reply.status, 200 | 204), "{} {}", reply.status, reply.body);
    target.stop().await;
}
