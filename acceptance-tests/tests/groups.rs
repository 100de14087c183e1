#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test

//! Groups with the real terraform CLI: the device group owned by the Intune Provisioning Client,
//! a user group with owners and members, owner/member swaps, the last-owner rule at plan,
//! out-of-band owner removal detected and repaired, import, destroy.
use acceptance_tests::harness::{Emulator, PROVIDER_HEADER, Workspace};

const U1: &str = "b2000000-0000-4000-8000-000000000001";
const U2: &str = "b2000000-0000-4000-8000-000000000002";
const U3: &str = "b2000000-0000-4000-8000-000000000003";
const SP: &str = "a1e5b8f0-1d2c-4c3b-9a4e-000000000001";

async fn emulator() -> Emulator {
    Emulator::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator starts")
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_lifecycle() {
    let emu = emulator().await;
    let ws = Workspace::new(&emu).expect("workspace");
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
    ws.write("main.tf", &cfg(&format!("\"{U1}\""), &format!("\"{U2}\", \"{U3}\""))).unwrap();
    let out = ws.apply().await.expect("apply");
    println!("{}", out.combined());
    assert!(out.success());
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "second plan not empty:\n{}", out.combined());
    let dg = ws.resource_values("autopilot_device_group.devices").await.unwrap().unwrap();
    assert_eq!(dg["provisioning_client_object_id"], SP);
    // drift: someone removes the provisioning client as owner
    let dg_id = dg["id"].as_str().unwrap().to_owned();
    emu.control_send(
        reqwest::Method::PATCH,
        &format!("/_emulator/objects/groups/{dg_id}"),
        Some(serde_json::json!({"owners": []})),
    )
    .await
    .expect("portal change");
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    println!("DRIFT PLAN\n{}", out.combined());
    assert!(!empty);
    assert!(out.combined().contains("provisioning_client_object_id"));
    let out = ws.apply().await.expect("apply");
    assert!(out.success(), "{}", out.combined());
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "plan after repair not empty:\n{}", out.combined());
    // import round trip
    let users = ws.resource_values("autopilot_group.users").await.unwrap().unwrap();
    let users_id = users["id"].as_str().unwrap().to_owned();
    ws.must(&["state", "rm", "autopilot_group.users"]).await.expect("state rm");
    let out =
        ws.terraform(&["import", "-no-color", "autopilot_group.users", &users_id]).await.expect("import");
    assert!(out.success(), "{}", out.combined());
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    println!("AFTER IMPORT\n{}", out.combined());
    assert!(
        !empty
            && out.combined().contains("prevent_duplicate_names = false -> true")
            && out.combined().contains("1 to change")
    );
    let out = ws.apply().await.expect("apply");
    assert!(out.success(), "{}", out.combined());
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "AFTER IMPORT APPLY\n{}", out.combined());
    // change owners: replace U1 by U2, members to U1 only
    ws.write("main.tf", &cfg(&format!("\"{U2}\""), &format!("\"{U1}\""))).unwrap();
    let out = ws.apply().await.expect("apply");
    println!("{}", out.combined());
    assert!(out.success());
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "third plan not empty:\n{}", out.combined());
    // last owner removal must fail at plan
    ws.write("main.tf", &cfg("", &format!("\"{U1}\""))).unwrap();
    let out = ws.terraform(&["plan", "-no-color"]).await.expect("plan");
    println!("{}", out.combined());
    assert!(!out.success());
    assert!(out.combined().contains("last user owner"));
    ws.write("main.tf", &cfg(&format!("\"{U2}\""), &format!("\"{U1}\""))).unwrap();
    let out = ws.destroy().await.expect("destroy");
    println!("{}", out.combined());
    assert!(out.success());
}
