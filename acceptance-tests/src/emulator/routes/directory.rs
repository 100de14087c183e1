//! Entra directory objects: groups (owners, members, `$ref`, `@odata.bind`), service
//! principals (by id, by `appId` alternate key, create from a known application), users, and
//! `directoryObjects` (by id, `getByIds`). graph-reference sections 2–3.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde_json::{Map, Value, json};

use super::{GraphRequest, GraphRoutes, created, no_content, ok, timestamp};
use crate::emulator::auth::perm;
use crate::emulator::errors::{GraphError, GraphResult};
use crate::emulator::odata::check_directory_filter;
use crate::emulator::shaping;
use crate::emulator::store::{Record, Store};
use crate::emulator::validate::{EntitySpec, Kind, Mode, check_kind, create_only, guid, ro, rw};

/// Store collection names of this family.
pub const GROUPS: &str = "groups";
pub const USERS: &str = "users";
pub const SERVICE_PRINCIPALS: &str = "servicePrincipals";
/// Applications that may be instantiated as service principals in this tenant (first-party
/// and registered apps): objects `{id, appId, displayName}`.
pub const KNOWN_APPLICATIONS: &str = "knownApplications";
/// Soft-deleted directory objects (groups) until purged or restored.
pub const DELETED_ITEMS: &str = "deletedItems";

/// Directory collections that hold directory objects, searched for `directoryObjects/{id}`.
pub const DIRECTORY_OBJECTS: &[&str] = &[USERS, GROUPS, SERVICE_PRINCIPALS];

/// At most this many `@odata.bind` relationships per create/update request.
pub const MAX_BINDS: usize = 20;

pub fn routes(r: GraphRoutes) -> GraphRoutes {
    r.both("/groups", get(list_groups).post(create_group))
        .both("/groups/{id}", get(get_group).patch(update_group).delete(delete_group))
        .both("/groups/{id}/{relation}", get(list_relation))
        .both("/groups/{id}/{relation}/$ref", post(add_ref))
        .both("/groups/{id}/{relation}/{member}/$ref", delete(remove_ref))
        .both("/servicePrincipals", get(list_service_principals).post(create_service_principal))
        .both("/servicePrincipals/{key}", get(get_service_principal))
        .both("/users", get(list_users))
        .both("/users/{key}", get(get_user))
        .both("/directoryObjects/getByIds", post(get_by_ids))
        .both("/directoryObjects/{id}", get(get_directory_object))
        .both("/directory/deletedItems/microsoft.graph.group", get(list_deleted_groups))
        .both("/directory/deletedItems/{id}", get(get_deleted_item).delete(purge_deleted_item))
        .both("/directory/deletedItems/{id}/restore", post(restore_deleted_item))
}

// ====================================================================================
// Type tables (names from the v1.0 CSDL; writability from the group/servicePrincipal docs)
// ====================================================================================

const GROUP_SPEC: EntitySpec = EntitySpec {
    type_name: "group",
    props: &[
        rw("displayName", Kind::RequiredString(256)),
        rw("description", Kind::String(1024)),
        rw("mailNickname", Kind::RequiredString(64)),
        rw("mailEnabled", Kind::Bool),
        rw("securityEnabled", Kind::Bool),
        rw("groupTypes", Kind::StringArray),
        create_only("isAssignableToRole", Kind::Bool),
        rw("membershipRule", Kind::String(3072)),
        rw("membershipRuleProcessingState", Kind::String(16)),
        rw("visibility", Kind::String(32)),
        rw("classification", Kind::String(256)),
        rw("preferredDataLocation", Kind::String(64)),
        rw("preferredLanguage", Kind::String(64)),
        rw("theme", Kind::String(32)),
        create_only("resourceBehaviorOptions", Kind::StringArray),
        create_only("resourceProvisioningOptions", Kind::StringArray),
        create_only("uniqueName", Kind::String(256)),
        rw("assignedLabels", Kind::ObjectArray),
        ro("id", Kind::Any),
        ro("deletedDateTime", Kind::Any),
        ro("createdDateTime", Kind::Any),
        ro("expirationDateTime", Kind::Any),
        ro("renewedDateTime", Kind::Any),
        ro("mail", Kind::Any),
        ro("proxyAddresses", Kind::Any),
        ro("securityIdentifier", Kind::Any),
        ro("onPremisesSyncEnabled", Kind::Any),
        ro("onPremisesSecurityIdentifier", Kind::Any),
        ro("onPremisesSamAccountName", Kind::Any),
        ro("onPremisesNetBiosName", Kind::Any),
        ro("onPremisesDomainName", Kind::Any),
        ro("onPremisesLastSyncDateTime", Kind::Any),
        ro("onPremisesProvisioningErrors", Kind::Any),
        ro("serviceProvisioningErrors", Kind::Any),
        ro("organizationId", Kind::Any),
    ],
    required_on_create: &["displayName", "mailEnabled", "mailNickname", "securityEnabled"],
};

