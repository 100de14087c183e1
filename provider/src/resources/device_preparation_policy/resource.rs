//! The `autopilot_device_preparation_policy` resource: schema, plan-time checks and the
//! create → bind → assign sequence (see the table in the parent module).

use async_trait::async_trait;
use serde_json::json;

use super::catalog;
use super::membership::{INTUNE_PROVISIONING_CLIENT_APP_ID, TargetValidationError};
use super::model::{DEFAULT_TIMEOUT_MINUTES, DeploymentMode, JoinType, PolicySettings, UserAccountType};
use super::policy;
use super::remote::{self, Lookup, Remote};
use super::validate::{self, PlanContext, Severity};
use crate::framework::plan_modifier::{requires_replace, use_state_for_unknown};
use crate::framework::resource::{
    CreateRequest, Ctx, DeleteRequest, ModifyPlanRequest, ModifyPlanResponse, ReadRequest, Resource,
    StateResult, UpdateRequest,
};
use crate::framework::schema::Attribute;
use crate::framework::timeouts;
use crate::framework::validator::{all_chars, each_element, int_between, one_of, string_length, uuid};
use crate::framework::{AttributePath, Diagnostic, Diagnostics, Schema, Type, Value};
use crate::resources::ProviderData;
use crate::resources::errors::{call_cx, graph_diagnostic};
use crate::resources::fresh::{recently_created, stamp_created};

const TYPE_NAME: &str = "autopilot_device_preparation_policy";
/// The default scope tag every Intune object carries.
const DEFAULT_SCOPE_TAG: &str = "0";

/// The resource.
#[derive(Debug, Default)]
pub struct DevicePreparationPolicy;

/// What the configuration (as planned, defaults applied) asks for.
#[derive(Clone, Debug, PartialEq)]
struct Desired {
    name: String,
    description: String,
    role_scope_tag_ids: Vec<String>,
    settings: PolicySettings,
    device_group_id: Option<String>,
    assigned_group_ids: Vec<String>,
}

