//! Intune PowerShell platform scripts (graph-reference §4b), beta only:
//! `deviceManagement/deviceManagementScripts` (list, create, get, update, delete),
//! `…/{id}/assignments` (list), `…/assignments/{id}` (get) and the replace-all `…/{id}/assign`.
//!
//! As in Graph, `scriptContent` (base64) is returned only by a GET of one script, never in the
//! list. Assignments live inside the script's record under [`ASSIGNMENTS_KEY`] (see
//! [`super::apps`]). `/assign` keeps the id of an entry that names a current assignment and gives
//! new entries new GUIDs; the legacy `deviceManagementScriptGroupAssignments` parameter is
//! accepted and stored as group targets. The per-assignment write endpoints are not emulated:
//! the reference has no verified page for them.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::apps::{ASSIGNMENTS_KEY, check_target, intune_guid};
use super::crud::merge;
use super::{GraphRequest, GraphRoutes, created, new_id, no_content, ok, timestamp};
use crate::emulator::auth::perm;
use crate::emulator::errors::{GraphError, GraphResult};
use crate::emulator::fixtures::DEVICE_MANAGEMENT_SCRIPTS;
use crate::emulator::odata::check_filter;
use crate::emulator::store::Record;
use crate::emulator::validate::{EntitySpec, Kind, Mode, check_odata_type, guid, ro, rw};

const KIND: &str = "DeviceManagementScript";
const ASSIGNMENT_KIND: &str = "DeviceManagementScriptAssignment";
const CONTEXT: &str = "deviceManagement/deviceManagementScripts";
/// The assign action's stored page lists this one; the create page the configuration one.
const ASSIGN_ROLES: &[&str] =
    &["DeviceManagementConfiguration.ReadWrite.All", "DeviceManagementManagedDevices.ReadWrite.All"];

const SPEC: EntitySpec = EntitySpec {
    type_name: "deviceManagementScript",
    props: &[
        rw("displayName", Kind::RequiredString(200)),
        rw("description", Kind::String(1500)),
        rw("scriptContent", Kind::RequiredString(usize::MAX)),
        rw("runAsAccount", Kind::String(16)),
        rw("enforceSignatureCheck", Kind::Bool),
        rw("fileName", Kind::String(260)),
        rw("runAs32Bit", Kind::Bool),
        rw("roleScopeTagIds", Kind::StringArray),
        ro("id", Kind::Any),
        ro("createdDateTime", Kind::Any),
        ro("lastModifiedDateTime", Kind::Any),
    ],
    required_on_create: &["displayName", "scriptContent"],
};

pub fn routes(r: GraphRoutes) -> GraphRoutes {
    r.beta_only("/deviceManagement/deviceManagementScripts", get(list_scripts).post(create_script))
        .beta_only(
            "/deviceManagement/deviceManagementScripts/{id}",
            get(get_script).patch(update_script).delete(delete_script),
        )
        .beta_only("/deviceManagement/deviceManagementScripts/{id}/assignments", get(list_assignments))
        .beta_only("/deviceManagement/deviceManagementScripts/{id}/assignments/{aid}", get(get_assignment))
        .beta_only("/deviceManagement/deviceManagementScripts/{id}/assign", post(assign))
}

fn view(data: &Map<String, Value>, with_content: bool) -> Map<String, Value> {
    let mut out = data.clone();
    out.remove(ASSIGNMENTS_KEY);
    if !with_content {
        out.remove("scriptContent");
    }
    out
}

fn selectable() -> Vec<&'static str> {
    SPEC.names()
}

fn find(req: &GraphRequest, id: &str) -> GraphResult<Record> {
    let id = intune_guid(id)?;
    req.find(DEVICE_MANAGEMENT_SCRIPTS, KIND, &id)
}

fn check_body(body: &Map<String, Value>, mode: Mode) -> GraphResult<()> {
    SPEC.check(body, mode)?;
    if let Some(k) = body.keys().find(|k| k.contains("@odata.") && *k != "@odata.type") {
        return Err(GraphError::odata_bad_request(format!(
            "The annotation '{k}' is not supported on this entity."
        )));
    }
    if let Some(Value::String(content)) = body.get("scriptContent")
        && base64::engine::general_purpose::STANDARD.decode(content).is_err()
    {
        return Err(GraphError::bad_request(
            "Cannot convert the literal to the expected type 'Edm.Binary' for property 'scriptContent': not valid base64.",
        ));
    }
    match body.get("runAsAccount") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s == "system" || s == "user" => Ok(()),
        Some(v) => Err(GraphError::bad_request(format!(
            "Requested value '{}' was not found in enum 'runAsAccountType'.",
            v.as_str().unwrap_or_default()
        ))),
    }
}

