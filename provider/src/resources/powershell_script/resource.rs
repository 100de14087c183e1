//! The `autopilot_powershell_script` resource.

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::framework::plan_modifier::use_state_for_unknown;
use crate::framework::resource::{
    CreateRequest, Ctx, DeleteRequest, ReadRequest, Resource, StateResult, UpdateRequest,
};
use crate::framework::schema::Attribute;
use crate::framework::timeouts;
use crate::framework::validator::{not_empty, one_of};
use crate::framework::value::ObjectBuilder;
use crate::framework::{AttributePath, Diagnostic, Diagnostics, Schema, Value};
use crate::graph::client::Api;
use crate::graph::error::Error;
use crate::graph::odata::path_segment;
use crate::resources::ProviderData;
use crate::resources::assignments::validate::{Cfg, Finding, Severity};
use crate::resources::errors::{Op, call_cx, graph_diagnostic};

use super::validate::{ScriptConfig, validate_script};
use super::wire::{
    ReadScript, RunAsAccount, ScriptSpec, create_body, patch_body, reconcile_content, same_content,
};

const TYPE_NAME: &str = "autopilot_powershell_script";
/// Collection path (beta only).
pub const SCRIPTS_PATH: &str = "/deviceManagement/deviceManagementScripts";
/// Least-privileged application permissions.
pub const READ_PERMISSION: &str = "DeviceManagementConfiguration.Read.All";
pub const WRITE_PERMISSION: &str = "DeviceManagementConfiguration.ReadWrite.All";

/// The resource.
#[derive(Debug, Default)]
pub struct PowerShellScript;

/// `…/deviceManagementScripts/{id}`.
pub fn script_path(id: &str) -> String {
    format!("{SCRIPTS_PATH}/{}", path_segment(id))
}

fn op(action: &'static str, write: bool) -> Op<'static> {
    Op { action, permission: if write { WRITE_PERMISSION } else { READ_PERMISSION }, delegated_role: None }
}

/// `Cfg` of a string attribute of a configuration object.
pub(crate) fn cfg_str<'a>(v: &'a Value, name: &str) -> Cfg<&'a str> {
    match v.attr(name) {
        None | Some(Value::Null) => Cfg::Null,
        Some(Value::Unknown(_)) => Cfg::Unknown,
        Some(other) => other.as_str().map_or(Cfg::Unknown, Cfg::Known),
    }
}

/// Findings as diagnostics at their attribute paths. An error at a path `diags` already has an
/// error for is left out: the attribute's own validator (run first) said it already.
pub(crate) fn findings_to_diagnostics(findings: Vec<Finding>, diags: &mut Diagnostics) {
    for f in findings {
        let mut steps = f.path.split('.');
        let first = steps.next().unwrap_or_default();
        let path = steps.fold(AttributePath::new(first), AttributePath::attr);
        let reported = diags.iter().any(|d| d.is_error() && d.path.as_ref() == Some(&path));
        if f.severity == Severity::Error && reported {
            continue;
        }
        let summary = match f.severity {
            Severity::Error => "Invalid configuration",
            Severity::Warning => "Check this setting",
        };
        let d = match f.severity {
            Severity::Error => Diagnostic::error(summary, format!("{}: {}", f.path, f.message)),
            Severity::Warning => Diagnostic::warning(summary, format!("{}: {}", f.path, f.message)),
        };
        diags.push(d.at(path));
    }
}

fn spec_from(v: &Value) -> ScriptSpec {
    ScriptSpec {
        display_name: v.get_str("display_name").unwrap_or_default().to_owned(),
        description: v.get_str("description").filter(|d| !d.is_empty()).map(str::to_owned),
        file_name: v.get_str("file_name").unwrap_or_default().to_owned(),
        content: v.get_str("script_content").unwrap_or_default().to_owned(),
        run_as_account: v.get_str("run_as_account").and_then(RunAsAccount::parse).unwrap_or_default(),
        enforce_signature_check: v.get_bool("enforce_signature_check").unwrap_or(false),
        run_as_32_bit: v.get_bool("run_as_32_bit").unwrap_or(false),
    }
}

