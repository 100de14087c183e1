//! The Graph calls both assignment resources share: list a parent's assignments, replace them
//! with `/assign`, wait for a written assignment to become visible.
//!
//! Always beta: assignment filters and WinGet settings exist only there, and scripts only
//! exist there.

use std::sync::LazyLock;
use std::time::Duration;

use serde_json::Value as Json;

use crate::framework::resource::Ctx;
use crate::graph::client::{Api, GraphRequest};
use crate::graph::consistency::retry_not_found_with;
use crate::graph::error::Error;
use crate::graph::odata::path_segment;
use crate::graph::retry::RetryPolicy;
use crate::graph::{CallCx, Method};
use crate::resources::ProviderData;
use crate::resources::errors::call_cx;

use super::lock::KeyedLocks;
use super::merge::Collection;
use super::target::TargetKey;
use super::wire::{Found, find_owned};

/// One lock per app or script for the whole provider process: every read → merge → `/assign`
/// on one parent runs alone (ids are GUIDs, unique across tenants, so one registry serves all
/// provider instances).
pub static PARENT_LOCKS: LazyLock<KeyedLocks> = LazyLock::new(KeyedLocks::new);

/// How long to keep looking for an assignment just written before giving up (Intune can
/// answer a list from a replica that has not seen the write yet).
const VISIBILITY_TRIES: u32 = 10;
const VISIBILITY_INTERVAL: Duration = Duration::from_secs(2);

/// The app or script whose assignments are managed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parent {
    App(String),
    Script(String),
}

impl Parent {
    /// Entity path of the parent.
    pub fn path(&self) -> String {
        match self {
            Parent::App(id) => format!("/deviceAppManagement/mobileApps/{}", path_segment(id)),
            Parent::Script(id) => format!("/deviceManagement/deviceManagementScripts/{}", path_segment(id)),
        }
    }

    /// Path of one assignment of the parent.
    pub fn assignment_path(&self, assignment_id: &str) -> String {
        format!("{}/assignments/{}", self.path(), path_segment(assignment_id))
    }

    /// Which `/assign` body.
    pub fn collection(&self) -> Collection {
        match self {
            Parent::App(_) => Collection::MobileApp,
            Parent::Script(_) => Collection::Script,
        }
    }

    /// Key in [`PARENT_LOCKS`].
    pub fn lock_key(&self) -> String {
        match self {
            Parent::App(id) => format!("app:{id}"),
            Parent::Script(id) => format!("script:{id}"),
        }
    }
}

/// Every assignment of `parent` (all pages), raw; `Ok(None)` when the parent does not exist.
pub async fn list(ctx: &Ctx, data: &ProviderData, parent: &Parent) -> Result<Option<Vec<Json>>, Error> {
    let path = format!("{}/assignments", parent.path());
    match data.graph.list_all_coalesced::<Json>(&call_cx(ctx), Api::Beta, &path).await {
        Ok(items) => Ok(Some(items)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Private-state key: when this resource last wrote its assignment (Unix seconds).
const WRITTEN_AT: &str = "written_at";
/// For this long after a write, an assignment missing from a list is taken for replication lag
/// (polled for, see [`wait_for`]) rather than for a deletion.
const RECENT_WRITE_SECS: u64 = 120;

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `private` with the write time set to now.
pub fn stamp_written(private: &[u8]) -> Vec<u8> {
    crate::framework::private::set(private, WRITTEN_AT, Json::from(unix_now()))
}

/// Whether the private state records a write within the last two minutes.
pub fn recently_written(private: &[u8]) -> bool {
    crate::framework::private::get(private, WRITTEN_AT)
        .and_then(|v| v.as_u64())
        .is_some_and(|t| unix_now().saturating_sub(t) < RECENT_WRITE_SECS)
}

/// How long a write path waits for a parent that is not visible yet (a script created moments
/// ago in the same apply: Intune answers 404 until the write has replicated).
const PARENT_VISIBILITY: RetryPolicy =
    RetryPolicy { max_attempts: 8, base_delay: Duration::from_secs(1), max_delay: Duration::from_secs(10) };

/// [`list`] for a write: a 404 is retried with back-off for a bounded time (about 45 s, within
/// the operation's deadline) before the parent is reported missing.
pub async fn list_for_write(
    ctx: &Ctx,
    data: &ProviderData,
    parent: &Parent,
) -> Result<Option<Vec<Json>>, Error> {
    let cx = call_cx(ctx);
    let path = format!("{}/assignments", parent.path());
    let listed =
        retry_not_found_with(&cx, &PARENT_VISIBILITY, || data.graph.list_all::<Json>(&cx, Api::Beta, &path))
            .await;
    match listed {
        Ok(items) => Ok(Some(items)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// `POST …/assign` with a body from [`super::merge::merge`]. Replace-all is idempotent, so a
/// dropped connection may be retried.
pub async fn assign(ctx: &Ctx, data: &ProviderData, parent: &Parent, body: &Json) -> Result<(), Error> {
    let req = GraphRequest::new(Method::POST, Api::Beta, format!("{}/assign", parent.path()))
        .json(body)?
        .idempotent(true);
    data.graph.send(&call_cx(ctx), req).await.map(|_| ())
}

/// After a write: find the assignment with `key` (or `id`), polling while it is not yet
/// visible. `Ok(None)` if it never shows up before the tries or the deadline run out.
pub async fn wait_for(
    ctx: &Ctx,
    data: &ProviderData,
    parent: &Parent,
    id: Option<&str>,
    key: &TargetKey,
) -> Result<Option<Json>, Error> {
    let cx: CallCx = call_cx(ctx);
    for attempt in 0..VISIBILITY_TRIES {
        if attempt > 0 {
            if cx.would_exceed(VISIBILITY_INTERVAL) {
                break;
            }
            cx.sleep(VISIBILITY_INTERVAL).await?;
        }
        let Some(items) = list(ctx, data, parent).await? else {
            return Ok(None);
        };
        match find_owned(&items, id, key) {
            Found::ById(i) | Found::ByTarget(i) => return Ok(items.into_iter().nth(i)),
            Found::Missing => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_stamp_is_recent_and_survives_other_private_keys() {
        assert!(!recently_written(&[]));
        let other = crate::framework::private::set(&[], "other", Json::from("kept"));
        let stamped = stamp_written(&other);
        assert!(recently_written(&stamped));
        assert_eq!(crate::framework::private::get(&stamped, "other"), Some(Json::from("kept")));
        let old =
            crate::framework::private::set(&[], WRITTEN_AT, Json::from(unix_now() - RECENT_WRITE_SECS - 1));
        assert!(!recently_written(&old));
    }
}
