//! The group operations against wiremock on 127.0.0.1 (plain http, fake token source).

use crate::resources::observed::Observed;
use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::super::test_support::{client, cx, mount_not_found_once};
use super::*;
use crate::graph::CallCx;

const GROUP: &str = "21d05557-b7b6-418f-86fa-a3118d751be4";
const SP: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";

fn oid(n: usize) -> ObjectId {
    ObjectId::parse(&format!("00000000-0000-0000-0000-{n:012}")).unwrap()
}

fn gid() -> ObjectId {
    ObjectId::parse(GROUP).unwrap()
}

/// Answers each inner request of a `$batch` with the status `status_for(method, url)` gives.
struct BatchResponder<F>(F);

impl<F: Fn(&str, &str) -> u16 + Send + Sync> Respond for BatchResponder<F> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let responses: Vec<Value> = body["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let status = (self.0)(r["method"].as_str().unwrap(), r["url"].as_str().unwrap());
                let body = if status >= 400 {
                    json!({"error": {"code": "Request_BadRequest", "message": "refused"}})
                } else {
                    Value::Null
                };
                json!({"id": r["id"], "status": status, "body": body})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
    }
}

/// The inner requests of every `$batch` the server received, in order.
async fn batches(server: &MockServer) -> Vec<Vec<Value>> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/v1.0/$batch")
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["requests"].as_array().unwrap().clone())
        .collect()
}

fn group_json() -> Value {
    serde_json::from_str(include_str!(
        "testdata/create_security_group_with_owners_members.v1.0.response.json"
    ))
    .unwrap()
}

#[tokio::test]
async fn create_binds_owner_first_waits_for_the_group_and_adds_the_rest() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/groups"))
        .respond_with(ResponseTemplate::new(201).set_body_json(group_json()))
        .expect(1)
        .mount(&server)
        .await;
    // Not visible yet right after create, then found.
    mount_not_found_once(&server, &format!("/v1.0/groups/{GROUP}")).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{GROUP}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(BatchResponder(|_: &str, _: &str| 204))
        .mount(&server)
        .await;

    let c = client(&server);
    let api = GroupsApi::new(&c, cx());
    let new =
        NewGroup { display_name: "Operations group".into(), description: None, mail_nickname: "ops".into() };
    let sp = ObjectId::parse(SP).unwrap();
    let members: Vec<ObjectId> = (0..25).map(oid).collect();
    let created = api.create_group(&new, std::slice::from_ref(&sp), &members).await.unwrap();
    assert_eq!(created.group.id, GROUP);
    assert!(!created.complete, "six members went in a later write");

    let received = server.received_requests().await.unwrap();
    let create: Value = serde_json::from_slice(&received[0].body).unwrap();
    let base = format!("{}/v1.0/directoryObjects/", server.uri());
    assert_eq!(create["owners@odata.bind"], json!([format!("{base}{SP}")]));
    assert_eq!(create["members@odata.bind"].as_array().unwrap().len(), 19);
    assert_eq!(create["securityEnabled"], json!(true));
    assert_eq!(create["groupTypes"], json!([]));

    let sent = batches(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].len(), 1);
    assert_eq!(sent[0][0]["method"], "PATCH");
    assert_eq!(sent[0][0]["body"]["members@odata.bind"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn owner_removals_wait_for_successful_additions() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(BatchResponder(|m: &str, _: &str| if m == "POST" { 403 } else { 204 }))
        .mount(&server)
        .await;
    let c = client(&server);
    let api = GroupsApi::new(&c, cx());
    let plan = ChangePlan {
        before: vec![GroupOp::AddOwner(oid(2))],
        after: vec![GroupOp::Remove(Relation::Owners, oid(1))],
    };
    let err = api.apply(&gid(), &plan).await.unwrap_err();
    let GroupsError::Changes(failures) = &err else { panic!("{err:?}") };
    assert_eq!(failures.len(), 1);
    assert!(failures[0].operation.contains("add owner"), "{}", failures[0].operation);
    let sent = batches(&server).await;
    assert_eq!(sent.len(), 1, "the removal must not be sent after a failed addition");

    // With the addition accepted, the removal follows in a second batch.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(BatchResponder(|_: &str, _: &str| 204))
        .mount(&server)
        .await;
    let c = client(&server);
    GroupsApi::new(&c, cx()).apply(&gid(), &plan).await.unwrap();
    let sent = batches(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0][0]["method"], "POST");
    assert_eq!(sent[1][0]["method"], "DELETE");
}

#[tokio::test]
async fn a_refused_bind_is_retried_member_by_member_and_tolerates_existing_ones() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        // The bind fails (one member already present); single adds: 400 for that one, 204 else.
        .respond_with(BatchResponder(|m: &str, _: &str| if m == "PATCH" { 400 } else { 204 }))
        .mount(&server)
        .await;
    let c = client(&server);
    let plan =
        ChangePlan { before: vec![GroupOp::BindMembers((0..3).map(oid).collect())], after: Vec::new() };
    GroupsApi::new(&c, cx()).apply(&gid(), &plan).await.unwrap();
    let sent = batches(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].len(), 3);
    assert!(
        sent[1]
            .iter()
            .all(|r| r["method"] == "POST" && r["url"].as_str().unwrap().ends_with("/members/$ref"))
    );
}

