//! End-to-end tests of the client against wiremock on 127.0.0.1 (plain http, so with a fake
//! token source: `azure_identity` refuses non-https authorities).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::auth::{AccessToken, TokenSource};
use super::config::{Credential, GraphConfig, Secret};
use super::consistency::retry_not_found_with;
use super::odata::Query;
use super::ratelimit::RateLimit;
use super::retry::RetryPolicy;
use super::{Api, BatchRequest, CallCx, ErrorKind, GraphClient, GraphRequest, Method, Tuning};

#[derive(Debug)]
struct FakeTokens {
    fetches: AtomicU32,
    ttl: Duration,
}

#[async_trait]
impl TokenSource for FakeTokens {
    async fn fetch(&self) -> super::error::Result<AccessToken> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(AccessToken { token: Secret::new(format!("tok-{n}")), expires_at: Instant::now() + self.ttl })
    }
}

fn config(endpoint: &str) -> GraphConfig {
    GraphConfig {
        tenant_id: "tenant".into(),
        credential: Credential::ClientSecret { client_id: "app".into(), secret: Secret::new("sup3r-s3cret") },
        graph_endpoint: url::Url::parse(endpoint).unwrap(),
        authority_host: url::Url::parse("https://login.microsoftonline.com").unwrap(),
        ca_certificate_file: None,
        user_agent: "autopilot-test".into(),
    }
}

fn tuning() -> Tuning {
    Tuning {
        retry: RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        rate_limit: RateLimit::default(),
        coalesce_reads: true,
    }
}

fn client_with(server: &MockServer, tuning: Tuning, ttl: Duration) -> (GraphClient, Arc<FakeTokens>) {
    let tokens = Arc::new(FakeTokens { fetches: AtomicU32::new(0), ttl });
    let c = GraphClient::with_token_source(config(&server.uri()), tuning, tokens.clone()).unwrap();
    (c, tokens)
}

fn client(server: &MockServer) -> GraphClient {
    client_with(server, tuning(), Duration::from_secs(3600)).0
}

fn cx() -> CallCx {
    // Guards against hangs only; no test depends on timing.
    CallCx::background().with_timeout(Duration::from_secs(30))
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

#[tokio::test]
async fn retries_429_honouring_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g1"))
        .respond_with(
            ResponseTemplate::new(429).insert_header("Retry-After", "1").set_body_json(
                json!({"error":{"code":"TooManyRequests","message":"Please retry again later."}}),
            ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id":"g1"})))
        .mount(&server)
        .await;
    let c = client(&server);
    let started = Instant::now();
    let v: Value = c.get_json(&cx(), Api::V1, "/groups/g1").await.unwrap();
    assert_eq!(v["id"], "g1");
    assert_eq!(requests(&server).await.len(), 2);
    // Retry-After (1 s) was honoured instead of the 1-5 ms back-off.
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn retries_503_then_succeeds_and_sends_client_request_id_and_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)).up_to_n_times(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value":[]})))
        .mount(&server)
        .await;
    let c = client(&server);
    let q = Query::new().select(&["id", "displayName"]);
    let rsp = c.get(&cx(), Api::Beta, &q.to_path("/deviceManagement/configurationPolicies")).await.unwrap();
    assert_eq!(rsp.status, 200);
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].url.path(), "/beta/deviceManagement/configurationPolicies");
    assert_eq!(reqs[1].url.query(), Some("$select=id%2CdisplayName"));
    let id = reqs[1].headers.get("client-request-id").unwrap().to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(rsp.client_request_id, id);
}

#[tokio::test]
async fn retry_not_found_after_create() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"error":{"code":"Request_ResourceNotFound","message":"Resource 'g' does not exist."}}),
        ))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id":"g"})))
        .mount(&server)
        .await;
    let c = client(&server);
    let cx = cx();
    let policy = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    let v: Value =
        retry_not_found_with(&cx, &policy, || c.get_json(&cx, Api::V1, "/groups/g")).await.unwrap();
    assert_eq!(v["id"], "g");
    // 404 is not retried by the client itself: exactly 3 + 1 calls.
    assert_eq!(requests(&server).await.len(), 4);
}

