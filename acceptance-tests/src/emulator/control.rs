//! Control API under `/_emulator/` (no auth, no faults, not logged): request log, object
//! dump, reset, fault settings, and out-of-band ("portal") object changes.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde_json::{Map, Value, json};

use super::faults::FaultPatch;
use super::fixtures::{record_from_json, record_to_json};
use super::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/requests", get(requests))
        .route("/objects", get(objects))
        .route("/objects/{collection}", post(create_object))
        .route("/objects/{collection}/{id}", patch(update_object).delete(delete_object))
        .route("/reset", post(reset))
        .route("/faults", get(faults).post(set_faults))
        .route("/roles", get(roles).post(set_roles))
        .route("/tokens", get(tokens))
        .route("/violations", get(violations))
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn requests(State(state): State<AppState>) -> Response {
    Json(json!(state.log().entries())).into_response()
}

async fn objects(State(state): State<AppState>) -> Response {
    let store = state.store();
    let mut out = Map::new();
    for name in super::fixtures::ALWAYS_LISTED {
        out.insert((*name).to_owned(), Value::Array(Vec::new()));
    }
    for name in store.collection_names() {
        let items: Vec<Value> = store.list_latest(&name).iter().map(record_to_json).collect();
        out.insert(name, Value::Array(items));
    }
    Json(Value::Object(out)).into_response()
}

async fn create_object(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    body: Json<Value>,
) -> Response {
    let Json(Value::Object(mut object)) = body else {
        return problem(StatusCode::BAD_REQUEST, "body must be a JSON object");
    };
    if !object.contains_key("id") {
        object.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    }
    let record = match record_from_json(&collection, object) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    let id = record.id().to_owned();
    let shown = record_to_json(&record);
    state.store().write_settled(&collection, &id, Some(record));
    (StatusCode::CREATED, Json(shown)).into_response()
}

async fn update_object(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    body: Json<Value>,
) -> Response {
    let Json(Value::Object(changes)) = body else {
        return problem(StatusCode::BAD_REQUEST, "body must be a JSON object");
    };
    let mut store = state.store();
    let Some(existing) = store.get_latest(&collection, &id) else {
        return problem(StatusCode::NOT_FOUND, format!("no object '{id}' in '{collection}'"));
    };
    let Value::Object(mut merged) = record_to_json(&existing) else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "stored object is not an object");
    };
    for (k, v) in changes {
        if v.is_null() {
            merged.remove(&k);
        } else {
            merged.insert(k, v);
        }
    }
    merged.insert("id".into(), json!(existing.id()));
    let record = match record_from_json(&collection, merged) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    let shown = record_to_json(&record);
    store.write_settled(&collection, &id, Some(record));
    Json(shown).into_response()
}

async fn delete_object(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
) -> Response {
    let mut store = state.store();
    if store.get_latest(&collection, &id).is_none() {
        return problem(StatusCode::NOT_FOUND, format!("no object '{id}' in '{collection}'"));
    }
    store.write_settled(&collection, &id, None);
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(state): State<AppState>) -> Response {
    match state.reset() {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn tokens(State(state): State<AppState>) -> Response {
    Json(json!(state.issued_secrets())).into_response()
}

async fn violations(State(state): State<AppState>) -> Response {
    Json(json!(state.violations())).into_response()
}

async fn roles(State(state): State<AppState>) -> Response {
    Json(json!({ "roles": state.roles() })).into_response()
}

async fn set_roles(State(state): State<AppState>, body: Json<Value>) -> Response {
    let roles = body
        .0
        .get("roles")
        .and_then(Value::as_array)
        .and_then(|r| r.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<String>>>());
    match roles {
        Some(roles) if body.0.as_object().is_some_and(|o| o.len() == 1) => {
            state.set_roles(roles.clone());
            Json(json!({ "roles": roles })).into_response()
        }
        _ => problem(StatusCode::BAD_REQUEST, "body must be {\"roles\": [\"Role.Name\", ...]}"),
    }
}

async fn faults(State(state): State<AppState>) -> Response {
    Json(json!(state.faults().settings.clone())).into_response()
}

async fn set_faults(State(state): State<AppState>, body: Json<Value>) -> Response {
    let patch: FaultPatch = match serde_json::from_value(body.0) {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("invalid fault settings: {e}")),
    };
    let mut settings = state.faults().settings.clone();
    if let Err(e) = settings.apply(patch) {
        return problem(StatusCode::BAD_REQUEST, e);
    }
    state.set_faults(settings.clone());
    Json(json!(settings)).into_response()
}
