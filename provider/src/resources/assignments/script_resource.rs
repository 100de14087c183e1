//! The `autopilot_script_assignment` resource: one assignment of a platform script.
//!
//! Writes go through the documented replace-all `POST …/deviceManagementScripts/{id}/assign`:
//! under the per-script lock, list the current assignments, put or remove only ours
//! ([`super::merge`]), send the whole list back. Creating a target that is already assigned
//! adopts that assignment (a script assignment has nothing but its target, so it already is
//! what the configuration asks for).

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::framework::plan_modifier::{requires_replace, use_state_for_unknown};
use crate::framework::resource::{
    CreateRequest, Ctx, DeleteRequest, ImportResult, ReadRequest, Resource, StateResult, UpdateRequest,
};
use crate::framework::schema::Attribute;
use crate::framework::timeouts;
use crate::framework::validator::{one_of, uuid};
use crate::framework::value::ObjectBuilder;
use crate::framework::{Diagnostic, Diagnostics, Schema, Value};
use crate::graph::error::Error;
use crate::resources::ProviderData;
use crate::resources::errors::{Op, graph_diagnostic};
use crate::resources::powershell_script::resource::{cfg_str, findings_to_diagnostics};

use super::lookup::parse_import_id;
use super::merge::{Change, OnTaken, Owned, merge};
use super::remote::{
    PARENT_LOCKS, Parent, assign, list, list_for_write, recently_written, stamp_written, wait_for,
};
use super::target::{Target, TargetKey, TargetKind};
use super::validate::{Cfg, ScriptAssignmentConfig, TargetConfig, validate_script_assignment};
use super::wire::{Found, ReadScriptAssignment, ScriptAssignment, entry_id, find_owned};

const TYPE_NAME: &str = "autopilot_script_assignment";
const READ_PERMISSION: &str = "DeviceManagementConfiguration.Read.All";
const WRITE_PERMISSION: &str = "DeviceManagementConfiguration.ReadWrite.All";

/// The resource.
#[derive(Debug, Default)]
pub struct ScriptAssignmentResource;

fn op(action: &'static str, write: bool) -> Op<'static> {
    Op { action, permission: if write { WRITE_PERMISSION } else { READ_PERMISSION }, delegated_role: None }
}

/// The `target` block of a configuration or state, as tri-state strings.
pub(crate) fn target_config(v: &Value) -> TargetConfig<'_> {
    match v.attr("target") {
        Some(t @ Value::Object(_)) => TargetConfig {
            kind: cfg_str(t, "type"),
            group_id: cfg_str(t, "group_id"),
            filter_id: cfg_str(t, "filter_id"),
            filter_mode: cfg_str(t, "filter_mode"),
        },
        Some(Value::Unknown(_)) => TargetConfig {
            kind: Cfg::Unknown,
            group_id: Cfg::Unknown,
            filter_id: Cfg::Unknown,
            filter_mode: Cfg::Unknown,
        },
        _ => TargetConfig {
            kind: Cfg::Null,
            group_id: Cfg::Null,
            filter_id: Cfg::Null,
            filter_mode: Cfg::Null,
        },
    }
}

fn target_from(v: &Value) -> Option<Target> {
    let t = v.attr("target")?;
    let kind = TargetKind::parse_script(t.get_str("type")?)?;
    Some(Target::new(kind, t.get_str("group_id")))
}

fn state(id: &str, script_id: &str, target: &Target, carried: &Value) -> Value {
    ObjectBuilder::default()
        .set("id", id)
        .set("script_id", script_id)
        .set(
            "target",
            ObjectBuilder::default()
                .set("type", target.kind.script_name())
                .set("group_id", target.group_id.clone())
                .build(),
        )
        .set("timeouts", carried.attr("timeouts").cloned().unwrap_or(Value::Null))
        .build()
}

fn fail(d: Diagnostic) -> StateResult {
    StateResult { diagnostics: d.into(), ..Default::default() }
}

fn missing_script(action: &'static str, script_id: &str) -> Diagnostic {
    Diagnostic::error(
        action,
        format!("The PowerShell script {script_id} does not exist (or is not visible yet)."),
    )
}

