//! Graph's OData error body (`{"error":{"code","message","innerError":{...}}}`) and the
//! constructors for the codes the emulator produces.
//!
//! A handler returns `Err(GraphError)`; the response carries the error as an extension and the
//! request pipeline renders the body once it knows the request's `request-id` and
//! `client-request-id` (the same shape Graph uses, so clients can log them).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One Graph error response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Extra response headers (e.g. `Retry-After`).
    pub headers: Vec<(HeaderName, String)>,
}

/// Result alias for handlers.
pub type GraphResult<T> = Result<T, GraphError>;

impl GraphError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self { status, code: code.to_owned(), message: message.into(), headers: Vec::new() }
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Directory object not found (404 `Request_ResourceNotFound`), worded like Entra.
    pub fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// Intune object not found (404 `ResourceNotFound`).
    pub fn intune_not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("{{\"_version\": 3, \"Message\": \"{kind} with id '{id}' was not found\"}}"),
        )
    }

    /// Directory validation failure (400 `Request_BadRequest`).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    /// OData/protocol-level failure (400 `BadRequest`): unknown segment, bad query option, bad batch.
    pub fn odata_bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// Query the directory cannot answer (400 `Request_UnsupportedQuery`).
    pub fn unsupported_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
    }

    /// Unknown path segment, as Graph reports it (also for beta-only paths under v1.0).
    pub fn segment_not_found(segment: &str) -> Self {
        Self::odata_bad_request(format!("Resource not found for the segment '{segment}'."))
    }

    /// Missing application permission on a directory route.
    pub fn directory_forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// Missing application permission on an Intune route.
    pub fn intune_forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "{\"_version\": 3, \"Message\": \"Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementApps.ReadWrite.All, DeviceManagementConfiguration.ReadWrite.All, DeviceManagementServiceConfig.ReadWrite.All\"}",
        )
    }

    /// Missing, unknown or expired bearer token.
    pub fn invalid_token(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message).with_header(
            axum::http::header::WWW_AUTHENTICATE,
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        )
    }

    /// 429 with `Retry-After` in seconds.
    pub fn throttled(retry_after_secs: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Please retry again later.")
            .with_header(axum::http::header::RETRY_AFTER, retry_after_secs.to_string())
    }

    /// 503 injected before any change happened.
    pub fn service_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        )
        .with_header(axum::http::header::RETRY_AFTER, "1")
    }

    /// 405 for a known path with an unsupported method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
    }

    /// The JSON body Graph sends, with the request's correlation ids.
    pub fn body(&self, request_id: &str, client_request_id: Option<&str>, date: &str) -> Value {
        let mut inner = json!({ "date": date, "request-id": request_id });
        inner["client-request-id"] = Value::String(client_request_id.unwrap_or(request_id).to_owned());
        json!({ "error": { "code": self.code, "message": self.message, "innerError": inner } })
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        // Rendered provisionally; `pipeline::finish` replaces the body with the request's ids.
        let body = self.body("00000000-0000-0000-0000-000000000000", None, &crate::emulator::now_rfc3339());
        let mut response = (self.status, axum::Json(body)).into_response();
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                response.headers_mut().insert(name.clone(), v);
            }
        }
        response.extensions_mut().insert(self);
        response
    }
}
