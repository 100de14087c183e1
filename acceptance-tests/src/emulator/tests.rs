//! In-process tests of the whole router (`app().oneshot(...)`, no sockets).

use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::fixtures::{INTUNE_PROVISIONING_CLIENT_APP_ID, INTUNE_PROVISIONING_CLIENT_SP_ID, USERS_FIXTURE};
use super::pipeline::DropConnection;
use super::state::{AppState, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, EmulatorConfig};
use super::store::Clock;
use super::{app, faults::FaultSettings};

const BASE: &str = "https://graph.emulator.invalid";

struct Harness {
    app: Router,
    state: AppState,
    clock: Clock,
    token: String,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    dropped: bool,
}

impl Harness {
    async fn new(configure: impl FnOnce(&mut EmulatorConfig)) -> Self {
        let clock = Clock::manual();
        let mut config =
            EmulatorConfig { clock: clock.clone(), base_url: BASE.into(), ..EmulatorConfig::default() };
        configure(&mut config);
        let state = AppState::new(config).unwrap_or_else(|e| panic!("state: {e}"));
        let app = app(state.clone());
        let mut h = Harness { app, state, clock, token: String::new() };
        let reply = h.token_request(DEFAULT_CLIENT_SECRET).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        h.token = reply.body["access_token"].as_str().unwrap_or_default().to_owned();
        h
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap_or_else(|e| match e {});
        let status = response.status();
        let headers = response.headers().clone();
        let dropped = response.extensions().get::<DropConnection>().is_some();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap_or_default();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply { status, headers, body, dropped }
    }

    async fn token_request(&self, secret: &str) -> Reply {
        let form = format!(
            "grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&client_secret={secret}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
        );
        let request = Request::post(format!("/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap_or_default();
        self.send(request).await
    }

    async fn call_with(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(uri);
        if !self.token.is_empty() {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = match body {
            Some(b) => {
                builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string()))
            }
            None => builder.body(Body::empty()),
        }
        .unwrap_or_default();
        self.send(request).await
    }

    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        self.call_with(method, uri, body, &[]).await
    }

    async fn control(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let builder = Request::builder().method(method).uri(uri);
        let request = match body {
            Some(b) => {
                builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string()))
            }
            None => builder.body(Body::empty()),
        }
        .unwrap_or_default();
        self.send(request).await
    }

    async fn create_group(&self, name: &str, extra: Value) -> Reply {
        let mut body = json!({
            "displayName": name, "mailEnabled": false, "mailNickname": "nick", "securityEnabled": true, "groupTypes": []
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.call(Method::POST, "/v1.0/groups", Some(body)).await
    }
}

fn sp_bind() -> Value {
    json!([format!("https://graph.microsoft.com/v1.0/servicePrincipals/{INTUNE_PROVISIONING_CLIENT_SP_ID}")])
}

#[tokio::test]
async fn token_endpoint_accepts_the_secret_and_rejects_others() {
    let h = Harness::new(|_| {}).await;
    assert!(h.token.starts_with("emulator."));
    let bad = h.token_request("wrong").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.body["error"], "invalid_client");
    assert!(bad.body["error_description"].as_str().unwrap_or_default().starts_with("AADSTS7000215"));
    assert!(!bad.body.to_string().contains("wrong"), "the secret must not be echoed");

    let wrong_tenant = h
        .send(
            Request::post("/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&client_secret=x&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default")))
                .unwrap_or_default(),
        )
        .await;
    assert_eq!(wrong_tenant.status, StatusCode::BAD_REQUEST);
    let bad_scope = h
        .send(
            Request::post(format!("/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&client_secret={DEFAULT_CLIENT_SECRET}&scope=User.Read")))
                .unwrap_or_default(),
        )
        .await;
    assert_eq!(bad_scope.body["error"], "invalid_scope");

    // The log records token requests with the secret redacted.
    let log = h.control(Method::GET, "/_emulator/requests", None).await;
    assert!(!log.body.to_string().contains(DEFAULT_CLIENT_SECRET));
    assert_eq!(log.body[0]["body"]["client_secret"], "<redacted>");
}

