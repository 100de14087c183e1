//! The policy object itself: the POST and PUT bodies, and the computed attributes read from
//! `GET /beta/deviceManagement/configurationPolicies/{id}`.

use serde_json::{Value, json};
use thiserror::Error;

use super::catalog::{self, CatalogError, Template};
use super::model::DeploymentMode;

/// Body of `POST /beta/deviceManagement/configurationPolicies`, key for key what the portal sends
/// (PORTAL captures): `settings` is the array from [`super::model::PolicySettings::to_graph_settings`].
/// `role_scope_tag_ids` is sent as given; the portal sends `["0"]` (the default scope tag).
pub fn create_body(
    name: &str,
    description: &str,
    role_scope_tag_ids: &[String],
    mode: DeploymentMode,
    settings: Value,
) -> Value {
    json!({
        "name": name,
        "description": description,
        "settings": settings,
        "roleScopeTagIds": role_scope_tag_ids,
        "platforms": catalog::PLATFORMS,
        "technologies": catalog::TECHNOLOGIES,
        "templateReference": { "templateId": mode.template().id() },
    })
}

/// Body of `PUT /beta/deviceManagement/configurationPolicies/{id}`: settings cannot be PATCHed,
/// so an update replaces the whole policy with the create body (the portal and DT do this; the
/// PUT is not documented by Microsoft — see the open questions in `super`). Template, platforms
/// and technologies cannot change, so `mode` must be the policy's current mode (ForceNew).
pub fn put_body(
    name: &str,
    description: &str,
    role_scope_tag_ids: &[String],
    mode: DeploymentMode,
    settings: Value,
) -> Value {
    create_body(name, description, role_scope_tag_ids, mode, settings)
}

/// The attributes of a policy GET (or the POST response) that the resource stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub role_scope_tag_ids: Vec<String>,
    pub mode: DeploymentMode,
    pub created_date_time: Option<String>,
    pub last_modified_date_time: Option<String>,
    /// Absent from the POST response (PORTAL capture), present on GET.
    pub is_assigned: Option<bool>,
    /// `priorityMetaData.priority`; smaller wins when several policies target a user (MEM).
    pub priority: Option<i64>,
    pub setting_count: Option<i64>,
}

/// Why a policy object cannot be read as a device preparation policy.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    #[error("the policy response has no `{0}`")]
    MissingField(&'static str),
    #[error(transparent)]
    Template(#[from] CatalogError),
    #[error(
        "policy `{id}` has {field} `{found}`, not `{expected}`: it is not a Windows Autopilot device preparation policy"
    )]
    NotDevicePreparation { id: String, field: &'static str, found: String, expected: &'static str },
}

