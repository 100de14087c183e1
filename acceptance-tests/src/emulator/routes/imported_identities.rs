//! Windows corporate identifiers: Intune `importedDeviceIdentities` (graph-reference §6),
//! beta only.
//!
//! * `POST .../importDeviceIdentityList` answers 200 with one `importedDeviceIdentityResult`
//!   per requested row (`status` true/false), never failing the whole call for a bad row:
//!   a malformed row (missing identifier or type, unknown type), a row repeating an earlier
//!   row of the same call, or a row whose identifier already exists (compared
//!   case-insensitively, per type) while `overwriteImportedDeviceIdentities` is false, fails
//!   alone. With overwrite, an existing row gets the new description instead.
//! * `POST .../searchExistingIdentities`: the stored rows matching the given identifiers.
//! * `GET` of the collection (Intune paging: 1000 per page by default, `$top` up to 1000,
//!   `$filter` on `importedDeviceIdentityType`, `importedDeviceIdentifier`, `platform`),
//!   `GET`/`PATCH` (`description` only)/`DELETE` of one row.
//!
//! New rows get `enrollmentState: notContacted` and a null `lastContactedDateTime`; tests
//! change them through `/_emulator/objects/importedDeviceIdentities/{id}`.
//!
//! Failure switch (for partial-failure tests): every object stored in the control
//! collection [`IMPORT_FAILURES`] (`POST /_emulator/objects/importedDeviceIdentityImportFailures`
//! with `{"id": "...", "serialPrefix": "FAIL"}`) makes each imported row whose serial (the
//! part after the last comma) starts with `serialPrefix` (case-sensitive) come back with
//! `status: false` and not be stored. Nothing fails by default.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::{GraphRequest, GraphRoutes, new_id, no_content, ok, timestamp};
use crate::emulator::auth::perm;
use crate::emulator::errors::{GraphError, GraphResult};
use crate::emulator::odata::check_filter;
use crate::emulator::store::Record;
use crate::emulator::validate::{EntitySpec, Kind, Mode, check_odata_type, guid, ro, rw};

/// Store collection of the identities.
pub const IMPORTED_DEVICE_IDENTITIES: &str = "importedDeviceIdentities";
/// Control collection: rows whose serial starts with a stored `serialPrefix` fail to import.
pub const IMPORT_FAILURES: &str = "importedDeviceIdentityImportFailures";

const KIND: &str = "ImportedDeviceIdentity";
const BASE: &str = "/deviceManagement/importedDeviceIdentities";
const CONTEXT: &str = "deviceManagement/importedDeviceIdentities";
const MAX_TOP: usize = 1000;
const TYPES: [&str; 4] = ["unknown", "imei", "serialNumber", "manufacturerModelSerial"];
const PLATFORMS: [&str; 9] = [
    "unknown",
    "ios",
    "android",
    "windows",
    "windowsMobile",
    "macOS",
    "visionOS",
    "tvOS",
    "unknownFutureValue",
];
const FILTERABLE: &[&str] = &["importedDeviceIdentityType", "importedDeviceIdentifier", "platform"];

/// Properties of `importedDeviceIdentity` (beta metadata). `id` and the service-set ones are
/// accepted in import rows (the documented sample sends them) but ignored there.
const SPEC: EntitySpec = EntitySpec {
    type_name: "importedDeviceIdentity",
    props: &[
        ro("id", Kind::String(usize::MAX)),
        ro("importedDeviceIdentifier", Kind::String(usize::MAX)),
        ro("importedDeviceIdentityType", Kind::String(usize::MAX)),
        ro("platform", Kind::String(usize::MAX)),
        rw("description", Kind::String(usize::MAX)),
        ro("createdDateTime", Kind::String(usize::MAX)),
        ro("lastModifiedDateTime", Kind::String(usize::MAX)),
        ro("lastContactedDateTime", Kind::String(usize::MAX)),
        ro("enrollmentState", Kind::String(usize::MAX)),
    ],
    required_on_create: &[],
};

pub fn routes(r: GraphRoutes) -> GraphRoutes {
    r.beta_only(BASE, get(list))
        .beta_only(&format!("{BASE}/importDeviceIdentityList"), post(import_list))
        .beta_only(&format!("{BASE}/searchExistingIdentities"), post(search))
        .beta_only(&format!("{BASE}/{{id}}"), get(read).patch(update).delete(remove))
}

async fn list(req: GraphRequest) -> GraphResult<Response> {
    req.require(perm::INTUNE_SERVICE_CONFIG_READ)?;
    req.query.check_select(SPEC.type_name, &SPEC.names())?;
    req.query.reject_expand()?;
    req.query.reject_orderby()?;
    check_filter(&req.query, KIND, FILTERABLE)?;
    req.collection(req.list(IMPORTED_DEVICE_IDENTITIES), CONTEXT, MAX_TOP)
}

