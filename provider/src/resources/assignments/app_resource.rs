//! The `autopilot_app_assignment` resource: one assignment of an Intune app.
//!
//! Uses the one-at-a-time endpoints (`POST/PATCH/DELETE …/mobileApps/{id}/assignments[/{id}]`),
//! never the replace-all `/assign`, so assignments made elsewhere are never touched. Intent and
//! group changes replace the resource (Intune derives the assignment id from both); filter and
//! settings changes are PATCHed. Writes to one app are serialised by the per-app lock.

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::framework::plan_modifier::{requires_replace, use_state_for_unknown};
use crate::framework::resource::{
    CreateRequest, Ctx, DeleteRequest, ImportResult, ModifyPlanRequest, ModifyPlanResponse, ReadRequest,
    Resource, StateResult, UpdateRequest,
};
use crate::framework::schema::Attribute;
use crate::framework::timeouts;
use crate::framework::validator::{one_of, uuid};
use crate::framework::value::ObjectBuilder;
use crate::framework::{Diagnostic, Diagnostics, Schema, Value};
use crate::graph::client::Api;
use crate::graph::error::Error;
use crate::resources::ProviderData;
use crate::resources::errors::{Op, call_cx, graph_diagnostic};
use crate::resources::powershell_script::resource::{cfg_str, findings_to_diagnostics};

use super::app_model::{
    settings_from, settings_values, target_attribute, target_from, target_value, win32_attribute, win32_from,
    winget_attribute, winget_from,
};
use super::lookup::{MobileAppInfo, parse_import_id};
use super::remote::{PARENT_LOCKS, Parent, list, recently_written, stamp_written, wait_for};
use super::script_resource::target_config;
use super::settings::AppSettings;
use super::target::ApiVersion;
use super::validate::{AppAssignmentConfig, Cfg, check_app_compatibility, validate_app_assignment};
use super::wire::{AppAssignment, Found, Intent, ReadAppAssignment, find_owned};

const TYPE_NAME: &str = "autopilot_app_assignment";
const READ_PERMISSION: &str = "DeviceManagementApps.Read.All";
const WRITE_PERMISSION: &str = "DeviceManagementApps.ReadWrite.All";

/// The resource.
#[derive(Debug, Default)]
pub struct AppAssignmentResource;

