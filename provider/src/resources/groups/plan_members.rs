//! The writes that turn a group's current owners or members into the desired ones, and
//! their packing into JSON `$batch` envelopes.
//!
//! Graph limits that shape the plan:
//! * at most [`MAX_BINDS_PER_REQUEST`] `@odata.bind` relationships per create or PATCH body
//!   (owners and members together on create);
//! * at most [`MAX_BATCH_REQUESTS`] requests per `$batch`, which Graph may run in any order;
//! * "the last owner (a user object) of the group cannot be removed" (group-delete-owners):
//!   a service principal owner does not count, so the rule is about user owners only.
//!
//! Owners are added before any owner is removed, so a replacement never passes through a
//! moment without an owner. A [`ChangePlan`] therefore has two steps, `before` and `after`;
//! a batch never mixes them, and every `after` batch is sent only once all `before` batches
//! have succeeded.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::object_id::ObjectId;
use super::wire::{
    DirectoryObjectUrls, MAX_BINDS_PER_REQUEST, ObjectKind, Relation, bind_members_body, group_path,
    reference_body, reference_path, references_path,
};

/// Graph's limit on requests in one `$batch`.
pub const MAX_BATCH_REQUESTS: usize = 20;

/// One write to a group's owners or members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupOp {
    /// `PATCH /groups/{id}` with `members@odata.bind` (1 to 20 ids, all or nothing).
    BindMembers(Vec<ObjectId>),
    /// `POST /groups/{id}/members/$ref` (one member; the single-membership resource).
    AddMember(ObjectId),
    /// `POST /groups/{id}/owners/$ref` (Graph documents no bulk bind for owners after create).
    AddOwner(ObjectId),
    /// `DELETE /groups/{id}/owners|members/{object}/$ref`.
    Remove(Relation, ObjectId),
}

/// HTTP methods the plan uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A request as plain data: method, URL relative to the Graph version, optional JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct PlainRequest {
    pub method: Method,
    pub url: String,
    pub body: Option<Value>,
}

impl GroupOp {
    /// The request carrying out this operation on `group`.
    pub fn request(&self, group: &ObjectId, urls: &DirectoryObjectUrls) -> PlainRequest {
        match self {
            GroupOp::BindMembers(ids) => PlainRequest {
                method: Method::Patch,
                url: group_path(group),
                body: Some(bind_members_body(ids, urls)),
            },
            GroupOp::AddMember(id) => PlainRequest {
                method: Method::Post,
                url: references_path(group, Relation::Members),
                body: Some(reference_body(id, urls)),
            },
            GroupOp::AddOwner(id) => PlainRequest {
                method: Method::Post,
                url: references_path(group, Relation::Owners),
                body: Some(reference_body(id, urls)),
            },
            GroupOp::Remove(relation, id) => {
                PlainRequest { method: Method::Delete, url: reference_path(group, *relation, id), body: None }
            }
        }
    }

    /// How many relationships this operation changes.
    pub fn relationship_count(&self) -> usize {
        match self {
            GroupOp::BindMembers(ids) => ids.len(),
            GroupOp::AddMember(_) | GroupOp::AddOwner(_) | GroupOp::Remove(..) => 1,
        }
    }
}

/// Ordered writes: every `before` operation must have succeeded before any `after` one is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangePlan {
    pub before: Vec<GroupOp>,
    pub after: Vec<GroupOp>,
}

impl ChangePlan {
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }

    /// Both plans' steps, `self`'s operations first within each step.
    pub fn merge(mut self, other: ChangePlan) -> ChangePlan {
        self.before.extend(other.before);
        self.after.extend(other.after);
        self
    }

    /// The `$batch` envelopes to send, in order: `before` batches, then `after` batches.
    /// Request ids are the operation's 1-based position in the plan (`before` then `after`),
    /// so an inner response maps straight back to its operation.
    pub fn batches(&self, group: &ObjectId, urls: &DirectoryObjectUrls) -> Vec<BatchEnvelope> {
        let requests = |ops: &[GroupOp]| ops.iter().map(|op| op.request(group, urls)).collect::<Vec<_>>();
        let mut envelopes = pack_batches(&requests(&self.before), 0);
        envelopes.extend(pack_batches(&requests(&self.after), self.before.len()));
        envelopes
    }

    /// The operation a batch request id names (see [`ChangePlan::batches`]).
    pub fn operation(&self, request_id: &str) -> Option<&GroupOp> {
        let position: usize = request_id.parse().ok()?;
        let index = position.checked_sub(1)?;
        self.before.get(index).or_else(|| self.after.get(index.checked_sub(self.before.len())?))
    }
}

/// Adds and removals that make the members `desired` (authoritative). Additions go in
/// PATCH binds of up to 20, sorted by id so plans are reproducible.
pub fn member_changes(current: &BTreeSet<ObjectId>, desired: &BTreeSet<ObjectId>) -> ChangePlan {
    let added: Vec<ObjectId> = desired.difference(current).cloned().collect();
    let mut before = bind_chunks(&added);
    before.extend(current.difference(desired).map(|id| GroupOp::Remove(Relation::Members, id.clone())));
    ChangePlan { before, after: Vec::new() }
}