#[tokio::test]
async fn follows_next_links_across_three_pages() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(path("/v1.0/groups"))
        .and(query_param("$skiptoken", "p3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value":[{"id":"5"}]})))
        .mount(&server)
        .await;
    Mock::given(path("/v1.0/groups"))
        .and(query_param("$skiptoken", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"value":[{"id":"3"},{"id":"4"}],"@odata.nextLink": format!("{base}/v1.0/groups?$top=2&$skiptoken=p3")}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1.0/groups"))
        .and(query_param("$top", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"value":[{"id":"1"},{"id":"2"}],"@odata.nextLink": format!("{base}/v1.0/groups?$top=2&$skiptoken=p2")}),
        ))
        .with_priority(10)
        .mount(&server)
        .await;
    let c = client(&server);
    let items: Vec<Value> = c.list_all(&cx(), Api::V1, "/groups?$top=2").await.unwrap();
    let ids: Vec<_> = items.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn next_link_to_another_host_is_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/v1.0/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"value":[{"id":"1"}],"@odata.nextLink":"https://evil.example/v1.0/groups?$skiptoken=x"}),
        ))
        .mount(&server)
        .await;
    let c = client(&server);
    let err = c.list_all::<Value>(&cx(), Api::V1, "/groups").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UntrustedUrl);
    assert!(err.to_string().contains("evil.example"), "{err}");
    assert_eq!(requests(&server).await.len(), 1);
    // Same host, other scheme: refused too.
    assert!(
        c.ensure_trusted(&url::Url::parse(&server.uri().replace("http://", "https://")).unwrap()).is_err()
    );
    // Same host, other port: another origin, refused, and the message says which.
    let err = c.ensure_trusted(&url::Url::parse("http://127.0.0.1:1/v1.0/groups").unwrap()).unwrap_err();
    assert!(err.to_string().contains("http://127.0.0.1:1 but only "), "{err}");
}

#[tokio::test]
async fn redirects_to_another_host_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "https://evil.example/steal"))
        .mount(&server)
        .await;
    let err = client(&server).get(&cx(), Api::V1, "/groups").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UntrustedUrl);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn batch_with_mixed_inner_statuses_retries_only_throttled_items() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"responses":[
            {"id":"3","status":429,"headers":{"Retry-After":"0"},"body":{"error":{"code":"TooManyRequests","message":"slow down"}}},
            {"id":"1","status":200,"body":{"id":"a"}},
            {"id":"2","status":404,"body":{"error":{"code":"Request_ResourceNotFound","message":"gone"}}}
        ]})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"responses":[
            {"id":"3","status":200,"body":{"id":"c"}}
        ]})))
        .mount(&server)
        .await;
    let c = client(&server);
    let reqs = vec![
        BatchRequest::get("1", "/groups/a"),
        BatchRequest::get("2", "/groups/b"),
        BatchRequest::get("3", "/groups/c"),
    ];
    let out = c.batch(&cx(), Api::V1, reqs).await.unwrap();
    assert_eq!(
        out.iter().map(|r| (r.id.as_str(), r.status)).collect::<Vec<_>>(),
        [("1", 200), ("2", 404), ("3", 200)]
    );
    assert_eq!(out[0].json::<Value>().unwrap()["id"], "a");
    assert!(out[1].error().unwrap().is_not_found());
    assert_eq!(out[2].json::<Value>().unwrap()["id"], "c");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    let second: Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(second["requests"].as_array().unwrap().len(), 1);
    assert_eq!(second["requests"][0]["id"], "3");
}

#[tokio::test]
async fn batch_of_45_is_sent_as_three_envelopes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/beta/$batch"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let responses: Vec<Value> = body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .map(|r| json!({"id": r["id"], "status": 200, "body": {"url": r["url"]}}))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
        })
        .mount(&server)
        .await;
    let c = client(&server);
    let reqs: Vec<_> = (0..45).map(|i| BatchRequest::get(format!("r{i}"), format!("/groups/{i}"))).collect();
    let out = c.batch(&cx(), Api::Beta, reqs).await.unwrap();
    assert_eq!(out.len(), 45);
    for (i, r) in out.iter().enumerate() {
        assert_eq!(r.id, format!("r{i}"));
        assert_eq!(r.body.as_ref().unwrap()["url"], format!("/groups/{i}"));
    }
    let sizes: Vec<usize> = requests(&server)
        .await
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["requests"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [20, 20, 5]);
}

