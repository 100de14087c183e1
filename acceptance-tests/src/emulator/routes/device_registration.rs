//! The device registration policy (graph-reference §1): a singleton, readable on v1.0 and
//! beta, replaceable only with a beta PUT of the whole body.
//!
//! Strictness mirrors the documentation: the PUT replaces everything, so an omitted
//! `userDeviceQuota` becomes 0 (as the update page warns); deprecated (`appliesTo`,
//! `allowedUsers`, `allowedGroups`) and read-only properties are refused; membership
//! `@odata.type`s, the MFA enum and GUIDs are checked; `azureADRegistration` cannot change
//! while `isAdminConfigurable` is false (Intune manages it).
//!
//! The stored object is served as it is, so a test can store the older payload shape
//! through `/_emulator/objects/deviceRegistrationPolicy` to see how the provider reads it.

use axum::body::Bytes;
use axum::response::Response;
use axum::routing::{get, put};
use serde_json::{Map, Value, json};

use super::{GraphRequest, GraphRoutes, ok};
use crate::emulator::errors::{GraphError, GraphResult};
use crate::emulator::store::Record;
use crate::emulator::validate::guid;

/// Collection (and id) of the singleton.
pub const DEVICE_REGISTRATION_POLICY: &str = "deviceRegistrationPolicy";
const READ: &[&str] = &["Policy.Read.DeviceConfiguration", "Policy.ReadWrite.DeviceConfiguration"];
const WRITE: &[&str] = &["Policy.ReadWrite.DeviceConfiguration"];

pub fn routes(r: GraphRoutes) -> GraphRoutes {
    // v1.0 can only read it (UpdateRestrictions Updatable=false in the v1.0 CSDL).
    r.v1_only("/policies/deviceRegistrationPolicy", get(get_policy))
        .beta_only("/policies/deviceRegistrationPolicy", put(put_policy).get(get_policy))
}

/// The policy a new tenant has (current shape; values of the v1.0 GET example, quota from
/// the beta resource page's documented default).
pub fn fixture() -> Value {
    json!({
        "id": DEVICE_REGISTRATION_POLICY,
        "displayName": "Device Registration Policy",
        "description": "Tenant-wide policy that manages initial provisioning controls using quota restrictions, additional authentication and authorization checks",
        "userDeviceQuota": 50,
        "multiFactorAuthConfiguration": "notRequired",
        "azureADRegistration": {
            "isAdminConfigurable": false,
            "allowedToRegister": {"@odata.type": "#microsoft.graph.allDeviceRegistrationMembership"}
        },
        "azureADJoin": {
            "isAdminConfigurable": true,
            "allowedToJoin": {"@odata.type": "#microsoft.graph.allDeviceRegistrationMembership"},
            "localAdmins": {
                "enableGlobalAdmins": true,
                "registeringUsers": {"@odata.type": "#microsoft.graph.noDeviceRegistrationMembership"}
            }
        },
        "localAdminPassword": {"isEnabled": false}
    })
}

fn stored(req: &GraphRequest) -> GraphResult<Record> {
    req.state
        .store()
        .get(DEVICE_REGISTRATION_POLICY, DEVICE_REGISTRATION_POLICY)
        .ok_or_else(|| GraphError::not_found(DEVICE_REGISTRATION_POLICY))
}

async fn get_policy(req: GraphRequest) -> GraphResult<Response> {
    req.caller.require_directory(READ)?;
    let policy = stored(&req)?;
    Ok(ok(req.entity(&policy.data, "policies/deviceRegistrationPolicy/$entity")))
}

const MEMBERSHIP_TYPES: [&str; 3] = [
    "#microsoft.graph.allDeviceRegistrationMembership",
    "#microsoft.graph.enumeratedDeviceRegistrationMembership",
    "#microsoft.graph.noDeviceRegistrationMembership",
];

fn unknown_property(name: &str, type_name: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Property '{name}' does not exist on type 'microsoft.graph.{type_name}'. Make sure to only use property names that are defined by the type."
    ))
}

fn object<'a>(v: &'a Value, name: &str) -> GraphResult<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| GraphError::bad_request(format!("Property '{name}' must be an object.")))
}

fn only_keys(m: &Map<String, Value>, allowed: &[&str], type_name: &str) -> GraphResult<()> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unknown_property(k, type_name)),
        None => Ok(()),
    }
}

