//! The device registration policy as Graph returns it, and the full-body PUT we send back.
//!
//! Graph only lets this singleton be replaced whole (beta `PUT`), and an omitted
//! `userDeviceQuota` silently becomes 0, which blocks every join. So every write is
//! read-modify-write: parse the current policy, change only what the configuration manages,
//! and build the whole body from the current values.
//!
//! Tenants return two shapes (see `SHAPES`): the current one (`allowedToJoin` with an
//! `@odata.type`) and an older one (`appliesTo` / `allowedUsers` / `allowedGroups`, MFA as
//! `"0"`/`"1"`). Both are read; only the current shape is ever written.

use serde_json::{Map, Value as Json, json};

/// Where Microsoft's sources disagree about this object, what we chose, and why.
/// (graph-reference.md §1; graph-samples README "deviceRegistrationPolicy").
pub const SHAPES: &[(&str, &str)] = &[
    (
        "azureADJoin.appliesTo \"0\"/\"1\"/\"2\"",
        "Read as none/all/selected. Evidence: the beta GET example (docs @ec179dff) still shows \
         appliesTo \"1\" for a tenant whose portal setting is All; the deprecated enum of \
         azureADJoinPolicy.appliesTo is none(0), all(1), selected(2). Never written.",
    ),
    (
        "multiFactorAuthConfiguration \"0\"/\"1\"",
        "Read as notRequired/required (enum order notRequired, required in the metadata); \
         always written by name.",
    ),
    (
        "userDeviceQuota default 50 vs 2",
        "The beta resource page says 50, the v1.0 GET example shows 2: we never assume a \
         default, the current value is always read and echoed.",
    ),
    (
        "azureADJoinPolicy vs azureADJoinSettings",
        "Metadata (2026-08) still defines azureADJoinPolicy with allowedToJoin and localAdmins; \
         we write exactly those properties.",
    ),
];

const ALL: &str = "#microsoft.graph.allDeviceRegistrationMembership";
const ENUMERATED: &str = "#microsoft.graph.enumeratedDeviceRegistrationMembership";
const NONE: &str = "#microsoft.graph.noDeviceRegistrationMembership";

/// Who a membership setting applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Membership {
    All,
    Selected { users: Vec<String>, groups: Vec<String> },
    None,
}

impl Membership {
    pub fn name(&self) -> &'static str {
        match self {
            Membership::All => "all",
            Membership::Selected { .. } => "selected",
            Membership::None => "none",
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Membership::All => json!({ "@odata.type": ALL }),
            Membership::None => json!({ "@odata.type": NONE }),
            Membership::Selected { users, groups } => {
                json!({ "@odata.type": ENUMERATED, "users": users, "groups": groups })
            }
        }
    }
}

/// The settings this provider exposes, as currently set in the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinSettings {
    pub allowed_to_join: Membership,
    pub user_device_quota: i64,
    pub require_mfa_to_join: bool,
    pub global_admins_are_local_admins: bool,
    pub registering_users_are_local_admins: Membership,
    pub local_admin_password_enabled: bool,
}

/// The parts of the policy we never manage but must send back unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct Echo {
    registration: Json,
    join_admin_configurable: Json,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("the device registration policy has no {0}")]
    Missing(&'static str),
    #[error("the device registration policy has an unexpected value {value:?} for {field}")]
    Unexpected { field: &'static str, value: String },
}

fn odata_type(v: &Json) -> Option<&str> {
    // Intune-generated examples sometimes omit the leading '#'; accept both.
    v.get("@odata.type").and_then(Json::as_str).map(|t| t.trim_start_matches('#'))
}

fn id_list(v: Option<&Json>) -> Vec<String> {
    let mut ids: Vec<String> = v
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    ids.sort();
    ids.dedup();
    ids
}

/// Parse a current-shape membership object.
fn membership(v: &Json, field: &'static str) -> Result<Membership, PolicyError> {
    match odata_type(v) {
        Some(t) if t == &ALL[1..] => Ok(Membership::All),
        Some(t) if t == &NONE[1..] => Ok(Membership::None),
        Some(t) if t == &ENUMERATED[1..] => {
            Ok(Membership::Selected { users: id_list(v.get("users")), groups: id_list(v.get("groups")) })
        }
        other => Err(PolicyError::Unexpected { field, value: other.unwrap_or("<none>").to_owned() }),
    }
}

/// Parse the older `appliesTo` shape of a sub-policy.
fn legacy_membership(v: &Json, field: &'static str) -> Result<Membership, PolicyError> {
    let applies = match v.get("appliesTo") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        _ => return Err(PolicyError::Missing(field)),
    };
    match applies.as_str() {
        "0" | "none" => Ok(Membership::None),
        "1" | "all" => Ok(Membership::All),
        "2" | "selected" => Ok(Membership::Selected {
            users: id_list(v.get("allowedUsers")),
            groups: id_list(v.get("allowedGroups")),
        }),
        _ => Err(PolicyError::Unexpected { field, value: applies }),
    }
}