async fn list_scripts(req: GraphRequest) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    req.query.check_select(SPEC.type_name, &selectable())?;
    req.query.reject_expand()?;
    req.query.reject_orderby()?;
    check_filter(&req.query, KIND, &["displayName"])?;
    let items = req.list(DEVICE_MANAGEMENT_SCRIPTS).iter().map(|d| view(d, false)).collect();
    req.collection(items, CONTEXT, 1000)
}

async fn get_script(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    req.query.check_select(SPEC.type_name, &selectable())?;
    req.query.reject_expand()?;
    let record = find(&req, &id)?;
    Ok(ok(req.entity(&view(&record.data, true), &format!("{CONTEXT}/$entity"))))
}

async fn create_script(req: GraphRequest, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_WRITE)?;
    let body = req.json_body(&body)?;
    check_body(&body, Mode::Create)?;
    let mut data = Map::new();
    data.insert("@odata.type".into(), json!("#microsoft.graph.deviceManagementScript"));
    for (k, v) in [
        ("description", Value::Null),
        ("runAsAccount", json!("system")),
        ("enforceSignatureCheck", json!(false)),
        ("fileName", Value::Null),
        ("runAs32Bit", json!(false)),
        ("roleScopeTagIds", json!(["0"])),
    ] {
        data.insert(k.into(), v);
    }
    merge(&mut data, &body);
    data.insert("id".into(), json!(new_id()));
    let now = json!(timestamp());
    data.insert("createdDateTime".into(), now.clone());
    data.insert("lastModifiedDateTime".into(), now);
    let record = Record::new(data);
    let response = created(req.entity(&view(&record.data, true), &format!("{CONTEXT}/$entity")));
    req.state.store().insert(DEVICE_MANAGEMENT_SCRIPTS, record);
    Ok(response)
}

async fn update_script(req: GraphRequest, Path(id): Path<String>, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_WRITE)?;
    let body = req.json_body(&body)?;
    check_body(&body, Mode::Update)?;
    let id = find(&req, &id)?.id().to_owned();
    let mut store = req.state.store();
    let mut record =
        store.get_latest(DEVICE_MANAGEMENT_SCRIPTS, &id).ok_or_else(|| req.not_found(KIND, &id))?;
    merge(&mut record.data, &body);
    record.data.insert("lastModifiedDateTime".into(), json!(timestamp()));
    store.replace(DEVICE_MANAGEMENT_SCRIPTS, record.clone());
    drop(store);
    Ok(ok(req.entity(&view(&record.data, true), &format!("{CONTEXT}/$entity"))))
}

async fn delete_script(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_WRITE)?;
    let id = find(&req, &id)?.id().to_owned();
    if !req.state.store().remove(DEVICE_MANAGEMENT_SCRIPTS, &id) {
        return Err(req.not_found(KIND, &id));
    }
    Ok(no_content())
}

fn stored_assignments(record: &Record) -> Vec<Map<String, Value>> {
    record
        .data
        .get(ASSIGNMENTS_KEY)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default()
}

async fn list_assignments(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    req.query.check_select("deviceManagementScriptAssignment", &["id", "target"])?;
    req.query.reject_expand()?;
    req.query.reject_orderby()?;
    check_filter(&req.query, ASSIGNMENT_KIND, &[])?;
    let record = find(&req, &id)?;
    req.collection(
        stored_assignments(&record),
        &format!("deviceManagement/deviceManagementScripts('{}')/assignments", record.id()),
        1000,
    )
}

async fn get_assignment(req: GraphRequest, Path((id, aid)): Path<(String, String)>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    req.query.check_select("deviceManagementScriptAssignment", &["id", "target"])?;
    let record = find(&req, &id)?;
    let items = stored_assignments(&record);
    let found = items
        .iter()
        .find(|a| a.get("id").and_then(Value::as_str).is_some_and(|x| x.eq_ignore_ascii_case(&aid)))
        .ok_or_else(|| req.not_found(ASSIGNMENT_KIND, &aid))?;
    let context = format!("deviceManagement/deviceManagementScripts('{}')/assignments/$entity", record.id());
    Ok(ok(req.entity(found, &context)))
}

