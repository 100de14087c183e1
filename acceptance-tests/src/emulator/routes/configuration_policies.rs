//! Intune settings-catalog `configurationPolicies` (beta only) as far as Windows Autopilot
//! device preparation uses them (graph-reference §5):
//!
//! * `POST/GET …/configurationPolicies`, `GET/PATCH/PUT/DELETE …/{id}`: bodies are checked
//!   against the two device preparation templates below — unknown setting or value ids,
//!   instance template ids that do not belong to the setting, integers outside the
//!   definition's range, more than 25 apps or 10 scripts, malformed app values → 400. PATCH
//!   changes only name, description and scope tags (settings need a PUT, as in Graph);
//! * `GET …/{id}/settings` (paged like any Intune collection, `$expand=settingDefinitions`);
//! * `POST …/{id}/setEnrollmentTimeDeviceMembershipTarget` / `retrieve…` / `clear…`: the bound
//!   device group is validated on every call against the directory store (collection
//!   `groups`, owners as links): it must exist (consistency lag applies), be a security group,
//!   not have dynamic membership, and be owned by the Intune Provisioning Client service
//!   principal; failures come back as 200 with `validationSucceeded: false` and a
//!   `targetValidationErrorCode`, as Graph does;
//! * `POST …/{id}/assign` (replace-all), `GET …/{id}/assignments`;
//! * `GET …/configurationPolicyTemplates/{id}` and `…/settingTemplates` for the two templates;
//!
//! Reads of the apps and scripts a policy references are served by `apps.rs` and `scripts.rs`.
//!
//! Fault switch: while the collection `configurationPolicyFaults` holds an object with id
//! `bindingAppOnly500` (`POST /_emulator/objects/configurationPolicyFaults
//! {"id":"bindingAppOnly500"}`), `setEnrollmentTimeDeviceMembershipTarget` answers 500 — the
//! behaviour reported for application-only tokens (every emulator token is one).
//!
//! Stored policy objects keep their settings, assignments and bound targets under the hidden
//! keys [`HIDDEN`], so a test can change them "in the portal" with `PATCH /_emulator/objects/…`.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::directory::{GROUPS, SERVICE_PRINCIPALS};
use super::{GraphRequest, GraphRoutes, created, new_id, no_content, ok, timestamp};
use crate::emulator::auth::perm;
use crate::emulator::errors::{GraphError, GraphResult};
use crate::emulator::fixtures::{DEVICE_MANAGEMENT_SCRIPTS, INTUNE_PROVISIONING_CLIENT_APP_ID, MOBILE_APPS};
use crate::emulator::shaping;
use crate::emulator::store::Record;
use crate::emulator::validate::{EntitySpec, Kind, Mode, guid, ro, rw};

/// Store collection of policies.
pub const CONFIGURATION_POLICIES: &str = "configurationPolicies";
/// Store collection of fault switches for this family.
pub const CONFIGURATION_POLICY_FAULTS: &str = "configurationPolicyFaults";
/// Switch id: the binding call answers 500.
pub const BINDING_APP_ONLY_500: &str = "bindingAppOnly500";
/// Keys of a stored policy that are not properties of the entity.
pub const HIDDEN: [&str; 3] = ["settings", "assignments", "enrollmentTimeDeviceMembershipTargets"];

const BASE: &str = "/deviceManagement/configurationPolicies";
const KIND: &str = "DeviceManagementConfigurationPolicy";
const CONTEXT: &str = "deviceManagement/configurationPolicies";
const MAX_APPS: usize = 25;
const MAX_SCRIPTS: usize = 10;

pub fn routes(r: GraphRoutes) -> GraphRoutes {
    r.beta_only(BASE, get(list_policies).post(create_policy))
        .beta_only(
            &format!("{BASE}/{{id}}"),
            get(get_policy).patch(patch_policy).put(put_policy).delete(delete_policy),
        )
        .beta_only(&format!("{BASE}/{{id}}/settings"), get(list_settings))
        .beta_only(&format!("{BASE}/{{id}}/assignments"), get(list_assignments))
        .beta_only(&format!("{BASE}/{{id}}/assign"), post(assign))
        .beta_only(&format!("{BASE}/{{id}}/setEnrollmentTimeDeviceMembershipTarget"), post(set_target))
        .beta_only(
            &format!("{BASE}/{{id}}/retrieveEnrollmentTimeDeviceMembershipTarget"),
            post(retrieve_target),
        )
        .beta_only(&format!("{BASE}/{{id}}/clearEnrollmentTimeDeviceMembershipTarget"), post(clear_target))
        .beta_only("/deviceManagement/configurationPolicyTemplates/{id}", get(get_template))
        .beta_only(
            "/deviceManagement/configurationPolicyTemplates/{id}/settingTemplates",
            get(list_setting_templates),
        )
}

// ====================================================================================
// Templates (ids from the Intune admin center captures, graph-reference §5)
// ====================================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SettingKind {
    Choice(&'static [&'static str]),
    Integer { min: i64, max: i64 },
    String,
    Collection { max: usize, apps: bool },
}

#[derive(Debug)]
struct SettingDef {
    id: &'static str,
    name: &'static str,
    kind: SettingKind,
    instance_template: &'static str,
    value_template: Option<&'static str>,
}

struct Template {
    id: &'static str,
    display_name: &'static str,
    settings: &'static [SettingDef],
}

const fn choice(
    id: &'static str,
    name: &'static str,
    options: &'static [&'static str],
    instance_template: &'static str,
    value_template: &'static str,
) -> SettingDef {
    SettingDef {
        id,
        name,
        kind: SettingKind::Choice(options),
        instance_template,
        value_template: Some(value_template),
    }
}

