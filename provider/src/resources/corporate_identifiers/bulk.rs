//! `autopilot_corporate_identifiers`: the authoritative set of the tenant's Windows corporate
//! identifiers.
//!
//! Reads list every Windows row (paged, no per-row GET) and remember the rows (with their
//! ids) in private state, so an apply changes only the difference without listing again.
//! Apply order is import → description updates → deletes, so a device is never left
//! without its identifier while the set is being replaced. Every row's outcome is checked;
//! on partial failure the state holds exactly the rows Intune has, plus error diagnostics
//! naming the failed rows.

use std::collections::HashMap;

use async_trait::async_trait;

use super::calls::{self, READ_PERMISSION, WRITE_PERMISSION};
use super::diff::{ExistingIdentity, SetDiff};
use super::identity::{DeviceIdentity, IdentityKey, duplicate_pairs};
use super::state::{by_key, decode_rows, devices_of, devices_value, encode_rows};
use super::value::{device_from_value, device_type};
use crate::framework::plan::state_with_id;
use crate::framework::plan_modifier::use_state_for_unknown;
use crate::framework::resource::{
    CreateRequest, Ctx, DeleteRequest, ImportResult, ModifyPlanRequest, ModifyPlanResponse, ReadRequest,
    Resource, StateResult, UpdateRequest,
};
use crate::framework::schema::Attribute;
use crate::framework::timeouts;
use crate::framework::validator::int_between;
use crate::framework::{AttributePath, Diagnostic, Diagnostics, Schema, Value};
use crate::graph::Error;
use crate::resources::ProviderData;
use crate::resources::errors::{Op, call_cx, graph_diagnostic};

const TYPE_NAME: &str = "autopilot_corporate_identifiers";
/// The only id: the resource stands for every Windows identifier of the tenant.
pub const ALL_ID: &str = "all";
const DEFAULT_MAX_DELETIONS: i64 = 100;
/// Most failed rows named in one diagnostic; the rest are counted.
const MAX_ROWS_SHOWN: usize = 50;
const DELEGATED_ROLE: &str = "Intune Administrator";

const DESCRIPTION: &str = r#"The complete set of the tenant's **Windows corporate identifiers** (Intune
*Devices → Enrollment → Corporate device identifiers*, Graph beta `importedDeviceIdentities` of type
`manufacturerModelSerial`): manufacturer, model and serial number of devices that count as corporate when they
enroll.

This resource is **authoritative**: after an apply Intune holds exactly the devices in `devices`, and Windows
identifiers that are not in `devices` are deleted (identifiers of other types, such as IMEI or iOS/Android serial
numbers, are never touched). Manage it from one Terraform state only, and do not combine it with
`autopilot_corporate_identifier` in the same tenant.

**Why it matters:** once *any* Windows corporate identifier exists, Windows devices that enroll through Windows
Autopilot device preparation *without* a matching identifier are marked **personal**. A lost row means a device
that is silently treated as personal (and blocked, if personal Windows enrollment is restricted). So this
resource checks the result of every row: Intune's import call answers `200 OK` even when rows fail. If some rows
fail, the apply ends with an error naming them, and the state records exactly the rows that exist in Intune (the
next apply retries the rest).

Usually the list comes from a CSV file through the provider function `parse_corporate_identifiers`:

```terraform
devices = provider::autopilot::parse_corporate_identifiers(file("corporate-identifiers.csv"))
```

Values are validated, never rewritten: an identifier part with a comma, leading or trailing whitespace, an
invisible character, or a serial number with periods is an error at plan time that shows the corrected value.
Intune compares identifiers case-insensitively, and so does this resource (two devices differing only in case are
a duplicate). An object written in HCL needs all four attributes (`description = null` when there is none).

**Deletion guard:** a plan that would delete more than `max_deletions` existing identifiers (default 100) fails
at plan time. Destroying the resource deletes every Windows identifier it manages regardless of the guard.