const GROUP_SELECTABLE: &[&str] = &[
    "accessType",
    "allowExternalSenders",
    "assignedLabels",
    "assignedLicenses",
    "autoSubscribeNewMembers",
    "classification",
    "createdDateTime",
    "deletedDateTime",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "hasMembersWithLicenseErrors",
    "hideFromAddressLists",
    "hideFromOutlookClients",
    "isArchived",
    "isAssignableToRole",
    "isManagementRestricted",
    "isSubscribedByMail",
    "licenseProcessingState",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "membershipRuleProcessingStatus",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesProvisioningErrors",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "organizationId",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "serviceProvisioningErrors",
    "theme",
    "uniqueName",
    "unseenCount",
    "visibility",
];

const SERVICE_PRINCIPAL_SPEC: EntitySpec = EntitySpec {
    type_name: "servicePrincipal",
    props: &[
        create_only("appId", Kind::RequiredString(36)),
        rw("accountEnabled", Kind::Bool),
        rw("appRoleAssignmentRequired", Kind::Bool),
        rw("description", Kind::String(1024)),
        rw("notes", Kind::String(1024)),
        rw("tags", Kind::StringArray),
        rw("notificationEmailAddresses", Kind::StringArray),
        rw("preferredSingleSignOnMode", Kind::String(32)),
        ro("id", Kind::Any),
        ro("displayName", Kind::Any),
        ro("appDisplayName", Kind::Any),
        ro("appOwnerOrganizationId", Kind::Any),
        ro("servicePrincipalType", Kind::Any),
        ro("servicePrincipalNames", Kind::Any),
    ],
    required_on_create: &["appId"],
};

const SERVICE_PRINCIPAL_SELECTABLE: &[&str] = &[
    "accountEnabled",
    "addIns",
    "alternativeNames",
    "appDescription",
    "appDisplayName",
    "appId",
    "applicationTemplateId",
    "appOwnerOrganizationId",
    "appRoleAssignmentRequired",
    "appRoles",
    "createdDateTime",
    "deletedDateTime",
    "description",
    "disabledByMicrosoftStatus",
    "displayName",
    "homepage",
    "info",
    "keyCredentials",
    "loginUrl",
    "logoutUrl",
    "notes",
    "notificationEmailAddresses",
    "oauth2PermissionScopes",
    "passwordCredentials",
    "preferredSingleSignOnMode",
    "replyUrls",
    "resourceSpecificApplicationPermissions",
    "servicePrincipalNames",
    "servicePrincipalType",
    "signInAudience",
    "tags",
    "tokenEncryptionKeyId",
    "verifiedPublisher",
];

const USER_SELECTABLE: &[&str] = &[
    "accountEnabled",
    "businessPhones",
    "city",
    "companyName",
    "country",
    "createdDateTime",
    "deletedDateTime",
    "department",
    "displayName",
    "employeeId",
    "givenName",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "onPremisesSyncEnabled",
    "preferredLanguage",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

fn directory_selectable() -> Vec<&'static str> {
    let mut all: Vec<&str> = GROUP_SELECTABLE.to_vec();
    all.extend(SERVICE_PRINCIPAL_SELECTABLE);
    all.extend(USER_SELECTABLE);
    all
}

/// `@odata.type` of objects in a directory collection.
pub fn odata_type(collection: &str) -> &'static str {
    match collection {
        USERS => "#microsoft.graph.user",
        GROUPS => "#microsoft.graph.group",
        SERVICE_PRINCIPALS => "#microsoft.graph.servicePrincipal",
        _ => "#microsoft.graph.directoryObject",
    }
}

/// A stored object as an item of a `directoryObjects` collection (with `@odata.type`).
pub fn typed(collection: &str, record: &Record) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("@odata.type".into(), Value::String(odata_type(collection).into()));
    out.extend(record.data.clone());
    out
}

// ====================================================================================
// @odata.bind / @odata.id references
// ====================================================================================

/// Which stored collection a reference URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefTarget {
    Any,
    Only(&'static str),
}

/// Parses `https://graph.microsoft.com/{v}/{directoryObjects|users|servicePrincipals|groups}/{id}`
/// (or the same on the emulator's own host).
fn parse_reference(req: &GraphRequest, url: &Value, property: &str) -> GraphResult<(String, RefTarget)> {
    let invalid = || {
        GraphError::bad_request(format!(
            "Invalid URL format specified in @odata.bind for {property}: '{}'.",
            url.as_str().unwrap_or(&url.to_string())
        ))
    };
    let text = url.as_str().ok_or_else(invalid)?;
    let base = req.state.base_url();
    let rest = text
        .strip_prefix("https://graph.microsoft.com/")
        .or_else(|| text.strip_prefix(&format!("{base}/")))
        .ok_or_else(invalid)?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [version, set, id] = parts.as_slice() else { return Err(invalid()) };
    if *version != "v1.0" && *version != "beta" {
        return Err(invalid());
    }
    let target = match *set {
        "directoryObjects" => RefTarget::Any,
        "users" => RefTarget::Only(USERS),
        "groups" => RefTarget::Only(GROUPS),
        "servicePrincipals" => RefTarget::Only(SERVICE_PRINCIPALS),
        _ => return Err(invalid()),
    };
    Ok((guid(id)?, target))
}