const USER_DRIVEN: Template = Template {
    id: "80d33118-b7b4-40d8-b15f-81be745e053f_1",
    display_name: "Device Preparation",
    settings: &[
        choice(
            "enrollment_autopilot_dpp_deploymentmode",
            "Deployment mode",
            &["enrollment_autopilot_dpp_deploymentmode_0", "enrollment_autopilot_dpp_deploymentmode_1"],
            "5180aeab-886e-4589-97d4-40855c646315",
            "5874c2f6-bcf1-463b-a9eb-bee64e2f2d82",
        ),
        choice(
            "enrollment_autopilot_dpp_deploymenttype",
            "Deployment type",
            &["enrollment_autopilot_dpp_deploymenttype_0", "enrollment_autopilot_dpp_deploymenttype_1"],
            "f4184296-fa9f-4b67-8b12-1723b3f8456b",
            "e0af022f-37f3-4a40-916d-1ab7281c88d9",
        ),
        choice(
            "enrollment_autopilot_dpp_jointype",
            "Join type",
            &["enrollment_autopilot_dpp_jointype_0"],
            "6310e95d-6cfa-4d2f-aae0-1e7af12e2182",
            "1fa84eb3-fcfa-4ed6-9687-0f3d486402c4",
        ),
        choice(
            "enrollment_autopilot_dpp_accountype",
            "User account type",
            &["enrollment_autopilot_dpp_accountype_0", "enrollment_autopilot_dpp_accountype_1"],
            "d4f2a840-86d5-4162-9a08-fa8cc608b94e",
            "bf13bb47-69ef-4e06-97c1-50c2859a49c2",
        ),
        SettingDef {
            id: "enrollment_autopilot_dpp_timeout",
            name: "Minutes allowed before showing installation error",
            kind: SettingKind::Integer { min: 15, max: 720 },
            instance_template: "6dec0657-dfb8-4906-a7ee-3ac6ee1edecb",
            value_template: Some("0bbcce5b-a55a-4e05-821a-94bf576d6cc8"),
        },
        SettingDef {
            id: "enrollment_autopilot_dpp_customerrormessage",
            name: "Custom error message",
            kind: SettingKind::String,
            instance_template: "2ddf0619-2b7a-46de-b29b-c6191e9dda6e",
            value_template: Some("fe5002d5-fbe9-4920-9e2d-26bfc4b4cc97"),
        },
        choice(
            "enrollment_autopilot_dpp_allowskip",
            "Allow users to skip setup after multiple attempts",
            &["enrollment_autopilot_dpp_allowskip_0", "enrollment_autopilot_dpp_allowskip_1"],
            "2a71dc89-0f17-4ba9-bb27-af2521d34710",
            "a2323e5e-ac56-4517-8847-b0a6fdb467e7",
        ),
        choice(
            "enrollment_autopilot_dpp_allowdiagnostics",
            "Show link to diagnostics",
            &["enrollment_autopilot_dpp_allowdiagnostics_0", "enrollment_autopilot_dpp_allowdiagnostics_1"],
            "e2b7a81b-f243-4abd-bce3-c1856345f405",
            "c59d26fd-3460-4b26-b47a-f7e202e7d5a3",
        ),
        SettingDef {
            id: "enrollment_autopilot_dpp_devicesecuritygroupids",
            name: "Device security group",
            kind: SettingKind::String,
            instance_template: "a46a50ab-3076-4968-9366-75a40dde950e",
            value_template: Some("5f7d09e1-1a90-44ad-9c9f-ad90ba509e60"),
        },
        SettingDef {
            id: "enrollment_autopilot_dpp_allowedappids",
            name: "Allowed Applications",
            kind: SettingKind::Collection { max: MAX_APPS, apps: true },
            instance_template: "70d22a8a-a03c-4f62-b8df-dded3e327639",
            value_template: None,
        },
        SettingDef {
            id: "enrollment_autopilot_dpp_allowedscriptids",
            name: "Allowed Scripts",
            kind: SettingKind::Collection { max: MAX_SCRIPTS, apps: false },
            instance_template: "1bc67702-800c-4271-8fd9-609351cc19cf",
            value_template: None,
        },
    ],
};

const AUTOMATIC: Template = Template {
    id: "a6157a7f-aa00-42d9-ac82-7d2479f545db_1",
    display_name: "Device Preparation (Automatic)",
    settings: &[
        SettingDef {
            id: "enrollment_autopilot_dpp_allowedappids",
            name: "Allowed Applications",
            kind: SettingKind::Collection { max: MAX_APPS, apps: true },
            instance_template: "a9dedfd6-c3b2-46d9-ae39-91fd0dcb7a20",
            value_template: None,
        },
        SettingDef {
            id: "enrollment_autopilot_dpp_allowedscriptids",
            name: "Allowed Scripts",
            kind: SettingKind::Collection { max: MAX_SCRIPTS, apps: false },
            instance_template: "ff20a4a9-a2f4-4a2e-84e0-4cd1dc9bed31",
            value_template: None,
        },
    ],
};

const TEMPLATES: [&Template; 2] = [&USER_DRIVEN, &AUTOMATIC];

fn template(id: &str) -> Option<&'static Template> {
    TEMPLATES.iter().copied().find(|t| t.id.eq_ignore_ascii_case(id))
}

/// The setting definition as `…/configurationSettings/{id}` (and `$expand=settingDefinitions`)
/// shows it.
fn definition_json(def: &SettingDef) -> Value {
    let mut d = json!({
        "id": def.id, "name": def.id, "displayName": def.name, "description": def.name,
        "baseUri": "./Vendor/MSFT/EnrollmentProfiles", "offsetUri": def.id.trim_start_matches("enrollment_autopilot_dpp_"),
        "rootDefinitionId": def.id, "categoryId": "ffe2fb4e-5e84-4c38-9e3b-a9b3bad5de39",
        "settingUsage": "configuration", "visibility": "settingsCatalog,template", "applicability": {"platform": "windows10", "technologies": "enrollment"},
    });
    match def.kind {
        SettingKind::Choice(options) => {
            d["@odata.type"] = json!("#microsoft.graph.deviceManagementConfigurationChoiceSettingDefinition");
            d["defaultOptionId"] = json!(options[0]);
            d["options"] = options
                .iter()
                .map(|o| json!({"itemId": o, "name": option_label(o), "displayName": option_label(o), "optionValue": null}))
                .collect();
        }
        SettingKind::Integer { min, max } => {
            d["@odata.type"] = json!("#microsoft.graph.deviceManagementConfigurationSimpleSettingDefinition");
            d["valueDefinition"] = json!({"@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValueDefinition", "minimumValue": min, "maximumValue": max});
            d["defaultValue"] = json!({"@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue", "value": 60});
        }
        SettingKind::String => {
            d["@odata.type"] = json!("#microsoft.graph.deviceManagementConfigurationSimpleSettingDefinition");
            d["valueDefinition"] = json!({"@odata.type": "#microsoft.graph.deviceManagementConfigurationStringSettingValueDefinition", "maximumLength": 1000});
        }
        SettingKind::Collection { max, .. } => {
            d["@odata.type"] =
                json!("#microsoft.graph.deviceManagementConfigurationSimpleSettingCollectionDefinition");
            d["minimumCount"] = json!(0);
            d["maximumCount"] = json!(max);
        }
    }
    d
}

/// Option labels as Microsoft365DSC's mocks of the tenant show them.
fn option_label(option: &str) -> &'static str {
    match option {
        "enrollment_autopilot_dpp_deploymentmode_0" => "User-driven",
        "enrollment_autopilot_dpp_deploymentmode_1" => "Automatic",
        "enrollment_autopilot_dpp_deploymenttype_0" => "Single user",
        "enrollment_autopilot_dpp_deploymenttype_1" => "Shared",
        "enrollment_autopilot_dpp_jointype_0" => "Microsoft Entra joined",
        "enrollment_autopilot_dpp_accountype_0" => "Administrator",
        "enrollment_autopilot_dpp_accountype_1" => "Standard user",
        o if o.ends_with("_0") => "No",
        _ => "Yes",
    }
}

// ====================================================================================
// Body validation
// ====================================================================================

