//! `autopilot_device_join_settings`: who may join devices to Microsoft Entra — the tenant's
//! device registration policy, a singleton that Graph only lets us replace whole.
//!
//! Create adopts the singleton (there is nothing to create) and remembers the values it found
//! in private state; destroy keeps the tenant as it is or restores those values
//! (`on_destroy`). Every write is GET → change only what the configuration sets → PUT the
//! whole body (see `policy`).

pub mod policy;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::framework::plan::state_with_id;
use crate::framework::plan_modifier::use_state_for_unknown;
use crate::framework::resource::{
    CreateRequest, Ctx, DeleteRequest, ImportResult, ModifyPlanRequest, ModifyPlanResponse, ReadRequest,
    Resource, StateResult, UpdateRequest,
};
use crate::framework::schema::Attribute;
use crate::framework::timeouts;
use crate::framework::validator::{each_element, int_between, one_of, uuid};
use crate::framework::{AttributePath, Diagnostic, Diagnostics, Schema, Type, Value};
use crate::graph::client::Api;
use crate::resources::ProviderData;
use crate::resources::errors::{Op, call_cx, graph_diagnostic};
use crate::resources::groups::identity::PROVISIONING_CLIENT_APP_ID;

use policy::{Echo, JoinSettings, Membership};

const TYPE_NAME: &str = "autopilot_device_join_settings";
const SINGLETON_ID: &str = "deviceRegistrationPolicy";
// Reads work on v1.0, but the only write is the beta PUT; reading beta keeps both sides on
// one schema version.
const POLICY_PATH: &str = "/policies/deviceRegistrationPolicy";
const READ_PERMISSION: &str = "Policy.Read.DeviceConfiguration";
const WRITE_PERMISSION: &str = "Policy.ReadWrite.DeviceConfiguration";
const DELEGATED_ROLE: &str = "Cloud Device Administrator";
const SCOPES: [&str; 3] = ["all", "selected", "none"];

/// The resource.
#[derive(Debug, Default)]
pub struct DeviceJoinSettings;

fn scope_attr(name: &str, description: &str) -> Attribute {
    Attribute::string(name).description(description).validator(one_of(&SCOPES))
}

fn id_set(name: &str, description: &str) -> Attribute {
    Attribute::set_of(name, Type::String).optional().description(description).validator(each_element(uuid()))
}

impl DeviceJoinSettings {
    fn op(action: &'static str, write: bool) -> Op<'static> {
        Op {
            action,
            permission: if write { WRITE_PERMISSION } else { READ_PERMISSION },
            delegated_role: write.then_some(DELEGATED_ROLE),
        }
    }
}

/// What the configuration manages; `None` = keep the tenant's current value.
#[derive(Debug, Default)]
struct Desired {
    allowed_to_join: Option<Membership>,
    user_device_quota: Option<i64>,
    require_mfa_to_join: Option<bool>,
    global_admins_are_local_admins: Option<bool>,
    registering_users_are_local_admins: Option<Membership>,
    local_admin_password_enabled: Option<bool>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = v
        .and_then(Value::elements)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn membership_from(config: &Value, scope: &str, users: &str, groups: &str) -> Option<Membership> {
    match config.attr(scope)?.as_str()? {
        "all" => Some(Membership::All),
        "none" => Some(Membership::None),
        "selected" => Some(Membership::Selected {
            users: strings(config.attr(users)),
            groups: strings(config.attr(groups)),
        }),
        _ => None,
    }
}

impl Desired {
    fn from_config(config: &Value) -> Self {
        Self {
            allowed_to_join: membership_from(config, "allowed_to_join", "allowed_users", "allowed_groups"),
            user_device_quota: config.attr("user_device_quota").and_then(Value::as_i64),
            require_mfa_to_join: config.attr("require_mfa_to_join").and_then(Value::as_bool),
            global_admins_are_local_admins: config
                .attr("global_admins_are_local_admins")
                .and_then(Value::as_bool),
            registering_users_are_local_admins: membership_from(
                config,
                "registering_users_are_local_admins",
                "local_admin_users",
                "local_admin_groups",
            ),
            local_admin_password_enabled: config
                .attr("local_admin_password_enabled")
                .and_then(Value::as_bool),
        }
    }

