//! The Graph calls behind the group resources and data sources: create with bound owners,
//! read with retries through eventual consistency, owner/member changes in `$batch`es,
//! and the provisioning client lookup.

use std::collections::{BTreeMap, BTreeSet};

use std::time::Duration;

use crate::graph::consistency::{retry_not_found, retry_not_found_with, wait_until};
use crate::graph::odata::path_segment;
use crate::graph::retry::RetryPolicy;
use crate::graph::{Api, BatchResponse, CallCx, GraphClient};

use super::escape::find_by;
use super::identity::provisioning_client_app_id;
use super::object_id::ObjectId;
use super::plan_members::{ChangePlan, GroupOp, LastOwnerError, split_for_create};
use super::wire::{
    CREATED_GROUP_SELECT, CreateGroup, DirectoryObjectPage, DirectoryObjectRef, DirectoryObjectUrls, Group,
    GroupPage, ListedGroup, ListedGroupPage, NewGroup, NewServicePrincipal, ObjectKind, PatchGroup, Relation,
    SERVICE_PRINCIPAL_SELECT, ServicePrincipal, USER_SELECT, User, group_path, group_read_path, list_path,
    pick_created, service_principal_by_app_id_path, service_principal_path,
};
use crate::resources::observed::Observed;

/// Waits before each look-up for a group whose create answer was lost (replication lag).
const FIND_CREATED_DELAYS: [Duration; 4] =
    [Duration::ZERO, Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)];
/// How far the server's clock may be behind ours when comparing creation times.
const CREATED_CLOCK_SKEW: time::Duration = time::Duration::minutes(5);
/// How long a refresh waits for a group created moments ago before taking a 404 as deleted:
/// about 30 s (1 + 2 + 4 + 8 + 8 + 8).
pub const NEW_GROUP_VISIBILITY: RetryPolicy =
    RetryPolicy { max_attempts: 7, base_delay: Duration::from_secs(1), max_delay: Duration::from_secs(8) };

/// How often to re-read while waiting for a write to become visible.
const CONFIRM_INTERVAL: Duration = Duration::from_secs(2);
/// Reads in a row that must show a change before it counts as visible (replicas lag
/// independently, so one good read can be followed by a stale one).
const CONFIRMATIONS: u32 = 2;

/// What can go wrong in a group operation; turned into diagnostics by the resources.
#[derive(Debug, thiserror::Error)]
pub enum GroupsError {
    #[error(transparent)]
    Graph(#[from] crate::graph::Error),
    #[error(transparent)]
    LastOwner(#[from] LastOwnerError),
    #[error(
        "the Intune Provisioning Client service principal (appId f1346770-5b25-470b-88bd-d5744ab7952c) does not exist \
         in this tenant. Set create_provisioning_client_if_missing = true to let the provider create it (needs the \
         Application.ReadWrite.All permission), or create it once with New-MgServicePrincipal -AppId \
         f1346770-5b25-470b-88bd-d5744ab7952c"
    )]
    ProvisioningClientMissing,
    #[error(
        "could not create the Intune Provisioning Client service principal: {0}. Creating it needs the \
         Application.ReadWrite.All permission; alternatively an administrator can run New-MgServicePrincipal -AppId \
         f1346770-5b25-470b-88bd-d5744ab7952c once"
    )]
    ProvisioningClientNotCreated(crate::graph::Error),
    #[error("{}", .0.join("; "))]
    Unplannable(Vec<String>),
    #[error("{} owner or member change(s) failed: {}", .0.len(), describe_failures(.0))]
    Changes(Vec<ChangeFailure>),
    #[error(
        "the group's {relation} did not reach the planned set before the deadline (still missing: {missing}; still present: {extra}){hint}"
    )]
    NotConverged { relation: &'static str, missing: String, extra: String, hint: String },
}

/// A group [`GroupsApi::create_group`] made.
#[derive(Debug)]
pub struct Created {
    pub group: Group,
    /// Every owner and member was bound in the create request itself: Graph answered with the
    /// whole object, so there is nothing to wait for. Otherwise the rest went in later writes.
    pub complete: bool,
}

