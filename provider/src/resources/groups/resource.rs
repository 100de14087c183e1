//! `autopilot_group` and `autopilot_device_group`: one implementation, two flavours.
//!
//! Both create an assigned, mail-disabled, security-enabled, not role-assignable group.
//! `owners` and (for `autopilot_group`) `members` are authoritative when set and not managed
//! when unset. The device group is additionally owned by the Intune Provisioning Client,
//! bound in the create request (so there is never a moment without it), re-added when
//! someone removes it, and never has its members managed (device preparation adds devices).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use crate::framework::diag::Diagnostic;
use crate::framework::path::AttributePath;
use crate::framework::resource::{
    CreateRequest, Ctx, DeleteRequest, ImportResult, ModifyPlanRequest, ModifyPlanResponse, ReadRequest,
    Resource, StateResult, UpdateRequest,
};
use crate::framework::schema::Schema;
use crate::framework::value::ObjectBuilder;
use crate::framework::{Diagnostics, Value};
use crate::resources::ProviderData;
use crate::resources::errors::{Op, call_cx, graph_diagnostic};
use crate::resources::fresh::{recently_created, stamp_created};

use super::api::{GroupsApi, GroupsError};
use super::created::CreatedGroup;
use super::identity::{check_device_group, is_provisioning_client};
use super::nickname;
use super::object_id::ObjectId;
use super::plan_members::{ChangePlan, member_changes, owner_changes};
pub use super::schema::{Flavour, schema};
use super::wire::{Group, NewGroup, ObjectKind, PatchGroup, Relation};

/// `autopilot_group` or `autopilot_device_group`.
#[derive(Debug, Clone, Copy)]
pub struct GroupResource {
    flavour: Flavour,
}

impl GroupResource {
    pub fn group() -> Self {
        Self { flavour: Flavour::Group }
    }

    pub fn device_group() -> Self {
        Self { flavour: Flavour::DeviceGroup }
    }
}

/// The configured/planned/state values the resource works with.
#[derive(Clone, Debug, Default)]
struct Model {
    display_name: String,
    description: Option<String>,
    mail_nickname: Option<String>,
    /// `None`: not managed. Spelled as configured.
    owners: Option<Vec<String>>,
    members: Option<Vec<String>>,
    prevent_duplicate_names: bool,
    create_provisioning_client: bool,
}

impl Model {
    fn from_value(v: &Value) -> Self {
        Self {
            display_name: v.get_str("display_name").unwrap_or_default().to_owned(),
            description: v.get_str("description").map(str::to_owned),
            mail_nickname: v.get_str("mail_nickname").map(str::to_owned),
            owners: v.get_string_set("owners"),
            members: v.get_string_set("members"),
            prevent_duplicate_names: v.get_bool("prevent_duplicate_names").unwrap_or(false),
            create_provisioning_client: v.get_bool("create_provisioning_client_if_missing").unwrap_or(false),
        }
    }

    fn new_group(&self) -> NewGroup {
        NewGroup {
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            mail_nickname: self.mail_nickname.clone().unwrap_or_else(|| nickname::derive(&self.display_name)),
        }
    }
}

/// Parses configured ids (validated as GUIDs already).
fn ids(spelled: &[String]) -> Result<BTreeSet<ObjectId>, Diagnostic> {
    spelled
        .iter()
        .map(|s| ObjectId::parse(s).map_err(|e| Diagnostic::error("Invalid object id", e.to_string())))
        .collect()
}

/// `actual` spelled as in `prior` where they agree (ids compare case-insensitively, and
/// Terraform must see the configured spelling back), sorted for stable output.
fn spell_like(actual: &BTreeSet<ObjectId>, prior: Option<&[String]>) -> Vec<String> {
    let by_canonical: BTreeMap<String, &String> =
        prior.unwrap_or_default().iter().map(|s| (s.to_ascii_lowercase(), s)).collect();
    actual
        .iter()
        .map(|id| by_canonical.get(id.as_str()).map_or_else(|| id.to_string(), |s| (*s).clone()))
        .collect()
}

