//! Intune mobile apps and their assignments (graph-reference §4a), v1.0 and beta:
//! `deviceAppManagement/mobileApps` (list with `$filter` on `displayName`, get by id),
//! `…/{id}/assignments` (list, create), `…/assignments/{id}` (get, update, delete) and the
//! replace-all `…/{id}/assign`.
//!
//! Assignments live inside their app's record under [`ASSIGNMENTS_KEY`] (containment, like
//! Graph's navigation): `/_emulator/objects` shows them with the app, and a portal-style change
//! is a control `PATCH` of the app's `assignments` array. They are never served as an app
//! property; `isAssigned` is computed from them on every read.
//!
//! Strictness: unknown properties at every level, enum values and GUIDs are checked; the
//! settings `@odata.type` must fit the app type (Win32 ↔ `win32LobAppAssignmentSettings`,
//! WinGet ↔ `winGetAppAssignmentSettings`); assignment filters exist only in beta (the v1.0
//! target type has no properties); `id`, `source` and `sourceId` are read-only. Missing
//! settings properties get the service defaults, so reads return the full settings object.
//!
//! Ids are derived as Intune does (observed, see the provider's `assignments::wire`):
//! `{groupId}_{intent}_{0 include|1 exclude}` with fixed pseudo-group ids for all users /
//! all devices; so an app holds at most one assignment per group.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::{ApiVersion, GraphRequest, GraphRoutes, created, no_content, ok};
use crate::emulator::auth::perm;
use crate::emulator::errors::{GraphError, GraphResult};
use crate::emulator::fixtures::MOBILE_APPS;
use crate::emulator::odata::check_filter;
use crate::emulator::store::Record;
use crate::emulator::validate::{check_odata_type, guid};

/// Key of an app's (or script's) assignments inside its stored record.
pub const ASSIGNMENTS_KEY: &str = "assignments";
const APP_KIND: &str = "MobileApp";
const ASSIGNMENT_KIND: &str = "MobileAppAssignment";
/// Pseudo-group ids Intune uses in assignment ids for the "all" targets.
const ALL_USERS_KEY: &str = "acacacac-9df4-4c7d-9d50-4ef0226f57a9";
const ALL_DEVICES_KEY: &str = "adadadad-808e-44e2-905a-0b7873a8a531";
const FILTER_ID: &str = "deviceAndAppManagementAssignmentFilterId";
const FILTER_TYPE: &str = "deviceAndAppManagementAssignmentFilterType";
/// `installIntent` members in CSDL value order (available 0, required 1, uninstall 2, …): the
/// middle part of an assignment id.
const INTENTS: [&str; 4] = ["available", "required", "uninstall", "availableWithoutEnrollment"];

/// `$select`-able app properties (mobileApp plus the Win32 / WinGet ones the fixtures carry).
const APP_SELECTABLE: &[&str] = &[
    "id",
    "displayName",
    "description",
    "publisher",
    "largeIcon",
    "createdDateTime",
    "lastModifiedDateTime",
    "isFeatured",
    "privacyInformationUrl",
    "informationUrl",
    "owner",
    "developer",
    "notes",
    "uploadState",
    "publishingState",
    "isAssigned",
    "roleScopeTagIds",
    "dependentAppCount",
    "supersedingAppCount",
    "supersededAppCount",
    "committedContentVersion",
    "fileName",
    "size",
    "installCommandLine",
    "uninstallCommandLine",
    "applicableArchitectures",
    "packageIdentifier",
    "manifestHash",
    "installExperience",
    "displayVersion",
];
const ASSIGNMENT_SELECTABLE: &[&str] = &["id", "intent", "target", "settings", "source", "sourceId"];

pub fn routes(r: GraphRoutes) -> GraphRoutes {
    r.both("/deviceAppManagement/mobileApps", get(list_apps))
        .both("/deviceAppManagement/mobileApps/{id}", get(get_app))
        .both(
            "/deviceAppManagement/mobileApps/{id}/assignments",
            get(list_assignments).post(create_assignment),
        )
        .both(
            "/deviceAppManagement/mobileApps/{id}/assignments/{aid}",
            get(get_assignment).patch(update_assignment).delete(delete_assignment),
        )
        .both("/deviceAppManagement/mobileApps/{id}/assign", post(assign))
}

// ====================================================================================
// Apps
// ====================================================================================

/// An app as Graph shows it: no stored assignments, `isAssigned` from them.
fn app_view(data: &Map<String, Value>) -> Map<String, Value> {
    let mut out = data.clone();
    let assigned = out.remove(ASSIGNMENTS_KEY).and_then(|a| a.as_array().map(|a| !a.is_empty()));
    out.insert("isAssigned".into(), Value::Bool(assigned.unwrap_or(false)));
    out
}