fn op(action: &'static str, write: bool) -> Op<'static> {
    Op { action, permission: if write { WRITE_PERMISSION } else { READ_PERMISSION }, delegated_role: None }
}

fn fail(d: Diagnostic) -> StateResult {
    StateResult { diagnostics: d.into(), ..Default::default() }
}

/// GET the app (for its `@odata.type`). `Ok(None)` when it does not exist.
pub async fn get_app(
    ctx: &Ctx,
    data: &ProviderData,
    app_id: &str,
) -> Result<Option<MobileAppInfo>, Diagnostic> {
    let action = "Reading a mobile app";
    // No `$select`: whether it keeps `@odata.type` of derived app types is not documented.
    let path = Parent::App(app_id.to_owned()).path();
    match data.graph.get_json_coalesced::<Json>(&call_cx(ctx), Api::Beta, &path).await {
        Ok(body) => {
            MobileAppInfo::from_graph(&body).map(Some).map_err(|e| Diagnostic::error(action, e.to_string()))
        }
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(graph_diagnostic(op(action, false), &e)),
    }
}

/// [`get_app`] for the app's type (plan checks, create): answered from what this process has
/// seen ([`crate::resources::observed`]: the data source that found the app, or an earlier
/// lookup). An app's type never changes, and Terraform plans each assignment on its own: 50 apps
/// x 10 groups were 500 identical GETs per plan (1,000 per apply, which plans twice), now 50 at
/// most. A missing app is not remembered (it may be created next).
async fn app_type_info(
    ctx: &Ctx,
    data: &ProviderData,
    app_id: &str,
) -> Result<Option<MobileAppInfo>, Diagnostic> {
    if let Some(odata_type) = data.observed.app_odata_type(app_id) {
        return Ok(Some(MobileAppInfo::of_type(app_id, &odata_type)));
    }
    let found = get_app(ctx, data, app_id).await?;
    if let Some(app) = &found {
        data.observed.remember_app(&app.id, &app.odata_type);
    }
    Ok(found)
}

/// The assignment the configuration / plan asks for.
fn desired(v: &Value) -> Option<AppAssignment> {
    Some(AppAssignment {
        intent: Intent::parse(v.get_str("intent")?)?,
        target: target_from(v)?,
        settings: settings_from(v),
    })
}

/// State from what Graph holds; `carried` is the prior / planned object.
fn state_from(read: &ReadAppAssignment, app_id: &str, app_type: &str, carried: &Value) -> Value {
    let settings = AppSettings::reconcile(settings_from(carried).as_ref(), &read.settings);
    let (win32, winget) = settings_values(settings.as_ref());
    let mut target = read.target.clone();
    // Keep the configured spelling of ids that Graph returns in another case.
    if let Some(prior) = target_from(carried)
        && prior.same_as(&target)
    {
        target = prior;
    }
    ObjectBuilder::default()
        .set("id", read.id.as_str())
        .set("app_id", app_id)
        .set("app_type", app_type)
        .set("intent", read.intent.name())
        .set("target", target_value(&target))
        .set("win32_settings", win32)
        .set("winget_settings", winget)
        .set("timeouts", carried.attr("timeouts").cloned().unwrap_or(Value::Null))
        .build()
}

/// Checks needing the app type, as diagnostics.
fn compatibility(wanted: &AppAssignment, app: &MobileAppInfo) -> Diagnostics {
    let mut diags = Diagnostics::new();
    findings_to_diagnostics(
        check_app_compatibility(Some(wanted.intent), wanted.settings.as_ref(), &app.id, &app.odata_type),
        &mut diags,
    );
    diags
}

async fn create_locked(ctx: &Ctx, data: &ProviderData, app_id: &str, planned: &Value) -> StateResult {
    let action = "Assigning an app";
    let Some(wanted) = desired(planned) else {
        return fail(Diagnostic::error(action, "The intent or target is incomplete."));
    };
    let parent = Parent::App(app_id.to_owned());
    // The plan looked the app's type up moments ago (`app_type` is then known): no second GET
    // on the apply's critical path.
    let app = match planned.get_str("app_type") {
        Some(app_type) => MobileAppInfo::of_type(app_id, &format!("#microsoft.graph.{app_type}")),
        None => match app_type_info(ctx, data, app_id).await {
            Ok(Some(app)) => app,
            Ok(None) => return fail(Diagnostic::error(action, format!("The app {app_id} does not exist."))),
            Err(d) => return fail(d),
        },
    };
    let diags = compatibility(&wanted, &app);
    if diags.has_error() {
        return StateResult { diagnostics: diags, ..Default::default() };
    }
    let body = match wanted.to_graph(ApiVersion::Beta, app_id, &app.odata_type) {
        Ok(b) => b,
        Err(e) => return fail(Diagnostic::error(action, e.to_string())),
    };
    let key = wanted.target.key();
    // Create first, look only when Intune refuses: it keeps one assignment per app and target
    // and answers 400 for a second one (typically ours, from a create whose answer was lost).
    // Listing before every create was a round trip on the apply's critical path.
    let created: Result<Json, Error> = data
        .graph
        .post_json(&call_cx(ctx), Api::Beta, &format!("{}/assignments", parent.path()), &body)
        .await;
    match created {
        Ok(answer) => match ReadAppAssignment::from_graph(&answer) {
            Ok(read) => StateResult {
                state: Some(state_from(&read, app_id, &app.app_type, planned)),
                diagnostics: diags,
                ..Default::default()
            },
            Err(e) => fail(Diagnostic::error(action, e.to_string())),
        },
        Err(e) if e.is_not_found() => {
            fail(Diagnostic::error(action, format!("The app {app_id} does not exist.")))
        }
        Err(e) if e.is_bad_request() || e.is_conflict() => {
            adopt_existing(ctx, data, &parent, &key, &wanted, &body, &app, planned, &e).await
        }
        // The POST may have been applied (lost answer): look for it before reporting failure, so
        // the assignment is not left behind outside the state.
        Err(e) if e.is_ambiguous() => match wait_for(ctx, data, &parent, None, &key).await {
            Ok(Some(found)) => match ReadAppAssignment::from_graph(&found) {
                Ok(read) if read.intent == wanted.intent => StateResult {
                    state: Some(state_from(&read, app_id, &app.app_type, planned)),
                    diagnostics: diags,
                    ..Default::default()
                },
                _ => fail(graph_diagnostic(op(action, true), &e)),
            },
            _ => fail(graph_diagnostic(op(action, true), &e)),
        },
        Err(e) => fail(graph_diagnostic(op(action, true), &e)),
    }
}

/// After Intune refused the create with 400 (or 409): if the target already has an assignment of the
/// app with the same intent, adopt it and make its filter and settings match; with another
/// intent, say how to resolve it; otherwise the refusal stands.
#[allow(clippy::too_many_arguments)]
async fn adopt_existing(
    ctx: &Ctx,
    data: &ProviderData,
    parent: &Parent,
    key: &super::target::TargetKey,
    wanted: &AppAssignment,
    body: &Json,
    app: &MobileAppInfo,
    planned: &Value,
    refused: &Error,
) -> StateResult {
    let action = "Assigning an app";
    let app_id = app.id.as_str();
    let current = match list(ctx, data, parent).await {
        Ok(Some(items)) => items,
        Ok(None) => return fail(Diagnostic::error(action, format!("The app {app_id} does not exist."))),
        Err(_) => return fail(graph_diagnostic(op(action, true), refused)),
    };
    let (Found::ByTarget(i) | Found::ById(i)) = find_owned(&current, None, key) else {
        return fail(graph_diagnostic(op(action, true), refused));
    };
    let existing = match ReadAppAssignment::from_graph(&current[i]) {
        Ok(r) => r,
        Err(e) => return fail(Diagnostic::error(action, e.to_string())),
    };
    if existing.intent != wanted.intent {
        return fail(Diagnostic::error(
            action,
            format!(
                "The app is already assigned to this target with intent {:?} (assignment {}). Remove that \
                 assignment in Intune, or import it with `{app_id}/{}`.",
                existing.intent.name(),
                existing.id,
                existing.id
            ),
        ));
    }
    // Same target and intent: adopt it (typically a create whose answer was lost).
    patch_and_read(ctx, data, parent, &existing.id, body, app_id, &app.app_type, planned).await
}

#[allow(clippy::too_many_arguments)]
async fn patch_and_read(
    ctx: &Ctx,
    data: &ProviderData,
    parent: &Parent,
    assignment_id: &str,
    body: &Json,
    app_id: &str,
    app_type: &str,
    planned: &Value,
) -> StateResult {
    let action = "Updating an app assignment";
    let mut body = body.clone();
    if let Some(obj) = body.as_object_mut() {
        // The intent is part of the assignment's identity; it never changes in a PATCH.
        obj.remove("intent");
    }
    let patched: Result<Json, Error> =
        data.graph.patch_json(&call_cx(ctx), Api::Beta, &parent.assignment_path(assignment_id), &body).await;
    match patched {
        // Intune answers 200 with the assignment: trust it rather than a list that a lagging
        // replica may answer with the old settings.
        Ok(answer) => match ReadAppAssignment::from_graph(&answer) {
            Ok(read) => StateResult {
                state: Some(state_from(&read, app_id, app_type, planned)),
                ..Default::default()
            },
            Err(_) => read_one(ctx, data, parent, Some(assignment_id), app_id, app_type, planned, true).await,
        },
        Err(e) => fail(graph_diagnostic(op(action, true), &e)),
    }
}

/// List the app's assignments and build state from ours (by id, then by target). `recent`: this
/// resource wrote the assignment moments ago, so a miss is polled for before it counts as gone.
#[allow(clippy::too_many_arguments)]
async fn read_one(
    ctx: &Ctx,
    data: &ProviderData,
    parent: &Parent,
    id: Option<&str>,
    app_id: &str,
    app_type: &str,
    carried: &Value,
    recent: bool,
) -> StateResult {
    let action = "Reading an app assignment";
    let items = match list(ctx, data, parent).await {
        Ok(Some(items)) => items,
        Ok(None) => return StateResult::default(),
        Err(e) => {
            return StateResult {
                state: Some(carried.clone()),
                diagnostics: graph_diagnostic(op(action, false), &e).into(),
                ..Default::default()
            };
        }
    };
    let index = match target_from(carried) {
        Some(t) => match find_owned(&items, id, &t.key()) {
            Found::ById(i) | Found::ByTarget(i) => Some(i),
            Found::Missing => None,
        },
        None => id.and_then(|id| {
            items
                .iter()
                .position(|e| e.get("id").and_then(Json::as_str).is_some_and(|x| x.eq_ignore_ascii_case(id)))
        }),
    };
    let entry = match (index, target_from(carried)) {
        (Some(i), _) => items[i].clone(),
        (None, Some(t)) if recent => match wait_for(ctx, data, parent, id, &t.key()).await {
            Ok(Some(found)) => found,
            Ok(None) => return StateResult::default(),
            Err(e) => {
                return StateResult {
                    state: Some(carried.clone()),
                    diagnostics: graph_diagnostic(op(action, false), &e).into(),
                    ..Default::default()
                };
            }
        },
        (None, _) => return StateResult::default(),
    };
    match ReadAppAssignment::from_graph(&entry) {
        Ok(read) => {
            StateResult { state: Some(state_from(&read, app_id, app_type, carried)), ..Default::default() }
        }
        Err(e) => StateResult {
            state: Some(carried.clone()),
            diagnostics: Diagnostic::error(action, format!("The assignment cannot be read: {e}")).into(),
            ..Default::default()
        },
    }
}

#[async_trait]
impl Resource<ProviderData> for AppAssignmentResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let mut s = Schema::default();
        s.block.description = "One assignment of an Intune app. Windows Autopilot device preparation installs an app \
            during OOBE only if it is listed in the policy **and** assigned to the policy's device group (intent \
            `required`, installing in system context); otherwise Intune reports it as skipped.\n\n\
            The resource creates, changes and deletes only its own assignment, with Intune's one-at-a-time \
            endpoints; other assignments of the app are never touched. Intune keeps one assignment per app and \
            target: creating one for a target that already has an assignment with the same intent adopts it.\n\n\
            Uses Microsoft Graph beta (assignment filters and WinGet settings exist only there). Requires \
            `DeviceManagementApps.ReadWrite.All`. Import with `<app_id>/<assignment_id>`."
            .into();
        s.block.attributes = vec![
            Attribute::string("id")
                .computed()
                .description("The assignment id given by Intune.")
                .plan_modifier(use_state_for_unknown()),
            Attribute::string("app_id")
                .required()
                .description("Id of the Intune app (`data.autopilot_mobile_app.<name>.id`).")
                .validator(uuid())
                .plan_modifier(requires_replace()),
            Attribute::string("app_type")
                .computed()
                .description("The app's type, e.g. `win32LobApp` or `winGetApp`.")
                .plan_modifier(use_state_for_unknown()),
            Attribute::string("intent")
                .required()
                .description(
                    "`required` (install; what device preparation needs), `available`, `uninstall` or \
                     `available_without_enrollment` (iOS/Android only).",
                )
                .validator(one_of(&Intent::NAMES))
                .plan_modifier(requires_replace()),
            target_attribute(),
            win32_attribute(),
            winget_attribute(),
            timeouts::block(&["create", "read", "update", "delete"]),
        ];
        s
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let block = |name: &str| match config.attr(name) {
            None | Some(Value::Null) => Cfg::Null,
            Some(v) if !v.is_fully_known() => Cfg::Unknown,
            Some(_) => Cfg::Known(()),
        };
        let win32 = win32_from(config.attr("win32_settings"));
        let winget = winget_from(config.attr("winget_settings"));
        let findings = validate_app_assignment(&AppAssignmentConfig {
            app_id: cfg_str(config, "app_id"),
            intent: cfg_str(config, "intent"),
            target: target_config(config),
            win32_settings: match block("win32_settings") {
                Cfg::Known(()) => win32.as_ref().map_or(Cfg::Unknown, Cfg::Known),
                Cfg::Null => Cfg::Null,
                Cfg::Unknown => Cfg::Unknown,
            },
            winget_settings: match block("winget_settings") {
                Cfg::Known(()) => winget.as_ref().map_or(Cfg::Unknown, Cfg::Known),
                Cfg::Null => Cfg::Null,
                Cfg::Unknown => Cfg::Unknown,
            },
        });
        findings_to_diagnostics(findings, diags);
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
        let Some(app_id) = resp.planned.get_str("app_id").map(str::to_owned) else { return };
        let Some(wanted) = desired(&resp.planned) else { return };
        // Only when something the app type decides changed (or on create): one GET per plan.
        let unchanged = !req.prior.is_null()
            && req.prior.get_str("app_id") == Some(app_id.as_str())
            && settings_from(req.prior) == wanted.settings
            && req.prior.get_str("intent") == resp.planned.get_str("intent");
        if unchanged {
            return;
        }
        match app_type_info(ctx, data, &app_id).await {
            Ok(Some(app)) => {
                resp.diagnostics.extend(compatibility(&wanted, &app));
                resp.planned.set_attr("app_type", app.app_type.as_str());
            }
            Ok(None) => resp.diagnostics.push(
                Diagnostic::error("No such app", format!("The Intune app {app_id} does not exist."))
                    .at(crate::framework::AttributePath::new("app_id")),
            ),
            // An error, not a warning: `app_type` would stay unknown, and Terraform refuses an
            // apply-time plan that loses a value the first plan knew ("inconsistent final plan").
            // The lookup already had the client's retries.
            Err(d) => resp.diagnostics.push(
                Diagnostic::error("Could not check the app", d.detail)
                    .at(crate::framework::AttributePath::new("app_id")),
            ),
        }
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest<'_>) -> StateResult {
        let app_id = req.planned.get_str("app_id").unwrap_or_default().to_owned();
        let _guard = PARENT_LOCKS.lock(&Parent::App(app_id.clone()).lock_key()).await;
        let mut r = create_locked(ctx, data, &app_id, req.planned).await;
        r.private = stamp_written(&r.private);
        r
    }

    async fn read(&self, ctx: &Ctx, data: &ProviderData, req: ReadRequest<'_>) -> StateResult {
        let app_id = req.current.get_str("app_id").unwrap_or_default().to_owned();
        let app_type = match req.current.get_str("app_type") {
            Some(t) => t.to_owned(),
            // After an import: look the type up once.
            None => match get_app(ctx, data, &app_id).await {
                Ok(Some(app)) => app.app_type,
                Ok(None) => return StateResult::default(),
                Err(d) => {
                    return StateResult {
                        state: Some(req.current.clone()),
                        diagnostics: d.into(),
                        ..Default::default()
                    };
                }
            },
        };
        let parent = Parent::App(app_id.clone());
        let recent = recently_written(req.private);
        let mut r =
            read_one(ctx, data, &parent, req.current.get_str("id"), &app_id, &app_type, req.current, recent)
                .await;
        r.private = req.private.to_vec();
        r
    }

    async fn update(&self, ctx: &Ctx, data: &ProviderData, req: UpdateRequest<'_>) -> StateResult {
        let action = "Updating an app assignment";
        let app_id = req.prior.get_str("app_id").unwrap_or_default().to_owned();
        let Some(wanted) = desired(req.planned) else {
            return fail(Diagnostic::error(action, "The intent or target is incomplete."));
        };
        let app_type = req.prior.get_str("app_type").unwrap_or_default().to_owned();
        let odata_type = format!("#microsoft.graph.{app_type}");
        let body = match wanted.to_graph(ApiVersion::Beta, &app_id, &odata_type) {
            Ok(b) => b,
            Err(e) => return fail(Diagnostic::error(action, e.to_string())),
        };
        let parent = Parent::App(app_id.clone());
        let _guard = PARENT_LOCKS.lock(&parent.lock_key()).await;
        // The id may have changed since the last refresh; find ours first.
        let items = match list(ctx, data, &parent).await {
            Ok(Some(items)) => items,
            Ok(None) => {
                return fail(Diagnostic::error(action, format!("The app {app_id} no longer exists.")));
            }
            Err(e) => return fail(graph_diagnostic(op(action, false), &e)),
        };
        let id = match find_owned(&items, req.prior.get_str("id"), &wanted.target.key()) {
            Found::ById(i) | Found::ByTarget(i) => {
                items[i].get("id").and_then(Json::as_str).unwrap_or_default().to_owned()
            }
            Found::Missing => {
                return fail(Diagnostic::error(
                    action,
                    "The assignment no longer exists in Intune. Run `terraform apply` again to re-create it.",
                ));
            }
        };
        let mut r = patch_and_read(ctx, data, &parent, &id, &body, &app_id, &app_type, req.planned).await;
        r.private = stamp_written(req.planned_private);
        r
    }

    async fn delete(&self, ctx: &Ctx, data: &ProviderData, req: DeleteRequest<'_>) -> Diagnostics {
        let action = "Removing an app assignment";
        let app_id = req.prior.get_str("app_id").unwrap_or_default().to_owned();
        let parent = Parent::App(app_id);
        let _guard = PARENT_LOCKS.lock(&parent.lock_key()).await;
        let Some(target) = target_from(req.prior) else {
            return Diagnostic::error(action, "The state has no target; nothing was removed.").into();
        };
        let items = match list(ctx, data, &parent).await {
            Ok(Some(items)) => items,
            Ok(None) => return Diagnostics::new(),
            Err(e) => return graph_diagnostic(op(action, false), &e).into(),
        };
        let found = match find_owned(&items, req.prior.get_str("id"), &target.key()) {
            Found::ById(i) | Found::ByTarget(i) => Some(items[i].clone()),
            // Written moments ago: make sure a lagging replica is not hiding it.
            Found::Missing if recently_written(req.private) => {
                match wait_for(ctx, data, &parent, req.prior.get_str("id"), &target.key()).await {
                    Ok(found) => found,
                    Err(e) => return graph_diagnostic(op(action, false), &e).into(),
                }
            }
            Found::Missing => None,
        };
        let Some(id) = found.as_ref().and_then(|f| f.get("id")).and_then(Json::as_str) else {
            return Diagnostics::new();
        };
        match data.graph.delete(&call_cx(ctx), Api::Beta, &parent.assignment_path(id)).await {
            Ok(()) => Diagnostics::new(),
            Err(e) if e.is_not_found() => Diagnostics::new(),
            Err(e) => graph_diagnostic(op(action, true), &e).into(),
        }
    }

    async fn import(&self, _ctx: &Ctx, _data: &ProviderData, id: &str) -> ImportResult {
        match parse_import_id(id, "<app_id>/<assignment_id>") {
            Ok((app_id, assignment_id)) => ImportResult {
                state: Some(
                    ObjectBuilder::for_schema(&self.schema())
                        .set("id", assignment_id)
                        .set("app_id", app_id)
                        .build(),
                ),
                ..Default::default()
            },
            Err(e) => ImportResult {
                diagnostics: Diagnostic::error("Invalid import id", e.to_string()).into(),
                ..Default::default()
            },
        }
    }
}
