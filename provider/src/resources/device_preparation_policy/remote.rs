//! The Graph calls of the resource: the policy itself, its settings, the device group binding,
//! the user-group assignments, and the lookups of referenced apps, scripts and groups.
//!
//! Every function returns a ready [`Diagnostic`] on failure (built at the one boundary,
//! [`graph_diagnostic`]) so the resource only decides what to keep in state.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::app_type::{self, AppType};
use super::assignments;
use super::catalog::Template;
use super::membership::{self, MembershipError, MembershipResult, TargetValidationError};
use super::model::PolicySettings;
use super::policy::PolicyInfo;
use crate::framework::resource::Ctx;
use crate::framework::{AttributePath, Diagnostic, Diagnostics, Value};
use crate::graph::client::Api;
use crate::graph::consistency::retry_not_found;
use crate::graph::odata::{Query, path_segment};
use crate::graph::{CallCx, Error, ErrorKind, GraphRequest, Method};
use crate::resources::ProviderData;
use crate::resources::errors::{Op, call_cx, graph_diagnostic};

/// Collection path of settings-catalog policies (beta only).
pub const POLICIES: &str = "/deviceManagement/configurationPolicies";
/// Least-privileged application permission for reads.
pub const READ_PERMISSION: &str = "DeviceManagementConfiguration.Read.All";
/// Application permission for every write (policy, binding, assignment).
pub const WRITE_PERMISSION: &str = "DeviceManagementConfiguration.ReadWrite.All";
const APPS_READ_PERMISSION: &str = "DeviceManagementApps.Read.All";
const GROUP_READ_PERMISSION: &str = "GroupMember.Read.All";
/// Intune role a delegated (Azure CLI) user needs for every write here.
pub const DELEGATED_ROLE: &str = "Intune Administrator";
/// How often a binding refused with `securityGroupNotFound` is retried (Entra → Intune lag).
const BIND_ATTEMPTS: u32 = 6;
const BIND_RETRY_DELAY: Duration = Duration::from_secs(5);
/// Waits between lookups for a policy whose create went unanswered.
const LOOKUP_DELAYS: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(2), Duration::ZERO];

/// What Graph holds for one policy, in the resource's terms.
#[derive(Debug)]
pub struct Remote {
    pub info: PolicyInfo,
    pub settings: PolicySettings,
    pub device_group_id: Option<String>,
    pub assigned_group_ids: Vec<String>,
    /// Things worth telling the user that do not stop the read.
    pub warnings: Diagnostics,
}

/// The error context of a policy call.
pub fn op(action: &str, write: bool) -> Op<'_> {
    Op {
        action,
        permission: if write { WRITE_PERMISSION } else { READ_PERMISSION },
        delegated_role: write.then_some(DELEGATED_ROLE),
    }
}

fn policy_path(id: &str) -> String {
    format!("{POLICIES}/{}", path_segment(id))
}

fn shape_error(action: &str, detail: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(
        action.to_owned(),
        format!(
            "{detail}. The tenant returned a policy this provider version cannot manage; please report it."
        ),
    )
}

