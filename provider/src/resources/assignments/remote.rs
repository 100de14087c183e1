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
use crate::graph::error::Error;
use crate::graph::odata::path_segment;
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
    match data.graph.list_all::<Json>(&call_cx(ctx), Api::Beta, &path).await {
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
