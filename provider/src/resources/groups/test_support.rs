//! Shared test helpers: a Graph client for a wiremock server on 127.0.0.1 with a fake token
//! source (plain http is allowed only on loopback), and provider data holding it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use wiremock::MockServer;

use super::resource::GraphAccess;
use crate::framework::resource::Ctx;
use crate::graph::auth::{AccessToken, TokenSource};
use crate::graph::config::{Credential, GraphConfig, Secret};
use crate::graph::retry::RetryPolicy;
use crate::graph::{CallCx, GraphClient, Tuning};

#[derive(Debug)]
struct FakeTokens;

#[async_trait]
impl TokenSource for FakeTokens {
    async fn fetch(&self) -> crate::graph::error::Result<AccessToken> {
        Ok(AccessToken { token: Secret::new("tok"), expires_at: Instant::now() + Duration::from_secs(3600) })
    }
}

/// A client for `server` with millisecond retry back-off.
pub fn client(server: &MockServer) -> GraphClient {
    let config = GraphConfig {
        tenant_id: "tenant".into(),
        credential: Credential::ClientSecret { client_id: "app".into(), secret: Secret::new("s") },
        graph_endpoint: url::Url::parse(&server.uri()).unwrap(),
        authority_host: url::Url::parse("https://login.microsoftonline.com").unwrap(),
        ca_certificate_file: None,
        user_agent: "autopilot-test".into(),
    };
    let tuning = Tuning {
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        },
        // The mocks answer single requests; `$batch` sharing is tested in `graph::tests`.
        coalesce_reads: false,
        ..Tuning::default()
    };
    GraphClient::with_token_source(config, tuning, Arc::new(FakeTokens)).unwrap()
}

/// Provider data for the resources under test.
pub struct TestData(pub GraphClient);

impl GraphAccess for TestData {
    fn graph(&self) -> &GraphClient {
        &self.0
    }
}

pub fn data(server: &MockServer) -> TestData {
    TestData(client(server))
}

/// A framework context whose deadline only guards against hangs; no assertion depends on timing.
pub fn ctx() -> Ctx {
    Ctx::new(tokio_util::sync::CancellationToken::new(), Some(Instant::now() + Duration::from_secs(30)))
}

/// The Graph call context matching [`ctx`].
pub fn cx() -> CallCx {
    CallCx::background().with_timeout(Duration::from_secs(30))
}
