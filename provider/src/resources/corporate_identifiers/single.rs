//! `autopilot_corporate_identifier`: one Windows corporate identifier (one Intune
//! `importedDeviceIdentity` of type `manufacturerModelSerial`).
//!
//! Create imports one row and checks its `status` (Graph answers 200 either way); the
//! identifier parts require replacement (the identity *is* the identifier); only the
//! description is updated in place.

use async_trait::async_trait;
use serde_json::json;

use super::calls::{self, READ_PERMISSION, WRITE_PERMISSION, item_path};
use super::identity::{
    DeviceIdentity, Field, IdentityKey, parse_identifier, validate_description, validate_part,
};
use super::wire::{ImportedDeviceIdentity, RowFailure};
use crate::framework::plan::state_with_id;
use crate::framework::plan_modifier::{requires_replace, use_state_for_unknown};
use crate::framework::resource::{
    CreateRequest, Ctx, DeleteRequest, ImportResult, ModifyPlanRequest, ModifyPlanResponse, ReadRequest,
    Resource, StateResult, UpdateRequest,
};
use crate::framework::schema::Attribute;
use crate::framework::timeouts;
use crate::framework::validator::{ValidateRequest, Validator, is_guid};
use crate::framework::{Diagnostic, Diagnostics, Schema, Value};
use crate::graph::client::Api;
use crate::graph::consistency::retry_not_found;
use crate::resources::ProviderData;
use crate::resources::errors::{Op, call_cx, graph_diagnostic};

const TYPE_NAME: &str = "autopilot_corporate_identifier";
const DELEGATED_ROLE: &str = "Intune Administrator";

const DESCRIPTION: &str = r#"One **Windows corporate identifier** (Intune *Devices → Enrollment → Corporate device
identifiers*, Graph beta `importedDeviceIdentities` of type `manufacturerModelSerial`): the manufacturer, model and
serial number of a device that counts as corporate when it enrolls. Intune stores it as `manufacturer,model,serial`.

Once *any* Windows corporate identifier exists, Windows devices that enroll through Windows Autopilot device
preparation *without* one are marked **personal**. To manage many devices, or to make sure no other identifiers
exist, use `autopilot_corporate_identifiers` (authoritative, CSV friendly) instead; do not combine the two in one
tenant.

Values are validated, never rewritten: a part with a comma, leading or trailing whitespace or an invisible
character, or a serial number with periods, is an error at plan time that shows the corrected value. Changing
`manufacturer`, `model` or `serial_number` replaces the identifier; `description` is updated in place. Intune's
import call answers `200 OK` even when the row fails, so the provider checks the row's status and reports a failed
row (for example, an identifier that already exists: import it instead).

Requires the Microsoft Graph application permission `DeviceManagementServiceConfig.ReadWrite.All` and an Intune
licence. Windows corporate identifiers apply to Windows 11 22H2 and later.

Import with the Graph id of the identifier, or with `manufacturer,model,serial`."#;

/// The resource.
#[derive(Debug, Default)]
pub struct CorporateIdentifier;

fn op(action: &'static str, write: bool) -> Op<'static> {
    Op {
        action,
        permission: if write { WRITE_PERMISSION } else { READ_PERMISSION },
        delegated_role: Some(DELEGATED_ROLE),
    }
}

/// Validates one part of the identifier (or the description) with the shared rules.
#[derive(Debug, Clone, Copy)]
struct IdentityRule(Field);

impl Validator for IdentityRule {
    fn description(&self) -> String {
        match self.0 {
            Field::Description => "at most 128 characters, not empty".into(),
            Field::SerialNumber => {
                "not empty; no commas, periods, invisible characters or surrounding whitespace".into()
            }
            _ => "not empty; no commas, invisible characters or surrounding whitespace".into(),
        }
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        let Some(text) = req.value.as_str() else { return };
        let result = match self.0 {
            Field::Description => validate_description(text),
            field => validate_part(field, text),
        };
        if let Err(e) = result {
            diags.attribute_error(req.path.clone(), "Invalid corporate identifier", e.to_string());
        }
    }
}

fn part(name: Field, description: &str) -> Attribute {
    Attribute::string(name.attribute_name())
        .required()
        .description(description)
        .validator(IdentityRule(name))
        .plan_modifier(requires_replace())
}

/// The configured (or stored) device; `None` while a part is unknown.
fn device_of(value: &Value) -> Option<DeviceIdentity> {
    Some(DeviceIdentity {
        manufacturer: value.get_str("manufacturer")?.to_owned(),
        model: value.get_str("model")?.to_owned(),
        serial_number: value.get_str("serial_number")?.to_owned(),
        description: match value.attr("description") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Unknown(_)) => return None,
            _ => None,
        },
    })
}