**Time and limits:** imports take up to 500 rows per call. Graph has **no bulk delete**: each identifier is one
`DELETE`, sent 20 per `$batch`, and Intune allows about 100 writes per 20 seconds per application, which the
provider paces itself to. Deleting 5,000 identifiers therefore takes about 17 minutes; the default
`delete` and `update` timeouts (30 minutes) cover about 9,000 deletions, so raise `timeouts` for larger sets.
Terraform itself also slows down on very large sets: when it checks an apply result it compares every planned
element of a set with every applied one, so its own work grows with the square of the number of devices (with
5,000 devices, plans and applies take minutes of Terraform CPU time while the provider needs a few Graph
requests: one listing request per page of identifiers, one import call per 500 new rows, one `$batch` per 20
deletions).

**Permissions:** Microsoft Graph application permission `DeviceManagementServiceConfig.ReadWrite.All` (reads
alone: `DeviceManagementServiceConfig.Read.All`); delegated use needs an Intune role that can manage
corporate device identifiers. Requires an Intune licence. Windows corporate identifiers apply to Windows 11 22H2
and later.

Import with the id `all` (every Windows `manufacturerModelSerial` identifier of the tenant)."#;

/// The resource.
#[derive(Debug, Default)]
pub struct CorporateIdentifiers;

