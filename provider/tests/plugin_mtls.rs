//! Starts the real provider binary as Terraform does (go-plugin environment, AutoMTLS)
//! and talks gRPC to it over its Unix socket: the pinned client certificate gets in,
//! no certificate or another certificate does not.

// Test helpers may panic: a panic is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The test client speaks go-plugin's Unix-socket transport (and sends Unix signals); on Windows
// the plugin listens on loopback TCP instead (plugin/listener.rs), which these tests do not cover.
#![cfg(unix)]

mod plugin_support;

use std::process::Stdio;

use tfproto::plugin::grpc_controller_client::GrpcControllerClient;
use tfproto::tfplugin6::get_provider_schema;
use tfproto::tfplugin6::provider_client::ProviderClient;

use plugin_support::{STEP, client_identity, connect, get_metadata, origin, start_plugin};

#[tokio::test]
async fn pinned_client_certificate_is_served_and_shutdown_stops_the_process() {
    let identity = client_identity();
    let mut plugin = start_plugin(Some(&identity.pem), &[]).await;

    let metadata = get_metadata(&plugin, Some(&identity)).await.unwrap();
    let capabilities = metadata.server_capabilities.unwrap();
    assert!(capabilities.plan_destroy);
    assert!(!capabilities.move_resource_state);

    let h2 = connect(&plugin, Some(&identity)).await.unwrap();
    let schema = ProviderClient::with_origin(h2.clone(), origin())
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let provider_block = schema.provider.unwrap().block.unwrap();
    assert!(provider_block.attributes.iter().any(|a| a.name == "tenant_id" && !a.description.is_empty()));

    GrpcControllerClient::with_origin(h2, origin()).shutdown(tfproto::plugin::Empty {}).await.unwrap();
    let status = plugin.wait().await;
    assert!(status.success(), "plugin exited with {status}");
    assert!(!plugin.socket.exists(), "socket file left behind");
}

#[tokio::test]
async fn connection_without_client_certificate_is_refused() {
    let identity = client_identity();
    let plugin = start_plugin(Some(&identity.pem), &[]).await;
    let result = get_metadata(&plugin, None).await;
    assert!(result.is_err(), "a client without certificate was served: {result:?}");
    // The plugin still serves the right client afterwards.
    get_metadata(&plugin, Some(&identity)).await.unwrap();
}

#[tokio::test]
async fn connection_with_another_certificate_is_refused() {
    let expected = client_identity();
    let intruder = client_identity();
    let plugin = start_plugin(Some(&expected.pem), &[]).await;
    let result = get_metadata(&plugin, Some(&intruder)).await;
    assert!(result.is_err(), "a client with another certificate was served: {result:?}");
}

#[tokio::test]
async fn refuses_to_run_without_the_magic_cookie() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_terraform-provider-autopilot"))
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(STEP, output).await.unwrap().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing may be written to stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not meant to be run directly"), "stderr: {stderr}");
}
