#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test
//! `autopilot_device_preparation_policy` with the real terraform CLI against the Graph emulator:
//! a full policy (2 apps, 1 script, device group, user group) → empty plan → update in place →
//! portal change detected and fixed → import → destroy removes only the policy; a failed
//! binding leaves the policy in state (tainted, no orphan) and the next apply converges; and
//! invalid input fails at plan on the attribute.

use acceptance_tests::emulator::auth::DEFAULT_ROLES;
use acceptance_tests::emulator::fixtures::{
    INTUNE_PROVISIONING_CLIENT_SP_ID, SCRIPT_IDS, WIN32_APP_ID, WINGET_APP_ID,
};
use acceptance_tests::harness::{Emulator, PROVIDER_HEADER, Workspace};
use acceptance_tests::steps::{Import, Lifecycle};
use acceptance_tests::target::Target;
use reqwest::Method;
use serde_json::{Value, json};

const DEVICE_GROUP: &str = "c1000000-0000-4000-8000-0000000000d1";
const UNOWNED_GROUP: &str = "c1000000-0000-4000-8000-0000000000d2";
const USER_GROUP: &str = "c1000000-0000-4000-8000-0000000000b1";
const ADDR: &str = "autopilot_device_preparation_policy.this";
const TIMEOUT_SETTING: &str = "enrollment_autopilot_dpp_timeout";

async fn emulator() -> Emulator {
    Emulator::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator starts")
}

async fn seed_group(emu: &Emulator, id: &str, name: &str, owners: &[&str]) {
    emu.control_send(
        Method::POST,
        "/_emulator/objects/groups",
        Some(json!({"id": id, "displayName": name, "mailNickname": name, "mailEnabled": false,
                    "securityEnabled": true, "groupTypes": [], "owners": owners})),
    )
    .await
    .expect("seed group");
}

async fn seed_groups(emu: &Emulator) {
    seed_group(emu, DEVICE_GROUP, "dpp-devices", &[INTUNE_PROVISIONING_CLIENT_SP_ID]).await;
    seed_group(emu, UNOWNED_GROUP, "dpp-devices-unowned", &[]).await;
    seed_group(emu, USER_GROUP, "dpp-users", &[]).await;
}

async fn policies(emu: &Emulator) -> Vec<Value> {
    emu.objects("configurationPolicies").await.expect("objects")
}