const POLICY_SPEC: EntitySpec = EntitySpec {
    type_name: "deviceManagementConfigurationPolicy",
    props: &[
        rw("name", Kind::RequiredString(1000)),
        rw("description", Kind::String(1500)),
        rw("platforms", Kind::RequiredString(usize::MAX)),
        rw("technologies", Kind::RequiredString(usize::MAX)),
        rw("roleScopeTagIds", Kind::StringArray),
        rw("templateReference", Kind::Object),
        rw("settings", Kind::ObjectArray),
        rw("priorityMetaData", Kind::Object),
        ro("id", Kind::String(usize::MAX)),
        ro("createdDateTime", Kind::String(usize::MAX)),
        ro("lastModifiedDateTime", Kind::String(usize::MAX)),
        ro("settingCount", Kind::Int),
        ro("creationSource", Kind::String(usize::MAX)),
        ro("isAssigned", Kind::Bool),
    ],
    required_on_create: &["name", "platforms", "technologies", "templateReference"],
};

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::bad_request(message)
}

fn type_name(v: &Value) -> &str {
    let t = v.get("@odata.type").and_then(Value::as_str).unwrap_or("");
    let t = t.trim_start_matches('#');
    t.strip_prefix("microsoft.graph.").unwrap_or(t)
}

/// Checks `templateReference`, platforms, technologies and every setting against the
/// template; returns the template and the settings normalised for storage.
fn check_policy_body(
    req: &GraphRequest,
    body: &Map<String, Value>,
) -> GraphResult<(&'static Template, Vec<Value>)> {
    let template_id =
        body.get("templateReference").and_then(|t| t.get("templateId")).and_then(Value::as_str).ok_or_else(
            || bad("templateReference.templateId is required for policies created from a template."),
        )?;
    let template = template(template_id)
        .ok_or_else(|| bad(format!("Template with id '{template_id}' was not found.")))?;
    for (key, expected) in [("platforms", "windows10"), ("technologies", "enrollment")] {
        let found = body.get(key).and_then(Value::as_str).unwrap_or_default();
        if found != expected {
            return Err(bad(format!(
                "Property '{key}' is '{found}', but template '{}' requires '{expected}'.",
                template.id
            )));
        }
    }
    let settings = match body.get("settings") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(bad("Property 'settings' must be an array.")),
    };
    let mut seen = Vec::new();
    let mut stored = Vec::new();
    for item in &settings {
        let instance = item.get("settingInstance").ok_or_else(|| bad("A setting has no settingInstance."))?;
        let def_id = instance
            .get("settingDefinitionId")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("A settingInstance has no settingDefinitionId."))?;
        let def = template.settings.iter().find(|d| d.id == def_id).ok_or_else(|| {
            bad(format!("Setting definition id '{def_id}' is not valid for template '{}'.", template.id))
        })?;
        if seen.contains(&def.id) {
            return Err(bad(format!("Setting '{def_id}' appears more than once.")));
        }
        seen.push(def.id);
        let instance_template = instance
            .get("settingInstanceTemplateReference")
            .and_then(|r| r.get("settingInstanceTemplateId"))
            .and_then(Value::as_str);
        if instance_template != Some(def.instance_template) {
            return Err(bad(format!(
                "settingInstanceTemplateId '{}' does not match setting '{def_id}' of template '{}'.",
                instance_template.unwrap_or("null"),
                template.id
            )));
        }
        check_value(req, def, instance)?;
        stored.push(json!({ "settingInstance": instance }));
    }
    Ok((template, stored))
}

fn check_value_template(def: &SettingDef, value: &Value) -> GraphResult<()> {
    let found = value
        .get("settingValueTemplateReference")
        .and_then(|r| r.get("settingValueTemplateId"))
        .and_then(Value::as_str);
    if found.is_some() && found != def.value_template {
        return Err(bad(format!(
            "settingValueTemplateId '{}' does not match setting '{}'.",
            found.unwrap_or(""),
            def.id
        )));
    }
    Ok(())
}

fn check_value(req: &GraphRequest, def: &SettingDef, instance: &Value) -> GraphResult<()> {
    let t = type_name(instance);
    match def.kind {
        SettingKind::Choice(options) => {
            if t != "deviceManagementConfigurationChoiceSettingInstance" {
                return Err(bad(format!("Setting '{}' needs a choice setting instance, got '{t}'.", def.id)));
            }
            let value = instance
                .get("choiceSettingValue")
                .ok_or_else(|| bad(format!("Setting '{}' has no choiceSettingValue.", def.id)))?;
            let chosen = value.get("value").and_then(Value::as_str).unwrap_or_default();
            if !options.contains(&chosen) {
                return Err(bad(format!("Value '{chosen}' is not a valid option of setting '{}'.", def.id)));
            }
            if value.get("children").and_then(Value::as_array).is_some_and(|c| !c.is_empty()) {
                return Err(bad(format!("Setting '{}' has no child settings.", def.id)));
            }
            check_value_template(def, value)
        }
        SettingKind::Integer { min, max } => {
            let value = simple(def, instance, t, "deviceManagementConfigurationIntegerSettingValue")?;
            let n = value
                .get("value")
                .and_then(Value::as_i64)
                .ok_or_else(|| bad(format!("Setting '{}' needs an integer value.", def.id)))?;
            if !(min..=max).contains(&n) {
                return Err(bad(format!(
                    "Value {n} of setting '{}' is outside the allowed range {min}-{max}.",
                    def.id
                )));
            }
            check_value_template(def, value)
        }
        SettingKind::String => {
            let value = simple(def, instance, t, "deviceManagementConfigurationStringSettingValue")?;
            match value.get("value") {
                Some(Value::String(s)) if s.chars().count() <= 1000 => {}
                Some(Value::String(_)) => {
                    return Err(bad(format!(
                        "Value of setting '{}' is longer than 1000 characters.",
                        def.id
                    )));
                }
                _ => return Err(bad(format!("Setting '{}' needs a string value.", def.id))),
            }
            check_value_template(def, value)
        }
        SettingKind::Collection { max, apps } => {
            if t != "deviceManagementConfigurationSimpleSettingCollectionInstance" {
                return Err(bad(format!(
                    "Setting '{}' needs a simple setting collection instance, got '{t}'.",
                    def.id
                )));
            }
            let values = instance
                .get("simpleSettingCollectionValue")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(format!("Setting '{}' has no simpleSettingCollectionValue.", def.id)))?;
            if values.len() > max {
                return Err(bad(format!(
                    "Setting '{}' allows at most {max} values, got {}.",
                    def.id,
                    values.len()
                )));
            }
            for v in values {
                let text = v
                    .get("value")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(format!("A value of setting '{}' is not a string.", def.id)))?;
                if apps { check_app_value(req, text)? } else { check_script_value(req, text)? }
            }
            Ok(())
        }
    }
}

fn simple<'a>(def: &SettingDef, instance: &'a Value, t: &str, value_type: &str) -> GraphResult<&'a Value> {
    if t != "deviceManagementConfigurationSimpleSettingInstance" {
        return Err(bad(format!("Setting '{}' needs a simple setting instance, got '{t}'.", def.id)));
    }
    let value = instance
        .get("simpleSettingValue")
        .ok_or_else(|| bad(format!("Setting '{}' has no simpleSettingValue.", def.id)))?;
    if type_name(value) != value_type {
        return Err(bad(format!("Setting '{}' needs a '{value_type}', got '{}'.", def.id, type_name(value))));
    }
    Ok(value)
}