/// The whole policy as Graph holds it; `Ok(None)` when it no longer exists.
pub async fn read(ctx: &Ctx, data: &ProviderData, id: &str) -> Result<Option<Remote>, Diagnostic> {
    let action = "Reading the device preparation policy";
    let cx = call_cx(ctx);
    let path = policy_path(id);
    // The four reads are independent: issued together they share one `$batch` (with the reads
    // of other resources refreshing at the same time).
    let settings_path = Query::new().expand("settingDefinitions").to_path(&format!("{path}/settings"));
    let target_path = format!("{path}/{}", membership::RETRIEVE_ACTION);
    let assignments_path = format!("{path}/assignments");
    let (policy, items, target, assignment_items) = futures::join!(
        data.graph.get_json_coalesced::<Json>(&cx, Api::Beta, &path),
        data.graph.list_all_coalesced::<Json>(&cx, Api::Beta, &settings_path),
        data.graph.post_read_coalesced::<Json>(&cx, Api::Beta, &target_path, None),
        data.graph.list_all_coalesced::<Json>(&cx, Api::Beta, &assignments_path),
    );
    let policy = match policy {
        Ok(p) => p,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(graph_diagnostic(op(action, false), &e)),
    };
    let info = PolicyInfo::from_graph(&policy).map_err(|e| shape_error(action, e))?;
    let items = items.map_err(|e| graph_diagnostic(op(action, false), &e))?;
    let page = json!({ "value": items });
    let settings = PolicySettings::from_graph_settings_for(info.mode.template(), &[&page])
        .map_err(|e| shape_error(action, e))?;

    let mut warnings = Diagnostics::new();
    let target = target.map_err(|e| graph_diagnostic(op(action, false), &e))?;
    let result = MembershipResult::from_graph(&target).map_err(|e| shape_error(action, e))?;
    if let Some(problem) = result.rejection() {
        warnings.push(
            Diagnostic::warning(
                "The device group of the device preparation policy no longer validates",
                format!(
                    "{problem}. Devices will not be added to the group during deployment until this is fixed."
                ),
            )
            .at(AttributePath::new("device_group_id")),
        );
    }
    let device_group_id = match result.statuses.len() {
        0 => None,
        1 => result.statuses.first().map(|s| s.target_id.to_ascii_lowercase()),
        n => return Err(shape_error(action, MembershipError::SeveralTargets(n))),
    };

    let items = assignment_items.map_err(|e| graph_diagnostic(op(action, false), &e))?;
    let targets = assignments::parse_assignments(&Json::Array(items)).map_err(|e| shape_error(action, e))?;
    let mut assigned_group_ids = Vec::new();
    for target in &targets {
        match assignments::assigned_group_ids(std::slice::from_ref(target)) {
            Ok(ids) => assigned_group_ids.extend(ids.into_iter().map(|i| i.to_ascii_lowercase())),
            Err(e) => warnings.push(
                Diagnostic::warning(
                    "The device preparation policy has an unmanaged assignment",
                    e.to_string(),
                )
                .at(AttributePath::new("assigned_group_ids")),
            ),
        }
    }
    Ok(Some(Remote { info, settings, device_group_id, assigned_group_ids, warnings }))
}