async fn list_apps(req: GraphRequest) -> GraphResult<Response> {
    req.require(perm::INTUNE_APPS_READ)?;
    req.query.check_select("mobileApp", APP_SELECTABLE)?;
    req.query.reject_expand()?;
    req.query.reject_orderby()?;
    check_filter(&req.query, APP_KIND, &["displayName", "publisher"])?;
    let items = req.list(MOBILE_APPS).iter().map(app_view).collect();
    req.collection(items, "deviceAppManagement/mobileApps", 1000)
}

async fn get_app(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_APPS_READ)?;
    req.query.check_select("mobileApp", APP_SELECTABLE)?;
    req.query.reject_expand()?;
    let app = find_app(&req, &id)?;
    Ok(ok(req.entity(&app_view(&app.data), "deviceAppManagement/mobileApps/$entity")))
}

fn find_app(req: &GraphRequest, id: &str) -> GraphResult<Record> {
    let id = intune_guid(id)?;
    req.find(MOBILE_APPS, APP_KIND, &id)
}

/// For writes: 404 while the app is not visible, else its latest version (a write must build on
/// every earlier write, not on what a lagging replica shows).
fn app_for_write(req: &GraphRequest, id: &str) -> GraphResult<Record> {
    let visible = find_app(req, id)?;
    Ok(req.state.store().get_latest(MOBILE_APPS, visible.id()).unwrap_or(visible))
}

/// Intune's answer to a malformed key segment.
pub fn intune_guid(id: &str) -> GraphResult<String> {
    guid(id).map_err(|_| {
        GraphError::odata_bad_request(format!(
            "The key value '{id}' is not valid for a key property of type 'Edm.String' with format GUID."
        ))
    })
}

fn stored_assignments(record: &Record) -> Vec<Map<String, Value>> {
    record
        .data
        .get(ASSIGNMENTS_KEY)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default()
}

fn save_assignments(req: &GraphRequest, app_id: &str, items: Vec<Map<String, Value>>) -> GraphResult<()> {
    edit_assignments(req, app_id, |current| {
        *current = items;
        Ok(())
    })
}

/// Changes the latest assignment list of an app under one store lock: assignments are entities of
/// their own in Graph, so two concurrent creates on one app both land (a read, then a write back
/// of a stale list, would lose one).
fn edit_assignments<T>(
    req: &GraphRequest,
    app_id: &str,
    edit: impl FnOnce(&mut Vec<Map<String, Value>>) -> GraphResult<T>,
) -> GraphResult<T> {
    let mut store = req.state.store();
    let mut record = store.get_latest(MOBILE_APPS, app_id).ok_or_else(|| req.not_found(APP_KIND, app_id))?;
    let mut items = stored_assignments(&record);
    let out = edit(&mut items)?;
    record.data.insert(ASSIGNMENTS_KEY.into(), Value::Array(items.into_iter().map(Value::Object).collect()));
    store.replace(MOBILE_APPS, record);
    Ok(out)
}

// ====================================================================================
// Assignments
// ====================================================================================

/// What Graph returns for a stored assignment under `version` (v1.0 has no filters, no source).
fn assignment_view(version: ApiVersion, stored: &Map<String, Value>) -> Map<String, Value> {
    let mut out = stored.clone();
    if version == ApiVersion::V1 {
        out.remove("source");
        out.remove("sourceId");
        if let Some(Value::Object(t)) = out.get_mut("target") {
            t.remove(FILTER_ID);
            t.remove(FILTER_TYPE);
        }
    }
    out
}

async fn list_assignments(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_APPS_READ)?;
    req.query.check_select("mobileAppAssignment", ASSIGNMENT_SELECTABLE)?;
    req.query.reject_expand()?;
    req.query.reject_orderby()?;
    check_filter(&req.query, ASSIGNMENT_KIND, &[])?;
    let app = find_app(&req, &id)?;
    let items = stored_assignments(&app).iter().map(|a| assignment_view(req.version, a)).collect();
    req.collection(items, &format!("deviceAppManagement/mobileApps('{}')/assignments", app.id()), 1000)
}

fn position(items: &[Map<String, Value>], aid: &str) -> Option<usize> {
    items
        .iter()
        .position(|a| a.get("id").and_then(Value::as_str).is_some_and(|x| x.eq_ignore_ascii_case(aid)))
}

async fn get_assignment(req: GraphRequest, Path((id, aid)): Path<(String, String)>) -> GraphResult<Response> {
    req.require(perm::INTUNE_APPS_READ)?;
    req.query.check_select("mobileAppAssignment", ASSIGNMENT_SELECTABLE)?;
    let app = find_app(&req, &id)?;
    let items = stored_assignments(&app);
    let i = position(&items, &aid).ok_or_else(|| req.not_found(ASSIGNMENT_KIND, &aid))?;
    let context = format!("deviceAppManagement/mobileApps('{}')/assignments/$entity", app.id());
    Ok(ok(req.entity(&assignment_view(req.version, &items[i]), &context)))
}

