//! The friendly policy settings and their translation to and from the settings-catalog
//! `settings` array of a device preparation `configurationPolicy`.
//!
//! Writing produces exactly what the Intune admin center sends (compare
//! `dpp_create_user_driven.dt.beta.request.json`). Reading accepts every shape seen in Microsoft
//! samples and captures (see [`catalog`]) and refuses anything it does not understand with a
//! [`CatalogError`] naming the id, so Terraform never shows a state that silently differs from
//! the tenant.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::app_type::AppType;
use super::catalog::{
    self, ACCOUNT_TYPE, ALLOW_DIAGNOSTICS, ALLOW_SKIP, ALLOWED_APP_IDS, ALLOWED_SCRIPT_IDS,
    CUSTOM_ERROR_MESSAGE, CatalogError, DEPLOYMENT_MODE, DEPLOYMENT_TYPE, DEVICE_SECURITY_GROUP_IDS,
    JOIN_TYPE, Meaning, SettingDef, SettingKey, SettingKind, TIMEOUT, Template,
};

/// Default of `installation_timeout_minutes` (portal default, all captures).
pub const DEFAULT_TIMEOUT_MINUTES: i64 = 60;

const SETTING: &str = "#microsoft.graph.deviceManagementConfigurationSetting";
const CHOICE_INSTANCE: &str = "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance";
const CHOICE_VALUE: &str = "#microsoft.graph.deviceManagementConfigurationChoiceSettingValue";
const SIMPLE_INSTANCE: &str = "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance";
const COLLECTION_INSTANCE: &str =
    "#microsoft.graph.deviceManagementConfigurationSimpleSettingCollectionInstance";
const INTEGER_VALUE: &str = "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue";
const STRING_VALUE: &str = "#microsoft.graph.deviceManagementConfigurationStringSettingValue";

/// `deployment_mode`: which template the policy is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeploymentMode {
    /// User-driven Microsoft Entra join (template `80d33118…_1`).
    UserDriven,
    /// Automatic mode for Windows 365 Cloud PCs (template `a6157a7f…_1`).
    Automatic,
}

impl DeploymentMode {
    pub const VALUES: [&'static str; 2] = ["user_driven", "automatic"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserDriven => "user_driven",
            Self::Automatic => "automatic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user_driven" => Some(Self::UserDriven),
            "automatic" => Some(Self::Automatic),
            _ => None,
        }
    }

    pub fn template(self) -> Template {
        match self {
            Self::UserDriven => Template::UserDriven,
            Self::Automatic => Template::Automatic,
        }
    }

    pub fn from_template(template: Template) -> Self {
        match template {
            Template::UserDriven => Self::UserDriven,
            Template::Automatic => Self::Automatic,
        }
    }
}

/// `join_type`: device preparation supports Microsoft Entra join only (MEM).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum JoinType {
    #[default]
    EntraJoin,
}

impl JoinType {
    pub const VALUES: [&'static str; 1] = ["entra_join"];

    pub fn as_str(self) -> &'static str {
        "entra_join"
    }

    pub fn parse(s: &str) -> Option<Self> {
        (s == "entra_join").then_some(Self::EntraJoin)
    }
}

/// `user_account_type`: whether the enrolling user stays a local administrator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum UserAccountType {
    #[default]
    StandardUser,
    Administrator,
}

impl UserAccountType {
    pub const VALUES: [&'static str; 2] = ["standard_user", "administrator"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandardUser => "standard_user",
            Self::Administrator => "administrator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "standard_user" => Some(Self::StandardUser),
            "administrator" => Some(Self::Administrator),
            _ => None,
        }
    }

    fn meaning(self) -> Meaning {
        match self {
            Self::StandardUser => Meaning::StandardUser,
            Self::Administrator => Meaning::Administrator,
        }
    }
}

