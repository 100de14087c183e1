#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test

//! Groups with the real terraform CLI: the device group owned by the Intune Provisioning Client,
//! a user group with owners and members, owner/member swaps, the last-owner rule at plan,
//! out-of-band owner removal detected and repaired, import, destroy.
use acceptance_tests::harness::{Emulator, PROVIDER_HEADER, Workspace};
use acceptance_tests::steps::{Import, Lifecycle};
use acceptance_tests::target::Target;

const U1: &str = "b2000000-0000-4000-8000-000000000001";
const U2: &str = "b2000000-0000-4000-8000-000000000002";
const U3: &str = "b2000000-0000-4000-8000-000000000003";
const SP: &str = "a1e5b8f0-1d2c-4c3b-9a4e-000000000001";

async fn emulator() -> Emulator {
    Emulator::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator starts")
}

/// The lifecycle steps for the device group, a user group and a group member: apply → import
/// (`terraform import`, attributes compared) → owners/members swapped in place → the
/// provisioning client removed as owner out of band, detected and repaired → the last-owner
/// rule at plan → destroy leaves no group behind.
#[tokio::test(flavor = "multi_thread")]
async fn groups_lifecycle() {
    let target =
        Target::emulator_only(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator");
    let emu = target.emulator().expect("emulator mode");
    let cfg = |owners: &str, members: &str| {
        format!(
            r#"{PROVIDER_HEADER}
data "autopilot_service_principal" "pc" {{}}
data "autopilot_user" "megan" {{
  user_principal_name = "MeganB@contoso.onmicrosoft.com"
}}
resource "autopilot_device_group" "devices" {{
  display_name = "Autopilot DPP devices"
  description  = "Devices added by device preparation"
}}
resource "autopilot_group" "users" {{
  display_name = "Autopilot DPP users"
  owners  = [{owners}]
  members = [{members}]
  prevent_duplicate_names = true
}}
resource "autopilot_group_member" "extra" {{
  group_id  = autopilot_device_group.devices.id
  member_id = data.autopilot_user.megan.id
}}
data "autopilot_group" "by_name" {{
  display_name = autopilot_device_group.devices.display_name
}}
output "pc" {{ value = data.autopilot_service_principal.pc.object_id }}
output "nick" {{ value = autopilot_group.users.mail_nickname }}
output "byname" {{ value = data.autopilot_group.by_name.id }}
"#
        )
    };
    let mut lc = Lifecycle::new(&target);
    lc.track("autopilot_device_group.devices", Some("/v1.0/groups/{id}"))
        .track("autopilot_group.users", Some("/v1.0/groups/{id}"));

    lc.apply(&cfg(&format!("\"{U1}\""), &format!("\"{U2}\", \"{U3}\""))).await;
    let dg = lc.values("autopilot_device_group.devices").await;
    assert_eq!(dg["provisioning_client_object_id"], SP);

    // prevent_duplicate_names is a plan-time switch of the provider, not a Graph property: an
    // import starts at its default and the plan sets it (documented in the resource).
    lc.import_and_compare(
        Import::cli("autopilot_group.users")
            .ignoring(&["prevent_duplicate_names"])
            .plan_shows(&["prevent_duplicate_names = false -> true", "1 to change"]),
    )
    .await;

    // Owners: U1 replaced by U2; members: U1 only.
    lc.update(&cfg(&format!("\"{U2}\""), &format!("\"{U1}\""))).await;
    let users_id = lc.id_of("autopilot_group.users").await;
    let stored = emu.objects("groups").await.unwrap();
    let users = stored.iter().find(|g| g["id"] == users_id.as_str()).expect("user group stored");
    assert_eq!(users["owners"], serde_json::json!([U2]));
    assert_eq!(users["members"], serde_json::json!([U1]));

    // Drift: someone removes the provisioning client as owner of the device group.
    let dg_id = lc.id_of("autopilot_device_group.devices").await;
    lc.drift(
        async {
            emu.control_send(
                reqwest::Method::PATCH,
                &format!("/_emulator/objects/groups/{dg_id}"),
                Some(serde_json::json!({"owners": []})),
            )
            .await
            .expect("portal change");
        },
        &["provisioning_client_object_id"],
    )
    .await;

    // The last owner cannot be removed: refused at plan, nothing changes.
    lc.workspace().write("main.tf", &cfg("", &format!("\"{U1}\""))).unwrap();
    let out = lc.workspace().terraform(&["plan", "-input=false"]).await.expect("plan");
    assert!(!out.success());
    assert!(out.combined().contains("last user owner"), "{}", out.combined());
    lc.workspace().write("main.tf", lc.config()).unwrap();

    lc.destroy().await;
    target.stop().await;
}

/// 25 members (two bind chunks) under 20% throttling and 3 s consistency lag: converges, the
/// device group is owned by the provisioning client in its create request, a member removed
/// and a group deleted out of band are both repaired, and destroy leaves no group behind.
#[tokio::test(flavor = "multi_thread")]
async fn many_members_under_faults_with_drift_and_out_of_band_delete() {
    let emu = Emulator::start(
        env!("CARGO_BIN_EXE_graph-emulator").as_ref(),
        &["--consistency-lag-ms", "3000", "--throttle-percent", "20", "--seed", "11"],
    )
    .await
    .expect("emulator starts");
    let users: Vec<String> = (0..25).map(|i| format!("b3000000-0000-4000-8000-{i:012}")).collect();
    for (i, id) in users.iter().enumerate() {
        emu.control_send(
            reqwest::Method::POST,
            "/_emulator/objects/users",
            Some(serde_json::json!({"id": id, "displayName": format!("User {i}"),
                "userPrincipalName": format!("user{i}@contoso.onmicrosoft.com"), "accountEnabled": true})),
        )
        .await
        .expect("seed user");
    }
    let ws = Workspace::new(&emu).expect("workspace");
    let members = users.iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>().join(", ");
    ws.write(
        "main.tf",
        &format!(
            r#"{PROVIDER_HEADER}
resource "autopilot_device_group" "devices" {{
  display_name = "DPP devices"
}}
resource "autopilot_group" "users" {{
  display_name = "DPP users"
  members      = [{members}]
}}
"#
        ),
    )
    .expect("write");
    ws.apply().await.expect("apply under faults");
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "plan after apply not empty:\n{}", out.stdout);

    let log = emu.requests().await.expect("log");
    let create = log
        .iter()
        .find(|r| {
            r["method"] == "POST"
                && r["path"].as_str().is_some_and(|p| p.ends_with("/groups"))
                && r["body"]["displayName"] == "DPP devices"
                && r["status"] == 201
        })
        .expect("device group create request");
    let binds = create["body"]["owners@odata.bind"].to_string();
    assert!(binds.contains(SP), "the provisioning client is not bound in the create request: {binds}");

    let users_group = ws.resource_values("autopilot_group.users").await.unwrap().unwrap();
    let group_id = users_group["id"].as_str().unwrap().to_owned();
    let stored = emu.objects("groups").await.unwrap();
    let group = stored.iter().find(|g| g["id"] == group_id.as_str()).expect("user group stored");
    assert_eq!(group["members"].as_array().map(Vec::len), Some(25));

    // A member removed in the portal: the plan shows it and apply puts it back.
    let mut changed = group.clone();
    changed["members"] = serde_json::json!(users[1..].to_vec());
    emu.control_send(reqwest::Method::PATCH, &format!("/_emulator/objects/groups/{group_id}"), Some(changed))
        .await
        .expect("portal change");
    let (empty, _) = ws.plan_is_empty().await.expect("plan");
    assert!(!empty, "a removed member was not detected");
    ws.apply().await.expect("repair");

    // The device group deleted out of band: the next plan re-creates it.
    let dg = ws.resource_values("autopilot_device_group.devices").await.unwrap().unwrap();
    let dg_id = dg["id"].as_str().unwrap().to_owned();
    emu.control_send(reqwest::Method::DELETE, &format!("/_emulator/objects/groups/{dg_id}"), None)
        .await
        .expect("delete");
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(
        !empty && out.stdout.contains("will be created"),
        "deleted group not planned for re-creation:\n{}",
        out.stdout
    );
    ws.apply().await.expect("re-create");
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "plan after re-create not empty:\n{}", out.stdout);

    ws.destroy().await.expect("destroy");
    let left: Vec<_> = emu
        .objects("groups")
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g["displayName"].as_str().is_some_and(|n| n.starts_with("DPP")))
        .collect();
    assert!(left.is_empty(), "groups left after destroy: {left:?}");
    emu.stop().await;
}

