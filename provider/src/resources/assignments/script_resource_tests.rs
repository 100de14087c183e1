//! `autopilot_script_assignment` against wiremock on 127.0.0.1: ours is added or removed, every
//! other assignment is sent back.

use serde_json::{Value as Json, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::script_resource::ScriptAssignmentResource;
use crate::framework::resource::{CreateRequest, DeleteRequest, ReadRequest, Resource};
use crate::framework::value::ObjectBuilder;
use crate::framework::{Diagnostics, Value};
use crate::resources::testkit::{ctx, provider_data};

const SCRIPT: &str = "00000000-0000-0000-0000-000000000006";
const DEVICES: &str = "11111111-1111-1111-1111-111111111111";
const OTHER: &str = "22222222-2222-2222-2222-222222222222";

fn base() -> String {
    format!("/beta/deviceManagement/deviceManagementScripts/{SCRIPT}")
}

fn planned(id: Value) -> Value {
    ObjectBuilder::default()
        .set("id", id)
        .set("script_id", SCRIPT)
        .set("target", ObjectBuilder::default().set("type", "group").set("group_id", DEVICES).build())
        .set("timeouts", Value::Null)
        .build()
}

fn others() -> Vec<Json> {
    vec![
        // Legacy-typed entry as in the DT fixture, and a filtered all-devices target.
        json!({"@odata.type": "#microsoft.graph.deviceManagementScriptGroupAssignment", "id": "o1",
               "targetGroupId": OTHER,
               "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": OTHER}}),
        json!({"@odata.type": "#microsoft.graph.deviceManagementScriptAssignment", "id": "o2",
               "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
                          "deviceAndAppManagementAssignmentFilterId": "f", "deviceAndAppManagementAssignmentFilterType": "include"}}),
    ]
}

fn ours(id: &str) -> Json {
    json!({"@odata.type": "#microsoft.graph.deviceManagementScriptAssignment", "id": id,
           "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": DEVICES}})
}

fn page(items: Vec<Json>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "value": items }))
}

async fn assign_bodies(server: &MockServer) -> Vec<Json> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

fn no_errors(d: &Diagnostics) {
    assert!(!d.has_error(), "{d:?}");
}

#[tokio::test]
async fn create_adds_ours_and_sends_every_other_assignment_back() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/assignments", base())))
        .respond_with(page(others()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let mut after = others();
    after.push(ours("new-id"));
    Mock::given(method("GET"))
        .and(path(format!("{}/assignments", base())))
        .respond_with(page(after))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{}/assign", base())))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let plan = planned(Value::unknown());
    let r = ScriptAssignmentResource
        .create(&ctx(), &data, CreateRequest { config: &plan, planned: &plan, planned_private: &[] })
        .await;
    no_errors(&r.diagnostics);
    assert_eq!(r.state.unwrap().get_str("id"), Some("new-id"));
    let bodies = assign_bodies(&server).await;
    let sent = bodies[0]["deviceManagementScriptAssignments"].as_array().unwrap().clone();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0]["target"]["groupId"], json!(OTHER));
    assert_eq!(sent[0]["@odata.type"], json!("#microsoft.graph.deviceManagementScriptAssignment"));
    assert!(sent[0].get("targetGroupId").is_none() && sent[0].get("id").is_none());
    assert_eq!(sent[1]["target"]["deviceAndAppManagementAssignmentFilterType"], json!("include"));
    assert_eq!(sent[2]["target"]["groupId"], json!(DEVICES));
}

#[tokio::test]
async fn create_adopts_an_existing_assignment_without_writing() {
    let server = MockServer::start().await;
    let mut current = others();
    current.push(ours("existing"));
    Mock::given(method("GET"))
        .and(path(format!("{}/assignments", base())))
        .respond_with(page(current))
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).expect(0).mount(&server).await;
    let data = provider_data(&server.uri());
    let plan = planned(Value::unknown());
    let r = ScriptAssignmentResource
        .create(&ctx(), &data, CreateRequest { config: &plan, planned: &plan, planned_private: &[] })
        .await;
    no_errors(&r.diagnostics);
    assert_eq!(r.state.unwrap().get_str("id"), Some("existing"));
}

#[tokio::test]
async fn delete_removes_only_ours() {
    let server = MockServer::start().await;
    let mut current = others();
    current.insert(1, ours("mine"));
    Mock::given(method("GET"))
        .and(path(format!("{}/assignments", base())))
        .respond_with(page(current))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{}/assign", base())))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let prior = planned(Value::from("mine"));
    no_errors(
        &ScriptAssignmentResource.delete(&ctx(), &data, DeleteRequest { prior: &prior, private: &[] }).await,
    );
    let sent =
        assign_bodies(&server).await[0]["deviceManagementScriptAssignments"].as_array().unwrap().clone();
    let groups: Vec<_> =
        sent.iter().map(|e| e["target"]["@odata.type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        groups,
        ["#microsoft.graph.groupAssignmentTarget", "#microsoft.graph.allDevicesAssignmentTarget"]
    );
    assert_eq!(sent[0]["target"]["groupId"], json!(OTHER));
}

#[tokio::test]
async fn delete_of_an_already_removed_assignment_writes_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/assignments", base())))
        .respond_with(page(others()))
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).expect(0).mount(&server).await;
    let data = provider_data(&server.uri());
    let prior = planned(Value::from("mine"));
    no_errors(
        &ScriptAssignmentResource.delete(&ctx(), &data, DeleteRequest { prior: &prior, private: &[] }).await,
    );
}

#[tokio::test]
async fn read_follows_a_changed_id_and_drops_a_removed_assignment() {
    let server = MockServer::start().await;
    let mut current = others();
    current.push(ours("regenerated"));
    Mock::given(method("GET"))
        .and(path(format!("{}/assignments", base())))
        .respond_with(page(current))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/assignments", base())))
        .respond_with(page(others()))
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let current = planned(Value::from("old-id"));
    let r =
        ScriptAssignmentResource.read(&ctx(), &data, ReadRequest { current: &current, private: &[] }).await;
    no_errors(&r.diagnostics);
    assert_eq!(r.state.unwrap().get_str("id"), Some("regenerated"));
    let r =
        ScriptAssignmentResource.read(&ctx(), &data, ReadRequest { current: &current, private: &[] }).await;
    no_errors(&r.diagnostics);
    assert!(r.state.is_none());
}

#[tokio::test]
async fn import_then_read_fills_the_target() {
    let server = MockServer::start().await;
    let mut current = others();
    current.push(ours("mine"));
    Mock::given(method("GET"))
        .and(path(format!("{}/assignments", base())))
        .respond_with(page(current))
        .mount(&server)
        .await;
    let data = provider_data(&server.uri());
    let imported = ScriptAssignmentResource.import(&ctx(), &data, &format!("{SCRIPT}/mine")).await;
    let state = imported.state.unwrap();
    let r = ScriptAssignmentResource.read(&ctx(), &data, ReadRequest { current: &state, private: &[] }).await;
    no_errors(&r.diagnostics);
    assert_eq!(r.state.unwrap(), planned(Value::from("mine")));
    let bad = ScriptAssignmentResource.import(&ctx(), &data, "no-slash").await;
    assert!(bad.diagnostics.has_error());
}