/// The friendly settings of a device preparation policy.
///
/// In automatic mode only `allowed_app_ids` and `allowed_script_ids` exist in the template; the
/// other fields keep their defaults (they are neither written nor read, see
/// [`PolicySettings::USER_DRIVEN_ONLY`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySettings {
    pub deployment_mode: DeploymentMode,
    pub join_type: JoinType,
    pub user_account_type: UserAccountType,
    pub installation_timeout_minutes: i64,
    pub custom_error_message: String,
    pub allow_skip: bool,
    pub allow_diagnostics: bool,
    /// Mobile app ids, in the order given (order is kept on write and read).
    pub allowed_app_ids: Vec<String>,
    /// `deviceManagementScript` ids, in the order given.
    pub allowed_script_ids: Vec<String>,
}

impl PolicySettings {
    /// Friendly attributes that exist only in the user-driven template.
    pub const USER_DRIVEN_ONLY: [&'static str; 5] = [
        "user_account_type",
        "installation_timeout_minutes",
        "custom_error_message",
        "allow_skip",
        "allow_diagnostics",
    ];

    /// Defaults for `mode` with no apps or scripts.
    pub fn new(mode: DeploymentMode) -> Self {
        Self {
            deployment_mode: mode,
            join_type: JoinType::EntraJoin,
            user_account_type: UserAccountType::StandardUser,
            installation_timeout_minutes: DEFAULT_TIMEOUT_MINUTES,
            custom_error_message: catalog::DEFAULT_CUSTOM_ERROR_MESSAGE.to_owned(),
            allow_skip: false,
            allow_diagnostics: false,
            allowed_app_ids: Vec::new(),
            allowed_script_ids: Vec::new(),
        }
    }

    /// The `settings` array for POST/PUT, in the portal's order. Empty app/script lists are
    /// omitted, as the portal does. `app_types` maps each allowed app id to its type (from the
    /// app's `@odata.type`); an id without an entry is [`CatalogError::AppTypeMissing`].
    pub fn to_graph_settings(&self, app_types: &HashMap<String, AppType>) -> Result<Value, CatalogError> {
        let template = self.deployment_mode.template();
        let mut settings = Vec::new();
        if template == Template::UserDriven {
            settings.push(choice(&DEPLOYMENT_MODE, template, Meaning::UserDriven)?);
            settings.push(choice(&DEPLOYMENT_TYPE, template, Meaning::SingleUser)?);
            settings.push(choice(&JOIN_TYPE, template, Meaning::EntraJoined)?);
            settings.push(choice(&ACCOUNT_TYPE, template, self.user_account_type.meaning())?);
            settings.push(simple(
                &TIMEOUT,
                template,
                INTEGER_VALUE,
                json!(self.installation_timeout_minutes),
            )?);
            settings.push(simple(
                &CUSTOM_ERROR_MESSAGE,
                template,
                STRING_VALUE,
                json!(self.custom_error_message),
            )?);
            settings.push(choice(&ALLOW_SKIP, template, yes_no(self.allow_skip))?);
            settings.push(choice(&ALLOW_DIAGNOSTICS, template, yes_no(self.allow_diagnostics))?);
            // Always empty: the group is bound with setEnrollmentTimeDeviceMembershipTarget.
            settings.push(simple(&DEVICE_SECURITY_GROUP_IDS, template, STRING_VALUE, json!(""))?);
        }
        if !self.allowed_app_ids.is_empty() {
            let values = self
                .allowed_app_ids
                .iter()
                .map(|id| {
                    let app_type = app_types
                        .get(id)
                        .ok_or_else(|| CatalogError::AppTypeMissing { app_id: id.clone() })?;
                    Ok(allowed_app_value(id, *app_type))
                })
                .collect::<Result<Vec<_>, CatalogError>>()?;
            settings.push(collection(&ALLOWED_APP_IDS, template, &values)?);
        }
        if !self.allowed_script_ids.is_empty() {
            settings.push(collection(&ALLOWED_SCRIPT_IDS, template, &self.allowed_script_ids)?);
        }
        Ok(Value::Array(settings))
    }