/// Under the script's lock: add our assignment unless its target is already assigned.
async fn create_locked(
    ctx: &Ctx,
    data: &ProviderData,
    parent: &Parent,
    target: &Target,
) -> Result<String, Diagnostic> {
    let action = "Assigning a PowerShell script";
    let script_id = match parent {
        Parent::Script(id) | Parent::App(id) => id.as_str(),
    };
    let key = target.key();
    let current = list_for_write(ctx, data, parent)
        .await
        .map_err(|e| graph_diagnostic(op(action, false), &e))?
        .ok_or_else(|| missing_script(action, script_id))?;
    // Its assignments were listed, so the script exists (the policy planned next checks that).
    data.observed.remember_script(script_id);
    if let Found::ByTarget(i) | Found::ById(i) = find_owned(&current, None, &key) {
        return Ok(entry_id(&current[i]).unwrap_or_default().to_owned());
    }
    let entry = ScriptAssignment { target: target.clone() }
        .to_graph()
        .map_err(|e| Diagnostic::error(action, e.to_string()))?;
    let merged = merge(
        parent.collection(),
        &current,
        Some(Owned { id: None, key: &key }),
        &Change::Put(entry),
        OnTaken::Adopt,
    )
    .map_err(|e| Diagnostic::error(action, e.to_string()))?;
    assign(ctx, data, parent, &merged.body).await.map_err(|e| graph_diagnostic(op(action, true), &e))?;
    let written =
        wait_for(ctx, data, parent, None, &key).await.map_err(|e| graph_diagnostic(op(action, false), &e))?;
    written.as_ref().and_then(entry_id).map(str::to_owned).ok_or_else(|| {
        Diagnostic::error(
            action,
            "Intune accepted the assignment but did not list it before the deadline. Run `terraform apply` again: \
             the provider adopts the assignment once it is visible.",
        )
    })
}

/// The assignment with `id`, or (when `key` is known) the one with our target.
fn find(items: &[Json], id: Option<&str>, key: Option<&TargetKey>) -> Option<usize> {
    match key {
        Some(key) => match find_owned(items, id, key) {
            Found::ById(i) | Found::ByTarget(i) => Some(i),
            Found::Missing => None,
        },
        None => {
            let id = id?;
            items.iter().position(|e| entry_id(e).is_some_and(|x| x.eq_ignore_ascii_case(id)))
        }
    }
}

