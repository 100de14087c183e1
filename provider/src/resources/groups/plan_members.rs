//! The writes that turn a group's current owners or members into the desired ones, and
//! their packing into JSON `$batch` envelopes.
//!
//! Graph limits that shape the plan:
//! * at most [`MAX_BINDS_PER_REQUEST`] `@odata.bind` relationships per create or PATCH body
//!   (owners and members together on create);
//! * at most 20 requests per `$batch` (packed by the Graph client), which Graph may run in
//!   any order;
//! * "the last owner (a user object) of the group cannot be removed" (group-delete-owners):
//!   a service principal owner does not count, so the rule is about user owners only.
//!
//! Owners are added before any owner is removed, so a replacement never passes through a
//! moment without an owner. A [`ChangePlan`] therefore has two steps, `before` and `after`;
//! a batch never mixes them, and every `after` batch is sent only once all `before` batches
//! have succeeded.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use crate::graph::{Api, BatchRequest, GraphRequest, Method};

use super::object_id::ObjectId;
use super::wire::{
    DirectoryObjectUrls, MAX_BINDS_PER_REQUEST, ObjectKind, Relation, bind_members_body, group_path,
    reference_body, reference_path, references_path,
};

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

/// A request as plain data: method, URL relative to the Graph version, optional JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct PlainRequest {
    pub method: Method,
    pub url: String,
    pub body: Option<Value>,
}

impl PlainRequest {
    /// This request inside a `$batch`, with `id`.
    pub fn into_batch(self, id: String) -> BatchRequest {
        let request = BatchRequest::new(id, self.method, self.url);
        match self.body {
            Some(body) => request.json(body),
            None => request,
        }
    }

    /// This request for [`crate::graph::GraphClient::send`].
    pub fn into_graph(self) -> GraphRequest {
        let mut request = GraphRequest::new(self.method, Api::V1, self.url);
        request.body = self.body;
        request
    }
}

impl GroupOp {
    /// The request carrying out this operation on `group`.
    pub fn request(&self, group: &ObjectId, urls: &DirectoryObjectUrls) -> PlainRequest {
        match self {
            GroupOp::BindMembers(ids) => PlainRequest {
                method: Method::PATCH,
                url: group_path(group),
                body: Some(bind_members_body(ids, urls)),
            },
            GroupOp::AddMember(id) => PlainRequest {
                method: Method::POST,
                url: references_path(group, Relation::Members),
                body: Some(reference_body(id, urls)),
            },
            GroupOp::AddOwner(id) => PlainRequest {
                method: Method::POST,
                url: references_path(group, Relation::Owners),
                body: Some(reference_body(id, urls)),
            },
            GroupOp::Remove(relation, id) => {
                PlainRequest { method: Method::DELETE, url: reference_path(group, *relation, id), body: None }
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

    /// The `$batch` requests of each step (`before`, then `after`); send all of the first
    /// (the Graph client packs them into envelopes of 20) before any of the second. Request
    /// ids are the operation's 1-based position in the plan (`before` then `after`), so an
    /// inner response maps straight back to its operation with [`ChangePlan::operation`].
    pub fn batch_steps(&self, group: &ObjectId, urls: &DirectoryObjectUrls) -> [Vec<BatchRequest>; 2] {
        let step = |ops: &[GroupOp], first: usize| {
            ops.iter()
                .enumerate()
                .map(|(i, op)| op.request(group, urls).into_batch((first + i + 1).to_string()))
                .collect::<Vec<_>>()
        };
        [step(&self.before, 0), step(&self.after, self.before.len())]
    }

    /// The operation a batch request id names (see [`ChangePlan::batch_steps`]).
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