#[tokio::test]
async fn graph_routes_need_a_valid_token() {
    let mut h = Harness::new(|_| {}).await;
    h.token = "bogus".into();
    let r = h.call(Method::GET, "/v1.0/groups", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"]["code"], "InvalidAuthenticationToken");
    assert!(r.body["error"]["innerError"]["request-id"].is_string());
    h.token.clear();
    let r = h.call(Method::GET, "/v1.0/groups", None).await;
    assert_eq!(r.body["error"]["message"], "Access token is empty.");
}

#[tokio::test]
async fn group_with_owner_bind_is_readable_with_its_owner() {
    let h = Harness::new(|_| {}).await;
    let created = h
        .create_group(
            "Autopilot DPP devices",
            json!({"owners@odata.bind": sp_bind(), "isAssignableToRole": false}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(created.body["@odata.context"], format!("{BASE}/v1.0/$metadata#groups/$entity"));
    assert!(created.body.get("owners@odata.bind").is_none());

    let got =
        h.call(Method::GET, &format!("/v1.0/groups/{id}?$select=id,displayName,securityEnabled"), None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["displayName"], "Autopilot DPP devices");
    assert!(got.body.get("mailNickname").is_none(), "$select is honoured");

    let owners =
        h.call(Method::GET, &format!("/beta/groups/{id}/owners?$select=id,appId,displayName"), None).await;
    assert_eq!(owners.status, StatusCode::OK, "{}", owners.body);
    let value = owners.body["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["@odata.type"], "#microsoft.graph.servicePrincipal");
    assert_eq!(value[0]["appId"], INTUNE_PROVISIONING_CLIENT_APP_ID);

    // Adding the same owner again is a 400 like Graph's.
    let again = h
        .call(
            Method::POST,
            &format!("/v1.0/groups/{id}/owners/$ref"),
            Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{INTUNE_PROVISIONING_CLIENT_SP_ID}")})),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body["error"]["message"].as_str().unwrap_or_default().contains("already exist"));

    // A non-existent object: 404.
    let missing = h
        .call(
            Method::POST,
            &format!("/v1.0/groups/{id}/members/$ref"),
            Some(json!({"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/99999999-9999-4999-8999-999999999999"})),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["code"], "Request_ResourceNotFound");

    // The control dump shows owners as an id list.
    let objects = h.control(Method::GET, "/_emulator/objects", None).await;
    let groups = objects.body["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(groups[0]["owners"], json!([INTUNE_PROVISIONING_CLIENT_SP_ID]));
}

#[tokio::test]
async fn create_validation_is_strict() {
    let h = Harness::new(|_| {}).await;
    let binds: Vec<String> =
        USERS_FIXTURE.iter().cycle().take(21).map(|(id, _, _)| format!("{BASE}/v1.0/users/{id}")).collect();
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (json!({"members@odata.bind": binds}), StatusCode::BAD_REQUEST, "maximum of 20"),
        (
            json!({"colour": "blue"}),
            StatusCode::BAD_REQUEST,
            "does not exist on type 'microsoft.graph.group'",
        ),
        (json!({"id": "x"}), StatusCode::BAD_REQUEST, "read-only"),
        (json!({"securityEnabled": "yes"}), StatusCode::BAD_REQUEST, "Edm.Boolean"),
        (json!({"mailNickname": "has space"}), StatusCode::BAD_REQUEST, "mailNickname"),
        (json!({"mailEnabled": true}), StatusCode::BAD_REQUEST, "mail-enabled"),
        (
            json!({"owners@odata.bind": ["https://graph.microsoft.com/v1.0/servicePrincipals/not-a-guid"]}),
            StatusCode::BAD_REQUEST,
            "Invalid object identifier",
        ),
        (
            json!({"owners@odata.bind": ["/v1.0/servicePrincipals/x"]}),
            StatusCode::BAD_REQUEST,
            "Invalid URL format",
        ),
        (
            json!({"owners@odata.bind": ["https://graph.microsoft.com/v1.0/directoryObjects/99999999-9999-4999-8999-999999999999"]}),
            StatusCode::NOT_FOUND,
            "does not exist",
        ),
        (json!({"groupTypes": ["DynamicMembership"]}), StatusCode::BAD_REQUEST, "membershipRule"),
        (json!({"visibility": "Secret"}), StatusCode::BAD_REQUEST, "visibility"),
        (json!({"isAssignableToRole": true}), StatusCode::FORBIDDEN, "Insufficient privileges"),
    ];
    for (extra, status, text) in cases {
        let r = h.create_group("g", extra.clone()).await;
        assert_eq!(r.status, status, "{extra}: {}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(text), "{extra}: {message}");
    }
    let missing = h
        .call(
            Method::POST,
            "/v1.0/groups",
            Some(json!({"displayName": "x", "mailEnabled": false, "securityEnabled": true})),
        )
        .await;
    assert!(missing.body["error"]["message"].as_str().unwrap_or_default().contains("mailNickname"));
    let objects = h.control(Method::GET, "/_emulator/objects", None).await;
    assert_eq!(objects.body["groups"], json!([]), "nothing was stored by failed creates");
}

#[tokio::test]
async fn filter_with_escaped_quote_finds_duplicates_by_name() {
    let h = Harness::new(|_| {}).await;
    for name in ["O'Brien devices", "O'Brien devices", "Other"] {
        assert_eq!(h.create_group(name, json!({})).await.status, StatusCode::CREATED);
    }
    let r = h
        .call(
            Method::GET,
            "/v1.0/groups?$filter=displayName%20eq%20'O''Brien%20devices'&$select=id,displayName",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(2));
    let ne = h.call(Method::GET, "/v1.0/groups?$filter=displayName%20ne%20'Other'", None).await;
    assert_eq!(ne.status, StatusCode::BAD_REQUEST, "ne needs advanced query headers");
    let ne = h
        .call_with(
            Method::GET,
            "/v1.0/groups?$filter=displayName%20ne%20'Other'&$count=true",
            None,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(ne.body["@odata.count"], 2);
    let bad = h.call(Method::GET, "/v1.0/groups?$filter=description%20eq%20'x'", None).await;
    assert_eq!(bad.body["error"]["code"], "Request_UnsupportedQuery");
}

#[tokio::test]
async fn members_page_with_top_and_next_links() {
    let h = Harness::new(|_| {}).await;
    let binds: Vec<String> = USERS_FIXTURE
        .iter()
        .map(|(id, _, _)| format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}"))
        .collect();
    let g = h.create_group("users", json!({"members@odata.bind": binds})).await;
    let id = g.body["id"].as_str().unwrap_or_default().to_owned();
    let mut url = format!("/v1.0/groups/{id}/members?$top=3&$select=id");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = h.call(Method::GET, &url, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        pages += 1;
        seen.extend(r.body["value"].as_array().cloned().unwrap_or_default());
        let Some(next) = r.body["@odata.nextLink"].as_str() else { break };
        assert!(next.starts_with(&format!("{BASE}/v1.0/groups/{id}/members?")), "{next}");
        url = next.trim_start_matches(BASE).to_owned();
    }
    assert_eq!((pages, seen.len()), (2, USERS_FIXTURE.len()));
    let too_big = h.call(Method::GET, &format!("/v1.0/groups/{id}/members?$top=1000"), None).await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn next_link_host_moves_next_links_to_another_host_also_inside_batch() {
    let h = Harness::new(|_| {}).await;
    let set =
        h.control(Method::POST, "/_emulator/faults", Some(json!({"next_link_host": "evil.example"}))).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let page = h.call(Method::GET, "/v1.0/users?$top=1&$select=id", None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let next = page.body["@odata.nextLink"].as_str().unwrap_or_default();
    assert!(next.starts_with("https://evil.example/v1.0/users?"), "{next}");
    assert!(next.contains("skiptoken"), "the rest of the link is kept: {next}");
    let batch = json!({"requests": [{"id": "1", "method": "GET", "url": "/users?$top=1"}]});
    let r = h.call(Method::POST, "/v1.0/$batch", Some(batch)).await;
    let inner = r.body["responses"][0]["body"]["@odata.nextLink"].as_str().unwrap_or_default();
    assert!(inner.starts_with("https://evil.example/v1.0/users?"), "{}", r.body);
    let last = h.call(Method::GET, "/v1.0/users?$top=999", None).await;
    assert!(last.body.get("@odata.nextLink").is_none(), "a last page gets no link");

    let bad =
        h.control(Method::POST, "/_emulator/faults", Some(json!({"next_link_host": "evil.example/x"}))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let off = h.control(Method::POST, "/_emulator/faults", Some(json!({"next_link_host": null}))).await;
    assert_eq!(off.status, StatusCode::OK);
    let page = h.call(Method::GET, "/v1.0/users?$top=1", None).await;
    assert!(page.body["@odata.nextLink"].as_str().unwrap_or_default().starts_with(BASE), "{}", page.body);
}

#[tokio::test]
async fn batch_runs_dependencies_and_fails_dependents_with_424() {
    let h = Harness::new(|c| c.faults.seed = 7).await;
    let body = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/groups", "headers": {"Content-Type": "application/json"},
         "body": {"displayName": "b", "mailEnabled": false, "mailNickname": "b", "securityEnabled": true}},
        {"id": "2", "method": "GET", "url": "/groups/99999999-9999-4999-8999-999999999999"},
        {"id": "3", "method": "GET", "url": "groups?$select=id", "dependsOn": ["1"]},
        {"id": "4", "method": "GET", "url": "/users", "dependsOn": ["2"]},
        {"id": "5", "method": "GET", "url": "/deviceManagement/configurationPolicies"}
    ]});
    let r = h.call(Method::POST, "/v1.0/$batch", Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let responses = r.body["responses"].as_array().cloned().unwrap_or_default();
    let status = |id: &str| responses.iter().find(|x| x["id"] == id).map(|x| x["status"].clone());
    assert_eq!(status("1"), Some(json!(201)));
    assert_eq!(status("2"), Some(json!(404)));
    assert_eq!(status("3"), Some(json!(200)));
    assert_eq!(status("4"), Some(json!(424)));
    assert_eq!(status("5"), Some(json!(400)), "beta-only path inside a v1.0 batch fails");

    let too_many: Vec<Value> =
        (0..21).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"})).collect();
    let r = h.call(Method::POST, "/v1.0/$batch", Some(json!({"requests": too_many}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let no_type = json!({"requests": [{"id": "1", "method": "POST", "url": "/groups", "body": {}}]});
    let r = h.call(Method::POST, "/v1.0/$batch", Some(no_type)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn request_log_links_inner_batch_requests_to_the_envelope() {
    let h = Harness::new(|_| {}).await;
    h.call(Method::GET, "/v1.0/users?$top=1", None).await;
    let body = json!({"requests": [
        {"id": "a", "method": "GET", "url": "/users"},
        {"id": "b", "method": "GET", "url": "/groups", "dependsOn": ["a"]}
    ]});
    h.call(Method::POST, "/beta/$batch", Some(body)).await;
    let log = h.control(Method::GET, "/_emulator/requests", None).await;
    let entries = log.body.as_array().cloned().unwrap_or_default();
    let paths: Vec<&str> = entries.iter().filter_map(|e| e["path"].as_str()).collect();
    assert_eq!(paths[1..], ["/v1.0/users?$top=1", "/beta/$batch", "/beta/users", "/beta/groups"]);
    assert_eq!(entries[1]["batch_id"], Value::Null);
    assert_eq!(entries[2]["batch_id"], Value::Null);
    assert_eq!(entries[3]["batch_id"], 2);
    assert_eq!(entries[4]["batch_id"], 2);
    assert_eq!(entries[3]["status"], 200);
    assert_eq!(entries[2]["body"]["requests"][0]["id"], "a");
}

#[tokio::test]
async fn consistency_lag_hides_new_groups_until_the_window_passes() {
    let h = Harness::new(|c| c.faults.consistency_lag_ms = 2_000).await;
    let created = h.create_group("lagging", json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(h.call(Method::GET, &format!("/v1.0/groups/{id}"), None).await.status, StatusCode::NOT_FOUND);
    let listed = h.call(Method::GET, "/v1.0/groups?$filter=displayName%20eq%20'lagging'", None).await;
    assert_eq!(listed.body["value"], json!([]));
    h.clock.advance(Duration::from_millis(2_000));
    assert_eq!(h.call(Method::GET, &format!("/v1.0/groups/{id}"), None).await.status, StatusCode::OK);

    let patched =
        h.call(Method::PATCH, &format!("/v1.0/groups/{id}"), Some(json!({"description": "new"}))).await;
    assert_eq!(patched.status, StatusCode::NO_CONTENT, "{}", patched.body);
    let stale = h.call(Method::GET, &format!("/v1.0/groups/{id}"), None).await;
    assert_eq!(stale.body["description"], Value::Null, "stale read inside the window");
    h.clock.advance(Duration::from_millis(2_000));
    let fresh = h.call(Method::GET, &format!("/v1.0/groups/{id}"), None).await;
    assert_eq!(fresh.body["description"], "new");
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_and_changes_nothing() {
    let h = Harness::new(|c| c.faults.throttle_percent = 100).await;
    let r = h.create_group("throttled", json!({})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("1"));
    assert_eq!(r.body["error"]["code"], "TooManyRequests");
    let objects = h.control(Method::GET, "/_emulator/objects", None).await;
    assert_eq!(objects.body["groups"], json!([]));
    // The token endpoint and the control API are never faulted.
    assert_eq!(h.token_request(DEFAULT_CLIENT_SECRET).await.status, StatusCode::OK);
    let set = h
        .control(
            Method::POST,
            "/_emulator/faults",
            Some(json!({"throttle_percent": 0, "error-percent": 100})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    let r = h.create_group("unavailable", json!({})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    h.control(Method::POST, "/_emulator/faults", Some(json!({"error_percent": 0}))).await;
    assert_eq!(h.create_group("fine", json!({})).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn lost_responses_are_marked_but_committed() {
    let h = Harness::new(|c| c.faults.lost_response_percent = 100).await;
    let r = h.create_group("lost", json!({})).await;
    assert!(r.dropped);
    assert_eq!(h.state.store().list_latest("groups").len(), 1);
    let objects = h.control(Method::GET, "/_emulator/objects", None).await;
    assert_eq!(objects.body["groups"][0]["displayName"], "lost");
    let log = h.control(Method::GET, "/_emulator/requests", None).await;
    assert_eq!(log.body[1]["response_dropped"], true);
}

/// A lost response is one lost HTTP exchange: a `$batch` envelope is lost as a whole, its inner
/// requests do not each roll the dice again (20 rolls made a full batch almost never arrive).
#[tokio::test]
async fn a_lost_batch_is_one_loss_not_one_per_inner_request() {
    let h = Harness::new(|c| c.faults.lost_response_percent = 100).await;
    let requests: Vec<_> =
        (0..3).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/groups?$select=id"})).collect();
    let r = h.call(Method::POST, "/v1.0/$batch", Some(json!({"requests": requests}))).await;
    assert!(r.dropped);
    let log = h.control(Method::GET, "/_emulator/requests", None).await;
    let entries = log.body.as_array().cloned().unwrap_or_default();
    let dropped: Vec<bool> = entries
        .iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.contains("groups") || p.contains("$batch")))
        .map(|e| e["response_dropped"] == true)
        .collect();
    assert_eq!(dropped.iter().filter(|d| **d).count(), 1, "only the envelope: {entries:?}");
    assert_eq!(dropped.len(), 4, "{entries:?}");
}

#[tokio::test]
async fn missing_roles_give_403() {
    let h = Harness::new(|c| c.roles = Some(vec!["Group.Create".into(), "User.Read.All".into()])).await;
    let denied = h.call(Method::GET, "/v1.0/groups", None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.body["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(denied.body["error"]["message"], "Insufficient privileges to complete the operation.");
    // Group.Create alone cannot bind a service-principal owner (needs Application.Read.All).
    let r = h.create_group("g", json!({"owners@odata.bind": sp_bind()})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(h.create_group("g", json!({})).await.status, StatusCode::CREATED);
    let set = h.control(Method::POST, "/_emulator/roles", Some(json!({"roles": ["Group.Read.All"]}))).await;
    assert_eq!(set.status, StatusCode::OK);
    assert_eq!(h.call(Method::GET, "/v1.0/groups", None).await.status, StatusCode::OK);
    assert_eq!(h.create_group("g2", json!({})).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn versions_and_segments_are_checked_like_graph() {
    let h = Harness::new(|_| {}).await;
    let r = h.call(Method::GET, "/v1.0/deviceManagement/configurationPolicies", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["code"], "BadRequest");
    assert_eq!(r.body["error"]["message"], "Resource not found for the segment 'configurationPolicies'.");
    assert!(r.headers.contains_key("request-id"), "fallbacks go through the pipeline too");
    assert_eq!(
        r.headers.get("request-id").and_then(|v| v.to_str().ok()),
        r.body["error"]["innerError"]["request-id"].as_str()
    );
    let r = h.call(Method::GET, "/v2.0/groups", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.call(Method::PUT, "/v1.0/groups", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn service_principals_by_app_id_and_create_when_missing() {
    let h = Harness::new(|_| {}).await;
    let by_key = h
        .call(
            Method::GET,
            &format!("/v1.0/servicePrincipals(appId='{INTUNE_PROVISIONING_CLIENT_APP_ID}')?$select=id,appId"),
            None,
        )
        .await;
    assert_eq!(by_key.status, StatusCode::OK, "{}", by_key.body);
    assert_eq!(by_key.body["id"], INTUNE_PROVISIONING_CLIENT_SP_ID);
    let filtered = h
        .call(
            Method::GET,
            &format!("/v1.0/servicePrincipals?$filter=appId%20eq%20'{INTUNE_PROVISIONING_CLIENT_APP_ID}'"),
            None,
        )
        .await;
    assert_eq!(filtered.body["value"].as_array().map(Vec::len), Some(1));
    let body = json!({"appId": INTUNE_PROVISIONING_CLIENT_APP_ID});
    let conflict = h.call(Method::POST, "/v1.0/servicePrincipals", Some(body.clone())).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.body["error"]["code"], "Request_MultipleObjectsWithSameKeyValue");
    let deleted = h
        .control(
            Method::DELETE,
            &format!("/_emulator/objects/servicePrincipals/{INTUNE_PROVISIONING_CLIENT_SP_ID}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let created = h.call(Method::POST, "/v1.0/servicePrincipals", Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["displayName"], "Intune Provisioning Client");
    let unknown = h
        .call(
            Method::POST,
            "/v1.0/servicePrincipals",
            Some(json!({"appId": "12345678-1234-4234-8234-123456789012"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    h.control(Method::POST, "/_emulator/reset", None).await;
    let restored = h
        .call(Method::GET, &format!("/v1.0/servicePrincipals/{INTUNE_PROVISIONING_CLIENT_SP_ID}"), None)
        .await;
    assert_eq!(restored.status, StatusCode::OK);
}

#[tokio::test]
async fn owners_and_members_can_be_removed_but_not_the_last_user_owner() {
    let h = Harness::new(|_| {}).await;
    let (u1, u2) = (USERS_FIXTURE[0].0, USERS_FIXTURE[1].0);
    let g = h
        .create_group("owned", json!({"owners@odata.bind": [format!("{BASE}/v1.0/users/{u1}")], "members@odata.bind": [format!("{BASE}/v1.0/users/{u2}")]}))
        .await;
    let id = g.body["id"].as_str().unwrap_or_default().to_owned();
    let last = h.call(Method::DELETE, &format!("/v1.0/groups/{id}/owners/{u1}/$ref"), None).await;
    assert_eq!(last.status, StatusCode::BAD_REQUEST, "{}", last.body);
    let patch = h
        .call(
            Method::PATCH,
            &format!("/v1.0/groups/{id}"),
            Some(json!({"owners@odata.bind": [format!("{BASE}/v1.0/users/{u2}")]})),
        )
        .await;
    assert_eq!(patch.status, StatusCode::NO_CONTENT, "{}", patch.body);
    assert_eq!(
        h.call(Method::DELETE, &format!("/v1.0/groups/{id}/owners/{u1}/$ref"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call(Method::DELETE, &format!("/v1.0/groups/{id}/members/{u2}/$ref"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call(Method::DELETE, &format!("/v1.0/groups/{id}/members/{u2}/$ref"), None).await.status,
        StatusCode::NOT_FOUND
    );
    let read_only =
        h.call(Method::PATCH, &format!("/v1.0/groups/{id}"), Some(json!({"isAssignableToRole": true}))).await;
    assert_eq!(read_only.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        h.call(Method::DELETE, &format!("/v1.0/groups/{id}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.call(Method::GET, &format!("/v1.0/groups/{id}"), None).await.status, StatusCode::NOT_FOUND);

    // Soft-deleted: visible in deleted items, restorable, purgeable.
    let deleted = h.call(Method::GET, &format!("/v1.0/directory/deletedItems/{id}"), None).await;
    assert_eq!(deleted.body["@odata.type"], "#microsoft.graph.group");
    assert!(deleted.body["deletedDateTime"].is_string());
    let listed = h.call(Method::GET, "/v1.0/directory/deletedItems/microsoft.graph.group", None).await;
    assert_eq!(listed.body["value"].as_array().map(Vec::len), Some(1));
    let restored = h.call(Method::POST, &format!("/v1.0/directory/deletedItems/{id}/restore"), None).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(h.call(Method::GET, &format!("/v1.0/groups/{id}"), None).await.status, StatusCode::OK);
    h.call(Method::DELETE, &format!("/v1.0/groups/{id}"), None).await;
    let purged = h.call(Method::DELETE, &format!("/v1.0/directory/deletedItems/{id}"), None).await;
    assert_eq!(purged.status, StatusCode::NO_CONTENT);
    let gone = h.call(Method::GET, &format!("/v1.0/directory/deletedItems/{id}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn users_by_upn_and_directory_objects_by_ids() {
    let h = Harness::new(|_| {}).await;
    let (id, upn, _) = USERS_FIXTURE[1];
    let r = h.call(Method::GET, &format!("/v1.0/users/{upn}"), None).await;
    assert_eq!(r.body["id"], id);
    let r = h
        .call(
            Method::POST,
            "/v1.0/directoryObjects/getByIds",
            Some(json!({"ids": [id, INTUNE_PROVISIONING_CLIENT_SP_ID], "types": ["servicePrincipal"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["value"][0]["@odata.type"], "#microsoft.graph.servicePrincipal");
}

#[tokio::test]
async fn control_api_changes_objects_out_of_band() {
    let h = Harness::new(|_| {}).await;
    let g = h.create_group("portal", json!({})).await;
    let id = g.body["id"].as_str().unwrap_or_default().to_owned();
    let r = h
        .control(
            Method::PATCH,
            &format!("/_emulator/objects/groups/{id}"),
            Some(json!({"displayName": "renamed", "members": [USERS_FIXTURE[0].0]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let got = h.call(Method::GET, &format!("/v1.0/groups/{id}"), None).await;
    assert_eq!(got.body["displayName"], "renamed");
    let members = h.call(Method::GET, &format!("/v1.0/groups/{id}/members"), None).await;
    assert_eq!(members.body["value"][0]["id"], USERS_FIXTURE[0].0);
    let bad = h.control(Method::POST, "/_emulator/faults", Some(json!({"throttle_percent": 250}))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(FaultSettings::default().validate().is_ok());
}

#[tokio::test]
async fn client_assertions_are_checked_structurally() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let h = Harness::new(|_| {}).await;
    let jwt = |aud: &str| {
        let claims = json!({"iss": DEFAULT_CLIENT_ID, "sub": DEFAULT_CLIENT_ID, "aud": aud, "exp": super::unix_now() + 600});
        format!(
            "{}.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","x5t":"abc"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    };
    let post = |assertion: String| {
        Request::post(format!("/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&scope={}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}",
                url::form_urlencoded::byte_serialize(format!("{BASE}/.default").as_bytes()).collect::<String>()
            )))
            .unwrap_or_default()
    };
    let good = h.send(post(jwt(&format!("{BASE}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token")))).await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    let bad = h.send(post(jwt("https://example.invalid/token"))).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.body["error_description"].as_str().unwrap_or_default().starts_with("AADSTS50027"));
    let log = h.control(Method::GET, "/_emulator/requests", None).await;
    assert!(!log.body.to_string().contains("c2lnbmF0dXJl"), "assertions are redacted");
}

#[tokio::test]
async fn log_keeps_the_path_as_sent() {
    let h = Harness::new(|_| {}).await;
    let path = format!("/v1.0/servicePrincipals(appId='{INTUNE_PROVISIONING_CLIENT_APP_ID}')?$select=id");
    assert_eq!(h.call(Method::GET, &path, None).await.status, StatusCode::OK);
    let log = h.control(Method::GET, "/_emulator/requests", None).await;
    assert_eq!(log.body[1]["path"], path);
}

#[tokio::test]
async fn independent_batch_requests_run_in_varying_order() {
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..16 {
        let h = Harness::new(|c| c.faults.seed = seed).await;
        let body = json!({"requests": [
            {"id": "a", "method": "GET", "url": "/users"},
            {"id": "b", "method": "GET", "url": "/groups"}
        ]});
        assert_eq!(h.call(Method::POST, "/v1.0/$batch", Some(body)).await.status, StatusCode::OK);
        let log = h.control(Method::GET, "/_emulator/requests", None).await;
        let paths: Vec<String> = log
            .body
            .as_array()
            .into_iter()
            .flatten()
            .skip(2)
            .filter_map(|e| e["path"].as_str().map(str::to_owned))
            .collect();
        orders.insert(paths);
    }
    assert_eq!(orders.len(), 2, "both execution orders occur: {orders:?}");
}

#[tokio::test]
async fn conformance_violations_answer_400_and_are_recorded_also_inside_batch() {
    let h = Harness::new(|_| {}).await;
    let ok = h.create_group("fine", json!({})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let bad = h.create_group("bad", json!({"@odata.context": "x"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(bad.body["error"]["code"], "BadRequest");
    assert!(
        bad.body["error"]["message"].as_str().unwrap_or_default().contains("@odata.context"),
        "{}",
        bad.body
    );
    let batch = json!({"requests": [{"id": "1", "method": "POST", "url": "/groups",
        "headers": {"Content-Type": "application/json"},
        "body": {"displayName": "b", "mailEnabled": false, "mailNickname": "b", "securityEnabled": true, "colour": "red"}}]});
    let reply = h.call(Method::POST, "/v1.0/$batch", Some(batch)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["responses"][0]["status"], 400, "{}", reply.body);
    let recorded = h.control(Method::GET, "/_emulator/violations", None).await.body;
    let kinds: Vec<(&str, &str)> = recorded
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| (v["kind"].as_str().unwrap_or(""), v["pointer"].as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(kinds, vec![("stray_annotation", "/@odata.context"), ("unknown_property", "/colour")]);
    // Issued tokens are listed for secret scans.
    let tokens = h.control(Method::GET, "/_emulator/tokens", None).await.body;
    assert_eq!(tokens["access_tokens"], json!([h.token]));
}

// ---- $expand and $orderby on groups (shaping.rs) -------------------------------------------

async fn seed_group_with_members(h: &Harness, id: &str, name: &str, members: usize) {
    let ids: Vec<String> = (0..members).map(|i| format!("b5000000-0000-4000-8000-{i:012}")).collect();
    for (i, user) in ids.iter().enumerate() {
        let user = json!({"id": user, "displayName": format!("User {i}"), "userPrincipalName": format!("u{i}@contoso.onmicrosoft.com")});
        h.control(Method::POST, "/_emulator/objects/users", Some(user)).await;
    }
    let group = json!({"id": id, "displayName": name, "mailNickname": name, "mailEnabled": false,
        "securityEnabled": true, "groupTypes": [], "members": ids, "owners": [INTUNE_PROVISIONING_CLIENT_SP_ID]});
    let reply = h.control(Method::POST, "/_emulator/objects/groups", Some(group)).await;
    assert!(reply.status.is_success(), "{}", reply.body);
}

#[tokio::test]
async fn group_expand_members_is_capped_at_20_and_one_relationship_only() {
    let h = Harness::new(|_| {}).await;
    let id = "c5000000-0000-4000-8000-000000000001";
    seed_group_with_members(&h, id, "big", 25).await;

    let got = h.call(Method::GET, &format!("/v1.0/groups/{id}?$expand=members"), None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let members = got.body["members"].as_array().cloned().unwrap_or_default();
    assert_eq!(members.len(), 20, "Graph expands at most 20 objects");
    assert_eq!(members[0]["@odata.type"], "#microsoft.graph.user");
    assert!(got.body.get("members@odata.nextLink").is_none(), "no next link inside an expansion");

    let got = h
        .call(
            Method::GET,
            &format!("/beta/groups/{id}?$select=id,displayName&$expand=owners($select=id,appId)"),
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(got.body.get("mailNickname").is_none(), "$select still applies to the group");
    assert_eq!(
        got.body["owners"],
        json!([{"@odata.type": "#microsoft.graph.servicePrincipal", "id": INTUNE_PROVISIONING_CLIENT_SP_ID,
                "appId": INTUNE_PROVISIONING_CLIENT_APP_ID}])
    );

    for (query, needle) in [
        ("$expand=members,owners", "maximum allowed is 1"),
        ("$expand=manager", "Could not find a property named 'manager'"),
        ("$expand=members($filter=id%20eq%20'1')", "not supported inside $expand"),
        ("$expand=members($expand=memberOf)", "one level"),
    ] {
        let reply = h.call(Method::GET, &format!("/v1.0/groups/{id}?{query}"), None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}: {}", reply.body);
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{query}: {message}");
    }
}

#[tokio::test]
async fn group_list_with_expand_pages_at_most_100() {
    let h = Harness::new(|_| {}).await;
    seed_group_with_members(&h, "c5000000-0000-4000-8000-000000000001", "with-members", 3).await;
    for i in 0..104 {
        let group = json!({"id": format!("c5100000-0000-4000-8000-{i:012}"), "displayName": format!("g{i}"),
            "mailNickname": format!("g{i}"), "mailEnabled": false, "securityEnabled": true, "groupTypes": []});
        h.control(Method::POST, "/_emulator/objects/groups", Some(group)).await;
    }
    let page = h.call(Method::GET, "/v1.0/groups?$top=999&$expand=members", None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let value = page.body["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(value.len(), 100, "pages shrink to 100 items when expanding");
    assert!(page.body["@odata.nextLink"].is_string());
    let with = value.iter().find(|g| g["displayName"] == "with-members").cloned().unwrap_or_default();
    assert_eq!(with["members"].as_array().map(Vec::len), Some(3));
    assert!(value.iter().all(|g| g["members"].is_array()), "every group carries the expansion");
}

#[tokio::test]
async fn group_orderby_display_name_and_the_advanced_query_rule() {
    let h = Harness::new(|_| {}).await;
    for name in ["bravo", "Alpha", "charlie"] {
        assert_eq!(h.create_group(name, json!({})).await.status, StatusCode::CREATED);
    }
    let names = |reply: &Reply| -> Vec<String> {
        reply.body["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["displayName"].as_str().map(str::to_owned))
            .collect()
    };
    let asc = h.call(Method::GET, "/v1.0/groups?$orderby=displayName", None).await;
    assert_eq!(asc.status, StatusCode::OK, "{}", asc.body);
    assert_eq!(names(&asc), ["Alpha", "bravo", "charlie"]);
    let desc = h.call(Method::GET, "/v1.0/groups?$orderby=displayName%20desc&$top=2", None).await;
    assert_eq!(names(&desc), ["charlie", "bravo"]);
    assert!(desc.body["@odata.nextLink"].as_str().unwrap_or_default().contains("orderby"), "{}", desc.body);

    let filtered = "/v1.0/groups?$filter=startswith(displayName,'b')%20or%20startswith(displayName,'c')&$orderby=displayName%20desc";
    let plain = h.call(Method::GET, filtered, None).await;
    assert_eq!(plain.status, StatusCode::BAD_REQUEST);
    assert_eq!(plain.body["error"]["code"], "Request_UnsupportedQuery");
    assert_eq!(plain.body["error"]["message"], "Sorting not supported for current query.");
    let advanced = h
        .call_with(Method::GET, &format!("{filtered}&$count=true"), None, &[("ConsistencyLevel", "eventual")])
        .await;
    assert_eq!(advanced.status, StatusCode::OK, "{}", advanced.body);
    assert_eq!(names(&advanced), ["charlie", "bravo"]);

    let other = h.call(Method::GET, "/v1.0/groups?$orderby=createdDateTime", None).await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    assert_eq!(other.body["error"]["code"], "Request_UnsupportedQuery");
    // Relationship lists still refuse sorting.
    let members = h
        .call(
            Method::GET,
            &format!("/v1.0/groups/{}/members?$orderby=displayName", "c5000000-0000-4000-8000-000000000001"),
            None,
        )
        .await;
    assert_eq!(members.status, StatusCode::BAD_REQUEST);
}