/// A membership object; returns it normalised (with `#`).
fn membership(v: &Value, name: &str) -> GraphResult<Value> {
    let m = object(v, name)?;
    let t = m.get("@odata.type").and_then(Value::as_str).ok_or_else(|| {
        GraphError::bad_request(format!(
            "'{name}' needs an @odata.type (a deviceRegistrationMembership subtype)."
        ))
    })?;
    let t = if t.starts_with('#') { t.to_owned() } else { format!("#{t}") };
    if !MEMBERSHIP_TYPES.contains(&t.as_str()) {
        return Err(GraphError::bad_request(format!(
            "'{t}' is not a valid type for '{name}'; expected a deviceRegistrationMembership subtype."
        )));
    }
    if t == MEMBERSHIP_TYPES[1] {
        only_keys(m, &["@odata.type", "users", "groups"], "enumeratedDeviceRegistrationMembership")?;
        let mut ids = Map::new();
        for key in ["users", "groups"] {
            let list = match m.get(key) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .ok_or_else(|| {
                                GraphError::bad_request(format!("'{name}.{key}' must hold strings."))
                            })
                            .and_then(guid)
                    })
                    .collect::<GraphResult<Vec<_>>>()?,
                Some(_) => return Err(GraphError::bad_request(format!("'{name}.{key}' must be an array."))),
            };
            ids.insert(key.into(), json!(list));
        }
        Ok(json!({"@odata.type": t, "users": ids["users"], "groups": ids["groups"]}))
    } else {
        only_keys(m, &["@odata.type"], "deviceRegistrationMembership")?;
        Ok(json!({"@odata.type": t}))
    }
}

/// A stored membership in the current shape, whichever shape the tenant holds it in (the
/// older `appliesTo` payload is only another serialisation of the same setting).
fn stored_membership(sub_policy: &Value, current_key: &str) -> Value {
    if let Some(m) = sub_policy.get(current_key) {
        return membership(m, current_key).unwrap_or(Value::Null);
    }
    let ids = |k: &str| sub_policy.get(k).cloned().unwrap_or_else(|| json!([]));
    match sub_policy.get("appliesTo").and_then(Value::as_str) {
        Some("0") => json!({"@odata.type": MEMBERSHIP_TYPES[2]}),
        Some("1") => json!({"@odata.type": MEMBERSHIP_TYPES[0]}),
        Some("2") => {
            json!({"@odata.type": MEMBERSHIP_TYPES[1], "users": ids("allowedUsers"), "groups": ids("allowedGroups")})
        }
        _ => Value::Null,
    }
}

fn bool_of(m: &Map<String, Value>, key: &str, default: bool) -> GraphResult<bool> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(GraphError::bad_request(format!(
            "Cannot convert the literal '{other}' to the expected type 'Edm.Boolean' for property '{key}'."
        ))),
    }
}

/// Validate a PUT body and build the stored policy it replaces the old one with.
fn replace(old: &Map<String, Value>, body: &Map<String, Value>) -> GraphResult<Map<String, Value>> {
    const TOP: [&str; 5] = [
        "userDeviceQuota",
        "multiFactorAuthConfiguration",
        "azureADRegistration",
        "azureADJoin",
        "localAdminPassword",
    ];
    for key in body.keys() {
        if ["id", "displayName", "description"].contains(&key.as_str()) {
            return Err(GraphError::bad_request(format!("Property '{key}' is read-only and cannot be set.")));
        }
        if !TOP.contains(&key.as_str()) {
            return Err(unknown_property(key, "deviceRegistrationPolicy"));
        }
    }
    let mut out = Map::new();
    for key in ["id", "displayName", "description"] {
        if let Some(v) = old.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    // Documented: an omitted quota is reset to 0, which blocks every join.
    let quota = match body.get("userDeviceQuota") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().filter(|q| *q >= 0).ok_or_else(|| {
            GraphError::bad_request(format!(
                "Cannot convert the literal '{v}' to the expected type 'Edm.Int32' for property 'userDeviceQuota'."
            ))
        })?,
    };
    out.insert("userDeviceQuota".into(), json!(quota));
    let mfa = match body.get("multiFactorAuthConfiguration").and_then(Value::as_str) {
        Some(m @ ("notRequired" | "required")) => m,
        None => "notRequired",
        Some(other) => {
            return Err(GraphError::bad_request(format!(
                "Requested value '{other}' was not found in enum 'multiFactorAuthConfiguration'."
            )));
        }
    };
    out.insert("multiFactorAuthConfiguration".into(), json!(mfa));

    let old_reg = old.get("azureADRegistration").cloned().unwrap_or(Value::Null);
    let reg = match body.get("azureADRegistration") {
        Some(v) => {
            let m = object(v, "azureADRegistration")?;
            only_keys(m, &["isAdminConfigurable", "allowedToRegister"], "azureADRegistrationPolicy")?;
            let allowed = match m.get("allowedToRegister") {
                Some(a) => membership(a, "azureADRegistration.allowedToRegister")?,
                None => json!({"@odata.type": MEMBERSHIP_TYPES[0]}),
            };
            let configurable = old_reg.get("isAdminConfigurable").and_then(Value::as_bool).unwrap_or(true);
            let old_allowed = stored_membership(&old_reg, "allowedToRegister");
            if !configurable && allowed != old_allowed {
                return Err(GraphError::bad_request(
                    "azureADRegistration cannot be modified because it is managed by Microsoft Intune (isAdminConfigurable is false).",
                ));
            }
            json!({"isAdminConfigurable": configurable, "allowedToRegister": allowed})
        }
        None => old_reg,
    };
    out.insert("azureADRegistration".into(), reg);

    let old_join = old.get("azureADJoin").cloned().unwrap_or(Value::Null);
    let join = match body.get("azureADJoin") {
        Some(v) => {
            let m = object(v, "azureADJoin")?;
            only_keys(m, &["isAdminConfigurable", "allowedToJoin", "localAdmins"], "azureADJoinPolicy")?;
            let allowed = match m.get("allowedToJoin") {
                Some(a) => membership(a, "azureADJoin.allowedToJoin")?,
                None => json!({"@odata.type": MEMBERSHIP_TYPES[0]}),
            };
            let local_admins = match m.get("localAdmins") {
                Some(la) => {
                    let la = object(la, "azureADJoin.localAdmins")?;
                    only_keys(la, &["enableGlobalAdmins", "registeringUsers"], "localAdminSettings")?;
                    let registering = match la.get("registeringUsers") {
                        Some(r) => membership(r, "azureADJoin.localAdmins.registeringUsers")?,
                        None => json!({"@odata.type": MEMBERSHIP_TYPES[2]}),
                    };
                    json!({"enableGlobalAdmins": bool_of(la, "enableGlobalAdmins", true)?, "registeringUsers": registering})
                }
                None => json!({"enableGlobalAdmins": true,
                               "registeringUsers": {"@odata.type": MEMBERSHIP_TYPES[2]}}),
            };
            let configurable = old_join.get("isAdminConfigurable").and_then(Value::as_bool).unwrap_or(true);
            json!({"isAdminConfigurable": configurable, "allowedToJoin": allowed, "localAdmins": local_admins})
        }
        None => old_join,
    };
    out.insert("azureADJoin".into(), join);

    let laps = match body.get("localAdminPassword") {
        Some(v) => {
            let m = object(v, "localAdminPassword")?;
            only_keys(m, &["isEnabled"], "localAdminPasswordSettings")?;
            json!({"isEnabled": bool_of(m, "isEnabled", false)?})
        }
        None => json!({"isEnabled": false}),
    };
    out.insert("localAdminPassword".into(), laps);
    Ok(out)
}