/// Known strings of a set attribute, lower-cased for comparison with Graph's ids (unknown
/// elements are skipped: they are checked at apply).
fn ids(v: &Value, name: &str) -> Vec<String> {
    v.attr(name)
        .and_then(Value::elements)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// The friendly settings of a configuration or state; null or unknown attributes take their
/// defaults (validation runs again at apply with everything known).
fn settings_of(v: &Value) -> PolicySettings {
    let mode =
        v.get_str("deployment_mode").and_then(DeploymentMode::parse).unwrap_or(DeploymentMode::UserDriven);
    let mut s = PolicySettings::new(mode);
    s.join_type = v.get_str("join_type").and_then(JoinType::parse).unwrap_or_default();
    s.user_account_type = v.get_str("user_account_type").and_then(UserAccountType::parse).unwrap_or_default();
    s.installation_timeout_minutes =
        v.get_i64("installation_timeout_minutes").unwrap_or(DEFAULT_TIMEOUT_MINUTES);
    if let Some(m) = v.get_str("custom_error_message") {
        m.clone_into(&mut s.custom_error_message);
    }
    s.allow_skip = v.get_bool("allow_skip").unwrap_or(false);
    s.allow_diagnostics = v.get_bool("allow_diagnostics").unwrap_or(false);
    s.allowed_app_ids = ids(v, "allowed_app_ids");
    s.allowed_script_ids = ids(v, "allowed_script_ids");
    s
}

impl Desired {
    fn of(v: &Value) -> Self {
        let mut scope_tags = v.get_string_set("role_scope_tag_ids").unwrap_or_default();
        if scope_tags.is_empty() {
            scope_tags.push(DEFAULT_SCOPE_TAG.to_owned());
        }
        Self {
            name: v.get_str("name").unwrap_or_default().to_owned(),
            description: v.get_str("description").unwrap_or_default().to_owned(),
            role_scope_tag_ids: sorted(scope_tags),
            settings: settings_of(v),
            device_group_id: v.get_str("device_group_id").map(str::to_ascii_lowercase),
            assigned_group_ids: ids(v, "assigned_group_ids"),
        }
    }

    /// Settings compared as Graph stores them: app and script order does not matter.
    fn settings_key(&self) -> PolicySettings {
        let mut s = self.settings.clone();
        s.allowed_app_ids = sorted(s.allowed_app_ids);
        s.allowed_script_ids = sorted(s.allowed_script_ids);
        s
    }
}

/// The state for what Graph holds, carrying `timeouts` over from `carried`.
fn state_from(remote: &Remote, carried: &Value) -> Value {
    let s = &remote.settings;
    let info = &remote.info;
    let mut scope_tags = info.role_scope_tag_ids.clone();
    if scope_tags.is_empty() {
        scope_tags.push(DEFAULT_SCOPE_TAG.to_owned());
    }
    Value::object()
        .set("id", info.id.as_str())
        .set("name", info.name.as_str())
        .set("description", info.description.as_str())
        .set("deployment_mode", info.mode.as_str())
        .set("join_type", s.join_type.as_str())
        .set("user_account_type", s.user_account_type.as_str())
        .set("installation_timeout_minutes", s.installation_timeout_minutes)
        .set("custom_error_message", s.custom_error_message.as_str())
        .set("allow_skip", s.allow_skip)
        .set("allow_diagnostics", s.allow_diagnostics)
        .set("allowed_app_ids", id_set_value(&s.allowed_app_ids, carried.attr("allowed_app_ids")))
        .set("allowed_script_ids", id_set_value(&s.allowed_script_ids, carried.attr("allowed_script_ids")))
        .set("device_group_id", id_value(remote.device_group_id.as_deref(), carried.attr("device_group_id")))
        .set(
            "assigned_group_ids",
            id_set_value(&remote.assigned_group_ids, carried.attr("assigned_group_ids")),
        )
        .set("role_scope_tag_ids", Value::string_set(scope_tags))
        .set("created_date_time", opt_str(info.created_date_time.as_deref()))
        .set("last_modified_date_time", opt_str(info.last_modified_date_time.as_deref()))
        .set(
            "is_assigned",
            info.is_assigned.map(Value::from).unwrap_or(Value::Bool(!remote.assigned_group_ids.is_empty())),
        )
        .set("priority", info.priority.map(Value::from).unwrap_or(Value::Null))
        .set("timeouts", carried.attr("timeouts").cloned().unwrap_or(Value::Null))
        .build()
}

/// Graph ids compare case-insensitively: keep the spelling of `carried` (the configuration's,
/// via the prior state) for an id Graph returns in another case, so that is not a change.
fn spelled<'a>(id: &'a str, carried: Option<&'a Value>) -> &'a str {
    let known = carried
        .and_then(Value::elements)
        .unwrap_or_default()
        .iter()
        .chain(carried.filter(|v| v.as_str().is_some()));
    known.filter_map(Value::as_str).find(|c| c.eq_ignore_ascii_case(id)).unwrap_or(id)
}

fn id_set_value(ids: &[String], carried: Option<&Value>) -> Value {
    Value::string_set(ids.iter().map(|i| spelled(i, carried).to_owned()))
}

fn id_value(id: Option<&str>, carried: Option<&Value>) -> Value {
    id.map(|i| Value::from(spelled(i, carried))).unwrap_or(Value::Null)
}

/// After successful writes: the configured values as planned (what was just written; a read
/// straight after a write may still be served by a stale replica), the computed ones from the
/// read-back.
fn settle(read_back: Value, planned: &Value) -> Value {
    let mut state = read_back;
    for name in CONFIGURED {
        if let Some(v) = planned.attr(name).filter(|v| v.is_fully_known()) {
            state.set_attr(name, v.clone());
        }
    }
    let assigned =
        planned.attr("assigned_group_ids").and_then(Value::elements).is_some_and(|e| !e.is_empty());
    state.set_attr("is_assigned", assigned);
    state
}

/// Attributes the configuration sets (everything but `id`, the read-only ones and `timeouts`).
const CONFIGURED: [&str; 14] = [
    "name",
    "description",
    "deployment_mode",
    "join_type",
    "user_account_type",
    "installation_timeout_minutes",
    "custom_error_message",
    "allow_skip",
    "allow_diagnostics",
    "allowed_app_ids",
    "allowed_script_ids",
    "device_group_id",
    "assigned_group_ids",
    "role_scope_tag_ids",
];

fn opt_str(s: Option<&str>) -> Value {
    s.map(Value::from).unwrap_or(Value::Null)
}

/// `planned` with `id` set and anything still unknown made null: the state to keep when the
/// policy exists but cannot be read back (Terraform refuses unknown values after apply).
fn fallback_state(planned: &Value, id: &str) -> Value {
    fn known(v: Value) -> Value {
        match v {
            Value::Unknown(_) => Value::Null,
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, known(v))).collect()),
            Value::List(items) => Value::List(items.into_iter().map(known).collect()),
            Value::Set(items) => Value::Set(items.into_iter().map(known).collect()),
            other => other,
        }
    }
    let mut state = known(planned.clone());
    state.set_attr("id", id);
    state
}

