#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test

//! Security and conformance of the whole workflow against the emulator:
//!
//! * secret scan — the workflow (examples/user-driven-entra-join plus the resources the module
//!   does not use) runs with `TF_LOG=trace` and `TF_LOG_PROVIDER=trace`; the saved plan, its
//!   `terraform show -json`, the state file, `show -json` of the state and every command's
//!   stdout/stderr must not contain the client secret or any bearer token the emulator issued.
//!   The client-certificate path (PEM, with a certificate password configured) and the OIDC
//!   path run a compact configuration and are scanned for the password, the private key, the
//!   OIDC token, the signed client assertions and the issued tokens;
//! * conformance — the emulator checks every request body against the Graph metadata; the
//!   workflow's apply, plan and destroy must produce zero violations;
//! * `$filter` literals — a display name with `'` and `%` finds exactly its group and cannot
//!   widen the query.

use std::path::{Path, PathBuf};

use acceptance_tests::harness::{CLIENT_ID, Emulator, PROVIDER_HEADER, TENANT_ID, TfOutput, Workspace};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

/// Unique enough never to appear by chance in any output.
const CLIENT_SECRET: &str = "scan-secret-7f3c2e19a4b84d0c9e5f6a7b8c9d0e1f";
const CERT_PASSWORD: &str = "scan-cert-password-5b1d8e2a9c7f4e3b";

fn emulator_binary() -> &'static Path {
    env!("CARGO_BIN_EXE_graph-emulator").as_ref()
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Everything one scanned run produced, labelled by where it came from.
#[derive(Default)]
struct Outputs(Vec<(String, String)>);

impl Outputs {
    fn add(&mut self, label: &str, out: &TfOutput) {
        self.0.push((format!("{label} stdout"), out.stdout.clone()));
        self.0.push((format!("{label} stderr"), out.stderr.clone()));
    }

    fn add_text(&mut self, label: &str, text: String) {
        self.0.push((label.to_owned(), text));
    }

    /// Where each secret appears (empty = clean).
    fn leaks(&self, secrets: &[(String, String)]) -> Vec<String> {
        let mut found = Vec::new();
        for (what, secret) in secrets {
            assert!(secret.len() >= 16, "{what} is too short to scan for reliably");
            for (label, text) in &self.0 {
                if text.contains(secret.as_str()) {
                    found.push(format!("{what} appears in {label}"));
                }
            }
        }
        found
    }

    fn total_len(&self) -> usize {
        self.0.iter().map(|(_, t)| t.len()).sum()
    }
}

async fn must(ws: &Workspace, outputs: &mut Outputs, label: &str, args: &[&str]) -> TfOutput {
    let out = ws.terraform(args).await.expect("terraform runs");
    outputs.add(label, &out);
    assert!(out.success(), "terraform {label} failed:\n{}", out.combined());
    out
}

/// plan -out, show -json of the plan, apply of the plan, state file, show -json, a second
/// plan (must be empty), destroy: every output collected.
async fn scanned_lifecycle(ws: &Workspace, outputs: &mut Outputs) {
    must(ws, outputs, "plan -out", &["plan", "-input=false", "-out=tfplan"]).await;
    let shown = must(ws, outputs, "show -json tfplan", &["show", "-json", "tfplan"]).await;
    assert!(shown.stdout.contains("resource_changes"), "plan JSON looks wrong: {}", shown.stdout);
    outputs.add_text(
        "tfplan (binary)",
        String::from_utf8_lossy(&std::fs::read(ws.path().join("tfplan")).unwrap()).into_owned(),
    );
    must(ws, outputs, "apply tfplan", &["apply", "-input=false", "tfplan"]).await;
    outputs
        .add_text("terraform.tfstate", std::fs::read_to_string(ws.path().join("terraform.tfstate")).unwrap());
    must(ws, outputs, "show -json", &["show", "-json"]).await;
    let second = must(ws, outputs, "plan (second)", &["plan", "-detailed-exitcode", "-input=false"]).await;
    assert_eq!(second.code, 0, "second plan not empty:\n{}", second.stdout);
    must(ws, outputs, "destroy", &["destroy", "-auto-approve", "-input=false"]).await;
    outputs.add_text(
        "terraform.tfstate (after destroy)",
        std::fs::read_to_string(ws.path().join("terraform.tfstate")).unwrap_or_default(),
    );
}