/// State from the Graph row. The parts keep `known`'s spelling when Intune's identifier
/// only differs in case.
fn state_from(row: &ImportedDeviceIdentity, known: Option<&DeviceIdentity>, carried: &Value) -> Value {
    let identifier = row.imported_device_identifier.clone().unwrap_or_default();
    let device = match known {
        Some(k) if IdentityKey::from_identifier(&identifier) == k.key() => k.clone(),
        _ => {
            let mut parts = identifier.splitn(3, ',');
            let mut next = || parts.next().unwrap_or_default().to_owned();
            DeviceIdentity { manufacturer: next(), model: next(), serial_number: next(), description: None }
        }
    };
    Value::object()
        .set("id", row.id.clone().unwrap_or_default())
        .set("manufacturer", device.manufacturer.clone())
        .set("model", device.model.clone())
        .set("serial_number", device.serial_number.clone())
        .set("description", row.description.clone().filter(|d| !d.is_empty()))
        .set("identifier", device.identifier())
        .set("enrollment_state", row.enrollment_state.clone())
        .set("last_contacted_date_time", row.last_contacted_date_time.clone())
        .set("timeouts", carried.attr("timeouts").cloned().unwrap_or(Value::Null))
        .build()
}

async fn get_row(
    ctx: &Ctx,
    data: &ProviderData,
    id: &str,
) -> Result<ImportedDeviceIdentity, crate::graph::Error> {
    data.graph.get_json_coalesced(&call_cx(ctx), Api::Beta, &item_path(id)).await
}

fn not_imported(failure: &RowFailure, existing: Option<&ImportedDeviceIdentity>) -> Diagnostic {
    let mut detail = failure.to_string();
    if let Some(row) = existing {
        detail.push_str(&format!(
            "\n\nThe identifier already exists in Intune (id {}). To manage it, import it: \
             `terraform import <address> {}`.",
            row.id.as_deref().unwrap_or("?"),
            row.id.as_deref().unwrap_or("?"),
        ));
    }
    Diagnostic::error(format!("Corporate identifier {:?} was not imported", failure.identifier()), detail)
}