/// `{"id":"<app id>","type":"#microsoft.graph.<type>"}` naming an existing app of that type.
fn check_app_value(req: &GraphRequest, text: &str) -> GraphResult<()> {
    let parsed: Map<String, Value> = serde_json::from_str(text)
        .map_err(|_| bad(format!("Allowed app value '{text}' is not a JSON object with id and type.")))?;
    let (Some(id), Some(app_type)) =
        (parsed.get("id").and_then(Value::as_str), parsed.get("type").and_then(Value::as_str))
    else {
        return Err(bad(format!("Allowed app value '{text}' needs 'id' and 'type'.")));
    };
    let app = req
        .state
        .store()
        .get_latest(MOBILE_APPS, &guid(id)?)
        .ok_or_else(|| bad(format!("Allowed app '{id}' was not found.")))?;
    let actual = app.data.get("@odata.type").and_then(Value::as_str).unwrap_or_default().to_owned();
    if actual != app_type {
        return Err(bad(format!("Allowed app '{id}' is a '{actual}', not a '{app_type}'.")));
    }
    Ok(())
}

fn check_script_value(req: &GraphRequest, text: &str) -> GraphResult<()> {
    if req.state.store().get_latest(DEVICE_MANAGEMENT_SCRIPTS, &guid(text)?).is_none() {
        return Err(bad(format!("Allowed script '{text}' was not found.")));
    }
    Ok(())
}

// ====================================================================================
// Policies
// ====================================================================================

fn visible(data: &Map<String, Value>) -> Map<String, Value> {
    data.iter().filter(|(k, _)| !HIDDEN.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn policy(req: &GraphRequest, id: &str) -> GraphResult<Record> {
    req.find(CONFIGURATION_POLICIES, KIND, &guid(id)?)
}

/// The latest version, for writes (404 while readers cannot see it yet).
fn policy_for_write(req: &GraphRequest, id: &str) -> GraphResult<Record> {
    let id = guid(id)?;
    req.find(CONFIGURATION_POLICIES, KIND, &id)?;
    req.state.store().get_latest(CONFIGURATION_POLICIES, &id).ok_or_else(|| req.not_found(KIND, &id))
}

/// What `$expand` adds to a policy: `assignments`, `settings` and, nested in settings,
/// `settingDefinitions` (Intune serves several expansions at once, unlike the directory).
#[derive(Clone, Copy, Debug, Default)]
struct PolicyExpand {
    assignments: bool,
    settings: bool,
    setting_definitions: bool,
}

fn policy_expand(req: &GraphRequest) -> GraphResult<PolicyExpand> {
    let mut out = PolicyExpand::default();
    let Some(raw) = req.query.expand.as_deref() else { return Ok(out) };
    let unknown = |name: &str| {
        GraphError::odata_bad_request(format!(
            "Could not find a property named '{name}' on type 'microsoft.graph.deviceManagementConfigurationPolicy'."
        ))
    };
    for item in shaping::parse_expand(raw)? {
        if item.select.is_some() {
            return Err(GraphError::odata_bad_request(format!(
                "Query option '$select' is not supported inside $expand on '{}'.",
                item.property
            )));
        }
        match item.property.as_str() {
            "assignments" if item.expand.is_none() => out.assignments = true,
            "settings" => {
                out.settings = true;
                for nested in
                    item.expand.as_deref().map(shaping::parse_expand).transpose()?.unwrap_or_default()
                {
                    if nested.property != "settingDefinitions"
                        || nested.select.is_some()
                        || nested.expand.is_some()
                    {
                        return Err(GraphError::odata_bad_request(format!(
                            "Could not find a property named '{}' on type \
                             'microsoft.graph.deviceManagementConfigurationSetting'.",
                            nested.property
                        )));
                    }
                    out.setting_definitions = true;
                }
            }
            "assignments" => return Err(unknown(item.expand.as_deref().unwrap_or_default())),
            other => return Err(unknown(other)),
        }
    }
    Ok(out)
}

/// Adds the expanded navigation properties of `record` to `shown`.
fn add_expansions(shown: &mut Map<String, Value>, record: &Record, expand: PolicyExpand) {
    if expand.settings {
        let items =
            settings_items(record, expand.setting_definitions).into_iter().map(Value::Object).collect();
        shown.insert("settings".into(), Value::Array(items));
    }
    if expand.assignments {
        let items = assignment_items(record).into_iter().map(Value::Object).collect();
        shown.insert("assignments".into(), Value::Array(items));
    }
}

async fn list_policies(req: GraphRequest) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    req.query.check_select(POLICY_SPEC.type_name, &POLICY_SPEC.names())?;
    req.query.reject_orderby()?;
    let expand = policy_expand(&req)?;
    let records = req.state.store().list(CONFIGURATION_POLICIES);
    let items = records.iter().map(|r| visible(&r.data)).collect();
    let default = req.state.faults().settings.page_size_for(req.family());
    let page = req.query.page_size(default, 1000)?;
    let url = format!("{}{}", req.state.base_url(), req.path);
    let mut body = req.query.respond(items, page, &url, &req.context(CONTEXT))?;
    // Expanded properties are added after `$select`, which does not apply to them.
    for shown in body["value"].as_array_mut().into_iter().flatten() {
        let record = records.iter().find(|r| Some(r.id()) == shown["id"].as_str());
        if let (Value::Object(m), Some(record)) = (shown, record) {
            add_expansions(m, record, expand);
        }
    }
    Ok(ok(body))
}

async fn get_policy(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    req.query.check_select(POLICY_SPEC.type_name, &POLICY_SPEC.names())?;
    let expand = policy_expand(&req)?;
    let record = policy(&req, &id)?;
    let mut shown = req.entity(&visible(&record.data), &format!("{CONTEXT}/$entity"));
    if let Value::Object(m) = &mut shown {
        // Expanded properties are shown whatever `$select` says.
        add_expansions(m, &record, expand);
    }
    Ok(ok(shown))
}

fn numbered(settings: Vec<Value>) -> Vec<Value> {
    settings
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            s["id"] = json!(i.to_string());
            s
        })
        .collect()
}

