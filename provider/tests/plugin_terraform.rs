//! The real Terraform CLI starts the provider binary (always with AutoMTLS, with its own
//! P-521 client certificate) and reads the schema: proof that the handshake, TLS and
//! schema conversion work with Terraform itself.

// Test helpers may panic: a panic is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(120);

/// Run `terraform` with `args` in `dir`, killing it if it outlives [`TIMEOUT`].
fn terraform(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("terraform must be on PATH for this test");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("terraform {args:?} did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn terraform_reads_the_provider_schema() {
    let binary = Path::new(env!("CARGO_BIN_EXE_terraform-provider-autopilot"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cli.tfrc"),
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"autopilot/autopilot\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            binary.parent().unwrap()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "terraform {\n  required_providers {\n    autopilot = { source = \"autopilot/autopilot\" }\n  }\n}\n",
    )
    .unwrap();

    let output = terraform(dir.path(), &["providers", "schema", "-json"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "terraform failed: {stderr}");
    let schemas: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let provider = &schemas["provider_schemas"]["registry.terraform.io/autopilot/autopilot"]["provider"];
    let tenant_id = &provider["block"]["attributes"]["tenant_id"];
    assert_eq!(tenant_id["type"], "string", "schema: {provider}");
    assert_eq!(tenant_id["description_kind"], "markdown");
    assert!(
        tenant_id["description"].as_str().unwrap_or_default().contains("ARM_TENANT_ID"),
        "description: {}",
        tenant_id["description"]
    );
    assert_eq!(provider["block"]["attributes"]["client_secret"]["sensitive"], true);
}