/// State from what Graph holds; `carried` is the prior / planned object (content kept when
/// Graph's is the same script, description kept as configured when both mean "none").
fn state_from(read: &ReadScript, carried: &Value) -> Value {
    let prior_content = carried.get_str("script_content").unwrap_or_default();
    let description = match (carried.attr("description"), &read.description) {
        (Some(Value::String(d)), None) if d.is_empty() => Value::from(""),
        (_, d) => Value::from(d.clone()),
    };
    ObjectBuilder::default()
        .set("id", read.id.as_str())
        .set("display_name", read.display_name.as_str())
        .set("description", description)
        .set("file_name", read.file_name.as_str())
        .set("script_content", reconcile_content(prior_content, read.content.as_deref()))
        .set("run_as_account", read.run_as_account.name())
        .set("enforce_signature_check", read.enforce_signature_check)
        .set("run_as_32_bit", read.run_as_32_bit)
        .set("timeouts", carried.attr("timeouts").cloned().unwrap_or(Value::Null))
        .build()
}

fn parse_error(action: &'static str, e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(action, format!("{e}. Please report this to the provider's maintainers."))
}

/// GET one script (with its content). `Ok(None)` when it does not exist.
pub async fn get_script(ctx: &Ctx, data: &ProviderData, id: &str) -> Result<Option<ReadScript>, Diagnostic> {
    let action = "Reading a PowerShell script";
    match data.graph.get_json_coalesced::<Json>(&call_cx(ctx), Api::Beta, &script_path(id)).await {
        Ok(body) => ReadScript::from_graph(&body).map(Some).map_err(|e| parse_error(action, e)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(graph_diagnostic(op(action, false), &e)),
    }
}

/// How often, and how far apart, to look for a script whose create answer was lost: Intune may
/// list it only once the write has replicated.
const FIND_CREATED_TRIES: u32 = 10;
const FIND_CREATED_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// After a create whose answer was lost: the one script with the same name, file name and
/// content, polling a bounded time while none is listed yet.
async fn find_created(
    ctx: &Ctx,
    data: &ProviderData,
    spec: &ScriptSpec,
) -> Result<Option<ReadScript>, Error> {
    let cx = call_cx(ctx);
    for attempt in 0..FIND_CREATED_TRIES {
        if attempt > 0 {
            if cx.would_exceed(FIND_CREATED_INTERVAL) {
                break;
            }
            cx.sleep(FIND_CREATED_INTERVAL).await?;
        }
        if let Some(found) = find_created_once(&cx, data, spec).await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// One look: `Some` only when exactly one script matches.
async fn find_created_once(
    cx: &crate::graph::CallCx,
    data: &ProviderData,
    spec: &ScriptSpec,
) -> Result<Option<ReadScript>, Error> {
    let cx = cx.clone();
    let all: Vec<Json> = data.graph.list_all(&cx, Api::Beta, SCRIPTS_PATH).await?;
    let mut matches = Vec::new();
    for item in all {
        let Ok(listed) = ReadScript::from_graph(&item) else { continue };
        if listed.display_name != spec.display_name || listed.file_name != spec.file_name {
            continue;
        }
        let full: Json = data.graph.get_json(&cx, Api::Beta, &script_path(&listed.id)).await?;
        if let Ok(full) = ReadScript::from_graph(&full)
            && full.content.as_deref().is_some_and(|c| same_content(&spec.content, c))
        {
            matches.push(full);
        }
    }
    Ok(if matches.len() == 1 { matches.pop() } else { None })
}

#[async_trait]
impl Resource<ProviderData> for PowerShellScript {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let mut s = Schema::default();
        s.block.description = "An Intune Windows platform script (PowerShell), as Windows Autopilot device \
            preparation runs it during OOBE when the script is listed in the policy and assigned to the device \
            group (see `autopilot_script_assignment`).\n\n\
            Microsoft Graph **beta** only (`deviceManagement/deviceManagementScripts`). Requires the application \
            permission `DeviceManagementConfiguration.ReadWrite.All`.\n\n\
            `script_content` is plain text; the provider uploads it base64-encoded (UTF-8, with a byte-order mark \
            when it is not pure ASCII, so Windows PowerShell 5.1 reads it correctly). Line-ending and byte-order-mark \
            differences are not treated as changes."
            .into();
        s.block.attributes = vec![
            Attribute::string("id")
                .computed()
                .description("The script's id.")
                .plan_modifier(use_state_for_unknown()),
            Attribute::string("display_name").required().description("Name shown in Intune.").validator(not_empty()),
            Attribute::string("description").optional().description("Optional description."),
            Attribute::string("file_name")
                .required()
                .description("File name shown in Intune, e.g. `set-timezone.ps1`.")
                .validator(not_empty()),
            Attribute::string("script_content")
                .required()
                .description("The script, as plain text (for example `file(\"${path.module}/script.ps1\")`).")
                .validator(not_empty()),
            Attribute::string("run_as_account")
                .default_value("system")
                .description(
                    "`system` (default; needed during device preparation, which runs before any user signs in) \
                     or `user`.",
                )
                .validator(one_of(&RunAsAccount::NAMES)),
            Attribute::bool("enforce_signature_check")
                .default_value(false)
                .description("Require the script to be signed by a trusted publisher."),
            Attribute::bool("run_as_32_bit")
                .default_value(false)
                .description("Run the script in a 32-bit PowerShell host on 64-bit Windows."),
            timeouts::block(&["create", "read", "update", "delete"]),
        ];
        s
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let findings = validate_script(&ScriptConfig {
            display_name: cfg_str(config, "display_name"),
            file_name: cfg_str(config, "file_name"),
            script_content: cfg_str(config, "script_content"),
            run_as_account: cfg_str(config, "run_as_account"),
        });
        findings_to_diagnostics(findings, diags);
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest<'_>) -> StateResult {
        let action = "Creating a PowerShell script";
        let spec = spec_from(req.planned);
        let created: Result<Json, Error> =
            data.graph.post_json(&call_cx(ctx), Api::Beta, SCRIPTS_PATH, &create_body(&spec)).await;
        let read = match created {
            Ok(body) => ReadScript::from_graph(&body).map_err(|e| parse_error(action, e)),
            Err(e) if e.is_ambiguous() => match find_created(ctx, data, &spec).await {
                Ok(Some(found)) => Ok(found),
                _ => Err(graph_diagnostic(op(action, true), &e)),
            },
            Err(e) => Err(graph_diagnostic(op(action, true), &e)),
        };
        match read {
            Ok(read) => StateResult { state: Some(state_from(&read, req.planned)), ..Default::default() },
            Err(d) => StateResult { diagnostics: d.into(), ..Default::default() },
        }
    }

    async fn read(&self, ctx: &Ctx, data: &ProviderData, req: ReadRequest<'_>) -> StateResult {
        let id = req.current.get_str("id").unwrap_or_default();
        match get_script(ctx, data, id).await {
            Ok(Some(read)) => StateResult {
                state: Some(state_from(&read, req.current)),
                private: req.private.to_vec(),
                ..Default::default()
            },
            Ok(None) => StateResult::default(),
            Err(d) => StateResult {
                state: Some(req.current.clone()),
                private: req.private.to_vec(),
                diagnostics: d.into(),
            },
        }
    }

    async fn update(&self, ctx: &Ctx, data: &ProviderData, req: UpdateRequest<'_>) -> StateResult {
        let action = "Updating a PowerShell script";
        let id = req.prior.get_str("id").unwrap_or_default().to_owned();
        let spec = spec_from(req.planned);
        let content_changed =
            !same_content(req.prior.get_str("script_content").unwrap_or_default(), &spec.content);
        let patched: Result<Json, Error> = data
            .graph
            .patch_json(&call_cx(ctx), Api::Beta, &script_path(&id), &patch_body(&spec, content_changed))
            .await;
        if let Err(e) = patched {
            return StateResult {
                state: Some(req.prior.clone()),
                diagnostics: graph_diagnostic(op(action, true), &e).into(),
                ..Default::default()
            };
        }
        // The PATCH answer may be empty; read the stored script back.
        match get_script(ctx, data, &id).await {
            Ok(Some(read)) => {
                StateResult { state: Some(state_from(&read, req.planned)), ..Default::default() }
            }
            Ok(None) => StateResult {
                diagnostics: Diagnostic::error(
                    action,
                    format!("The script {id} disappeared during the update."),
                )
                .into(),
                ..Default::default()
            },
            Err(d) => {
                StateResult { state: Some(req.planned.clone()), diagnostics: d.into(), ..Default::default() }
            }
        }
    }

    async fn delete(&self, ctx: &Ctx, data: &ProviderData, req: DeleteRequest<'_>) -> Diagnostics {
        let id = req.prior.get_str("id").unwrap_or_default();
        match data.graph.delete(&call_cx(ctx), Api::Beta, &script_path(id)).await {
            Ok(()) => Diagnostics::new(),
            Err(e) if e.is_not_found() => Diagnostics::new(),
            Err(e) => graph_diagnostic(op("Deleting a PowerShell script", true), &e).into(),
        }
    }
}