/// Which body a check is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    Create,
    Update,
    /// An entry of `/assign` (may carry the `id` it was read with).
    Assign,
}

async fn create_assignment(req: GraphRequest, Path(id): Path<String>, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_APPS_WRITE)?;
    let body = req.json_body(&body)?;
    let app = app_for_write(&req, &id)?;
    let new = check_assignment(req.version, app_type(&app), &body, None, Use::Create)?;
    edit_assignments(&req, app.id(), |items| {
        if let Some(clash) = items.iter().find(|a| same_group(a, &new)) {
            return Err(GraphError::bad_request(format!(
                "{{\"_version\": 3, \"Message\": \"The group is already targeted by assignment '{}' of this app; an app can be assigned to a group only once.\"}}",
                clash.get("id").and_then(Value::as_str).unwrap_or_default()
            )));
        }
        items.push(new.clone());
        Ok(())
    })?;
    let context = format!("deviceAppManagement/mobileApps('{}')/assignments/$entity", app.id());
    Ok(created(req.entity(&assignment_view(req.version, &new), &context)))
}

async fn update_assignment(
    req: GraphRequest,
    Path((id, aid)): Path<(String, String)>,
    body: Bytes,
) -> GraphResult<Response> {
    req.require(perm::INTUNE_APPS_WRITE)?;
    let body = req.json_body(&body)?;
    let app = app_for_write(&req, &id)?;
    let updated = edit_assignments(&req, app.id(), |items| {
        let i = position(items, &aid).ok_or_else(|| req.not_found(ASSIGNMENT_KIND, &aid))?;
        let updated = check_assignment(req.version, app_type(&app), &body, Some(&items[i]), Use::Update)?;
        if items.iter().enumerate().any(|(j, a)| j != i && same_group(a, &updated)) {
            return Err(GraphError::bad_request(
                "The group is already targeted by another assignment of this app.",
            ));
        }
        items[i] = updated.clone();
        Ok(updated)
    })?;
    let context = format!("deviceAppManagement/mobileApps('{}')/assignments/$entity", app.id());
    Ok(ok(req.entity(&assignment_view(req.version, &updated), &context)))
}

async fn delete_assignment(
    req: GraphRequest,
    Path((id, aid)): Path<(String, String)>,
) -> GraphResult<Response> {
    req.require(perm::INTUNE_APPS_WRITE)?;
    let app = app_for_write(&req, &id)?;
    edit_assignments(&req, app.id(), |items| {
        let i = position(items, &aid).ok_or_else(|| req.not_found(ASSIGNMENT_KIND, &aid))?;
        items.remove(i);
        Ok(())
    })?;
    Ok(no_content())
}

async fn assign(req: GraphRequest, Path(id): Path<String>, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_APPS_WRITE)?;
    let body = req.json_body(&body)?;
    let app = app_for_write(&req, &id)?;
    if let Some(k) = body.keys().find(|k| *k != "mobileAppAssignments") {
        return Err(unknown_parameter(k, "assign"));
    }
    let entries = match body.get("mobileAppAssignments") {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => {
            return Err(GraphError::bad_request("Parameter 'mobileAppAssignments' is required."));
        }
        Some(_) => return Err(GraphError::bad_request("Parameter 'mobileAppAssignments' must be an array.")),
    };
    let mut items: Vec<Map<String, Value>> = Vec::new();
    for entry in entries {
        let entry = entry
            .as_object()
            .ok_or_else(|| GraphError::bad_request("Each mobileAppAssignment must be an object."))?;
        let checked = check_assignment(req.version, app_type(&app), entry, None, Use::Assign)?;
        if items.iter().any(|a| same_group(a, &checked)) {
            return Err(GraphError::bad_request("The same group is targeted by more than one assignment."));
        }
        items.push(checked);
    }
    save_assignments(&req, app.id(), items)?;
    Ok(no_content())
}

fn unknown_parameter(name: &str, action: &str) -> GraphError {
    GraphError::odata_bad_request(format!(
        "The parameter '{name}' in the request payload is not a valid parameter for the operation '{action}'."
    ))
}

/// The app's type name without namespace, e.g. `win32LobApp`.
fn app_type(app: &Record) -> String {
    app.str("@odata.type").trim_start_matches('#').trim_start_matches("microsoft.graph.").to_owned()
}

/// Whether two assignments target the same group (or the same "all" pseudo-group).
fn same_group(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    let key = |m: &Map<String, Value>| m.get("target").and_then(Value::as_object).map(target_key);
    key(a).is_some() && key(a) == key(b)
}