/// Resolves a reference to an existing object (visible view) and checks its type.
fn resolve(
    store: &Store,
    id: &str,
    target: RefTarget,
    allowed: &[&'static str],
) -> GraphResult<&'static str> {
    let found = match target {
        RefTarget::Any => store.find(DIRECTORY_OBJECTS, id),
        RefTarget::Only(c) => store.get(c, id).map(|r| (c, r)),
    };
    let (collection, _) = found.ok_or_else(|| GraphError::not_found(id))?;
    if !allowed.contains(&collection) {
        return Err(GraphError::bad_request(format!(
            "An object of type '{}' cannot be added to this relationship.",
            odata_type(collection).trim_start_matches("#microsoft.graph.")
        )));
    }
    Ok(collection)
}

fn allowed_types(relation: &str) -> &'static [&'static str] {
    if relation == "owners" { &[USERS, SERVICE_PRINCIPALS] } else { &[USERS, GROUPS, SERVICE_PRINCIPALS] }
}

/// The `owners@odata.bind` / `members@odata.bind` lists of a body, resolved: relation →
/// [(id, collection)]. At most [`MAX_BINDS`] in total; unknown `...@odata.bind` names → 400.
fn binds(
    req: &GraphRequest,
    body: &Map<String, Value>,
) -> GraphResult<Vec<(&'static str, String, &'static str)>> {
    let mut out = Vec::new();
    for (key, value) in body {
        let Some(relation) = key.strip_suffix("@odata.bind") else { continue };
        let relation: &'static str = match relation {
            "owners" => "owners",
            "members" => "members",
            other => {
                return Err(GraphError::bad_request(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.group' or is not a navigation property."
                )));
            }
        };
        let urls = value.as_array().ok_or_else(|| {
            GraphError::bad_request(format!("The value of '{key}' must be an array of URLs."))
        })?;
        for url in urls {
            let (id, target) = parse_reference(req, url, relation)?;
            out.push((relation, id, target));
        }
    }
    if out.len() > MAX_BINDS {
        return Err(GraphError::bad_request(format!(
            "The number of references ({}) exceeds the maximum of {MAX_BINDS} objects that can be added in a single request.",
            out.len()
        )));
    }
    let store = req.state.store();
    let mut resolved = Vec::with_capacity(out.len());
    for (relation, id, target) in out {
        if resolved.iter().any(|(r, i, _): &(&str, String, &str)| *r == relation && *i == id) {
            return Err(GraphError::bad_request(format!(
                "One or more added object references already exist for the following modified properties: '{relation}'."
            )));
        }
        let collection = resolve(&store, &id, target, allowed_types(relation))?;
        resolved.push((relation, id, collection));
    }
    Ok(resolved)
}

/// Extra read permission Entra demands when a caller holding only `Group.Create` binds
/// objects of another type.
fn check_bind_permissions(req: &GraphRequest, resolved: &[(&str, String, &str)]) -> GraphResult<()> {
    if req.caller.has_any(perm::GROUP_WRITE) {
        return Ok(());
    }
    for (_, _, collection) in resolved {
        let needed = match *collection {
            SERVICE_PRINCIPALS => perm::APPLICATION_READ,
            USERS => perm::USER_READ,
            _ => perm::GROUP_READ,
        };
        req.caller.require_directory(needed)?;
    }
    Ok(())
}

// ====================================================================================
// Groups
// ====================================================================================

fn check_mail_nickname(value: &str) -> GraphResult<()> {
    let bad = value.is_empty()
        || value.chars().any(|c| !c.is_ascii() || c.is_ascii_control() || "@()\\[]\";:.<>, ".contains(c));
    if bad {
        Err(GraphError::bad_request(
            "Invalid value specified for property 'mailNickname' of resource 'Group'.",
        ))
    } else {
        Ok(())
    }
}