fn mfa_required(v: Option<&Json>) -> Result<bool, PolicyError> {
    match v.and_then(Json::as_str) {
        Some("notRequired" | "0") => Ok(false),
        Some("required" | "1") => Ok(true),
        Some(other) => {
            Err(PolicyError::Unexpected { field: "multiFactorAuthConfiguration", value: other.to_owned() })
        }
        None => Err(PolicyError::Missing("multiFactorAuthConfiguration")),
    }
}

/// Convert the registration sub-policy to the current shape so it can be echoed in a PUT.
fn registration_current_shape(reg: &Json) -> Result<Json, PolicyError> {
    let admin = reg.get("isAdminConfigurable").cloned().unwrap_or(Json::Bool(false));
    let allowed = match reg.get("allowedToRegister") {
        Some(a) => membership(a, "azureADRegistration.allowedToRegister")?,
        None => legacy_membership(reg, "azureADRegistration.appliesTo")?,
    };
    Ok(json!({ "isAdminConfigurable": admin, "allowedToRegister": allowed.to_json() }))
}

/// Parse a GET response into the managed settings and the values to echo.
pub fn parse(policy: &Json) -> Result<(JoinSettings, Echo), PolicyError> {
    let quota = policy
        .get("userDeviceQuota")
        .and_then(Json::as_i64)
        .ok_or(PolicyError::Missing("userDeviceQuota"))?;
    let join = policy.get("azureADJoin").ok_or(PolicyError::Missing("azureADJoin"))?;
    let allowed_to_join = match join.get("allowedToJoin") {
        Some(a) => membership(a, "azureADJoin.allowedToJoin")?,
        None => legacy_membership(join, "azureADJoin.appliesTo")?,
    };
    // The older shape has no local administrator settings; Entra's defaults then apply
    // (global administrators are local admins, registering users are not).
    let (global_admins, registering) = match join.get("localAdmins") {
        Some(la) => (
            la.get("enableGlobalAdmins").and_then(Json::as_bool).unwrap_or(true),
            match la.get("registeringUsers") {
                Some(r) => membership(r, "azureADJoin.localAdmins.registeringUsers")?,
                None => Membership::None,
            },
        ),
        None => (true, Membership::None),
    };
    let laps = policy
        .get("localAdminPassword")
        .and_then(|l| l.get("isEnabled"))
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let registration = registration_current_shape(
        policy.get("azureADRegistration").ok_or(PolicyError::Missing("azureADRegistration"))?,
    )?;
    let settings = JoinSettings {
        allowed_to_join,
        user_device_quota: quota,
        require_mfa_to_join: mfa_required(policy.get("multiFactorAuthConfiguration"))?,
        global_admins_are_local_admins: global_admins,
        registering_users_are_local_admins: registering,
        local_admin_password_enabled: laps,
    };
    let echo = Echo {
        registration,
        join_admin_configurable: join.get("isAdminConfigurable").cloned().unwrap_or(Json::Bool(true)),
    };
    Ok((settings, echo))
}

