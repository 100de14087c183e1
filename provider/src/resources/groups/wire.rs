//! Graph (v1.0) request and response bodies for groups, their owners and members, service
//! principals and users, and the relative URLs the resources call.
//!
//! * `POST /groups`: [`CreateGroup`] (an assigned security group; owners and members bound
//!   by absolute `directoryObjects` URLs, at most [`MAX_BINDS_PER_REQUEST`] in all).
//! * `PATCH /groups/{id}`: [`PatchGroup`] (display name, description) or a members bind
//!   ([`bind_members_body`]).
//! * `GET /groups/{id}?$select=` [`GROUP_SELECT`]: [`Group`].
//! * `GET /groups/{id}/owners|members`: [`DirectoryObjectPage`] of [`DirectoryObjectRef`].
//! * `POST /groups/{id}/owners|members/$ref`: [`reference_body`].
//! * `GET /servicePrincipals(appId='…')`: [`ServicePrincipal`]; `POST /servicePrincipals`:
//!   [`NewServicePrincipal`].
//!
//! URL paths here are relative to the version (`/groups/…`), the form `$batch` wants; the
//! Graph client prefixes `{endpoint}/v1.0` for direct calls.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::object_id::ObjectId;

/// The Graph version every group call uses (groups, owners and members are all in v1.0).
pub const GRAPH_VERSION: &str = "v1.0";

/// Properties read back for a group: what the resources keep in state plus what the
/// device-group check needs. Create returns only default properties, so reads always select.
pub const GROUP_SELECT: &str = "id,displayName,description,mailNickname,mailEnabled,securityEnabled,\
groupTypes,isAssignableToRole,membershipRule,membershipRuleProcessingState";

/// Properties read for each owner: `appId` identifies the provisioning client, the rest
/// makes diagnostics readable.
pub const OWNER_SELECT: &str = "id,appId,displayName,userPrincipalName";

/// Members are only diffed by id; selecting nothing else keeps 10,000-member pages small.
pub const MEMBER_SELECT: &str = "id";

/// Largest page Graph serves for directory object collections.
pub const PAGE_SIZE: u32 = 999;

/// Graph's limit on `@odata.bind` relationships in one create or PATCH body.
pub const MAX_BINDS_PER_REQUEST: usize = 20;

/// Properties read for a service principal.
pub const SERVICE_PRINCIPAL_SELECT: &str = "id,appId,displayName,servicePrincipalType";

/// Properties read for a user.
pub const USER_SELECT: &str = "id,userPrincipalName,displayName,accountEnabled";

/// The `groupTypes` entry of a dynamic-membership group.
pub const DYNAMIC_MEMBERSHIP: &str = "DynamicMembership";

/// The `groupTypes` entry of a Microsoft 365 group.
pub const UNIFIED: &str = "Unified";

/// Builds the absolute `{endpoint}/v1.0/directoryObjects/{id}` URLs that `@odata.bind` and
/// `@odata.id` need. The endpoint comes from the provider configuration (national clouds,
/// the emulator), never a hard-coded host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryObjectUrls {
    prefix: String,
}

impl DirectoryObjectUrls {
    /// `graph_endpoint` is the configured Graph base URL without version, e.g.
    /// `https://graph.microsoft.com` (a path prefix such as `https://proxy/graph/` is kept).
    pub fn new(graph_endpoint: &Url) -> Self {
        let base = graph_endpoint.as_str().trim_end_matches('/');
        Self { prefix: format!("{base}/{GRAPH_VERSION}/directoryObjects/") }
    }

    /// The absolute URL of one directory object.
    pub fn object(&self, id: &ObjectId) -> String {
        format!("{}{id}", self.prefix)
    }

    /// The absolute URLs of several directory objects, in order.
    pub fn objects<'a>(&self, ids: impl IntoIterator<Item = &'a ObjectId>) -> Vec<String> {
        ids.into_iter().map(|id| self.object(id)).collect()
    }
}