async fn issued(emu: &Emulator) -> (Vec<String>, Vec<String>) {
    let tokens = emu.control_get("/_emulator/tokens").await.expect("tokens");
    let list = |k: &str| -> Vec<String> {
        tokens[k].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect()
    };
    (list("access_tokens"), list("client_assertions"))
}

async fn violations(emu: &Emulator) -> Vec<Value> {
    emu.control_get("/_emulator/violations")
        .await
        .expect("violations")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn traced(emu: &Emulator) -> Workspace {
    let mut ws = Workspace::new(emu).expect("workspace");
    ws.set_env("TF_LOG", "trace");
    ws.set_env("TF_LOG_PROVIDER", "trace");
    ws
}

/// The resources the device-preparation module does not create, so the scan covers them too
/// (`autopilot_corporate_identifier` runs in the compact configuration: the module's
/// authoritative `autopilot_corporate_identifiers` would delete it).
const EXTRA_RESOURCES: &str = r#"
data "autopilot_client_config" "current" {}

data "autopilot_user" "adele" {
  user_principal_name = "AdeleV@contoso.onmicrosoft.com"
}

resource "autopilot_group" "extra" {
  display_name = "Security scan extra"
}

resource "autopilot_group_member" "adele" {
  group_id  = autopilot_group.extra.id
  member_id = data.autopilot_user.adele.id
}

resource "autopilot_powershell_script" "extra" {
  display_name   = "Security scan script"
  file_name      = "scan.ps1"
  script_content = "Write-Output 'scan'"
}

resource "autopilot_script_assignment" "extra" {
  script_id = autopilot_powershell_script.extra.id
  target = {
    type     = "group"
    group_id = autopilot_group.extra.id
  }
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn workflow_with_trace_logs_leaks_no_secret_and_sends_only_conforming_bodies() {
    let emu =
        Emulator::start(emulator_binary(), &["--client-secret", CLIENT_SECRET]).await.expect("emulator");
    let mut ws = traced(&emu);
    ws.set_env("ARM_CLIENT_SECRET", CLIENT_SECRET);
    let example = examples().join("user-driven-entra-join");
    for file in ["main.tf", "devices.csv"] {
        let text = std::fs::read_to_string(example.join(file)).unwrap();
        ws.write(file, &text.replace("../modules/", "./modules/")).unwrap();
    }
    std::os::unix::fs::symlink(examples().join("modules"), ws.path().join("modules")).unwrap();
    ws.write("extra.tf", EXTRA_RESOURCES).unwrap();

    let mut outputs = Outputs::default();
    must(&ws, &mut outputs, "get", &["get"]).await;
    scanned_lifecycle(&ws, &mut outputs).await;

    let (tokens, _) = issued(&emu).await;
    assert!(!tokens.is_empty(), "the emulator issued no token: the scan would prove nothing");
    // The trace logs are really there (provider and core), so the scan covers them.
    let stderr: String =
        outputs.0.iter().filter(|(l, _)| l.ends_with("stderr")).map(|(_, t)| t.as_str()).collect();
    assert!(stderr.contains("[TRACE]"), "no trace logs captured");
    assert!(stderr.contains("terraform-provider-autopilot"), "no provider logs captured");
    // Positive control: the scanner does find a value that is in the outputs (the extra
    // group's display name, in the plan, the state and the logs).
    let canary = [("canary".to_owned(), "Security scan extra".to_owned())];
    assert!(outputs.leaks(&canary).len() >= 4, "the scanner does not see the outputs");
    let mut secrets = vec![("the client secret".to_owned(), CLIENT_SECRET.to_owned())];
    secrets.extend(tokens.iter().map(|t| ("an issued access token".to_owned(), t.clone())));
    let leaks = outputs.leaks(&secrets);
    assert!(
        leaks.is_empty(),
        "secrets leaked ({} bytes scanned):\n{}",
        outputs.total_len(),
        leaks.join("\n")
    );

    let found = violations(&emu).await;
    assert!(found.is_empty(), "request bodies that do not conform to the Graph metadata:\n{found:#?}");
    emu.stop().await;
}

/// A compact configuration touching directory and Intune calls.
const COMPACT: &str = r#"
data "autopilot_client_config" "current" {}

resource "autopilot_group" "scan" {
  display_name = "Security scan auth"
}

resource "autopilot_corporate_identifier" "one" {
  manufacturer  = "Contoso"
  model         = "Surface Laptop 7"
  serial_number = "SECSCAN0002"
}
"#;

/// A JWT the emulator accepts as a federated (OIDC) assertion: iss = sub = client id, aud =
/// the token endpoint. Its signature part is unique so it can be scanned for.
fn oidc_token(emu: &Emulator) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let claims = json!({"iss": CLIENT_ID, "sub": CLIENT_ID,
        "aud": format!("{}/{TENANT_ID}/oauth2/v2.0/token", emu.url), "exp": exp, "jti": "security-scan"});
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.c2Nhbi1vaWRjLXNpZ25hdHVyZS0zYzlkN2U0ZjFhMmI")
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_and_oidc_authentication_leak_nothing() {
    let emu = Emulator::start(emulator_binary(), &[]).await.expect("emulator");
    // The provider signs assertions with RSA keys (what Entra accepts); ring cannot generate
    // one, so reuse the provider's RSA test key.
    let key = rcgen::KeyPair::from_pem(include_str!("../../provider/src/graph/testdata/rsa_test_key.pem"))
        .expect("RSA test key");
    let cert = rcgen::CertificateParams::new(vec!["scan.example".into()]).unwrap().self_signed(&key).unwrap();
    let key_pem = key.serialize_pem();
    // A line from the middle of the key: any fragment of it leaking counts.
    let key_line = key_pem.lines().nth(3).unwrap().to_owned();
    let oidc = oidc_token(&emu);

    let mut secrets = vec![
        ("the certificate password".to_owned(), CERT_PASSWORD.to_owned()),
        ("a private key line".to_owned(), key_line),
        ("the OIDC token".to_owned(), oidc.clone()),
    ];
    let mut outputs = Outputs::default();
    for method in ["certificate", "oidc"] {
        let mut ws = traced(&emu);
        ws.set_env("ARM_CLIENT_SECRET", "");
        match method {
            "certificate" => {
                let bundle = ws.path().join("app.pem");
                std::fs::write(&bundle, format!("{}{}", cert.pem(), key_pem)).unwrap();
                ws.set_env("ARM_CLIENT_CERTIFICATE_PATH", &bundle.display().to_string());
                ws.set_env("ARM_CLIENT_CERTIFICATE_PASSWORD", CERT_PASSWORD);
            }
            _ => {
                ws.set_env("ARM_USE_OIDC", "true");
                ws.set_env("ARM_OIDC_TOKEN", &oidc);
            }
        }
        ws.write("main.tf", &format!("{PROVIDER_HEADER}{COMPACT}\noutput \"method\" {{\n  value = data.autopilot_client_config.current.authentication_method\n}}\n")).unwrap();
        let before = issued(&emu).await.1.len();
        scanned_lifecycle(&ws, &mut outputs).await;
        let assertions = issued(&emu).await.1;
        assert!(assertions.len() > before, "{method}: no client assertion reached the token endpoint");
    }
    let (tokens, assertions) = issued(&emu).await;
    assert!(assertions.contains(&oidc), "the OIDC token was not what the provider presented");
    secrets.extend(tokens.into_iter().map(|t| ("an issued access token".to_owned(), t)));
    secrets.extend(
        assertions.into_iter().filter(|a| *a != oidc).map(|a| ("a signed client assertion".to_owned(), a)),
    );
    let leaks = outputs.leaks(&secrets);
    assert!(
        leaks.is_empty(),
        "secrets leaked ({} bytes scanned):\n{}",
        outputs.total_len(),
        leaks.join("\n")
    );
    assert!(violations(&emu).await.is_empty());
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn display_names_with_quotes_and_percent_find_exactly_their_group() {
    let emu = Emulator::start(emulator_binary(), &[]).await.expect("emulator");
    // If the literal were not escaped, the target's name would close the string and OR in the
    // decoy; if `%` were not percent-encoded, `%27` would arrive as a quote.
    let target = "Ops' or displayName eq 'Decoy %27 100%";
    let decoys = ["Ops", "Decoy %27 100%", "Decoy ' 100%", "Ops' or displayName eq 'Decoy"];
    let mut ids = Vec::new();
    for name in std::iter::once(&target).chain(decoys.iter()) {
        let created = emu
            .control_send(
                Method::POST,
                "/_emulator/objects/groups",
                Some(json!({"displayName": name, "mailEnabled": false, "mailNickname": "n",
                            "securityEnabled": true, "groupTypes": [], "owners": [], "members": []})),
            )
            .await
            .expect("fixture group");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let ws = Workspace::new(&emu).expect("workspace");
    ws.write(
        "main.tf",
        &format!(
            "{PROVIDER_HEADER}\ndata \"autopilot_group\" \"target\" {{\n  display_name = \"{}\"\n}}\n\n\
             # A new group whose name contains the decoys' names: the duplicate check must not\n\
             # see them.\n\
             resource \"autopilot_group\" \"fresh\" {{\n  display_name            = \"{}\"\n  prevent_duplicate_names = true\n}}\n\n\
             output \"id\" {{\n  value = data.autopilot_group.target.id\n}}\n",
            target, "Ops' or startswith(displayName,'Decoy') or displayName eq 'x %25",
        ),
    )
    .unwrap();
    ws.apply().await.expect("apply");
    let state = ws.state().await.expect("state");
    assert_eq!(state["values"]["outputs"]["id"]["value"], ids[0], "the lookup found another group");
    // Graph saw the names as single literals: every $filter on displayName arrived escaped.
    let filters: Vec<String> = emu
        .requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| r["path"].as_str())
        .filter(|p| p.contains("$filter=displayName"))
        .map(str::to_owned)
        .collect();
    assert!(filters.len() >= 2, "expected the data source and the duplicate check to filter: {filters:?}");
    for f in &filters {
        assert!(!f.contains('\''), "unencoded quote in {f}");
    }
    ws.destroy().await.expect("destroy");
    emu.stop().await;
}

const DEVICE_GROUP: &str = "e7000000-0000-4000-8000-000000000001";
const USER_GROUP: &str = "e7000000-0000-4000-8000-000000000002";

/// One resource type applied without its write permission.
struct PermissionCase {
    resource: &'static str,
    /// Roles taken away from the default grant (the permission and its broader alternatives).
    remove: &'static [&'static str],
    /// Read roles added so plan-time lookups still work and the write is what fails.
    add: &'static [&'static str],
    /// The permission the diagnostic must name.
    expect: &'static str,
    config: &'static str,
}

fn permission_cases() -> Vec<PermissionCase> {
    vec![
        PermissionCase {
            resource: "autopilot_device_join_settings",
            remove: &["Policy.ReadWrite.DeviceConfiguration"],
            add: &[],
            expect: "Policy.ReadWrite.DeviceConfiguration",
            config: r#"resource "autopilot_device_join_settings" "this" {
  allowed_to_join = "selected"
  allowed_groups  = ["e7000000-0000-4000-8000-000000000002"]
}"#,
        },
        PermissionCase {
            resource: "autopilot_group",
            remove: &["Group.Create", "Group.ReadWrite.All"],
            add: &["Group.Read.All"],
            expect: "Group.ReadWrite.All",
            config: r#"resource "autopilot_group" "g" {
  display_name = "Permission test"
}"#,
        },
        PermissionCase {
            resource: "autopilot_device_group",
            remove: &["Group.Create", "Group.ReadWrite.All"],
            add: &["Group.Read.All"],
            expect: "Group.ReadWrite.All",
            config: r#"resource "autopilot_device_group" "d" {
  display_name = "Permission test devices"
}"#,
        },
        PermissionCase {
            resource: "autopilot_group_member",
            remove: &["GroupMember.ReadWrite.All", "Group.ReadWrite.All"],
            add: &["Group.Read.All"],
            expect: "GroupMember.ReadWrite.All",
            config: r#"resource "autopilot_group_member" "m" {
  group_id  = "e7000000-0000-4000-8000-000000000002"
  member_id = "b2000000-0000-4000-8000-000000000004"
}"#,
        },
        PermissionCase {
            resource: "autopilot_device_preparation_policy",
            remove: &["DeviceManagementConfiguration.ReadWrite.All"],
            add: &[],
            expect: "DeviceManagementConfiguration.ReadWrite.All",
            config: r#"resource "autopilot_device_preparation_policy" "p" {
  name               = "Permission test"
  deployment_mode    = "user_driven"
  device_group_id    = "e7000000-0000-4000-8000-000000000001"
  assigned_group_ids = ["e7000000-0000-4000-8000-000000000002"]
}"#,
        },
        PermissionCase {
            resource: "autopilot_corporate_identifier",
            remove: &["DeviceManagementServiceConfig.ReadWrite.All"],
            add: &["DeviceManagementServiceConfig.Read.All"],
            expect: "DeviceManagementServiceConfig.ReadWrite.All",
            config: r#"resource "autopilot_corporate_identifier" "c" {
  manufacturer  = "Contoso"
  model         = "Surface Laptop 7"
  serial_number = "PERM0001"
}"#,
        },
        PermissionCase {
            resource: "autopilot_corporate_identifiers",
            remove: &["DeviceManagementServiceConfig.ReadWrite.All"],
            add: &["DeviceManagementServiceConfig.Read.All"],
            expect: "DeviceManagementServiceConfig.ReadWrite.All",
            config: r#"resource "autopilot_corporate_identifiers" "c" {
  devices = [{ manufacturer = "Contoso", model = "Surface Laptop 7", serial_number = "PERM0002", description = null }]
}"#,
        },
        PermissionCase {
            resource: "autopilot_app_assignment",
            remove: &["DeviceManagementApps.ReadWrite.All"],
            add: &[],
            expect: "DeviceManagementApps.ReadWrite.All",
            config: r#"resource "autopilot_app_assignment" "a" {
  app_id = "c3000000-0000-4000-8000-000000000001"
  intent = "required"
  target = {
    type     = "group"
    group_id = "e7000000-0000-4000-8000-000000000001"
  }
}"#,
        },
        PermissionCase {
            resource: "autopilot_powershell_script",
            remove: &["DeviceManagementConfiguration.ReadWrite.All"],
            add: &[],
            expect: "DeviceManagementConfiguration.ReadWrite.All",
            config: r#"resource "autopilot_powershell_script" "s" {
  display_name   = "Permission test"
  file_name      = "perm.ps1"
  script_content = "Write-Output 'perm'"
}"#,
        },
        PermissionCase {
            resource: "autopilot_script_assignment",
            remove: &[
                "DeviceManagementConfiguration.ReadWrite.All",
                "DeviceManagementManagedDevices.ReadWrite.All",
            ],
            add: &[],
            expect: "DeviceManagementConfiguration.ReadWrite.All",
            config: r#"resource "autopilot_script_assignment" "s" {
  script_id = "d4000000-0000-4000-8000-000000000001"
  target = {
    type     = "group"
    group_id = "e7000000-0000-4000-8000-000000000001"
  }
}"#,
        },
    ]
}

