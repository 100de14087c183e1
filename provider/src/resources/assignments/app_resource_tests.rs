//! `autopilot_app_assignment` against wiremock on 127.0.0.1.

use serde_json::{Value as Json, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::app_model::target_value;
use super::app_resource::AppAssignmentResource;
use super::target::{Target, TargetKind};
use crate::framework::resource::{
    CreateRequest, DeleteRequest, ModifyPlanRequest, ModifyPlanResponse, ReadRequest, Resource, UpdateRequest,
};
use crate::framework::value::ObjectBuilder;
use crate::framework::{Diagnostics, Value};
use crate::resources::testkit::{ctx, provider_data};

const APP: &str = "9607b530-b530-9607-30b5-079630b50796";
const DEVICES: &str = "11111111-1111-1111-1111-111111111111";
const OTHER: &str = "22222222-2222-2222-2222-222222222222";

fn app_path() -> String {
    format!("/beta/deviceAppManagement/mobileApps/{APP}")
}

fn planned(id: Value, win32: Value) -> Value {
    ObjectBuilder::default()
        .set("id", id)
        .set("app_id", APP)
        .set("app_type", Value::unknown())
        .set("intent", "required")
        .set("target", target_value(&Target::new(TargetKind::Group, Some(DEVICES))))
        .set("win32_settings", win32)
        .set("winget_settings", Value::Null)
        .set("timeouts", Value::Null)
        .build()
}

fn win32_hide_all() -> Value {
    ObjectBuilder::default()
        .set("notifications", "hide_all")
        .set("delivery_optimization_priority", "not_configured")
        .set("install_time", Value::Null)
        .set("restart", Value::Null)
        .build()
}

fn graph_assignment(id: &str, group: &str, intent: &str, notifications: &str) -> Json {
    json!({
        "@odata.type": "#microsoft.graph.mobileAppAssignment", "id": id, "intent": intent,
        "source": "direct", "sourceId": null,
        "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group,
                   "deviceAndAppManagementAssignmentFilterId": null, "deviceAndAppManagementAssignmentFilterType": "none"},
        "settings": {"@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings", "notifications": notifications,
                     "deliveryOptimizationPriority": "notConfigured", "installTimeSettings": null,
                     "restartSettings": null, "autoUpdateSettings": null}
    })
}

async fn mount_app(server: &MockServer, odata_type: &str) {
    Mock::given(method("GET"))
        .and(path(app_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.type": odata_type, "id": APP, "displayName": "7-Zip"})))
        .mount(server)
        .await;
}

async fn mount_list(server: &MockServer, items: Vec<Json>) {
    Mock::given(method("GET"))
        .and(path(format!("{}/assignments", app_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "value": items })))
        .mount(server)
        .await;
}

/// `modify_plan` of a create of `plan`.
async fn plan_create(data: &super::super::ProviderData, plan: &Value) -> ModifyPlanResponse {
    let mut resp = ModifyPlanResponse {
        planned: plan.clone(),
        planned_private: Vec::new(),
        requires_replace: Vec::new(),
        diagnostics: Diagnostics::new(),
    };
    AppAssignmentResource
        .modify_plan(
            &ctx(),
            Some(data),
            ModifyPlanRequest { config: plan, prior: &Value::Null, prior_private: &[] },
            &mut resp,
        )
        .await;
    resp
}

/// Expects exactly one assignment create, answered with the device group's required assignment.
async fn mount_create_once(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("{}/assignments", app_path())))
        .respond_with(ResponseTemplate::new(201).set_body_json(graph_assignment(
            &format!("{DEVICES}_1_0"),
            DEVICES,
            "required",
            "hideAll",
        )))
        .expect(1)
        .mount(server)
        .await;
}

fn no_errors(d: &Diagnostics) {
    assert!(!d.has_error(), "{d:?}");
}

async fn bodies(server: &MockServer, verb: &str) -> Vec<Json> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb)
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Json::Null))
        .collect()
}

#[tokio::test]
async fn create_posts_one_assignment_and_never_uses_assign() {
    let server = MockServer::start().await;
    mount_app(&server, "#microsoft.graph.win32LobApp").await;
    mount_list(&server, vec![graph_assignment(&format!("{OTHER}_0_0"), OTHER, "available", "showAll")]).await;
    mount_create_once(&server).await;
    let data = provider_data(&server.uri());
    let plan = planned(Value::unknown(), win32_hide_all());
    let r = AppAssignmentResource
        .create(&ctx(), &data, CreateRequest { config: &plan, planned: &plan, planned_private: &[] })
        .await;
    no_errors(&r.diagnostics);
    let state = r.state.unwrap();
    assert_eq!(state.get_str("id"), Some(format!("{DEVICES}_1_0").as_str()));
    assert_eq!(state.get_str("app_type"), Some("win32LobApp"));
    assert_eq!(state.attr("win32_settings"), Some(&win32_hide_all()));
    let posted = bodies(&server, "POST").await;
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["settings"]["@odata.type"], json!("#microsoft.graph.win32LobAppAssignmentSettings"));
    assert_eq!(posted[0]["settings"]["notifications"], json!("hideAll"));
    assert_eq!(posted[0]["target"]["groupId"], json!(DEVICES));
    let listed = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/assignments") && r.method.as_str() == "GET")
        .count();
    assert_eq!(listed, 0, "no look before the create");
}