fn target_key(target: &Map<String, Value>) -> String {
    match bare(target.get("@odata.type")) {
        "allLicensedUsersAssignmentTarget" => ALL_USERS_KEY.to_owned(),
        "allDevicesAssignmentTarget" => ALL_DEVICES_KEY.to_owned(),
        "configurationManagerCollectionAssignmentTarget" => {
            target.get("collectionId").and_then(Value::as_str).unwrap_or_default().to_owned()
        }
        _ => target.get("groupId").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase(),
    }
}

fn bare(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str)
        .unwrap_or_default()
        .trim_start_matches('#')
        .trim_start_matches("microsoft.graph.")
}

fn unknown_property(name: &str, type_name: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Property '{name}' does not exist on type 'microsoft.graph.{type_name}'. Make sure to only use property names that are defined by the type."
    ))
}

fn only_keys(m: &Map<String, Value>, allowed: &[&str], type_name: &str) -> GraphResult<()> {
    match m.keys().find(|k| *k != "@odata.type" && !allowed.contains(&k.as_str())) {
        Some(k) => Err(unknown_property(k, type_name)),
        None => Ok(()),
    }
}

fn enum_value(
    m: &Map<String, Value>,
    key: &str,
    members: &[&str],
    enum_name: &str,
) -> GraphResult<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if members.contains(&s.as_str()) => Ok(Some(s.clone())),
        Some(other) => Err(GraphError::bad_request(format!(
            "Requested value '{}' was not found in enum '{enum_name}'.",
            other.as_str().map_or_else(|| other.to_string(), str::to_owned)
        ))),
    }
}

fn object_or_null<'a>(v: Option<&'a Value>, name: &str) -> GraphResult<Option<&'a Map<String, Value>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(GraphError::bad_request(format!("Property '{name}' must be an object or null."))),
    }
}

fn typed<'a>(v: &'a Value, name: &str) -> GraphResult<(&'a Map<String, Value>, String)> {
    let m = v
        .as_object()
        .ok_or_else(|| GraphError::bad_request(format!("Property '{name}' must be an object.")))?;
    let t = m.get("@odata.type").ok_or_else(|| {
        GraphError::bad_request(format!(
            "'{name}' is abstract: an @odata.type naming a derived type is required."
        ))
    })?;
    let t = t.as_str().unwrap_or_default();
    Ok((m, t.trim_start_matches('#').trim_start_matches("microsoft.graph.").to_owned()))
}

fn optional_int(m: &Map<String, Value>, key: &str) -> GraphResult<Value> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::Number(n)) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => Ok(json!(n)),
        Some(v) => Err(GraphError::bad_request(format!(
            "Cannot convert the literal '{v}' to the expected type 'Edm.Int32' for property '{key}'."
        ))),
    }
}

/// A target (shared with script assignments); returns it normalised (beta shape).
pub fn check_target(version: ApiVersion, v: &Value) -> GraphResult<Map<String, Value>> {
    let (m, t) = typed(v, "target")?;
    let group_types = ["groupAssignmentTarget", "exclusionGroupAssignmentTarget"];
    let mut known = vec!["allDevicesAssignmentTarget", "allLicensedUsersAssignmentTarget"];
    known.extend(group_types);
    if version == ApiVersion::Beta {
        known.push("configurationManagerCollectionAssignmentTarget");
    }
    check_odata_type(m.get("@odata.type").unwrap_or(&Value::Null), &known)?;
    let mut allowed: Vec<&str> = Vec::new();
    if version == ApiVersion::Beta {
        allowed.extend([FILTER_ID, FILTER_TYPE]);
    }
    if group_types.contains(&t.as_str()) {
        allowed.push("groupId");
    }
    if t == "configurationManagerCollectionAssignmentTarget" {
        allowed.push("collectionId");
    }
    only_keys(m, &allowed, &t)?;
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!(format!("#microsoft.graph.{t}")));
    if group_types.contains(&t.as_str()) {
        let g = m
            .get("groupId")
            .and_then(Value::as_str)
            .ok_or_else(|| GraphError::bad_request(format!("Property 'groupId' is required on '{t}'.")))?;
        out.insert("groupId".into(), json!(guid(g)?));
    }
    if t == "configurationManagerCollectionAssignmentTarget" {
        let c = m.get("collectionId").and_then(Value::as_str).unwrap_or_default();
        out.insert("collectionId".into(), json!(c));
    }
    let filter_type = enum_value(
        m,
        FILTER_TYPE,
        &["none", "include", "exclude"],
        "deviceAndAppManagementAssignmentFilterType",
    )?
    .unwrap_or_else(|| "none".into());
    let filter_id = match m.get(FILTER_ID) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(guid(s)?),
        Some(v) => {
            return Err(GraphError::bad_request(format!(
                "Cannot convert the literal '{v}' to the expected type 'Edm.String' for property '{FILTER_ID}'."
            )));
        }
    };
    if filter_type != "none" && filter_id.is_none() {
        return Err(GraphError::bad_request(format!(
            "'{FILTER_TYPE}' '{filter_type}' needs a '{FILTER_ID}'."
        )));
    }
    out.insert(FILTER_ID.into(), filter_id.map_or(Value::Null, Value::String));
    out.insert(FILTER_TYPE.into(), json!(filter_type));
    Ok(out)
}