#[async_trait]
impl Resource<ProviderData> for ScriptAssignmentResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let mut s = Schema::default();
        s.block.description = "One assignment of an Intune PowerShell platform script (Graph beta). Windows Autopilot \
            device preparation runs a script during OOBE only if it is listed in the policy **and** assigned to the \
            policy's device group.\n\n\
            The resource manages only its own assignment: other assignments of the script (made in the portal or by \
            other resources) are kept. Intune offers only a replace-all write for script assignments, so the provider \
            reads the current assignments and writes them back with its own added or removed, one write at a time \
            per script. Writers outside this Terraform run can still race that read and write.\n\n\
            Requires `DeviceManagementConfiguration.ReadWrite.All`. Import with `<script_id>/<assignment_id>`."
            .into();
        s.block.attributes = vec![
            Attribute::string("id")
                .computed()
                .description("The assignment id given by Intune.")
                .plan_modifier(use_state_for_unknown()),
            Attribute::string("script_id")
                .required()
                .description("Id of the PowerShell script (`autopilot_powershell_script.<name>.id`).")
                .validator(uuid())
                .plan_modifier(requires_replace()),
            Attribute::single_nested(
                "target",
                vec![
                    Attribute::string("type")
                        .required()
                        .description(
                            "`group` (include a group), `exclusion_group` (exclude a group), `all_devices` or `all_users`.",
                        )
                        .validator(one_of(&TargetKind::script_names())),
                    Attribute::string("group_id")
                        .optional()
                        .description("The group's object id; required exactly for `group` and `exclusion_group`.")
                        .validator(uuid()),
                ],
            )
            .required()
            .description("Who the script is assigned to. For device preparation: the device group, `type = \"group\"`.")
            .plan_modifier(requires_replace()),
            timeouts::block(&["create", "read", "delete"]),
        ];
        s
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let findings = validate_script_assignment(&ScriptAssignmentConfig {
            script_id: cfg_str(config, "script_id"),
            target: target_config(config),
        });
        findings_to_diagnostics(findings, diags);
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest<'_>) -> StateResult {
        let action = "Assigning a PowerShell script";
        let script_id = req.planned.get_str("script_id").unwrap_or_default().to_owned();
        let Some(target) = target_from(req.planned) else {
            return fail(Diagnostic::error(action, "The target is incomplete."));
        };
        let parent = Parent::Script(script_id.clone());
        let _guard = PARENT_LOCKS.lock(&parent.lock_key()).await;
        match create_locked(ctx, data, &parent, &target).await {
            Ok(id) => StateResult {
                state: Some(state(&id, &script_id, &target, req.planned)),
                private: stamp_written(req.planned_private),
                ..Default::default()
            },
            Err(d) => fail(d),
        }
    }

    async fn read(&self, ctx: &Ctx, data: &ProviderData, req: ReadRequest<'_>) -> StateResult {
        let keep = |d: Diagnostic| StateResult {
            state: Some(req.current.clone()),
            private: req.private.to_vec(),
            diagnostics: d.into(),
        };
        let action = "Reading a PowerShell script assignment";
        let script_id = req.current.get_str("script_id").unwrap_or_default().to_owned();
        let parent = Parent::Script(script_id.clone());
        let items = match list(ctx, data, &parent).await {
            Ok(Some(items)) => items,
            Ok(None) => return StateResult::default(),
            Err(e) => return keep(graph_diagnostic(op(action, false), &e)),
        };
        let key = target_from(req.current).map(|t| t.key());
        let id = req.current.get_str("id");
        let entry = match (find(&items, id, key.as_ref()), &key) {
            (Some(i), _) => items[i].clone(),
            // Written moments ago: a lagging replica may not list it yet.
            (None, Some(key)) if recently_written(req.private) => {
                match wait_for(ctx, data, &parent, id, key).await {
                    Ok(Some(found)) => found,
                    Ok(None) => return StateResult::default(),
                    Err(e) => return keep(graph_diagnostic(op(action, false), &e)),
                }
            }
            (None, _) => return StateResult::default(),
        };
        match ReadScriptAssignment::from_graph(&entry) {
            Ok(read) => StateResult {
                state: Some(state(&read.id, &script_id, &read.target, req.current)),
                private: req.private.to_vec(),
                ..Default::default()
            },
            Err(e) => keep(Diagnostic::error(action, format!("The assignment cannot be read: {e}"))),
        }
    }

    async fn update(&self, _ctx: &Ctx, _data: &ProviderData, req: UpdateRequest<'_>) -> StateResult {
        // Every managed attribute forces replacement; only `timeouts` can change in place.
        let mut planned = req.planned.clone();
        planned.set_attr("id", req.prior.attr("id").cloned().unwrap_or(Value::Null));
        StateResult { state: Some(planned), ..Default::default() }
    }

    async fn delete(&self, ctx: &Ctx, data: &ProviderData, req: DeleteRequest<'_>) -> Diagnostics {
        let action = "Removing a PowerShell script assignment";
        let script_id = req.prior.get_str("script_id").unwrap_or_default().to_owned();
        let Some(target) = target_from(req.prior) else {
            return Diagnostic::error(action, "The state has no target; nothing was removed.").into();
        };
        let key = target.key();
        let parent = Parent::Script(script_id);
        let _guard = PARENT_LOCKS.lock(&parent.lock_key()).await;
        let mut current = match list(ctx, data, &parent).await {
            Ok(Some(items)) => items,
            Ok(None) => return Diagnostics::new(),
            Err(e) => return graph_diagnostic(op(action, false), &e).into(),
        };
        if find(&current, req.prior.get_str("id"), Some(&key)).is_none() && recently_written(req.private) {
            // Written moments ago: wait until a replica lists it, then merge from that list.
            match wait_for(ctx, data, &parent, req.prior.get_str("id"), &key).await {
                Ok(Some(_)) => match list(ctx, data, &parent).await {
                    Ok(Some(items)) => current = items,
                    Ok(None) => return Diagnostics::new(),
                    Err(e) => return graph_diagnostic(op(action, false), &e).into(),
                },
                Ok(None) => return Diagnostics::new(),
                Err(e) => return graph_diagnostic(op(action, false), &e).into(),
            }
        }
        let owned = Owned { id: req.prior.get_str("id"), key: &key };
        let merged = match merge(parent.collection(), &current, Some(owned), &Change::Remove, OnTaken::Refuse)
        {
            Ok(m) => m,
            Err(e) => return Diagnostic::error(action, e.to_string()).into(),
        };
        if merged.replaced_ids.is_empty() {
            return Diagnostics::new();
        }
        let result: Result<(), Error> = assign(ctx, data, &parent, &merged.body).await;
        match result {
            Ok(()) => Diagnostics::new(),
            Err(e) => graph_diagnostic(op(action, true), &e).into(),
        }
    }

    async fn import(&self, _ctx: &Ctx, _data: &ProviderData, id: &str) -> ImportResult {
        match parse_import_id(id, "<script_id>/<assignment_id>") {
            Ok((script_id, assignment_id)) => ImportResult {
                state: Some(
                    ObjectBuilder::default()
                        .set("id", assignment_id)
                        .set("script_id", script_id)
                        .null("target")
                        .null("timeouts")
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