#[tokio::test]
async fn create_with_the_type_known_from_the_plan_does_not_get_the_app_again() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(app_path()))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    mount_list(&server, Vec::new()).await;
    mount_create_once(&server).await;
    let data = provider_data(&server.uri());
    let mut plan = planned(Value::unknown(), win32_hide_all());
    plan.set_attr("app_type", "win32LobApp");
    let r = AppAssignmentResource
        .create(&ctx(), &data, CreateRequest { config: &plan, planned: &plan, planned_private: &[] })
        .await;
    no_errors(&r.diagnostics);
    assert_eq!(r.state.unwrap().get_str("app_type"), Some("win32LobApp"));
    let posted = bodies(&server, "POST").await;
    assert_eq!(posted[0]["settings"]["@odata.type"], json!("#microsoft.graph.win32LobAppAssignmentSettings"));
}

#[tokio::test]
async fn create_refuses_settings_for_another_app_type() {
    let server = MockServer::start().await;
    mount_app(&server, "#microsoft.graph.winGetApp").await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(201)).expect(0).mount(&server).await;
    let data = provider_data(&server.uri());
    let plan = planned(Value::unknown(), win32_hide_all());
    let r = AppAssignmentResource
        .create(&ctx(), &data, CreateRequest { config: &plan, planned: &plan, planned_private: &[] })
        .await;
    assert!(r.diagnostics.has_error());
    let text = format!("{:?}", r.diagnostics);
    assert!(text.contains("is #microsoft.graph.winGetApp"), "{text}");
}

#[tokio::test]
async fn create_adopts_the_same_target_and_intent_and_patches_it() {
    let server = MockServer::start().await;
    mount_app(&server, "#microsoft.graph.win32LobApp").await;
    let id = format!("{DEVICES}_1_0");
    Mock::given(method("GET"))
        .and(path(format!("{}/assignments", app_path())))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [graph_assignment(&id, DEVICES, "required", "showAll")]})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_list(&server, vec![graph_assignment(&id, DEVICES, "required", "hideAll")]).await;
    Mock::given(method("PATCH"))
        .and(path(format!("{}/assignments/{id}", app_path())))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    // Intune refuses a second assignment of the app to the same target.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(already_targeted()))
        .expect(1)
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let plan = planned(Value::unknown(), win32_hide_all());
    let r = AppAssignmentResource
        .create(&ctx(), &data, CreateRequest { config: &plan, planned: &plan, planned_private: &[] })
        .await;
    no_errors(&r.diagnostics);
    assert_eq!(r.state.unwrap().get_str("id"), Some(id.as_str()));
    let patch = &bodies(&server, "PATCH").await[0];
    assert!(patch.get("intent").is_none(), "{patch}");
}

#[tokio::test]
async fn create_refuses_a_target_assigned_with_another_intent() {
    let server = MockServer::start().await;
    mount_app(&server, "#microsoft.graph.win32LobApp").await;
    mount_list(&server, vec![graph_assignment(&format!("{DEVICES}_0_0"), DEVICES, "available", "showAll")])
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(already_targeted()))
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let plan = planned(Value::unknown(), Value::Null);
    let r = AppAssignmentResource
        .create(&ctx(), &data, CreateRequest { config: &plan, planned: &plan, planned_private: &[] })
        .await;
    let text = format!("{:?}", r.diagnostics);
    assert!(
        r.diagnostics.iter().any(|d| d.is_error() && d.detail.contains("intent \"available\"")),
        "{text}"
    );
    assert_eq!(bodies(&server, "POST").await.len(), 1, "one refused create, nothing else written");
}

#[tokio::test]
async fn another_refusal_of_the_create_is_reported_as_is() {
    let server = MockServer::start().await;
    mount_app(&server, "#microsoft.graph.win32LobApp").await;
    mount_list(&server, Vec::new()).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"code": "BadRequest", "message": "bad filter"}})),
        )
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let plan = planned(Value::unknown(), Value::Null);
    let r = AppAssignmentResource
        .create(&ctx(), &data, CreateRequest { config: &plan, planned: &plan, planned_private: &[] })
        .await;
    let text = format!("{:?}", r.diagnostics);
    assert!(r.diagnostics.has_error() && text.contains("bad filter"), "{text}");
    assert!(r.state.is_none());
}

fn already_targeted() -> Json {
    json!({"error": {"code": "BadRequest", "message": "{\"_version\": 3, \"Message\": \"The group is already targeted by this app\"}"}})
}

