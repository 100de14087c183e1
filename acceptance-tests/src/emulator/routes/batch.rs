//! JSON `$batch` (`POST /{version}/$batch`): at most 20 requests with relative URLs, each
//! dispatched through the same Graph router (auth, permissions, faults, logging), executed in
//! a seeded random order that respects `dependsOn` (424 for failed dependencies), responses in
//! a seeded shuffled order.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::{GraphRequest, GraphRoutes, graph_router, ok};
use crate::emulator::errors::{GraphError, GraphResult};
use crate::emulator::pipeline::{BatchContext, DropConnection, LogIndex, OriginalPath};

/// Graph's limit of requests per batch.
pub const MAX_REQUESTS: usize = 20;

pub fn routes(r: GraphRoutes) -> GraphRoutes {
    r.both("/$batch", post(batch))
}

/// One validated inner request.
#[derive(Debug)]
struct Inner {
    id: String,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn parse_requests(body: &Map<String, Value>) -> GraphResult<Vec<Inner>> {
    let invalid = |m: &str| GraphError::odata_bad_request(format!("Invalid batch payload format: {m}"));
    if let Some(k) = body.keys().find(|k| *k != "requests") {
        return Err(invalid(&format!("unexpected property '{k}'.")));
    }
    let requests = body
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("'requests' must be an array."))?;
    if requests.is_empty() {
        return Err(invalid("the batch contains no requests."));
    }
    if requests.len() > MAX_REQUESTS {
        return Err(GraphError::odata_bad_request(format!(
            "The batch request contains {} requests; the maximum is {MAX_REQUESTS}.",
            requests.len()
        )));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        let r = r.as_object().ok_or_else(|| invalid("each request must be an object."))?;
        if let Some(k) =
            r.keys().find(|k| !["id", "method", "url", "headers", "body", "dependsOn"].contains(&k.as_str()))
        {
            return Err(invalid(&format!("unexpected property '{k}' in a request.")));
        }
        let id = r
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("every request needs a string 'id'."))?;
        if !seen.insert(id.to_owned()) {
            return Err(invalid(&format!("duplicate request id '{id}'.")));
        }
        let method_text = r
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("every request needs a 'method'."))?;
        let method = match method_text.to_ascii_uppercase().as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PATCH" => Method::PATCH,
            "PUT" => Method::PUT,
            "DELETE" => Method::DELETE,
            _ => return Err(invalid(&format!("unsupported method '{method_text}'."))),
        };
        let url =
            r.get("url").and_then(Value::as_str).ok_or_else(|| invalid("every request needs a 'url'."))?;
        if url.contains("://") {
            return Err(invalid(&format!("the url '{url}' must be relative to the batch endpoint.")));
        }
        let mut headers = Vec::new();
        match r.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(h)) => {
                for (k, v) in h {
                    let v = v.as_str().ok_or_else(|| invalid(&format!("header '{k}' must be a string.")))?;
                    headers.push((k.clone(), v.to_owned()));
                }
            }
            Some(_) => return Err(invalid("'headers' must be an object.")),
        }
        let body = r.get("body").filter(|b| !b.is_null()).cloned();
        if body.is_some() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            return Err(GraphError::odata_bad_request(format!(
                "Write request id : {id} does not contain Content-Type header or body."
            )));
        }
        let depends_on: Vec<String> = match r.get("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(ids)) => ids
                .iter()
                .map(|d| d.as_str().map(str::to_owned).ok_or_else(|| invalid("'dependsOn' must hold ids.")))
                .collect::<GraphResult<_>>()?,
            Some(_) => return Err(invalid("'dependsOn' must be an array.")),
        };
        for d in &depends_on {
            if !out.iter().any(|i: &Inner| &i.id == d) {
                return Err(invalid(&format!(
                    "request '{id}' depends on '{d}', which is not an earlier request in the batch."
                )));
            }
        }
        out.push(Inner { id: id.to_owned(), method, url: url.to_owned(), headers, body, depends_on });
    }
    Ok(out)
}