/// Cross-property rules of a group (after a create or a merge with an update).
fn check_group_rules(group: &Map<String, Value>) -> GraphResult<()> {
    check_mail_nickname(group.get("mailNickname").and_then(Value::as_str).unwrap_or_default())?;
    let types: Vec<&str> = group
        .get("groupTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for t in &types {
        if *t != "Unified" && *t != "DynamicMembership" {
            return Err(GraphError::bad_request(format!(
                "Invalid value '{t}' specified for property 'groupTypes'."
            )));
        }
    }
    let unified = types.contains(&"Unified");
    let mail_enabled = group.get("mailEnabled").and_then(Value::as_bool).unwrap_or(false);
    let security_enabled = group.get("securityEnabled").and_then(Value::as_bool).unwrap_or(false);
    if mail_enabled && !unified {
        return Err(GraphError::bad_request(
            "The service does not currently support writes of mail-enabled groups. Please ensure that the mail-enablement property is unset or is set to false.",
        ));
    }
    if unified && !mail_enabled {
        return Err(GraphError::bad_request("A Microsoft 365 group ('Unified') must be mail-enabled."));
    }
    if !unified && !security_enabled {
        return Err(GraphError::bad_request("A group must be security-enabled, mail-enabled or both."));
    }
    let dynamic = types.contains(&"DynamicMembership");
    let rule = group.get("membershipRule").and_then(Value::as_str);
    if dynamic && rule.is_none_or(str::is_empty) {
        return Err(GraphError::bad_request("A group with dynamic membership must have a membershipRule."));
    }
    if !dynamic && rule.is_some() {
        return Err(GraphError::bad_request(
            "membershipRule can only be set on groups with 'DynamicMembership' in groupTypes.",
        ));
    }
    let enum_checks: [(&str, &[&str]); 2] = [
        ("membershipRuleProcessingState", &["On", "Paused"]),
        ("visibility", &["Public", "Private", "HiddenMembership"]),
    ];
    for (key, allowed) in enum_checks {
        if let Some(v) = group.get(key).and_then(Value::as_str)
            && !allowed.contains(&v)
        {
            return Err(GraphError::bad_request(format!(
                "Invalid value '{v}' specified for property '{key}' of resource 'Group'."
            )));
        }
    }
    if group.get("isAssignableToRole").and_then(Value::as_bool) == Some(true)
        && (!security_enabled || dynamic)
    {
        return Err(GraphError::bad_request(
            "A role-assignable group must be security-enabled and cannot have dynamic membership.",
        ));
    }
    Ok(())
}

fn security_identifier(id: &uuid::Uuid) -> String {
    let b = id.as_bytes();
    let part = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    format!("S-1-12-1-{}-{}-{}-{}", part(0), part(4), part(8), part(12))
}

/// A new group with Graph's default property set, from a validated create body.
fn new_group(body: &Map<String, Value>) -> Map<String, Value> {
    let id = uuid::Uuid::new_v4();
    let now = timestamp();
    let mut g = json!({
        "id": id.to_string(),
        "deletedDateTime": null,
        "classification": null,
        "createdDateTime": now,
        "description": null,
        "displayName": null,
        "expirationDateTime": null,
        "groupTypes": [],
        "isAssignableToRole": null,
        "mail": null,
        "mailEnabled": false,
        "mailNickname": null,
        "membershipRule": null,
        "membershipRuleProcessingState": null,
        "onPremisesDomainName": null,
        "onPremisesLastSyncDateTime": null,
        "onPremisesNetBiosName": null,
        "onPremisesSamAccountName": null,
        "onPremisesSecurityIdentifier": null,
        "onPremisesSyncEnabled": null,
        "preferredDataLocation": null,
        "preferredLanguage": null,
        "proxyAddresses": [],
        "renewedDateTime": now,
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": [],
        "securityEnabled": false,
        "securityIdentifier": security_identifier(&id),
        "theme": null,
        "visibility": null,
        "onPremisesProvisioningErrors": [],
        "serviceProvisioningErrors": []
    });
    if let Value::Object(map) = &mut g {
        for (k, v) in body {
            if !k.contains('@') {
                map.insert(k.clone(), v.clone());
            }
        }
        return map.clone();
    }
    Map::new()
}

async fn create_group(req: GraphRequest, body: Bytes) -> GraphResult<Response> {
    req.caller.require_directory(perm::GROUP_CREATE)?;
    let body = req.json_body(&body)?;
    GROUP_SPEC.check(&body, Mode::Create)?;
    let data = new_group(&body);
    check_group_rules(&data)?;
    if data.get("isAssignableToRole").and_then(Value::as_bool) == Some(true) {
        // Role-assignable groups additionally need the role-management permission.
        req.caller.require_directory(perm::ROLE_MANAGEMENT_WRITE)?;
    }
    let resolved = binds(&req, &body)?;
    check_bind_permissions(&req, &resolved)?;
    let mut record = Record::new(data);
    for (relation, id, _) in resolved {
        record.link_mut(relation).push(id);
    }
    let response = req.entity(&record.data, "groups/$entity");
    req.state.store().insert(GROUPS, record);
    Ok(created(response))
}

fn visible_group(req: &GraphRequest, id: &str) -> GraphResult<Record> {
    let id = guid(id)?;
    req.state.store().get(GROUPS, &id).ok_or_else(|| GraphError::not_found(&id))
}

/// Navigation properties of a group that `$expand` serves.
const GROUP_EXPANDABLE: &[&str] = &["members", "owners"];

/// `$expand=members|owners` of a group: Graph's directory limits (see `shaping`), and the
/// member-read permission the relationship itself needs.
fn group_expansion(req: &GraphRequest) -> GraphResult<Option<shaping::ExpandItem>> {
    let item = shaping::directory_expand(req.query.expand.as_deref(), "group", GROUP_EXPANDABLE)?;
    if item.is_some() {
        req.caller.require_directory(perm::GROUP_MEMBER_READ)?;
    }
    Ok(item)
}