/// The settings type an app type takes (`None`: any other, or none).
fn settings_type_for(app_type: &str) -> Option<&'static str> {
    match app_type {
        "win32LobApp" => Some("win32LobAppAssignmentSettings"),
        "win32CatalogApp" => Some("win32CatalogAppAssignmentSettings"),
        "winGetApp" => Some("winGetAppAssignmentSettings"),
        _ => None,
    }
}

fn restart(v: Option<&Value>, type_name: &str) -> GraphResult<Value> {
    let Some(m) = object_or_null(v, "restartSettings")? else { return Ok(Value::Null) };
    let keys = [
        "gracePeriodInMinutes",
        "countdownDisplayBeforeRestartInMinutes",
        "restartNotificationSnoozeDurationInMinutes",
    ];
    only_keys(m, &keys, type_name)?;
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!(format!("#microsoft.graph.{type_name}")));
    for k in keys {
        out.insert(k.into(), optional_int(m, k)?);
    }
    Ok(Value::Object(out))
}

fn install_time(v: Option<&Value>, type_name: &str, keys: &[&str]) -> GraphResult<Value> {
    let Some(m) = object_or_null(v, "installTimeSettings")? else { return Ok(Value::Null) };
    only_keys(m, keys, type_name)?;
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!(format!("#microsoft.graph.{type_name}")));
    for k in keys {
        let value = m.get(*k).cloned().unwrap_or(Value::Null);
        match (*k, &value) {
            ("useLocalTime", Value::Bool(_) | Value::Null) => {}
            ("useLocalTime", v) => {
                return Err(GraphError::bad_request(format!(
                    "Cannot convert the literal '{v}' to the expected type 'Edm.Boolean' for property 'useLocalTime'."
                )));
            }
            (_, Value::Null) => {}
            (_, Value::String(s)) if chrono_like(s) => {}
            (k, v) => {
                return Err(GraphError::bad_request(format!(
                    "Cannot convert the literal '{v}' to the expected type 'Edm.DateTimeOffset' for property '{k}'."
                )));
            }
        }
        out.insert((*k).into(), if *k == "useLocalTime" && value.is_null() { json!(false) } else { value });
    }
    Ok(Value::Object(out))
}

/// `YYYY-MM-DDThh:mm…` (a DateTimeOffset; the offset part is not checked).
fn chrono_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 16
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
}