/// One write of a change plan that Graph refused.
#[derive(Debug)]
pub struct ChangeFailure {
    pub operation: String,
    pub error: crate::graph::Error,
}

fn describe_failures(failures: &[ChangeFailure]) -> String {
    failures.iter().map(|f| format!("{}: {}", f.operation, f.error)).collect::<Vec<_>>().join("; ")
}

fn describe_op(op: &GroupOp) -> String {
    match op {
        GroupOp::BindMembers(ids) => format!("add {} member(s)", ids.len()),
        GroupOp::AddMember(id) => format!("add member {id}"),
        GroupOp::AddOwner(id) => format!("add owner {id}"),
        GroupOp::Remove(relation, id) => format!("remove {} {id}", relation_noun(*relation)),
    }
}

fn relation_noun(relation: Relation) -> &'static str {
    match relation {
        Relation::Owners => "owner",
        Relation::Members => "member",
    }
}

/// Group operations for one call (one Terraform operation, bounded by its deadline).
pub struct GroupsApi<'a> {
    client: &'a GraphClient,
    cx: CallCx,
    urls: DirectoryObjectUrls,
    confirm_interval: Duration,
}

impl<'a> GroupsApi<'a> {
    pub fn new(client: &'a GraphClient, cx: CallCx) -> Self {
        let urls = DirectoryObjectUrls::new(&client.config().graph_endpoint);
        Self { client, cx, urls, confirm_interval: CONFIRM_INTERVAL }
    }

    /// Re-read interval while waiting for visibility (tests use a short one).
    #[must_use]
    pub fn with_confirm_interval(mut self, interval: Duration) -> Self {
        self.confirm_interval = interval;
        self
    }

    /// The bind URL builder for this client's endpoint.
    pub fn urls(&self) -> &DirectoryObjectUrls {
        &self.urls
    }

    /// The service principal of `app_id` in this tenant, if any.
    pub async fn service_principal_by_app_id(
        &self,
        app_id: &ObjectId,
    ) -> Result<Option<ServicePrincipal>, crate::graph::Error> {
        not_found_as_none(
            self.client
                .get_json_coalesced(&self.cx, Api::V1, &service_principal_by_app_id_path(app_id))
                .await,
        )
    }

    /// The service principal with object id `id`, if any.
    pub async fn service_principal(
        &self,
        id: &ObjectId,
    ) -> Result<Option<ServicePrincipal>, crate::graph::Error> {
        not_found_as_none(
            self.client.get_json_coalesced(&self.cx, Api::V1, &service_principal_path(id)).await,
        )
    }

    /// The Intune Provisioning Client, created first when missing and `create_if_missing`.
    /// Found once per provider instance (`seen`): a device group's plan and its create both
    /// need it, and the second lookup sat at the head of every apply's critical path. A missing
    /// one is not remembered.
    pub async fn provisioning_client(
        &self,
        seen: &Observed,
        create_if_missing: bool,
    ) -> Result<ServicePrincipal, GroupsError> {
        if let Some(sp) = seen.provisioning_client() {
            return Ok(sp);
        }
        let sp = self.find_or_create_provisioning_client(create_if_missing).await?;
        seen.remember_provisioning_client(&sp);
        Ok(sp)
    }