/// The expanded relationship of one group (at most 20 objects, no next link).
fn expanded(req: &GraphRequest, item: &shaping::ExpandItem, group: &Record) -> Value {
    let store = req.state.store();
    let related = group
        .link(&item.property)
        .iter()
        .filter_map(|m| store.find(DIRECTORY_OBJECTS, m))
        .map(|(c, r)| typed(c, &r))
        .collect();
    shaping::directory_expansion(item, related)
}

async fn get_group(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.caller.require_directory(perm::GROUP_READ)?;
    req.query.check_select("group", GROUP_SELECTABLE)?;
    let expand = group_expansion(&req)?;
    let group = visible_group(&req, &id)?;
    let mut shown = req.entity(&group.data, "groups/$entity");
    if let Some(item) = &expand {
        shown[item.property.as_str()] = expanded(&req, item, &group);
    }
    Ok(ok(shown))
}

/// `$orderby` on `/groups`: `displayName` only; with `$filter` it is an advanced query
/// (`ConsistencyLevel: eventual` and `$count=true`), else Graph's "Sorting not supported".
fn group_order(req: &GraphRequest) -> GraphResult<Option<shaping::OrderBy>> {
    let Some(raw) = req.query.orderby.as_deref() else { return Ok(None) };
    let order = shaping::parse_orderby(raw)?;
    if !order.property.eq_ignore_ascii_case("displayName") {
        return Err(GraphError::unsupported_query(format!(
            "Unsupported sort property '{}' for 'Group'.",
            order.property
        )));
    }
    let advanced = req.consistency_eventual() && req.query.count;
    if req.query.filter.is_some() && !advanced {
        return Err(GraphError::unsupported_query("Sorting not supported for current query."));
    }
    Ok(Some(order))
}

async fn list_groups(mut req: GraphRequest) -> GraphResult<Response> {
    req.caller.require_directory(perm::GROUP_READ)?;
    req.query.check_select("group", GROUP_SELECTABLE)?;
    let expand = group_expansion(&req)?;
    let order = group_order(&req)?;
    if expand.is_some() {
        // Graph silently serves at most 100 items per page when expanding.
        let default = req.state.faults().settings.page_size_for(req.family());
        req.query.top = Some(req.query.top.unwrap_or(default).min(shaping::DIRECTORY_EXPAND_PAGE_MAX));
    }
    check_directory_filter(
        &req.query,
        "Group",
        &[
            "id",
            "displayName",
            "mailNickname",
            "securityEnabled",
            "mailEnabled",
            "isAssignableToRole",
            "mail",
            "createdDateTime",
        ],
        req.consistency_eventual(),
    )?;
    let mut items: Vec<Map<String, Value>> =
        req.state.store().list(GROUPS).into_iter().map(|r| r.data).collect();
    if let Some(order) = &order {
        shaping::sort_by_string(&mut items, order);
    }
    let Some(item) = expand else { return req.collection(items, "groups", 999) };
    let default = req.state.faults().settings.page_size_for(req.family());
    let page = req.query.page_size(default, 999)?;
    let url = format!("{}{}", req.state.base_url(), req.path);
    let mut body = req.query.respond(items, page, &url, &req.context("groups"))?;
    for shown in body["value"].as_array_mut().into_iter().flatten() {
        let id = shown["id"].as_str().unwrap_or_default().to_owned();
        // Bind first: the store guard must be gone before `expanded` takes it again.
        let group = req.state.store().get(GROUPS, &id);
        if let Some(group) = group {
            shown[item.property.as_str()] = expanded(&req, &item, &group);
        }
    }
    Ok(ok(body))
}

async fn update_group(req: GraphRequest, Path(id): Path<String>, body: Bytes) -> GraphResult<Response> {
    let body = req.json_body(&body)?;
    GROUP_SPEC.check(&body, Mode::Update)?;
    let changes_properties = body.keys().any(|k| !k.contains('@'));
    let binds_members = body.contains_key("members@odata.bind");
    let binds_owners = body.contains_key("owners@odata.bind");
    if changes_properties || binds_owners {
        req.caller.require_directory(perm::GROUP_WRITE)?;
    }
    if binds_members {
        req.caller.require_directory(perm::GROUP_MEMBER_WRITE)?;
    }
    let visible = visible_group(&req, &id)?;
    let resolved = binds(&req, &body)?;
    let mut store = req.state.store();
    let mut group = store.get_latest(GROUPS, visible.id()).ok_or_else(|| GraphError::not_found(&id))?;
    for (k, v) in &body {
        if !k.contains('@') {
            group.data.insert(k.clone(), v.clone());
        }
    }
    check_group_rules(&group.data)?;
    for (relation, member, _) in &resolved {
        if group.link(relation).contains(member) {
            return Err(GraphError::bad_request(format!(
                "One or more added object references already exist for the following modified properties: '{relation}'."
            )));
        }
    }
    if !resolved.is_empty() && is_dynamic(&group) && resolved.iter().any(|(r, _, _)| *r == "members") {
        return Err(GraphError::bad_request("Members cannot be added to a group with dynamic membership."));
    }
    for (relation, member, _) in resolved {
        group.link_mut(relation).push(member);
    }
    store.replace(GROUPS, group);
    Ok(no_content())
}