fn op(action: &'static str, write: bool) -> Op<'static> {
    Op {
        action,
        permission: if write { WRITE_PERMISSION } else { READ_PERMISSION },
        delegated_role: Some(DELEGATED_ROLE),
    }
}

/// The configured devices; `None` while any is unknown (or malformed: validation reports that).
fn desired(config: &Value) -> Option<Vec<DeviceIdentity>> {
    devices_of(config.attr("devices"))
}

fn max_deletions(value: &Value) -> u64 {
    value.get_i64("max_deletions").map_or(DEFAULT_MAX_DELETIONS as u64, |n| u64::try_from(n).unwrap_or(0))
}

/// The full state for `rows`; `carried` supplies the provider-only attributes.
fn state_for(
    rows: &[ExistingIdentity],
    preferred: &HashMap<IdentityKey, DeviceIdentity>,
    carried: &Value,
) -> Value {
    let devices = devices_value(rows, preferred);
    let count = devices.elements().map_or(0, <[Value]>::len);
    Value::object()
        .set("id", ALL_ID)
        .set("devices", devices)
        .set("count", i64::try_from(count).unwrap_or(i64::MAX))
        .set(
            "max_deletions",
            carried
                .attr("max_deletions")
                .filter(|v| !v.is_null())
                .cloned()
                .unwrap_or(Value::from(DEFAULT_MAX_DELETIONS)),
        )
        .set("timeouts", carried.attr("timeouts").cloned().unwrap_or(Value::Null))
        .build()
}

/// A list of messages, shortened for a diagnostic.
fn listed<I: IntoIterator<Item = String>>(items: I) -> String {
    let items: Vec<String> = items.into_iter().collect();
    let mut text: String = items.iter().take(MAX_ROWS_SHOWN).map(|m| format!("\n- {m}")).collect();
    if items.len() > MAX_ROWS_SHOWN {
        text.push_str(&format!("\n- … and {} more", items.len() - MAX_ROWS_SHOWN));
    }
    text
}

/// What an apply did, as rows now in Intune and diagnostics for the rest.
struct Applied {
    rows: Vec<ExistingIdentity>,
    diagnostics: Diagnostics,
}

/// Make Intune's rows equal `desired`, starting from `existing`; returns the rows that exist
/// afterwards, as far as the answers tell.
async fn converge(
    ctx: &Ctx,
    data: &ProviderData,
    desired: &[DeviceIdentity],
    existing: Vec<ExistingIdentity>,
) -> Applied {
    let cx = call_cx(ctx);
    let mut diagnostics = Diagnostics::new();
    let diff = match SetDiff::compute(desired, &existing) {
        Ok(diff) => diff,
        Err(e) => {
            diagnostics.attribute_error(
                AttributePath::new("devices"),
                "Duplicate corporate identifiers",
                e.to_string(),
            );
            return Applied { rows: existing, diagnostics };
        }
    };
    let mut rows = existing;

    if !diff.to_import.is_empty() {
        let run = calls::import(&data.graph, &cx, &diff.to_import).await;
        rows.extend(run.imported.iter().map(|r| ExistingIdentity {
            id: r.id.clone(),
            identifier: r.device.identifier(),
            description: r.device.description.clone(),
        }));
        if !run.failures.is_empty() {
            diagnostics.error(
                format!("{} of {} Windows corporate identifiers were not imported", run.failures.len(), diff.to_import.len()),
                format!(
                    "Intune answered the import, but these rows failed; they are not in the state, and the next apply \
                     tries them again:{}",
                    listed(run.failures.iter().map(ToString::to_string))
                ),
            );
        }
        if let Some(e) = &run.stopped {
            let mut d = graph_diagnostic(op("Importing Windows corporate identifiers", true), e);
            d.detail.push_str(&format!(
                "\n\n{} rows were not imported:{}",
                run.not_sent.len(),
                listed(run.not_sent.iter().map(DeviceIdentity::identifier))
            ));
            diagnostics.push(d);
        }
    }

    if !diff.to_update.is_empty() {
        let pairs: Vec<(String, DeviceIdentity)> =
            diff.to_update.iter().map(|k| (k.id.clone(), k.desired.clone())).collect();
        let run = calls::update_descriptions(&data.graph, &cx, &pairs).await;
        for (id, device) in &run.done {
            if let Some(row) = rows.iter_mut().find(|r| &r.id == id) {
                row.description = device.description.clone();
            }
        }
        report_batch(
            &mut diagnostics,
            "Updating the description of Windows corporate identifiers",
            run.failed.iter().map(|((_, d), e)| (d.identifier(), e)),
            run.stopped.as_ref(),
            run.not_sent.iter().map(|(_, d)| d.identifier()),
        );
    }

    if !diff.to_delete.is_empty() {
        let run = calls::delete(&data.graph, &cx, &diff.to_delete).await;
        let gone: std::collections::HashSet<&str> = run.done.iter().map(|r| r.id.as_str()).collect();
        data.deleted.bury(gone.iter().copied());
        rows.retain(|r| !gone.contains(r.id.as_str()));
        report_batch(
            &mut diagnostics,
            "Deleting Windows corporate identifiers",
            run.failed.iter().map(|(r, e)| (r.identifier.clone(), e)),
            run.stopped.as_ref(),
            run.not_sent.iter().map(|r| r.identifier.clone()),
        );
    }
    Applied { rows, diagnostics }
}

fn report_batch<'a>(
    diagnostics: &mut Diagnostics,
    action: &'static str,
    failed: impl Iterator<Item = (String, &'a Error)>,
    stopped: Option<&Error>,
    not_sent: impl Iterator<Item = String>,
) {
    let failed: Vec<String> = failed.map(|(identifier, e)| format!("{identifier:?}: {e}")).collect();
    if !failed.is_empty() {
        diagnostics.error(
            format!("{action}: {} rows failed", failed.len()),
            format!("Graph refused these rows:{}", listed(failed)),
        );
    }
    if let Some(e) = stopped {
        let mut d = graph_diagnostic(op(action, true), e);
        let not_sent: Vec<String> = not_sent.collect();
        d.detail.push_str(&format!(
            "\n\n{} rows were not changed (or the answer was lost; the next refresh shows what Intune holds):{}",
            not_sent.len(),
            listed(not_sent)
        ));
        diagnostics.push(d);
    }
}

/// The rows Intune holds now.
async fn list_rows(
    ctx: &Ctx,
    data: &ProviderData,
    action: &'static str,
) -> Result<Vec<ExistingIdentity>, Diagnostic> {
    let cx = call_cx(ctx);
    calls::list_windows(&data.graph, &cx)
        .await
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r.to_existing())
                // Within Intune's lag the list still shows rows this process deleted.
                .filter(|r| !data.deleted.is_buried(&r.id))
                .collect()
        })
        .map_err(|e| graph_diagnostic(op(action, false), &e))
}

/// The rows recorded at the last read or apply (listed again when the private state lacks them).
async fn known_rows(
    ctx: &Ctx,
    data: &ProviderData,
    private: &[u8],
    action: &'static str,
) -> Result<Vec<ExistingIdentity>, Diagnostic> {
    match decode_rows(private) {
        Some(rows) => Ok(rows),
        None => list_rows(ctx, data, action).await,
    }
}

