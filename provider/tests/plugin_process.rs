//! Process-level behaviour of the real binary: what it writes where, how it reacts to
//! Ctrl-C, and `--debug` mode.

// Test helpers may panic: a panic is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The test client speaks go-plugin's Unix-socket transport (and sends Unix signals); on Windows
// the plugin listens on loopback TCP instead (plugin/listener.rs), which these tests do not cover.
#![cfg(unix)]

mod plugin_support;

use tfproto::plugin::grpc_controller_client::GrpcControllerClient;

use plugin_support::{connect, get_metadata, origin, signal, start_debug_plugin, start_plugin};

async fn shutdown(plugin: &plugin_support::Plugin) {
    let h2 = connect(plugin, None).await.unwrap();
    GrpcControllerClient::with_origin(h2, origin()).shutdown(tfproto::plugin::Empty {}).await.unwrap();
}

#[tokio::test]
async fn logs_hclog_json_on_stderr_and_nothing_but_the_handshake_on_stdout() {
    let mut plugin = start_plugin(None, &[("TF_LOG_PROVIDER", "debug")]).await;
    get_metadata(&plugin, None).await.unwrap();
    shutdown(&plugin).await;
    assert!(plugin.wait().await.success());
    assert_eq!(plugin.remaining_stdout().await, "", "stdout carries only the handshake line");

    let stderr = plugin.stderr();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "TF_LOG_PROVIDER=debug produced no log lines");
    for line in &lines {
        assert_eq!(line["@module"], "provider.autopilot");
        assert!(line["@timestamp"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 27), "{line}");
        assert!(["trace", "debug", "info", "warn", "error"].contains(&line["@level"].as_str().unwrap()));
    }
    assert!(lines.iter().any(|l| l["@message"] == "plugin listening" && l["network"] == "unix"));
}

#[tokio::test]
async fn default_log_level_is_quiet() {
    let mut plugin = start_plugin(None, &[]).await;
    get_metadata(&plugin, None).await.unwrap();
    shutdown(&plugin).await;
    assert!(plugin.wait().await.success());
    assert_eq!(plugin.stderr(), "", "debug lines must not appear at the default (warn) level");
}

#[tokio::test]
async fn interrupt_is_ignored_when_run_by_terraform() {
    let mut plugin = start_plugin(None, &[]).await;
    get_metadata(&plugin, None).await.unwrap();
    signal(&plugin, "INT");
    // Still serving: Terraform stops providers through the protocol, not by SIGINT.
    get_metadata(&plugin, None).await.unwrap();
    assert!(plugin.child.try_wait().unwrap().is_none());
    shutdown(&plugin).await;
    assert!(plugin.wait().await.success());
}

#[tokio::test]
async fn debug_mode_prints_reattach_config_and_stops_on_interrupt() {
    let (mut plugin, reattach) = start_debug_plugin().await;
    let entry = &reattach["registry.terraform.io/autopilot/autopilot"];
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Pid"], plugin.child.id().unwrap());
    assert_eq!(entry["Test"], true);

    let metadata = get_metadata(&plugin, None).await.unwrap();
    assert!(metadata.server_capabilities.unwrap().plan_destroy);

    signal(&plugin, "INT");
    assert!(plugin.wait().await.success());
    assert!(!plugin.socket.exists(), "socket file left behind");
}