fn is_dynamic(group: &Record) -> bool {
    group
        .data
        .get("groupTypes")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|v| v == "DynamicMembership"))
}

/// Deleting a group moves it to deleted items (restorable for 30 days per the current docs;
/// graph-reference notes older docs disagree for security groups). Purge with
/// `DELETE /directory/deletedItems/{id}`.
async fn delete_group(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.caller.require_directory(perm::GROUP_WRITE)?;
    let group = visible_group(&req, &id)?;
    let mut store = req.state.store();
    let Some(mut latest) = store.get_latest(GROUPS, group.id()) else {
        return Err(GraphError::not_found(&id));
    };
    store.remove(GROUPS, group.id());
    latest.data.insert("deletedDateTime".into(), Value::String(timestamp()));
    store.insert(DELETED_ITEMS, latest);
    Ok(no_content())
}

fn deleted_item(req: &GraphRequest, id: &str) -> GraphResult<Record> {
    let id = guid(id)?;
    req.state.store().get(DELETED_ITEMS, &id).ok_or_else(|| GraphError::not_found(&id))
}

async fn get_deleted_item(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.caller.require_directory(perm::GROUP_READ)?;
    req.query.check_select("group", GROUP_SELECTABLE)?;
    let item = deleted_item(&req, &id)?;
    Ok(ok(req.entity(&typed(GROUPS, &item), "directory/deletedItems/$entity")))
}

async fn list_deleted_groups(req: GraphRequest) -> GraphResult<Response> {
    req.caller.require_directory(perm::GROUP_READ)?;
    req.query.check_select("group", GROUP_SELECTABLE)?;
    req.query.reject_expand()?;
    req.query.reject_orderby()?;
    check_directory_filter(
        &req.query,
        "Group",
        &["id", "displayName", "mailNickname"],
        req.consistency_eventual(),
    )?;
    let items = req.state.store().list(DELETED_ITEMS).iter().map(|r| typed(GROUPS, r)).collect();
    req.collection(items, "directory/deletedItems/microsoft.graph.group", 999)
}

async fn purge_deleted_item(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.caller.require_directory(perm::GROUP_WRITE)?;
    let item = deleted_item(&req, &id)?;
    req.state.store().remove(DELETED_ITEMS, item.id());
    Ok(no_content())
}

async fn restore_deleted_item(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.caller.require_directory(perm::GROUP_WRITE)?;
    let item = deleted_item(&req, &id)?;
    let mut store = req.state.store();
    let Some(mut latest) = store.get_latest(DELETED_ITEMS, item.id()) else {
        return Err(GraphError::not_found(&id));
    };
    store.remove(DELETED_ITEMS, item.id());
    latest.data.insert("deletedDateTime".into(), Value::Null);
    let body = req.entity(&typed(GROUPS, &latest), "directoryObjects/$entity");
    store.insert(GROUPS, latest);
    Ok(ok(body))
}

fn relation_name(relation: &str) -> GraphResult<&'static str> {
    match relation {
        "owners" => Ok("owners"),
        "members" => Ok("members"),
        other => Err(GraphError::segment_not_found(other)),
    }
}

async fn list_relation(
    req: GraphRequest,
    Path((id, relation)): Path<(String, String)>,
) -> GraphResult<Response> {
    let relation = relation_name(&relation)?;
    req.caller.require_directory(perm::GROUP_MEMBER_READ)?;
    req.query.check_select("directoryObject", &directory_selectable())?;
    req.query.reject_expand()?;
    req.query.reject_orderby()?;
    check_directory_filter(
        &req.query,
        "DirectoryObject",
        &["id", "displayName"],
        req.consistency_eventual(),
    )?;
    let group = visible_group(&req, &id)?;
    let items = {
        let store = req.state.store();
        group
            .link(relation)
            .iter()
            .filter_map(|m| store.find(DIRECTORY_OBJECTS, m))
            .map(|(c, r)| typed(c, &r))
            .collect()
    };
    req.collection(items, "directoryObjects", 999)
}

async fn add_ref(
    req: GraphRequest,
    Path((id, relation)): Path<(String, String)>,
    body: Bytes,
) -> GraphResult<Response> {
    let relation = relation_name(&relation)?;
    req.caller.require_directory(if relation == "owners" {
        perm::GROUP_WRITE
    } else {
        perm::GROUP_MEMBER_WRITE
    })?;
    let body = req.json_body(&body)?;
    if let Some(other) = body.keys().find(|k| *k != "@odata.id") {
        return Err(GraphError::bad_request(format!(
            "Property '{other}' is not allowed in a reference body."
        )));
    }
    let url = body
        .get("@odata.id")
        .ok_or_else(|| GraphError::bad_request("The reference body needs '@odata.id'."))?;
    let (member, target) = parse_reference(&req, url, relation)?;
    visible_group(&req, &id)?;
    let mut store = req.state.store();
    resolve(&store, &member, target, allowed_types(relation))?;
    let mut group = store.get_latest(GROUPS, &guid(&id)?).ok_or_else(|| GraphError::not_found(&id))?;
    if relation == "members" && is_dynamic(&group) {
        return Err(GraphError::bad_request("Members cannot be added to a group with dynamic membership."));
    }
    if group.link(relation).contains(&member) {
        return Err(GraphError::bad_request(format!(
            "One or more added object references already exist for the following modified properties: '{relation}'."
        )));
    }
    group.link_mut(relation).push(member);
    store.replace(GROUPS, group);
    Ok(no_content())
}

