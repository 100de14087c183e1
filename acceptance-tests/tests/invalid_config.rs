#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test
//! The bad-input catalogue (issue #12): invalid configurations of every resource, data source,
//! the provider function and the provider block, each run through `terraform plan` against
//! the Graph emulator. Every case must fail with its diagnostic summary, the source line of the
//! offending attribute (`  12:   attr = ...`, which Terraform prints only when the diagnostic
//! carries an attribute path), a detail naming the problem, and nothing sent to Graph.
//!
//! Cases run on [`WORKERS`] workers, each with its own emulator and working directory, so the
//! request log read after a case belongs to that case alone. All failures are collected and
//! reported together.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use acceptance_tests::harness::{Emulator, PROVIDER_HEADER, Workspace};
use serde_json::Value;

/// Parallel terraform runs (CI has 2 cores; plan is mostly waiting for plugin start-up).
const WORKERS: usize = 4;

const G1: &str = "c1000000-0000-4000-8000-0000000000a1";
const G2: &str = "c1000000-0000-4000-8000-0000000000a2";

/// One invalid configuration and what Terraform must say about it.
#[derive(Debug)]
struct Case {
    /// `resource/<type>`, `data/<type>`, `function` or `provider`: the catalogue's grouping.
    subject: &'static str,
    name: &'static str,
    /// The whole `main.tf`.
    config: String,
    /// The diagnostic's summary (`Error: <summary>`).
    summary: &'static str,
    /// A fragment of the source line Terraform quotes (`  12:   <fragment>`).
    line: &'static str,
    /// A fragment of the detail text.
    detail: &'static str,
}

/// A configuration with the default provider block and `body` after it.
fn with_provider(body: &str) -> String {
    format!("{PROVIDER_HEADER}\n{body}\n")
}

/// A configuration whose provider block has `settings`, plus one data source that makes
/// Terraform configure the provider.
fn provider_config(settings: &str) -> String {
    let header = PROVIDER_HEADER
        .replace("provider \"autopilot\" {}", &format!("provider \"autopilot\" {{\n{settings}\n}}"));
    format!("{header}\n{UNKNOWN_SOURCE}\ndata \"autopilot_client_config\" \"current\" {{}}\n")
}

/// A value unknown at plan time: the output of a resource not created yet.
const UNKNOWN_SOURCE: &str =
    "resource \"terraform_data\" \"later\" {\n  input = \"c1000000-0000-4000-8000-0000000000ff\"\n}\n";

fn resource(kind: &str, body: &str) -> String {
    with_provider(&format!("{UNKNOWN_SOURCE}\nresource \"{kind}\" \"this\" {{\n{body}\n}}"))
}

fn data(kind: &str, body: &str) -> String {
    with_provider(&format!("data \"{kind}\" \"this\" {{\n{body}\n}}"))
}

fn csv_call(csv: &str) -> String {
    with_provider(&format!(
        "locals {{\n  devices = provider::autopilot::parse_corporate_identifiers(\"{}\")\n}}\n\noutput \"n\" {{\n  value = length(local.devices)\n}}",
        csv.replace('\n', "\\n").replace('"', "\\\"")
    ))
}

fn guids(n: usize) -> String {
    (0..n).map(|i| format!("\"c1000000-0000-4000-8000-{i:012x}\"")).collect::<Vec<_>>().join(", ")
}

fn dpp(extra: &str) -> String {
    resource(
        "autopilot_device_preparation_policy",
        &format!("  name = \"Contoso\"\n  deployment_mode = \"user_driven\"\n{extra}"),
    )
}

fn identifier(manufacturer: &str, model: &str, serial: &str, extra: &str) -> String {
    resource(
        "autopilot_corporate_identifier",
        &format!(
            "  manufacturer = \"{manufacturer}\"\n  model = \"{model}\"\n  serial_number = \"{serial}\"\n{extra}"
        ),
    )
}

fn devices(rows: &[(&str, &str, &str, &str)], extra: &str) -> String {
    let rows = rows
        .iter()
        .map(|(m, o, s, d)| {
            format!("    {{ manufacturer = \"{m}\", model = \"{o}\", serial_number = \"{s}\", description = {d} }},")
        })
        .collect::<Vec<_>>()
        .join("\n");
    resource("autopilot_corporate_identifiers", &format!("  devices = [\n{rows}\n  ]\n{extra}"))
}