/// The complete PUT body for `settings`, echoing what we do not manage. Every property the
/// update page marks required is present; deprecated and read-only ones never are.
pub fn put_body(settings: &JoinSettings, echo: &Echo) -> Json {
    let mut body = Map::new();
    body.insert("userDeviceQuota".into(), json!(settings.user_device_quota));
    body.insert(
        "multiFactorAuthConfiguration".into(),
        json!(if settings.require_mfa_to_join { "required" } else { "notRequired" }),
    );
    body.insert("azureADRegistration".into(), echo.registration.clone());
    body.insert(
        "azureADJoin".into(),
        json!({
            "isAdminConfigurable": echo.join_admin_configurable,
            "allowedToJoin": settings.allowed_to_join.to_json(),
            "localAdmins": {
                "enableGlobalAdmins": settings.global_admins_are_local_admins,
                "registeringUsers": settings.registering_users_are_local_admins.to_json(),
            },
        }),
    );
    body.insert("localAdminPassword".into(), json!({ "isEnabled": settings.local_admin_password_enabled }));
    Json::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Mirrors graph-samples/deviceRegistrationPolicy/get.v1.0.response.json (current shape).
    const CURRENT: &str = r##"{
      "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceRegistrationPolicy",
      "id": "deviceRegistrationPolicy",
      "displayName": "Device Registration Policy",
      "description": "Tenant-wide policy",
      "userDeviceQuota": 2,
      "multiFactorAuthConfiguration": "notRequired",
      "azureADRegistration": {"isAdminConfigurable": false,
        "allowedToRegister": {"@odata.type": "#microsoft.graph.noDeviceRegistrationMembership"}},
      "azureADJoin": {"isAdminConfigurable": true,
        "allowedToJoin": {"@odata.type": "#microsoft.graph.allDeviceRegistrationMembership"},
        "localAdmins": {"enableGlobalAdmins": true,
          "registeringUsers": {"@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership",
            "users": ["3c8ef067-8b96-44de-b2ae-557dfa0f97a0"], "groups": []}}},
      "localAdminPassword": {"isEnabled": false}
    }"##;

    // Mirrors graph-samples/deviceRegistrationPolicy/get.beta.response.json (older shape).
    const LEGACY: &str = r#"{
      "id": "deviceRegistrationPolicy",
      "userDeviceQuota": 50,
      "multiFactorAuthConfiguration": "0",
      "azureADRegistration": {"appliesTo": "1", "isAdminConfigurable": false, "allowedUsers": [], "allowedGroups": []},
      "azureADJoin": {"appliesTo": "2", "isAdminConfigurable": true,
        "allowedUsers": ["u2", "u1"], "allowedGroups": ["g1"]},
      "localAdminPassword": {"isEnabled": false}
    }"#;

    fn parse_str(s: &str) -> (JoinSettings, Echo) {
        parse(&serde_json::from_str(s).unwrap()).unwrap()
    }

    #[test]
    fn parses_current_shape() {
        let (s, _) = parse_str(CURRENT);
        assert_eq!(s.allowed_to_join, Membership::All);
        assert_eq!(s.user_device_quota, 2);
        assert!(!s.require_mfa_to_join);
        assert_eq!(
            s.registering_users_are_local_admins,
            Membership::Selected {
                users: vec!["3c8ef067-8b96-44de-b2ae-557dfa0f97a0".into()],
                groups: vec![]
            }
        );
    }

    #[test]
    fn parses_legacy_shape_and_writes_current_shape() {
        let (s, echo) = parse_str(LEGACY);
        assert_eq!(
            s.allowed_to_join,
            Membership::Selected { users: vec!["u1".into(), "u2".into()], groups: vec!["g1".into()] }
        );
        assert_eq!(s.user_device_quota, 50);
        let body = put_body(&s, &echo);
        let text = body.to_string();
        for deprecated in
            ["appliesTo", "allowedUsers", "allowedGroups", "\"id\"", "displayName", "@odata.context"]
        {
            assert!(!text.contains(deprecated), "{deprecated} must not be sent: {text}");
        }
        assert_eq!(body["azureADRegistration"]["allowedToRegister"]["@odata.type"], ALL);
        assert_eq!(body["multiFactorAuthConfiguration"], "notRequired");
    }

    #[test]
    fn put_body_always_carries_quota_and_required_properties() {
        let (mut s, echo) = parse_str(CURRENT);
        s.allowed_to_join = Membership::None;
        let body = put_body(&s, &echo);
        for required in [
            "userDeviceQuota",
            "multiFactorAuthConfiguration",
            "azureADRegistration",
            "azureADJoin",
            "localAdminPassword",
        ] {
            assert!(body.get(required).is_some(), "{required} missing");
        }
        assert_eq!(body["userDeviceQuota"], 2);
        assert_eq!(body["azureADJoin"]["isAdminConfigurable"], true);
        assert_eq!(body["azureADJoin"]["allowedToJoin"]["@odata.type"], NONE);
    }

    #[test]
    fn round_trip_is_stable() {
        let (s, echo) = parse_str(CURRENT);
        let (s2, echo2) = parse(&put_body(&s, &echo)).unwrap();
        assert_eq!(s, s2);
        assert_eq!(echo, echo2);
    }

    #[test]
    fn unknown_membership_type_is_an_error_not_a_guess() {
        let mut v: Json = serde_json::from_str(CURRENT).unwrap();
        v["azureADJoin"]["allowedToJoin"]["@odata.type"] = json!("#microsoft.graph.somethingNew");
        assert!(matches!(parse(&v), Err(PolicyError::Unexpected { .. })));
    }

    #[test]
    fn accepts_odata_type_without_hash() {
        let mut v: Json = serde_json::from_str(CURRENT).unwrap();
        v["azureADJoin"]["allowedToJoin"]["@odata.type"] =
            json!("microsoft.graph.noDeviceRegistrationMembership");
        assert_eq!(parse(&v).unwrap().0.allowed_to_join, Membership::None);
    }
}
