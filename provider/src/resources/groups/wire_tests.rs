use serde_json::{Value, json};

use super::*;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn id(s: &str) -> ObjectId {
    ObjectId::parse(s).unwrap()
}

fn global() -> DirectoryObjectUrls {
    DirectoryObjectUrls::new(&Url::parse("https://graph.microsoft.com").unwrap())
}

#[test]
fn bind_urls_follow_the_configured_endpoint() {
    let oid = id("26be1845-4119-4801-a799-aea79d09f1a2");
    let cases = [
        ("https://graph.microsoft.com", "https://graph.microsoft.com/v1.0/directoryObjects/"),
        ("https://graph.microsoft.com/", "https://graph.microsoft.com/v1.0/directoryObjects/"),
        ("https://graph.microsoft.us", "https://graph.microsoft.us/v1.0/directoryObjects/"),
        ("https://127.0.0.1:8443/graph/", "https://127.0.0.1:8443/graph/v1.0/directoryObjects/"),
    ];
    for (endpoint, prefix) in cases {
        let urls = DirectoryObjectUrls::new(&Url::parse(endpoint).unwrap());
        assert_eq!(urls.object(&oid), format!("{prefix}{oid}"), "{endpoint}");
    }
}

/// Mirrors `create_security_group_with_owners_members.v1.0.request.json` (group-post-groups
/// Example 2), with `directoryObjects` bind URLs and the fields we always send.
#[test]
fn create_body_matches_documented_security_group() {
    let sample = parse(include_str!("testdata/create_security_group_with_owners_members.v1.0.request.json"));
    let group = NewGroup {
        display_name: "Operations group".to_owned(),
        description: Some("Group with designated owner and members".to_owned()),
        mail_nickname: "operations2019".to_owned(),
    };
    let owners = [id("26be1845-4119-4801-a799-aea79d09f1a2")];
    let members = [id("ff7cb387-6688-423c-8188-3da9532a73cc"), id("69456242-0067-49d3-ba96-9de6f2728e14")];
    let body = serde_json::to_value(CreateGroup::new(&group, &owners, &members, &global()).unwrap()).unwrap();

    for key in ["displayName", "description", "mailEnabled", "mailNickname", "securityEnabled", "groupTypes"]
    {
        assert_eq!(body[key], sample[key], "{key}");
    }
    assert_eq!(body["isAssignableToRole"], json!(false));
    let rewrite = |v: &Value| v.as_str().unwrap().replace("/users/", "/directoryObjects/");
    for key in ["owners@odata.bind", "members@odata.bind"] {
        let expected: Vec<String> = sample[key].as_array().unwrap().iter().map(rewrite).collect();
        assert_eq!(body[key], json!(expected), "{key}");
    }
}

#[test]
fn create_body_leaves_out_empty_parts_and_refuses_21_binds() {
    let group = NewGroup {
        display_name: "d".to_owned(),
        description: Some(String::new()),
        mail_nickname: "d".to_owned(),
    };
    let body = serde_json::to_value(CreateGroup::new(&group, &[], &[], &global()).unwrap()).unwrap();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys.iter().copied().collect::<std::collections::BTreeSet<_>>(),
        ["displayName", "groupTypes", "isAssignableToRole", "mailEnabled", "mailNickname", "securityEnabled"]
            .into_iter()
            .collect()
    );

    let many: Vec<ObjectId> = (0..21).map(|n| id(&format!("00000000-0000-0000-0000-{n:012}"))).collect();
    assert!(CreateGroup::new(&group, &many[..20], &[], &global()).is_ok());
    assert!(CreateGroup::new(&group, &many[..10], &many[10..20], &global()).is_ok());
    assert_eq!(CreateGroup::new(&group, &many[..1], &many[1..], &global()), Err(TooManyBinds { count: 21 }));
}