    /// The tenant's settings with what the configuration manages applied on top.
    fn apply_to(&self, current: &JoinSettings) -> JoinSettings {
        JoinSettings {
            allowed_to_join: self.allowed_to_join.clone().unwrap_or_else(|| current.allowed_to_join.clone()),
            user_device_quota: self.user_device_quota.unwrap_or(current.user_device_quota),
            require_mfa_to_join: self.require_mfa_to_join.unwrap_or(current.require_mfa_to_join),
            global_admins_are_local_admins: self
                .global_admins_are_local_admins
                .unwrap_or(current.global_admins_are_local_admins),
            registering_users_are_local_admins: self
                .registering_users_are_local_admins
                .clone()
                .unwrap_or_else(|| current.registering_users_are_local_admins.clone()),
            local_admin_password_enabled: self
                .local_admin_password_enabled
                .unwrap_or(current.local_admin_password_enabled),
        }
    }
}

fn set_value(ids: &[String]) -> Value {
    Value::Set(ids.iter().map(|s| Value::String(s.clone())).collect())
}

/// Users/groups of a scope: the list when selected, null otherwise. An empty list stays null
/// when the configuration (or prior state) has it null, so `allowed_groups = [...]` without
/// `allowed_users` does not read back as `allowed_users = []`.
fn selected_lists(m: &Membership, carried: &Value, users_attr: &str, groups_attr: &str) -> (Value, Value) {
    let list = |ids: &[String], attr: &str| {
        if ids.is_empty() && carried.attr(attr).is_none_or(Value::is_null) {
            Value::Null
        } else {
            set_value(ids)
        }
    };
    match m {
        Membership::Selected { users, groups } => (list(users, users_attr), list(groups, groups_attr)),
        _ => (Value::Null, Value::Null),
    }
}

/// Build the state from the tenant's settings, carrying the provider-only attributes over.
fn state_from(settings: &JoinSettings, carried: &Value) -> Value {
    let (users, groups) =
        selected_lists(&settings.allowed_to_join, carried, "allowed_users", "allowed_groups");
    let (admin_users, admin_groups) = selected_lists(
        &settings.registering_users_are_local_admins,
        carried,
        "local_admin_users",
        "local_admin_groups",
    );
    let mut m = BTreeMap::new();
    m.insert("id".to_owned(), Value::from(SINGLETON_ID));
    m.insert("allowed_to_join".to_owned(), Value::from(settings.allowed_to_join.name()));
    m.insert("allowed_users".to_owned(), users);
    m.insert("allowed_groups".to_owned(), groups);
    m.insert("user_device_quota".to_owned(), Value::from(settings.user_device_quota));
    m.insert("require_mfa_to_join".to_owned(), Value::from(settings.require_mfa_to_join));
    m.insert(
        "global_admins_are_local_admins".to_owned(),
        Value::from(settings.global_admins_are_local_admins),
    );
    m.insert(
        "registering_users_are_local_admins".to_owned(),
        Value::from(settings.registering_users_are_local_admins.name()),
    );
    m.insert("local_admin_users".to_owned(), admin_users);
    m.insert("local_admin_groups".to_owned(), admin_groups);
    m.insert("local_admin_password_enabled".to_owned(), Value::from(settings.local_admin_password_enabled));
    let on_destroy = carried.attr("on_destroy").filter(|v| v.as_str().is_some()).cloned();
    m.insert("on_destroy".to_owned(), on_destroy.unwrap_or_else(|| Value::from("keep")));
    m.insert("timeouts".to_owned(), carried.attr("timeouts").cloned().unwrap_or(Value::Null));
    Value::Object(m)
}

/// Private state: the policy as it was when this resource adopted it (for `restore`).
fn encode_private(original: &JoinSettings, echo: &Echo) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "original": policy::put_body(original, echo) }))
        .unwrap_or_default()
}

fn decode_private(bytes: &[u8]) -> Option<JoinSettings> {
    let v: Json = serde_json::from_slice(bytes).ok()?;
    policy::parse(v.get("original")?).ok().map(|(s, _)| s)
}