#[tokio::test]
async fn odata_errors_are_decoded_with_ids() {
    let server = MockServer::start().await;
    let nested = "{\r\n  \"_version\": 3,\r\n  \"Message\": \"An error has occurred - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000\",\r\n  \"CustomApiErrorPhrase\": \"\",\r\n  \"RetryAfter\": null\r\n}";
    Mock::given(method("PATCH"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("request-id", "hdr-rid")
                .set_body_json(json!({"error":{"code":"BadRequest","message": nested,"innerError":{"request-id":"body-rid","date":"2026-01-01T00:00:00"}}})),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    let err =
        c.patch_json::<_, ()>(&cx(), Api::Beta, "/deviceManagement/x", &json!({"a":1})).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Api);
    assert_eq!(err.status, Some(400));
    assert_eq!(err.code.as_deref(), Some("BadRequest"));
    assert_eq!(err.request_id.as_deref(), Some("body-rid"));
    assert!(err.message.starts_with("An error has occurred - Operation ID"), "{}", err.message);
    let sent_id =
        requests(&server).await[0].headers.get("client-request-id").unwrap().to_str().unwrap().to_owned();
    assert_eq!(err.client_request_id.as_deref(), Some(sent_id.as_str()));
    assert!(
        err.to_string().contains("(HTTP 400, BadRequest)")
            && err.to_string().contains("request-id: body-rid")
    );
    // 400 is not retried.
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn token_fetched_once_for_many_calls_and_refreshed_when_stale() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    let (c, tokens) = client_with(&server, tuning(), Duration::from_secs(3600));
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get(&cx(), Api::V1, "/organization").await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(tokens.fetches.load(Ordering::SeqCst), 1);
    assert!(
        requests(&server).await.iter().all(|r| r.headers.get("authorization").unwrap() == "Bearer tok-1")
    );

    // Tokens within the 5-minute refresh margin are replaced before use.
    let (c, tokens) = client_with(&server, tuning(), Duration::from_secs(120));
    c.get(&cx(), Api::V1, "/organization").await.unwrap();
    c.get(&cx(), Api::V1, "/organization").await.unwrap();
    assert_eq!(tokens.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unauthorized_refetches_the_token_once() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer tok-1"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error":{"code":"InvalidAuthenticationToken","message":"expired"}})),
        )
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let (c, tokens) = client_with(&server, tuning(), Duration::from_secs(3600));
    c.get(&cx(), Api::V1, "/organization").await.unwrap();
    assert_eq!(tokens.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn secrets_are_absent_from_debug_and_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}})))
        .mount(&server)
        .await;
    let c = client(&server);
    let err = c.get(&cx(), Api::V1, "/groups").await.unwrap_err();
    assert!(err.is_forbidden());
    for text in [format!("{c:?}"), format!("{err:?}"), err.to_string()] {
        assert!(!text.contains("sup3r-s3cret") && !text.contains("tok-1"), "{text}");
    }
    // Config validation errors do not echo secrets either.
    let mut bad = config("http://graph.example");
    bad.credential =
        Credential::ClientSecret { client_id: "app".into(), secret: Secret::new("sup3r-s3cret") };
    let err = GraphClient::new(bad).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(!format!("{err:?}").contains("sup3r-s3cret"));
}

#[tokio::test]
async fn new_is_lazy_and_refuses_http() {
    // No server exists at this https endpoint: construction must not touch the network.
    let c = GraphClient::new(config("https://graph.invalid")).unwrap();
    assert!(format!("{c:?}").contains("graph.invalid"));
    assert_eq!(GraphClient::new(config("http://graph.microsoft.com")).unwrap_err().kind, ErrorKind::Config);
    let tokens = Arc::new(FakeTokens { fetches: AtomicU32::new(0), ttl: Duration::from_secs(1) });
    assert!(GraphClient::with_token_source(config("http://graph.example"), tuning(), tokens).is_err());
}

