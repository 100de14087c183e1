#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test
//! `autopilot_device_join_settings` with the real terraform CLI against the Graph emulator:
//! the lifecycle steps (apply → import → update → portal change → destroy with restore / keep),
//! a configuration that manages only `allowed_to_join` never touches the quota, and invalid
//! input fails at plan with nothing sent to Graph.

use acceptance_tests::harness::{Emulator, PROVIDER_HEADER, Workspace};
use acceptance_tests::steps::{Import, Lifecycle};
use acceptance_tests::target::Target;
use serde_json::{Value, json};

const USER: &str = "b2000000-0000-4000-8000-000000000002";
const USER_2: &str = "b2000000-0000-4000-8000-000000000003";
const ADDR: &str = "autopilot_device_join_settings.this";
const POLICY: &str = "/_emulator/objects/deviceRegistrationPolicy/deviceRegistrationPolicy";

async fn emulator(flags: &[&str]) -> Emulator {
    Emulator::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), flags).await.expect("emulator starts")
}

async fn policy(emu: &Emulator) -> Value {
    emu.objects("deviceRegistrationPolicy").await.expect("objects").into_iter().next().expect("policy exists")
}

/// Graph requests other than token requests (what the provider sent to Graph itself).
async fn graph_requests(emu: &Emulator) -> Vec<Value> {
    emu.requests()
        .await
        .expect("request log")
        .into_iter()
        .filter(|r| !r["path"].as_str().unwrap_or_default().contains("/oauth2/"))
        .collect()
}

fn config(body: &str) -> String {
    format!("{PROVIDER_HEADER}\nresource \"autopilot_device_join_settings\" \"this\" {{\n{body}\n}}\n")
}