async fn get_policy(
    ctx: &Ctx,
    data: &ProviderData,
    action: &'static str,
) -> Result<(JoinSettings, Echo), Diagnostic> {
    let cx = call_cx(ctx);
    let body: Json = data
        .graph
        .get_json_coalesced(&cx, Api::Beta, POLICY_PATH)
        .await
        .map_err(|e| graph_diagnostic(DeviceJoinSettings::op(action, false), &e))?;
    policy::parse(&body).map_err(|e| {
        Diagnostic::error(
            action,
            format!("{e}. The tenant returned a policy shape this provider does not know; please report it."),
        )
    })
}

async fn put_policy(
    ctx: &Ctx,
    data: &ProviderData,
    settings: &JoinSettings,
    echo: &Echo,
    action: &'static str,
) -> Result<JoinSettings, Diagnostic> {
    let cx = call_cx(ctx);
    let body = policy::put_body(settings, echo);
    let answer: Json = data
        .graph
        .put_json(&cx, Api::Beta, POLICY_PATH, &body)
        .await
        .map_err(|e| graph_diagnostic(DeviceJoinSettings::op(action, true), &e))?;
    // The PUT answers with the stored policy; reading it back could return a stale copy.
    match policy::parse(&answer) {
        Ok((s, _)) => Ok(s),
        Err(_) => Ok(settings.clone()),
    }
}

/// Adopt-or-update: the same steps for create and update.
async fn write(
    ctx: &Ctx,
    data: &ProviderData,
    config: &Value,
    planned: &Value,
    private: Option<Vec<u8>>,
) -> StateResult {
    let action = "Updating the device registration policy";
    let (current, echo) = match get_policy(ctx, data, action).await {
        Ok(v) => v,
        Err(d) => return StateResult { diagnostics: d.into(), ..Default::default() },
    };
    let private = private.unwrap_or_else(|| encode_private(&current, &echo));
    let desired = Desired::from_config(config).apply_to(&current);
    if desired == current {
        return StateResult {
            state: Some(state_from(&current, planned)),
            private,
            diagnostics: Diagnostics::new(),
        };
    }
    match put_policy(ctx, data, &desired, &echo, action).await {
        Ok(stored) => StateResult {
            state: Some(state_from(&stored, planned)),
            private,
            diagnostics: Diagnostics::new(),
        },
        // Nothing changed in the tenant when the PUT fails: record what is there.
        Err(d) => StateResult { state: Some(state_from(&current, planned)), private, diagnostics: d.into() },
    }
}

fn validate_scope(config: &Value, scope: &str, users: &str, groups: &str, diags: &mut Diagnostics) {
    let Some(Value::String(s)) = config.attr(scope) else { return };
    let is_set = |name: &str| matches!(config.attr(name), Some(v) if !v.is_null());
    let non_empty = |name: &str| match config.attr(name) {
        Some(Value::Set(e)) => !e.is_empty(),
        Some(Value::Unknown(_)) => true,
        _ => false,
    };
    if s == "selected" {
        if !non_empty(users) && !non_empty(groups) {
            diags.attribute_error(
                AttributePath::new(scope),
                "Selected needs users or groups",
                format!("{scope} = \"selected\" needs at least one id in {users} or {groups}."),
            );
        }
    } else {
        for name in [users, groups] {
            if is_set(name) {
                diags.attribute_error(
                    AttributePath::new(name),
                    "Only valid with \"selected\"",
                    format!("{name} applies only when {scope} = \"selected\" (it is {s:?})."),
                );
            }
        }
    }
}

/// Ids that changed between prior state and config for one attribute (plan-time lookups
/// run only for those, so an unchanged configuration costs no extra request).
fn new_ids(config: &Value, prior: &Value, name: &str) -> Vec<String> {
    let before = strings(prior.attr(name));
    strings(config.attr(name)).into_iter().filter(|id| !before.contains(id)).collect()
}