/// Bad input fails at plan on the attribute: a malformed member id, an empty display name, and a
/// duplicate name with `prevent_duplicate_names` (the only case that may ask Graph).
#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_fails_at_plan_on_the_attribute() {
    let emu = emulator().await;
    emu.control_send(
        reqwest::Method::POST,
        "/_emulator/objects/groups",
        Some(serde_json::json!({"id": "c1000000-0000-4000-8000-0000000000ee", "displayName": "Taken name",
            "mailNickname": "taken", "mailEnabled": false, "securityEnabled": true, "groupTypes": []})),
    )
    .await
    .expect("seed group");
    let ws = Workspace::new(&emu).expect("workspace");
    let cases = [
        ("display_name = \"users\"\n  members = [\"not-a-guid\"]", "members", "not-a-guid", false),
        ("display_name = \"\"", "display_name", "display_name", false),
        (
            "display_name = \"Taken name\"\n  prevent_duplicate_names = true",
            "display_name",
            "Taken name",
            true,
        ),
    ];
    for (body, attribute, needle, may_ask_graph) in cases {
        let before = emu.requests().await.expect("log").len();
        ws.write(
            "main.tf",
            &format!("{PROVIDER_HEADER}\nresource \"autopilot_group\" \"g\" {{\n  {body}\n}}\n"),
        )
        .expect("write");
        let out = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
        let text = out.combined();
        assert!(!out.success(), "plan of {body:?} succeeded:\n{text}");
        assert!(text.contains(needle), "diagnostic for {body:?} lacks {needle:?}:\n{text}");
        assert!(
            text.lines().any(|l| l.contains(attribute)
                && l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())),
            "diagnostic for {body:?} does not point at {attribute}:\n{text}"
        );
        let log = emu.requests().await.expect("log");
        let writes = log[before..]
            .iter()
            .filter(|r| r["method"] != "GET" && !r["path"].as_str().unwrap_or_default().contains("/oauth2/"))
            .count();
        assert_eq!(writes, 0, "{body:?} wrote to Graph");
        if !may_ask_graph {
            let graph_calls = log[before..]
                .iter()
                .filter(|r| !r["path"].as_str().unwrap_or_default().contains("/oauth2/"))
                .count();
            assert_eq!(graph_calls, 0, "{body:?} reached Graph");
        }
    }
    emu.stop().await;
}