async fn apply(
    ctx: &Ctx,
    data: &ProviderData,
    config: &Value,
    planned: &Value,
    existing: Vec<ExistingIdentity>,
) -> StateResult {
    let Some(desired) = desired(config) else {
        return StateResult {
            diagnostics: Diagnostic::error("Unknown devices", "devices must be known when applying.").into(),
            ..Default::default()
        };
    };
    let Applied { rows, diagnostics } = converge(ctx, data, &desired, existing).await;
    StateResult {
        state: Some(state_for(&rows, &by_key(&desired), planned)),
        private: encode_rows(&rows),
        diagnostics,
    }
}

#[async_trait]
impl Resource<ProviderData> for CorporateIdentifiers {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let mut s = Schema::default();
        s.block.description = DESCRIPTION.into();
        s.block.attributes = vec![
            Attribute::string("id")
                .computed()
                .description("Always `all`.")
                .plan_modifier(use_state_for_unknown()),
            Attribute::set_of("devices", device_type())
                .required()
                .description(
                    "Every Windows corporate identifier the tenant should have: objects `{ manufacturer, model, \
                     serial_number, description }` (`description` may be null; at most 128 characters), as \
                     `provider::autopilot::parse_corporate_identifiers` returns them. Intune stores each as \
                     `manufacturer,model,serial`. An empty set deletes every Windows identifier (subject to \
                     `max_deletions`).",
                ),
            Attribute::number("max_deletions")
                .optional()
                .computed()
                .default_value(DEFAULT_MAX_DELETIONS)
                .description(
                    "A plan that would delete more existing Windows corporate identifiers than this fails, so a \
                     truncated or wrong CSV cannot silently turn devices personal. Does not apply \
                     to `terraform destroy`.",
                )
                .validator(int_between(0, 1_000_000_000)),
            Attribute::number("count")
                .computed()
                .description("Number of Windows corporate identifiers in Intune after the last refresh or apply."),
            timeouts::block(&["create", "read", "update", "delete"]),
        ];
        s
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let Some(Value::Set(items) | Value::List(items)) = config.attr("devices") else { return };
        let mut known: Vec<DeviceIdentity> = Vec::with_capacity(items.len());
        let mut values: Vec<&Value> = Vec::with_capacity(items.len());
        for item in items {
            let path = AttributePath::new("devices").set_element(item.clone());
            match device_from_value(item) {
                Ok(Some(device)) => {
                    for problem in device.problems() {
                        let at = match problem.field() {
                            Some(f) => path.clone().attr(f.attribute_name()),
                            None => path.clone(),
                        };
                        diags.attribute_error(
                            at,
                            "Invalid corporate identifier",
                            format!("Device {:?}: {problem}", device.identifier()),
                        );
                    }
                    known.push(device);
                    values.push(item);
                }
                Ok(None) => {}
                Err(e) => diags.attribute_error(path, "Invalid corporate identifier", e.to_string()),
            }
        }
        for (first, second) in duplicate_pairs(&known) {
            diags.attribute_error(
                AttributePath::new("devices").set_element(values[second].clone()),
                "Duplicate corporate identifier",
                format!(
                    "{:?} and {:?} are the same corporate identifier: Intune compares identifiers case-insensitively. \
                     Keep one of them.",
                    known[first].identifier(),
                    known[second].identifier()
                ),
            );
        }
    }

    async fn modify_plan(
        &self,
        ctx: &Ctx,
        data: Option<&ProviderData>,
        req: ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        if resp.planned.is_null() {
            return;
        }
        resp.planned.set_attr("id", ALL_ID);
        let Some(desired) = desired(req.config) else { return };
        resp.planned.set_attr("count", i64::try_from(desired.len()).unwrap_or(i64::MAX));

        let creating = req.prior.is_null();
        let existing = if creating {
            // Adopting a tenant that already has identifiers: what would go is only visible in Intune.
            let Some(data) = data else { return };
            match list_rows(ctx, data, "Reading Windows corporate identifiers").await {
                Ok(rows) => {
                    // The create right after this plan (Terraform plans again just before it)
                    // starts from these rows instead of listing them again.
                    resp.planned_private = encode_rows(&rows);
                    rows
                }
                Err(d) => {
                    resp.diagnostics.push(d);
                    return;
                }
            }
        } else {
            decode_rows(req.prior_private).unwrap_or_else(|| {
                devices_of(req.prior.attr("devices"))
                    .unwrap_or_default()
                    .iter()
                    .map(|d| ExistingIdentity {
                        id: String::new(),
                        identifier: d.identifier(),
                        description: d.description.clone(),
                    })
                    .collect()
            })
        };
        let Ok(diff) = SetDiff::compute(&desired, &existing) else { return };
        if let Err(e) = diff.check_max_deletions(max_deletions(&resp.planned), existing.len()) {
            resp.diagnostics.attribute_error(
                AttributePath::new("devices"),
                "Too many corporate identifiers would be deleted",
                format!(
                    "{e}.\n\nFirst rows that would be deleted:{}",
                    listed(diff.to_delete.iter().take(20).map(|r| r.identifier.clone()))
                ),
            );
            return;
        }
        if creating && !diff.to_delete.is_empty() {
            resp.diagnostics.attribute_warning(
                AttributePath::new("devices"),
                "Existing corporate identifiers will be deleted",
                format!(
                    "Intune already holds {} Windows corporate identifiers that are not in `devices`; creating this \
                     authoritative resource deletes them:{}\n\nTo keep them, add them to `devices` (or import the \
                     resource with the id `all` first to see them in the plan).",
                    diff.to_delete.len(),
                    listed(diff.to_delete.iter().map(|r| r.identifier.clone()))
                ),
            );
        }
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest<'_>) -> StateResult {
        // The rows the plan listed moments ago (it checked `max_deletions` against them).
        let existing =
            match known_rows(ctx, data, req.planned_private, "Reading Windows corporate identifiers").await {
                Ok(rows) => rows,
                Err(d) => return StateResult { diagnostics: d.into(), ..Default::default() },
            };
        apply(ctx, data, req.config, req.planned, existing).await
    }

    async fn read(&self, ctx: &Ctx, data: &ProviderData, req: ReadRequest<'_>) -> StateResult {
        match list_rows(ctx, data, "Reading Windows corporate identifiers").await {
            Ok(rows) => {
                let preferred = by_key(&devices_of(req.current.attr("devices")).unwrap_or_default());
                StateResult {
                    state: Some(state_for(&rows, &preferred, req.current)),
                    private: encode_rows(&rows),
                    diagnostics: Diagnostics::new(),
                }
            }
            Err(d) => StateResult {
                state: Some(req.current.clone()),
                private: req.private.to_vec(),
                diagnostics: d.into(),
            },
        }
    }

    async fn update(&self, ctx: &Ctx, data: &ProviderData, req: UpdateRequest<'_>) -> StateResult {
        let existing =
            match known_rows(ctx, data, req.planned_private, "Reading Windows corporate identifiers").await {
                Ok(rows) => rows,
                Err(d) => {
                    return StateResult {
                        state: Some(req.prior.clone()),
                        private: req.planned_private.to_vec(),
                        diagnostics: d.into(),
                    };
                }
            };
        apply(ctx, data, req.config, req.planned, existing).await
    }

    async fn delete(&self, ctx: &Ctx, data: &ProviderData, req: DeleteRequest<'_>) -> Diagnostics {
        let rows = match known_rows(ctx, data, req.private, "Reading Windows corporate identifiers").await {
            Ok(rows) => rows,
            Err(d) => return d.into(),
        };
        let Applied { diagnostics, .. } = converge(ctx, data, &[], rows).await;
        diagnostics
    }

    async fn import(&self, _ctx: &Ctx, _data: &ProviderData, id: &str) -> ImportResult {
        if id != ALL_ID {
            return ImportResult {
                diagnostics: Diagnostic::error(
                    "Invalid import id",
                    format!(
                        "autopilot_corporate_identifiers manages every Windows corporate identifier of the tenant: \
                         import it with the id {ALL_ID:?}, not {id:?}. To import one identifier, use \
                         autopilot_corporate_identifier."
                    ),
                )
                .into(),
                ..Default::default()
            };
        }
        let mut state = state_with_id(&self.schema(), ALL_ID);
        state.set_attr("max_deletions", DEFAULT_MAX_DELETIONS);
        ImportResult { state: Some(state), ..Default::default() }
    }
}