    /// Parse a GET `…/configurationPolicies/{id}/settings` response (one page, optionally with the
    /// `settingDefinitions` expansion), a `settings` array, or a policy read with
    /// `$expand=settings`. The mode is inferred: any user-driven-only setting makes it
    /// user-driven, otherwise automatic. Prefer [`Self::from_graph_settings_for`] when the
    /// policy's template id is known (an automatic policy cannot be told from a user-driven one
    /// that lost all its settings).
    pub fn from_graph_settings(settings: &Value) -> Result<PolicySettings, CatalogError> {
        let found = collect(&[settings])?;
        let template =
            if found.has_user_driven_setting() { Template::UserDriven } else { Template::Automatic };
        found.into_settings(template)
    }

    /// Like [`Self::from_graph_settings`] for a known template, over all pages of the response.
    pub fn from_graph_settings_for(
        template: Template,
        pages: &[&Value],
    ) -> Result<PolicySettings, CatalogError> {
        collect(pages)?.into_settings(template)
    }
}

fn yes_no(b: bool) -> Meaning {
    if b { Meaning::Yes } else { Meaning::No }
}

fn template_name(template: Template) -> &'static str {
    match template {
        Template::UserDriven => "user-driven",
        Template::Automatic => "automatic",
    }
}

fn instance_template(def: &SettingDef, template: Template) -> Result<&'static str, CatalogError> {
    def.instance_template_id(template).ok_or(CatalogError::SettingNotInTemplate {
        definition_id: def.definition_id,
        template: template_name(template),
    })
}

fn value_template_ref(def: &SettingDef) -> Value {
    match def.value_template_id {
        Some(id) => json!({ "settingValueTemplateId": id }),
        None => Value::Null,
    }
}

/// A choice setting as the portal sends it (the portal also tags the wrapper with `@odata.type`
/// for choices only; Graph ignores the wrapper's type, we mirror the portal).
fn choice(def: &SettingDef, template: Template, meaning: Meaning) -> Result<Value, CatalogError> {
    let value_id = def.value_id_for(meaning).ok_or_else(|| CatalogError::UnknownValue {
        definition_id: def.definition_id.to_owned(),
        value: meaning.describe().to_owned(),
    })?;
    Ok(json!({
        "@odata.type": SETTING,
        "settingInstance": {
            "@odata.type": CHOICE_INSTANCE,
            "settingDefinitionId": def.definition_id,
            "settingInstanceTemplateReference": { "settingInstanceTemplateId": instance_template(def, template)? },
            "choiceSettingValue": {
                "@odata.type": CHOICE_VALUE,
                "value": value_id,
                "children": [],
                "settingValueTemplateReference": value_template_ref(def),
            }
        }
    }))
}

fn simple(
    def: &SettingDef,
    template: Template,
    value_type: &str,
    value: Value,
) -> Result<Value, CatalogError> {
    Ok(json!({
        "settingInstance": {
            "@odata.type": SIMPLE_INSTANCE,
            "settingDefinitionId": def.definition_id,
            "settingInstanceTemplateReference": { "settingInstanceTemplateId": instance_template(def, template)? },
            "simpleSettingValue": {
                "@odata.type": value_type,
                "value": value,
                "settingValueTemplateReference": value_template_ref(def),
            }
        }
    }))
}

fn collection(def: &SettingDef, template: Template, values: &[String]) -> Result<Value, CatalogError> {
    let values: Vec<Value> =
        values.iter().map(|v| json!({ "@odata.type": STRING_VALUE, "value": v })).collect();
    Ok(json!({
        "settingInstance": {
            "@odata.type": COLLECTION_INSTANCE,
            "settingDefinitionId": def.definition_id,
            "settingInstanceTemplateReference": { "settingInstanceTemplateId": instance_template(def, template)? },
            "simpleSettingCollectionValue": values,
        }
    }))
}

/// `{"id":"…","type":"#microsoft.graph.…"}` with the portal's key order and no spaces.
fn allowed_app_value(id: &str, app_type: AppType) -> String {
    format!("{{\"id\":{},\"type\":{}}}", Value::from(id), Value::from(app_type.setting_type()))
}