/// Least-privileged application permissions, named in 403 diagnostics.
const READ: &str = "Group.Read.All";
const WRITE: &str = "Group.ReadWrite.All";
const SP_READ: &str = "Application.Read.All";

fn op<'a>(action: &'a str, permission: &'a str) -> Op<'a> {
    Op { action, permission, delegated_role: Some("Groups Administrator") }
}

/// The one conversion of group errors into diagnostics (Graph errors through
/// [`graph_diagnostic`], which adds permission and retry hints).
fn error_diag(action: &str, permission: &str, err: &GroupsError) -> Diagnostic {
    match err {
        GroupsError::Graph(e) => graph_diagnostic(op(action, permission), e),
        GroupsError::LastOwner(_) => {
            Diagnostic::error(action, err.to_string()).at(AttributePath::new("owners"))
        }
        GroupsError::ProvisioningClientMissing | GroupsError::ProvisioningClientNotCreated(_) => {
            Diagnostic::error(action, err.to_string())
                .at(AttributePath::new("create_provisioning_client_if_missing"))
        }
        _ => Diagnostic::error(action, err.to_string()),
    }
}

fn graph_diag(action: &str, permission: &str, err: &crate::graph::Error) -> Diagnostic {
    graph_diagnostic(op(action, permission), err)
}

impl GroupResource {
    fn state(
        &self,
        group: &Group,
        model: &Model,
        owners: Option<Vec<String>>,
        members: Option<Vec<String>>,
        provisioning_client: Option<&ObjectId>,
    ) -> Value {
        let mut b = ObjectBuilder::for_schema(&schema(self.flavour))
            .set("id", group.id.clone())
            .set("object_id", group.id.clone())
            .set("display_name", group.display_name.clone().unwrap_or_else(|| model.display_name.clone()))
            .set("description", group.description.clone().filter(|d| !d.is_empty()))
            .set("mail_nickname", group.mail_nickname.clone().or_else(|| model.mail_nickname.clone()))
            .set("prevent_duplicate_names", model.prevent_duplicate_names)
            .set("owners", owners.map(Value::string_set));
        b = match self.flavour {
            Flavour::Group => b.set("members", members.map(Value::string_set)),
            Flavour::DeviceGroup => b
                .set("create_provisioning_client_if_missing", model.create_provisioning_client)
                .set("provisioning_client_object_id", provisioning_client.map(ObjectId::to_string)),
        };
        b.build()
    }

    /// Owners and members as they should be stored, read from Graph; `None` where not managed.
    /// For the device group, also the provisioning client's object id if it still owns the group.
    async fn read_relations(
        &self,
        api: &GroupsApi<'_>,
        id: &ObjectId,
        model: &Model,
        fill_all: bool,
    ) -> Result<(Option<Vec<String>>, Option<Vec<String>>, Option<ObjectId>), crate::graph::Error> {
        let want_owners = model.owners.is_some() || fill_all || self.flavour == Flavour::DeviceGroup;
        let want_members = self.flavour == Flavour::Group && (model.members.is_some() || fill_all);
        // Both lists at once, so they can share a `$batch`.
        let (owners_listed, members_listed) = futures::join!(
            async { if want_owners { api.list(id, Relation::Owners).await.map(Some) } else { Ok(None) } },
            async {
                if want_members { api.list_ids(id, Relation::Members).await.map(Some) } else { Ok(None) }
            },
        );
        let mut provisioning_client = None;
        let owners = if let Some(listed) = owners_listed? {
            let mut set = BTreeSet::new();
            for owner in &listed {
                let Some(oid) = owner.object_id() else { continue };
                if self.flavour == Flavour::DeviceGroup && is_provisioning_client(owner, None) {
                    provisioning_client = Some(oid);
                } else {
                    set.insert(oid);
                }
            }
            // An import fills only what exists: no extra owners reads as "not managed", which is
            // what a configuration without `owners` says, so the first plan after import is empty.
            (model.owners.is_some() || (fill_all && !set.is_empty()))
                .then(|| spell_like(&set, model.owners.as_deref()))
        } else {
            None
        };
        let members = members_listed?
            .filter(|listed| model.members.is_some() || !listed.is_empty())
            .map(|listed| spell_like(&listed, model.members.as_deref()));
        Ok((owners, members, provisioning_client))
    }