fn app_assignment(intent: &str, target: &str, extra: &str) -> String {
    resource(
        "autopilot_app_assignment",
        &format!("  app_id = \"{G1}\"\n  intent = \"{intent}\"\n  target = {{\n{target}\n  }}\n{extra}"),
    )
}

fn script(extra: &str) -> String {
    resource(
        "autopilot_powershell_script",
        &format!(
            "  display_name = \"Time zone\"\n  file_name = \"tz.ps1\"\n  script_content = \"Set-TimeZone UTC\"\n{extra}"
        ),
    )
}

#[allow(clippy::too_many_lines)] // a catalogue: one entry per case
#[rustfmt::skip] // one line per case reads as a table
fn catalogue() -> Vec<Case> {
    let c = |subject, name, config: String, summary, line, detail| Case {
        subject,
        name,
        config,
        summary,
        line,
        detail,
    };
    let invalid = "Invalid attribute value";
    let long = |n: usize| "x".repeat(n);
    vec![
        // --- provider block --------------------------------------------------------------
        c("provider", "tenant_id not a GUID", provider_config("  tenant_id = \"not-a-guid\""), "Invalid tenant_id", "tenant_id", "not-a-guid"),
        c("provider", "client_id not a GUID", provider_config("  client_id = \"12345\""), "Invalid client_id", "client_id", "12345"),
        c("provider", "environment typo", provider_config("  environment = \"mars\""), "Unknown environment", "environment", "usgovernment"),
        c("provider", "graph_endpoint over http", provider_config("  graph_endpoint = \"http://127.0.0.1:9\""), "Endpoint must use https", "graph_endpoint", "https"),
        c("provider", "authority_host not a URL", provider_config("  authority_host = \"login example\""), "Invalid URL", "authority_host", "not a URL"),
        c("provider", "missing CA file", provider_config("  ca_certificate_file = \"/nonexistent/ca.pem\""), "CA certificate file not found", "ca_certificate_file", "/nonexistent/ca.pem"),
        c("provider", "certificate twice", provider_config("  client_certificate = \"AAAA\"\n  client_certificate_path = \"/tmp/x.pfx\""), "Conflicting certificate settings", "client_certificate", "not both"),
        c("provider", "tenant_id unknown at plan", provider_config("  tenant_id = terraform_data.later.output"), "Provider configuration is unknown", "data \"autopilot_client_config\"", "sets tenant_id from values"),
        c("provider", "graph_endpoint unknown at plan", provider_config("  graph_endpoint = terraform_data.later.output"), "Provider configuration is unknown", "data \"autopilot_client_config\"", "sets graph_endpoint from values"),
        // --- autopilot_device_join_settings ------------------------------------------------
        c("resource/device_join_settings", "enum typo", resource("autopilot_device_join_settings", "  allowed_to_join = \"everyone\""), invalid, "allowed_to_join", "\"everyone\""),
        c("resource/device_join_settings", "enum case", resource("autopilot_device_join_settings", "  allowed_to_join = \"all\"\n  registering_users_are_local_admins = \"Selected\""), invalid, "registering_users_are_local_admins", "\"Selected\""),
        c("resource/device_join_settings", "malformed GUID", resource("autopilot_device_join_settings", "  allowed_to_join = \"selected\"\n  allowed_users = [\"not-a-guid\"]"), invalid, "allowed_users", "not-a-guid"),
        c("resource/device_join_settings", "empty GUID", resource("autopilot_device_join_settings", "  allowed_to_join = \"selected\"\n  allowed_groups = [\"\"]"), invalid, "allowed_groups", "GUID"),
        c("resource/device_join_settings", "negative quota", resource("autopilot_device_join_settings", "  allowed_to_join = \"all\"\n  user_device_quota = -1"), invalid, "user_device_quota", "-1"),
        c("resource/device_join_settings", "quota above int32", resource("autopilot_device_join_settings", "  allowed_to_join = \"all\"\n  user_device_quota = 2147483648"), invalid, "user_device_quota", "2147483648"),
        c("resource/device_join_settings", "fractional quota", resource("autopilot_device_join_settings", "  allowed_to_join = \"all\"\n  user_device_quota = 2.5"), invalid, "user_device_quota", "2.5"),
        c("resource/device_join_settings", "selected without ids", resource("autopilot_device_join_settings", "  allowed_to_join = \"selected\""), "Selected needs users or groups", "allowed_to_join", "allowed_users"),
        c("resource/device_join_settings", "ids without selected", resource("autopilot_device_join_settings", &format!("  allowed_to_join = \"all\"\n  allowed_groups = [\"{G1}\"]")), "Only valid with \"selected\"", "allowed_groups", "selected"),
        c("resource/device_join_settings", "unknown id without selected", resource("autopilot_device_join_settings", "  allowed_to_join = \"none\"\n  allowed_users = [terraform_data.later.output]"), "Only valid with \"selected\"", "allowed_users", "selected"),
        c("resource/device_join_settings", "local admins without selected", resource("autopilot_device_join_settings", &format!("  allowed_to_join = \"all\"\n  registering_users_are_local_admins = \"all\"\n  local_admin_users = [\"{G1}\"]")), "Only valid with \"selected\"", "local_admin_users", "selected"),
        c("resource/device_join_settings", "on_destroy typo", resource("autopilot_device_join_settings", "  allowed_to_join = \"all\"\n  on_destroy = \"delete\""), invalid, "on_destroy", "\"delete\""),
        c("resource/device_join_settings", "timeout not a duration", resource("autopilot_device_join_settings", "  allowed_to_join = \"all\"\n  timeouts = {\n    create = \"10 minutes\"\n  }"), invalid, "create", "10 minutes"),
        // --- autopilot_device_preparation_policy ---------------------------------------------
        c("resource/device_preparation_policy", "empty name", resource("autopilot_device_preparation_policy", "  name = \"\"\n  deployment_mode = \"user_driven\""), invalid, "name", "between 1 and 1000"),
        c("resource/device_preparation_policy", "deployment_mode typo", resource("autopilot_device_preparation_policy", "  name = \"Contoso\"\n  deployment_mode = \"user-driven\""), invalid, "deployment_mode", "user-driven"),
        c("resource/device_preparation_policy", "join_type hybrid", dpp("  join_type = \"hybrid_join\""), invalid, "join_type", "hybrid_join"),
        c("resource/device_preparation_policy", "account type typo", dpp("  user_account_type = \"admin\""), invalid, "user_account_type", "\"admin\""),
        c("resource/device_preparation_policy", "timeout below 15", dpp("  installation_timeout_minutes = 5"), invalid, "installation_timeout_minutes", "between 15 and 720"),
        c("resource/device_preparation_policy", "timeout above 720", dpp("  installation_timeout_minutes = 721"), invalid, "installation_timeout_minutes", "between 15 and 720"),
        c("resource/device_preparation_policy", "fractional timeout", dpp("  installation_timeout_minutes = 60.5"), invalid, "installation_timeout_minutes", "60.5"),
        c("resource/device_preparation_policy", "26 apps", dpp(&format!("  allowed_app_ids = [{}]", guids(26))), "Invalid device preparation policy", "allowed_app_ids", "25"),
        c("resource/device_preparation_policy", "11 scripts", dpp(&format!("  allowed_script_ids = [{}]", guids(11))), "Invalid device preparation policy", "allowed_script_ids", "10"),
        c("resource/device_preparation_policy", "braced group id", dpp(&format!("  device_group_id = \"{{{G1}}}\"")), invalid, "device_group_id", "GUID"),
        c("resource/device_preparation_policy", "empty error message", dpp("  custom_error_message = \" \""), "Invalid device preparation policy", "custom_error_message", "must not be empty"),
        c("resource/device_preparation_policy", "error message too long", dpp(&format!("  custom_error_message = \"{}\"", long(1001))), "Invalid device preparation policy", "custom_error_message", "1000"),
        c("resource/device_preparation_policy", "description too long", dpp(&format!("  description = \"{}\"", long(1501))), invalid, "description", "1500"),
        c("resource/device_preparation_policy", "automatic with user groups", resource("autopilot_device_preparation_policy", &format!("  name = \"Cloud PCs\"\n  deployment_mode = \"automatic\"\n  assigned_group_ids = [\"{G1}\"]")), "Invalid device preparation policy", "assigned_group_ids", "automatic"),
        c("resource/device_preparation_policy", "automatic with allow_skip", resource("autopilot_device_preparation_policy", "  name = \"Cloud PCs\"\n  deployment_mode = \"automatic\"\n  allow_skip = true"), "Invalid device preparation policy", "allow_skip", "user_driven"),
        c("resource/device_preparation_policy", "scope tag not a number", dpp("  role_scope_tag_ids = [\"Default\"]"), invalid, "role_scope_tag_ids", "Default"),
        // --- autopilot_corporate_identifier ----------------------------------------------------
        c("resource/corporate_identifier", "serial with periods", identifier("Contoso", "Laptop 7", "AB.12.34", ""), "Invalid corporate identifier", "serial_number", "AB1234"),
        c("resource/corporate_identifier", "empty manufacturer", identifier("", "Laptop 7", "AB1234", ""), "Invalid corporate identifier", "manufacturer", "empty"),
        c("resource/corporate_identifier", "comma in model", identifier("Contoso", "Laptop, 7", "AB1234", ""), "Invalid corporate identifier", "model", "comma"),
        c("resource/corporate_identifier", "leading space", identifier(" Contoso", "Laptop 7", "AB1234", ""), "Invalid corporate identifier", "manufacturer", "whitespace"),
        c("resource/corporate_identifier", "description too long", identifier("Contoso", "Laptop 7", "AB1234", &format!("  description = \"{}\"", long(129))), "Invalid corporate identifier", "description", "128"),
        // --- autopilot_corporate_identifiers -----------------------------------------------------
        c("resource/corporate_identifiers", "negative max_deletions", devices(&[("Contoso", "Laptop 7", "AB1234", "null")], "  max_deletions = -1"), invalid, "max_deletions", "-1"),
        c("resource/corporate_identifiers", "duplicate ignoring case", devices(&[("Contoso", "Laptop 7", "AB1234", "null"), ("CONTOSO", "laptop 7", "ab1234", "null")], ""), "Duplicate corporate identifier", "devices", "case-insensitively"),
        c("resource/corporate_identifiers", "empty serial", devices(&[("Contoso", "Laptop 7", "", "null")], ""), "Invalid corporate identifier", "devices", "empty"),
        c("resource/corporate_identifiers", "description too long", devices(&[("Contoso", "Laptop 7", "AB1234", &format!("\"{}\"", long(129)))], ""), "Invalid corporate identifier", "devices", "128"),
        // --- provider::autopilot::parse_corporate_identifiers ------------------------------------
        c("function", "two columns", csv_call("Contoso,Laptop 7\n"), "Invalid function argument", "parse_corporate_identifiers", "line 1"),
        c("function", "five columns", csv_call("Contoso,Laptop 7,AB1234,desk,extra\n"), "Invalid function argument", "parse_corporate_identifiers", "5 column"),
        c("function", "quoted comma", csv_call("Contoso,\"Laptop, 7\",AB1234\n"), "Invalid function argument", "parse_corporate_identifiers", "comma"),
        c("function", "unterminated quote", csv_call("Contoso,\"Laptop 7,AB1234\n"), "Invalid function argument", "parse_corporate_identifiers", "line 1"),
        c("function", "duplicate row", csv_call("Contoso,Laptop 7,AB1234\ncontoso,LAPTOP 7,ab1234\n"), "Invalid function argument", "parse_corporate_identifiers", "line 2"),
        // --- autopilot_group / autopilot_device_group / autopilot_group_member -------------------
        c("resource/group", "empty display name", resource("autopilot_group", "  display_name = \"\""), invalid, "display_name", "between 1 and 256"),
        c("resource/group", "display name too long", resource("autopilot_group", &format!("  display_name = \"{}\"", long(257))), invalid, "display_name", "257"),
        c("resource/group", "nickname with space", resource("autopilot_group", "  display_name = \"Ops\"\n  mail_nickname = \"ops team\""), "Invalid mail_nickname", "mail_nickname", "space"),
        c("resource/group", "empty description", resource("autopilot_group", "  display_name = \"Ops\"\n  description = \"\""), invalid, "description", "must not be empty"),
        c("resource/group", "member not a GUID", resource("autopilot_group", "  display_name = \"Ops\"\n  members = [\"adele@contoso.com\"]"), invalid, "members", "adele@contoso.com"),
        c("resource/device_group", "owner not a GUID", resource("autopilot_device_group", "  display_name = \"Devices\"\n  owners = [\"me\"]"), invalid, "owners", "\"me\""),
        c("resource/device_group", "nickname too long", resource("autopilot_device_group", &format!("  display_name = \"Devices\"\n  mail_nickname = \"{}\"", long(65))), "Invalid mail_nickname", "mail_nickname", "64"),
        c("resource/group_member", "group id not a GUID", resource("autopilot_group_member", &format!("  group_id = \"ops\"\n  member_id = \"{G1}\"")), invalid, "group_id", "\"ops\""),
        c("resource/group_member", "empty member id", resource("autopilot_group_member", &format!("  group_id = \"{G1}\"\n  member_id = \"\"")), invalid, "member_id", "GUID"),
        // --- autopilot_powershell_script ---------------------------------------------------------
        c("resource/powershell_script", "empty display name", resource("autopilot_powershell_script", "  display_name = \"\"\n  file_name = \"tz.ps1\"\n  script_content = \"Set-TimeZone UTC\""), invalid, "display_name", "must not be empty"),
        c("resource/powershell_script", "blank script", resource("autopilot_powershell_script", "  display_name = \"Time zone\"\n  file_name = \"tz.ps1\"\n  script_content = \"  \""), "Invalid configuration", "script_content", "must not be empty"),
        c("resource/powershell_script", "run_as typo", script("  run_as_account = \"admin\""), invalid, "run_as_account", "\"admin\""),
        c("resource/powershell_script", "file name is a path", resource("autopilot_powershell_script", "  display_name = \"Time zone\"\n  file_name = \"scripts/tz.ps1\"\n  script_content = \"Set-TimeZone UTC\""), "Invalid configuration", "file_name", "not a path"),
        // --- autopilot_app_assignment / autopilot_script_assignment ------------------------------
        c("resource/app_assignment", "intent typo", app_assignment("install", &format!("    type = \"group\"\n    group_id = \"{G2}\""), ""), invalid, "intent", "\"install\""),
        c("resource/app_assignment", "group without group_id", app_assignment("required", "    type = \"group\"", ""), "Invalid configuration", "target", "group_id"),
        c("resource/app_assignment", "all_devices with unknown group_id", app_assignment("required", "    type = \"all_devices\"\n    group_id = terraform_data.later.output", ""), "Invalid configuration", "group_id", "group_id"),
        c("resource/app_assignment", "filter without mode", app_assignment("required", &format!("    type = \"group\"\n    group_id = \"{G2}\"\n    filter_id = \"{G1}\""), ""), "Invalid configuration", "filter_id", "filter_mode"),
        c("resource/app_assignment", "zero grace period", app_assignment("required", &format!("    type = \"group\"\n    group_id = \"{G2}\""), "  win32_settings = {\n    restart = {\n      grace_period_minutes = 0\n      countdown_minutes = 5\n    }\n  }"), invalid, "grace_period_minutes", "between 1 and 2147483647"),
        c("resource/app_assignment", "win32 and winget settings", app_assignment("required", &format!("    type = \"group\"\n    group_id = \"{G2}\""), "  win32_settings = {}\n  winget_settings = {}"), "Invalid configuration", "winget_settings", "conflicts with win32_settings"),
        c("resource/app_assignment", "deadline not RFC 3339", app_assignment("required", &format!("    type = \"group\"\n    group_id = \"{G2}\""), "  winget_settings = {\n    install_time = {\n      deadline = \"tomorrow\"\n    }\n  }"), "Invalid configuration", "deadline", "tomorrow"),
        c("resource/app_assignment", "settings on an exclusion", app_assignment("required", &format!("    type = \"exclusion_group\"\n    group_id = \"{G2}\""), "  win32_settings = {}"), "Invalid configuration", "win32_settings", "exclusion_group"),
        c("resource/script_assignment", "target type of apps", resource("autopilot_script_assignment", &format!("  script_id = \"{G1}\"\n  target = {{\n    type = \"all_licensed_users\"\n  }}")), invalid, "type", "all_licensed_users"),
        c("resource/script_assignment", "script id not a GUID", resource("autopilot_script_assignment", "  script_id = \"tz.ps1\"\n  target = {\n    type = \"all_devices\"\n  }"), invalid, "script_id", "tz.ps1"),
        // --- data sources ------------------------------------------------------------------------
        c("data/group", "object id and name", data("autopilot_group", &format!("  object_id = \"{G1}\"\n  display_name = \"Ops\"")), "Invalid attribute combination", "object_id", "display_name"),
        c("data/group", "object id not a GUID", data("autopilot_group", "  object_id = \"Ops\""), invalid, "object_id", "\"Ops\""),
        c("data/user", "empty UPN", data("autopilot_user", "  user_principal_name = \"\""), invalid, "user_principal_name", "between 1 and 1024"),
        c("data/service_principal", "app id not a GUID", data("autopilot_service_principal", "  app_id = \"intune\""), invalid, "app_id", "\"intune\""),
        c("data/mobile_app", "neither id nor name", data("autopilot_mobile_app", ""), "Invalid attribute combination", "autopilot_mobile_app", "display_name"),
        c("data/mobile_app", "id and name", data("autopilot_mobile_app", &format!("  id = \"{G1}\"\n  display_name = \"7-Zip\"")), "Invalid attribute combination", "id", "display_name"),
        c("data/powershell_script", "id not a GUID", data("autopilot_powershell_script", "  id = \"tz.ps1\""), invalid, "id", "tz.ps1"),
    ]
}