// ---------------------------------------------------------------------------------------------
// Reading.
// ---------------------------------------------------------------------------------------------

/// One setting value read back, before the template decides what is required.
#[derive(Debug)]
enum Read {
    Choice(Meaning),
    Integer(i64),
    Text(String),
    List(Vec<String>),
}

#[derive(Debug, Default)]
struct Found {
    values: HashMap<SettingKey, (&'static str, Read)>,
}

impl Found {
    fn insert(&mut self, def: &'static SettingDef, value: Read) -> Result<(), CatalogError> {
        if self.values.insert(def.key, (def.definition_id, value)).is_some() {
            return Err(CatalogError::DuplicateSetting { definition_id: def.definition_id.to_owned() });
        }
        Ok(())
    }

    fn has_user_driven_setting(&self) -> bool {
        self.values.keys().any(|k| !matches!(k, SettingKey::AllowedAppIds | SettingKey::AllowedScriptIds))
    }

    fn into_settings(mut self, template: Template) -> Result<PolicySettings, CatalogError> {
        let mut out = PolicySettings::new(DeploymentMode::from_template(template));
        out.allowed_app_ids = self.take_list(&ALLOWED_APP_IDS)?.unwrap_or_default();
        out.allowed_script_ids = self.take_list(&ALLOWED_SCRIPT_IDS)?.unwrap_or_default();
        if template == Template::Automatic {
            if let Some((definition_id, _)) = self.values.into_values().next() {
                return Err(CatalogError::SettingNotInTemplate { definition_id, template: "automatic" });
            }
            return Ok(out);
        }
        // Mode, type and join type have a single supported meaning each; reading them only
        // proves the policy is the kind this resource manages.
        self.take_choice(&DEPLOYMENT_MODE, template)?;
        self.take_choice(&DEPLOYMENT_TYPE, template)?;
        self.take_choice(&JOIN_TYPE, template)?;
        out.user_account_type = match self.take_choice(&ACCOUNT_TYPE, template)? {
            Meaning::Administrator => UserAccountType::Administrator,
            _ => UserAccountType::StandardUser,
        };
        out.installation_timeout_minutes = match self.take(&TIMEOUT, template)? {
            Read::Integer(n) => n,
            other => return Err(shape(&TIMEOUT, &format!("expected an integer, found {other:?}"))),
        };
        out.custom_error_message = match self.take(&CUSTOM_ERROR_MESSAGE, template)? {
            Read::Text(s) => s,
            other => {
                return Err(shape(&CUSTOM_ERROR_MESSAGE, &format!("expected a string, found {other:?}")));
            }
        };
        out.allow_skip = self.take_choice(&ALLOW_SKIP, template)? == Meaning::Yes;
        out.allow_diagnostics = self.take_choice(&ALLOW_DIAGNOSTICS, template)? == Meaning::Yes;
        // The device group setting is informational (always "" when written by the portal).
        self.values.remove(&SettingKey::DeviceSecurityGroupIds);
        Ok(out)
    }

    fn take(&mut self, def: &'static SettingDef, template: Template) -> Result<Read, CatalogError> {
        self.values.remove(&def.key).map(|(_, v)| v).ok_or(CatalogError::MissingSetting {
            definition_id: def.definition_id,
            template: template_name(template),
        })
    }

    fn take_choice(&mut self, def: &'static SettingDef, template: Template) -> Result<Meaning, CatalogError> {
        match self.take(def, template)? {
            Read::Choice(m) => Ok(m),
            other => Err(shape(def, &format!("expected a choice, found {other:?}"))),
        }
    }