async fn read(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_SERVICE_CONFIG_READ)?;
    req.query.check_select(SPEC.type_name, &SPEC.names())?;
    let record = req.find(IMPORTED_DEVICE_IDENTITIES, KIND, &guid(&id)?)?;
    Ok(ok(req.entity(&record.data, &format!("{CONTEXT}/$entity"))))
}

async fn update(req: GraphRequest, Path(id): Path<String>, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_SERVICE_CONFIG_WRITE)?;
    let id = guid(&id)?;
    let body = req.json_body(&body)?;
    SPEC.check(&body, Mode::Update)?;
    req.find(IMPORTED_DEVICE_IDENTITIES, KIND, &id)?;
    let mut store = req.state.store();
    let mut record =
        store.get_latest(IMPORTED_DEVICE_IDENTITIES, &id).ok_or_else(|| req.not_found(KIND, &id))?;
    if let Some(description) = body.get("description") {
        record.data.insert("description".into(), description.clone());
    }
    record.data.insert("lastModifiedDateTime".into(), Value::String(timestamp()));
    store.replace(IMPORTED_DEVICE_IDENTITIES, record);
    drop(store);
    Ok(no_content())
}

async fn remove(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_SERVICE_CONFIG_WRITE)?;
    let id = guid(&id)?;
    req.find(IMPORTED_DEVICE_IDENTITIES, KIND, &id)?;
    if !req.state.store().remove(IMPORTED_DEVICE_IDENTITIES, &id) {
        return Err(req.not_found(KIND, &id));
    }
    Ok(no_content())
}

/// Case-insensitive key of a row: type and identifier.
fn key(identity_type: &str, identifier: &str) -> (String, String) {
    (identity_type.to_ascii_lowercase(), identifier.to_lowercase())
}

fn record_key(record: &Map<String, Value>) -> (String, String) {
    let text = |k: &str| record.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    key(&text("importedDeviceIdentityType"), &text("importedDeviceIdentifier"))
}

/// The `importedDeviceIdentities` array of an action body, each item an object with a valid
/// `@odata.type` (if given) and only known properties.
fn identities(body: &Map<String, Value>) -> GraphResult<Vec<Map<String, Value>>> {
    let items = match body.get("importedDeviceIdentities") {
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(GraphError::bad_request(
                "Property 'importedDeviceIdentities' must be a collection of importedDeviceIdentity.",
            ));
        }
        None => {
            return Err(GraphError::bad_request("Parameter 'importedDeviceIdentities' is required."));
        }
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(map) = item else {
                return Err(GraphError::bad_request("Each importedDeviceIdentity must be an object."));
            };
            if let Some(t) = map.get("@odata.type") {
                check_odata_type(t, &["importedDeviceIdentity"])?;
            }
            // Action parameters are deserialised into the entity type: unknown properties are
            // refused; read-only ones are accepted (the documented sample sends them).
            for (k, v) in map {
                if k.starts_with('@') {
                    continue;
                }
                if !SPEC.names().contains(&k.as_str()) {
                    return Err(GraphError::bad_request(format!(
                        "Property '{k}' does not exist on type 'microsoft.graph.importedDeviceIdentity'. Make sure to only use property names that are defined by the type."
                    )));
                }
                crate::emulator::validate::check_kind(k, v, Kind::String(usize::MAX))?;
            }
            if let Some(p) = map.get("platform").and_then(Value::as_str)
                && !PLATFORMS.contains(&p)
            {
                return Err(GraphError::bad_request(format!(
                    "Requested value '{p}' was not found in enum 'microsoft.graph.platform'."
                )));
            }
            Ok(map.clone())
        })
        .collect()
}

fn allowed_check_keys(body: &Map<String, Value>, allowed: &[&str], action: &str) -> GraphResult<()> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => {
            Err(GraphError::bad_request(format!("'{k}' is not a parameter of the action '{action}'.")))
        }
        None => Ok(()),
    }
}

