//! The Graph calls both corporate identifier resources make: list the Windows rows, import
//! rows in chunks (checking every row's `status`), update descriptions and delete rows in
//! `$batch` envelopes. Per-row outcomes are returned, never hidden: a caller can always say
//! exactly which rows exist afterwards.

use serde_json::json;

use super::diff::ExistingIdentity;
use super::identity::{DeviceIdentity, IDENTITY_TYPE};
use super::wire::{
    BATCH_SIZE, IdentityPage, ImportRequest, ImportResponse, ImportedDeviceIdentity, ImportedRow, RowFailure,
    SearchRequest, check_import,
};
use crate::graph::client::Api;
use crate::graph::odata::{Query, literal, path_segment};
use crate::graph::{BatchRequest, CallCx, Error, GraphClient, Method};

/// Collection path (beta only).
pub const COLLECTION: &str = "/deviceManagement/importedDeviceIdentities";
/// Application permission for writes.
pub const WRITE_PERMISSION: &str = "DeviceManagementServiceConfig.ReadWrite.All";
/// Application permission for reads.
pub const READ_PERMISSION: &str = "DeviceManagementServiceConfig.Read.All";

/// Path of one row.
pub fn item_path(id: &str) -> String {
    format!("{COLLECTION}/{}", path_segment(id))
}

/// Every Windows (`manufacturerModelSerial`) row, all pages. Filters on the type server-side;
/// Microsoft does not document that filter, so a 400 answer falls back to the whole list
/// (filtered here). Rows of other types are never returned.
pub async fn list_windows(graph: &GraphClient, cx: &CallCx) -> Result<Vec<ImportedDeviceIdentity>, Error> {
    let filtered = Query::new()
        .filter(format!("importedDeviceIdentityType eq {}", literal(IDENTITY_TYPE)))
        .to_path(COLLECTION);
    let rows: Vec<ImportedDeviceIdentity> = match graph.list_all_coalesced(cx, Api::Beta, &filtered).await {
        Ok(rows) => rows,
        Err(e) if e.is_bad_request() => graph.list_all_coalesced(cx, Api::Beta, COLLECTION).await?,
        Err(e) => return Err(e),
    };
    Ok(rows.into_iter().filter(ImportedDeviceIdentity::is_windows_identifier).collect())
}

/// The stored rows matching `devices` (one `searchExistingIdentities` call per chunk).
pub async fn search(
    graph: &GraphClient,
    cx: &CallCx,
    devices: &[DeviceIdentity],
) -> Result<Vec<ImportedDeviceIdentity>, Error> {
    let mut found = Vec::new();
    for chunk in devices.chunks(BATCH_SIZE) {
        let page: IdentityPage = graph
            .post_json(
                cx,
                Api::Beta,
                &format!("{COLLECTION}/searchExistingIdentities"),
                &SearchRequest::new(chunk),
            )
            .await?;
        found.extend(page.value.into_iter().filter(ImportedDeviceIdentity::is_windows_identifier));
    }
    Ok(found)
}

/// What an import run did: rows now in Intune, rows that were not imported, and the error
/// that stopped the run early (later chunks were not sent).
#[derive(Debug, Default)]
pub struct ImportRun {
    pub imported: Vec<ImportedRow>,
    pub failures: Vec<RowFailure>,
    pub stopped: Option<Error>,
    /// Rows never sent because the run stopped.
    pub not_sent: Vec<DeviceIdentity>,
}

/// Import `devices` without overwrite, [`BATCH_SIZE`] rows per call, checking each row.
/// When a call fails without a usable answer, the rows of that chunk that did get created
/// are found with `searchExistingIdentities`, so nothing imported goes unrecorded.
pub async fn import(graph: &GraphClient, cx: &CallCx, devices: &[DeviceIdentity]) -> ImportRun {
    let mut run = ImportRun::default();
    let path = format!("{COLLECTION}/importDeviceIdentityList");
    let mut chunks = devices.chunks(BATCH_SIZE);
    for chunk in chunks.by_ref() {
        match graph.post_json::<_, ImportResponse>(cx, Api::Beta, &path, &ImportRequest::new(chunk)).await {
            Ok(response) => {
                let outcome = check_import(chunk, &response);
                run.imported.extend(outcome.imported);
                run.failures.extend(outcome.failures);
            }
            Err(e) => {
                // The call may have been applied (lost answer) or partly applied: look.
                match find_imported(graph, cx, chunk, e.is_ambiguous()).await {
                    Ok(outcome) => {
                        let complete = outcome.failures.is_empty();
                        run.imported.extend(outcome.imported);
                        if complete && e.is_ambiguous() {
                            // Only the answer was lost: every row is there.
                            continue;
                        }
                        run.not_sent.extend(
                            outcome.failures.iter().filter_map(|f| find(chunk, f.identifier())).cloned(),
                        );
                    }
                    Err(_) => run.not_sent.extend(chunk.iter().cloned()),
                }
                run.stopped = Some(e);
                break;
            }
        }
    }
    for chunk in chunks {
        run.not_sent.extend(chunk.iter().cloned());
    }
    run
}