/// The value of one setting of a stored policy.
fn setting(policy: &Value, definition_id: &str) -> Value {
    policy["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["settingInstance"])
        .find(|i| i["settingDefinitionId"] == definition_id)
        .map(|i| i.get("simpleSettingValue").or(i.get("choiceSettingValue")).cloned().unwrap_or(Value::Null))
        .unwrap_or(Value::Null)
}

fn config(body: &str) -> String {
    format!("{PROVIDER_HEADER}\nresource \"autopilot_device_preparation_policy\" \"this\" {{\n{body}\n}}\n")
}

fn full_policy(extra: &str) -> String {
    config(&format!(
        r#"  name              = "Autopilot DPP"
  description       = "Entra join, user-driven"
  deployment_mode   = "user_driven"
  allow_skip        = true
  allowed_app_ids   = ["{WIN32_APP_ID}", "{WINGET_APP_ID}"]
  allowed_script_ids = ["{script}"]
  device_group_id   = "{DEVICE_GROUP}"
  assigned_group_ids = ["{USER_GROUP}"]
{extra}"#,
        script = SCRIPT_IDS[0]
    ))
}

async fn graph_requests(emu: &Emulator) -> Vec<Value> {
    emu.requests()
        .await
        .expect("request log")
        .into_iter()
        .filter(|r| !r["path"].as_str().unwrap_or_default().contains("/oauth2/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_update_drift_import_destroy() {
    let target =
        Target::emulator_only(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator");
    let emu = target.emulator().expect("emulator mode");
    seed_groups(emu).await;
    let apps_before = emu.objects("mobileApps").await.unwrap().len();
    let mut lc = Lifecycle::new(&target);
    lc.track(ADDR, Some("/beta/deviceManagement/configurationPolicies/{id}"));
    lc.apply(&full_policy("")).await;

    let stored = policies(emu).await;
    assert_eq!(stored.len(), 1);
    let p = &stored[0];
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["templateReference"]["templateId"], "80d33118-b7b4-40d8-b15f-81be745e053f_1");
    assert_eq!(setting(p, TIMEOUT_SETTING)["value"], 60);
    assert_eq!(
        setting(p, "enrollment_autopilot_dpp_accountype")["value"],
        "enrollment_autopilot_dpp_accountype_1"
    );
    assert_eq!(
        setting(p, "enrollment_autopilot_dpp_allowskip")["value"],
        "enrollment_autopilot_dpp_allowskip_1"
    );
    let apps = p["settings"].to_string();
    assert!(
        apps.contains(&format!(
            r##"{{\"id\":\"{WIN32_APP_ID}\",\"type\":\"#microsoft.graph.win32LobApp\"}}"##
        )),
        "{apps}"
    );
    assert!(apps.contains("#microsoft.graph.winGetApp"), "{apps}");
    assert_eq!(p["enrollmentTimeDeviceMembershipTargets"], json!([DEVICE_GROUP]));
    assert_eq!(p["assignments"][0]["target"]["groupId"], USER_GROUP);
    let values = lc.values(ADDR).await;
    assert_eq!(values["id"], id.as_str());
    assert_eq!(values["is_assigned"], true);
    assert_eq!(values["user_account_type"], "standard_user");

    // Import into a fresh workspace: every attribute as applied, nothing to change.
    lc.import_and_compare(Import::block(ADDR).fresh()).await;

    // Update in place: timeout and account type.
    let out = lc
        .update(&full_policy(
            "  installation_timeout_minutes = 120\n  user_account_type = \"administrator\"\n",
        ))
        .await;
    assert!(out.stdout.contains("1 changed, 0 destroyed"), "not an in-place update:\n{}", out.stdout);
    let p = policies(emu).await.pop().unwrap();
    assert_eq!(p["id"], id.as_str());
    assert_eq!(setting(&p, TIMEOUT_SETTING)["value"], 120);
    assert_eq!(
        setting(&p, "enrollment_autopilot_dpp_accountype")["value"],
        "enrollment_autopilot_dpp_accountype_0"
    );
    let count = |log: &[Value], method: &str, suffix: &str| {
        log.iter()
            .filter(|r| r["method"] == method && r["path"].as_str().unwrap_or_default().ends_with(suffix))
            .count()
    };
    let log = graph_requests(emu).await;
    assert_eq!(count(&log, "PUT", &id), 1, "settings are replaced with one PUT");
    assert_eq!(
        count(&log, "POST", "/setEnrollmentTimeDeviceMembershipTarget"),
        1,
        "unchanged group re-bound"
    );
    assert_eq!(count(&log, "POST", "/assign"), 1, "unchanged assignments re-sent");

    // A description change is a PATCH, not another PUT.
    lc.update(
        &full_policy("  installation_timeout_minutes = 120\n  user_account_type = \"administrator\"\n")
            .replace("Entra join, user-driven", "Entra join, user-driven, v2"),
    )
    .await;
    let log = graph_requests(emu).await;
    assert_eq!((count(&log, "PATCH", &id), count(&log, "PUT", &id)), (1, 1));
    let p = policies(emu).await.pop().unwrap();
    assert_eq!(p["description"], "Entra join, user-driven, v2");

    // A portal-style change of the timeout shows as drift and is fixed by apply.
    let mut settings = p["settings"].clone();
    for s in settings.as_array_mut().unwrap() {
        if s["settingInstance"]["settingDefinitionId"] == TIMEOUT_SETTING {
            s["settingInstance"]["simpleSettingValue"]["value"] = json!(30);
        }
    }
    lc.drift(
        async {
            emu.control_send(
                Method::PATCH,
                &format!("/_emulator/objects/configurationPolicies/{id}"),
                // Also unbind the device group and remove the assignment, as an admin could.
                Some(json!({"settings": settings, "enrollmentTimeDeviceMembershipTargets": [], "assignments": []})),
            )
            .await
            .expect("portal change");
        },
        &["installation_timeout_minutes", "device_group_id", "assigned_group_ids"],
    )
    .await;
    let p = policies(emu).await.pop().unwrap();
    assert_eq!(setting(&p, TIMEOUT_SETTING)["value"], 120);
    assert_eq!(p["enrollmentTimeDeviceMembershipTargets"], json!([DEVICE_GROUP]));
    assert_eq!(p["assignments"][0]["target"]["groupId"], USER_GROUP);

    // Destroy removes the policy and nothing else.
    lc.destroy().await;
    assert!(policies(emu).await.is_empty(), "policy left behind");
    let groups: Vec<String> =
        emu.objects("groups").await.unwrap().iter().map(|g| g["id"].as_str().unwrap().to_owned()).collect();
    for g in [DEVICE_GROUP, UNOWNED_GROUP, USER_GROUP] {
        assert!(groups.contains(&g.to_owned()), "group {g} was removed");
    }
    assert_eq!(emu.objects("mobileApps").await.unwrap().len(), apps_before);
    assert_eq!(emu.objects("deviceManagementScripts").await.unwrap().len(), SCRIPT_IDS.len());
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_binding_keeps_the_policy_in_state_and_the_next_apply_converges() {
    let emu = emulator().await;
    seed_groups(&emu).await;
    // Without directory read permissions the plan-time owner check can only warn, so the
    // binding (Intune's own validation) is what fails, after the policy was created.
    let roles: Vec<&str> = DEFAULT_ROLES
        .iter()
        .copied()
        .filter(|r| !r.starts_with("Group") && !r.starts_with("Directory"))
        .collect();
    emu.control_send(Method::POST, "/_emulator/roles", Some(json!({"roles": roles}))).await.expect("roles");
    let ws = Workspace::new(&emu).expect("workspace");
    let main = config(&format!(
        r#"  name            = "Autopilot DPP"
  deployment_mode = "user_driven"
  allowed_app_ids = ["{WIN32_APP_ID}"]
  device_group_id = "{UNOWNED_GROUP}"
  assigned_group_ids = ["{USER_GROUP}"]"#
    ));
    ws.write("main.tf", &main).expect("write");
    let out = ws.terraform(&["apply", "-auto-approve", "-input=false"]).await.expect("apply runs");
    let text = out.combined();
    assert!(!out.success(), "apply with an unowned device group succeeded");
    assert!(
        text.contains("Intune Provisioning Client") && text.contains("owner"),
        "no owner explanation:\n{text}"
    );
    let stored = policies(&emu).await;
    assert_eq!(stored.len(), 1, "exactly the one policy exists");
    let values = ws.resource_values(ADDR).await.unwrap().expect("the created policy is kept in state");
    assert_eq!(values["id"], stored[0]["id"]);
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(!empty && out.stdout.contains("tainted"), "not tainted:\n{}", out.stdout);

    // Fix the owner; the next apply replaces the tainted policy and converges.
    emu.control_send(
        Method::PATCH,
        &format!("/_emulator/objects/groups/{UNOWNED_GROUP}"),
        Some(json!({"owners": [INTUNE_PROVISIONING_CLIENT_SP_ID]})),
    )
    .await
    .expect("add owner");
    ws.apply().await.expect("apply converges");
    let stored = policies(&emu).await;
    assert_eq!(stored.len(), 1, "the tainted policy was replaced, not orphaned");
    assert_eq!(stored[0]["enrollmentTimeDeviceMembershipTargets"], json!([UNOWNED_GROUP]));
    assert_eq!(stored[0]["assignments"][0]["target"]["groupId"], USER_GROUP);
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "plan after convergence not empty:\n{}", out.stdout);
    ws.destroy().await.expect("destroy");

    // The reported app-only 500 on the binding call: explained, and again no orphan.
    emu.control_send(
        Method::POST,
        "/_emulator/objects/configurationPolicyFaults",
        Some(json!({"id": "bindingAppOnly500"})),
    )
    .await
    .expect("fault on");
    let out = ws.terraform(&["apply", "-auto-approve", "-input=false"]).await.expect("apply runs");
    let text = out.combined();
    assert!(!out.success(), "apply succeeded despite the 500");
    assert!(text.split_whitespace().any(|w| w == "delegated"), "500 not explained:\n{text}");
    let stored = policies(&emu).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(ws.resource_values(ADDR).await.unwrap().expect("in state")["id"], stored[0]["id"]);
    emu.control_send(Method::DELETE, "/_emulator/objects/configurationPolicyFaults/bindingAppOnly500", None)
        .await
        .expect("fault off");
    ws.apply().await.expect("apply converges");
    assert_eq!(policies(&emu).await.len(), 1);
    ws.destroy().await.expect("destroy");
    assert!(policies(&emu).await.is_empty());
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_fails_at_plan_on_the_attribute() {
    let emu = emulator().await;
    seed_groups(&emu).await;
    let ws = Workspace::new(&emu).expect("workspace");
    let base = "  name = \"p\"\n  deployment_mode = \"user_driven\"\n";
    let many_apps: Vec<String> = (0..26).map(|n| format!("\"00000000-0000-4000-8000-{n:012}\"")).collect();
    let cases = [
        (
            format!("{base}  installation_timeout_minutes = 5"),
            "installation_timeout_minutes",
            "between 15 and 720",
        ),
        (format!("{base}  allowed_app_ids = [{}]", many_apps.join(", ")), "allowed_app_ids", "at most 25"),
        (format!("{base}  user_account_type = \"root\""), "user_account_type", "root"),
        (
            format!("{base}  allowed_script_ids = [\"{WIN32_APP_ID}\"]"),
            "allowed_script_ids",
            "is an Intune app",
        ),
        (
            format!("{base}  device_group_id = \"{UNOWNED_GROUP}\""),
            "device_group_id",
            "Intune Provisioning Client",
        ),
        (
            "  name = \"p\"\n  deployment_mode = \"automatic\"\n  allow_skip = true".to_owned(),
            "allow_skip",
            "exists only in user_driven policies",
        ),
    ];
    for (body, attribute, needle) in &cases {
        ws.write("main.tf", &config(body)).expect("write");
        let out = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
        let text = out.combined();
        assert!(!out.success(), "plan of {body:?} succeeded");
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(needle), "diagnostic for {body:?} lacks {needle:?}:\n{text}");
        assert!(
            text.lines().any(|l| l.contains(attribute)
                && l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())),
            "diagnostic for {body:?} does not point at {attribute}:\n{text}"
        );
    }
    let writes: Vec<Value> =
        graph_requests(&emu).await.into_iter().filter(|r| r["method"] != "GET").collect();
    assert!(
        writes.iter().all(|r| r["path"].as_str().unwrap_or_default().contains("$batch")),
        "invalid configurations must not write to Graph: {writes:?}"
    );
    assert!(policies(&emu).await.is_empty());
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn automatic_mode_round_trips_and_a_mode_change_replaces() {
    let emu = emulator().await;
    seed_groups(&emu).await;
    let ws = Workspace::new(&emu).expect("workspace");
    ws.write(
        "main.tf",
        &config(&format!(
            "  name = \"Cloud PCs\"\n  deployment_mode = \"automatic\"\n  allowed_app_ids = [\"{WINGET_APP_ID}\"]\n  allowed_script_ids = [\"{}\"]\n  device_group_id = \"{DEVICE_GROUP}\"",
            SCRIPT_IDS[1]
        )),
    )
    .expect("write");
    ws.apply().await.expect("apply");
    let p = policies(&emu).await.pop().expect("created");
    assert_eq!(p["templateReference"]["templateId"], "a6157a7f-aa00-42d9-ac82-7d2479f545db_1");
    assert_eq!(
        p["settings"].as_array().unwrap().len(),
        2,
        "only apps and scripts exist in the automatic template"
    );
    assert_eq!(p["assignments"], json!([]));
    let values = ws.resource_values(ADDR).await.unwrap().expect("in state");
    assert_eq!(values["is_assigned"], false);
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "second plan not empty:\n{}", out.stdout);
    // Switching the mode replaces the policy (another template).
    ws.write("main.tf", &config("  name = \"Cloud PCs\"\n  deployment_mode = \"user_driven\""))
        .expect("write");
    let out = ws.apply().await.expect("replace");
    assert!(out.stdout.contains("1 added, 0 changed, 1 destroyed"), "{}", out.stdout);
    let stored = policies(&emu).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["templateReference"]["templateId"], "80d33118-b7b4-40d8-b15f-81be745e053f_1");
    ws.destroy().await.expect("destroy");
    assert!(policies(&emu).await.is_empty());
    emu.stop().await;
}