#[tokio::test]
async fn cancellation_stops_a_retry_loop_promptly() {
    let server = Arc::new(MockServer::start().await);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let c = client(&server);
    let cx = CallCx::background();
    let canceller = {
        let (cx, server) = (cx.clone(), server.clone());
        tokio::spawn(async move {
            // Cancel only once the first attempt was answered, i.e. during the Retry-After wait.
            while requests(&server).await.is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            cx.cancel.cancel();
        })
    };
    let res = tokio::time::timeout(Duration::from_secs(20), c.get(&cx, Api::V1, "/groups")).await;
    canceller.await.unwrap();
    let err = res.expect("the call must end on cancellation, not after Retry-After").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled);
    assert_eq!(requests(&server).await.len(), 1);
}

/// Terraform's stop while a create is on its way: Graph completes it anyway, so the client
/// waits for the answer (the new id) instead of orphaning the object; a read is abandoned.
#[tokio::test]
async fn cancellation_waits_for_the_answer_of_a_write_in_flight_but_not_of_a_read() {
    let server = Arc::new(MockServer::start().await);
    Mock::given(method("POST"))
        .and(path("/v1.0/groups"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_delay(Duration::from_millis(600))
                .set_body_json(json!({"id": "g-1"})),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    let cancel_on_arrival = |cx: CallCx| {
        let server = server.clone();
        tokio::spawn(async move {
            while requests(&server).await.is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            cx.cancel.cancel();
        })
    };
    let cx = CallCx::background();
    let canceller = cancel_on_arrival(cx.clone());
    let created = c.post_json::<_, Value>(&cx, Api::V1, "/groups", &json!({"displayName": "g"})).await;
    canceller.await.unwrap();
    assert!(cx.cancel.is_cancelled());
    assert_eq!(created.unwrap()["id"], "g-1", "the answer that came after the cancellation is returned");
    assert_eq!(requests(&server).await.len(), 1, "sent once");

    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_delay(Duration::from_secs(3600)).set_body_json(json!({})),
        )
        .mount(&server)
        .await;
    let cx = CallCx::background();
    let canceller = cancel_on_arrival(cx.clone());
    let read = tokio::time::timeout(Duration::from_secs(20), c.get(&cx, Api::V1, "/groups")).await;
    canceller.await.unwrap();
    assert_eq!(read.expect("a read ends at the cancellation").unwrap_err().kind, ErrorKind::Cancelled);
}

#[tokio::test]
async fn deadline_bounds_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let c = client(&server);
    let cx = CallCx::background().with_timeout(Duration::from_secs(10));
    // A Retry-After beyond the deadline ends the call with the last answer, at once.
    let err = c.get(&cx, Api::V1, "/groups").await.unwrap_err();
    assert_eq!(err.status, Some(503));
    assert_eq!(requests(&server).await.len(), 1);
}

/// A server that reads one request per connection and hangs up without answering.
async fn hang_up_server() -> (String, Arc<AtomicU32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicU32::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            drop(sock);
        }
    });
    (format!("http://{addr}"), accepted)
}

#[tokio::test]
async fn dropped_connection_after_post_is_ambiguous_but_get_is_retried() {
    let (uri, accepted) = hang_up_server().await;
    let tokens = Arc::new(FakeTokens { fetches: AtomicU32::new(0), ttl: Duration::from_secs(3600) });
    let c = GraphClient::with_token_source(config(&uri), tuning(), tokens).unwrap();
    let err =
        c.post_json::<_, Value>(&cx(), Api::V1, "/groups", &json!({"displayName":"g"})).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Ambiguous, "{err}");
    assert!(err.is_ambiguous());
    assert_eq!(accepted.load(Ordering::SeqCst), 1);

    let before = accepted.load(Ordering::SeqCst);
    let err = c.get(&cx(), Api::V1, "/groups").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transport, "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst) - before, 5, "max_attempts GETs");

    // A POST explicitly marked idempotent (replace-all actions) is retried like a GET.
    let before = accepted.load(Ordering::SeqCst);
    let req = GraphRequest::new(Method::POST, Api::Beta, "/deviceManagement/x/assign")
        .json(&json!({}))
        .unwrap()
        .idempotent(true);
    assert_eq!(c.send(&cx(), req).await.unwrap_err().kind, ErrorKind::Transport);
    assert_eq!(accepted.load(Ordering::SeqCst) - before, 5);
}

