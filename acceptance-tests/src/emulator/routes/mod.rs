//! Graph routes, one module per entity family, mounted under `/v1.0` and/or `/beta` by
//! [`GraphRoutes`]. Adding a family = a module with `pub fn routes(r: GraphRoutes) -> GraphRoutes`
//! plus one line in [`graph_router`].
//!
//! Handlers take a [`GraphRequest`] (state, caller, version, parsed query options, headers),
//! optionally `Path<...>` and `Bytes` for the body, and return `GraphResult<Response>`.

pub mod batch;
pub mod directory;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde_json::{Map, Value};

use super::auth::Caller;
use super::errors::{GraphError, GraphResult};
use super::faults::Family;
use super::odata::QueryOptions;
use super::pipeline::graph_pipeline;
use super::state::AppState;

/// Graph API version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    Beta,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }

    fn of_path(path: &str) -> Option<Self> {
        if path.starts_with("/v1.0/") {
            Some(ApiVersion::V1)
        } else if path.starts_with("/beta/") {
            Some(ApiVersion::Beta)
        } else {
            None
        }
    }
}

/// Route table builder: registers a path under one or both versions.
#[derive(Default)]
pub struct GraphRoutes {
    router: Router<AppState>,
}

impl GraphRoutes {
    /// A path served under `/v1.0` and `/beta` (path without version, e.g. `/groups/{id}`).
    pub fn both(mut self, path: &str, route: MethodRouter<AppState>) -> Self {
        self.router =
            self.router.route(&format!("/v1.0{path}"), route.clone()).route(&format!("/beta{path}"), route);
        self
    }

    /// A path that exists only in beta; under v1.0 the fallback answers 400 "Resource not
    /// found for the segment ..." as Graph does.
    pub fn beta_only(mut self, path: &str, route: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(&format!("/beta{path}"), route);
        self
    }
}

/// All Graph routes with the request pipeline (auth, faults, logging) applied.
pub fn graph_router(state: AppState) -> Router {
    let mut routes = GraphRoutes::default();
    routes = directory::routes(routes);
    routes = batch::routes(routes);
    // Later families: one line each, e.g. `routes = apps::routes(routes);`
    routes
        .router
        .fallback(unknown_segment)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(state.clone(), graph_pipeline))
        .with_state(state)
}

/// Top-level segments Graph knows; the first unknown segment after them is reported.
const KNOWN_ROOTS: &[&str] = &[
    "groups",
    "users",
    "servicePrincipals",
    "directoryObjects",
    "deviceManagement",
    "deviceAppManagement",
    "policies",
];

async fn unknown_segment(req: Request) -> GraphError {
    let path = req.uri().path();
    if ApiVersion::of_path(path).is_none() {
        let version = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        return GraphError::odata_bad_request(format!("Invalid version: {version}"));
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).skip(1).collect();
    let segment = match segments.as_slice() {
        [] => "",
        [first, rest @ ..] if KNOWN_ROOTS.contains(first) => rest.first().copied().unwrap_or(first),
        [first, ..] => first,
    };
    GraphError::segment_not_found(segment)
}

async fn method_not_allowed() -> GraphError {
    GraphError::method_not_allowed()
}

/// Everything a Graph handler usually needs, extracted in one go.
#[derive(Clone, Debug)]
pub struct GraphRequest {
    pub state: AppState,
    pub caller: Caller,
    pub version: ApiVersion,
    pub query: QueryOptions,
    pub headers: HeaderMap,
    /// Request path (with version, without query).
    pub path: String,
}

impl FromRequestParts<AppState> for GraphRequest {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path().to_owned();
        let version =
            ApiVersion::of_path(&path).ok_or_else(|| GraphError::odata_bad_request("Invalid version"))?;
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| GraphError::invalid_token("Access token is empty."))?;
        let query = QueryOptions::parse(parts.uri.query())?;
        let State(state) = State::<AppState>::from_request_parts(parts, state)
            .await
            .map_err(|_| GraphError::odata_bad_request("internal state unavailable"))?;
        Ok(Self { state, caller, version, query, headers: parts.headers.clone(), path })
    }
}

impl GraphRequest {
    /// Service family of this request (error style, page size).
    pub fn family(&self) -> Family {
        Family::of_path(&self.path)
    }

    /// `https://host:port/{version}`.
    pub fn version_base(&self) -> String {
        format!("{}/{}", self.state.base_url(), self.version.as_str())
    }

    /// `@odata.context` value for a fragment such as `groups/$entity` or `directoryObjects`.
    pub fn context(&self, fragment: &str) -> String {
        format!("{}/$metadata#{fragment}", self.version_base())
    }

    /// True if the request carries `ConsistencyLevel: eventual`.
    pub fn consistency_eventual(&self) -> bool {
        self.headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    }

    /// Parses the JSON object body (Content-Type and shape checked).
    pub fn json_body(&self, body: &axum::body::Bytes) -> GraphResult<Map<String, Value>> {
        super::validate::json_object(&self.headers, body)
    }

    /// A paged collection response (filter, `$top`, `$select`, `$count`, next link) for this
    /// request's path. `max_top` is the largest accepted `$top` (999 directory).
    pub fn collection(
        &self,
        items: Vec<Map<String, Value>>,
        context_fragment: &str,
        max_top: usize,
    ) -> GraphResult<Response> {
        let default = self.state.faults().settings.page_size_for(self.family());
        let page_size = self.query.page_size(default, max_top.max(default))?;
        let url = format!("{}{}", self.state.base_url(), self.path);
        let body = self.query.respond(items, page_size, &url, &self.context(context_fragment))?;
        Ok(ok(body))
    }

    /// A single entity with `@odata.context` (after `$select`).
    pub fn entity(&self, object: &Map<String, Value>, context_fragment: &str) -> Value {
        let mut out = Map::new();
        out.insert("@odata.context".into(), Value::String(self.context(context_fragment)));
        out.extend(self.query.project(object));
        Value::Object(out)
    }
}

/// 200 with a JSON body.
pub fn ok(body: Value) -> Response {
    (StatusCode::OK, Json(body)).into_response()
}

/// 201 with a JSON body.
pub fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// 204 without body.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Current UTC time as Graph writes `createdDateTime` (`2021-09-21T07:09:14Z`).
pub fn timestamp() -> String {
    super::now_rfc3339()
}