fn entries<'a>(body: &'a Map<String, Value>, key: &str) -> GraphResult<Vec<&'a Map<String, Value>>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_object().ok_or_else(|| {
                    GraphError::bad_request(format!("Each entry of '{key}' must be an object."))
                })
            })
            .collect(),
        Some(_) => Err(GraphError::bad_request(format!("Parameter '{key}' must be an array."))),
    }
}

async fn assign(req: GraphRequest, Path(id): Path<String>, body: Bytes) -> GraphResult<Response> {
    req.require(ASSIGN_ROLES)?;
    let body = req.json_body(&body)?;
    const PARAMS: [&str; 2] = ["deviceManagementScriptAssignments", "deviceManagementScriptGroupAssignments"];
    if let Some(k) = body.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return Err(GraphError::odata_bad_request(format!(
            "The parameter '{k}' in the request payload is not a valid parameter for the operation 'assign'."
        )));
    }
    let visible = find(&req, &id)?;
    let record = req.state.store().get_latest(DEVICE_MANAGEMENT_SCRIPTS, visible.id()).unwrap_or(visible);
    let current = stored_assignments(&record);
    let keep_id = |given: Option<&Value>| -> String {
        given
            .and_then(Value::as_str)
            .and_then(|g| {
                current
                    .iter()
                    .find_map(|a| a.get("id").and_then(Value::as_str).filter(|x| x.eq_ignore_ascii_case(g)))
            })
            .map_or_else(new_id, str::to_owned)
    };
    let mut items: Vec<Map<String, Value>> = Vec::new();
    for entry in entries(&body, PARAMS[0])? {
        if let Some(t) = entry.get("@odata.type") {
            check_odata_type(t, &["deviceManagementScriptAssignment"])?;
        }
        if let Some(k) = entry.keys().find(|k| !["@odata.type", "id", "target"].contains(&k.as_str())) {
            return Err(GraphError::bad_request(format!(
                "Property '{k}' does not exist on type 'microsoft.graph.deviceManagementScriptAssignment'. Make sure to only use property names that are defined by the type."
            )));
        }
        let target = entry.get("target").filter(|t| !t.is_null()).ok_or_else(|| {
            GraphError::bad_request("Property 'target' is required on a deviceManagementScriptAssignment.")
        })?;
        let target = check_target(req.version, target)?;
        items.push(assignment(keep_id(entry.get("id")), target));
    }
    for entry in entries(&body, PARAMS[1])? {
        if let Some(k) = entry.keys().find(|k| !["@odata.type", "id", "targetGroupId"].contains(&k.as_str()))
        {
            return Err(GraphError::bad_request(format!(
                "Property '{k}' does not exist on type 'microsoft.graph.deviceManagementScriptGroupAssignment'. Make sure to only use property names that are defined by the type."
            )));
        }
        let group = guid(entry.get("targetGroupId").and_then(Value::as_str).unwrap_or_default())?;
        let target = json!({"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group,
                            "deviceAndAppManagementAssignmentFilterId": null,
                            "deviceAndAppManagementAssignmentFilterType": "none"});
        let target = target.as_object().cloned().unwrap_or_default();
        items.push(assignment(keep_id(entry.get("id")), target));
    }
    let mut store = req.state.store();
    let mut latest = store
        .get_latest(DEVICE_MANAGEMENT_SCRIPTS, record.id())
        .ok_or_else(|| req.not_found(KIND, record.id()))?;
    latest.data.insert(ASSIGNMENTS_KEY.into(), Value::Array(items.into_iter().map(Value::Object).collect()));
    store.replace(DEVICE_MANAGEMENT_SCRIPTS, latest);
    Ok(no_content())
}