async fn create_policy(req: GraphRequest, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_WRITE)?;
    let body = req.json_body(&body)?;
    POLICY_SPEC.check(&body, Mode::Create)?;
    let (template, settings) = check_policy_body(&req, &body)?;
    let now = timestamp();
    let priority = req
        .state
        .store()
        .list_latest(CONFIGURATION_POLICIES)
        .iter()
        .filter(|p| p.data.get("technologies").and_then(Value::as_str) == Some("enrollment"))
        .count()
        + 1;
    let id = new_id();
    let mut data = Map::new();
    data.insert("id".into(), json!(id));
    data.insert("name".into(), body["name"].clone());
    data.insert("description".into(), body.get("description").cloned().unwrap_or_else(|| json!("")));
    data.insert("platforms".into(), json!("windows10"));
    data.insert("technologies".into(), json!("enrollment"));
    data.insert(
        "roleScopeTagIds".into(),
        body.get("roleScopeTagIds").cloned().unwrap_or_else(|| json!(["0"])),
    );
    data.insert("createdDateTime".into(), json!(now));
    data.insert("lastModifiedDateTime".into(), json!(now));
    data.insert("settingCount".into(), json!(settings.len()));
    data.insert("creationSource".into(), Value::Null);
    data.insert("isAssigned".into(), json!(false));
    data.insert("priorityMetaData".into(), json!({"priority": priority}));
    data.insert(
        "templateReference".into(),
        json!({"templateId": template.id, "templateFamily": "enrollmentConfiguration",
               "templateDisplayName": template.display_name, "templateDisplayVersion": "Version 1"}),
    );
    data.insert("settings".into(), Value::Array(numbered(settings)));
    data.insert("assignments".into(), json!([]));
    data.insert("enrollmentTimeDeviceMembershipTargets".into(), json!([]));
    let record = Record::new(data);
    let shown = req.entity(&visible(&record.data), &format!("{CONTEXT}/$entity"));
    req.state.store().insert(CONFIGURATION_POLICIES, record);
    Ok(created(shown))
}

async fn patch_policy(req: GraphRequest, Path(id): Path<String>, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_WRITE)?;
    let body = req.json_body(&body)?;
    POLICY_SPEC.check(&body, Mode::Update)?;
    for key in ["settings", "templateReference", "platforms", "technologies"] {
        if body.contains_key(key) {
            return Err(bad(format!(
                "Property '{key}' cannot be updated with PATCH; replace the policy with PUT."
            )));
        }
    }
    let mut record = policy_for_write(&req, &id)?;
    let before = record.clone();
    for key in ["name", "description", "roleScopeTagIds", "priorityMetaData"] {
        if let Some(v) = body.get(key) {
            record.data.insert(key.into(), v.clone());
        }
    }
    record.data.insert("lastModifiedDateTime".into(), json!(timestamp()));
    let shown = req.entity(&visible(&record.data), &format!("{CONTEXT}/$entity"));
    req.state.store().commit_changes(CONFIGURATION_POLICIES, &before, record);
    Ok(ok(shown))
}

async fn put_policy(req: GraphRequest, Path(id): Path<String>, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_WRITE)?;
    let mut body = req.json_body(&body)?;
    // The portal's PUT may echo the id; it must be this policy's.
    if let Some(body_id) = body.remove("id")
        && body_id.as_str().is_none_or(|b| !b.eq_ignore_ascii_case(&id))
    {
        return Err(bad("The id in the body does not match the id in the URL."));
    }
    POLICY_SPEC.check(&body, Mode::Create)?;
    let (template, settings) = check_policy_body(&req, &body)?;
    let mut record = policy_for_write(&req, &id)?;
    let before = record.clone();
    let current =
        record.data.get("templateReference").and_then(|t| t.get("templateId")).and_then(Value::as_str);
    if current != Some(template.id) {
        return Err(bad("The template of a policy cannot be changed."));
    }
    record.data.insert("name".into(), body["name"].clone());
    record.data.insert("description".into(), body.get("description").cloned().unwrap_or_else(|| json!("")));
    record.data.insert(
        "roleScopeTagIds".into(),
        body.get("roleScopeTagIds").cloned().unwrap_or_else(|| json!(["0"])),
    );
    record.data.insert("settingCount".into(), json!(settings.len()));
    record.data.insert("settings".into(), Value::Array(numbered(settings)));
    record.data.insert("lastModifiedDateTime".into(), json!(timestamp()));
    req.state.store().commit_changes(CONFIGURATION_POLICIES, &before, record);
    Ok(no_content())
}

async fn delete_policy(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_WRITE)?;
    let record = policy_for_write(&req, &id)?;
    req.state.store().remove(CONFIGURATION_POLICIES, record.id());
    Ok(no_content())
}

async fn list_settings(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    let record = policy(&req, &id)?;
    let expand = match req.query.expand.as_deref() {
        None => false,
        Some("settingDefinitions") => true,
        Some(other) => {
            return Err(GraphError::odata_bad_request(format!(
                "Could not find a property named '{other}' to expand."
            )));
        }
    };
    let items = settings_items(&record, expand);
    req.collection(items, &format!("{CONTEXT}('{id}')/settings"), 1000)
}

/// The stored settings of a policy as `…/settings` lists them, optionally each with its
/// `settingDefinitions`.
fn settings_items(record: &Record, with_definitions: bool) -> Vec<Map<String, Value>> {
    let template_id = record
        .data
        .get("templateReference")
        .and_then(|t| t.get("templateId"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let template = template(template_id);
    record
        .data
        .get("settings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| {
            let Value::Object(mut m) = s else { return None };
            if with_definitions {
                let def_id = m
                    .get("settingInstance")
                    .and_then(|i| i.get("settingDefinitionId"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let defs: Vec<Value> = template
                    .iter()
                    .flat_map(|t| t.settings.iter())
                    .filter(|d| d.id == def_id)
                    .map(definition_json)
                    .collect();
                m.insert("settingDefinitions".into(), Value::Array(defs));
            }
            Some(m)
        })
        .collect()
}

// ====================================================================================
// Assignments
// ====================================================================================

const TARGET_TYPES: [&str; 4] = [
    "groupAssignmentTarget",
    "exclusionGroupAssignmentTarget",
    "allLicensedUsersAssignmentTarget",
    "allDevicesAssignmentTarget",
];

async fn assign(req: GraphRequest, Path(id): Path<String>, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_WRITE)?;
    let body = req.json_body(&body)?;
    if let Some(k) = body.keys().find(|k| k.as_str() != "assignments") {
        return Err(bad(format!("Parameter '{k}' is not defined for the action 'assign'.")));
    }
    let items = body
        .get("assignments")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Parameter 'assignments' is required."))?;
    let mut record = policy_for_write(&req, &id)?;
    let before = record.clone();
    let mut stored = Vec::new();
    for item in items {
        let target = item.get("target").ok_or_else(|| bad("An assignment has no target."))?;
        let t = type_name(target);
        if !TARGET_TYPES.contains(&t) {
            return Err(bad(format!("'{t}' is not a valid assignment target type.")));
        }
        let mut target = target.clone();
        if t.contains("roup") {
            let group = target
                .get("groupId")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("A group target needs a groupId."))?;
            target["groupId"] = json!(guid(group)?);
        }
        match target.get("deviceAndAppManagementAssignmentFilterType").and_then(Value::as_str) {
            None | Some("none" | "include" | "exclude") => {}
            Some(other) => {
                return Err(bad(format!(
                    "'{other}' is not a valid deviceAndAppManagementAssignmentFilterType."
                )));
            }
        }
        let target_key = target.get("groupId").and_then(Value::as_str).unwrap_or(t).to_owned();
        stored.push(json!({
            "id": format!("{}_{target_key}", record.id()),
            "source": "direct", "sourceId": record.id(), "target": target
        }));
    }
    record.data.insert("isAssigned".into(), json!(!stored.is_empty()));
    record.data.insert("assignments".into(), Value::Array(stored.clone()));
    req.state.store().commit_changes(CONFIGURATION_POLICIES, &before, record);
    Ok(ok(
        json!({ "@odata.context": req.context("Collection(microsoft.graph.deviceManagementConfigurationPolicyAssignment)"), "value": stored }),
    ))
}

async fn list_assignments(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    let record = policy(&req, &id)?;
    let items = assignment_items(&record);
    req.collection(items, &format!("{CONTEXT}('{id}')/assignments"), 1000)
}

/// The stored assignments of a policy as `…/assignments` lists them.
fn assignment_items(record: &Record) -> Vec<Map<String, Value>> {
    record
        .data
        .get("assignments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| match a {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect()
}

// ====================================================================================
// Enrollment-time device membership target
// ====================================================================================

fn fault_on(req: &GraphRequest) -> bool {
    req.state.store().get_latest(CONFIGURATION_POLICY_FAULTS, BINDING_APP_ONLY_500).is_some()
}

/// Validation of one target against the directory as Intune sees it (consistency lag applies).
fn validate_target(req: &GraphRequest, group_id: &str) -> Option<&'static str> {
    let store = req.state.store();
    let Some(group) = store.get(GROUPS, group_id) else { return Some("securityGroupNotFound") };
    if group.data.get("securityEnabled").and_then(Value::as_bool) != Some(true) {
        return Some("notSecurityGroup");
    }
    let dynamic = group
        .data
        .get("groupTypes")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|t| t.as_str() == Some("DynamicMembership")));
    if dynamic {
        return Some("notStaticSecurityGroup");
    }
    let owned = group.link("owners").iter().any(|owner| {
        store.get_latest(SERVICE_PRINCIPALS, owner).is_some_and(|sp| {
            sp.data
                .get("appId")
                .and_then(Value::as_str)
                .is_some_and(|a| a.eq_ignore_ascii_case(INTUNE_PROVISIONING_CLIENT_APP_ID))
        })
    });
    if !owned {
        return Some("firstPartyAppNotAnOwner");
    }
    None
}