    /// The owner changes that make the group match `model` (plus the provisioning client),
    /// and the owner set wanted afterwards; `None` when owners are not touched. Fails when
    /// Graph would refuse the plan (last user owner), using the kinds of added owners.
    async fn owner_plan(
        &self,
        api: &GroupsApi<'_>,
        id: &ObjectId,
        model: &Model,
        provisioning_client: Option<&ObjectId>,
    ) -> Result<Option<(ChangePlan, BTreeSet<ObjectId>)>, Diagnostics> {
        if model.owners.is_none() && provisioning_client.is_none() {
            return Ok(None);
        }
        let to_diags = |action: &str, e: &crate::graph::Error| Diagnostics::from(graph_diag(action, READ, e));
        let listed =
            api.list(id, Relation::Owners).await.map_err(|e| to_diags("Reading the group's owners", &e))?;
        let current: BTreeMap<ObjectId, ObjectKind> =
            listed.iter().filter_map(|o| Some((o.object_id()?, o.kind()))).collect();
        let mut desired = match &model.owners {
            Some(spelled) => ids(spelled)?,
            // Unmanaged owners: keep whatever is there, plus the provisioning client.
            None => current.keys().cloned().collect(),
        };
        let mut added_kinds = BTreeMap::new();
        if let Some(sp) = provisioning_client {
            desired.insert(sp.clone());
            added_kinds.insert(sp.clone(), ObjectKind::ServicePrincipal);
        }
        let unknown: Vec<ObjectId> = desired
            .iter()
            .filter(|id| !current.contains_key(*id) && !added_kinds.contains_key(*id))
            .cloned()
            .collect();
        let removes_a_user =
            current.iter().any(|(id, kind)| *kind == ObjectKind::User && !desired.contains(id));
        if removes_a_user && !unknown.is_empty() {
            // Only then do the kinds of new owners matter (is one of them a user?).
            let kinds = api.kinds(&unknown).await.map_err(|e| to_diags("Looking up the new owners", &e))?;
            added_kinds.extend(kinds);
        }
        let plan = owner_changes(&current, &desired, &added_kinds)
            .map_err(|e| Diagnostics::from(error_diag("Planning owner changes", WRITE, &e.into())))?;
        Ok(Some((plan, desired)))
    }

    /// The owner and member changes that make the group match `model`.
    async fn change_plan(
        &self,
        api: &GroupsApi<'_>,
        id: &ObjectId,
        model: &Model,
        provisioning_client: Option<&ObjectId>,
    ) -> Result<(ChangePlan, Option<BTreeSet<ObjectId>>, Option<BTreeSet<ObjectId>>), Diagnostics> {
        let mut plan = ChangePlan::default();
        let mut wanted_owners = None;
        if let Some((owners, desired)) = self.owner_plan(api, id, model, provisioning_client).await? {
            plan = plan.merge(owners);
            wanted_owners = Some(desired);
        }
        let mut wanted_members = None;
        if let Some(spelled) = &model.members {
            let desired = ids(spelled)?;
            let current = api
                .list_ids(id, Relation::Members)
                .await
                .map_err(|e| Diagnostics::from(graph_diag("Reading the group's members", READ, &e)))?;
            plan = plan.merge(member_changes(&current, &desired));
            wanted_members = Some(desired);
        }
        Ok((plan, wanted_owners, wanted_members))
    }

