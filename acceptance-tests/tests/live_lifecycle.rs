#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test
//! Live-capable lifecycle tests: against the emulator by default, against a real tenant with
//! `AUTOPILOT_LIVE_TENANT=1` and `ARM_TENANT_ID`/`ARM_CLIENT_ID`/`ARM_CLIENT_SECRET` (see
//! README.md, "Live-tenant mode"). They create only objects named with the run's prefix, check
//! results through Graph reads (never the emulator's store), and destroy what they created.

use acceptance_tests::harness::PROVIDER_HEADER;
use acceptance_tests::steps::{Import, Lifecycle};
use acceptance_tests::target::Target;
use reqwest::Method;
use serde_json::json;

/// The Intune Provisioning Client's application id (the same in every tenant).
const PROVISIONING_CLIENT_APP_ID: &str = "f1346770-5b25-470b-88bd-d5744ab7952c";
const ADDR: &str = "autopilot_device_group.devices";

fn device_group(name: &str, description: &str) -> String {
    format!(
        "{PROVIDER_HEADER}\nresource \"autopilot_device_group\" \"devices\" {{\n  display_name = {name:?}\n  description  = {description:?}\n}}\n"
    )
}

/// apply → import block (attributes compared) → description updated in place → description
/// changed out of band through Graph, detected and repaired → destroy; the group answers 404.
#[tokio::test(flavor = "multi_thread")]
async fn device_group_lifecycle() {
    let target = Target::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("target");
    let probe = target.probe().await.expect("graph probe");
    let name = target.name("DPP devices (acceptance)");
    let mut lc = Lifecycle::new(&target);
    lc.track(ADDR, Some("/v1.0/groups/{id}"));

    lc.apply(&device_group(&name, "v1")).await;
    let id = lc.id_of(ADDR).await;
    // The device group is owned by the Intune Provisioning Client: read back through Graph.
    let group =
        probe.get(&format!("/v1.0/groups/{id}?$expand=owners($select=id,appId)")).await.expect("read group");
    assert_eq!(group["displayName"], name.as_str());
    assert!(
        group["owners"].as_array().into_iter().flatten().any(|o| o["appId"] == PROVISIONING_CLIENT_APP_ID),
        "the provisioning client does not own the group: {group}"
    );

    // `owners` left out of the configuration is null in state, and an import of a group with
    // no owners besides the provisioning client reads null too: the import plans nothing.
    lc.import_and_compare(Import::block(ADDR)).await;

    lc.update(&device_group(&name, "v2")).await;
    assert_eq!(
        probe.get(&format!("/v1.0/groups/{id}?$select=description")).await.unwrap()["description"],
        "v2"
    );

    lc.drift(
        async {
            let reply = probe
                .call(
                    Method::PATCH,
                    &format!("/v1.0/groups/{id}"),
                    Some(&json!({"description": "changed in the portal"})),
                )
                .await
                .expect("out-of-band change");
            assert_eq!(reply.status, 204, "{}", reply.body);
        },
        &["description"],
    )
    .await;
    assert_eq!(
        probe.get(&format!("/v1.0/groups/{id}?$select=description")).await.unwrap()["description"],
        "v2"
    );

    lc.destroy().await;
    if target.is_live() {
        // Leave nothing restorable behind either.
        let reply = probe
            .call(Method::DELETE, &format!("/v1.0/directory/deletedItems/{id}"), None)
            .await
            .expect("purge");
        assert!(matches!(reply.status, 204 | 404), "purge of {id}: {} {}", reply.status, reply.body);
    }
    target.stop().await;
}
