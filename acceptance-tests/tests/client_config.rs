#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test

//! The provider end to end through authentication: `autopilot_client_config` read through the
//! emulator's token endpoint, also under throttling and consistency lag, and provider
//! configuration errors reported on the attribute.

use acceptance_tests::harness::{CLIENT_ID, Emulator, PROVIDER_HEADER, Workspace};
use serde_json::json;

const CONFIG: &str = r#"
data "autopilot_client_config" "me" {}

output "tenant" {
  value = data.autopilot_client_config.me.tenant_id
}

output "object_id" {
  value = data.autopilot_client_config.me.object_id
}
"#;

async fn emulator(flags: &[&str]) -> Emulator {
    Emulator::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), flags).await.expect("emulator starts")
}

/// The emulated tenant holds a service principal for the provider's own application.
async fn seed_own_service_principal(emu: &Emulator) -> &'static str {
    let id = "e6000000-0000-4000-8000-0000000000bb";
    emu.control_send(
        reqwest::Method::POST,
        "/_emulator/objects/servicePrincipals",
        Some(json!({"id": id, "appId": CLIENT_ID, "displayName": "terraform", "servicePrincipalType": "Application",
                    "accountEnabled": true})),
    )
    .await
    .expect("seed service principal");
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_the_caller_through_the_token_endpoint() {
    let emu = emulator(&[]).await;
    let sp = seed_own_service_principal(&emu).await;
    let ws = Workspace::new(&emu).expect("workspace");
    ws.write("main.tf", &format!("{PROVIDER_HEADER}{CONFIG}")).expect("write");
    ws.apply().await.expect("apply");
    let out = ws.must(&["output", "-raw", "object_id"]).await.expect("output");
    assert_eq!(out.stdout.trim(), sp);
    let log = emu.requests().await.expect("log");
    assert!(log.iter().any(|r| r["path"].as_str().unwrap_or_default().contains("/oauth2/v2.0/token")));
    let secret_seen = log.iter().any(|r| r.to_string().contains(acceptance_tests::harness::CLIENT_SECRET));
    assert!(!secret_seen, "the client secret appears in the emulator's request log");
    emu.stop().await;
}

/// Graph and the token endpoint reached by host name rather than an IP literal, so the release
/// build's resolver is exercised (hickory reading /etc/hosts in the statically linked Linux
/// build, glibc's getaddrinfo in the others). `localhost` may also resolve to ::1, where the
/// emulator does not listen: the client must move on to 127.0.0.1.
#[tokio::test(flavor = "multi_thread")]
async fn reaches_graph_by_host_name() {
    let emu = emulator(&[]).await;
    let sp = seed_own_service_principal(&emu).await;
    let by_name = emu.url.replacen("127.0.0.1", "localhost", 1);
    assert_ne!(by_name, emu.url, "the emulator's URL names 127.0.0.1: {}", emu.url);
    let mut env = emu.provider_env();
    for (key, value) in &mut env {
        if key == "AUTOPILOT_GRAPH_ENDPOINT" || key == "AUTOPILOT_AUTHORITY_HOST" {
            value.clone_from(&by_name);
        }
    }
    let ws = Workspace::with_env(env).expect("workspace");
    ws.write("main.tf", &format!("{PROVIDER_HEADER}{CONFIG}")).expect("write");
    ws.apply().await.expect("apply through localhost");
    let out = ws.must(&["output", "-raw", "object_id"]).await.expect("output");
    assert_eq!(out.stdout.trim(), sp);
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_throttling_and_consistency_lag() {
    let emu = emulator(&["--throttle-percent", "30", "--consistency-lag-ms", "2000", "--seed", "7"]).await;
    let sp = seed_own_service_principal(&emu).await;
    let ws = Workspace::new(&emu).expect("workspace");
    ws.write("main.tf", &format!("{PROVIDER_HEADER}{CONFIG}")).expect("write");
    // A few refreshes so the 30% throttle is certainly hit.
    for _ in 0..4 {
        ws.apply().await.expect("apply under faults");
    }
    let out = ws.must(&["output", "-raw", "object_id"]).await.expect("output");
    assert_eq!(out.stdout.trim(), sp);
    let log = emu.requests().await.expect("log");
    let throttled = log.iter().filter(|r| r["status"] == 429).count();
    assert!(throttled > 0, "no 429 in the request log: {log:?}");
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_provider_settings_point_at_the_attribute_and_send_nothing() {
    let emu = emulator(&[]).await;
    let ws = Workspace::new(&emu).expect("workspace");
    for (setting, needle) in [
        ("tenant_id = \"not-a-guid\"", "tenant_id"),
        ("graph_endpoint = \"http://127.0.0.1:9\"", "graph_endpoint"),
        ("environment = \"mars\"", "environment"),
    ] {
        let header = PROVIDER_HEADER
            .replace("provider \"autopilot\" {}", &format!("provider \"autopilot\" {{\n  {setting}\n}}"));
        ws.write("main.tf", &format!("{header}{CONFIG}")).expect("write");
        let out = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
        let text = out.combined();
        assert!(!out.success(), "plan with {setting} succeeded");
        assert!(
            text.lines()
                .any(|l| l.contains(needle)
                    && l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())),
            "diagnostic for {setting} does not point at {needle}:\n{text}"
        );
        assert!(!text.contains("panic"), "provider panicked:\n{text}");
    }
    assert!(emu.requests().await.expect("log").is_empty(), "nothing may be sent with a bad configuration");
    emu.stop().await;
}

/// `terraform init` installs the provider from a `filesystem_mirror` (the layout
/// `scripts/release` writes), with no registry and no dev_overrides, and it then works.
#[tokio::test(flavor = "multi_thread")]
async fn installs_from_a_filesystem_mirror() {
    let emu = emulator(&[]).await;
    seed_own_service_principal(&emu).await;
    let mut ws = Workspace::new(&emu).expect("workspace");
    let binary =
        acceptance_tests::harness::provider_dir().expect("provider").join("terraform-provider-autopilot");
    let version = env!("CARGO_PKG_VERSION");
    let mirror = ws.path().join("mirror");
    let dir = mirror.join(format!("registry.terraform.io/autopilot/autopilot/{version}/linux_amd64"));
    std::fs::create_dir_all(&dir).expect("mirror dir");
    std::fs::copy(&binary, dir.join(format!("terraform-provider-autopilot_v{version}")))
        .expect("copy provider");
    let rc = ws.path().join("mirror.tfrc");
    std::fs::write(
        &rc,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"autopilot/autopilot\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )
    .expect("cli config");
    ws.set_env("TF_CLI_CONFIG_FILE", &rc.display().to_string());
    ws.write("main.tf", &format!("{PROVIDER_HEADER}{CONFIG}")).expect("write");
    let init = ws.must(&["init", "-input=false"]).await.expect("init from the mirror");
    assert!(
        init.stdout.contains("Installed autopilot/autopilot"),
        "init did not install it:\n{}",
        init.stdout
    );
    ws.apply().await.expect("apply with the installed provider");
    emu.stop().await;
}