/// Read the policy back after writes and build the result; `diags` are the write's outcome.
/// The policy exists, so a state is always returned (with errors the resource is tainted on
/// create, or the next plan shows what is left to do on update).
async fn finish(
    ctx: &Ctx,
    data: &ProviderData,
    id: &str,
    planned: &Value,
    mut diags: Diagnostics,
) -> StateResult {
    match remote::read_after_write(ctx, data, id).await {
        Ok(remote) => {
            diags.extend(remote.warnings.clone());
            let read_back = state_from(&remote, planned);
            let state = if diags.has_error() { read_back } else { settle(read_back, planned) };
            StateResult { state: Some(state), private: Vec::new(), diagnostics: diags }
        }
        Err(d) => {
            diags.push(d);
            StateResult { state: Some(fallback_state(planned, id)), private: Vec::new(), diagnostics: diags }
        }
    }
}

/// How long a refresh waits for a policy created moments ago before taking a 404 as deleted.
const NEW_POLICY_VISIBILITY: std::time::Duration = std::time::Duration::from_secs(30);

/// Re-reads a policy created moments ago that was not found, with back-off, for at most
/// [`NEW_POLICY_VISIBILITY`]; `Ok(None)` if it still is not found.
async fn wait_for_new_policy(ctx: &Ctx, data: &ProviderData, id: &str) -> Result<Option<Remote>, Diagnostic> {
    let until = std::time::Instant::now() + NEW_POLICY_VISIBILITY;
    let cx = call_cx(ctx);
    let mut delay = std::time::Duration::from_millis(500);
    while std::time::Instant::now() + delay < until && !cx.would_exceed(delay) {
        if cx.sleep(delay).await.is_err() {
            break;
        }
        if let Some(found) = remote::read(ctx, data, id).await? {
            return Ok(Some(found));
        }
        delay = (delay * 2).min(std::time::Duration::from_secs(8));
    }
    Ok(None)
}

fn id_set(name: &str, description: &str) -> Attribute {
    Attribute::set_of(name, Type::String)
        .default_value(Value::Set(Vec::new()))
        .description(description)
        .validator(each_element(uuid()))
}

/// Ids in `name` that are new compared with the prior state (plan-time lookups run only for
/// those, so an unchanged configuration costs no extra request).
fn new_ids(config: &Value, prior: &Value, name: &str) -> Vec<String> {
    let before = ids(prior, name);
    ids(config, name).into_iter().filter(|id| !before.contains(id)).collect()
}

fn element(attr: &str, id: &str) -> AttributePath {
    AttributePath::new(attr).set_element(Value::from(id))
}

/// Plan-time check of the device group: exists, static security group, owned by the Intune
/// Provisioning Client.
async fn check_device_group(ctx: &Ctx, data: &ProviderData, group: &str, diags: &mut Diagnostics) {
    let cx = call_cx(ctx);
    let path = AttributePath::new("device_group_id");
    // Created by this apply moments ago (typically the planned value was unknown until then):
    // its facts are what the create made; a replica may not show the group yet.
    let facts = match data.created_groups.recall(group) {
        Some(created) => Lookup::Found(remote::GroupFacts {
            security_enabled: true,
            dynamic: false,
            owned_by_provisioning_client: created.owned_by_provisioning_client,
        }),
        None => remote::group_facts(&cx, data, group).await,
    };
    match facts {
        Lookup::Missing => diags.push(
            Diagnostic::error(
                "No such group",
                format!("device_group_id {group} is not a group in this tenant."),
            )
            .at(path),
        ),
        Lookup::Failed(e) => {
            // A lookup failure must not block the plan; Intune validates the group at apply.
            let d = graph_diagnostic(remote::group_lookup_op(), &e);
            diags.push(Diagnostic::warning("Could not check the device group", d.detail).at(path));
        }
        Lookup::Found(facts) => {
            let mut problems = Vec::new();
            if !facts.security_enabled {
                problems.push(TargetValidationError::NotSecurityGroup);
            }
            if facts.dynamic {
                problems.push(TargetValidationError::NotStaticSecurityGroup);
            }
            if !facts.owned_by_provisioning_client {
                problems.push(TargetValidationError::FirstPartyAppNotAnOwner);
            }
            for p in problems {
                diags.push(
                    Diagnostic::error(
                        "Device group not usable for device preparation",
                        format!("Group {group}: {}.", p.explanation()),
                    )
                    .at(path.clone()),
                );
            }
        }
    }
}