#[tokio::test]
async fn removing_an_already_removed_member_is_not_a_failure_but_a_missing_object_is() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(BatchResponder(|_: &str, _: &str| 404))
        .mount(&server)
        .await;
    let c = client(&server);
    let api = GroupsApi::new(&c, cx());
    let removal = ChangePlan { before: vec![GroupOp::Remove(Relation::Members, oid(1))], after: Vec::new() };
    api.apply(&gid(), &removal).await.unwrap();
    let add = ChangePlan { before: vec![GroupOp::AddOwner(oid(1))], after: Vec::new() };
    assert!(matches!(api.apply(&gid(), &add).await, Err(GroupsError::Changes(_))));
}

#[tokio::test]
async fn provisioning_client_is_found_created_or_reported() {
    let server = MockServer::start().await;
    let sp_path = "/v1.0/servicePrincipals(appId='f1346770-5b25-470b-88bd-d5744ab7952c')";
    Mock::given(method("GET"))
        .and(path(sp_path))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"code": "Request_ResourceNotFound", "message": "x"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/servicePrincipals"))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"id": SP, "appId": "f1346770-5b25-470b-88bd-d5744ab7952c", "displayName": "Intune Provisioning Client"}),
        ))
        .mount(&server)
        .await;
    let c = client(&server);
    let api = GroupsApi::new(&c, cx());
    let seen = Observed::default();
    assert!(matches!(
        api.provisioning_client(&seen, false).await,
        Err(GroupsError::ProvisioningClientMissing)
    ));
    let sp = api.provisioning_client(&seen, true).await.unwrap();
    assert_eq!(sp.id, SP);
    // Found once per provider instance: asking again sends nothing.
    let sent = server.received_requests().await.unwrap().len();
    assert_eq!(api.provisioning_client(&seen, false).await.unwrap().id, SP);
    assert_eq!(server.received_requests().await.unwrap().len(), sent);
    let received = server.received_requests().await.unwrap();
    let post = received.iter().find(|r| r.method.as_str() == "POST").unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&post.body).unwrap(),
        json!({"appId": "f1346770-5b25-470b-88bd-d5744ab7952c"})
    );

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(sp_path))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/servicePrincipals"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}}),
        ))
        .mount(&server)
        .await;
    let c = client(&server);
    let err = GroupsApi::new(&c, cx()).provisioning_client(&Observed::default(), true).await.unwrap_err();
    assert!(matches!(err, GroupsError::ProvisioningClientNotCreated(_)));
    assert!(err.to_string().contains("Application.ReadWrite.All"), "{err}");
}

#[tokio::test]
async fn lookup_by_name_sends_the_name_as_one_escaped_literal() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .and(query_param("$filter", "displayName eq 'O''Brien & co'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [group_json()]})))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let found = GroupsApi::new(&c, cx()).groups_named("O'Brien & co").await.unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn wait_for_set_reports_what_differs() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{GROUP}/members")))
        .and(query_param("$top", "999"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [{"id": oid(1).as_str()}, {"id": oid(3).as_str()}]})),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    let api = GroupsApi::new(&c, cx()).with_confirm_interval(Duration::from_millis(1));
    let now: BTreeSet<ObjectId> = [oid(1), oid(3)].into();
    api.wait_for_set(&gid(), Relation::Members, &now).await.unwrap();

    let short = CallCx::background().with_timeout(Duration::from_millis(200));
    let api = GroupsApi::new(&c, short).with_confirm_interval(Duration::from_millis(20));
    let wanted: BTreeSet<ObjectId> = [oid(1), oid(2)].into();
    let err = api.wait_for_set(&gid(), Relation::Members, &wanted).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&format!("still missing: {}", oid(2))), "{text}");
    assert!(text.contains(&format!("still present: {}", oid(3))), "{text}");
}

/// Serves `total` members in pages of `$top` (at most 999), linking pages with absolute
/// next links the way Graph does.
struct PagedMembers {
    total: usize,
    base: String,
}

impl Respond for PagedMembers {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: std::collections::HashMap<String, String> =
            request.url.query_pairs().into_owned().collect();
        let top: usize = query.get("$top").and_then(|t| t.parse().ok()).unwrap_or(100).min(999);
        let skip: usize = query.get("$skiptoken").and_then(|t| t.parse().ok()).unwrap_or(0);
        let end = (skip + top).min(self.total);
        let value: Vec<Value> = (skip..end)
            .map(|n| json!({"@odata.type": "#microsoft.graph.user", "id": oid(n).as_str()}))
            .collect();
        let mut body = json!({ "value": value });
        if end < self.total {
            body["@odata.nextLink"] = json!(format!(
                "{}/v1.0/groups/{GROUP}/members?$select=id&$top={top}&$skiptoken={end}",
                self.base
            ));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

#[tokio::test]
async fn reading_10000_members_takes_at_most_12_list_requests() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{GROUP}/members")))
        .respond_with(PagedMembers { total: 10_000, base: server.uri() })
        .mount(&server)
        .await;
    let c = client(&server);
    let ids = GroupsApi::new(&c, cx()).list_ids(&gid(), Relation::Members).await.unwrap();
    assert_eq!(ids.len(), 10_000);
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests.len() <= crate::resources::groups::wire::max_list_requests(10_000),
        "{}",
        requests.len()
    );
    assert!(requests.iter().all(|r| r.url.query().is_some_and(|q| q.contains("$select=id"))));
}