/// apply → empty plan → import (fresh workspace, attributes compared) → update → portal change
/// detected and repaired → destroy with `on_destroy = "restore"` puts back what was found.
#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_with_drift_import_and_restore() {
    let target =
        Target::emulator_only(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator");
    let emu = target.emulator().expect("emulator mode");
    let group = "c1000000-0000-4000-8000-0000000000aa";
    emu.control_send(
        reqwest::Method::POST,
        "/_emulator/objects/groups",
        Some(
            json!({"id": group, "displayName": "DPP users", "mailNickname": "dpp-users", "mailEnabled": false,
                    "securityEnabled": true, "groupTypes": []}),
        ),
    )
    .await
    .expect("seed group");
    let selected = |users: &str| {
        config(&format!(
            "  allowed_to_join = \"selected\"\n  allowed_users = [{users}]\n  allowed_groups = [\"{group}\"]\n  on_destroy = \"restore\""
        ))
    };
    let mut lc = Lifecycle::new(&target);

    lc.apply(&selected(&format!("\"{USER}\""))).await;
    let p = policy(emu).await;
    let allowed = &p["azureADJoin"]["allowedToJoin"];
    assert_eq!(allowed["@odata.type"], "#microsoft.graph.enumeratedDeviceRegistrationMembership");
    assert_eq!(allowed["users"], json!([USER]));
    assert_eq!(allowed["groups"], json!([group]));
    assert_eq!(p["userDeviceQuota"], 50, "the quota must be echoed, never reset");

    // An import cannot know the choice to restore (nor what was found before): on_destroy
    // starts at "keep" and the import's plan sets it; everything else is read as applied.
    lc.import_and_compare(
        Import::block(ADDR)
            .id("deviceRegistrationPolicy")
            .fresh()
            .ignoring(&["on_destroy"])
            .plan_shows(&["on_destroy", "\"keep\" -> \"restore\""]),
    )
    .await;

    lc.update(&selected(&format!("\"{USER}\", \"{USER_2}\""))).await;
    let users = policy(emu).await["azureADJoin"]["allowedToJoin"]["users"].clone();
    assert_eq!(users.as_array().map(Vec::len), Some(2), "{users}");

    // A portal-style change: somebody sets "All" again.
    let mut changed = policy(emu).await;
    changed["azureADJoin"]["allowedToJoin"] =
        json!({"@odata.type": "#microsoft.graph.allDeviceRegistrationMembership"});
    lc.drift(
        async {
            emu.control_send(reqwest::Method::PATCH, POLICY, Some(changed)).await.expect("portal change");
        },
        &["allowed_to_join"],
    )
    .await;
    assert_eq!(
        policy(emu).await["azureADJoin"]["allowedToJoin"]["@odata.type"],
        "#microsoft.graph.enumeratedDeviceRegistrationMembership"
    );

    // Destroy with restore puts back what the resource found: "all".
    lc.destroy().await;
    let p = policy(emu).await;
    assert_eq!(
        p["azureADJoin"]["allowedToJoin"]["@odata.type"],
        "#microsoft.graph.allDeviceRegistrationMembership"
    );
    assert_eq!(p["userDeviceQuota"], 50);
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn managing_only_allowed_to_join_keeps_everything_else_and_keep_on_destroy() {
    let emu = emulator(&[]).await;
    // A tenant whose quota and MFA differ from the fixture, in the older payload shape.
    let legacy = json!({
        "id": "deviceRegistrationPolicy", "displayName": "Device Registration Policy", "description": "",
        "userDeviceQuota": 7, "multiFactorAuthConfiguration": "1",
        "azureADRegistration": {"appliesTo": "1", "isAdminConfigurable": false, "allowedUsers": [], "allowedGroups": []},
        "azureADJoin": {"appliesTo": "1", "isAdminConfigurable": true, "allowedUsers": [], "allowedGroups": []},
        "localAdminPassword": {"isEnabled": true}
    });
    emu.control_send(reqwest::Method::PATCH, POLICY, Some(legacy)).await.expect("legacy shape");
    let ws = Workspace::new(&emu).expect("workspace");
    ws.write("main.tf", &config("  allowed_to_join = \"none\"")).expect("write");
    ws.apply().await.expect("apply");

    let p = policy(&emu).await;
    assert_eq!(
        p["azureADJoin"]["allowedToJoin"]["@odata.type"],
        "#microsoft.graph.noDeviceRegistrationMembership"
    );
    assert_eq!(p["userDeviceQuota"], 7);
    assert_eq!(p["multiFactorAuthConfiguration"], "required");
    assert_eq!(p["localAdminPassword"]["isEnabled"], true);
    let puts: Vec<Value> = graph_requests(&emu).await.into_iter().filter(|r| r["method"] == "PUT").collect();
    assert_eq!(puts.len(), 1, "exactly one PUT expected");
    let sent = puts[0]["body"].to_string();
    assert!(!sent.contains("appliesTo"), "deprecated property sent: {sent}");

    let state =
        ws.resource_values("autopilot_device_join_settings.this").await.expect("state").expect("in state");
    assert_eq!(state["user_device_quota"], 7);
    assert_eq!(state["require_mfa_to_join"], true);
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "second plan not empty:\n{}", out.stdout);

    ws.destroy().await.expect("destroy");
    assert_eq!(
        policy(&emu).await["azureADJoin"]["allowedToJoin"]["@odata.type"],
        "#microsoft.graph.noDeviceRegistrationMembership",
        "on_destroy = keep (the default) must leave the tenant as it is"
    );
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_fails_at_plan_on_the_attribute() {
    let emu = emulator(&[]).await;
    let ws = Workspace::new(&emu).expect("workspace");
    let cases = [
        ("  allowed_to_join = \"selected\"", "allowed_to_join", "Selected needs users or groups"),
        (
            "  allowed_to_join = \"selected\"\n  allowed_users = [\"not-a-guid\"]",
            "allowed_users",
            "not-a-guid",
        ),
        ("  allowed_to_join = \"all\"\n  user_device_quota = -1", "user_device_quota", "user_device_quota"),
        ("  allowed_to_join = \"everyone\"", "allowed_to_join", "everyone"),
        (
            "  allowed_to_join = \"all\"\n  allowed_groups = [\"c1000000-0000-4000-8000-0000000000aa\"]",
            "allowed_groups",
            "selected",
        ),
    ];
    for (body, attribute, needle) in cases {
        ws.write("main.tf", &config(body)).expect("write");
        let out = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
        let text = out.combined();
        assert!(!out.success(), "plan of {body:?} succeeded");
        assert!(text.contains(needle), "diagnostic for {body:?} lacks {needle:?}:\n{text}");
        assert!(
            text.lines().any(|l| l.contains(attribute)
                && l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())),
            "diagnostic for {body:?} does not point at {attribute}:\n{text}"
        );
    }
    assert!(graph_requests(&emu).await.is_empty(), "invalid configurations must not reach Graph");
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_time_lookups_name_missing_ids_and_warn_about_device_groups() {
    let emu = emulator(&[]).await;
    let device_group = "c1000000-0000-4000-8000-0000000000dd";
    emu.control_send(
        reqwest::Method::POST,
        "/_emulator/objects/groups",
        Some(json!({"id": device_group, "displayName": "DPP devices", "mailNickname": "dpp-devices",
                    "mailEnabled": false, "securityEnabled": true, "groupTypes": [],
                    "owners": ["a1e5b8f0-1d2c-4c3b-9a4e-000000000001"]})),
    )
    .await
    .expect("seed device group");
    let ws = Workspace::new(&emu).expect("workspace");

    ws.write(
        "main.tf",
        &config(&format!("  allowed_to_join = \"selected\"\n  allowed_groups = [\"{device_group}\"]")),
    )
    .expect("write");
    let out = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
    assert!(out.success(), "a warning must not fail the plan:\n{}", out.combined());
    assert!(out.combined().contains("Group of devices allowed to join"), "no warning:\n{}", out.combined());

    let missing = "b2000000-0000-4000-8000-0000000000ff";
    ws.write(
        "main.tf",
        &config(&format!("  allowed_to_join = \"selected\"\n  allowed_users = [\"{missing}\"]")),
    )
    .expect("write");
    let out = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
    assert!(!out.success(), "a missing user must fail the plan");
    assert!(
        out.combined().contains(missing) && out.combined().contains("No such user"),
        "{}",
        out.combined()
    );
    emu.stop().await;
}