/// What the user asks for in a new group (the fixed security-group properties are not
/// choices: see [`CreateGroup`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGroup {
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: String,
}

/// Too many relationships for one create or PATCH body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{count} owners and members cannot be bound in one request; Graph accepts at most {MAX_BINDS_PER_REQUEST}"
)]
pub struct TooManyBinds {
    pub count: usize,
}

/// Body of `POST /groups`: always an assigned (`groupTypes: []`), security-enabled,
/// mail-disabled, not role-assignable group, the only kind device preparation accepts.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateGroup {
    pub display_name: String,
    /// Left out when empty: Graph rejects an empty description on create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub mail_enabled: bool,
    pub mail_nickname: String,
    pub security_enabled: bool,
    pub group_types: Vec<String>,
    pub is_assignable_to_role: bool,
    #[serde(rename = "owners@odata.bind", skip_serializing_if = "Vec::is_empty")]
    pub owners_bind: Vec<String>,
    #[serde(rename = "members@odata.bind", skip_serializing_if = "Vec::is_empty")]
    pub members_bind: Vec<String>,
}

impl CreateGroup {
    /// The create body binding `owners` and `members` (together at most
    /// [`MAX_BINDS_PER_REQUEST`]; [`super::plan_members::split_for_create`] picks them).
    pub fn new(
        group: &NewGroup,
        owners: &[ObjectId],
        members: &[ObjectId],
        urls: &DirectoryObjectUrls,
    ) -> Result<Self, TooManyBinds> {
        let count = owners.len() + members.len();
        if count > MAX_BINDS_PER_REQUEST {
            return Err(TooManyBinds { count });
        }
        Ok(Self {
            display_name: group.display_name.clone(),
            description: group.description.clone().filter(|d| !d.is_empty()),
            mail_enabled: false,
            mail_nickname: group.mail_nickname.clone(),
            security_enabled: true,
            group_types: Vec::new(),
            is_assignable_to_role: false,
            owners_bind: urls.objects(owners),
            members_bind: urls.objects(members),
        })
    }
}

/// Body of `PATCH /groups/{id}` for the properties updatable in place. Only what changed
/// is sent; a removed description is sent as `null` (an empty string is rejected).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PatchGroup {
    display_name: Option<String>,
    mail_nickname: Option<String>,
    /// `Some(None)` clears the description.
    description: Option<Option<String>>,
}

impl PatchGroup {
    /// The PATCH that turns `prior` into `planned`; [`PatchGroup::is_empty`] when nothing changed.
    pub fn between(prior: &NewGroup, planned: &NewGroup) -> Self {
        let normalise = |d: &Option<String>| d.clone().filter(|d| !d.is_empty());
        let mut patch = Self::default();
        if prior.display_name != planned.display_name {
            patch.display_name = Some(planned.display_name.clone());
        }
        if prior.mail_nickname != planned.mail_nickname {
            patch.mail_nickname = Some(planned.mail_nickname.clone());
        }
        if normalise(&prior.description) != normalise(&planned.description) {
            patch.description = Some(normalise(&planned.description));
        }
        patch
    }

    pub fn is_empty(&self) -> bool {
        self.display_name.is_none() && self.mail_nickname.is_none() && self.description.is_none()
    }

    /// The JSON body.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        if let Some(name) = &self.display_name {
            body.insert("displayName".to_owned(), Value::String(name.clone()));
        }
        if let Some(nickname) = &self.mail_nickname {
            body.insert("mailNickname".to_owned(), Value::String(nickname.clone()));
        }
        if let Some(description) = &self.description {
            let value = description.clone().map_or(Value::Null, Value::String);
            body.insert("description".to_owned(), value);
        }
        Value::Object(body)
    }
}

/// Body of `PATCH /groups/{id}` adding up to [`MAX_BINDS_PER_REQUEST`] members at once
/// (all or nothing on Graph's side).
pub fn bind_members_body(ids: &[ObjectId], urls: &DirectoryObjectUrls) -> Value {
    serde_json::json!({ "members@odata.bind": urls.objects(ids) })
}