#[tokio::test]
async fn read_treats_default_settings_as_unset_and_follows_the_target() {
    let server = MockServer::start().await;
    mount_list(
        &server,
        vec![
            graph_assignment(&format!("{OTHER}_1_0"), OTHER, "required", "hideAll"),
            graph_assignment(&format!("{DEVICES}_1_0"), DEVICES, "required", "showAll"),
        ],
    )
    .await;
    let data = provider_data(&server.uri());
    let mut current = planned(Value::from("stale-id"), Value::Null);
    current.set_attr("app_type", "win32LobApp");
    let r = AppAssignmentResource.read(&ctx(), &data, ReadRequest { current: &current, private: &[] }).await;
    no_errors(&r.diagnostics);
    let state = r.state.unwrap();
    assert_eq!(state.get_str("id"), Some(format!("{DEVICES}_1_0").as_str()));
    assert_eq!(state.attr("win32_settings"), Some(&Value::Null));
    let mut expected = current.clone();
    expected.set_attr("id", format!("{DEVICES}_1_0"));
    assert_eq!(state, expected, "no drift");
}

#[tokio::test]
async fn update_patches_ours_and_delete_deletes_only_ours() {
    let server = MockServer::start().await;
    let id = format!("{DEVICES}_1_0");
    mount_list(
        &server,
        vec![
            graph_assignment(&format!("{OTHER}_1_0"), OTHER, "required", "showAll"),
            graph_assignment(&id, DEVICES, "required", "hideAll"),
        ],
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{}/assignments/{id}", app_path())))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{}/assignments/{id}", app_path())))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let mut prior = planned(Value::from(id.as_str()), Value::Null);
    prior.set_attr("app_type", "win32LobApp");
    let mut plan = prior.clone();
    plan.set_attr("win32_settings", win32_hide_all());
    let r = AppAssignmentResource
        .update(
            &ctx(),
            &data,
            UpdateRequest { config: &plan, planned: &plan, prior: &prior, planned_private: &[] },
        )
        .await;
    no_errors(&r.diagnostics);
    assert_eq!(r.state.unwrap(), plan);
    no_errors(
        &AppAssignmentResource.delete(&ctx(), &data, DeleteRequest { prior: &plan, private: &[] }).await,
    );
}

#[tokio::test]
async fn plan_checks_the_app_type_and_fills_it_in() {
    let server = MockServer::start().await;
    mount_app(&server, "#microsoft.graph.winGetApp").await;
    let data = provider_data(&server.uri());
    let plan = planned(Value::unknown(), win32_hide_all());
    let resp = plan_create(&data, &plan).await;
    assert!(resp.diagnostics.has_error());
    assert_eq!(resp.planned.get_str("app_type"), Some("winGetApp"));
}

/// A failed lookup is an error at `app_id`: a warning would leave `app_type` unknown, and when
/// the first plan knew it, Terraform rejects the apply-time plan as inconsistent.
#[tokio::test]
async fn a_failed_app_lookup_fails_the_plan_at_app_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(app_path()))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": {"code": "Forbidden", "message": "Application is not authorized to perform this operation."}})))
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let plan = planned(Value::unknown(), win32_hide_all());
    let resp = plan_create(&data, &plan).await;
    let errors: Vec<_> = resp.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{:?}", resp.diagnostics);
    assert_eq!(errors[0].summary, "Could not check the app");
    assert_eq!(errors[0].path, Some(crate::framework::AttributePath::new("app_id")));
}

#[tokio::test]
async fn plans_of_many_assignments_of_one_app_get_it_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(app_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.type": "#microsoft.graph.win32LobApp", "id": APP, "displayName": "7-Zip"})))
        .expect(1)
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    for _ in 0..3 {
        let plan = planned(Value::unknown(), win32_hide_all());
        let resp = plan_create(&data, &plan).await;
        no_errors(&resp.diagnostics);
        assert_eq!(resp.planned.get_str("app_type"), Some("win32LobApp"));
    }
}

#[tokio::test]
async fn validation_table_through_the_resource() {
    let mut config = planned(Value::Null, win32_hide_all());
    config.set_attr("winget_settings", ObjectBuilder::default().set("notifications", "show_all").build());
    config.set_attr("intent", "available");
    config.set_attr("target", target_value(&Target::new(TargetKind::AllDevices, None)));
    let mut diags = Diagnostics::new();
    AppAssignmentResource.validate(&config, &mut diags);
    let paths: Vec<String> =
        diags.iter().map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default()).collect();
    assert_eq!(paths, ["intent", "winget_settings"]);
    // Unknown settings are not judged.
    let mut config = planned(Value::Null, Value::unknown());
    config.set_attr("intent", "required");
    let mut diags = Diagnostics::new();
    AppAssignmentResource.validate(&config, &mut diags);
    assert!(diags.is_empty(), "{diags:?}");
}
