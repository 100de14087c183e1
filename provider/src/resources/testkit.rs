//! Test support shared by the resources' unit tests: a Graph client that talks to a wiremock
//! server on 127.0.0.1 (plain http is allowed only on loopback) with a fixed token and
//! millisecond retry back-off, and the `ProviderData` holding it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::framework::resource::Ctx;
use crate::graph::auth::{AccessToken, TokenSource};
use crate::graph::config::{Credential, GraphConfig, Secret};
use crate::graph::retry::RetryPolicy;
use crate::graph::{GraphClient, Tuning};
use crate::resources::ProviderData;
use crate::resources::provider_config::ProviderSettings;

#[derive(Debug)]
struct FixedToken;

#[async_trait]
impl TokenSource for FixedToken {
    async fn fetch(&self) -> crate::graph::error::Result<AccessToken> {
        Ok(AccessToken {
            token: Secret::new("test-token"),
            expires_at: Instant::now() + Duration::from_secs(3600),
        })
    }
}

/// Graph settings for an endpoint at `uri` (a wiremock server).
pub fn graph_config(uri: &str) -> GraphConfig {
    GraphConfig {
        tenant_id: "tenant".into(),
        credential: Credential::ClientSecret { client_id: "app".into(), secret: Secret::new("not-used") },
        graph_endpoint: url::Url::parse(uri).expect("the mock server's uri"),
        authority_host: url::Url::parse("https://login.microsoftonline.com").expect("a url"),
        ca_certificate_file: None,
        user_agent: "autopilot-test".into(),
    }
}

/// A Graph client for an endpoint at `uri`, with two attempts a millisecond apart.
pub fn client(uri: &str) -> GraphClient {
    GraphClient::with_token_source(graph_config(uri), tuning(), Arc::new(FixedToken)).expect("a client")
}

fn tuning() -> Tuning {
    Tuning {
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        },
        // The mocks answer single requests; `$batch` sharing is tested in `graph::tests`.
        coalesce_reads: false,
        ..Tuning::default()
    }
}

/// Provider data for a Graph endpoint at `uri`.
pub fn provider_data(uri: &str) -> ProviderData {
    ProviderData::new(ProviderSettings { graph: graph_config(uri) }, client(uri))
}

/// A context that only guards against hangs; no test depends on timing.
pub fn ctx() -> Ctx {
    Ctx::new(Default::default(), Some(Instant::now() + Duration::from_secs(60)))
}