#[test]
fn patch_sends_only_changes_and_clears_description_with_null() {
    let g = |name: &str, description: Option<&str>| NewGroup {
        display_name: name.to_owned(),
        description: description.map(str::to_owned),
        mail_nickname: "n".to_owned(),
    };
    let cases = [
        (g("a", Some("x")), g("a", Some("x")), json!({})),
        (g("a", None), g("a", Some("")), json!({})),
        (g("a", Some("x")), g("b", Some("x")), json!({"displayName": "b"})),
        (g("a", None), g("a", Some("y")), json!({"description": "y"})),
        (g("a", Some("x")), g("a", None), json!({"description": null})),
        (g("a", Some("x")), g("c", Some("")), json!({"displayName": "c", "description": null})),
    ];
    let renamed = NewGroup { mail_nickname: "m".to_owned(), ..g("a", None) };
    assert_eq!(PatchGroup::between(&g("a", None), &renamed).to_json(), json!({"mailNickname": "m"}));
    for (prior, planned, expected) in cases {
        let patch = PatchGroup::between(&prior, &planned);
        assert_eq!(patch.to_json(), expected);
        assert_eq!(patch.is_empty(), expected == json!({}));
    }
}

/// Mirrors `patch_add_multiple_members.v1.0.request.json` and `add_member_ref.v1.0.request.json`.
#[test]
fn member_bodies_match_documented_shapes() {
    let sample = parse(include_str!("testdata/patch_add_multiple_members.v1.0.request.json"));
    let ids = [
        id("11111111-0000-0000-0000-000000000001"),
        id("11111111-0000-0000-0000-000000000002"),
        id("11111111-0000-0000-0000-000000000003"),
    ];
    let body = bind_members_body(&ids, &global());
    let expected: Vec<String> = sample["members@odata.bind"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&ids)
        .map(|(url, id)| url.as_str().unwrap().replace("{id}", id.as_str()))
        .collect();
    assert_eq!(body, json!({ "members@odata.bind": expected }));

    let sample = parse(include_str!("testdata/add_member_ref.v1.0.request.json"));
    let body = reference_body(&ids[0], &global());
    assert_eq!(body["@odata.id"], sample["@odata.id"].as_str().unwrap().replace("{id}", ids[0].as_str()));
    assert_eq!(body.as_object().unwrap().len(), 1);
}

#[test]
fn parses_documented_group_reads() {
    let security: Group = serde_json::from_str(include_str!(
        "testdata/create_security_group_with_owners_members.v1.0.response.json"
    ))
    .unwrap();
    assert_eq!(security.id, "21d05557-b7b6-418f-86fa-a3118d751be4");
    assert_eq!(security.display_name.as_deref(), Some("Operations group"));
    assert_eq!(security.mail_nickname.as_deref(), Some("operations2019"));
    assert_eq!((security.security_enabled, security.mail_enabled), (Some(true), Some(false)));
    assert_eq!(security.is_assignable_to_role, None);
    assert!(security.group_types.is_empty() && !security.is_dynamic() && !security.is_unified());

    let unified: Group = serde_json::from_str(include_str!("testdata/get_group.v1.0.response.json")).unwrap();
    assert!(unified.is_unified() && !unified.is_dynamic());
    assert_eq!(unified.description.as_deref(), Some("Welcome to the HR Taskforce team."));

    let dynamic: Group =
        serde_json::from_str(include_str!("testdata/create_dynamic_security_group.dt.beta.response.json"))
            .unwrap();
    assert!(dynamic.is_dynamic());
    assert_eq!(dynamic.membership_rule.as_deref(), Some("(user.accountEnabled -eq true)"));
    assert_eq!(dynamic.membership_rule_processing_state.as_deref(), Some("On"));

    let role: Group =
        serde_json::from_str(include_str!("testdata/create_role_assignable_group.v1.0.response.json"))
            .unwrap();
    assert_eq!(role.is_assignable_to_role, Some(true));
}

#[test]
fn select_lists_every_property_group_reads() {
    let selected: Vec<&str> = GROUP_SELECT.split(',').collect();
    let sample = parse(include_str!("testdata/create_role_assignable_group.v1.0.response.json"));
    for property in &selected {
        assert!(sample.get(*property).is_some(), "{property} is not a group property in the sample");
    }
    for needed in ["id", "displayName", "description", "mailNickname", "groupTypes", "isAssignableToRole"] {
        assert!(selected.contains(&needed), "{needed}");
    }
    assert!(!GROUP_SELECT.contains(' '));
}