/// Body of `POST /groups/{id}/owners/$ref` or `.../members/$ref`.
pub fn reference_body(id: &ObjectId, urls: &DirectoryObjectUrls) -> Value {
    serde_json::json!({ "@odata.id": urls.object(id) })
}

/// A group as read with [`GROUP_SELECT`]. Absent properties stay `None` rather than
/// failing, so a read of an unexpected shape still reports what it found.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub mail_nickname: Option<String>,
    #[serde(default)]
    pub mail_enabled: Option<bool>,
    #[serde(default)]
    pub security_enabled: Option<bool>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub group_types: Vec<String>,
    #[serde(default)]
    pub is_assignable_to_role: Option<bool>,
    #[serde(default)]
    pub membership_rule: Option<String>,
    #[serde(default)]
    pub membership_rule_processing_state: Option<String>,
}

impl Group {
    /// Whether membership is rule-based (`groupTypes` holds `DynamicMembership`).
    pub fn is_dynamic(&self) -> bool {
        self.has_group_type(DYNAMIC_MEMBERSHIP)
    }

    /// Whether this is a Microsoft 365 group (`groupTypes` holds `Unified`).
    pub fn is_unified(&self) -> bool {
        self.has_group_type(UNIFIED)
    }

    fn has_group_type(&self, wanted: &str) -> bool {
        self.group_types.iter().any(|t| t.eq_ignore_ascii_case(wanted))
    }
}

/// What kind of directory object an owner or member is, from its `@odata.type`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    User,
    Group,
    ServicePrincipal,
    Device,
    OrgContact,
    /// Another type Graph named (kept verbatim, without `#microsoft.graph.`).
    Other(String),
    /// No `@odata.type` on the item (or not looked up yet).
    Unknown,
}

impl ObjectKind {
    /// Accepts `#microsoft.graph.user` and `microsoft.graph.user` (Graph writes both).
    pub fn from_odata_type(odata_type: Option<&str>) -> Self {
        let Some(t) = odata_type else {
            return ObjectKind::Unknown;
        };
        let name = t.trim_start_matches('#').trim_start_matches("microsoft.graph.");
        match name {
            "user" => ObjectKind::User,
            "group" => ObjectKind::Group,
            "servicePrincipal" => ObjectKind::ServicePrincipal,
            "device" => ObjectKind::Device,
            "orgContact" => ObjectKind::OrgContact,
            other => ObjectKind::Other(other.to_owned()),
        }
    }

    /// The name users see in diagnostics.
    pub fn describe(&self) -> &str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::ServicePrincipal => "service principal",
            ObjectKind::Device => "device",
            ObjectKind::OrgContact => "organizational contact",
            ObjectKind::Other(name) => name,
            ObjectKind::Unknown => "directory object of unknown type",
        }
    }
}

/// One owner or member as listed by `GET /groups/{id}/owners|members`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryObjectRef {
    pub id: String,
    #[serde(default, rename = "@odata.type")]
    pub odata_type: Option<String>,
    /// Present on service principals when selected.
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
}

impl DirectoryObjectRef {
    pub fn kind(&self) -> ObjectKind {
        ObjectKind::from_odata_type(self.odata_type.as_deref())
    }

    /// The id as an [`ObjectId`], if it is one.
    pub fn object_id(&self) -> Option<ObjectId> {
        ObjectId::parse(&self.id).ok()
    }
}

/// One page of a directory object collection; follow `next_link` verbatim until `None`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct DirectoryObjectPage {
    #[serde(default)]
    pub value: Vec<DirectoryObjectRef>,
    #[serde(default, rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

/// A service principal as read with [`SERVICE_PRINCIPAL_SELECT`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub service_principal_type: Option<String>,
}

/// A page of `GET /servicePrincipals?$filter=…`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ServicePrincipalPage {
    #[serde(default)]
    pub value: Vec<ServicePrincipal>,
    #[serde(default, rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