    async fn find_or_create_provisioning_client(
        &self,
        create_if_missing: bool,
    ) -> Result<ServicePrincipal, GroupsError> {
        let app_id = provisioning_client_app_id();
        if let Some(sp) = self.service_principal_by_app_id(&app_id).await? {
            return Ok(sp);
        }
        if !create_if_missing {
            return Err(GroupsError::ProvisioningClientMissing);
        }
        let body = NewServicePrincipal { app_id: app_id.to_string() };
        match self
            .client
            .post_json::<_, ServicePrincipal>(&self.cx, Api::V1, "/servicePrincipals", &body)
            .await
        {
            Ok(sp) => Ok(sp),
            // Created concurrently (409), or an earlier attempt whose answer was lost: look again,
            // waiting out replication.
            Err(e) if e.is_conflict() || e.is_ambiguous() => Ok(retry_not_found(&self.cx, || async {
                self.service_principal_by_app_id(&app_id)
                    .await?
                    .ok_or_else(|| crate::graph::Error::from_response(404, None, b""))
            })
            .await?),
            Err(e) if e.is_forbidden() => Err(GroupsError::ProvisioningClientNotCreated(e)),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates an assigned security group with `owners` (order kept: the first are bound in
    /// the create request) and `members`, and applies what did not fit in the create request
    /// (after waiting until the group can be read: those writes address it by id). The group
    /// is Graph's create answer when everything fitted (no read-back: the create binds are part
    /// of the new object; [`Created::complete`]). On an error after the create, the group id is
    /// in `Err((Some(id), _))` so the caller can keep it in state.
    pub async fn create_group(
        &self,
        new: &NewGroup,
        owners: &[ObjectId],
        members: &[ObjectId],
    ) -> Result<Created, (Option<ObjectId>, GroupsError)> {
        let split = split_for_create(owners, members);
        let body = CreateGroup::new(new, &split.owners, &split.members, &self.urls).map_err(|e| {
            (
                None,
                GroupsError::Graph(crate::graph::Error::new(crate::graph::ErrorKind::Config, e.to_string())),
            )
        })?;
        let sent_at = time::OffsetDateTime::now_utc();
        let created: Group = match self.client.post_json(&self.cx, Api::V1, "/groups", &body).await {
            Ok(group) => group,
            // The group may exist without us knowing its id: adopt it rather than leave an
            // orphan that the next apply would duplicate.
            Err(e) if e.is_ambiguous() => match self.find_created(new, sent_at).await {
                Some(found) => {
                    tracing::info!(id = %found.id, "adopted the group created by an unanswered POST");
                    Group { id: found.id, ..Group::default() }
                }
                None => return Err((None, e.into())),
            },
            Err(e) => return Err((None, e.into())),
        };
        let id = ObjectId::parse(&created.id).map_err(|e| {
            (
                None,
                GroupsError::Graph(crate::graph::Error::new(
                    crate::graph::ErrorKind::InvalidResponse,
                    e.to_string(),
                )),
            )
        })?;
        if split.rest.is_empty() {
            return Ok(Created { group: created, complete: true });
        }
        let fail = |e: GroupsError| (Some(id.clone()), e);
        let group = self.wait_for_group(&id).await.map_err(|e| fail(e.into()))?;
        self.apply(&id, &split.rest).await.map_err(fail)?;
        Ok(Created { group, complete: false })
    }

    /// After a create whose answer was lost: the group it made, looked for a few times (a new
    /// group may not be listed at once) by `mailNickname`, display name and creation time.
    async fn find_created(&self, new: &NewGroup, sent_at: time::OffsetDateTime) -> Option<ListedGroup> {
        let floor = sent_at - CREATED_CLOCK_SKEW;
        let path = find_by("/groups", "mailNickname", &new.mail_nickname, CREATED_GROUP_SELECT);
        for delay in FIND_CREATED_DELAYS {
            if self.cx.would_exceed(delay) || self.cx.sleep(delay).await.is_err() {
                return None;
            }
            if let Ok(page) = self.client.get_json::<ListedGroupPage>(&self.cx, Api::V1, &path).await
                && let Some(found) = pick_created(&page.value, new, floor)
            {
                return Some(found.clone());
            }
        }
        None
    }

    /// The group, or `None` when it does not exist.
    pub async fn read_group(&self, id: &ObjectId) -> Result<Option<Group>, crate::graph::Error> {
        not_found_as_none(self.client.get_json_coalesced(&self.cx, Api::V1, &group_read_path(id)).await)
    }

    /// The group, or `None` when it still does not exist after a bounded wait
    /// ([`NEW_GROUP_VISIBILITY`]): for the refresh of a group created moments ago, which a
    /// lagging replica may not know yet.
    pub async fn read_new_group(&self, id: &ObjectId) -> Result<Option<Group>, crate::graph::Error> {
        let path = group_read_path(id);
        not_found_as_none(
            retry_not_found_with(&self.cx, &NEW_GROUP_VISIBILITY, || {
                self.client.get_json(&self.cx, Api::V1, &path)
            })
            .await,
        )
    }

    /// The group, retrying "not found" until the deadline (right after create).
    pub async fn wait_for_group(&self, id: &ObjectId) -> Result<Group, crate::graph::Error> {
        let path = group_read_path(id);
        retry_not_found(&self.cx, || self.client.get_json(&self.cx, Api::V1, &path)).await
    }

    /// Sends `patch` unless it is empty.
    pub async fn patch_group(&self, id: &ObjectId, patch: &PatchGroup) -> Result<(), crate::graph::Error> {
        if patch.is_empty() {
            return Ok(());
        }
        self.client.patch_json::<_, ()>(&self.cx, Api::V1, &group_path(id), &patch.to_json()).await
    }

    /// Deletes the group; an already deleted group is fine.
    pub async fn delete_group(&self, id: &ObjectId) -> Result<(), crate::graph::Error> {
        match self.client.delete(&self.cx, Api::V1, &group_path(id)).await {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }

    /// All owners or members (pages of 999, only the properties we use).
    pub async fn list(
        &self,
        group: &ObjectId,
        relation: Relation,
    ) -> Result<Vec<DirectoryObjectRef>, crate::graph::Error> {
        self.client.list_all_coalesced(&self.cx, Api::V1, &list_path(group, relation)).await
    }

    /// The ids of all owners or members.
    pub async fn list_ids(
        &self,
        group: &ObjectId,
        relation: Relation,
    ) -> Result<BTreeSet<ObjectId>, crate::graph::Error> {
        Ok(self.list(group, relation).await?.iter().filter_map(DirectoryObjectRef::object_id).collect())
    }

    /// Whether `object` is currently one of the group's owners or members: one filtered
    /// request (`$filter=id eq '…'`), however large the group.
    pub async fn contains(
        &self,
        group: &ObjectId,
        relation: Relation,
        object: &ObjectId,
    ) -> Result<bool, crate::graph::Error> {
        let path = find_by(&format!("/groups/{group}/{}", relation.segment()), "id", object.as_str(), "id");
        let page: DirectoryObjectPage = self.client.get_json_coalesced(&self.cx, Api::V1, &path).await?;
        Ok(page.value.iter().any(|o| o.id.eq_ignore_ascii_case(object.as_str())))
    }

    /// Adds one owner or member with `POST …/$ref`, retrying while the group or the object is
    /// not visible yet. "Already there" (400) counts as done when a read confirms it.
    pub async fn add_reference(
        &self,
        group: &ObjectId,
        relation: Relation,
        object: &ObjectId,
    ) -> Result<(), crate::graph::Error> {
        let op = match relation {
            Relation::Owners => GroupOp::AddOwner(object.clone()),
            Relation::Members => GroupOp::AddMember(object.clone()),
        };
        let request = op.request(group, &self.urls);
        let sent = retry_not_found(&self.cx, || {
            let request = request.clone().into_graph();
            async move { self.client.send(&self.cx, request).await }
        })
        .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.is_bad_request() && self.contains(group, relation, object).await? => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes one owner or member; already removed is fine.
    pub async fn remove_reference(
        &self,
        group: &ObjectId,
        relation: Relation,
        object: &ObjectId,
    ) -> Result<(), crate::graph::Error> {
        match self
            .client
            .delete(&self.cx, Api::V1, &super::wire::reference_path(group, relation, object))
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }

    /// Sends the plan's `before` step, then (only if it fully succeeded) its `after` step.
    /// Additions Graph refuses with 400 (typically "already exists") and removals of objects
    /// already gone (404) are not failures here: the caller confirms the result by reading.
    /// A refused members bind (all or nothing) is retried member by member, so one existing
    /// or missing member neither blocks nor hides the other nineteen.
    pub async fn apply(&self, group: &ObjectId, plan: &ChangePlan) -> Result<(), GroupsError> {
        let [before, after] = plan.batch_steps(group, &self.urls);
        for step in [before, after] {
            if step.is_empty() {
                continue;
            }
            let mut failures = Vec::new();
            let mut one_by_one = Vec::new();
            for response in self.client.batch(&self.cx, Api::V1, step).await? {
                let Some(op) = plan.operation(&response.id) else { continue };
                match classify(op, &response) {
                    Outcome::Done => {}
                    Outcome::Failed(error) => {
                        failures.push(ChangeFailure { operation: describe_op(op), error })
                    }
                    Outcome::OneByOne(ids) => one_by_one.extend(ids.iter().cloned().map(GroupOp::AddMember)),
                }
            }
            if !one_by_one.is_empty() {
                let retry = ChangePlan { before: one_by_one, after: Vec::new() };
                let [requests, _] = retry.batch_steps(group, &self.urls);
                for response in self.client.batch(&self.cx, Api::V1, requests).await? {
                    let Some(op) = retry.operation(&response.id) else { continue };
                    if let Outcome::Failed(error) = classify(op, &response) {
                        failures.push(ChangeFailure { operation: describe_op(op), error });
                    }
                }
            }
            if !failures.is_empty() {
                return Err(GroupsError::Changes(failures));
            }
        }
        Ok(())
    }

    /// Waits until the group's `relation` equals `desired` in consecutive reads.
    pub async fn wait_for_set(
        &self,
        group: &ObjectId,
        relation: Relation,
        desired: &BTreeSet<ObjectId>,
    ) -> Result<(), GroupsError> {
        self.wait_for_ids(group, relation, desired, true).await.map(|_| ())
    }

    /// Waits until every id of `desired` shows in the group's `relation` (others may be there
    /// too, e.g. a signed-in caller Graph added as owner); returns the set last read.
    pub async fn wait_for_all_of(
        &self,
        group: &ObjectId,
        relation: Relation,
        desired: &BTreeSet<ObjectId>,
    ) -> Result<BTreeSet<ObjectId>, GroupsError> {
        self.wait_for_ids(group, relation, desired, false).await
    }

    async fn wait_for_ids(
        &self,
        group: &ObjectId,
        relation: Relation,
        desired: &BTreeSet<ObjectId>,
        exact: bool,
    ) -> Result<BTreeSet<ObjectId>, GroupsError> {
        // The last set seen, to say what differs if the deadline passes.
        let last_seen = std::sync::Mutex::new(BTreeSet::new());
        let waited = wait_until(&self.cx, self.confirm_interval, CONFIRMATIONS, || async {
            let actual = self.list_ids(group, relation).await?;
            let done = if exact { &actual == desired } else { desired.is_subset(&actual) };
            if let Ok(mut seen) = last_seen.lock() {
                *seen = actual;
            }
            Ok(done)
        })
        .await;
        let actual = last_seen.lock().map(|s| s.clone()).unwrap_or_default();
        match waited {
            Ok(()) => Ok(actual),
            Err(e) if e.is_timeout_or_cancelled() => Err(not_converged(relation, desired, &actual)),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits until `object` is (or is no longer) one of the group's `relation`.
    pub async fn wait_for_membership(
        &self,
        group: &ObjectId,
        relation: Relation,
        object: &ObjectId,
        present: bool,
    ) -> Result<(), crate::graph::Error> {
        wait_until(&self.cx, self.confirm_interval, CONFIRMATIONS, || async {
            Ok(self.contains(group, relation, object).await? == present)
        })
        .await
    }

    /// The kinds of existing directory objects among `ids` (`POST /directoryObjects/getByIds`,
    /// 1,000 ids per request); missing objects are absent from the answer.
    pub async fn kinds(
        &self,
        ids: &[ObjectId],
    ) -> Result<BTreeMap<ObjectId, ObjectKind>, crate::graph::Error> {
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(1000) {
            let body = serde_json::json!({ "ids": chunk.iter().map(ObjectId::as_str).collect::<Vec<_>>() });
            // A read despite the POST: it may share a `$batch` with other plan-time lookups.
            let page: DirectoryObjectPage = self
                .client
                .post_read_coalesced(&self.cx, Api::V1, "/directoryObjects/getByIds", Some(body))
                .await?;
            out.extend(page.value.iter().filter_map(|o| Some((o.object_id()?, o.kind()))));
        }
        Ok(out)
    }

    /// Groups whose display name is exactly `name` (Graph's `eq` is case-insensitive).
    pub async fn groups_named(&self, name: &str) -> Result<Vec<Group>, crate::graph::Error> {
        let path = find_by("/groups", "displayName", name, super::wire::GROUP_SELECT);
        let page: GroupPage = self.client.get_json_coalesced(&self.cx, Api::V1, &path).await?;
        // A second page only matters for "more than one"; the first answers that.
        Ok(page.value)
    }

    /// The user with object id or user principal name `key`, if any.
    pub async fn user(&self, key: &str) -> Result<Option<User>, crate::graph::Error> {
        let path = format!("/users/{}?$select={USER_SELECT}", path_segment(key));
        not_found_as_none(self.client.get_json_coalesced(&self.cx, Api::V1, &path).await)
    }

    /// Service principals listing with an `appId` filter (used when the alternate-key form is
    /// not served, e.g. by older emulators).
    pub async fn service_principals_with_app_id(
        &self,
        app_id: &ObjectId,
    ) -> Result<Vec<ServicePrincipal>, crate::graph::Error> {
        let path = find_by("/servicePrincipals", "appId", app_id.as_str(), SERVICE_PRINCIPAL_SELECT);
        self.client.list_all_coalesced(&self.cx, Api::V1, &path).await
    }

    /// One page of owners or members (tests and diagnostics).
    pub async fn first_page(
        &self,
        group: &ObjectId,
        relation: Relation,
    ) -> Result<DirectoryObjectPage, crate::graph::Error> {
        self.client.get_json(&self.cx, Api::V1, &list_path(group, relation)).await
    }
}

/// What one answered operation means for the plan.
enum Outcome<'a> {
    Done,
    Failed(crate::graph::Error),
    OneByOne(&'a [ObjectId]),
}

fn classify<'a>(op: &'a GroupOp, response: &BatchResponse) -> Outcome<'a> {
    let Some(error) = response.error() else { return Outcome::Done };
    match op {
        GroupOp::Remove(..) if error.is_not_found() => Outcome::Done,
        GroupOp::AddOwner(_) | GroupOp::AddMember(_) if error.is_bad_request() => Outcome::Done,
        GroupOp::BindMembers(ids) if error.is_bad_request() || error.is_not_found() => Outcome::OneByOne(ids),
        _ => Outcome::Failed(error),
    }
}

fn not_converged(
    relation: Relation,
    desired: &BTreeSet<ObjectId>,
    actual: &BTreeSet<ObjectId>,
) -> GroupsError {
    let list = |ids: Vec<&ObjectId>| {
        if ids.is_empty() {
            "none".to_owned()
        } else {
            ids.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", ")
        }
    };
    let missing: Vec<&ObjectId> = desired.difference(actual).collect();
    let extra: Vec<&ObjectId> = actual.difference(desired).collect();
    let hint = if missing.is_empty() {
        String::new()
    } else {
        "; check that the missing ids are existing users, groups, devices or service principals".to_owned()
    };
    GroupsError::NotConverged {
        relation: relation.segment(),
        missing: list(missing),
        extra: list(extra),
        hint,
    }
}

fn not_found_as_none<T>(result: Result<T, crate::graph::Error>) -> Result<Option<T>, crate::graph::Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