async fn remove_ref(
    req: GraphRequest,
    Path((id, relation, member)): Path<(String, String, String)>,
) -> GraphResult<Response> {
    let relation = relation_name(&relation)?;
    req.caller.require_directory(if relation == "owners" {
        perm::GROUP_WRITE
    } else {
        perm::GROUP_MEMBER_WRITE
    })?;
    let member = guid(&member)?;
    let visible = visible_group(&req, &id)?;
    let mut store = req.state.store();
    let mut group = store.get_latest(GROUPS, visible.id()).ok_or_else(|| GraphError::not_found(&id))?;
    if !group.link(relation).contains(&member) {
        return Err(GraphError::not_found(&member));
    }
    // Entra refuses to remove the last *user* owner of a group; service-principal owners do
    // not count (graph anchors: azuread#1435, "an SP owner does not count").
    if relation == "owners" && store.get_latest(USERS, &member).is_some() {
        let user_owners =
            group.link("owners").iter().filter(|o| store.get_latest(USERS, o).is_some()).count();
        if user_owners == 1 {
            return Err(GraphError::bad_request(
                "The group must have at least one owner, hence this owner cannot be removed.",
            ));
        }
    }
    group.link_mut(relation).retain(|m| *m != member);
    store.replace(GROUPS, group);
    Ok(no_content())
}

// ====================================================================================
// Service principals
// ====================================================================================

/// The `appId` in an alternate-key segment `(appId='...')` (after URI normalisation).
fn alternate_key<'a>(key: &'a str, name: &str) -> Option<&'a str> {
    let inner = key.strip_prefix('(')?.strip_suffix(')')?;
    let value = inner.strip_prefix(name)?.strip_prefix('=')?;
    Some(value.trim_matches('\''))
}

async fn get_service_principal(req: GraphRequest, Path(key): Path<String>) -> GraphResult<Response> {
    req.caller.require_directory(perm::APPLICATION_READ)?;
    req.query.check_select("servicePrincipal", SERVICE_PRINCIPAL_SELECTABLE)?;
    req.query.reject_expand()?;
    let sp = if let Some(app_id) = alternate_key(&key, "appId") {
        let app_id = guid(app_id)?;
        req.state
            .store()
            .list(SERVICE_PRINCIPALS)
            .into_iter()
            .find(|r| r.str("appId").eq_ignore_ascii_case(&app_id))
            .ok_or_else(|| GraphError::not_found(&app_id))?
    } else {
        let id = guid(&key)?;
        req.state.store().get(SERVICE_PRINCIPALS, &id).ok_or_else(|| GraphError::not_found(&id))?
    };
    Ok(ok(req.entity(&sp.data, "servicePrincipals/$entity")))
}

async fn list_service_principals(req: GraphRequest) -> GraphResult<Response> {
    req.caller.require_directory(perm::APPLICATION_READ)?;
    req.query.check_select("servicePrincipal", SERVICE_PRINCIPAL_SELECTABLE)?;
    req.query.reject_expand()?;
    req.query.reject_orderby()?;
    check_directory_filter(
        &req.query,
        "ServicePrincipal",
        &["id", "appId", "displayName", "servicePrincipalType", "accountEnabled"],
        req.consistency_eventual(),
    )?;
    let items = req.state.store().list(SERVICE_PRINCIPALS).into_iter().map(|r| r.data).collect();
    req.collection(items, "servicePrincipals", 999)
}

async fn create_service_principal(req: GraphRequest, body: Bytes) -> GraphResult<Response> {
    req.caller.require_directory(perm::APPLICATION_WRITE)?;
    let body = req.json_body(&body)?;
    SERVICE_PRINCIPAL_SPEC.check(&body, Mode::Create)?;
    if let Some(k) = body.keys().find(|k| k.contains("@odata.bind")) {
        return Err(GraphError::bad_request(format!(
            "'{k}' is not supported when creating a service principal."
        )));
    }
    let app_id = guid(body.get("appId").and_then(Value::as_str).unwrap_or_default())?;
    let mut store = req.state.store();
    if store.list_latest(SERVICE_PRINCIPALS).iter().any(|r| r.str("appId").eq_ignore_ascii_case(&app_id)) {
        return Err(GraphError::new(
            axum::http::StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property appId already exists.",
        ));
    }
    let app = store
        .list(KNOWN_APPLICATIONS)
        .into_iter()
        .find(|r| r.str("appId").eq_ignore_ascii_case(&app_id))
        .ok_or_else(|| {
            GraphError::bad_request(format!(
                "The appId '{app_id}' of the service principal does not reference a valid application object."
            ))
        })?;
    let mut sp = new_service_principal(&app_id, app.str("displayName"), app.str("appOwnerOrganizationId"));
    for (k, v) in &body {
        if k != "appId" && !k.contains('@') {
            sp.insert(k.clone(), v.clone());
        }
    }
    let response = req.entity(&sp, "servicePrincipals/$entity");
    store.insert(SERVICE_PRINCIPALS, Record::new(sp));
    Ok(created(response))
}