/// Serial prefixes that the failure switch makes fail.
fn failing_prefixes(req: &GraphRequest) -> Vec<String> {
    req.state
        .store()
        .list_latest(IMPORT_FAILURES)
        .iter()
        .filter_map(|r| r.data.get("serialPrefix").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn result_row(mut data: Map<String, Value>, status: bool) -> Value {
    data.insert("@odata.type".into(), json!("#microsoft.graph.importedDeviceIdentityResult"));
    data.insert("status".into(), json!(status));
    Value::Object(data)
}

async fn import_list(req: GraphRequest, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_SERVICE_CONFIG_WRITE)?;
    let body = req.json_body(&body)?;
    allowed_check_keys(
        &body,
        &["importedDeviceIdentities", "overwriteImportedDeviceIdentities"],
        "importDeviceIdentityList",
    )?;
    let overwrite = match body.get("overwriteImportedDeviceIdentities") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(GraphError::bad_request(format!(
                "Cannot convert the literal '{v}' to the expected type 'Edm.Boolean'."
            )));
        }
    };
    let rows = identities(&body)?;
    let prefixes = failing_prefixes(&req);

    let mut store = req.state.store();
    let mut existing: std::collections::HashMap<(String, String), String> = store
        .list_latest(IMPORTED_DEVICE_IDENTITIES)
        .into_iter()
        .map(|r| (record_key(&r.data), r.id().to_owned()))
        .collect();
    let mut seen_in_call: HashSet<(String, String)> = HashSet::new();
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let text = |k: &str| row.get(k).and_then(Value::as_str).map(str::to_owned);
        let identifier = text("importedDeviceIdentifier").unwrap_or_default();
        let identity_type = text("importedDeviceIdentityType").unwrap_or_default();
        let description = row.get("description").cloned().unwrap_or(Value::Null);
        let platform = text("platform").unwrap_or_else(|| "unknown".into());
        let mut echo = Map::new();
        echo.insert("id".into(), Value::Null);
        echo.insert("importedDeviceIdentifier".into(), json!(identifier));
        echo.insert("importedDeviceIdentityType".into(), json!(identity_type));
        echo.insert("description".into(), description.clone());
        echo.insert("platform".into(), json!(platform));

        let serial = identifier.rsplit(',').next().unwrap_or_default();
        let malformed = identifier.trim().is_empty()
            || !TYPES.contains(&identity_type.as_str())
            || identity_type == "unknown"
            || (identity_type == "manufacturerModelSerial"
                && (identifier.split(',').count() != 3
                    || identifier.split(',').any(|p| p.trim().is_empty())));
        let k = key(&identity_type, &identifier);
        let forced = prefixes.iter().any(|p| serial.starts_with(p.as_str()));
        if malformed || forced || !seen_in_call.insert(k.clone()) {
            results.push(result_row(echo, false));
            continue;
        }
        let now = timestamp();
        if let Some(id) = existing.get(&k) {
            if !overwrite {
                results.push(result_row(echo, false));
                continue;
            }
            let Some(mut record) = store.get_latest(IMPORTED_DEVICE_IDENTITIES, id) else {
                results.push(result_row(echo, false));
                continue;
            };
            record.data.insert("description".into(), description);
            record.data.insert("platform".into(), json!(platform));
            record.data.insert("lastModifiedDateTime".into(), json!(now));
            let data = record.data.clone();
            store.replace(IMPORTED_DEVICE_IDENTITIES, record);
            results.push(result_row(data, true));
            continue;
        }
        let id = new_id();
        let mut data = echo;
        data.insert("@odata.type".into(), json!("#microsoft.graph.importedDeviceIdentity"));
        data.insert("id".into(), json!(id));
        data.insert("createdDateTime".into(), json!(now));
        data.insert("lastModifiedDateTime".into(), json!(now));
        data.insert("lastContactedDateTime".into(), Value::Null);
        data.insert("enrollmentState".into(), json!("notContacted"));
        store.insert(IMPORTED_DEVICE_IDENTITIES, Record::new(data.clone()));
        existing.insert(k, id);
        results.push(result_row(data, true));
    }
    drop(store);
    Ok(ok(json!({
        "@odata.context": req.context("Collection(microsoft.graph.importedDeviceIdentityResult)"),
        "value": results
    })))
}

async fn search(req: GraphRequest, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_SERVICE_CONFIG_READ)?;
    let body = req.json_body(&body)?;
    allowed_check_keys(&body, &["importedDeviceIdentities"], "searchExistingIdentities")?;
    let wanted: HashSet<(String, String)> = identities(&body)?.iter().map(record_key).collect();
    let found: Vec<Value> = req
        .list(IMPORTED_DEVICE_IDENTITIES)
        .into_iter()
        .filter(|r| wanted.contains(&record_key(r)))
        .map(Value::Object)
        .collect();
    Ok(ok(json!({
        "@odata.context": req.context("Collection(microsoft.graph.importedDeviceIdentity)"),
        "value": found
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case() {
        assert_eq!(
            key("manufacturerModelSerial", "Lenovo,T14,ab"),
            key("ManufacturerModelSerial", "LENOVO,t14,AB")
        );
        assert_ne!(key("imei", "1"), key("serialNumber", "1"));
    }
}