#[test]
fn null_group_types_read_as_empty() {
    let group: Group = serde_json::from_value(json!({"id": "x", "groupTypes": null})).unwrap();
    assert!(group.group_types.is_empty());
    let group: Group = serde_json::from_value(json!({"id": "x"})).unwrap();
    assert!(group.group_types.is_empty());
}

#[test]
fn parses_owner_pages_with_types_and_app_ids() {
    let page: DirectoryObjectPage =
        serde_json::from_str(include_str!("testdata/list_owners_servicePrincipal.dt.beta.response.json"))
            .unwrap();
    assert_eq!(page.next_link, None);
    let [sp] = page.value.as_slice() else { panic!("one owner expected") };
    assert_eq!(sp.kind(), ObjectKind::ServicePrincipal);
    assert_eq!(sp.app_id.as_deref(), Some("f1346770-5b25-470b-88bd-d5744ab7952c"));
    assert_eq!(sp.object_id(), Some(id("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")));

    let page: DirectoryObjectPage =
        serde_json::from_str(include_str!("testdata/list_owners.v1.0.response.json")).unwrap();
    assert_eq!(page.value.len(), 3);
    assert!(page.value.iter().all(|o| o.kind() == ObjectKind::User && o.app_id.is_none()));
    assert_eq!(page.value[1].user_principal_name.as_deref(), Some("MeganB@contoso.com"));
}

#[test]
fn parses_member_pages_with_and_without_types_and_next_links() {
    let page: DirectoryObjectPage =
        serde_json::from_str(include_str!("testdata/list_members.v1.0.response.json")).unwrap();
    assert_eq!(page.value[0].id, "11111111-2222-3333-4444-555555555555");
    assert_eq!(page.value[0].kind(), ObjectKind::Unknown);

    let page: DirectoryObjectPage =
        serde_json::from_str(include_str!("testdata/list_members.beta.response.json")).unwrap();
    assert_eq!(page.value[0].kind(), ObjectKind::User);
    assert_eq!(page.value[0].object_id(), None, "placeholder id-value is not an object id");

    let page: DirectoryObjectPage =
        serde_json::from_str(include_str!("testdata/paged_memberOf_with_nextLink.beta.response.json"))
            .unwrap();
    assert!(page.next_link.as_deref().unwrap().contains("$skiptoken="));
    assert_eq!(page.value[0].kind(), ObjectKind::Other("directoryRole".to_owned()));
}

#[test]
fn object_kinds_accept_both_odata_type_spellings() {
    let cases = [
        (Some("#microsoft.graph.user"), ObjectKind::User),
        (Some("microsoft.graph.servicePrincipal"), ObjectKind::ServicePrincipal),
        (Some("#microsoft.graph.group"), ObjectKind::Group),
        (Some("#microsoft.graph.device"), ObjectKind::Device),
        (Some("#microsoft.graph.orgContact"), ObjectKind::OrgContact),
        (Some("#microsoft.graph.application"), ObjectKind::Other("application".to_owned())),
        (None, ObjectKind::Unknown),
    ];
    for (odata_type, kind) in cases {
        assert_eq!(ObjectKind::from_odata_type(odata_type), kind, "{odata_type:?}");
    }
}