#[async_trait]
impl Resource<ProviderData> for CorporateIdentifier {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let mut s = Schema::default();
        s.block.description = DESCRIPTION.into();
        s.block.attributes = vec![
            Attribute::string("id")
                .computed()
                .description("Graph id of the imported device identity.")
                .plan_modifier(use_state_for_unknown()),
            part(Field::Manufacturer, "Device manufacturer, exactly as the device reports it (e.g. `Microsoft Corporation`). Changing it replaces the identifier."),
            part(Field::Model, "Device model, exactly as the device reports it (e.g. `Surface Laptop 5`). Changing it replaces the identifier."),
            part(Field::SerialNumber, "Serial number without periods. Changing it replaces the identifier."),
            Attribute::string("description")
                .optional()
                .description("Device details (at most 128 characters).")
                .validator(IdentityRule(Field::Description)),
            Attribute::string("identifier")
                .computed()
                .description("The identifier as Intune stores it: `manufacturer,model,serial`."),
            Attribute::string("enrollment_state")
                .computed()
                .description("Intune's enrollment state of the device: `notContacted`, `enrolled`, `pendingReset`, `failed`, `blocked` or `unknown`."),
            Attribute::string("last_contacted_date_time")
                .computed()
                .description("When the device last contacted Intune (RFC 3339), or null."),
            timeouts::block(&["create", "read", "update", "delete"]),
        ];
        s
    }

    async fn modify_plan(
        &self,
        _ctx: &Ctx,
        _data: Option<&ProviderData>,
        req: ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        if resp.planned.is_null() {
            return;
        }
        let Some(device) = device_of(req.config) else { return };
        resp.planned.set_attr("identifier", device.identifier());
        let replacing = !req.prior.is_null()
            && ["manufacturer", "model", "serial_number"]
                .iter()
                .any(|a| req.prior.attr(a) != req.config.attr(a));
        if replacing {
            for a in ["id", "enrollment_state", "last_contacted_date_time"] {
                resp.planned.set_attr(a, Value::unknown());
            }
        } else if !req.prior.is_null() {
            for a in ["enrollment_state", "last_contacted_date_time"] {
                if let Some(v) = req.prior.attr(a) {
                    resp.planned.set_attr(a, v.clone());
                }
            }
        }
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest<'_>) -> StateResult {
        let Some(device) = device_of(req.config) else {
            return StateResult {
                diagnostics: Diagnostic::error(
                    "Unknown values",
                    "All identifier parts must be known at apply.",
                )
                .into(),
                ..Default::default()
            };
        };
        let cx = call_cx(ctx);
        let run = calls::import(&data.graph, &cx, std::slice::from_ref(&device)).await;
        let Some(imported) = run.imported.first() else {
            let diagnostic = match (run.failures.first(), &run.stopped) {
                (Some(failure), _) => {
                    let existing = calls::search(&data.graph, &cx, std::slice::from_ref(&device)).await.ok();
                    not_imported(failure, existing.as_ref().and_then(|rows| rows.first()))
                }
                (None, Some(e)) => graph_diagnostic(op("Importing a Windows corporate identifier", true), e),
                (None, None) => Diagnostic::error(
                    "Importing a Windows corporate identifier",
                    "Intune's import answer did not mention the row.",
                ),
            };
            return StateResult { diagnostics: diagnostic.into(), ..Default::default() };
        };
        // Read back for the service-set attributes; a not-yet-visible row is retried.
        match retry_not_found(&cx, || get_row(ctx, data, &imported.id)).await {
            Ok(row) => StateResult {
                state: Some(state_from(&row, Some(&device), req.planned)),
                ..Default::default()
            },
            Err(e) => {
                let row = ImportedDeviceIdentity {
                    id: Some(imported.id.clone()),
                    imported_device_identifier: Some(device.identifier()),
                    description: device.description.clone(),
                    ..Default::default()
                };
                StateResult {
                    state: Some(state_from(&row, Some(&device), req.planned)),
                    diagnostics: graph_diagnostic(op("Reading the imported corporate identifier", false), &e)
                        .into(),
                    ..Default::default()
                }
            }
        }
    }

    async fn read(&self, ctx: &Ctx, data: &ProviderData, req: ReadRequest<'_>) -> StateResult {
        let Some(id) = req.current.get_str("id") else {
            return StateResult { state: None, ..Default::default() };
        };
        match get_row(ctx, data, id).await {
            Ok(row) if row.is_windows_identifier() => StateResult {
                state: Some(state_from(&row, device_of(req.current).as_ref(), req.current)),
                private: req.private.to_vec(),
                diagnostics: Diagnostics::new(),
            },
            Ok(_) => StateResult {
                state: Some(req.current.clone()),
                diagnostics: Diagnostic::error(
                    "Not a Windows corporate identifier",
                    format!("Imported device identity {id} is not of type manufacturerModelSerial (an IMEI or serial-number identifier of another platform)."),
                )
                .into(),
                ..Default::default()
            },
            Err(e) if e.is_not_found() => StateResult { state: None, ..Default::default() },
            Err(e) => StateResult {
                state: Some(req.current.clone()),
                private: req.private.to_vec(),
                diagnostics: graph_diagnostic(op("Reading a Windows corporate identifier", false), &e).into(),
            },
        }
    }

    async fn update(&self, ctx: &Ctx, data: &ProviderData, req: UpdateRequest<'_>) -> StateResult {
        let id = req.prior.get_str("id").unwrap_or_default().to_owned();
        let description = match req.config.attr("description") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let cx = call_cx(ctx);
        if let Err(e) = data
            .graph
            .patch_json::<_, Option<serde_json::Value>>(
                &cx,
                Api::Beta,
                &item_path(&id),
                &json!({ "description": description }),
            )
            .await
        {
            return StateResult {
                state: Some(req.prior.clone()),
                diagnostics: graph_diagnostic(
                    op("Updating the description of a Windows corporate identifier", true),
                    &e,
                )
                .into(),
                ..Default::default()
            };
        }
        let mut state = req.planned.clone();
        for a in ["id", "enrollment_state", "last_contacted_date_time"] {
            state.set_attr(a, req.prior.attr(a).cloned().unwrap_or(Value::Null));
        }
        StateResult { state: Some(state), ..Default::default() }
    }

    async fn delete(&self, ctx: &Ctx, data: &ProviderData, req: DeleteRequest<'_>) -> Diagnostics {
        let Some(id) = req.prior.get_str("id") else { return Diagnostics::new() };
        match data.graph.delete(&call_cx(ctx), Api::Beta, &item_path(id)).await {
            Ok(()) => Diagnostics::new(),
            Err(e) if e.is_not_found() => Diagnostics::new(),
            Err(e) => graph_diagnostic(op("Deleting a Windows corporate identifier", true), &e).into(),
        }
    }

    async fn import(&self, ctx: &Ctx, data: &ProviderData, id: &str) -> ImportResult {
        if is_guid(id) {
            return ImportResult { state: Some(state_with_id(&self.schema(), id)), ..Default::default() };
        }
        let invalid = |detail: String| ImportResult {
            diagnostics: Diagnostic::error("Invalid import id", detail).into(),
            ..Default::default()
        };
        let device = match parse_identifier(id) {
            Ok(d) => d,
            Err(e) => {
                return invalid(format!(
                    "Import with the Graph id of the identifier or with \"manufacturer,model,serial\": {e}."
                ));
            }
        };
        match calls::search(&data.graph, &call_cx(ctx), std::slice::from_ref(&device)).await {
            Ok(rows) => match rows.iter().filter_map(|r| r.id.clone()).collect::<Vec<_>>().as_slice() {
                // Only the id: `read` takes the parts as Intune spells them, so a configuration
                // written like the portal shows them plans no replacement.
                [found] => {
                    ImportResult { state: Some(state_with_id(&self.schema(), found)), ..Default::default() }
                }
                [] => invalid(format!("No Windows corporate identifier {id:?} exists in Intune.")),
                many => invalid(format!(
                    "{} Windows corporate identifiers match {id:?} (ids {}); import one by id.",
                    many.len(),
                    many.join(", ")
                )),
            },
            Err(e) => ImportResult {
                diagnostics: graph_diagnostic(op("Looking up a Windows corporate identifier", false), &e)
                    .into(),
                ..Default::default()
            },
        }
    }
}