async fn check_apps(ctx: &Ctx, data: &ProviderData, ids: &[String], diags: &mut Diagnostics) {
    let cx = call_cx(ctx);
    let found = futures::future::join_all(ids.iter().map(|id| remote::app(&cx, data, id))).await;
    for (id, lookup) in ids.iter().zip(found) {
        let path = element("allowed_app_ids", id);
        match lookup {
            Lookup::Found(Ok(_)) => {}
            Lookup::Found(Err(e)) => diags.push(Diagnostic::error("App type not supported", e).at(path)),
            Lookup::Missing => diags.push(
                Diagnostic::error(
                    "No such app",
                    format!("allowed_app_ids contains {id}, which is not an Intune app in this tenant."),
                )
                .at(path),
            ),
            Lookup::Failed(e) => {
                let d = graph_diagnostic(remote::app_lookup_op(), &e);
                diags.push(Diagnostic::warning("Could not check an allowed app", d.detail).at(path));
            }
        }
    }
}

async fn check_scripts(ctx: &Ctx, data: &ProviderData, ids: &[String], diags: &mut Diagnostics) {
    let cx = call_cx(ctx);
    let found = futures::future::join_all(ids.iter().map(|id| remote::script(&cx, data, id))).await;
    for (id, lookup) in ids.iter().zip(found) {
        let path = element("allowed_script_ids", id);
        match lookup {
            Lookup::Found(()) => {}
            Lookup::Missing => {
                // A common slip is pasting an app id here: say so.
                let is_app = matches!(remote::app(&cx, data, id).await, Lookup::Found(_));
                let detail = if is_app {
                    format!(
                        "allowed_script_ids contains {id}, which is an Intune app, not a PowerShell platform script: \
                         list it in allowed_app_ids instead."
                    )
                } else {
                    format!(
                        "allowed_script_ids contains {id}, which is not a PowerShell platform script in this tenant."
                    )
                };
                diags.push(Diagnostic::error("No such script", detail).at(path));
            }
            Lookup::Failed(e) => {
                let d = graph_diagnostic(remote::op("Checking the allowed scripts", false), &e);
                diags.push(Diagnostic::warning("Could not check an allowed script", d.detail).at(path));
            }
        }
    }
}

/// Build the settings array, looking up every allowed app's type; checks the scripts too when
/// `check_scripts` (their ids were unknown at plan, or are new).
async fn settings_body(
    ctx: &Ctx,
    data: &ProviderData,
    desired: &Desired,
    new_scripts: &[String],
) -> Result<serde_json::Value, Diagnostics> {
    // Both lookups at once: they share a `$batch`.
    let (app_types, script_problems) = futures::join!(
        remote::app_types(ctx, data, &desired.settings.allowed_app_ids),
        remote::check_scripts(ctx, data, new_scripts)
    );
    if script_problems.has_error() {
        return Err(script_problems);
    }
    let app_types = app_types?;
    desired.settings.to_graph_settings(&app_types).map_err(|e| {
        Diagnostics::from(Diagnostic::error("Building the device preparation policy settings", e.to_string()))
    })
}