/// A service principal object with Graph's default properties.
pub fn new_service_principal(app_id: &str, display_name: &str, owner_tenant: &str) -> Map<String, Value> {
    let v = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "deletedDateTime": null,
        "accountEnabled": true,
        "appDisplayName": display_name,
        "appDescription": null,
        "appId": app_id,
        "appOwnerOrganizationId": if owner_tenant.is_empty() { Value::Null } else { json!(owner_tenant) },
        "appRoleAssignmentRequired": false,
        "createdDateTime": timestamp(),
        "description": null,
        "displayName": display_name,
        "homepage": null,
        "notes": null,
        "servicePrincipalNames": [app_id],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs",
        "tags": [],
        "addIns": [],
        "appRoles": [],
        "keyCredentials": [],
        "oauth2PermissionScopes": [],
        "passwordCredentials": [],
        "replyUrls": []
    });
    v.as_object().cloned().unwrap_or_default()
}

// ====================================================================================
// Users and directoryObjects
// ====================================================================================

async fn list_users(req: GraphRequest) -> GraphResult<Response> {
    req.caller.require_directory(perm::USER_READ)?;
    req.query.check_select("user", USER_SELECTABLE)?;
    req.query.reject_expand()?;
    req.query.reject_orderby()?;
    check_directory_filter(
        &req.query,
        "User",
        &[
            "id",
            "displayName",
            "userPrincipalName",
            "mail",
            "accountEnabled",
            "givenName",
            "surname",
            "userType",
        ],
        req.consistency_eventual(),
    )?;
    let items = req.state.store().list(USERS).into_iter().map(|r| r.data).collect();
    req.collection(items, "users", 999)
}

async fn get_user(req: GraphRequest, Path(key): Path<String>) -> GraphResult<Response> {
    req.caller.require_directory(perm::USER_READ)?;
    req.query.check_select("user", USER_SELECTABLE)?;
    req.query.reject_expand()?;
    let store = req.state.store();
    let user = if key.contains('@') {
        store.list(USERS).into_iter().find(|u| u.str("userPrincipalName").eq_ignore_ascii_case(&key))
    } else {
        store.get(USERS, &key)
    };
    drop(store);
    let user = user.ok_or_else(|| GraphError::not_found(&key))?;
    Ok(ok(req.entity(&user.data, "users/$entity")))
}

async fn get_directory_object(req: GraphRequest, Path(id): Path<String>) -> GraphResult<Response> {
    req.caller.require_directory(perm::DIRECTORY_OBJECT_READ)?;
    req.query.reject_expand()?;
    let id = guid(&id)?;
    let found = req.state.store().find(DIRECTORY_OBJECTS, &id);
    let (collection, record) = found.ok_or_else(|| GraphError::not_found(&id))?;
    Ok(ok(req.entity(&typed(collection, &record), "directoryObjects/$entity")))
}

async fn get_by_ids(req: GraphRequest, body: Bytes) -> GraphResult<Response> {
    req.caller.require_directory(perm::DIRECTORY_OBJECT_READ)?;
    let body = req.json_body(&body)?;
    if let Some(other) = body.keys().find(|k| *k != "ids" && *k != "types") {
        return Err(GraphError::bad_request(format!(
            "Property '{other}' does not exist on action 'getByIds'."
        )));
    }
    let ids = body.get("ids").ok_or_else(|| GraphError::bad_request("Parameter 'ids' is required."))?;
    check_kind("ids", ids, Kind::StringArray)?;
    let ids: Vec<&str> = ids.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if ids.len() > 1000 {
        return Err(GraphError::bad_request("At most 1000 ids can be requested at once."));
    }
    let types: Vec<String> = match body.get("types") {
        None | Some(Value::Null) => Vec::new(),
        Some(t) => {
            check_kind("types", t, Kind::StringArray)?;
            t.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        }
    };
    let store = req.state.store();
    let mut value = Vec::new();
    for id in ids {
        let id = guid(id)?;
        if let Some((collection, record)) = store.find(DIRECTORY_OBJECTS, &id) {
            let type_name =
                odata_type(collection).trim_start_matches("#microsoft.graph.").to_ascii_lowercase();
            if types.is_empty() || types.contains(&type_name) {
                value.push(Value::Object(req.query.project(&typed(collection, &record))));
            }
        }
    }
    drop(store);
    Ok(ok(json!({ "@odata.context": req.context("directoryObjects"), "value": value })))
}
