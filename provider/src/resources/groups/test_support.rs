//! Shared test helpers: a Graph client for a wiremock server on 127.0.0.1 with a fake token
//! source (plain http is allowed only on loopback), and provider data holding it.

use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::framework::resource::Ctx;
use crate::graph::{CallCx, GraphClient};
use crate::resources::ProviderData;

/// A client for `server` with millisecond retry back-off.
pub fn client(server: &MockServer) -> GraphClient {
    crate::resources::testkit::client(&server.uri())
}

/// Provider data for the resources under test.
pub fn data(server: &MockServer) -> ProviderData {
    crate::resources::testkit::provider_data(&server.uri())
}

/// The first GET of `at` answers Graph's 404 for an object not replicated yet; later GETs fall
/// through to the mocks mounted after this one.
pub async fn mount_not_found_once(server: &MockServer, at: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            serde_json::json!({"error": {"code": "Request_ResourceNotFound", "message": "x"}}),
        ))
        .up_to_n_times(1)
        .mount(server)
        .await;
}

/// A framework context whose deadline only guards against hangs; no assertion depends on timing.
pub fn ctx() -> Ctx {
    Ctx::new(tokio_util::sync::CancellationToken::new(), Some(Instant::now() + Duration::from_secs(30)))
}

/// The Graph call context matching [`ctx`].
pub fn cx() -> CallCx {
    CallCx::background().with_timeout(Duration::from_secs(30))
}