/// A `$batch` made only of reads is as safe to repeat as the reads: a lost envelope is re-sent.
#[tokio::test]
async fn a_lost_envelope_of_reads_is_re_sent() {
    let (uri, accepted) = hang_up_server().await;
    let tokens = Arc::new(FakeTokens { fetches: AtomicU32::new(0), ttl: Duration::from_secs(3600) });
    let c = GraphClient::with_token_source(config(&uri), tuning(), tokens).unwrap();
    let cx = cx();
    let (a, b) = tokio::join!(
        c.get_json_coalesced::<Value>(&cx, Api::V1, "/groups/a"),
        c.post_read_coalesced::<Value>(&cx, Api::V1, "/groups/getByIds", Some(json!({"ids": ["b"]}))),
    );
    assert_eq!(a.unwrap_err().kind, ErrorKind::Transport);
    assert_eq!(b.unwrap_err().kind, ErrorKind::Transport);
    assert_eq!(accepted.load(Ordering::SeqCst), 5, "max_attempts envelopes");
}

#[tokio::test]
async fn intune_writes_are_paced_other_calls_are_not() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    let t =
        Tuning { rate_limit: RateLimit { intune_writes: 2, window: Duration::from_secs(3600) }, ..tuning() };
    let (c, _) = client_with(&server, t, Duration::from_secs(3600));
    for _ in 0..2 {
        c.post_json::<_, ()>(&cx(), Api::Beta, "/deviceManagement/configurationPolicies", &json!({}))
            .await
            .unwrap();
    }
    for _ in 0..5 {
        c.post_json::<_, ()>(&cx(), Api::V1, "/groups", &json!({})).await.unwrap();
    }
    // The budget is spent: the next Intune write waits and hits the (short) deadline unsent.
    let short = CallCx::background().with_timeout(Duration::from_millis(100));
    let err = c
        .post_json::<_, ()>(&short, Api::Beta, "/deviceManagement/configurationPolicies", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(requests(&server).await.len(), 7);
}

#[tokio::test]
async fn concurrent_gets_are_coalesced_into_one_batch() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let responses: Vec<Value> = body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    if r["url"] == "/groups/missing" {
                        json!({"id": r["id"], "status": 404, "body": {"error": {"code": "Request_ResourceNotFound", "message": "gone"}}})
                    } else {
                        json!({"id": r["id"], "status": 200, "body": {"url": r["url"]}})
                    }
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
        })
        .mount(&server)
        .await;
    let c = client(&server);
    let cx = cx();
    let (a, b, again, missing) = tokio::join!(
        c.get_json_coalesced::<Value>(&cx, Api::V1, "/groups/a"),
        c.get_json_coalesced::<Value>(&cx, Api::V1, "/groups/b"),
        c.get_json_coalesced::<Value>(&cx, Api::V1, "/groups/a"),
        c.get_json_coalesced::<Value>(&cx, Api::V1, "/groups/missing"),
    );
    assert_eq!(a.unwrap()["url"], "/groups/a");
    assert_eq!(b.unwrap()["url"], "/groups/b");
    assert_eq!(again.unwrap()["url"], "/groups/a");
    assert!(missing.unwrap_err().is_not_found());
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1, "one $batch for all four reads");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["requests"].as_array().unwrap().len(), 3, "identical paths fetched once");
}