    fn take_list(&mut self, def: &'static SettingDef) -> Result<Option<Vec<String>>, CatalogError> {
        match self.values.remove(&def.key) {
            None => Ok(None),
            Some((_, Read::List(l))) => Ok(Some(l)),
            Some((_, other)) => Err(shape(def, &format!("expected a list, found {other:?}"))),
        }
    }
}

fn shape(def: &SettingDef, detail: &str) -> CatalogError {
    CatalogError::UnexpectedShape { definition_id: def.definition_id.to_owned(), detail: detail.to_owned() }
}

fn not_a_list(detail: &str) -> CatalogError {
    CatalogError::NotASettingsList { detail: detail.to_owned() }
}

/// The setting items of one response page.
fn items(page: &Value) -> Result<&Vec<Value>, CatalogError> {
    match page {
        Value::Array(items) => Ok(items),
        Value::Object(obj) => {
            if obj.contains_key("@odata.nextLink") {
                return Err(not_a_list(
                    "the page has an @odata.nextLink; read every page and pass them all to from_graph_settings_for",
                ));
            }
            match obj.get("value").or_else(|| obj.get("settings")) {
                Some(Value::Array(items)) => Ok(items),
                _ => Err(not_a_list("expected a `value` or `settings` array")),
            }
        }
        _ => Err(not_a_list("expected a JSON array or object")),
    }
}

fn collect(pages: &[&Value]) -> Result<Found, CatalogError> {
    let mut found = Found::default();
    for page in pages {
        for item in items(page)? {
            let instance =
                item.get("settingInstance").ok_or_else(|| not_a_list("an item has no settingInstance"))?;
            let definitions = item.get("settingDefinitions").and_then(Value::as_array).map(Vec::as_slice);
            read_instance(instance, definitions.unwrap_or(&[]), &mut found)?;
        }
    }
    Ok(found)
}

/// `@odata.type` without `#` and namespace (nested Intune examples drop the `#`).
fn type_name(v: &Value) -> &str {
    let t = v.get("@odata.type").and_then(Value::as_str).unwrap_or("");
    let t = t.trim_start_matches('#');
    t.strip_prefix("microsoft.graph.").unwrap_or(t)
}

fn read_instance(instance: &Value, definitions: &[Value], found: &mut Found) -> Result<(), CatalogError> {
    let definition_id = instance
        .get("settingDefinitionId")
        .and_then(Value::as_str)
        .ok_or_else(|| not_a_list("a settingInstance has no settingDefinitionId"))?;

    // A hand-written fixture (dpp_get_settings_fixture.dt) wraps each setting in a group
    // collection of one child with the same id; read the children instead.
    if type_name(instance) == "deviceManagementConfigurationGroupSettingCollectionInstance" {
        for group in
            instance.get("groupSettingCollectionValue").and_then(Value::as_array).into_iter().flatten()
        {
            for child in group.get("children").and_then(Value::as_array).into_iter().flatten() {
                read_instance(child, definitions, found)?;
            }
        }
        return Ok(());
    }

    let def = catalog::by_definition_id(definition_id)?;
    let value = match def.kind {
        SettingKind::Choice => Read::Choice(read_choice(def, instance, definitions, found)?),
        SettingKind::Integer => Read::Integer(read_integer(def, instance)?),
        SettingKind::String => Read::Text(read_string(def, instance)?),
        SettingKind::StringCollection => Read::List(read_collection(def, instance)?),
    };
    found.insert(def, value)
}

fn read_choice(
    def: &'static SettingDef,
    instance: &Value,
    definitions: &[Value],
    found: &mut Found,
) -> Result<Meaning, CatalogError> {
    let Some(choice) = instance.get("choiceSettingValue").filter(|v| !v.is_null()) else {
        // GET-2024 returned the yes/no settings as simple booleans.
        if def.value_id_for(Meaning::Yes).is_some() {
            return match instance.get("simpleSettingValue").and_then(|v| v.get("value")) {
                Some(Value::Bool(b)) => Ok(yes_no(*b)),
                Some(Value::String(s)) if s == "true" || s == "false" => Ok(yes_no(s == "true")),
                _ => Err(shape(def, "neither choiceSettingValue nor a boolean simpleSettingValue")),
            };
        }
        return Err(shape(def, "no choiceSettingValue"));
    };
    let value = choice
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| shape(def, "choice value is not a string"))?;
    let option = def.option(value).ok_or_else(|| CatalogError::UnknownValue {
        definition_id: def.definition_id.to_owned(),
        value: value.to_owned(),
    })?;
    if let Meaning::Unsupported(what) = option.meaning {
        return Err(CatalogError::UnsupportedValue {
            definition_id: def.definition_id.to_owned(),
            value: value.to_owned(),
            what,
        });
    }
    if let Some(label) = tenant_label(definitions, def.definition_id, value) {
        catalog::check_tenant_label(def, option, label)?;
    }
    // Children of a choice are further setting instances; none are known, so any is an error.
    for child in choice.get("children").and_then(Value::as_array).into_iter().flatten() {
        read_instance(child, definitions, found)?;
    }
    Ok(option.meaning)
}

