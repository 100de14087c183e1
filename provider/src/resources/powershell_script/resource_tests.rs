//! `autopilot_powershell_script` CRUD against wiremock on 127.0.0.1.

use serde_json::{Value as Json, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::resource::PowerShellScript;
use super::wire::encode_content;
use crate::framework::resource::{CreateRequest, DeleteRequest, ReadRequest, Resource, UpdateRequest};
use crate::framework::value::ObjectBuilder;
use crate::framework::{Diagnostics, Value};
use crate::resources::testkit::{ctx, provider_data};

const ID: &str = "59ea4525-4525-59ea-2545-ea592545ea59";
const COLLECTION: &str = "/beta/deviceManagement/deviceManagementScripts";

fn planned(content: &str) -> Value {
    ObjectBuilder::default()
        .set("id", Value::unknown())
        .set("display_name", "Set time zone")
        .set("description", Value::Null)
        .set("file_name", "tz.ps1")
        .set("script_content", content)
        .set("run_as_account", "system")
        .set("enforce_signature_check", false)
        .set("run_as_32_bit", false)
        .set("timeouts", Value::Null)
        .build()
}

fn graph_script(content: &str) -> Json {
    json!({
        "@odata.type": "#microsoft.graph.deviceManagementScript",
        "id": ID, "displayName": "Set time zone", "description": "", "fileName": "tz.ps1",
        "scriptContent": encode_content(content), "runAsAccount": "system",
        "enforceSignatureCheck": false, "runAs32Bit": false, "roleScopeTagIds": ["0"],
        "createdDateTime": "2026-01-01T00:00:00Z", "lastModifiedDateTime": "2026-01-01T00:00:00Z"
    })
}

fn no_errors(d: &Diagnostics) {
    assert!(!d.has_error(), "{d:?}");
}

#[tokio::test]
async fn create_posts_the_body_and_stores_the_configured_text() {
    let server = MockServer::start().await;
    // Graph stores CRLF; the configuration has LF: same script, no diff.
    Mock::given(method("POST"))
        .and(path(COLLECTION))
        .and(body_partial_json(json!({
            "@odata.type": "#microsoft.graph.deviceManagementScript",
            "displayName": "Set time zone", "fileName": "tz.ps1", "runAsAccount": "system",
            "scriptContent": encode_content("Set-TimeZone -Id UTC\n")
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(graph_script("Set-TimeZone -Id UTC\r\n")))
        .expect(1)
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let plan = planned("Set-TimeZone -Id UTC\n");
    let r = PowerShellScript
        .create(&ctx(), &data, CreateRequest { config: &plan, planned: &plan, planned_private: &[] })
        .await;
    no_errors(&r.diagnostics);
    let state = r.state.unwrap();
    assert_eq!(state.get_str("id"), Some(ID));
    assert_eq!(state.get_str("script_content"), Some("Set-TimeZone -Id UTC\n"));
    assert_eq!(state.attr("description"), Some(&Value::Null));
    assert_eq!(state.get_str("run_as_account"), Some("system"));
}

#[tokio::test]
async fn read_reports_drift_and_absence() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{COLLECTION}/{ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(graph_script("Write-Host changed")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{COLLECTION}/gone")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"code": "ResourceNotFound", "message": "x"}})),
        )
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let mut current = planned("Write-Host original");
    current.set_attr("id", ID);
    let r = PowerShellScript.read(&ctx(), &data, ReadRequest { current: &current, private: &[] }).await;
    no_errors(&r.diagnostics);
    assert_eq!(r.state.unwrap().get_str("script_content"), Some("Write-Host changed"));
    current.set_attr("id", "gone");
    let r = PowerShellScript.read(&ctx(), &data, ReadRequest { current: &current, private: &[] }).await;
    no_errors(&r.diagnostics);
    assert!(r.state.is_none());
}

#[tokio::test]
async fn update_sends_content_only_when_it_changed() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!("{COLLECTION}/{ID}")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{COLLECTION}/{ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(graph_script("same\r\n")))
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let mut prior = planned("same\n");
    prior.set_attr("id", ID);
    let mut plan = prior.clone();
    plan.set_attr("run_as_32_bit", true);
    let r = PowerShellScript
        .update(
            &ctx(),
            &data,
            UpdateRequest { config: &plan, planned: &plan, prior: &prior, planned_private: &[] },
        )
        .await;
    no_errors(&r.diagnostics);
    let patch = &server.received_requests().await.unwrap()[0];
    let body: Json = serde_json::from_slice(&patch.body).unwrap();
    assert!(body.get("scriptContent").is_none(), "{body}");
    assert_eq!(body["runAs32Bit"], json!(true));
    assert_eq!(body["description"], json!(""));
}

#[tokio::test]
async fn delete_tolerates_an_already_deleted_script() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("{COLLECTION}/{ID}")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"code": "ResourceNotFound", "message": "x"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let mut prior = planned("x");
    prior.set_attr("id", ID);
    no_errors(&PowerShellScript.delete(&ctx(), &data, DeleteRequest { prior: &prior, private: &[] }).await);
}

#[tokio::test]
async fn validation_reports_at_attribute_paths() {
    let mut config = planned("");
    config.set_attr("file_name", "tz.txt");
    config.set_attr("run_as_account", "user");
    let mut diags = Diagnostics::new();
    PowerShellScript.validate(&config, &mut diags);
    let paths: Vec<String> =
        diags.iter().map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default()).collect();
    assert_eq!(paths, ["file_name", "script_content", "run_as_account"]);
    assert!(diags.has_error());
}

#[test]
fn an_attribute_validator_and_a_finding_report_one_error() {
    let mut config = planned("Set-TimeZone UTC");
    config.set_attr("run_as_account", "admin");
    // As the server validates: attribute validators first, then the resource's own checks.
    let mut diags = crate::framework::validate::validate_config(&PowerShellScript.schema(), &config);
    PowerShellScript.validate(&config, &mut diags);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default())
        .collect();
    assert_eq!(errors, ["run_as_account"], "{diags:?}");
}
