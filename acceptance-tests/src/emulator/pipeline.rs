//! The per-request pipeline around every Graph route: request id, logging, bearer-token
//! check, injected faults, lost responses, and rendering of error bodies with the request's
//! correlation ids. The token endpoint only gets logging.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::authenticate;
use super::errors::GraphError;
use super::faults::{Family, Verdict, WriteFaultMode};
use super::request_log::parse_body;
use super::state::AppState;

/// Marks a response whose connection must be dropped instead of answered (lost response).
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

/// Set on inner `$batch` requests: index of the envelope's log entry.
#[derive(Clone, Copy, Debug)]
pub struct BatchContext {
    pub envelope_log_index: usize,
}

/// Path and query as the client sent them (before key-segment normalisation); logged.
#[derive(Clone, Debug)]
pub struct OriginalPath(pub String);

/// Index of the current request's log entry (request extension).
#[derive(Clone, Copy, Debug)]
pub struct LogIndex(pub usize);

const MAX_BODY: usize = 16 * 1024 * 1024;

async fn start(state: &AppState, req: Request) -> Result<(Request, usize, Bytes), Response> {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return Err(GraphError::odata_bad_request("The request body is too large or could not be read.")
                .into_response());
        }
    };
    let content_type =
        parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let logged_body = parse_body(content_type, &bytes);
    let path = match parts.extensions.get::<OriginalPath>() {
        Some(original) => original.0.clone(),
        None => {
            parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned())
        }
    };
    let batch = parts.extensions.get::<BatchContext>().map(|b| b.envelope_log_index);
    let index = state.log().start(parts.method.as_str(), &path, logged_body, batch);
    let mut req = Request::from_parts(parts, Body::from(bytes.clone()));
    req.extensions_mut().insert(LogIndex(index));
    Ok((req, index, bytes))
}

/// Middleware for the token endpoint: log only.
pub async fn token_pipeline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (req, index, _) = match start(&state, req).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    let response = next.run(req).await;
    state.log().finish(index, response.status().as_u16(), false);
    response
}

/// Middleware for Graph routes.
pub async fn graph_pipeline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id =
        req.headers().get("client-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (mut req, index, body) = match start(&state, req).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    let family = Family::of_path(req.uri().path());
    let is_write = req.method() != Method::GET && req.method() != Method::HEAD;
    let mut dropped = false;
    let response = match authenticate(&state, req.headers()) {
        Err(e) => e.into_response(),
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            // Latency is per HTTP round trip: inner `$batch` requests ride on the envelope's
            // (Graph runs them concurrently, so a batch costs about one round trip).
            if req.extensions().get::<BatchContext>().is_none() {
                let latency = state.faults().latency();
                if !latency.is_zero() {
                    tokio::time::sleep(latency).await;
                }
            }
            let now = state.clock().now();
            let verdict = state.faults().before(family, is_write, now);
            match verdict {
                Verdict::Throttle { retry_after_secs } => {
                    GraphError::throttled(retry_after_secs).into_response()
                }
                Verdict::Unavailable => GraphError::service_unavailable().into_response(),
                Verdict::Proceed => {
                    if let Err(error) = conformance(&state, &req, &body) {
                        let response =
                            finish(error.into_response(), &request_id, client_request_id.as_deref());
                        state.log().finish(index, response.status().as_u16(), false);
                        return response;
                    }
                    let write_fault = if is_write && !req.uri().path().ends_with("/$batch") {
                        let path = logged_path(&state, index);
                        state.faults().write_fault(req.method().as_str(), &path)
                    } else {
                        None
                    };
                    if write_fault == Some(WriteFaultMode::Error) {
                        GraphError::service_unavailable().into_response()
                    } else {
                        // A lost response is a lost HTTP exchange: the random loss applies to
                        // the envelope of a `$batch`, not once per inner request (which made a
                        // batch of 20 almost never arrive). A targeted write fault on an inner
                        // request still loses its envelope.
                        let top_level = req.extensions().get::<BatchContext>().is_none();
                        let mut response = next.run(req).await;
                        let foreign_host = state.faults().settings.next_link_host.clone();
                        if let Some(host) = foreign_host {
                            response = next_link_to(response, &host).await;
                        }
                        if response.extensions().get::<DropConnection>().is_some()
                            || write_fault == Some(WriteFaultMode::LostResponse)
                            || (top_level && state.faults().lose_response())
                        {
                            response.extensions_mut().insert(DropConnection);
                            dropped = true;
                        }
                        response
                    }
                }
            }
        }
    };
    let response = finish(response, &request_id, client_request_id.as_deref());
    state.log().finish(index, response.status().as_u16(), dropped);
    response
}

/// Moves a collection page's `@odata.nextLink` to `host` (the `next_link_host` fault); any
/// other response is passed on unchanged.
async fn next_link_to(response: Response, host: &str) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return GraphError::service_unavailable().into_response();
    };
    let mut value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    let moved = value["@odata.nextLink"].as_str().and_then(|link| url::Url::parse(link).ok()).map(|url| {
        let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
        format!("https://{host}{}{query}", url.path())
    });
    let Some(link) = moved else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    value["@odata.nextLink"] = serde_json::Value::String(link);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(value.to_string()))
}

/// Checks the body against the Graph metadata (see [`super::conformance`]); a violation is
/// recorded and answered with Graph's 400 before the route runs.
fn conformance(state: &AppState, req: &Request, body: &Bytes) -> Result<(), GraphError> {
    if req.method() == Method::GET || body.is_empty() {
        return Ok(());
    }
    let shown =
        req.extensions().get::<OriginalPath>().map_or_else(|| req.uri().path().to_owned(), |p| p.0.clone());
    let found = super::conformance::check_request(req.method().as_str(), req.uri().path(), &shown, body);
    state.record_violations(&found);
    for v in &found {
        // Visible in every test's output (the emulator's stderr is inherited), not only to
        // tests that ask `/_emulator/violations`.
        eprintln!(
            "graph-emulator: conformance violation ({:?}) {} {} at '{}': {}",
            v.kind, v.method, v.path, v.pointer, v.message
        );
    }
    // An operation the table does not describe is recorded but not refused: the table, not the
    // client, is what is missing.
    match found.iter().find(|v| v.kind != super::conformance::ViolationKind::UnmappedOperation) {
        None => Ok(()),
        Some(first) => {
            let at =
                if first.pointer.is_empty() { String::new() } else { format!(" (at {})", first.pointer) };
            Err(GraphError::odata_bad_request(format!("{}{at}", first.message)))
        }
    }
}

/// The path (with query) the request was logged under.
fn logged_path(state: &AppState, index: usize) -> String {
    state.log().entries().get(index).map(|e| e.path.clone()).unwrap_or_default()
}

/// Renders a [`GraphError`] body with the request's ids and sets Graph's correlation headers.
fn finish(response: Response, request_id: &str, client_request_id: Option<&str>) -> Response {
    let mut response = match response.extensions().get::<GraphError>().cloned() {
        Some(error) => {
            let body = error.body(request_id, client_request_id, &super::now_rfc3339());
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(body.to_string()))
        }
        None => response,
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(client_request_id.unwrap_or(request_id)) {
        headers.insert("client-request-id", v);
    }
    headers.insert("odata-version", HeaderValue::from_static("4.0"));
    response
}