/// The tenant's label for option `value_id` from the `settingDefinitions` expansion, if present.
fn tenant_label<'a>(definitions: &'a [Value], definition_id: &str, value_id: &str) -> Option<&'a str> {
    let definition =
        definitions.iter().find(|d| d.get("id").and_then(Value::as_str) == Some(definition_id))?;
    let option = definition
        .get("options")?
        .as_array()?
        .iter()
        .find(|o| o.get("itemId").and_then(Value::as_str) == Some(value_id))?;
    option.get("displayName").and_then(Value::as_str).or_else(|| option.get("name").and_then(Value::as_str))
}

fn simple_value<'a>(def: &SettingDef, instance: &'a Value) -> Result<&'a Value, CatalogError> {
    instance
        .get("simpleSettingValue")
        .and_then(|v| v.get("value"))
        .ok_or_else(|| shape(def, "no simpleSettingValue.value"))
}

fn read_integer(def: &SettingDef, instance: &Value) -> Result<i64, CatalogError> {
    match simple_value(def, instance)? {
        Value::Number(n) => n.as_i64().ok_or_else(|| shape(def, &format!("{n} is not an integer"))),
        Value::String(s) => s.trim().parse().map_err(|_| shape(def, &format!("\"{s}\" is not an integer"))),
        other => Err(shape(def, &format!("expected an integer, found {other}"))),
    }
}

fn read_string(def: &SettingDef, instance: &Value) -> Result<String, CatalogError> {
    match simple_value(def, instance)? {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        other => Err(shape(def, &format!("expected a string, found {other}"))),
    }
}

fn read_collection(def: &SettingDef, instance: &Value) -> Result<Vec<String>, CatalogError> {
    let raw: Vec<&Value> = if let Some(values) = instance.get("simpleSettingCollectionValue") {
        values
            .as_array()
            .ok_or_else(|| shape(def, "simpleSettingCollectionValue is not an array"))?
            .iter()
            .collect()
    } else if let Some(value) = instance.get("collectionSettingValue") {
        // GET-2024 legacy shape; children seen only empty. A child may be a value or an instance.
        value
            .get("children")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| c.get("simpleSettingValue").unwrap_or(c))
            .collect()
    } else {
        return Err(shape(def, "no simpleSettingCollectionValue"));
    };
    raw.into_iter()
        .map(|v| match v.get("value") {
            Some(Value::String(s)) => collection_id(def, s),
            _ => Err(shape(def, "a collection item has no string value")),
        })
        .collect()
}

/// The id inside an allowed-app/script value: the `id` of a JSON object, or the bare string.
fn collection_id(def: &SettingDef, raw: &str) -> Result<String, CatalogError> {
    let trimmed = raw.trim();
    if !trimmed.starts_with('{') {
        return Ok(trimmed.to_owned());
    }
    let obj: Map<String, Value> = serde_json::from_str(trimmed)
        .map_err(|e| shape(def, &format!("value {raw:?} is not valid JSON: {e}")))?;
    match obj.get("id") {
        Some(Value::String(id)) => Ok(id.clone()),
        _ => Err(shape(def, &format!("value {raw:?} has no string `id`"))),
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
