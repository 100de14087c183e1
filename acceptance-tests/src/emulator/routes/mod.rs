//! Graph routes, one module per entity family, mounted under `/v1.0` and/or `/beta` by
//! [`GraphRoutes`].
//!
//! # Adding an entity family
//!
//! 1. Create `routes/<family>.rs` with `pub fn routes(r: GraphRoutes) -> GraphRoutes`, registering
//!    paths without the version prefix via [`GraphRoutes::both`], [`GraphRoutes::beta_only`] or
//!    [`GraphRoutes::v1_only`] (a path missing under a version answers Graph's 400 "Resource not
//!    found for the segment ..."; a wrong method answers 405).
//! 2. Add `pub mod <family>;` here and one line in `all_routes`.
//! 3. Name its store collections as constants; add relationship keys to
//!    `fixtures::link_keys`, always-shown collections to `fixtures::ALWAYS_LISTED`, fixtures to
//!    `fixtures::builtin`, and top-level segments to `KNOWN_ROOTS` if new.
//!
//! Handlers take a [`GraphRequest`] (state, caller, version, parsed [`QueryOptions`], headers),
//! optionally `Path<...>` and `Bytes` for the body, and return `GraphResult<Response>`. The
//! pipeline has already checked the token, applied faults and logged the request. Inside a
//! handler:
//! * permissions: `req.require(perm::X)?` (403 styled per family: directory or Intune);
//! * body: `let body = req.json_body(&bytes)?; SPEC.check(&body, Mode::Create)?;` with a
//!   `validate::EntitySpec` table, plus `validate::check_odata_type`, `validate::guid`;
//! * reads: `req.find(collection, kind, id)?` / `req.list(collection)` (consistency lag
//!   applies), 404s via `req.not_found(kind, id)`;
//! * writes: `req.state.store().insert/replace/remove(...)` (no `.await` while holding it);
//! * responses: `req.entity(&map, "<set>/$entity")`, `req.collection(items, "<set>", max_top)`
//!   (filter, paging, `$select`, `$count`), `ok`, `created`, `no_content`;
//! * query checks: `req.query.check_select(type, names)`, `reject_expand`, `reject_orderby`,
//!   `odata::check_filter(&req.query, resource, filterable)`.
//!
//! Plain collections can use the generic handlers in [`crud`] with one `static Collection`.

pub mod apps;
pub mod batch;
pub mod configuration_policies;
pub mod crud;
pub mod device_registration;
pub mod directory;
pub mod imported_identities;
pub mod scripts;

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
use super::store::Record;

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

    /// A path registered under `/v1.0` only (pair it with [`GraphRoutes::beta_only`] when the
    /// two versions allow different methods on the same path).
    pub fn v1_only(mut self, path: &str, route: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(&format!("/v1.0{path}"), route);
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
    graph_router_with(state, all_routes)
}

/// Every entity family: one line each.
fn all_routes(mut routes: GraphRoutes) -> GraphRoutes {
    routes = directory::routes(routes);
    routes = batch::routes(routes);
    routes = device_registration::routes(routes);
    routes = configuration_policies::routes(routes);
    routes = imported_identities::routes(routes);
    routes = apps::routes(routes);
    routes = scripts::routes(routes);
    routes
}

/// The Graph router built from a custom route table (tests of a single family).
pub fn graph_router_with(state: AppState, table: fn(GraphRoutes) -> GraphRoutes) -> Router {
    table(GraphRoutes::default())
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
    "directory",
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

    /// 403 in the style of this request's family unless the caller holds one of `any_of`.
    pub fn require(&self, any_of: &[&str]) -> GraphResult<()> {
        self.caller.require(self.family(), any_of)
    }

    /// 404 in the style of this request's family (`kind` names the entity for Intune).
    pub fn not_found(&self, kind: &str, id: &str) -> GraphError {
        match self.family() {
            Family::Directory => GraphError::not_found(id),
            Family::Intune => GraphError::intune_not_found(kind, id),
        }
    }

    /// The object as readers currently see it (consistency lag applies), or a family-style 404.
    pub fn find(&self, collection: &str, kind: &str, id: &str) -> GraphResult<Record> {
        self.state.store().get(collection, id).ok_or_else(|| self.not_found(kind, id))
    }

    /// Visible objects of a collection (consistency lag applies), as JSON maps.
    pub fn list(&self, collection: &str) -> Vec<Map<String, Value>> {
        self.state.store().list(collection).into_iter().map(|r| r.data).collect()
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

/// A new object id (GUID).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Current UTC time as Graph writes `createdDateTime` (`2021-09-21T07:09:14Z`).
pub fn timestamp() -> String {
    super::now_rfc3339()
}