/// Removing these owners would leave the group without a user owner, which Graph refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the plan removes every user owner of the group ({}) without adding another user owner; \
     Graph does not allow removing a group's last user owner (a service principal owner does not count). \
     Keep one of them in `owners`, or add another user as owner in the same change",
    .removed_users.iter().map(ObjectId::as_str).collect::<Vec<_>>().join(", ")
)]
pub struct LastOwnerError {
    /// The current user owners the plan would remove, sorted.
    pub removed_users: Vec<ObjectId>,
}

/// Adds and removals that make the owners `desired` (authoritative): adds in `before`,
/// removals in `after`.
///
/// `current` maps each present owner to its kind (from the owners list). `added_kinds` holds
/// the kinds the caller resolved for owners being added; an added owner missing from it
/// counts as a possible user, so the check errs only when Graph would certainly refuse.
pub fn owner_changes(
    current: &BTreeMap<ObjectId, ObjectKind>,
    desired: &BTreeSet<ObjectId>,
    added_kinds: &BTreeMap<ObjectId, ObjectKind>,
) -> Result<ChangePlan, LastOwnerError> {
    let current_users: Vec<ObjectId> =
        current.iter().filter(|(_, kind)| **kind == ObjectKind::User).map(|(id, _)| id.clone()).collect();
    let keeps_possible_user = desired.iter().any(|id| {
        let kind = current.get(id).or_else(|| added_kinds.get(id)).unwrap_or(&ObjectKind::Unknown);
        matches!(kind, ObjectKind::User | ObjectKind::Unknown)
    });
    if !current_users.is_empty() && !keeps_possible_user {
        return Err(LastOwnerError { removed_users: current_users });
    }
    let before = desired
        .iter()
        .filter(|id| !current.contains_key(*id))
        .map(|id| GroupOp::AddOwner(id.clone()))
        .collect();
    let after = current
        .keys()
        .filter(|id| !desired.contains(*id))
        .map(|id| GroupOp::Remove(Relation::Owners, id.clone()))
        .collect();
    Ok(ChangePlan { before, after })
}

/// Which relationships go into the create body, and what follows once the group exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateSplit {
    /// Bound in the create body (`owners@odata.bind`).
    pub owners: Vec<ObjectId>,
    /// Bound in the create body (`members@odata.bind`).
    pub members: Vec<ObjectId>,
    /// Everything that did not fit, all in `before` (nothing is removed after a create).
    pub rest: ChangePlan,
}

/// Fills the create body's 20 relationships with owners first (in the given order, so a
/// required owner such as the provisioning client listed first is always bound at create),
/// then members; duplicates are dropped.
pub fn split_for_create(owners: &[ObjectId], members: &[ObjectId]) -> CreateSplit {
    let owners = dedup(owners);
    let members = dedup(members);
    let owners_now = owners.len().min(MAX_BINDS_PER_REQUEST);
    let members_now = members.len().min(MAX_BINDS_PER_REQUEST - owners_now);
    let mut before: Vec<GroupOp> = owners[owners_now..].iter().cloned().map(GroupOp::AddOwner).collect();
    before.extend(bind_chunks(&members[members_now..]));
    CreateSplit {
        owners: owners[..owners_now].to_vec(),
        members: members[..members_now].to_vec(),
        rest: ChangePlan { before, after: Vec::new() },
    }
}

/// A JSON `$batch` request body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatchEnvelope {
    pub requests: Vec<BatchRequest>,
}

/// One request inside a `$batch`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatchRequest {
    pub id: String,
    pub method: &'static str,
    pub url: String,
    /// Graph requires `Content-Type` on every inner request with a body.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<&'static str, &'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// Packs independent requests into envelopes of at most [`MAX_BATCH_REQUESTS`], keeping their
/// order; ids are `first_id + position`, 1-based.
pub fn pack_batches(requests: &[PlainRequest], first_id: usize) -> Vec<BatchEnvelope> {
    requests
        .chunks(MAX_BATCH_REQUESTS)
        .enumerate()
        .map(|(chunk_index, chunk)| BatchEnvelope {
            requests: chunk
                .iter()
                .enumerate()
                .map(|(i, request)| {
                    let position = first_id + chunk_index * MAX_BATCH_REQUESTS + i + 1;
                    let mut headers = BTreeMap::new();
                    if request.body.is_some() {
                        headers.insert("Content-Type", "application/json");
                    }
                    BatchRequest {
                        id: position.to_string(),
                        method: request.method.as_str(),
                        url: request.url.clone(),
                        headers,
                        body: request.body.clone(),
                    }
                })
                .collect(),
        })
        .collect()
}

fn bind_chunks(ids: &[ObjectId]) -> Vec<GroupOp> {
    ids.chunks(MAX_BINDS_PER_REQUEST).map(|chunk| GroupOp::BindMembers(chunk.to_vec())).collect()
}

fn dedup(ids: &[ObjectId]) -> Vec<ObjectId> {
    let mut seen = HashSet::new();
    ids.iter().filter(|id| seen.insert(*id)).cloned().collect()
}

#[cfg(test)]
#[path = "plan_members_tests.rs"]
mod tests;