/// Settings checked against the app type, with service defaults filled in.
fn check_settings(app_type: &str, v: Option<&Value>) -> GraphResult<Value> {
    let expected = settings_type_for(app_type);
    let given = match v {
        None | Some(Value::Null) => None,
        Some(v) => Some(typed(v, "settings")?),
    };
    let (m, t) = match (given, expected) {
        (None, None) => return Ok(Value::Null),
        (None, Some(e)) => (Map::new(), e.to_owned()),
        (Some((m, t)), Some(e)) if t == e => (m.clone(), t),
        (Some((_, t)), Some(e)) => {
            return Err(GraphError::bad_request(format!(
                "{{\"_version\": 3, \"Message\": \"The assignment settings type '#microsoft.graph.{t}' is not valid for an app of type '#microsoft.graph.{app_type}'; expected '#microsoft.graph.{e}'.\"}}"
            )));
        }
        (Some((m, t)), None) => {
            if [
                "win32LobAppAssignmentSettings",
                "win32CatalogAppAssignmentSettings",
                "winGetAppAssignmentSettings",
            ]
            .contains(&t.as_str())
            {
                return Err(GraphError::bad_request(format!(
                    "{{\"_version\": 3, \"Message\": \"The assignment settings type '#microsoft.graph.{t}' is not valid for an app of type '#microsoft.graph.{app_type}'.\"}}"
                )));
            }
            // Other app families (AppX, Store, iOS…) are not emulated in detail.
            let mut out = m.clone();
            out.insert("@odata.type".into(), json!(format!("#microsoft.graph.{t}")));
            return Ok(Value::Object(out));
        }
    };
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!(format!("#microsoft.graph.{t}")));
    if t == "winGetAppAssignmentSettings" {
        only_keys(&m, &["notifications", "installTimeSettings", "restartSettings"], &t)?;
        let n = enum_value(
            &m,
            "notifications",
            &["showAll", "showReboot", "hideAll", "unknownFutureValue"],
            "winGetAppNotification",
        )?;
        out.insert("notifications".into(), json!(n.unwrap_or_else(|| "showAll".into())));
        out.insert(
            "installTimeSettings".into(),
            install_time(
                m.get("installTimeSettings"),
                "winGetAppInstallTimeSettings",
                &["useLocalTime", "deadlineDateTime"],
            )?,
        );
        out.insert("restartSettings".into(), restart(m.get("restartSettings"), "winGetAppRestartSettings")?);
    } else {
        only_keys(
            &m,
            &[
                "notifications",
                "deliveryOptimizationPriority",
                "installTimeSettings",
                "restartSettings",
                "autoUpdateSettings",
            ],
            &t,
        )?;
        let n = enum_value(
            &m,
            "notifications",
            &["showAll", "showReboot", "hideAll"],
            "win32LobAppNotification",
        )?;
        out.insert("notifications".into(), json!(n.unwrap_or_else(|| "showAll".into())));
        let d = enum_value(
            &m,
            "deliveryOptimizationPriority",
            &["notConfigured", "foreground"],
            "win32LobAppDeliveryOptimizationPriority",
        )?;
        out.insert("deliveryOptimizationPriority".into(), json!(d.unwrap_or_else(|| "notConfigured".into())));
        out.insert(
            "installTimeSettings".into(),
            install_time(
                m.get("installTimeSettings"),
                "mobileAppInstallTimeSettings",
                &["useLocalTime", "startDateTime", "deadlineDateTime"],
            )?,
        );
        out.insert(
            "restartSettings".into(),
            restart(m.get("restartSettings"), "win32LobAppRestartSettings")?,
        );
        let auto = match object_or_null(m.get("autoUpdateSettings"), "autoUpdateSettings")? {
            None => Value::Null,
            Some(a) => {
                only_keys(a, &["autoUpdateSupersededAppsState"], "win32LobAppAutoUpdateSettings")?;
                let s = enum_value(
                    a,
                    "autoUpdateSupersededAppsState",
                    &["notConfigured", "enabled", "unknownFutureValue"],
                    "win32LobAppAutoUpdateSupersededAppsState",
                )?;
                json!({"@odata.type": "#microsoft.graph.win32LobAppAutoUpdateSettings",
                       "autoUpdateSupersededAppsState": s.unwrap_or_else(|| "notConfigured".into())})
            }
        };
        out.insert("autoUpdateSettings".into(), auto);
    }
    Ok(Value::Object(out))
}