fn target_result(req: &GraphRequest, group_ids: &[String]) -> (bool, Value) {
    let statuses: Vec<Value> = group_ids
        .iter()
        .map(|g| match validate_target(req, g) {
            None => json!({"targetId": g, "validationSucceeded": true, "targetValidationErrorCode": null}),
            Some(code) => {
                json!({"targetId": g, "validationSucceeded": false, "targetValidationErrorCode": code})
            }
        })
        .collect();
    let succeeded = statuses.iter().all(|s| s["validationSucceeded"] == json!(true));
    let body = json!({
        "@odata.context": req.context("microsoft.graph.enrollmentTimeDeviceMembershipTargetResult"),
        "value": {
            "@odata.type": "microsoft.graph.enrollmentTimeDeviceMembershipTargetResult",
            "validationSucceeded": succeeded,
            "enrollmentTimeDeviceMembershipTargetValidationStatuses": statuses,
        }
    });
    (succeeded, body)
}

async fn set_target(req: GraphRequest, Path(id): Path<String>, body: Bytes) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_WRITE)?;
    let body = req.json_body(&body)?;
    if let Some(k) = body.keys().find(|k| k.as_str() != "enrollmentTimeDeviceMembershipTargets") {
        return Err(bad(format!(
            "Parameter '{k}' is not defined for the action 'setEnrollmentTimeDeviceMembershipTarget'."
        )));
    }
    let targets = body
        .get("enrollmentTimeDeviceMembershipTargets")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Parameter 'enrollmentTimeDeviceMembershipTargets' is required."))?;
    let mut group_ids = Vec::new();
    for t in targets {
        let obj = t.as_object().ok_or_else(|| bad("A target must be an object."))?;
        if let Some(k) = obj.keys().find(|k| !["@odata.type", "targetId", "targetType"].contains(&k.as_str()))
        {
            return Err(bad(format!(
                "Property '{k}' does not exist on type 'microsoft.graph.enrollmentTimeDeviceMembershipTarget'."
            )));
        }
        match obj.get("targetType").and_then(Value::as_str) {
            Some("staticSecurityGroup") => {}
            other => {
                return Err(bad(format!(
                    "Target type '{}' is not supported; use 'staticSecurityGroup'.",
                    other.unwrap_or("null")
                )));
            }
        }
        let target_id =
            obj.get("targetId").and_then(Value::as_str).ok_or_else(|| bad("A target needs a targetId."))?;
        group_ids.push(guid(target_id)?);
    }
    let mut record = policy_for_write(&req, &id)?;
    let before = record.clone();
    if fault_on(&req) {
        return Err(GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "{\"_version\": 3, \"Message\": \"An internal server error has occurred - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000\", \"RetryAfter\": null}",
        ));
    }
    let (succeeded, answer) = target_result(&req, &group_ids);
    if succeeded {
        record.data.insert("enrollmentTimeDeviceMembershipTargets".into(), json!(group_ids));
        req.state.store().commit_changes(CONFIGURATION_POLICIES, &before, record);
    }
    Ok(ok(answer))
}

fn bound(record: &Record) -> Vec<String> {
    record
        .data
        .get("enrollmentTimeDeviceMembershipTargets")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

async fn retrieve_target(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    let record = policy(&req, &id)?;
    let (_, answer) = target_result(&req, &bound(&record));
    Ok(ok(answer))
}

async fn clear_target(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_WRITE)?;
    let mut record = policy_for_write(&req, &id)?;
    let before = record.clone();
    record.data.insert("enrollmentTimeDeviceMembershipTargets".into(), json!([]));
    req.state.store().commit_changes(CONFIGURATION_POLICIES, &before, record);
    Ok(ok(json!({ "@odata.context": req.context("Edm.Boolean"), "value": true })))
}

// ====================================================================================
// Templates, apps, scripts
// ====================================================================================

fn find_template(id: &str) -> GraphResult<&'static Template> {
    template(id)
        .ok_or_else(|| GraphError::intune_not_found("DeviceManagementConfigurationPolicyTemplate", id))
}

async fn get_template(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    let t = find_template(&id)?;
    let (base, version) = t.id.split_once('_').unwrap_or((t.id, "1"));
    let body = json!({
        "id": t.id, "baseId": base, "version": version.parse::<i64>().unwrap_or(1), "displayName": t.display_name,
        "description": "", "displayVersion": "Version 1", "lifecycleState": "active", "platforms": "windows10",
        "technologies": "enrollment", "templateFamily": "enrollmentConfiguration", "allowUnmanagedSettings": false,
        "settingTemplateCount": t.settings.len()
    });
    let Value::Object(m) = body else { return Err(bad("template")) };
    Ok(ok(req.entity(&m, "deviceManagement/configurationPolicyTemplates/$entity")))
}

