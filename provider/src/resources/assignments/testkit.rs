//! Test support: a `ProviderData` whose Graph client talks to a wiremock server on 127.0.0.1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::framework::resource::Ctx;
use crate::graph::auth::{AccessToken, TokenSource};
use crate::graph::config::{Credential, GraphConfig, Secret};
use crate::graph::ratelimit::RateLimit;
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

/// Provider data for a Graph endpoint at `uri` (a wiremock server), with fast retries.
pub fn provider_data(uri: &str) -> ProviderData {
    let config = GraphConfig {
        tenant_id: "tenant".into(),
        credential: Credential::ClientSecret { client_id: "app".into(), secret: Secret::new("not-used") },
        graph_endpoint: url::Url::parse(uri).unwrap(),
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
        rate_limit: RateLimit::default(),
        // The mocks answer single requests; `$batch` sharing is tested in `graph::tests`.
        coalesce_reads: false,
    };
    let graph = GraphClient::with_token_source(config.clone(), tuning, Arc::new(FixedToken)).unwrap();
    ProviderData { settings: ProviderSettings { graph: config }, graph, deleted: Default::default() }
}

/// A context that only guards against hangs; no test depends on timing.
pub fn ctx() -> Ctx {
    Ctx::new(Default::default(), Some(Instant::now() + Duration::from_secs(60)))
}
