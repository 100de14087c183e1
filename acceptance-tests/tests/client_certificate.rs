#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test

//! Client-certificate authentication end to end: the real CLI configures the provider with the
//! PKCS#12 files users export (a legacy RC2/3DES one by path, an OpenSSL 3 AES-256 one as base64
//! in `ARM_CLIENT_CERTIFICATE`, as for azuread), the provider signs a client assertion and the
//! emulator's token endpoint verifies its signature against the registered certificate; an
//! unregistered certificate is refused with Entra's code, and a wrong password fails at
//! configure, on the password attribute, without any request.

use acceptance_tests::harness::{CLIENT_ID, Emulator, PROVIDER_HEADER, Workspace};
use base64::Engine as _;
use serde_json::json;

const CONFIG: &str = r#"
data "autopilot_client_config" "me" {}

output "object_id" {
  value = data.autopilot_client_config.me.object_id
}
"#;

/// The provider's committed test vectors (see their `generate.sh`); password `correct-horse`.
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../provider/src/graph/certificate/testdata")
        .join(name)
}

fn token_requests(log: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    log.iter().filter(|r| r["path"].as_str().unwrap_or_default().ends_with("/oauth2/v2.0/token")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pkcs12_certificates_authenticate_and_a_wrong_password_is_caught_at_configure() {
    // The fixtures' certificate is registered on the app, so the emulator verifies signatures.
    let registered = fixture("cert.pem").display().to_string();
    let emu = Emulator::start(
        env!("CARGO_BIN_EXE_graph-emulator").as_ref(),
        &["--client-certificate", &registered],
    )
    .await
    .expect("emulator starts");
    let sp = "e6000000-0000-4000-8000-0000000000bc";
    emu.control_send(
        reqwest::Method::POST,
        "/_emulator/objects/servicePrincipals",
        Some(json!({"id": sp, "appId": CLIENT_ID, "displayName": "terraform", "servicePrincipalType": "Application",
                    "accountEnabled": true})),
    )
    .await
    .expect("seed service principal");
    let mut ws = Workspace::new(&emu).expect("workspace");
    ws.write("main.tf", &format!("{PROVIDER_HEADER}{CONFIG}")).expect("write");
    // No client secret: the certificate is the only credential (an empty variable counts as unset).
    ws.set_env("ARM_CLIENT_SECRET", "");
    ws.set_env("ARM_CLIENT_CERTIFICATE_PASSWORD", "correct-horse");

    // 1. A legacy export (RC2-40 certificates, 3DES key, SHA-1 MAC) by path.
    ws.set_env("ARM_CLIENT_CERTIFICATE_PATH", &fixture("legacy_rc2.p12").display().to_string());
    ws.apply().await.expect("apply with a legacy .pfx");
    assert_eq!(ws.must(&["output", "-raw", "object_id"]).await.expect("output").stdout.trim(), sp);

    // 2. The OpenSSL 3 default (PBES2, AES-256) as base64 in ARM_CLIENT_CERTIFICATE.
    ws.set_env("ARM_CLIENT_CERTIFICATE_PATH", "");
    let pfx = std::fs::read(fixture("aes256.p12")).expect("fixture");
    ws.set_env("ARM_CLIENT_CERTIFICATE", &base64::engine::general_purpose::STANDARD.encode(pfx));
    ws.apply().await.expect("apply with a base64 .pfx");

    let log = emu.requests().await.expect("log");
    let tokens = token_requests(&log);
    assert!(tokens.len() >= 2, "expected a token request per run: {log:?}");
    for t in &tokens {
        assert_eq!(t["status"], 200, "{t}");
        assert_eq!(
            t["body"]["client_assertion_type"],
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert!(t["body"].get("client_secret").is_none(), "a client secret was sent: {t}");
    }

    // 3. A valid .pfx whose certificate is not registered on the app (Java keytool made its own
    //    key): the file opens, Entra's AADSTS700027 comes back and is shown.
    ws.set_env("ARM_CLIENT_CERTIFICATE", "");
    ws.set_env("ARM_CLIENT_CERTIFICATE_PATH", &fixture("java_keytool.p12").display().to_string());
    let out = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
    assert!(!out.success(), "an unregistered certificate was accepted");
    assert!(out.combined().contains("AADSTS700027"), "{}", out.combined());

    // 4. A wrong password: the plan fails on client_certificate_password and sends nothing.
    let before = emu.requests().await.expect("log").len();
    ws.set_env("ARM_CLIENT_CERTIFICATE_PASSWORD", "not-the-horse");
    let out = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
    let text = out.combined();
    assert!(!out.success(), "plan with a wrong password succeeded");
    assert!(text.contains("Wrong client certificate password"), "{text}");
    assert!(text.contains("client_certificate_password"), "{text}");
    assert!(!text.contains("not-the-horse"), "the password appears in the output:\n{text}");
    assert_eq!(emu.requests().await.expect("log").len(), before, "requests were sent with a wrong password");
    emu.stop().await;
}