/// `read`, retrying while a just-created policy is not yet visible.
pub async fn read_after_write(ctx: &Ctx, data: &ProviderData, id: &str) -> Result<Remote, Diagnostic> {
    let cx = call_cx(ctx);
    let mut delay = Duration::from_millis(500);
    loop {
        match read(ctx, data, id).await? {
            Some(remote) => return Ok(remote),
            None if !cx.would_exceed(delay) => {
                if cx.sleep(delay).await.is_err() {
                    break;
                }
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            None => break,
        }
    }
    Err(Diagnostic::error(
        "Reading the device preparation policy",
        format!(
            "policy {id} was written but cannot be read back before the deadline (Intune replication delay)"
        ),
    ))
}

/// POST an action with an optional body. Actions that replace state (set target, assign)
/// and read actions are safe to repeat after a dropped connection.
async fn send_action(
    cx: &CallCx,
    data: &ProviderData,
    path: &str,
    body: Option<&Json>,
) -> Result<Json, Error> {
    let mut req = GraphRequest::new(Method::POST, Api::Beta, path).idempotent(true);
    if let Some(body) = body {
        req = req.json(body)?;
    }
    data.graph.send(cx, req).await?.json()
}

/// Create the policy. A POST whose answer was lost (or timed out) may have created it: look
/// for it by name and template before reporting a failure, so a retry never makes a duplicate.
pub async fn create(
    ctx: &Ctx,
    data: &ProviderData,
    body: &Json,
    name: &str,
    template: Template,
) -> Result<PolicyInfo, Diagnostic> {
    let action = format!("Creating device preparation policy {name:?}");
    let cx = call_cx(ctx);
    let started = time_now();
    match data.graph.post_json::<_, Json>(&cx, Api::Beta, POLICIES, body).await {
        Ok(created) => PolicyInfo::from_graph(&created).map_err(|e| shape_error(&action, e)),
        Err(e) if e.is_ambiguous() || e.kind == ErrorKind::Timeout => {
            // The call's own deadline may be spent: give the lookup a short one of its own.
            let lookup = CallCx::new(cx.cancel.clone(), Some(Instant::now() + Duration::from_secs(60)));
            // A policy created a moment ago may not be listed yet: look a few times.
            for delay in LOOKUP_DELAYS {
                if let Ok(Some(found)) = find_by_name(&lookup, data, name, template, &started).await {
                    tracing::info!(id = %found.id, "adopted the policy created by an unanswered POST");
                    return Ok(found);
                }
                if lookup.sleep(delay).await.is_err() {
                    break;
                }
            }
            Err(graph_diagnostic(op(&action, true), &e))
        }
        Err(e) => Err(graph_diagnostic(op(&action, true), &e)),
    }
}

fn time_now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The newest policy with this name and template created since about `since` (clock skew
/// allowed), if any.
async fn find_by_name(
    cx: &CallCx,
    data: &ProviderData,
    name: &str,
    template: Template,
    since: &str,
) -> Result<Option<PolicyInfo>, Error> {
    let path = Query::new().select(&["id", "name", "templateReference", "createdDateTime"]).to_path(POLICIES);
    let items: Vec<Json> = data.graph.list_all(cx, Api::Beta, &path).await?;
    let floor = shift_rfc3339(since, -300);
    let mut found: Vec<PolicyInfo> = items
        .iter()
        .filter_map(|p| PolicyInfo::from_graph(p).ok())
        .filter(|p| p.name == name && p.mode.template() == template)
        .filter(|p| match (&p.created_date_time, &floor) {
            (Some(created), Some(floor)) => created.as_str() >= floor.as_str(),
            _ => true,
        })
        .collect();
    found.sort_by(|a, b| a.created_date_time.cmp(&b.created_date_time));
    Ok(found.pop())
}

/// `t` moved by `seconds`, in the same RFC 3339 UTC form Graph uses (for string comparison).
fn shift_rfc3339(t: &str, seconds: i64) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let parsed = time::OffsetDateTime::parse(t, &Rfc3339).ok()?;
    (parsed + time::Duration::seconds(seconds)).format(&Rfc3339).ok()
}

/// Replace the policy (name, description, scope tags and settings) with a PUT.
pub async fn replace(ctx: &Ctx, data: &ProviderData, id: &str, body: &Json) -> Result<(), Diagnostic> {
    let cx = call_cx(ctx);
    let req = GraphRequest::new(Method::PUT, Api::Beta, policy_path(id)).json(body);
    let result = match req {
        Ok(req) => data.graph.send(&cx, req).await.map(|_| ()),
        Err(e) => Err(e),
    };
    result.map_err(|e| graph_diagnostic(op("Updating the device preparation policy settings", true), &e))
}

/// Change only name, description and scope tags.
pub async fn patch(ctx: &Ctx, data: &ProviderData, id: &str, body: &Json) -> Result<(), Diagnostic> {
    let cx = call_cx(ctx);
    let req = GraphRequest::new(Method::PATCH, Api::Beta, policy_path(id)).json(body);
    let result = match req {
        Ok(req) => data.graph.send(&cx, req).await.map(|_| ()),
        Err(e) => Err(e),
    };
    result.map_err(|e| graph_diagnostic(op("Updating the device preparation policy", true), &e))
}

/// Delete the policy; already gone counts as done.
pub async fn delete(ctx: &Ctx, data: &ProviderData, id: &str) -> Result<(), Diagnostic> {
    let cx = call_cx(ctx);
    match data.graph.delete(&cx, Api::Beta, &policy_path(id)).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(graph_diagnostic(op("Deleting the device preparation policy", true), &e)),
    }
}