/// What is wrong with one case's outcome, if anything.
fn check(case: &Case, code: i32, text: &str, requests: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    if code == 0 {
        problems.push("plan succeeded".into());
    }
    if !text.contains(&format!("Error: {}", case.summary)) {
        problems.push(format!("no \"Error: {}\"", case.summary));
    }
    // Terraform wraps the detail text at 78 columns.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !flat.contains(case.detail) {
        problems.push(format!("detail lacks {:?}", case.detail));
    }
    // `  12:   attr = value` (the quoted source line) appears only for diagnostics with a path.
    let quoted = text.lines().any(|l| {
        let t = l.trim_start();
        t.split_once(':').is_some_and(|(n, rest)| {
            !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && rest.contains(case.line)
        })
    });
    if !quoted || !text.contains("on main.tf line") {
        problems.push(format!("no quoted source line containing {:?}", case.line));
    }
    if text.contains("panic") {
        problems.push("the provider panicked".into());
    }
    if !requests.is_empty() {
        let paths: Vec<&str> = requests.iter().filter_map(|r| r["path"].as_str()).collect();
        problems.push(format!("{} Graph request(s) were sent: {paths:?}", requests.len()));
    }
    problems
}

/// Requests other than token requests (the provider acquires a token only before a Graph call).
async fn graph_requests(emu: &Emulator) -> Vec<Value> {
    emu.requests()
        .await
        .expect("request log")
        .into_iter()
        .filter(|r| !r["path"].as_str().unwrap_or_default().contains("/oauth2/"))
        .collect()
}