    /// Applies `plan` and waits until Graph shows the wanted sets.
    async fn converge(
        &self,
        api: &GroupsApi<'_>,
        id: &ObjectId,
        plan: &ChangePlan,
        owners: Option<&BTreeSet<ObjectId>>,
        members: Option<&BTreeSet<ObjectId>>,
    ) -> Result<(), GroupsError> {
        if plan.is_empty() {
            return Ok(());
        }
        api.apply(id, plan).await?;
        if let Some(owners) = owners {
            api.wait_for_set(id, Relation::Owners, owners).await?;
        }
        if let Some(members) = members {
            api.wait_for_set(id, Relation::Members, members).await?;
        }
        Ok(())
    }

    async fn duplicate_name_check(
        &self,
        api: &GroupsApi<'_>,
        name: &str,
        own_id: Option<&str>,
        diags: &mut Diagnostics,
    ) {
        match api.groups_named(name).await {
            Ok(found) => {
                let others: Vec<&str> = found
                    .iter()
                    .map(|g| g.id.as_str())
                    .filter(|id| own_id.is_none_or(|own| !own.eq_ignore_ascii_case(id)))
                    .collect();
                if !others.is_empty() {
                    diags.push(
                        Diagnostic::error(
                            "Duplicate group name",
                            format!(
                                "prevent_duplicate_names is set and {} other group(s) are already named {name:?}: {}. \
                                 Choose another display_name, or import the existing group.",
                                others.len(),
                                others.join(", ")
                            ),
                        )
                        .at(AttributePath::new("display_name")),
                    );
                }
            }
            Err(e) => diags.push(graph_diag("Looking for groups with the same name", READ, &e)),
        }
    }
}