/// Bind the device group (or, with `None`, remove the binding).
pub async fn bind(ctx: &Ctx, data: &ProviderData, id: &str, group: Option<&str>) -> Result<(), Diagnostic> {
    let cx = call_cx(ctx);
    let path = policy_path(id);
    let Some(group) = group else {
        let action = "Removing the device group from the device preparation policy";
        return send_action(&cx, data, &format!("{path}/{}", membership::CLEAR_ACTION), None)
            .await
            .map(|_| ())
            .map_err(|e| graph_diagnostic(op(action, true), &e).at(AttributePath::new("device_group_id")));
    };
    let action = format!("Binding device group {group} to the device preparation policy");
    let body = membership::set_target_body(group);
    // A device group this apply created with the provisioning client as owner: until the owner
    // binding reaches Intune, it reports the owner missing; that is lag too.
    let owner_may_lag = data.created_groups.recall(group).is_some_and(|g| g.owned_by_provisioning_client);
    let mut attempt = 0;
    loop {
        attempt += 1;
        // A policy created a moment ago may not be visible to the action yet (404): wait.
        let set_path = format!("{path}/{}", membership::SET_ACTION);
        let answer = retry_not_found(&cx, || send_action(&cx, data, &set_path, Some(&body))).await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) if e.status == Some(500) => {
                let mut d = graph_diagnostic(op(&action, true), &e);
                d.detail.push_str(APP_ONLY_500_HINT);
                return Err(d.at(AttributePath::new("device_group_id")));
            }
            Err(e) => {
                return Err(graph_diagnostic(op(&action, true), &e).at(AttributePath::new("device_group_id")));
            }
        };
        let result = MembershipResult::from_graph(&answer).map_err(|e| shape_error(&action, e))?;
        match result.into_group_id() {
            Ok(_) => return Ok(()),
            Err(MembershipError::Rejected { error, .. })
                if (error.is_retryable()
                    || (owner_may_lag && error == TargetValidationError::FirstPartyAppNotAnOwner))
                    && attempt < BIND_ATTEMPTS
                    && !cx.would_exceed(BIND_RETRY_DELAY) =>
            {
                tracing::debug!(attempt, "device group not yet known to Intune; retrying the binding");
                if cx.sleep(BIND_RETRY_DELAY).await.is_err() {
                    return Err(rejected(&action, &error));
                }
            }
            Err(MembershipError::Rejected { error, .. }) => return Err(rejected(&action, &error)),
            Err(other) => {
                return Err(Diagnostic::error(action.clone(), other.to_string())
                    .at(AttributePath::new("device_group_id")));
            }
        }
    }
}

/// Shown when the binding call fails with 500 (graph-reference §5 "Known issue").
pub const APP_ONLY_500_HINT: &str = "\n\nIntune is known to answer setEnrollmentTimeDeviceMembershipTarget with 500 when \
     the caller authenticates as an application (client secret or certificate), while the same call succeeds \
     with delegated authentication. Run this apply signed in as a user with the Intune Administrator role \
     (provider `use_cli = true` after `az login`), or bind the device group once in the Intune admin center \
     and import the policy.";

fn rejected(action: &str, error: &TargetValidationError) -> Diagnostic {
    Diagnostic::error(
        action.to_owned(),
        format!("Intune rejected the device group: {}.", error.explanation()),
    )
    .at(AttributePath::new("device_group_id"))
}