async fn worker(cases: Arc<Vec<Case>>, next: Arc<AtomicUsize>) -> Vec<String> {
    let emu =
        Emulator::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator starts");
    let ws = Workspace::new(&emu).expect("workspace");
    let mut failures = Vec::new();
    // Graph requests logged before the current case (by earlier cases of this worker).
    let mut seen = 0;
    loop {
        let i = next.fetch_add(1, Ordering::SeqCst);
        let Some(case) = cases.get(i) else { break };
        ws.write("main.tf", &case.config).expect("write");
        let out = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
        let text = out.combined();
        let all = graph_requests(&emu).await;
        let requests = all.get(seen..).unwrap_or_default().to_vec();
        seen = all.len();
        let problems = check(case, out.code, &text, &requests);
        if !problems.is_empty() {
            failures.push(format!(
                "[{}] {}: {}\n--- main.tf ---\n{}\n--- output ---\n{text}",
                case.subject,
                case.name,
                problems.join("; "),
                case.config
            ));
        }
    }
    emu.stop().await;
    failures
}

#[tokio::test(flavor = "multi_thread")]
async fn every_invalid_configuration_fails_at_plan_on_its_attribute_and_sends_nothing() {
    let cases = Arc::new(catalogue());
    assert!(cases.len() >= 40, "the catalogue has {} cases", cases.len());
    let mut names: Vec<(&str, &str)> = cases.iter().map(|c| (c.subject, c.name)).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique per subject");

    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> =
        (0..WORKERS).map(|_| tokio::spawn(worker(Arc::clone(&cases), Arc::clone(&next)))).collect();
    let mut failures = Vec::new();
    for w in workers {
        failures.extend(w.await.expect("worker"));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
