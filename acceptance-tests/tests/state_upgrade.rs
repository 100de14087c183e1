#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test

//! `UpgradeResourceState` with the real CLI. No resource has needed a schema version bump yet
//! (all are at version 0), so this pins down what every later version relies on: state written
//! by this version is read back unchanged, and state written by an older provider that still
//! holds an attribute since removed is accepted and the attribute dropped.

use acceptance_tests::harness::{Emulator, PROVIDER_HEADER, Workspace};

const CONFIG: &str = r#"
resource "autopilot_group" "g" {
  display_name = "State upgrade test"
}
"#;

fn instance(state: &serde_json::Value) -> &serde_json::Value {
    let r = state["resources"].as_array().unwrap().iter().find(|r| r["type"] == "autopilot_group").unwrap();
    &r["instances"][0]
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_state_is_upgraded_unchanged_and_removed_attributes_are_dropped() {
    let emu =
        Emulator::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator starts");
    let ws = Workspace::new(&emu).expect("workspace");
    ws.write("main.tf", &format!("{PROVIDER_HEADER}{CONFIG}")).expect("write");
    ws.apply().await.expect("apply");
    let path = ws.path().join("terraform.tfstate");
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(instance(&written)["schema_version"], 0);
    let attributes = instance(&written)["attributes"].clone();

    // A raw state file as an older provider version would have left it: same schema version,
    // one attribute the schema no longer has.
    let mut older = written.clone();
    older["serial"] = (written["serial"].as_i64().unwrap() + 1).into();
    older["resources"][0]["instances"][0]["attributes"]["attribute_removed_since"] = "legacy".into();
    assert_eq!(older["resources"][0]["type"], "autopilot_group");
    std::fs::write(&path, serde_json::to_vec_pretty(&older).unwrap()).unwrap();

    // Planning upgrades every stored instance first; without a refresh nothing else can hide a
    // difference, so an empty plan means the upgrade returned the state as it was.
    let out =
        ws.terraform(&["plan", "-refresh=false", "-detailed-exitcode", "-input=false"]).await.expect("plan");
    assert_eq!(out.code, 0, "plan after upgrade is not empty or failed:\n{}", out.combined());

    // A refresh-only apply writes the upgraded state: the stale attribute is gone, the rest equal.
    ws.must(&["apply", "-refresh-only", "-auto-approve", "-input=false"]).await.expect("refresh-only");
    let rewritten: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(instance(&rewritten)["schema_version"], 0);
    assert_eq!(instance(&rewritten)["attributes"], attributes);

    // State from a newer provider (a higher schema version) is refused, not misread.
    let mut newer = rewritten.clone();
    newer["serial"] = (rewritten["serial"].as_i64().unwrap() + 1).into();
    newer["resources"][0]["instances"][0]["schema_version"] = 1.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&newer).unwrap()).unwrap();
    let out = ws.terraform(&["plan", "-refresh=false", "-input=false"]).await.expect("plan");
    assert!(!out.success(), "state of a newer schema version was accepted:\n{}", out.combined());
    assert!(out.combined().contains("newer provider version"), "{}", out.combined());
    emu.stop().await;
}