impl PolicyInfo {
    /// Parse a policy object. Accepts the `{"value": {…}}` wrapper of the generated Intune doc
    /// examples as well as the bare object the service and the portal captures show.
    pub fn from_graph(policy: &Value) -> Result<PolicyInfo, PolicyError> {
        let p = match policy.get("value") {
            Some(inner @ Value::Object(_)) => inner,
            _ => policy,
        };
        let text = |key: &'static str| p.get(key).and_then(Value::as_str).map(str::to_owned);
        let id = text("id").ok_or(PolicyError::MissingField("id"))?;
        let template_id = p
            .get("templateReference")
            .and_then(|t| t.get("templateId"))
            .and_then(Value::as_str)
            .ok_or(PolicyError::MissingField("templateReference.templateId"))?;
        let mode = DeploymentMode::from_template(Template::from_id(template_id)?);
        for (field, expected) in [("platforms", catalog::PLATFORMS), ("technologies", catalog::TECHNOLOGIES)]
        {
            if let Some(found) = p.get(field).and_then(Value::as_str).filter(|f| *f != expected) {
                return Err(PolicyError::NotDevicePreparation {
                    id,
                    field,
                    found: found.to_owned(),
                    expected,
                });
            }
        }
        Ok(PolicyInfo {
            name: text("name").ok_or(PolicyError::MissingField("name"))?,
            description: text("description").unwrap_or_default(),
            role_scope_tag_ids: p
                .get("roleScopeTagIds")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            mode,
            created_date_time: text("createdDateTime"),
            last_modified_date_time: text("lastModifiedDateTime"),
            is_assigned: p.get("isAssigned").and_then(Value::as_bool),
            priority: p.get("priorityMetaData").and_then(|m| m.get("priority")).and_then(Value::as_i64),
            setting_count: p.get("settingCount").and_then(Value::as_i64),
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_response_capture_parses() {
        // Mirrors graph-samples/configurationPolicies/dpp_create_user_driven.dt.beta.response.json.
        let v: Value =
            serde_json::from_str(include_str!("testdata/dpp_create_user_driven.response.json")).unwrap();
        let info = PolicyInfo::from_graph(&v).unwrap();
        assert_eq!(info.id, "f7f02697-2361-4cdd-bf03-678ca055be77");
        assert_eq!(info.name, "test");
        assert_eq!(info.mode, DeploymentMode::UserDriven);
        assert_eq!(info.role_scope_tag_ids, ["0"]);
        assert_eq!(info.priority, Some(8));
        assert_eq!(info.is_assigned, None);
        assert_eq!(info.setting_count, Some(11));
        assert_eq!(info.created_date_time.as_deref(), Some("2026-03-02T13:57:54.5031392Z"));
    }

    #[test]
    fn get_policy_capture_parses() {
        // Mirrors graph-samples/configurationPolicies/dpp_get_policy.dt.beta.response.json.
        let v: Value = serde_json::from_str(include_str!("testdata/dpp_get_policy.response.json")).unwrap();
        let info = PolicyInfo::from_graph(&v).unwrap();
        assert_eq!(info.name, "WADP DEMO");
        assert_eq!(info.is_assigned, Some(true));
        assert_eq!(info.priority, Some(1));
        assert_eq!(info.last_modified_date_time.as_deref(), Some("2024-06-04T12:56:48.3116932Z"));
    }

    #[test]
    fn list_capture_items_parse() {
        // Mirrors graph-samples/configurationPolicies/dpp_list_policies_select.dt.beta.response.json.
        let v: Value =
            serde_json::from_str(include_str!("testdata/dpp_list_policies_select.dt.beta.response.json"))
                .unwrap();
        let infos: Vec<PolicyInfo> =
            v["value"].as_array().unwrap().iter().map(|p| PolicyInfo::from_graph(p).unwrap()).collect();
        assert_eq!(
            infos.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["WADP DEMO", "WADP_DEMO_GRAPH"]
        );
        assert!(infos.iter().all(|i| i.mode == DeploymentMode::UserDriven && i.created_date_time.is_none()));
        assert_eq!(infos[1].priority, Some(2));
    }

    #[test]
    fn generic_doc_example_is_refused_by_template() {
        // graph-samples/configurationPolicies/get.beta.response.json: `{"value": {...}}` wrapper,
        // placeholder template id "Template Id value".
        // create.beta.response.json: the same object without the wrapper.
        for sample in [
            include_str!("testdata/get.beta.response.json"),
            include_str!("testdata/create.beta.response.json"),
        ] {
            let v: Value = serde_json::from_str(sample).unwrap();
            let err = PolicyInfo::from_graph(&v).unwrap_err();
            assert_eq!(
                err,
                PolicyError::Template(CatalogError::UnknownTemplate {
                    template_id: "Template Id value".into()
                })
            );
        }
    }

    #[test]
    fn wrong_platform_is_refused() {
        let v = json!({"id": "p", "name": "n", "platforms": "macOS", "technologies": "enrollment",
                       "templateReference": {"templateId": catalog::TEMPLATE_USER_DRIVEN}});
        assert!(matches!(
            PolicyInfo::from_graph(&v),
            Err(PolicyError::NotDevicePreparation { field: "platforms", .. })
        ));
    }

    #[test]
    fn automatic_template_maps_to_automatic_mode() {
        let v =
            json!({"id": "p", "name": "n", "templateReference": {"templateId": catalog::TEMPLATE_AUTOMATIC}});
        assert_eq!(PolicyInfo::from_graph(&v).unwrap().mode, DeploymentMode::Automatic);
    }

    #[test]
    fn create_body_has_the_portal_top_level_shape() {
        let body = create_body("test", "", &["0".to_owned()], DeploymentMode::UserDriven, json!([]));
        // dpp_create_user_driven.dt.beta.request.json without its settings.
        let mut capture: Value =
            serde_json::from_str(include_str!("testdata/dpp_create_user_driven.request.json")).unwrap();
        capture["settings"] = json!([]);
        assert_eq!(body, capture);
        let put = put_body("test", "", &["0".to_owned()], DeploymentMode::Automatic, json!([]));
        assert_eq!(put["templateReference"]["templateId"], catalog::TEMPLATE_AUTOMATIC);
    }
}