/// Every resource type: without its write permission the emulator answers 403, the apply
/// fails with a diagnostic naming the permission, and nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn every_resource_names_its_missing_write_permission() {
    use acceptance_tests::emulator::auth::DEFAULT_ROLES;
    use acceptance_tests::emulator::fixtures::INTUNE_PROVISIONING_CLIENT_SP_ID;

    let group = |id: &str, name: &str, owners: Vec<&str>| {
        json!({"id": id, "displayName": name, "mailEnabled": false, "mailNickname": name.replace(' ', ""),
               "securityEnabled": true, "groupTypes": [], "isAssignableToRole": false, "owners": owners, "members": []})
    };
    let fixtures = tempfile::NamedTempFile::new().unwrap();
    let content = json!({"groups": [
        group(DEVICE_GROUP, "Permission devices", vec![INTUNE_PROVISIONING_CLIENT_SP_ID]),
        group(USER_GROUP, "Permission users", vec!["b2000000-0000-4000-8000-000000000001"]),
    ]});
    std::fs::write(fixtures.path(), content.to_string()).unwrap();
    let path = fixtures.path().display().to_string();
    let emu = Emulator::start(emulator_binary(), &["--fixtures", &path]).await.expect("emulator");

    let mut failures = Vec::new();
    for case in permission_cases() {
        emu.control_send(Method::POST, "/_emulator/reset", None).await.unwrap();
        let roles: Vec<&str> = DEFAULT_ROLES
            .iter()
            .copied()
            .filter(|r| !case.remove.contains(r))
            .chain(case.add.iter().copied())
            .collect();
        emu.control_send(Method::POST, "/_emulator/roles", Some(json!({ "roles": roles }))).await.unwrap();
        let ws = Workspace::new(&emu).expect("workspace");
        ws.write("main.tf", &format!("{PROVIDER_HEADER}\n{}\n", case.config)).unwrap();
        let out = ws.terraform(&["apply", "-auto-approve", "-input=false"]).await.unwrap();
        let text = out.combined().split_whitespace().collect::<Vec<_>>().join(" ");
        let forbidden = emu.requests().await.unwrap().iter().any(|r| r["status"] == 403);
        let written: Vec<String> = emu
            .requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| {
                let p = r["path"].as_str().unwrap_or_default();
                r["method"] != "GET"
                    && r["status"].as_u64().is_some_and(|s| s < 300)
                    && !p.contains("/oauth2/")
                    && !p.ends_with("$batch")
                    && !p.contains("getByIds")
                    && !p.contains("searchExistingIdentities")
            })
            .map(|r| format!("{} {}", r["method"], r["path"]))
            .collect();
        if out.success() || !forbidden || !text.contains(case.expect) || !written.is_empty() {
            failures.push(format!(
                "{}: success={} 403 seen={forbidden} names {}={} writes={written:?}\n{}",
                case.resource,
                out.success(),
                case.expect,
                text.contains(case.expect),
                out.combined()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    emu.stop().await;
}

/// Plain-http Graph or authority endpoints are refused at configuration, before any request
/// (the credentials would otherwise travel in clear).
#[tokio::test(flavor = "multi_thread")]
async fn http_endpoints_are_refused_before_any_request() {
    let emu = Emulator::start(emulator_binary(), &[]).await.expect("emulator");
    let insecure = emu.url.replacen("https://", "http://", 1);
    for variable in ["AUTOPILOT_GRAPH_ENDPOINT", "AUTOPILOT_AUTHORITY_HOST"] {
        let mut ws = Workspace::new(&emu).expect("workspace");
        ws.set_env(variable, &insecure);
        ws.write("main.tf", &format!("{PROVIDER_HEADER}\ndata \"autopilot_client_config\" \"c\" {{}}\n"))
            .unwrap();
        let out = ws.terraform(&["plan", "-input=false"]).await.unwrap();
        assert!(!out.success(), "{variable}: plan succeeded over http");
        assert!(out.combined().contains("Endpoint must use https"), "{variable}: {}", out.combined());
    }
    assert!(emu.requests().await.unwrap().is_empty(), "a request reached the emulator");
    emu.stop().await;
}