async fn batch(req: GraphRequest, request: Request) -> GraphResult<Response> {
    let envelope_log_index = request.extensions().get::<LogIndex>().map_or(0, |l| l.0);
    if request.extensions().get::<BatchContext>().is_some() {
        return Err(GraphError::odata_bad_request("A $batch request cannot be nested in another $batch."));
    }
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    let body: Bytes = to_bytes(request.into_body(), 16 * 1024 * 1024)
        .await
        .map_err(|_| GraphError::odata_bad_request("The batch body could not be read."))?;
    let body = req.json_body(&body)?;
    let requests = parse_requests(&body)?;

    let router = graph_router(req.state.clone());
    let mut statuses: BTreeMap<String, u16> = BTreeMap::new();
    let mut responses = Vec::with_capacity(requests.len());
    let mut drop_connection = false;
    // Graph runs requests without `dependsOn` in no particular order (often in parallel), so
    // execute them in a seeded random order that only respects the declared dependencies:
    // a client that forgets `dependsOn` sees failures here rather than in production.
    let mut pending: Vec<Inner> = requests;
    while !pending.is_empty() {
        let ready: Vec<usize> = (0..pending.len())
            .filter(|&i| pending[i].depends_on.iter().all(|d| statuses.contains_key(d)))
            .collect();
        let pick = req.state.faults().pick(ready.len());
        let inner = pending.remove(ready.get(pick).copied().unwrap_or(0));
        if let Some(failed) = inner.depends_on.iter().find(|d| statuses.get(*d).is_none_or(|s| *s >= 400)) {
            statuses.insert(inner.id.clone(), 424);
            responses.push(json!({
                "id": inner.id,
                "status": 424,
                "headers": {"Content-Type": "application/json"},
                "body": {"error": {
                    "code": "FailedDependency",
                    "message": format!("The request depends on request '{failed}', which failed."),
                    "innerError": {"date": crate::emulator::now_rfc3339(), "request-id": uuid::Uuid::new_v4().to_string()}
                }}
            }));
            continue;
        }
        let path = format!("/{}/{}", req.version.as_str(), inner.url.trim_start_matches('/'));
        let mut builder = Request::builder()
            .method(inner.method.clone())
            .uri(crate::emulator::normalize_path_and_query(&path));
        for (k, v) in &inner.headers {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
                builder = builder.header(name, value);
            }
        }
        if let Some(auth) = &authorization {
            builder = builder.header(header::AUTHORIZATION, auth.clone());
        }
        let body_bytes = inner.body.as_ref().map(|b| match b {
            // A string body is sent as-is (e.g. base64 for non-JSON content).
            Value::String(s) => s.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        });
        let mut inner_request =
            builder.body(body_bytes.map_or_else(Body::empty, Body::from)).map_err(|e| {
                GraphError::odata_bad_request(format!("Invalid request url '{}': {e}", inner.url))
            })?;
        inner_request.extensions_mut().insert(BatchContext { envelope_log_index });
        inner_request.extensions_mut().insert(OriginalPath(path.clone()));
        let response = router.clone().oneshot(inner_request).await.unwrap_or_else(|never| match never {});
        if response.extensions().get::<DropConnection>().is_some() {
            drop_connection = true;
        }
        let status = response.status().as_u16();
        statuses.insert(inner.id.clone(), status);
        responses.push(render_inner(&inner.id, response).await);
    }
    let order = req.state.faults().shuffle(responses.len());
    let shuffled: Vec<Value> = order.into_iter().filter_map(|i| responses.get(i).cloned()).collect();
    let mut response = ok(json!({ "responses": shuffled }));
    if drop_connection {
        response.extensions_mut().insert(DropConnection);
    }
    Ok(response)
}

async fn render_inner(id: &str, response: Response) -> Value {
    let status = response.status().as_u16();
    let mut headers = Map::new();
    for (name, value) in response.headers() {
        if name == header::CONTENT_LENGTH {
            continue;
        }
        if let Ok(v) = value.to_str() {
            headers.insert(name.as_str().to_owned(), Value::String(v.to_owned()));
        }
    }
    let bytes = to_bytes(response.into_body(), 16 * 1024 * 1024).await.unwrap_or_default();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    let mut out = json!({ "id": id, "status": status, "headers": headers });
    if !body.is_null() {
        out["body"] = body;
    }
    out
}