/// Validates an assignment body and returns the stored assignment (beta shape, derived id).
/// `old` is the assignment a PATCH changes.
fn check_assignment(
    version: ApiVersion,
    app_type: String,
    body: &Map<String, Value>,
    old: Option<&Map<String, Value>>,
    mode: Use,
) -> GraphResult<Map<String, Value>> {
    if let Some(t) = body.get("@odata.type") {
        check_odata_type(t, &["mobileAppAssignment"])?;
    }
    for key in body.keys() {
        match key.as_str() {
            "@odata.type" | "intent" | "target" | "settings" => {}
            "id" if mode == Use::Assign => {}
            "id" => return Err(GraphError::bad_request("Property 'id' is read-only and cannot be set.")),
            "source" | "sourceId" if version == ApiVersion::Beta => {
                return Err(GraphError::bad_request(format!(
                    "Property '{key}' is read-only and cannot be set."
                )));
            }
            other => return Err(unknown_property(other, "mobileAppAssignment")),
        }
    }
    let intent = match enum_value(body, "intent", &INTENTS, "installIntent")? {
        Some(i) => i,
        None => match old.and_then(|o| o.get("intent")).and_then(Value::as_str) {
            Some(i) => i.to_owned(),
            None => {
                return Err(GraphError::bad_request(
                    "Property 'intent' is required when creating the object.",
                ));
            }
        },
    };
    let target = match body.get("target") {
        Some(t) if !t.is_null() => check_target(version, t)?,
        _ => match old.and_then(|o| o.get("target")).and_then(Value::as_object) {
            Some(t) => {
                let mut t = t.clone();
                // A v1.0 PATCH without a target keeps the stored filter.
                t.entry(FILTER_TYPE).or_insert_with(|| json!("none"));
                t
            }
            None => {
                return Err(GraphError::bad_request(
                    "Property 'target' is required when creating the object.",
                ));
            }
        },
    };
    let settings = match (body.get("settings"), old) {
        (None, Some(o)) => o.get("settings").cloned().unwrap_or(Value::Null),
        (given, _) => check_settings(&app_type, given)?,
    };
    let intent_number = INTENTS.iter().position(|i| *i == intent).unwrap_or_default();
    let exclusion = u8::from(bare(target.get("@odata.type")) == "exclusionGroupAssignmentTarget");
    let id = format!("{}_{intent_number}_{exclusion}", target_key(&target));
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!("#microsoft.graph.mobileAppAssignment"));
    out.insert("id".into(), json!(id));
    out.insert("intent".into(), json!(intent));
    out.insert("target".into(), Value::Object(target));
    out.insert("settings".into(), settings);
    out.insert("source".into(), json!("direct"));
    out.insert("sourceId".into(), Value::Null);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    const GROUP: &str = "c1000000-0000-4000-8000-0000000000aa";

    fn win32_body() -> Value {
        json!({"@odata.type": "#microsoft.graph.mobileAppAssignment", "intent": "required",
               "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": GROUP,
                          FILTER_ID: null, FILTER_TYPE: "none"},
               "settings": {"@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings", "notifications": "hideAll"}})
    }

    #[test]
    fn derived_id_and_defaults() {
        let a =
            check_assignment(ApiVersion::Beta, "win32LobApp".into(), &map(win32_body()), None, Use::Create)
                .unwrap();
        assert_eq!(a["id"], json!(format!("{GROUP}_1_0")));
        assert_eq!(a["settings"]["notifications"], "hideAll");
        assert_eq!(a["settings"]["deliveryOptimizationPriority"], "notConfigured");
        assert_eq!(a["settings"]["autoUpdateSettings"], Value::Null);
        let all = json!({"intent": "available", "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}});
        let a = check_assignment(ApiVersion::V1, "winGetApp".into(), &map(all), None, Use::Create).unwrap();
        assert_eq!(a["id"], json!(format!("{ALL_DEVICES_KEY}_0_0")));
        assert_eq!(a["settings"]["@odata.type"], "#microsoft.graph.winGetAppAssignmentSettings");
    }

    #[test]
    fn strictness_table() {
        let cases: Vec<(ApiVersion, &str, Value, &str)> = vec![
            (ApiVersion::Beta, "winGetApp", win32_body(), "not valid for an app"),
            (
                ApiVersion::Beta,
                "win32LobApp",
                json!({"intent": "sometimes", "target": win32_body()["target"]}),
                "installIntent",
            ),
            (
                ApiVersion::Beta,
                "win32LobApp",
                json!({"intent": "required", "target": win32_body()["target"], "color": 1}),
                "does not exist",
            ),
            (ApiVersion::V1, "win32LobApp", win32_body(), "does not exist"),
            (
                ApiVersion::Beta,
                "win32LobApp",
                json!({"intent": "required", "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "nope"}}),
                "Invalid object identifier",
            ),
            (
                ApiVersion::Beta,
                "win32LobApp",
                json!({"intent": "required", "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": GROUP, FILTER_TYPE: "include"}}),
                "needs",
            ),
            (
                ApiVersion::Beta,
                "win32LobApp",
                json!({"intent": "required", "target": {"groupId": GROUP}}),
                "abstract",
            ),
            (
                ApiVersion::Beta,
                "win32LobApp",
                json!({"id": "x", "intent": "required", "target": win32_body()["target"]}),
                "read-only",
            ),
            (
                ApiVersion::Beta,
                "win32LobApp",
                json!({"intent": "required", "target": win32_body()["target"],
                "settings": {"@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings", "restartSettings": {"gracePeriodInMinutes": "x"}}}),
                "Edm.Int32",
            ),
        ];
        for (version, app, body, text) in cases {
            let err = check_assignment(version, app.into(), &map(body.clone()), None, Use::Create)
                .err()
                .map(|e| e.message)
                .unwrap_or_default();
            assert!(err.contains(text), "{body}: got '{err}', wanted '{text}'");
        }
    }

    #[test]
    fn is_assigned_follows_the_assignments() {
        let app = json!({"id": "a", "isAssigned": false, ASSIGNMENTS_KEY: [{"id": "x"}]});
        let view = app_view(&map(app));
        assert_eq!(view.get("isAssigned"), Some(&json!(true)));
        assert!(!view.contains_key(ASSIGNMENTS_KEY));
        let view = app_view(&map(json!({"id": "a", "isAssigned": true, ASSIGNMENTS_KEY: []})));
        assert_eq!(view.get("isAssigned"), Some(&json!(false)));
    }

    #[test]
    fn patch_keeps_what_it_does_not_name() {
        let old =
            check_assignment(ApiVersion::Beta, "win32LobApp".into(), &map(win32_body()), None, Use::Create)
                .unwrap();
        let patch = json!({"settings": {"@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings", "notifications": "showReboot"}});
        let new =
            check_assignment(ApiVersion::Beta, "win32LobApp".into(), &map(patch), Some(&old), Use::Update)
                .unwrap();
        assert_eq!(new["id"], old["id"]);
        assert_eq!(new["settings"]["notifications"], "showReboot");
        assert_eq!(new["target"], old["target"]);
    }
}

#[cfg(test)]
mod router_tests {
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    use crate::emulator::fixtures::{WIN32_APP_ID, WINGET_APP_ID};
    use crate::emulator::routes::scripts::tests::{router, send};

    const GROUP: &str = "c1000000-0000-4000-8000-0000000000aa";

    /// Creates on one app running at once on several threads all land.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_creates_on_one_app_all_land() {
        let (app, _) = router(&["DeviceManagementApps.ReadWrite.All"]);
        let url = format!("/beta/deviceAppManagement/mobileApps/{WIN32_APP_ID}/assignments");
        let creates = (0..40).map(|i| {
            let (app, url) = (app.clone(), url.clone());
            tokio::spawn(async move {
                let group = format!("c1000000-0000-4000-8000-{i:012}");
                let body = json!({"@odata.type": "#microsoft.graph.mobileAppAssignment", "intent": "required",
                    "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group}});
                send(&app, Method::POST, &url, Some(body)).await.0
            })
        });
        for status in futures::future::join_all(creates).await {
            assert_eq!(status.unwrap(), StatusCode::CREATED);
        }
        let (_, list) = send(&app, Method::GET, &url, None).await;
        assert_eq!(list["value"].as_array().map(Vec::len), Some(40));
    }

    #[tokio::test]
    async fn assignments_one_at_a_time_and_replace_all() {
        let (app, _) = router(&["DeviceManagementApps.ReadWrite.All"]);
        let win32 = format!("/beta/deviceAppManagement/mobileApps/{WIN32_APP_ID}");
        let target = json!({"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": GROUP});
        let body = json!({"@odata.type": "#microsoft.graph.mobileAppAssignment", "intent": "required", "target": target,
                          "settings": {"@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings"}});
        let (status, created) =
            send(&app, Method::POST, &format!("{win32}/assignments"), Some(body.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["id"], format!("{GROUP}_1_0"));
        let (status, _) = send(&app, Method::POST, &format!("{win32}/assignments"), Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "one assignment per group");
        let (_, app_body) = send(&app, Method::GET, &win32, None).await;
        assert_eq!(app_body["isAssigned"], true);
        assert!(app_body.get("assignments").is_none());

        // Win32 settings on a WinGet app, and filters on v1.0, are refused.
        let winget = format!("/beta/deviceAppManagement/mobileApps/{WINGET_APP_ID}/assignments");
        assert_eq!(send(&app, Method::POST, &winget, Some(body.clone())).await.0, StatusCode::BAD_REQUEST);
        let mut filtered = body.clone();
        filtered["target"]["deviceAndAppManagementAssignmentFilterType"] = json!("none");
        let v1 = format!("/v1.0/deviceAppManagement/mobileApps/{WIN32_APP_ID}/assignments");
        assert_eq!(send(&app, Method::POST, &v1, Some(filtered)).await.0, StatusCode::BAD_REQUEST);
        let (status, list) = send(&app, Method::GET, &v1, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(list["value"][0]["target"].get("deviceAndAppManagementAssignmentFilterType").is_none());

        let one = format!("{win32}/assignments/{GROUP}_1_0");
        let patch = json!({"settings": {"@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings", "notifications": "hideAll"}});
        let (status, patched) = send(&app, Method::PATCH, &one, Some(patch)).await;
        assert_eq!(
            (status, patched["settings"]["notifications"].clone()),
            (StatusCode::OK, json!("hideAll"))
        );

        let (status, _) =
            send(&app, Method::POST, &format!("{win32}/assign"), Some(json!({"mobileAppAssignments": []})))
                .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(send(&app, Method::GET, &one, None).await.0, StatusCode::NOT_FOUND);
        let (_, app_body) = send(&app, Method::GET, &win32, None).await;
        assert_eq!(app_body["isAssigned"], false);
        let bad = "/beta/deviceAppManagement/mobileApps/not-a-guid/assignments";
        assert_eq!(send(&app, Method::GET, bad, None).await.0, StatusCode::BAD_REQUEST);

        let (reader, _) = router(&["DeviceManagementApps.Read.All"]);
        let (status, _) = send(&reader, Method::POST, &format!("{win32}/assignments"), Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, list) =
            send(&reader, Method::GET, "/beta/deviceAppManagement/mobileApps?$filter=displayName%20eq%20'Microsoft%20Visual%20Studio%20Code'", None)
                .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["value"].as_array().map(Vec::len), Some(1));
    }
}