async fn put_policy(req: GraphRequest, body: Bytes) -> GraphResult<Response> {
    req.caller.require_directory(WRITE)?;
    let body = req.json_body(&body)?;
    let old = req
        .state
        .store()
        .get_latest(DEVICE_REGISTRATION_POLICY, DEVICE_REGISTRATION_POLICY)
        .ok_or_else(|| GraphError::not_found(DEVICE_REGISTRATION_POLICY))?;
    let new = replace(&old.data, &body)?;
    let mut record = old.clone();
    record.data = new;
    req.state.store().replace(DEVICE_REGISTRATION_POLICY, record.clone());
    Ok(ok(req.entity(&record.data, "policies/deviceRegistrationPolicy/$entity")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old() -> Map<String, Value> {
        fixture().as_object().cloned().unwrap()
    }

    #[test]
    fn omitted_quota_becomes_zero() {
        let body = json!({"azureADJoin": {"allowedToJoin": {"@odata.type": "#microsoft.graph.noDeviceRegistrationMembership"}}});
        let new = replace(&old(), body.as_object().unwrap()).unwrap();
        assert_eq!(new["userDeviceQuota"], 0);
    }

    #[test]
    fn deprecated_and_read_only_properties_are_refused() {
        for body in [
            json!({"id": "deviceRegistrationPolicy"}),
            json!({"azureADJoin": {"appliesTo": "1"}}),
            json!({"azureADJoin": {"allowedToJoin": {"@odata.type": "#microsoft.graph.allDeviceRegistrationMembership", "users": []}}}),
            json!({"multiFactorAuthConfiguration": "0"}),
            json!({"azureADJoin": {"allowedToJoin": {"@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership", "users": ["not-a-guid"]}}}),
        ] {
            assert!(replace(&old(), body.as_object().unwrap()).is_err(), "{body} was accepted");
        }
    }

    #[test]
    fn registration_managed_by_intune_cannot_change() {
        let body = json!({"azureADRegistration": {"isAdminConfigurable": false,
            "allowedToRegister": {"@odata.type": "#microsoft.graph.noDeviceRegistrationMembership"}}});
        assert!(replace(&old(), body.as_object().unwrap()).is_err());
    }

    #[test]
    fn full_body_round_trips() {
        let mut body = old();
        for k in ["id", "displayName", "description"] {
            body.remove(k);
        }
        let new = replace(&old(), &body).unwrap();
        assert_eq!(Value::Object(new), fixture());
    }
}