#[async_trait]
impl Resource<ProviderData> for GroupResource {
    fn type_name(&self) -> &'static str {
        match self.flavour {
            Flavour::Group => "autopilot_group",
            Flavour::DeviceGroup => "autopilot_device_group",
        }
    }

    fn schema(&self) -> Schema {
        schema(self.flavour)
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
        let is_create = req.prior.is_null();
        let display_name = resp.planned.get_str("display_name").map(str::to_owned);
        if is_create
            && req.config.attr("mail_nickname").is_none_or(Value::is_null)
            && let Some(name) = &display_name
        {
            resp.planned.set_attr("mail_nickname", nickname::derive(name));
        }
        if self.flavour == Flavour::DeviceGroup
            && !is_create
            && req.prior.attr("provisioning_client_object_id").is_none_or(Value::is_null)
        {
            // Read found the provisioning client missing as owner: plan to add it back.
            resp.planned.set_attr("provisioning_client_object_id", Value::unknown());
        }
        let Some(data) = data else { return };
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        let renamed = req.prior.get_str("display_name") != display_name.as_deref();
        if resp.planned.get_bool("prevent_duplicate_names") == Some(true)
            && (is_create || renamed)
            && let Some(name) = &display_name
        {
            self.duplicate_name_check(&api, name, req.prior.get_str("id"), &mut resp.diagnostics).await;
        }
        // Owner changes Graph would refuse (removing the last user owner) fail at plan.
        let owners_changed = !is_create
            && resp.planned.attr("owners").is_some_and(Value::is_fully_known)
            && !resp
                .planned
                .attr("owners")
                .is_some_and(|o| req.prior.attr("owners").is_some_and(|p| p.semantically_equal(o)));
        if owners_changed
            && !resp.planned.attr("owners").is_some_and(Value::is_null)
            && let Some(id) = req.prior.get_str("id").and_then(|s| ObjectId::parse(s).ok())
        {
            let model = Model::from_value(&resp.planned);
            if let Err(diags) = self.owner_plan(&api, &id, &model, None).await {
                resp.diagnostics.extend(diags);
            }
        }
        if self.flavour == Flavour::DeviceGroup
            && is_create
            && resp.planned.get_bool("create_provisioning_client_if_missing") == Some(false)
        {
            // Fail at plan rather than half-way through apply.
            if let Err(e @ GroupsError::ProvisioningClientMissing) =
                api.provisioning_client(&data.observed, false).await
            {
                resp.diagnostics.push(error_diag("Finding the Intune Provisioning Client", SP_READ, &e));
            }
        }
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest<'_>) -> StateResult {
        let mut result = StateResult::default();
        let model = Model::from_value(req.planned);
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        let new = model.new_group();
        let mut owners: Vec<ObjectId> = Vec::new();
        let mut provisioning_client = None;
        if self.flavour == Flavour::DeviceGroup {
            match api.provisioning_client(&data.observed, model.create_provisioning_client).await {
                Ok(sp) => match ObjectId::parse(&sp.id) {
                    Ok(id) => {
                        owners.push(id.clone());
                        provisioning_client = Some(id);
                    }
                    Err(e) => {
                        result.diagnostics.error("Unexpected service principal id", e.to_string());
                        return result;
                    }
                },
                Err(e) => {
                    result.diagnostics.push(error_diag(
                        "Finding the Intune Provisioning Client",
                        SP_READ,
                        &e,
                    ));
                    return result;
                }
            }
        }
        let configured_owners = match model.owners.as_deref().map(ids).transpose() {
            Ok(set) => set,
            Err(d) => {
                result.diagnostics.push(d);
                return result;
            }
        };
        let members = match model.members.as_deref().map(ids).transpose() {
            Ok(set) => set,
            Err(d) => {
                result.diagnostics.push(d);
                return result;
            }
        };
        owners.extend(
            configured_owners
                .iter()
                .flatten()
                .filter(|id| Some(*id) != provisioning_client.as_ref())
                .cloned(),
        );
        let member_list: Vec<ObjectId> = members.iter().flatten().cloned().collect();

        let (group, complete) = match api.create_group(&new, &owners, &member_list).await {
            Ok(created) => (created.group, created.complete),
            Err((created, e)) => {
                result.diagnostics.push(error_diag("Creating the group", WRITE, &e));
                if let Some(id) = created {
                    // Keep the group in state (tainted) so it is not orphaned.
                    let placeholder = Group { id: id.to_string(), ..Default::default() };
                    result.state = Some(self.state(
                        &placeholder,
                        &Model { mail_nickname: Some(new.mail_nickname.clone()), ..model.clone() },
                        model.owners.clone(),
                        model.members.clone(),
                        provisioning_client.as_ref(),
                    ));
                    result.private = stamp_created(&[]);
                }
                return result;
            }
        };
        result.private = stamp_created(&[]);
        let mut state = self.state(
            &group,
            &model,
            model.owners.clone(),
            model.members.clone(),
            provisioning_client.as_ref(),
        );
        let Ok(id) = ObjectId::parse(&group.id) else {
            result
                .diagnostics
                .error("Unexpected group id", format!("Graph returned the group id {:?}", group.id));
            result.state = Some(state);
            return result;
        };
        if complete {
            // Resources planned next in this apply check the group; they trust what was just
            // created instead of a replica that may not show it yet.
            data.created_groups.remember(
                id.as_str(),
                CreatedGroup { owned_by_provisioning_client: provisioning_client.is_some() },
            );
        }
        // No read-your-write confirmation of what the create request bound (it is part of the
        // new object): the next refresh waits out a 404 (`stamp_created`), and the dependents'
        // writes retry Intune's "group not found". Reads remain where the create cannot tell:
        let owner_set: Option<BTreeSet<ObjectId>> =
            (model.owners.is_some()).then(|| owners.iter().cloned().collect());
        let waits = async {
            if let Some(set) = &owner_set {
                // Graph may add a signed-in caller as owner too; owners are authoritative, so
                // such an extra owner is removed (after the bound ones are visible). The owner
                // list answers 404 until the group has replicated: wait for the group first.
                if complete {
                    api.wait_for_group(&id).await?;
                }
                let actual = api.wait_for_all_of(&id, Relation::Owners, set).await?;
                if actual.len() > set.len() {
                    let (plan, wanted, _) =
                        self.change_plan(&api, &id, &model, provisioning_client.as_ref()).await.map_err(
                            |d| GroupsError::Unplannable(d.iter().map(|d| d.detail.clone()).collect()),
                        )?;
                    self.converge(&api, &id, &plan, wanted.as_ref(), None).await?;
                }
            }
            if !complete && let Some(set) = &members {
                // Members beyond the create request's 20 binds went in separate writes.
                api.wait_for_set(&id, Relation::Members, set).await?;
            }
            Ok::<(), GroupsError>(())
        };
        if let Err(e) = waits.await {
            result.diagnostics.push(error_diag("Waiting for the group's owners and members", READ, &e));
        }
        if state.get_str("mail_nickname").is_none() {
            state.set_attr("mail_nickname", new.mail_nickname);
        }
        result.state = Some(state);
        result
    }

    async fn read(&self, ctx: &Ctx, data: &ProviderData, req: ReadRequest<'_>) -> StateResult {
        let mut result = StateResult { private: req.private.to_vec(), ..Default::default() };
        let Some(raw_id) = req.current.get_str("id") else {
            return result;
        };
        let id = match ObjectId::parse(raw_id) {
            Ok(id) => id,
            Err(e) => {
                result
                    .diagnostics
                    .push(Diagnostic::error("Invalid group id", e.to_string()).at(AttributePath::new("id")));
                return result;
            }
        };
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        // Right after import only `id` is set (display_name is required otherwise): read
        // every relation once so the imported state shows what the group has.
        let imported = req.current.attr("display_name").is_none_or(Value::is_null);
        let model = Model::from_value(req.current);
        // The group and its relations at once (one `$batch` when coalescing); the relations
        // are discarded if the group is gone.
        let (group, mut relations) =
            futures::join!(api.read_group(&id), self.read_relations(&api, &id, &model, imported));
        let group = match group {
            Ok(Some(group)) => group,
            // Created moments ago: more likely not replicated yet than deleted.
            Ok(None) if recently_created(req.private) => match api.read_new_group(&id).await {
                Ok(Some(group)) => {
                    relations = self.read_relations(&api, &id, &model, imported).await;
                    group
                }
                Ok(None) => return result,
                Err(e) => {
                    result.diagnostics.push(graph_diag("Reading the group", READ, &e));
                    result.state = Some(req.current.clone());
                    return result;
                }
            },
            Ok(None) => return result,
            Err(e) => {
                result.diagnostics.push(graph_diag("Reading the group", READ, &e));
                result.state = Some(req.current.clone());
                return result;
            }
        };
        if self.flavour == Flavour::DeviceGroup {
            // Type changes made outside Terraform (e.g. to dynamic membership) break device
            // preparation and cannot be undone in place: say so on every refresh.
            let broken: Vec<String> = check_device_group(&group, &[], None)
                .iter()
                .filter(|f| f.needs_new_group())
                .map(ToString::to_string)
                .collect();
            if !broken.is_empty() {
                result.diagnostics.push(Diagnostic::warning(
                    "The device group no longer suits device preparation",
                    format!(
                        "{}. These properties cannot be changed back in place; replace the group with \
                         `terraform apply -replace=<address>` (and re-point the device preparation policy).",
                        broken.join("; ")
                    ),
                ));
            }
        }
        match relations {
            Ok((owners, members, sp)) => {
                result.state = Some(self.state(&group, &model, owners, members, sp.as_ref()));
            }
            Err(e) => {
                result.diagnostics.push(graph_diag("Reading the group's owners and members", READ, &e));
                result.state = Some(req.current.clone());
            }
        }
        result
    }

    async fn update(&self, ctx: &Ctx, data: &ProviderData, req: UpdateRequest<'_>) -> StateResult {
        let mut result = StateResult { private: req.planned_private.to_vec(), ..Default::default() };
        let prior = Model::from_value(req.prior);
        let model = Model::from_value(req.planned);
        let Some(id) = req.prior.get_str("id").and_then(|s| ObjectId::parse(s).ok()) else {
            result.diagnostics.error("Missing group id", "The prior state has no valid group id.");
            return result;
        };
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        let patch = PatchGroup::between(&prior.new_group(), &model.new_group());
        if let Err(e) = api.patch_group(&id, &patch).await {
            result.diagnostics.push(graph_diag("Updating the group", WRITE, &e));
            result.state = Some(req.prior.clone());
            return result;
        }
        let provisioning_client = if self.flavour == Flavour::DeviceGroup {
            match api.provisioning_client(&data.observed, model.create_provisioning_client).await {
                Ok(sp) => ObjectId::parse(&sp.id).ok(),
                Err(e) => {
                    result.diagnostics.push(error_diag(
                        "Finding the Intune Provisioning Client",
                        SP_READ,
                        &e,
                    ));
                    result.state = Some(req.prior.clone());
                    return result;
                }
            }
        } else {
            None
        };
        let outcome = match self.change_plan(&api, &id, &model, provisioning_client.as_ref()).await {
            Ok((plan, owners, members)) => {
                // Only wait on owners that are managed (the device group's unmanaged owners are
                // whatever Graph has plus the provisioning client: wait for that one alone).
                let owners_to_wait = if model.owners.is_some() { owners.as_ref() } else { None };
                let converged = self.converge(&api, &id, &plan, owners_to_wait, members.as_ref()).await;
                if converged.is_ok()
                    && model.owners.is_none()
                    && let Some(sp) = &provisioning_client
                    && let Err(e) = api.wait_for_membership(&id, Relation::Owners, sp, true).await
                {
                    Err(GroupsError::from(e))
                } else {
                    converged
                }
            }
            Err(diags) => {
                result.diagnostics.extend(diags);
                result.state = Some(req.prior.clone());
                return result;
            }
        };
        let group = match api.read_group(&id).await {
            Ok(Some(group)) => group,
            _ => Group {
                id: id.to_string(),
                display_name: Some(model.display_name.clone()),
                description: model.description.clone(),
                mail_nickname: model.mail_nickname.clone(),
                ..Default::default()
            },
        };
        match outcome {
            Ok(()) => {
                result.state = Some(self.state(
                    &group,
                    &model,
                    model.owners.clone(),
                    model.members.clone(),
                    provisioning_client.as_ref(),
                ));
            }
            Err(e) => {
                result.diagnostics.push(error_diag("Changing the group's owners and members", WRITE, &e));
                // Store what Graph has now, so the next plan shows what is still to do.
                let (owners, members, sp) = self.read_relations(&api, &id, &model, false).await.unwrap_or((
                    prior.owners,
                    prior.members,
                    None,
                ));
                result.state = Some(self.state(&group, &model, owners, members, sp.as_ref()));
            }
        }
        result
    }

    async fn delete(&self, ctx: &Ctx, data: &ProviderData, req: DeleteRequest<'_>) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let Some(id) = req.prior.get_str("id").and_then(|s| ObjectId::parse(s).ok()) else {
            return diags;
        };
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        if let Err(e) = api.delete_group(&id).await {
            diags.push(graph_diag("Deleting the group", WRITE, &e));
        }
        diags
    }

    async fn import(&self, _ctx: &Ctx, _data: &ProviderData, id: &str) -> ImportResult {
        let mut result = ImportResult::default();
        if let Err(e) = ObjectId::parse(id) {
            result.diagnostics.error("Invalid import id", format!("Import a group by its object id: {e}"));
            return result;
        }
        result.state = Some(crate::framework::plan::state_with_id(&schema(self.flavour), id));
        result
    }
}

#[cfg(test)]
#[path = "resource_tests.rs"]
mod tests;