/// Microsoft's steps: the groups allowed to join must hold users; a group owned by the Intune
/// Provisioning Client is a device preparation *device* group.
fn warn_device_group(resp: &mut ModifyPlanResponse, attr: &str, id: &str) {
    resp.diagnostics.attribute_warning(
        AttributePath::new(attr).set_element(Value::from(id)),
        "Group of devices allowed to join",
        format!(
            "Group {id} is owned by the Intune Provisioning Client, so it is a device preparation device group. \
             Users allowed to join devices must be in a group of users (Microsoft's device preparation steps)."
        ),
    );
}

#[async_trait]
impl Resource<ProviderData> for DeviceJoinSettings {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let mut s = Schema::default();
        s.block.description = "Who may join devices to Microsoft Entra (\"Users may join devices to Microsoft Entra\": \
            all, selected users and groups, or none), and the related device registration settings of the tenant.\n\n\
            This is a **tenant-wide singleton** (Graph's device registration policy): manage it from one Terraform \
            state only. Creating the resource adopts the existing policy; attributes you leave unset keep the \
            tenant's current values. Every change reads the whole policy and writes it back whole, so values you \
            do not manage (such as the device quota) are never reset.\n\n\
            Requires the Microsoft Graph application permission `Policy.ReadWrite.DeviceConfiguration` \
            (delegated use also needs the Cloud Device Administrator role). Microsoft's steps note that selected \
            groups must hold users, not devices."
            .into();
        s.block.attributes = vec![
            Attribute::string("id")
                .computed()
                .description("Always `deviceRegistrationPolicy`.")
                .plan_modifier(use_state_for_unknown()),
            scope_attr("allowed_to_join", "Who may join devices to Microsoft Entra: `all`, `selected` or `none`.")
                .required(),
            id_set("allowed_users", "Object ids of users allowed to join devices; only with `allowed_to_join = \"selected\"`."),
            id_set("allowed_groups", "Object ids of groups of users allowed to join devices; only with `allowed_to_join = \"selected\"`."),
            Attribute::number("user_device_quota")
                .optional()
                .computed()
                .description("Maximum number of devices a user may join or register. Unset keeps the tenant's value.")
                .validator(int_between(0, 2_147_483_647)),
            Attribute::bool("require_mfa_to_join")
                .optional()
                .computed()
                .description("Require multifactor authentication to register or join devices. Unset keeps the tenant's value."),
            Attribute::bool("global_admins_are_local_admins")
                .optional()
                .computed()
                .description("Global administrators are added as local administrators on joined devices. Unset keeps the tenant's value."),
            scope_attr(
                "registering_users_are_local_admins",
                "Which registering users become local administrators of the device they join: `all`, `selected` or `none`. Unset keeps the tenant's value.",
            )
            .optional()
            .computed(),
            id_set("local_admin_users", "Users made local administrators; only with `registering_users_are_local_admins = \"selected\"`."),
            id_set("local_admin_groups", "Groups made local administrators; only with `registering_users_are_local_admins = \"selected\"`."),
            Attribute::bool("local_admin_password_enabled")
                .optional()
                .computed()
                .description("Enable Microsoft Entra Local Administrator Password Solution (LAPS). Unset keeps the tenant's value."),
            Attribute::string("on_destroy")
                .default_value("keep")
                .description(
                    "What `terraform destroy` does: `keep` leaves the tenant as it is (the default: a tenant-wide \
                     security setting should not change as a side effect of removing a module), `restore` writes back \
                     the values this resource found when it adopted the policy.",
                )
                .validator(one_of(&["keep", "restore"])),
            timeouts::block(&["create", "read", "update", "delete"]),
        ];
        s
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate_scope(config, "allowed_to_join", "allowed_users", "allowed_groups", diags);
        validate_scope(
            config,
            "registering_users_are_local_admins",
            "local_admin_users",
            "local_admin_groups",
            diags,
        );
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
        let mut checks: Vec<(&str, &str, Vec<String>)> = Vec::new();
        for (attr, kind) in [
            ("allowed_users", "user"),
            ("allowed_groups", "group"),
            ("local_admin_users", "user"),
            ("local_admin_groups", "group"),
        ] {
            let ids = new_ids(req.config, req.prior, attr);
            if !ids.is_empty() {
                checks.push((attr, kind, ids));
            }
        }
        // Groups this apply created moments ago are known without a lookup (a replica may not
        // show them yet): a group, and a device group if the provisioning client owns it.
        for (attr, kind, ids) in &mut checks {
            ids.retain(|id| {
                let Some(created) = data.created_groups.recall(id) else {
                    return true;
                };
                if *kind != "group" {
                    resp.diagnostics.attribute_error(
                        AttributePath::new(*attr).set_element(Value::from(id.as_str())),
                        format!("Not a {kind}"),
                        format!("{attr} contains {id}, which is a group, not a {kind}."),
                    );
                } else if created.owned_by_provisioning_client && *attr == "allowed_groups" {
                    warn_device_group(resp, attr, id);
                }
                false
            });
        }
        checks.retain(|(_, _, ids)| !ids.is_empty());
        if checks.is_empty() {
            return;
        }
        let all: Vec<String> = checks.iter().flat_map(|(_, _, ids)| ids.clone()).collect();
        // Microsoft's steps: the groups allowed to join must hold users. A group owned by the
        // Intune Provisioning Client is a device preparation *device* group: warn. The owners
        // are read together with the kinds (one `$batch`); for an id that turns out not to be
        // a group the owner read fails and is ignored.
        let new_groups: Vec<(&str, String)> = checks
            .iter()
            .filter(|(attr, _, _)| *attr == "allowed_groups")
            .flat_map(|(attr, _, ids)| ids.iter().map(|id| (*attr, id.clone())))
            .collect();
        let cx = call_cx(ctx);
        let owner_reads = new_groups.iter().map(|(_, id)| {
            let path = format!("/groups/{}/owners?$select=id,appId", crate::graph::odata::path_segment(id));
            let cx = &cx;
            async move { data.graph.get_json_coalesced::<Json>(cx, Api::V1, &path).await }
        });
        let (found, owners) = futures::join!(
            crate::resources::directory::objects_by_ids(ctx, data, &all),
            futures::future::join_all(owner_reads)
        );
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                // A lookup failure must not block the plan; the apply will report Graph's answer.
                resp.diagnostics.warning("Could not check referenced users and groups", e.to_string());
                return;
            }
        };
        for ((attr, id), owners) in new_groups.iter().zip(owners) {
            let is_group = found.get(id).is_some_and(|k| k == "group");
            let is_device_group = is_group
                && owners.ok().is_some_and(|o| {
                    o["value"].as_array().is_some_and(|list| {
                        list.iter().any(|owner| owner["appId"].as_str() == Some(PROVISIONING_CLIENT_APP_ID))
                    })
                });
            if is_device_group && *attr == "allowed_groups" {
                warn_device_group(resp, attr, id);
            }
        }
        for (attr, kind, ids) in checks {
            for id in ids {
                match found.get(&id) {
                    None => resp.diagnostics.attribute_error(
                        AttributePath::new(attr).set_element(Value::from(id.as_str())),
                        format!("No such {kind}"),
                        format!("{attr} contains {id}, which is not a {kind} in this tenant."),
                    ),
                    Some(t) if t != kind => resp.diagnostics.attribute_error(
                        AttributePath::new(attr).set_element(Value::from(id.as_str())),
                        format!("Not a {kind}"),
                        format!("{attr} contains {id}, which is a {t}, not a {kind}."),
                    ),
                    Some(_) => {}
                }
            }
        }
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest<'_>) -> StateResult {
        write(ctx, data, req.config, req.planned, None).await
    }

    async fn read(&self, ctx: &Ctx, data: &ProviderData, req: ReadRequest<'_>) -> StateResult {
        match get_policy(ctx, data, "Reading the device registration policy").await {
            Ok((current, _)) => StateResult {
                state: Some(state_from(&current, req.current)),
                private: req.private.to_vec(),
                diagnostics: Diagnostics::new(),
            },
            Err(d) => StateResult {
                state: Some(req.current.clone()),
                private: req.private.to_vec(),
                diagnostics: d.into(),
            },
        }
    }

    async fn update(&self, ctx: &Ctx, data: &ProviderData, req: UpdateRequest<'_>) -> StateResult {
        let private = (!req.planned_private.is_empty()).then(|| req.planned_private.to_vec());
        write(ctx, data, req.config, req.planned, private).await
    }

    async fn delete(&self, ctx: &Ctx, data: &ProviderData, req: DeleteRequest<'_>) -> Diagnostics {
        if req.prior.attr("on_destroy").and_then(Value::as_str) != Some("restore") {
            return Diagnostics::new();
        }
        let action = "Restoring the device registration policy";
        let Some(original) = decode_private(req.private) else {
            return Diagnostic::warning(
                action,
                "No original values were recorded (the policy was imported, or adopted by an older version), so the tenant was left as it is.",
            )
            .into();
        };
        let (current, echo) = match get_policy(ctx, data, action).await {
            Ok(v) => v,
            Err(d) => return d.into(),
        };
        if current == original {
            return Diagnostics::new();
        }
        match put_policy(ctx, data, &original, &echo, action).await {
            Ok(_) => Diagnostics::new(),
            Err(d) => d.into(),
        }
    }

    async fn import(&self, _ctx: &Ctx, _data: &ProviderData, id: &str) -> ImportResult {
        if id != SINGLETON_ID {
            return ImportResult {
                diagnostics: Diagnostic::error(
                    "Invalid import id",
                    format!("The device registration policy is a singleton: import it with the id {SINGLETON_ID:?}, not {id:?}."),
                )
                .into(),
                ..Default::default()
            };
        }
        // Only the id: `read` fills in the rest; on_destroy gets its default so the plan after
        // an import is empty.
        let mut state = state_with_id(&self.schema(), SINGLETON_ID);
        state.set_attr("on_destroy", "keep");
        ImportResult { state: Some(state), ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use wiremock::MockServer;

    use super::*;
    use crate::framework::resource::{ModifyPlanRequest, ModifyPlanResponse};
    use crate::framework::value::ObjectBuilder;
    use crate::resources::groups::created::CreatedGroup;
    use crate::resources::testkit::{ctx, provider_data};

    async fn plan_with_groups(data: &ProviderData, groups: &[&str]) -> ModifyPlanResponse {
        let config = ObjectBuilder::for_schema(&DeviceJoinSettings.schema())
            .set("allowed_to_join", "selected")
            .set("allowed_groups", Value::string_set(groups.iter().copied()))
            .build();
        let mut resp = ModifyPlanResponse {
            planned: config.clone(),
            planned_private: Vec::new(),
            requires_replace: Vec::new(),
            diagnostics: Diagnostics::new(),
        };
        let req = ModifyPlanRequest { config: &config, prior: &Value::Null, prior_private: &[] };
        DeviceJoinSettings.modify_plan(&ctx(), Some(data), req, &mut resp).await;
        resp
    }

    #[tokio::test]
    async fn groups_this_apply_created_are_checked_without_a_lookup() {
        // No mocks: any request gets a 404 and the check would report the group missing.
        let server = MockServer::start().await;
        let data = provider_data(&server.uri());
        let users = "5a000000-0000-4000-8000-000000000001";
        let devices = "5a000000-0000-4000-8000-000000000002";
        data.created_groups.remember(users, CreatedGroup { owned_by_provisioning_client: false });
        data.created_groups.remember(devices, CreatedGroup { owned_by_provisioning_client: true });
        let resp = plan_with_groups(&data, &[users, devices]).await;
        assert!(!resp.diagnostics.has_error(), "{:?}", resp.diagnostics);
        let warnings: Vec<&str> = resp.diagnostics.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(warnings, ["Group of devices allowed to join"], "the device group is still pointed out");
        assert!(server.received_requests().await.unwrap().is_empty(), "no lookup");

        // A group this client did not create is looked up (and here not found).
        let other = "5a000000-0000-4000-8000-000000000003";
        let resp = plan_with_groups(&data, &[other]).await;
        assert!(!server.received_requests().await.unwrap().is_empty());
        assert!(resp.diagnostics.iter().any(|d| d.is_error() || d.summary.starts_with("Could not check")));
    }
}