#[tokio::test]
async fn a_lone_coalesced_get_is_a_plain_get() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/beta/deviceManagement/configurationPolicies/p"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id":"p"})))
        .mount(&server)
        .await;
    let c = client(&server);
    let v: Value =
        c.get_json_coalesced(&cx(), Api::Beta, "/deviceManagement/configurationPolicies/p").await.unwrap();
    assert_eq!(v["id"], "p");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_briefly_for_reads_only() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let c = client(&server);
    assert_eq!(c.get(&cx(), Api::V1, "/groups").await.unwrap_err().status, Some(500));
    assert_eq!(requests(&server).await.len(), 3, "SERVER_ERROR_ATTEMPTS");
    let err = c
        .post_json::<_, Value>(&cx(), Api::Beta, "/deviceManagement/x/setTarget", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status, Some(500));
    assert_eq!(requests(&server).await.len(), 4, "a POST is not repeated after a 500");
}

#[tokio::test]
async fn batched_intune_writes_count_individually() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/beta/$batch"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let responses: Vec<Value> = body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| json!({"id": r["id"], "status": 204}))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
        })
        .mount(&server)
        .await;
    let t =
        Tuning { rate_limit: RateLimit { intune_writes: 3, window: Duration::from_secs(3600) }, ..tuning() };
    let (c, _) = client_with(&server, t, Duration::from_secs(3600));
    let writes = |n: usize| {
        (0..n)
            .map(|i| {
                BatchRequest::new(
                    i.to_string(),
                    Method::DELETE,
                    format!("/deviceManagement/deviceManagementScripts/{i}"),
                )
            })
            .collect::<Vec<_>>()
    };
    // Reads inside a batch are free; two writes fit the budget of three.
    let reads = (0..5).map(|i| BatchRequest::get(format!("r{i}"), "/deviceManagement/x")).collect();
    c.batch(&cx(), Api::Beta, reads).await.unwrap();
    c.batch(&cx(), Api::Beta, writes(2)).await.unwrap();
    let short = CallCx::background().with_timeout(Duration::from_millis(100));
    assert_eq!(c.batch(&short, Api::Beta, writes(2)).await.unwrap_err().kind, ErrorKind::Timeout);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn deadline_during_a_post_is_ambiguous_during_a_get_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(20)))
        .mount(&server)
        .await;
    let c = client(&server);
    let short = || CallCx::background().with_timeout(Duration::from_millis(200));
    let err = c.post_json::<_, Value>(&short(), Api::V1, "/groups", &json!({})).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Ambiguous, "{err}");
    let err = c.get(&short(), Api::V1, "/groups").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
}

/// Answers every inner request of a `$batch` with its method, url and body; `settings` gets a
/// next link to a plain page.
fn echo_batch(server_uri: String) -> impl Fn(&Request) -> ResponseTemplate {
    move |req: &Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let responses: Vec<Value> = body["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let answer = if r["url"].as_str().unwrap().ends_with("/settings") {
                    json!({"value": [{"id": "0"}], "@odata.nextLink": format!("{server_uri}/beta/p/settings?$skiptoken=2")})
                } else {
                    json!({"method": r["method"], "url": r["url"], "body": r["body"], "contentType": r["headers"]["Content-Type"]})
                };
                json!({"id": r["id"], "status": 200, "body": answer})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
    }
}

#[tokio::test]
async fn post_reads_and_first_pages_share_a_batch_and_next_pages_are_plain_gets() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/beta/$batch"))
        .respond_with(echo_batch(server.uri()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/beta/p/settings"))
        .and(query_param("$skiptoken", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "1"}]})))
        .mount(&server)
        .await;
    let c = client(&server);
    let cx = cx();
    let ids = json!({"ids": ["x"]});
    let (policy, target, kinds, settings) = tokio::join!(
        c.get_json_coalesced::<Value>(&cx, Api::Beta, "/p"),
        c.post_read_coalesced::<Value>(&cx, Api::Beta, "/p/retrieve", None),
        c.post_read_coalesced::<Value>(&cx, Api::Beta, "/objects/getByIds", Some(ids.clone())),
        c.list_all_coalesced::<Value>(&cx, Api::Beta, "/p/settings"),
    );
    assert_eq!(policy.unwrap()["method"], "GET");
    let target = target.unwrap();
    assert_eq!((target["method"].as_str(), target["body"].is_null()), (Some("POST"), true), "{target}");
    let kinds = kinds.unwrap();
    assert_eq!(kinds["body"], ids, "the POST body travels inside the batch");
    assert_eq!(kinds["contentType"], "application/json", "$batch requires Content-Type with a body");
    let settings: Vec<&str> = settings.as_ref().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(settings, vec!["0", "1"], "the next page is followed");
    let sent = requests(&server).await;
    let shape: Vec<(String, String)> =
        sent.iter().map(|r| (r.method.to_string(), r.url.path().to_owned())).collect();
    assert_eq!(
        shape,
        vec![
            ("POST".to_owned(), "/beta/$batch".to_owned()),
            ("GET".to_owned(), "/beta/p/settings".to_owned())
        ],
        "one $batch for the four reads, then the second page on its own"
    );
}