#[test]
fn parses_service_principals_and_users() {
    let sp: ServicePrincipal =
        serde_json::from_str(include_str!("testdata/get_serviceprincipal_select.v1.0.response.json"))
            .unwrap();
    assert_eq!(sp.id, "7408235b-7540-4850-82fe-a5f15ed019e2");
    assert_eq!(sp.app_id.as_deref(), Some("00000003-0000-0000-c000-000000000000"));
    assert_eq!(sp.display_name.as_deref(), Some("Microsoft Graph"));

    let page: ServicePrincipalPage =
        serde_json::from_str(include_str!("testdata/list_serviceprincipals.v1.0.response.json")).unwrap();
    assert_eq!(page.value[0].app_id.as_deref(), Some("65415bb1-9267-4313-bbf5-ae259732ee12"));

    let new = serde_json::to_value(NewServicePrincipal {
        app_id: "f1346770-5b25-470b-88bd-d5744ab7952c".to_owned(),
    })
    .unwrap();
    assert_eq!(new, json!({"appId": "f1346770-5b25-470b-88bd-d5744ab7952c"}));

    let user: User = serde_json::from_value(json!({
        "id": "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e", "userPrincipalName": "admin@contoso.com", "accountEnabled": true
    }))
    .unwrap();
    assert_eq!(user.user_principal_name.as_deref(), Some("admin@contoso.com"));
}

#[test]
fn paths_are_relative_and_select_what_is_parsed() {
    let g = id("02bd9fd6-8f93-4758-87c3-1fb73740a315");
    let o = id("26be1845-4119-4801-a799-aea79d09f1a2");
    assert_eq!(group_path(&g), "/groups/02bd9fd6-8f93-4758-87c3-1fb73740a315");
    assert_eq!(group_read_path(&g), format!("/groups/{g}?$select={GROUP_SELECT}"));
    assert_eq!(references_path(&g, Relation::Owners), format!("/groups/{g}/owners/$ref"));
    assert_eq!(reference_path(&g, Relation::Members, &o), format!("/groups/{g}/members/{o}/$ref"));
    assert_eq!(list_path(&g, Relation::Members), format!("/groups/{g}/members?$select=id&$top=999"));
    assert_eq!(
        list_path(&g, Relation::Owners),
        format!("/groups/{g}/owners?$select=id,appId,displayName,userPrincipalName&$top=999")
    );
    assert_eq!(
        service_principal_by_app_id_path(&id("f1346770-5b25-470b-88bd-d5744ab7952c")),
        "/servicePrincipals(appId='f1346770-5b25-470b-88bd-d5744ab7952c')?$select=id,appId,displayName,servicePrincipalType"
    );
}

#[test]
fn list_request_bound_for_large_groups() {
    assert_eq!(max_list_requests(0), 1);
    assert_eq!(max_list_requests(999), 2);
    assert_eq!(max_list_requests(1000), 3);
    assert_eq!(max_list_requests(10_000), 12, "⌈10,000/999⌉ + 1");
}

#[test]
fn a_lost_create_is_adopted_only_when_exactly_one_new_group_matches() {
    let new = NewGroup {
        display_name: "Autopilot DPP devices".into(),
        description: None,
        mail_nickname: "autopilot-dpp-devices".into(),
    };
    let floor = time::macros::datetime!(2026-11-26 13:00:00 UTC);
    let g = |id: &str, name: &str, nick: &str, created: Option<&str>| ListedGroup {
        id: id.into(),
        display_name: Some(name.into()),
        mail_nickname: Some(nick.into()),
        created_date_time: created.map(str::to_owned),
    };
    let ours = g("a", "Autopilot DPP devices", "Autopilot-DPP-Devices", Some("2026-11-26T13:00:05Z"));
    let older = g("b", "Autopilot DPP devices", "autopilot-dpp-devices", Some("2026-11-26T12:59:59Z"));
    let renamed = g("c", "Other", "autopilot-dpp-devices", Some("2026-11-26T13:00:06Z"));
    let undated = g("d", "Autopilot DPP devices", "autopilot-dpp-devices", None);
    let cases: [(Vec<ListedGroup>, Option<&str>); 5] = [
        (vec![ours.clone(), older.clone(), renamed.clone()], Some("a")),
        (vec![older.clone(), renamed.clone()], None),
        (vec![], None),
        (vec![ours.clone(), undated.clone()], None),
        (vec![undated], Some("d")),
    ];
    for (listed, expected) in cases {
        let got = pick_created(&listed, &new, floor).map(|g| g.id.as_str());
        assert_eq!(got, expected, "{listed:?}");
    }
}