async fn list_setting_templates(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.require(perm::INTUNE_CONFIGURATION_READ)?;
    let t = find_template(&id)?;
    let expand = match req.query.expand.as_deref() {
        None => false,
        Some("settingDefinitions") => true,
        Some(other) => {
            return Err(GraphError::odata_bad_request(format!(
                "Could not find a property named '{other}' to expand."
            )));
        }
    };
    let items = t
        .settings
        .iter()
        .map(|d| {
            let mut m = Map::new();
            m.insert("id".into(), json!(d.instance_template));
            m.insert(
                "settingInstanceTemplate".into(),
                json!({"settingDefinitionId": d.id, "settingInstanceTemplateId": d.instance_template, "isRequired": false}),
            );
            if expand {
                m.insert("settingDefinitions".into(), json!([definition_json(d)]));
            }
            m
        })
        .collect();
    req.collection(
        items,
        &format!("deviceManagement/configurationPolicyTemplates('{id}')/settingTemplates"),
        1000,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::{Method, Request, StatusCode, header};
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::{BINDING_APP_ONLY_500, CONFIGURATION_POLICIES, CONFIGURATION_POLICY_FAULTS, USER_DRIVEN};
    use crate::emulator::app;
    use crate::emulator::fixtures::{
        INTUNE_PROVISIONING_CLIENT_SP_ID, SCRIPT_IDS, WIN32_APP_ID, WINGET_APP_ID,
    };
    use crate::emulator::state::{
        AppState, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, EmulatorConfig,
    };
    use crate::emulator::store::{Clock, Record};

    const POLICIES: &str = "/beta/deviceManagement/configurationPolicies";

    struct H {
        app: Router,
        state: AppState,
        token: String,
    }

    impl H {
        async fn new() -> Self {
            let config = EmulatorConfig {
                clock: Clock::manual(),
                base_url: "https://graph.emulator.invalid".into(),
                ..EmulatorConfig::default()
            };
            let state = AppState::new(config).unwrap();
            let mut h = H { app: app(state.clone()), state, token: String::new() };
            let form = format!(
                "grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&client_secret={DEFAULT_CLIENT_SECRET}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
            );
            let request = Request::post(format!("/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap();
            let (_, body) = h.send(request).await;
            h.token = body["access_token"].as_str().unwrap().to_owned();
            h
        }

        async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
            let response = self.app.clone().oneshot(request).await.unwrap_or_else(|e| match e {});
            let status = response.status();
            let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        }

        async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
            let builder = Request::builder()
                .method(method)
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
            let request = match body {
                Some(b) => {
                    builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string()))
                }
                None => builder.body(Body::empty()),
            }
            .unwrap();
            self.send(request).await
        }

        fn group(&self, id: &str, owners: &[&str], extra: Value) {
            let mut data = json!({"id": id, "displayName": id, "securityEnabled": true, "groupTypes": []});
            for (k, v) in extra.as_object().unwrap() {
                data[k] = v.clone();
            }
            let mut record = Record::new(data.as_object().unwrap().clone());
            record.links.insert("owners".into(), owners.iter().map(|o| (*o).to_owned()).collect());
            self.state.store().write_settled(super::GROUPS, id, Some(record));
        }
    }

    // The simple value type is abstract: Graph needs the concrete subtype named.
    const STRING_VALUE: &str = "#microsoft.graph.deviceManagementConfigurationStringSettingValue";

    fn instance(def_id: &str) -> Value {
        let def = USER_DRIVEN.settings.iter().find(|d| d.id == def_id).unwrap();
        let template_ref = json!({"settingInstanceTemplateId": def.instance_template});
        let value_ref = json!({"settingValueTemplateId": def.value_template});
        match def.kind {
            super::SettingKind::Choice(options) => json!({
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
                "settingDefinitionId": def.id, "settingInstanceTemplateReference": template_ref,
                "choiceSettingValue": {"value": options[0], "children": [], "settingValueTemplateReference": value_ref}}),
            super::SettingKind::Integer { .. } => json!({
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                "settingDefinitionId": def.id, "settingInstanceTemplateReference": template_ref,
                "simpleSettingValue": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue", "value": 60}}),
            super::SettingKind::String => json!({
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                "settingDefinitionId": def.id, "settingInstanceTemplateReference": template_ref,
                "simpleSettingValue": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationStringSettingValue", "value": ""}}),
            super::SettingKind::Collection { apps, .. } => {
                let values: Vec<Value> = if apps {
                    vec![
                        json!({"@odata.type": STRING_VALUE, "value": format!("{{\"id\":\"{WIN32_APP_ID}\",\"type\":\"#microsoft.graph.win32LobApp\"}}")}),
                    ]
                } else {
                    vec![json!({"@odata.type": STRING_VALUE, "value": SCRIPT_IDS[0]})]
                };
                json!({
                    "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingCollectionInstance",
                    "settingDefinitionId": def.id, "settingInstanceTemplateReference": template_ref,
                    "simpleSettingCollectionValue": values})
            }
        }
    }

    fn body(settings: Vec<Value>) -> Value {
        json!({
            "name": "dpp", "description": "", "platforms": "windows10", "technologies": "enrollment",
            "roleScopeTagIds": ["0"], "templateReference": {"templateId": USER_DRIVEN.id},
            "settings": settings.into_iter().map(|i| json!({"settingInstance": i})).collect::<Vec<_>>()
        })
    }

    fn full() -> Vec<Value> {
        USER_DRIVEN.settings.iter().map(|d| instance(d.id)).collect()
    }

    #[tokio::test]
    async fn policy_round_trip_and_strict_settings() {
        let h = H::new().await;
        let (status, created) = h.call(Method::POST, POLICIES, Some(body(full()))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        assert!(created.get("settings").is_none(), "settings are not part of the entity");
        assert_eq!(created["settingCount"], 11);

        let (status, page) =
            h.call(Method::GET, &format!("{POLICIES}/{id}/settings?$expand=settingDefinitions"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["value"].as_array().unwrap().len(), 11);
        assert_eq!(page["value"][3]["settingDefinitions"][0]["options"][0]["displayName"], "Administrator");

        // Unknown setting id, unknown value id, out-of-range integer, wrong instance template.
        let mut bad_setting = instance("enrollment_autopilot_dpp_allowskip");
        bad_setting["settingDefinitionId"] = json!("enrollment_autopilot_dpp_bogus");
        let mut bad_value = instance("enrollment_autopilot_dpp_allowskip");
        bad_value["choiceSettingValue"]["value"] = json!("enrollment_autopilot_dpp_allowskip_7");
        let mut bad_range = instance("enrollment_autopilot_dpp_timeout");
        bad_range["simpleSettingValue"]["value"] = json!(5);
        let mut bad_template = instance("enrollment_autopilot_dpp_timeout");
        bad_template["settingInstanceTemplateReference"]["settingInstanceTemplateId"] = json!("0000");
        for (case, needle) in [
            (bad_setting, "is not valid for template"),
            (bad_value, "is not a valid option"),
            (bad_range, "outside the allowed range"),
            (bad_template, "does not match setting"),
        ] {
            let (status, err) = h.call(Method::POST, POLICIES, Some(body(vec![case]))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
            assert!(err["error"]["message"].as_str().unwrap().contains(needle), "{err}");
        }

        // 26 apps / 11 scripts are refused; a script id that is an app is refused.
        let mut apps = instance("enrollment_autopilot_dpp_allowedappids");
        let one = apps["simpleSettingCollectionValue"][0].clone();
        apps["simpleSettingCollectionValue"] = Value::Array(vec![one; 26]);
        let (status, err) = h.call(Method::POST, POLICIES, Some(body(vec![apps]))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert!(err["error"]["message"].as_str().unwrap().contains("at most 25"), "{err}");
        let mut scripts = instance("enrollment_autopilot_dpp_allowedscriptids");
        scripts["simpleSettingCollectionValue"] =
            json!([{"@odata.type": STRING_VALUE, "value": WINGET_APP_ID}]);
        let (status, _) = h.call(Method::POST, POLICIES, Some(body(vec![scripts]))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // PATCH cannot change settings; PUT replaces them; v1.0 does not know the family.
        let (status, _) =
            h.call(Method::PATCH, &format!("{POLICIES}/{id}"), Some(json!({"settings": []}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) =
            h.call(Method::PUT, &format!("{POLICIES}/{id}"), Some(body(full()[..2].to_vec()))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, page) = h.call(Method::GET, &format!("{POLICIES}/{id}/settings"), None).await;
        assert_eq!(page["value"].as_array().unwrap().len(), 2);
        let (status, _) =
            h.call(Method::GET, &format!("/v1.0/deviceManagement/configurationPolicies/{id}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = h.call(Method::DELETE, &format!("{POLICIES}/{id}"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(h.state.store().list_latest(CONFIGURATION_POLICIES).is_empty());
    }

    #[tokio::test]
    async fn binding_validates_the_group_and_the_fault_switch_answers_500() {
        let h = H::new().await;
        let owned = "c1000000-0000-4000-8000-000000000001";
        let unowned = "c1000000-0000-4000-8000-000000000002";
        let dynamic = "c1000000-0000-4000-8000-000000000003";
        h.group(owned, &[INTUNE_PROVISIONING_CLIENT_SP_ID], json!({}));
        h.group(unowned, &[], json!({}));
        h.group(dynamic, &[INTUNE_PROVISIONING_CLIENT_SP_ID], json!({"groupTypes": ["DynamicMembership"]}));
        let (_, created) = h.call(Method::POST, POLICIES, Some(body(full()))).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let set = format!("{POLICIES}/{id}/setEnrollmentTimeDeviceMembershipTarget");
        let target = |g: &str| json!({"enrollmentTimeDeviceMembershipTargets": [{"targetType": "staticSecurityGroup", "targetId": g}]});
        for (group, code) in [
            (unowned, "firstPartyAppNotAnOwner"),
            (dynamic, "notStaticSecurityGroup"),
            ("c1000000-0000-4000-8000-000000000009", "securityGroupNotFound"),
        ] {
            let (status, answer) = h.call(Method::POST, &set, Some(target(group))).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(answer["value"]["validationSucceeded"], false);
            assert_eq!(
                answer["value"]["enrollmentTimeDeviceMembershipTargetValidationStatuses"][0]["targetValidationErrorCode"],
                code
            );
        }
        let (_, answer) = h.call(Method::POST, &set, Some(target(owned))).await;
        assert_eq!(answer["value"]["validationSucceeded"], true);
        let (_, read) = h
            .call(
                Method::POST,
                &format!("{POLICIES}/{id}/retrieveEnrollmentTimeDeviceMembershipTarget"),
                None,
            )
            .await;
        assert_eq!(
            read["value"]["enrollmentTimeDeviceMembershipTargetValidationStatuses"][0]["targetId"],
            owned
        );

        h.state.store().write_settled(
            CONFIGURATION_POLICY_FAULTS,
            BINDING_APP_ONLY_500,
            Some(Record::new(json!({"id": BINDING_APP_ONLY_500}).as_object().unwrap().clone())),
        );
        let (status, _) = h.call(Method::POST, &set, Some(target(owned))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

        let assign = json!({"assignments": [{"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": owned}}]});
        let (status, _) = h.call(Method::POST, &format!("{POLICIES}/{id}/assign"), Some(assign)).await;
        assert_eq!(status, StatusCode::OK);
        let (_, list) = h.call(Method::GET, &format!("{POLICIES}/{id}/assignments"), None).await;
        assert_eq!(list["value"][0]["target"]["groupId"], owned);
        let (_, policy) = h.call(Method::GET, &format!("{POLICIES}/{id}"), None).await;
        assert_eq!(policy["isAssigned"], true);
        let (status, _) =
            h.call(Method::POST, &format!("{POLICIES}/{id}/assign"), Some(json!({"assignments": []}))).await;
        assert_eq!(status, StatusCode::OK);
        let (_, policy) = h.call(Method::GET, &format!("{POLICIES}/{id}"), None).await;
        assert_eq!(policy["isAssigned"], false);
    }

    #[tokio::test]
    async fn expand_settings_and_assignments_on_get_and_list() {
        let h = H::new().await;
        let group = "c1000000-0000-4000-8000-000000000011";
        h.group(group, &[], json!({}));
        let (_, created) = h.call(Method::POST, POLICIES, Some(body(full()))).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let assign = json!({"assignments": [{"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group}}]});
        let (status, answer) = h.call(Method::POST, &format!("{POLICIES}/{id}/assign"), Some(assign)).await;
        assert!(status.is_success(), "{answer}");

        let (status, got) =
            h.call(Method::GET, &format!("{POLICIES}/{id}?$expand=assignments,settings"), None).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["settings"].as_array().map(Vec::len), Some(11));
        assert!(got["settings"][0]["settingInstance"].is_object());
        assert!(got["settings"][0].get("settingDefinitions").is_none());
        assert_eq!(got["assignments"][0]["target"]["groupId"], group);
        // The same items as the relationship endpoints serve.
        let (_, settings) = h.call(Method::GET, &format!("{POLICIES}/{id}/settings"), None).await;
        assert_eq!(got["settings"], settings["value"]);
        let (_, assignments) = h.call(Method::GET, &format!("{POLICIES}/{id}/assignments"), None).await;
        assert_eq!(got["assignments"], assignments["value"]);

        let (status, got) = h
            .call(
                Method::GET,
                &format!("{POLICIES}/{id}?$select=id,name&$expand=settings($expand=settingDefinitions)"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert!(got.get("description").is_none(), "$select applies to the policy");
        assert_eq!(got["settings"][3]["settingDefinitions"][0]["options"][0]["displayName"], "Administrator");

        let (status, list) =
            h.call(Method::GET, &format!("{POLICIES}?$select=id,name&$expand=assignments"), None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["value"][0]["assignments"][0]["target"]["groupId"], group);
        assert!(list["value"][0].get("settings").is_none());

        for (query, needle) in [
            ("$expand=members", "Could not find a property named 'members'"),
            ("$expand=settings($expand=bogus)", "'bogus'"),
            ("$expand=assignments($select=id)", "not supported inside $expand"),
            ("$expand=settings(", "Syntax error"),
        ] {
            let (status, err) = h.call(Method::GET, &format!("{POLICIES}/{id}?{query}"), None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {err}");
            assert!(err["error"]["message"].as_str().unwrap().contains(needle), "{query}: {err}");
        }
    }
}