#[tokio::test]
async fn twenty_one_reads_make_one_full_batch_and_one_plain_get() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(echo_batch(server.uri()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(|req: &Request| {
            ResponseTemplate::new(200).set_body_json(json!({"url": req.url.path()}))
        })
        .mount(&server)
        .await;
    let c = client(&server);
    let cx = cx();
    let reads = (0..21).map(|i| {
        let (c, cx) = (&c, &cx);
        async move { c.get_json_coalesced::<Value>(cx, Api::V1, &format!("/groups/g{i}")).await }
    });
    let answers = futures::future::join_all(reads).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    let sent = requests(&server).await;
    let mut batch_sizes: Vec<usize> = sent
        .iter()
        .map(|r| match r.url.path() {
            "/v1.0/$batch" => {
                serde_json::from_slice::<Value>(&r.body).unwrap()["requests"].as_array().unwrap().len()
            }
            _ => 1,
        })
        .collect();
    batch_sizes.sort_unstable();
    assert_eq!(batch_sizes, vec![1, 20], "a full queue goes at once; the 21st starts the next one");
}

#[tokio::test]
async fn with_coalescing_off_every_read_is_its_own_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "a"}]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/beta/p/retrieve"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    let c = client_with(&server, Tuning { coalesce_reads: false, ..tuning() }, Duration::from_secs(3600)).0;
    assert!(!c.coalesces_reads());
    let cx = cx();
    let (a, b, target) = tokio::join!(
        c.get_json_coalesced::<Value>(&cx, Api::Beta, "/p"),
        c.list_all_coalesced::<Value>(&cx, Api::Beta, "/p/assignments"),
        c.post_read_coalesced::<Value>(&cx, Api::Beta, "/p/retrieve", None),
    );
    assert!(a.is_ok() && target.unwrap()["ok"] == true);
    assert_eq!(b.unwrap().len(), 1);
    let mut paths: Vec<String> = requests(&server).await.iter().map(|r| r.url.path().to_owned()).collect();
    paths.sort();
    assert_eq!(paths, vec!["/beta/p", "/beta/p/assignments", "/beta/p/retrieve"]);
}

#[tokio::test]
async fn a_read_answered_500_inside_the_batch_is_retried_on_its_own() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let responses: Vec<Value> = body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| match r["url"].as_str().unwrap() {
                    "/groups/flaky" => json!({"id": r["id"], "status": 500, "body": {"error": {"code": "InternalServerError", "message": "x"}}}),
                    url => json!({"id": r["id"], "status": 200, "body": {"url": url}}),
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/flaky"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"url": "/groups/flaky", "alone": true})),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    let cx = cx();
    let (ok, flaky) = tokio::join!(
        c.get_json_coalesced::<Value>(&cx, Api::V1, "/groups/ok"),
        c.get_json_coalesced::<Value>(&cx, Api::V1, "/groups/flaky"),
    );
    assert_eq!(ok.unwrap()["url"], "/groups/ok");
    assert_eq!(flaky.unwrap()["alone"], true, "the 500 was retried as a plain GET");
    let paths: Vec<String> = requests(&server).await.iter().map(|r| r.url.path().to_owned()).collect();
    assert_eq!(paths, vec!["/v1.0/$batch", "/v1.0/groups/flaky"]);
}