/// Give the policy to exactly these user groups (`/assign` replaces every assignment).
pub async fn assign(ctx: &Ctx, data: &ProviderData, id: &str, groups: &[String]) -> Result<(), Diagnostic> {
    let cx = call_cx(ctx);
    let body = assignments::assign_body(groups);
    let assign_path = format!("{}/assign", policy_path(id));
    retry_not_found(&cx, || send_action(&cx, data, &assign_path, Some(&body))).await.map(|_| ()).map_err(
        |e| {
            graph_diagnostic(op("Assigning the device preparation policy to user groups", true), &e)
                .at(AttributePath::new("assigned_group_ids"))
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Lookups of referenced objects.
// ---------------------------------------------------------------------------------------------

/// What a lookup of one referenced id found.
#[derive(Debug)]
pub enum Lookup<T> {
    Found(T),
    Missing,
    /// The lookup itself failed (permission, network): not a verdict on the id.
    Failed(Error),
}

async fn get_optional(cx: &CallCx, data: &ProviderData, api: Api, path: &str) -> Lookup<Json> {
    match data.graph.get_json_coalesced::<Json>(cx, api, path).await {
        Ok(v) => Lookup::Found(v),
        Err(e) if e.is_not_found() => Lookup::Missing,
        Err(e) => Lookup::Failed(e),
    }
}

/// A mobile app's `@odata.type` (`$select=id` still returns it for derived types).
/// Answered from [`ProviderData::observed`] when this process has seen the app (its data source, an app
/// assignment's plan, an earlier lookup).
pub async fn app(cx: &CallCx, data: &ProviderData, id: &str) -> Lookup<Result<AppType, String>> {
    if let Some(odata_type) = data.observed.app_odata_type(id) {
        return Lookup::Found(
            AppType::from_odata_type(&odata_type)
                .map_err(|error| app_type::MobileAppError::Type { app_id: id.to_owned(), error }.to_string()),
        );
    }
    let path = format!("/deviceAppManagement/mobileApps/{}?$select=id", path_segment(id));
    match get_optional(cx, data, Api::Beta, &path).await {
        Lookup::Found(v) => {
            if let Some(odata_type) = v.get("@odata.type").and_then(Json::as_str) {
                data.observed.remember_app(id, odata_type);
            }
            Lookup::Found(app_type::from_mobile_app(&v).map(|(_, t)| t).map_err(|e| e.to_string()))
        }
        Lookup::Missing => Lookup::Missing,
        Lookup::Failed(e) => Lookup::Failed(e),
    }
}

/// Whether a PowerShell platform script exists; yes without a request when this process saw
/// it moments ago ([`ProviderData::observed`]: its data source, or its assignment's write).
pub async fn script(cx: &CallCx, data: &ProviderData, id: &str) -> Lookup<()> {
    if data.observed.script_seen(id) {
        return Lookup::Found(());
    }
    let path = format!("/deviceManagement/deviceManagementScripts/{}?$select=id", path_segment(id));
    match get_optional(cx, data, Api::Beta, &path).await {
        Lookup::Found(_) => {
            data.observed.remember_script(id);
            Lookup::Found(())
        }
        Lookup::Missing => Lookup::Missing,
        Lookup::Failed(e) => Lookup::Failed(e),
    }
}

/// The types of the allowed apps, needed to write the setting; every problem is an error on
/// `allowed_app_ids` (the apply-time counterpart of the plan-time check).
pub async fn app_types(
    ctx: &Ctx,
    data: &ProviderData,
    ids: &[String],
) -> Result<HashMap<String, AppType>, Diagnostics> {
    let cx = call_cx(ctx);
    let lookups = futures::future::join_all(ids.iter().map(|id| app(&cx, data, id))).await;
    let mut out = HashMap::new();
    let mut diags = Diagnostics::new();
    for (id, lookup) in ids.iter().zip(lookups) {
        let path = AttributePath::new("allowed_app_ids").set_element(Value::from(id.as_str()));
        match lookup {
            Lookup::Found(Ok(t)) => {
                out.insert(id.clone(), t);
            }
            Lookup::Found(Err(e)) => diags.push(Diagnostic::error("App type not supported", e).at(path)),
            Lookup::Missing => diags.push(
                Diagnostic::error(
                    "No such app",
                    format!("allowed_app_ids contains {id}, which is not an Intune app in this tenant."),
                )
                .at(path),
            ),
            Lookup::Failed(e) => diags.push(
                graph_diagnostic(
                    Op {
                        action: "Looking up an allowed app",
                        permission: APPS_READ_PERMISSION,
                        delegated_role: None,
                    },
                    &e,
                )
                .at(path),
            ),
        }
    }
    if diags.has_error() { Err(diags) } else { Ok(out) }
}

/// Check that the scripts exist (apply-time counterpart of the plan-time check).
pub async fn check_scripts(ctx: &Ctx, data: &ProviderData, ids: &[String]) -> Diagnostics {
    let cx = call_cx(ctx);
    let lookups = futures::future::join_all(ids.iter().map(|id| script(&cx, data, id))).await;
    let mut diags = Diagnostics::new();
    for (id, lookup) in ids.iter().zip(lookups) {
        let path = AttributePath::new("allowed_script_ids").set_element(Value::from(id.as_str()));
        match lookup {
            Lookup::Found(()) => {}
            Lookup::Missing => diags.push(
                Diagnostic::error(
                    "No such script",
                    format!("allowed_script_ids contains {id}, which is not a PowerShell platform script in this tenant."),
                )
                .at(path),
            ),
            Lookup::Failed(e) => diags.push(graph_diagnostic(op("Looking up an allowed script", false), &e).at(path)),
        }
    }
    diags
}

/// What a device group looks like to device preparation.
#[derive(Debug)]
pub struct GroupFacts {
    pub security_enabled: bool,
    pub dynamic: bool,
    pub owned_by_provisioning_client: bool,
}

/// The group's kind and whether the Intune Provisioning Client owns it.
pub async fn group_facts(cx: &CallCx, data: &ProviderData, id: &str) -> Lookup<GroupFacts> {
    let seg = path_segment(id);
    let group_path = format!("/groups/{seg}?$select=id,securityEnabled,groupTypes");
    let owners_path = format!("/groups/{seg}/owners?$select=id,appId");
    // Both at once: they share a `$batch`.
    let (group, owners) = futures::join!(
        get_optional(cx, data, Api::V1, &group_path),
        data.graph.list_all_coalesced::<Json>(cx, Api::V1, &owners_path)
    );
    let group = match group {
        Lookup::Found(g) => g,
        Lookup::Missing => return Lookup::Missing,
        Lookup::Failed(e) => return Lookup::Failed(e),
    };
    let owners: Vec<Json> = match owners {
        Ok(o) => o,
        Err(e) if e.is_not_found() => return Lookup::Missing,
        Err(e) => return Lookup::Failed(e),
    };
    let dynamic = group
        .get("groupTypes")
        .and_then(Json::as_array)
        .is_some_and(|t| t.iter().any(|t| t.as_str() == Some("DynamicMembership")));
    Lookup::Found(GroupFacts {
        security_enabled: group.get("securityEnabled").and_then(Json::as_bool).unwrap_or(false),
        dynamic,
        owned_by_provisioning_client: owners.iter().any(|o| {
            o.get("appId")
                .and_then(Json::as_str)
                .is_some_and(|a| a.eq_ignore_ascii_case(membership::INTUNE_PROVISIONING_CLIENT_APP_ID))
        }),
    })
}

/// The permission a failed group lookup needed (for the warning).
pub fn group_lookup_op() -> Op<'static> {
    Op { action: "Checking the device group", permission: GROUP_READ_PERMISSION, delegated_role: None }
}

/// The permission a failed app lookup needed.
pub fn app_lookup_op() -> Op<'static> {
    Op { action: "Checking the allowed apps", permission: APPS_READ_PERMISSION, delegated_role: None }
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