#[async_trait]
impl Resource<ProviderData> for DevicePreparationPolicy {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let mut s = Schema::default();
        s.block.description = format!(
            "A Windows Autopilot device preparation policy (Intune settings catalog, Graph beta): the \
            out-of-box experience for user-driven Microsoft Entra join, the apps and scripts installed during \
            it, the device group devices are added to, and the user groups the policy is assigned to.\n\n\
            Creating it takes three calls: create the policy, bind the device group \
            (`setEnrollmentTimeDeviceMembershipTarget`), assign it to the user groups (`/assign`). If the second \
            or third fails, the policy stays in state and is marked tainted, so the next apply replaces it \
            instead of leaving it behind.\n\n\
            The device group must be an assigned (static) security group owned by the **Intune Provisioning \
            Client** service principal (appId `{INTUNE_PROVISIONING_CLIENT_APP_ID}`); allowed apps and scripts must \
            be assigned to that group. These are checked at plan time when the ids are known.\n\n\
            Permissions (application): `DeviceManagementConfiguration.ReadWrite.All` (policy, binding, \
            assignment, scripts), `DeviceManagementApps.Read.All` (app types), `GroupMember.Read.All` (device \
            group owner check at plan). Delegated use needs the Intune Administrator role.\n\n\
            Known limitations: Graph has been reported to answer the device group binding with HTTP 500 for \
            application (client credential) authentication while delegated authentication works; the provider \
            then explains how to proceed. `/assign` replaces every assignment of the policy, so this resource owns \
            all of them. Updates of settings replace the whole policy (PUT), as the Intune admin center does. \
            Policy priority is read-only (reordered in the admin center)."
        );
        s.block.attributes = vec![
            Attribute::string("id")
                .computed()
                .description("The policy id.")
                .plan_modifier(use_state_for_unknown()),
            Attribute::string("name").required().description("Policy name.").validator(string_length(1, 1000)),
            Attribute::string("description")
                .default_value("")
                .description("Policy description.")
                .validator(string_length(0, 1500)),
            Attribute::string("deployment_mode")
                .required()
                .description(
                    "`user_driven` (Microsoft Entra join during the out-of-box experience) or `automatic` \
                     (Windows 365 Cloud PCs). Changing it replaces the policy (another template).",
                )
                .validator(one_of(&DeploymentMode::VALUES))
                .plan_modifier(requires_replace()),
            Attribute::string("join_type")
                .default_value(JoinType::EntraJoin.as_str())
                .description("`entra_join`, the only join type device preparation supports.")
                .validator(one_of(&JoinType::VALUES))
                .plan_modifier(requires_replace()),
            Attribute::string("user_account_type")
                .default_value(UserAccountType::StandardUser.as_str())
                .description("Whether the enrolling user is a `standard_user` (default) or an `administrator` on the device. User-driven only.")
                .validator(one_of(&UserAccountType::VALUES)),
            Attribute::number("installation_timeout_minutes")
                .default_value(DEFAULT_TIMEOUT_MINUTES)
                .description("Minutes allowed before an installation error is shown (15–720, default 60). User-driven only.")
                // On the attribute, so a fraction is refused instead of read as the default.
                .validator(int_between(*validate::TIMEOUT_MINUTES.start(), *validate::TIMEOUT_MINUTES.end())),
            Attribute::string("custom_error_message")
                .default_value(catalog::DEFAULT_CUSTOM_ERROR_MESSAGE)
                .description("Message shown when the deployment fails (the admin center's default text unless set). User-driven only."),
            Attribute::bool("allow_skip")
                .default_value(false)
                .description("Let users skip setup after an installation failure (\"Continue anyway\"). User-driven only."),
            Attribute::bool("allow_diagnostics")
                .default_value(false)
                .description("Show a link to diagnostics on failure. User-driven only."),
            id_set(
                "allowed_app_ids",
                "Intune app ids installed during deployment (at most 25; Win32, Enterprise App Catalog, Microsoft \
                 Store (WinGet), Microsoft 365 Apps, MSI/AppX/MSIX line-of-business). Each app's type is looked up.",
            ),
            id_set("allowed_script_ids", "PowerShell platform script ids run during deployment (at most 10)."),
            Attribute::string("device_group_id")
                .optional()
                .description(
                    "Object id of the device group devices join during deployment: an assigned security group owned \
                     by the Intune Provisioning Client service principal.",
                )
                .validator(uuid()),
            id_set(
                "assigned_group_ids",
                "User groups the policy is assigned to (replaces every assignment of the policy). User-driven only.",
            ),
            Attribute::set_of("role_scope_tag_ids", Type::String)
                .default_value(Value::string_set([DEFAULT_SCOPE_TAG]))
                .description("Intune scope tag ids (default `[\"0\"]`, the Default tag).")
                .validator(each_element(all_chars(|c| c.is_ascii_digit(), "must be a scope tag id (digits, such as \"0\")"))),
            Attribute::string("created_date_time")
                .computed()
                .description("When the policy was created.")
                .plan_modifier(use_state_for_unknown()),
            Attribute::string("last_modified_date_time").computed().description("When the policy was last changed."),
            Attribute::bool("is_assigned").computed().description("Whether the policy is assigned to any group."),
            Attribute::number("priority")
                .computed()
                .description("Priority among device preparation policies (smaller wins; read-only here).")
                .plan_modifier(use_state_for_unknown()),
            timeouts::block(&["create", "read", "update", "delete"]),
        ];
        s
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let settings = settings_of(config);
        // Counting needs the whole set: skip the limits while a set is unknown.
        let whole = |name: &str| config.attr(name).is_none_or(|v| !v.is_unknown());
        let configured: Vec<&'static str> = PolicySettings::USER_DRIVEN_ONLY
            .iter()
            .copied()
            .filter(|a| config.attr(a).is_some_and(|v| !v.is_null()))
            .collect();
        let device_group = config.get_str("device_group_id");
        let device_group_unknown = config.attr("device_group_id").is_some_and(Value::is_unknown);
        let assigned = ids(config, "assigned_group_ids");
        let ctx = PlanContext {
            device_group_id: if device_group_unknown {
                Some("00000000-0000-0000-0000-000000000000")
            } else {
                device_group
            },
            assigned_group_ids: &assigned,
            configured_user_driven_only: &configured,
        };
        for f in validate::validate(&settings, &ctx) {
            if !whole(f.attribute) {
                continue;
            }
            // Ids and the timeout range are checked by the attribute validators already.
            if f.message.contains("is not an object id") || f.attribute == "installation_timeout_minutes" {
                continue;
            }
            let path = AttributePath::new(f.attribute);
            // Said already by the attribute's own validator (run first).
            if f.severity == Severity::Error
                && diags.iter().any(|d| d.is_error() && d.path.as_ref() == Some(&path))
            {
                continue;
            }
            match f.severity {
                Severity::Error => {
                    diags.attribute_error(path, "Invalid device preparation policy", f.message)
                }
                Severity::Warning => diags.attribute_warning(path, "Device preparation policy", f.message),
            }
        }
    }

    async fn modify_plan(
        &self,
        ctx: &Ctx,
        data: Option<&ProviderData>,
        req: ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        let Some(data) = data else { return };
        if resp.planned.is_null() {
            return;
        }
        let mut diags = Diagnostics::new();
        let group = req.config.get_str("device_group_id").map(str::to_ascii_lowercase);
        let prior_group = req.prior.get_str("device_group_id").map(str::to_ascii_lowercase);
        let apps = new_ids(req.config, req.prior, "allowed_app_ids");
        let scripts = new_ids(req.config, req.prior, "allowed_script_ids");
        let group_check = async {
            let mut d = Diagnostics::new();
            if let Some(g) = group.as_deref().filter(|g| Some(*g) != prior_group.as_deref()) {
                check_device_group(ctx, data, g, &mut d).await;
            }
            d
        };
        let app_check = async {
            let mut d = Diagnostics::new();
            check_apps(ctx, data, &apps, &mut d).await;
            d
        };
        let script_check = async {
            let mut d = Diagnostics::new();
            check_scripts(ctx, data, &scripts, &mut d).await;
            d
        };
        let (a, b, c) = futures::join!(group_check, app_check, script_check);
        diags.extend(a);
        diags.extend(b);
        diags.extend(c);
        resp.diagnostics.extend(diags);
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest<'_>) -> StateResult {
        let desired = Desired::of(req.planned);
        let settings = match settings_body(ctx, data, &desired, &desired.settings.allowed_script_ids).await {
            Ok(s) => s,
            Err(diagnostics) => return StateResult { diagnostics, ..Default::default() },
        };
        let body = policy::create_body(
            &desired.name,
            &desired.description,
            &desired.role_scope_tag_ids,
            desired.settings.deployment_mode,
            settings,
        );
        let created = match remote::create(
            ctx,
            data,
            &body,
            &desired.name,
            desired.settings.deployment_mode.template(),
        )
        .await
        {
            Ok(info) => info,
            Err(d) => return StateResult { diagnostics: d.into(), ..Default::default() },
        };
        // From here on the policy exists: every outcome keeps its id in state.
        // Binding the device group and assigning the policy are independent: both at once.
        let bind = async {
            match desired.device_group_id.as_deref() {
                Some(group) => remote::bind(ctx, data, &created.id, Some(group)).await,
                None => Ok(()),
            }
        };
        let assign = async {
            if desired.assigned_group_ids.is_empty() {
                Ok(())
            } else {
                remote::assign(ctx, data, &created.id, &desired.assigned_group_ids).await
            }
        };
        let (bound, assigned) = futures::join!(bind, assign);
        // No read-back: the create answered with the policy (id, dates, priority), the settings
        // are what was sent, and the binding and assignment are what succeeded. The next refresh
        // waits out a 404 (the private create stamp).
        let remote = Remote {
            info: created.clone(),
            settings: desired.settings.clone(),
            device_group_id: if bound.is_ok() { desired.device_group_id.clone() } else { None },
            assigned_group_ids: if assigned.is_ok() {
                desired.assigned_group_ids.clone()
            } else {
                Vec::new()
            },
            warnings: Diagnostics::new(),
        };
        let mut diags = Diagnostics::new();
        for failed in [bound.err(), assigned.err()].into_iter().flatten() {
            diags.push(failed);
        }
        if diags.has_error() {
            diags.push(Diagnostic::error(
                "Device preparation policy created incompletely",
                format!(
                    "Policy {} was created but not fully set up; it is kept in state and marked tainted, so the \
                     next apply replaces it after you fix the problem above.",
                    created.id
                ),
            ));
        }
        let written = state_from(&remote, req.planned);
        let state = if diags.has_error() { written } else { settle(written, req.planned) };
        StateResult { state: Some(state), private: stamp_created(&[]), diagnostics: diags }
    }

    async fn read(&self, ctx: &Ctx, data: &ProviderData, req: ReadRequest<'_>) -> StateResult {
        let Some(id) = req.current.get_str("id") else {
            return StateResult {
                diagnostics: Diagnostic::error(
                    "Reading the device preparation policy",
                    "the state has no id",
                )
                .into(),
                ..Default::default()
            };
        };
        let found = match remote::read(ctx, data, id).await {
            // Created moments ago: more likely not replicated yet than deleted.
            Ok(None) if recently_created(req.private) => wait_for_new_policy(ctx, data, id).await,
            other => other,
        };
        match found {
            Ok(None) => StateResult::default(),
            Ok(Some(remote)) => StateResult {
                state: Some(state_from(&remote, req.current)),
                private: req.private.to_vec(),
                diagnostics: remote.warnings,
            },
            Err(d) => StateResult {
                state: Some(req.current.clone()),
                private: req.private.to_vec(),
                diagnostics: d.into(),
            },
        }
    }

    async fn update(&self, ctx: &Ctx, data: &ProviderData, req: UpdateRequest<'_>) -> StateResult {
        let Some(id) = req.prior.get_str("id").map(str::to_owned) else {
            return StateResult {
                diagnostics: Diagnostic::error(
                    "Updating the device preparation policy",
                    "the state has no id",
                )
                .into(),
                ..Default::default()
            };
        };
        let desired = Desired::of(req.planned);
        let prior = Desired::of(req.prior);
        let mut diags = Diagnostics::new();

        if desired.settings_key() != prior.settings_key() {
            let new_scripts = new_ids(req.planned, req.prior, "allowed_script_ids");
            match settings_body(ctx, data, &desired, &new_scripts).await {
                Ok(settings) => {
                    let body = policy::put_body(
                        &desired.name,
                        &desired.description,
                        &desired.role_scope_tag_ids,
                        desired.settings.deployment_mode,
                        settings,
                    );
                    if let Err(d) = remote::replace(ctx, data, &id, &body).await {
                        diags.push(d);
                    }
                }
                Err(d) => diags.extend(d),
            }
        } else if (&desired.name, &desired.description, &desired.role_scope_tag_ids)
            != (&prior.name, &prior.description, &prior.role_scope_tag_ids)
        {
            let body = json!({
                "name": desired.name,
                "description": desired.description,
                "roleScopeTagIds": desired.role_scope_tag_ids,
            });
            if let Err(d) = remote::patch(ctx, data, &id, &body).await {
                diags.push(d);
            }
        }
        if !diags.has_error()
            && desired.device_group_id != prior.device_group_id
            && let Err(d) = remote::bind(ctx, data, &id, desired.device_group_id.as_deref()).await
        {
            diags.push(d);
        }
        if !diags.has_error()
            && sorted(desired.assigned_group_ids.clone()) != sorted(prior.assigned_group_ids.clone())
            && let Err(d) = remote::assign(ctx, data, &id, &desired.assigned_group_ids).await
        {
            diags.push(d);
        }
        finish(ctx, data, &id, req.planned, diags).await
    }

    async fn delete(&self, ctx: &Ctx, data: &ProviderData, req: DeleteRequest<'_>) -> Diagnostics {
        match req.prior.get_str("id") {
            Some(id) => match remote::delete(ctx, data, id).await {
                Ok(()) => Diagnostics::new(),
                Err(d) => d.into(),
            },
            None => Diagnostics::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::device_preparation_policy::policy::PolicyInfo;

    fn remote() -> Remote {
        let mut settings = PolicySettings::new(DeploymentMode::UserDriven);
        settings.allowed_app_ids = vec!["C3000000-0000-4000-8000-000000000001".into()];
        Remote {
            info: PolicyInfo::from_graph(&json!({
                "id": "p1", "name": "n", "roleScopeTagIds": [],
                "templateReference": {"templateId": catalog::TEMPLATE_USER_DRIVEN},
                "createdDateTime": "2026-01-01T00:00:00Z", "priorityMetaData": {"priority": 3}
            }))
            .unwrap(),
            settings,
            device_group_id: None,
            assigned_group_ids: vec!["g1".into()],
            warnings: Diagnostics::new(),
        }
    }

    #[test]
    fn state_matches_the_schema_and_round_trips_to_desired() {
        let schema = DevicePreparationPolicy.schema();
        let state = state_from(&remote(), &Value::Null);
        let names: Vec<&String> = schema.block.attributes.iter().map(|a| &a.name).collect();
        let Value::Object(m) = &state else { panic!("not an object") };
        let keys: Vec<&String> = m.keys().collect();
        assert_eq!(keys.len(), names.len(), "{keys:?}");
        assert!(names.iter().all(|n| m.contains_key(*n)));
        assert!(state.is_fully_known());
        let d = Desired::of(&state);
        assert_eq!(d.role_scope_tag_ids, ["0"]);
        assert_eq!(d.settings.allowed_app_ids, ["c3000000-0000-4000-8000-000000000001"]);
        assert_eq!(state.get_bool("is_assigned"), Some(true));
        assert_eq!(state.get_i64("priority"), Some(3));
    }

    #[test]
    fn settings_order_does_not_count_as_a_change() {
        let mut a = Desired::of(&state_from(&remote(), &Value::Null));
        let mut b = a.clone();
        a.settings.allowed_script_ids = vec!["x".into(), "y".into()];
        b.settings.allowed_script_ids = vec!["y".into(), "x".into()];
        assert_eq!(a.settings_key(), b.settings_key());
        b.settings.installation_timeout_minutes = 90;
        assert_ne!(a.settings_key(), b.settings_key());
    }

    #[test]
    fn ids_keep_the_configured_spelling_and_settle_trusts_the_write() {
        let mut r = remote();
        r.device_group_id = Some("c1000000-0000-4000-8000-0000000000d1".into());
        let carried = Value::object()
            .set("allowed_app_ids", Value::string_set(["C3000000-0000-4000-8000-000000000001"]))
            .set("device_group_id", "C1000000-0000-4000-8000-0000000000D1")
            .build();
        let state = state_from(&r, &carried);
        assert_eq!(
            state.get_string_set("allowed_app_ids").unwrap(),
            ["C3000000-0000-4000-8000-000000000001"]
        );
        assert_eq!(state.get_str("device_group_id"), Some("C1000000-0000-4000-8000-0000000000D1"));
        // A stale read-back (no device group yet, nothing assigned) after a successful write.
        let mut stale = remote();
        stale.assigned_group_ids.clear();
        stale.info.is_assigned = Some(false);
        let planned = state_from(&r, &carried);
        let settled = settle(state_from(&stale, &Value::Null), &planned);
        assert_eq!(settled.get_str("device_group_id"), Some("C1000000-0000-4000-8000-0000000000D1"));
        assert_eq!(settled.get_bool("is_assigned"), Some(true));
        assert_eq!(settled.get_str("created_date_time"), Some("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn fallback_state_has_no_unknowns() {
        let planned = Value::object()
            .set("id", Value::unknown())
            .set("priority", Value::unknown())
            .set("name", "n")
            .build();
        let state = fallback_state(&planned, "p9");
        assert!(state.is_fully_known());
        assert_eq!(state.get_str("id"), Some("p9"));
        assert_eq!(state.get_str("name"), Some("n"));
    }

    #[test]
    fn config_validation_points_at_attributes() {
        let config = Value::object()
            .set("name", "n")
            .set("deployment_mode", "user_driven")
            .set("installation_timeout_minutes", 5)
            .set(
                "allowed_app_ids",
                Value::string_set((0..26).map(|n| format!("00000000-0000-0000-0000-{n:012}"))),
            )
            .build();
        // As the server validates: attribute validators, then the resource's own checks.
        let mut diags =
            crate::framework::validate::validate_config(&DevicePreparationPolicy.schema(), &config);
        DevicePreparationPolicy.validate(&config, &mut diags);
        let paths: Vec<String> =
            diags.iter().filter(|d| d.is_error()).map(|d| format!("{:?}", d.path)).collect();
        assert_eq!(paths.len(), 2, "{diags:?}");
        assert!(paths[0].contains("installation_timeout_minutes"), "{paths:?}");
        assert!(paths[1].contains("allowed_app_ids"), "{paths:?}");
        // Unknown sets are not counted.
        let config = Value::object()
            .set("name", "n")
            .set("deployment_mode", "user_driven")
            .set("allowed_app_ids", Value::unknown())
            .build();
        let mut diags = Diagnostics::new();
        DevicePreparationPolicy.validate(&config, &mut diags);
        assert!(!diags.has_error(), "{diags:?}");
    }
}