/// Body of `POST /servicePrincipals` instantiating a first-party app in the tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewServicePrincipal {
    pub app_id: String,
}

/// A user as read with [`USER_SELECT`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub account_enabled: Option<bool>,
}

/// `$select` of the look-up for a group whose create answer was lost.
pub const CREATED_GROUP_SELECT: &str = "id,displayName,mailNickname,createdDateTime";

/// A group as that look-up lists it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedGroup {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub mail_nickname: Option<String>,
    #[serde(default)]
    pub created_date_time: Option<String>,
}

/// A page of the look-up.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ListedGroupPage {
    #[serde(default)]
    pub value: Vec<ListedGroup>,
}

/// The group a create whose answer was lost made: the only one with our `mailNickname` and
/// display name created at or after `floor`. `None` when none or several match: adopting one
/// of several could take over a group somebody else created.
pub fn pick_created<'a>(
    listed: &'a [ListedGroup],
    new: &NewGroup,
    floor: time::OffsetDateTime,
) -> Option<&'a ListedGroup> {
    use time::format_description::well_known::Rfc3339;
    let mut matches = listed.iter().filter(|g| {
        g.display_name.as_deref() == Some(new.display_name.as_str())
            && g.mail_nickname.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&new.mail_nickname))
            // An unreadable timestamp cannot rule a group out.
            && g.created_date_time
                .as_deref()
                .and_then(|t| time::OffsetDateTime::parse(t, &Rfc3339).ok())
                .is_none_or(|created| created >= floor)
    });
    let first = matches.next()?;
    matches.next().is_none().then_some(first)
}

/// A page of `GET /groups?$filter=…` (data source lookup by name).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct GroupPage {
    #[serde(default)]
    pub value: Vec<Group>,
    #[serde(default, rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

/// Which collection of a group a relationship belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Relation {
    Owners,
    Members,
}

impl Relation {
    /// The navigation property name in URLs.
    pub fn segment(self) -> &'static str {
        match self {
            Relation::Owners => "owners",
            Relation::Members => "members",
        }
    }
}

/// `/groups/{id}`.
pub fn group_path(group: &ObjectId) -> String {
    format!("/groups/{group}")
}

/// `/groups/{id}?$select=…` for reads.
pub fn group_read_path(group: &ObjectId) -> String {
    format!("/groups/{group}?$select={GROUP_SELECT}")
}

/// `/groups/{id}/owners|members/$ref` (add one).
pub fn references_path(group: &ObjectId, relation: Relation) -> String {
    format!("/groups/{group}/{}/$ref", relation.segment())
}

/// `/groups/{id}/owners|members/{object}/$ref` (remove one).
pub fn reference_path(group: &ObjectId, relation: Relation, object: &ObjectId) -> String {
    format!("/groups/{group}/{}/{object}/$ref", relation.segment())
}

/// The first page of owners or members: large pages, only the properties we use.
pub fn list_path(group: &ObjectId, relation: Relation) -> String {
    let select = match relation {
        Relation::Owners => OWNER_SELECT,
        Relation::Members => MEMBER_SELECT,
    };
    format!("/groups/{group}/{}?$select={select}&$top={PAGE_SIZE}", relation.segment())
}

/// `/servicePrincipals(appId='…')` (appId is a declared alternate key). The app id is
/// checked to be a GUID, so it needs no escaping.
pub fn service_principal_by_app_id_path(app_id: &ObjectId) -> String {
    format!("/servicePrincipals(appId='{app_id}')?$select={SERVICE_PRINCIPAL_SELECT}")
}

/// `/servicePrincipals/{id}`.
pub fn service_principal_path(id: &ObjectId) -> String {
    format!("/servicePrincipals/{id}?$select={SERVICE_PRINCIPAL_SELECT}")
}

/// Graph's documented maximum number of list requests to read `count` members:
/// one per full page plus the final (possibly empty) page.
pub fn max_list_requests(count: usize) -> usize {
    count.div_ceil(PAGE_SIZE as usize) + 1
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