fn assignment(id: String, target: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!("#microsoft.graph.deviceManagementScriptAssignment"));
    out.insert("id".into(), json!(id));
    out.insert("target".into(), Value::Object(target));
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::{Method, Request, StatusCode, header};
    use tower::ServiceExt;

    use super::*;
    use crate::emulator::auth::{Caller, Grant};
    use crate::emulator::state::{AppState, EmulatorConfig};

    /// The whole Graph router, and a token holding `roles`.
    pub(crate) fn router(roles: &[&str]) -> (Router, AppState) {
        let state = AppState::new(EmulatorConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let caller = Caller { client_id: "c".into(), roles: roles.iter().map(|r| (*r).to_owned()).collect() };
        let expires = state.clock().now() + std::time::Duration::from_secs(600);
        state.store_grant("t".into(), Grant { caller, expires });
        (crate::emulator::routes::graph_router(state.clone()), state)
    }

    pub(crate) async fn send(
        app: &Router,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let builder = Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, "Bearer t");
        let request = match body {
            Some(b) => {
                builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string()))
            }
            None => builder.body(Body::empty()),
        }
        .unwrap_or_default();
        let response = app.clone().oneshot(request).await.unwrap_or_else(|e| match e {});
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap_or_default();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    const GROUP: &str = "c1000000-0000-4000-8000-0000000000aa";
    const OTHER: &str = "c1000000-0000-4000-8000-0000000000bb";

    #[tokio::test]
    async fn scripts_content_only_by_id_and_assign_replaces_all() {
        let (app, _) = router(&["DeviceManagementConfiguration.ReadWrite.All"]);
        let base = "/beta/deviceManagement/deviceManagementScripts";
        let body = json!({"@odata.type": "#microsoft.graph.deviceManagementScript", "displayName": "x",
                          "fileName": "x.ps1", "scriptContent": "V3JpdGUtT3V0cHV0IDE=", "runAsAccount": "system"});
        let (status, created) = send(&app, Method::POST, base, Some(body.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(created["scriptContent"], "V3JpdGUtT3V0cHV0IDE=");
        let (_, list) = send(&app, Method::GET, base, None).await;
        let listed = list["value"].as_array().cloned().unwrap_or_default();
        assert!(listed.iter().any(|s| s["id"] == id.as_str()));
        assert!(listed.iter().all(|s| s.get("scriptContent").is_none()), "content leaked into the list");
        let (_, one) = send(&app, Method::GET, &format!("{base}/{id}"), None).await;
        assert_eq!(one["scriptContent"], "V3JpdGUtT3V0cHV0IDE=");

        let mut bad = body.clone();
        bad["scriptContent"] = json!("not base64!");
        assert_eq!(send(&app, Method::POST, base, Some(bad)).await.0, StatusCode::BAD_REQUEST);
        bad = body.clone();
        bad["runAsAccount"] = json!("admin");
        assert_eq!(send(&app, Method::POST, base, Some(bad)).await.0, StatusCode::BAD_REQUEST);
        let v1 = "/v1.0/deviceManagement/deviceManagementScripts";
        assert_eq!(send(&app, Method::GET, v1, None).await.0, StatusCode::BAD_REQUEST, "beta only");

        let target = |g: &str| json!({"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": g});
        let assign = |items: Value| json!({"deviceManagementScriptAssignments": items});
        let uri = format!("{base}/{id}/assign");
        let first = assign(
            json!([{"@odata.type": "#microsoft.graph.deviceManagementScriptAssignment", "target": target(GROUP)}]),
        );
        assert_eq!(send(&app, Method::POST, &uri, Some(first)).await.0, StatusCode::NO_CONTENT);
        let (_, list) = send(&app, Method::GET, &format!("{base}/{id}/assignments"), None).await;
        let kept_id = list["value"][0]["id"].clone();
        assert_eq!(list["value"][0]["target"]["groupId"], GROUP);
        // An echoed id is kept, a new entry gets a new one, and what is left out is gone.
        let second = assign(json!([{"id": kept_id, "target": target(GROUP)}, {"target": target(OTHER)}]));
        assert_eq!(send(&app, Method::POST, &uri, Some(second)).await.0, StatusCode::NO_CONTENT);
        let (_, list) = send(&app, Method::GET, &format!("{base}/{id}/assignments"), None).await;
        assert_eq!(list["value"].as_array().map(Vec::len), Some(2));
        assert_eq!(list["value"][0]["id"], kept_id);
        let third = assign(json!([{"target": target(OTHER)}]));
        assert_eq!(send(&app, Method::POST, &uri, Some(third)).await.0, StatusCode::NO_CONTENT);
        let (_, list) = send(&app, Method::GET, &format!("{base}/{id}/assignments"), None).await;
        assert_eq!(list["value"].as_array().map(Vec::len), Some(1));
        let unknown =
            json!({"deviceManagementScriptAssignments": [{"target": target(GROUP), "intent": "x"}]});
        assert_eq!(send(&app, Method::POST, &uri, Some(unknown)).await.0, StatusCode::BAD_REQUEST);
        let (_, one) = send(&app, Method::GET, &format!("{base}/{id}"), None).await;
        assert!(one.get("assignments").is_none(), "assignments are not a property");

        let (reader, _) = router(&["DeviceManagementConfiguration.Read.All"]);
        assert_eq!(send(&reader, Method::POST, base, Some(body)).await.0, StatusCode::FORBIDDEN);
    }
}