/// Waits before each search for the rows of an import whose answer was lost: new rows may not
/// be searchable at once (replication lag).
const FIND_IMPORTED_DELAYS: [std::time::Duration; 4] = [
    std::time::Duration::ZERO,
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(4),
];

/// Which rows of `chunk` exist after an import call failed. After a lost answer (`patient`)
/// it searches again while rows are missing, so an import that did happen is recorded
/// instead of being reported as failed.
async fn find_imported(
    graph: &GraphClient,
    cx: &CallCx,
    chunk: &[DeviceIdentity],
    patient: bool,
) -> Result<super::wire::ImportOutcome, Error> {
    let delays = if patient { &FIND_IMPORTED_DELAYS[..] } else { &FIND_IMPORTED_DELAYS[..1] };
    let mut last = None;
    for delay in delays {
        if cx.would_exceed(*delay) || cx.sleep(*delay).await.is_err() {
            break;
        }
        let found = search(graph, cx, chunk).await?;
        let response = ImportResponse {
            value: found
                .into_iter()
                .map(|identity| super::wire::ImportResultRow { identity, status: Some(true) })
                .collect(),
        };
        let outcome = check_import(chunk, &response);
        if outcome.failures.is_empty() {
            return Ok(outcome);
        }
        last = Some(outcome);
    }
    last.ok_or_else(|| {
        Error::new(crate::graph::ErrorKind::Timeout, "no time left to look for the imported rows")
    })
}

fn find<'a>(devices: &'a [DeviceIdentity], identifier: &str) -> Option<&'a DeviceIdentity> {
    devices.iter().find(|d| d.identifier() == identifier)
}

/// The outcome of a `$batch`ed write per row.
#[derive(Debug, Default)]
pub struct BatchRun<T> {
    pub done: Vec<T>,
    /// Rows the write failed for, with Graph's error.
    pub failed: Vec<(T, Error)>,
    /// The envelope error that stopped the run (rows not in `done`/`failed` were not written).
    pub stopped: Option<Error>,
    pub not_sent: Vec<T>,
}

/// Delete `rows` with `$batch`ed DELETEs (20 per envelope). A row already gone (404) counts
/// as deleted.
pub async fn delete(
    graph: &GraphClient,
    cx: &CallCx,
    rows: &[ExistingIdentity],
) -> BatchRun<ExistingIdentity> {
    let requests = |rows: &[ExistingIdentity]| -> Vec<BatchRequest> {
        rows.iter()
            .enumerate()
            .map(|(i, r)| BatchRequest::new(i.to_string(), Method::DELETE, item_path(&r.id)))
            .collect()
    };
    batched(graph, cx, rows, requests, true).await
}

/// Set the description of existing rows (`PATCH` per row, `$batch`ed).
pub async fn update_descriptions(
    graph: &GraphClient,
    cx: &CallCx,
    rows: &[(String, DeviceIdentity)],
) -> BatchRun<(String, DeviceIdentity)> {
    let requests = |rows: &[(String, DeviceIdentity)]| -> Vec<BatchRequest> {
        rows.iter()
            .enumerate()
            .map(|(i, (id, device))| {
                BatchRequest::new(i.to_string(), Method::PATCH, item_path(id))
                    .json(json!({ "description": device.description }))
            })
            .collect()
    };
    batched(graph, cx, rows, requests, false).await
}

/// Envelopes are sent 20 rows at a time so a failing envelope loses track of at most 20.
async fn batched<T: Clone>(
    graph: &GraphClient,
    cx: &CallCx,
    rows: &[T],
    requests: impl Fn(&[T]) -> Vec<BatchRequest>,
    not_found_is_done: bool,
) -> BatchRun<T> {
    let mut run = BatchRun { done: Vec::new(), failed: Vec::new(), stopped: None, not_sent: Vec::new() };
    let mut chunks = rows.chunks(crate::graph::batch::MAX_BATCH);
    for chunk in chunks.by_ref() {
        match graph.batch(cx, Api::Beta, requests(chunk)).await {
            Ok(answers) => {
                for (row, answer) in chunk.iter().zip(answers) {
                    match answer.error() {
                        None => run.done.push(row.clone()),
                        Some(e) if not_found_is_done && e.is_not_found() => run.done.push(row.clone()),
                        Some(e) => run.failed.push((row.clone(), e)),
                    }
                }
            }
            Err(e) => {
                run.not_sent.extend(chunk.iter().cloned());
                run.stopped = Some(e);
                break;
            }
        }
    }
    for chunk in chunks {
        run.not_sent.extend(chunk.iter().cloned());
    }
    run
}
