//! The group resources driven through the framework's plan/apply/read against wiremock.

use serde_json::{Value as Json, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::super::test_support::{ctx, data, mount_not_found_once};
use super::*;
use crate::framework::apply::{ApplyRequest, apply_resource_change, read_resource};
use crate::framework::plan::{PlanRequest, plan_resource_change};
use crate::resources::ProviderData;

const GROUP: &str = "21d05557-b7b6-418f-86fa-a3118d751be4";
const SP: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
const USER: &str = "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e";
const SP_PATH: &str = "/v1.0/servicePrincipals(appId='f1346770-5b25-470b-88bd-d5744ab7952c')";

fn config(flavour: Flavour, set: &[(&str, Value)]) -> Value {
    let mut b = ObjectBuilder::for_schema(&schema(flavour));
    for (name, value) in set {
        b = b.set(*name, value.clone());
    }
    b.build()
}

async fn mount_json(server: &MockServer, verb: &str, at: &str, status: u16, body: Json) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

fn group_json() -> Json {
    serde_json::from_str(include_str!("testdata/get_group_dpp.dt.beta.response.json"))
        .map(|mut v: Json| {
            v["id"] = json!(GROUP);
            v["displayName"] = json!("Autopilot DPP devices");
            v["mailNickname"] = json!("autopilot-dpp-devices");
            v
        })
        .unwrap()
}

fn sp_owner() -> Json {
    json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": SP,
           "appId": "f1346770-5b25-470b-88bd-d5744ab7952c", "displayName": "Intune Provisioning Client"})
}

fn user_owner() -> Json {
    json!({"@odata.type": "#microsoft.graph.user", "id": USER, "userPrincipalName": "admin@contoso.com"})
}

#[tokio::test]
async fn device_group_create_binds_the_provisioning_client_and_derives_the_nickname() {
    let server = MockServer::start().await;
    mount_json(&server, "GET", SP_PATH, 200, sp_owner()).await;
    mount_json(&server, "POST", "/v1.0/groups", 201, group_json()).await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}"), 200, group_json()).await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}/owners"), 200, json!({"value": [sp_owner()]}))
        .await;
    let data = data(&server);
    let resource = GroupResource::device_group();
    let cfg = config(Flavour::DeviceGroup, &[("display_name", "Autopilot DPP devices".into())]);

    let plan = plan_resource_change::<ProviderData>(
        &resource,
        &ctx(),
        Some(&data),
        PlanRequest { prior: &Value::Null, proposed: &cfg, config: &cfg, prior_private: &[] },
    )
    .await;
    assert!(!plan.diagnostics.has_error(), "{:?}", plan.diagnostics);
    assert_eq!(plan.planned.get_str("mail_nickname"), Some("autopilot-dpp-devices"));
    assert!(plan.planned.attr("provisioning_client_object_id").unwrap().is_unknown());

    let applied = apply_resource_change::<ProviderData>(
        &resource,
        &ctx(),
        &data,
        ApplyRequest { prior: &Value::Null, planned: &plan.planned, config: &cfg, planned_private: &[] },
    )
    .await;
    assert!(!applied.diagnostics.has_error(), "{:?}", applied.diagnostics);
    let state = applied.state.unwrap();
    assert_eq!(state.get_str("id"), Some(GROUP));
    assert_eq!(state.get_str("object_id"), Some(GROUP));
    assert_eq!(state.get_str("provisioning_client_object_id"), Some(SP));
    assert!(state.attr("owners").unwrap().is_null());

    let received = server.received_requests().await.unwrap();
    let create =
        received.iter().find(|r| r.method.as_str() == "POST" && r.url.path() == "/v1.0/groups").unwrap();
    let body: Json = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(body["owners@odata.bind"], json!([format!("{}/v1.0/directoryObjects/{SP}", server.uri())]));
    assert_eq!(body["mailNickname"], json!("autopilot-dpp-devices"));
    assert!(body.get("members@odata.bind").is_none());
    // The create answer is trusted: no read-back of the group or its owners.
    let after_create: Vec<String> = received
        .iter()
        .skip_while(|r| r.url.path() != "/v1.0/groups")
        .skip(1)
        .map(|r| r.url.path().to_owned())
        .collect();
    assert!(after_create.is_empty(), "nothing read after the create: {after_create:?}");
    assert!(recently_created(&applied.private), "the refresh waits out replication for this group");
    assert_eq!(
        data.created_groups.recall(GROUP),
        Some(CreatedGroup { owned_by_provisioning_client: true }),
        "resources planned next trust the new group"
    );
}

#[tokio::test]
async fn a_refresh_right_after_create_waits_out_a_404_a_later_one_does_not() {
    let server = MockServer::start().await;
    // The group and its owners are not visible for the first reads, then they are.
    for at in [format!("/v1.0/groups/{GROUP}"), format!("/v1.0/groups/{GROUP}/owners")] {
        mount_not_found_once(&server, &at).await;
    }
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}"), 200, group_json()).await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}/owners"), 200, json!({"value": [sp_owner()]}))
        .await;
    let data = data(&server);
    let resource = GroupResource::device_group();
    let current = config(
        Flavour::DeviceGroup,
        &[
            ("id", GROUP.into()),
            ("display_name", "Autopilot DPP devices".into()),
            ("mail_nickname", "autopilot-dpp-devices".into()),
            ("provisioning_client_object_id", SP.into()),
        ],
    );
    let fresh = stamp_created(&[]);
    let read = read_resource::<ProviderData>(
        &resource,
        &ctx(),
        &data,
        ReadRequest { current: &current, private: &fresh },
    )
    .await;
    assert!(!read.diagnostics.has_error(), "{:?}", read.diagnostics);
    let state = read.state.expect("a group created moments ago is waited for, not dropped");
    assert_eq!(state.get_str("provisioning_client_object_id"), Some(SP), "relations read again once visible");
    assert_eq!(read.private, fresh);

    // Without the create stamp a 404 means deleted, at once.
    let server = MockServer::start().await;
    let not_found = json!({"error": {"code": "Request_ResourceNotFound", "message": "x"}});
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}"), 404, not_found.clone()).await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}/owners"), 404, not_found).await;
    let data = super::super::test_support::data(&server);
    let read = read_resource::<ProviderData>(
        &resource,
        &ctx(),
        &data,
        ReadRequest { current: &current, private: &[] },
    )
    .await;
    assert!(read.state.is_none(), "gone");
    let gets =
        server.received_requests().await.unwrap().iter().filter(|r| r.url.path().ends_with(GROUP)).count();
    assert_eq!(gets, 1, "no waiting for a group not created moments ago");
}

#[tokio::test]
async fn removed_provisioning_client_shows_as_drift_and_is_added_back() {
    let server = MockServer::start().await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}"), 200, group_json()).await;
    mount_json(
        &server,
        "GET",
        &format!("/v1.0/groups/{GROUP}/owners"),
        200,
        json!({"value": [user_owner()]}),
    )
    .await;
    let data = data(&server);
    let resource = GroupResource::device_group();
    let cfg = config(Flavour::DeviceGroup, &[("display_name", "Autopilot DPP devices".into())]);
    let prior = config(
        Flavour::DeviceGroup,
        &[
            ("id", GROUP.into()),
            ("object_id", GROUP.into()),
            ("display_name", "Autopilot DPP devices".into()),
            ("mail_nickname", "autopilot-dpp-devices".into()),
            ("prevent_duplicate_names", false.into()),
            ("create_provisioning_client_if_missing", false.into()),
            ("provisioning_client_object_id", SP.into()),
        ],
    );
    let read = read_resource::<ProviderData>(
        &resource,
        &ctx(),
        &data,
        crate::framework::resource::ReadRequest { current: &prior, private: &[] },
    )
    .await;
    assert!(!read.diagnostics.has_error(), "{:?}", read.diagnostics);
    let refreshed = read.state.unwrap();
    assert!(refreshed.attr("provisioning_client_object_id").unwrap().is_null());

    let plan = plan_resource_change::<ProviderData>(
        &resource,
        &ctx(),
        None,
        PlanRequest {
            prior: &refreshed,
            proposed: &refreshed_with_config(&refreshed, &cfg),
            config: &cfg,
            prior_private: &[],
        },
    )
    .await;
    assert!(plan.planned.attr("provisioning_client_object_id").unwrap().is_unknown(), "{:?}", plan.planned);
}

/// Terraform's proposed new state: configured values over the prior state.
fn refreshed_with_config(prior: &Value, cfg: &Value) -> Value {
    let mut proposed = prior.clone();
    if let Value::Object(m) = cfg {
        for (k, v) in m {
            if !v.is_null() {
                proposed.set_attr(k.clone(), v.clone());
            }
        }
    }
    proposed
}

#[tokio::test]
async fn removing_the_last_user_owner_fails_with_a_diagnostic_on_owners() {
    let server = MockServer::start().await;
    mount_json(
        &server,
        "GET",
        &format!("/v1.0/groups/{GROUP}/owners"),
        200,
        json!({"value": [user_owner()]}),
    )
    .await;
    let data = data(&server);
    let resource = GroupResource::group();
    let base = [
        ("id", Value::from(GROUP)),
        ("object_id", GROUP.into()),
        ("display_name", "Autopilot DPP users".into()),
        ("mail_nickname", "autopilot-dpp-users".into()),
        ("prevent_duplicate_names", false.into()),
    ];
    let mut prior_attrs = base.to_vec();
    prior_attrs.push(("owners", Value::string_set([USER])));
    let prior = config(Flavour::Group, &prior_attrs);
    let mut planned_attrs = base.to_vec();
    planned_attrs.push(("owners", Value::string_set(Vec::<String>::new())));
    let planned = config(Flavour::Group, &planned_attrs);

    let applied = apply_resource_change::<ProviderData>(
        &resource,
        &ctx(),
        &data,
        ApplyRequest { prior: &prior, planned: &planned, config: &planned, planned_private: &[] },
    )
    .await;
    let error = applied.diagnostics.iter().find(|d| d.is_error()).expect("an error");
    assert!(error.detail.contains("last user owner"), "{}", error.detail);
    assert_eq!(error.path, Some(AttributePath::new("owners")));
    let received = server.received_requests().await.unwrap();
    assert!(received.iter().all(|r| r.method.as_str() == "GET"), "nothing may be written");
    // The prior state is kept.
    assert_eq!(applied.state.unwrap().get_string_set("owners"), Some(vec![USER.to_owned()]));
}

#[tokio::test]
async fn import_reads_owners_and_members_once() {
    let server = MockServer::start().await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}"), 200, group_json()).await;
    mount_json(
        &server,
        "GET",
        &format!("/v1.0/groups/{GROUP}/owners"),
        200,
        json!({"value": [user_owner()]}),
    )
    .await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}/members"), 200, json!({"value": [{"id": SP}]}))
        .await;
    let data = data(&server);
    let resource = GroupResource::group();
    let imported = Resource::<ProviderData>::import(&resource, &ctx(), &data, GROUP).await;
    let state = imported.state.unwrap();
    let read = read_resource::<ProviderData>(
        &resource,
        &ctx(),
        &data,
        crate::framework::resource::ReadRequest { current: &state, private: &imported.private },
    )
    .await;
    assert!(!read.diagnostics.has_error(), "{:?}", read.diagnostics);
    let state = read.state.unwrap();
    assert_eq!(state.get_str("display_name"), Some("Autopilot DPP devices"));
    assert_eq!(state.get_string_set("owners"), Some(vec![USER.to_owned()]));
    assert_eq!(state.get_string_set("members"), Some(vec![SP.to_owned()]));
    // A later refresh (display_name now known) leaves unmanaged relations alone.
    let mut unmanaged = state.clone();
    unmanaged.set_attr("owners", Value::Null);
    unmanaged.set_attr("members", Value::Null);
    let again = read_resource::<ProviderData>(
        &resource,
        &ctx(),
        &data,
        crate::framework::resource::ReadRequest { current: &unmanaged, private: &read.private },
    )
    .await;
    let again = again.state.unwrap();
    assert!(again.attr("owners").unwrap().is_null() && again.attr("members").unwrap().is_null());

    let bad = Resource::<ProviderData>::import(&resource, &ctx(), &data, "not-a-guid").await;
    assert!(bad.diagnostics.has_error());
}

#[tokio::test]
async fn import_leaves_empty_relations_unmanaged() {
    // A device group owned only by the provisioning client, and a group without members:
    // a configuration that omits `owners`/`members` must plan nothing after the import.
    let server = MockServer::start().await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}"), 200, group_json()).await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}/owners"), 200, json!({"value": [sp_owner()]}))
        .await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}/members"), 200, json!({"value": []})).await;
    let data = data(&server);
    for resource in [GroupResource::device_group(), GroupResource::group()] {
        let imported = Resource::<ProviderData>::import(&resource, &ctx(), &data, GROUP).await;
        let state = imported.state.unwrap();
        let read = read_resource::<ProviderData>(
            &resource,
            &ctx(),
            &data,
            crate::framework::resource::ReadRequest { current: &state, private: &imported.private },
        )
        .await;
        assert!(!read.diagnostics.has_error(), "{:?}", read.diagnostics);
        let state = read.state.unwrap();
        match state.attr("members") {
            // `autopilot_group`: the service principal is an ordinary owner there.
            Some(members) => {
                assert!(members.is_null(), "members: {members:?}");
                assert_eq!(state.get_string_set("owners"), Some(vec![SP.to_owned()]));
            }
            // `autopilot_device_group`: the provisioning client is implied, not listed.
            None => assert!(state.attr("owners").unwrap().is_null(), "owners: {:?}", state.attr("owners")),
        }
    }
}

#[test]
fn schemas_differ_only_where_the_flavours_do() {
    let group = schema(Flavour::Group);
    let device = schema(Flavour::DeviceGroup);
    assert!(group.block.attribute("members").is_some());
    assert!(device.block.attribute("members").is_none());
    assert!(device.block.attribute("provisioning_client_object_id").is_some_and(|a| a.computed));
    for s in [&group, &device] {
        assert!(s.block.attribute("display_name").is_some_and(|a| a.required));
        assert!(s.block.attribute("mail_nickname").is_some_and(|a| a.optional && a.computed));
        assert!(s.block.attribute("owners").is_some_and(|a| a.optional && !a.computed));
    }
}

#[test]
fn configured_spelling_is_kept_for_equal_ids() {
    let actual: BTreeSet<ObjectId> = [ObjectId::parse(SP).unwrap(), ObjectId::parse(USER).unwrap()].into();
    let prior = vec![SP.to_ascii_uppercase()];
    assert_eq!(spell_like(&actual, Some(&prior)), vec![USER.to_owned(), SP.to_ascii_uppercase()]);
}

#[tokio::test]
async fn replacing_the_only_user_owner_by_a_service_principal_fails_at_plan() {
    let other_user = "f0206b06-7c5d-461c-ae24-08f68b7ef463";
    let server = MockServer::start().await;
    mount_json(
        &server,
        "GET",
        &format!("/v1.0/groups/{GROUP}/owners"),
        200,
        json!({"value": [user_owner()]}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/directoryObjects/getByIds"))
        .respond_with(move |req: &wiremock::Request| {
            let body: Json = serde_json::from_slice(&req.body).unwrap();
            let found: Vec<Json> = body["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| {
                    let kind =
                        if id == SP { "#microsoft.graph.servicePrincipal" } else { "#microsoft.graph.user" };
                    json!({"id": id, "@odata.type": kind})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "value": found }))
        })
        .mount(&server)
        .await;
    let data = data(&server);
    let resource = GroupResource::group();
    let base = [
        ("id", Value::from(GROUP)),
        ("object_id", GROUP.into()),
        ("display_name", "Autopilot DPP users".into()),
        ("mail_nickname", "autopilot-dpp-users".into()),
        ("prevent_duplicate_names", false.into()),
    ];
    let with_owners = |owners: &[&str]| {
        let mut attrs = base.to_vec();
        attrs.push(("owners", Value::string_set(owners.iter().copied())));
        config(Flavour::Group, &attrs)
    };
    let prior = with_owners(&[USER]);
    for (owners, refused) in [(vec![SP], true), (vec![other_user], false), (vec![USER, SP], false)] {
        let cfg = with_owners(&owners);
        let plan = plan_resource_change::<ProviderData>(
            &resource,
            &ctx(),
            Some(&data),
            PlanRequest { prior: &prior, proposed: &cfg, config: &cfg, prior_private: &[] },
        )
        .await;
        let error = plan.diagnostics.iter().find(|d| d.is_error());
        assert_eq!(error.is_some(), refused, "{owners:?}: {:?}", plan.diagnostics);
        if let Some(error) = error {
            assert_eq!(error.path, Some(AttributePath::new("owners")));
            assert!(error.detail.contains("last user owner"), "{}", error.detail);
        }
    }
}

#[tokio::test]
async fn a_device_group_made_dynamic_outside_terraform_is_reported() {
    let server = MockServer::start().await;
    let mut dynamic = group_json();
    dynamic["groupTypes"] = json!(["DynamicMembership"]);
    dynamic["membershipRule"] = json!("(device.deviceOSType -eq \"Windows\")");
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}"), 200, dynamic).await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}/owners"), 200, json!({"value": [sp_owner()]}))
        .await;
    let data = data(&server);
    let current = config(
        Flavour::DeviceGroup,
        &[
            ("id", GROUP.into()),
            ("display_name", "Autopilot DPP devices".into()),
            ("provisioning_client_object_id", SP.into()),
        ],
    );
    let read = read_resource::<ProviderData>(
        &GroupResource::device_group(),
        &ctx(),
        &data,
        crate::framework::resource::ReadRequest { current: &current, private: &[] },
    )
    .await;
    let warning = read.diagnostics.iter().next().expect("a warning");
    assert!(!warning.is_error());
    assert!(
        warning.detail.contains("dynamic membership") && warning.detail.contains("-replace"),
        "{}",
        warning.detail
    );
    assert_eq!(read.state.unwrap().get_str("provisioning_client_object_id"), Some(SP));
}

#[tokio::test]
async fn an_owner_graph_added_on_its_own_is_removed_after_create() {
    let caller = "f0206b06-7c5d-461c-ae24-08f68b7ef463";
    let server = MockServer::start().await;
    mount_json(&server, "POST", "/v1.0/groups", 201, group_json()).await;
    // Not replicated yet at first: the owner read waits for the group rather than failing.
    mount_not_found_once(&server, &format!("/v1.0/groups/{GROUP}")).await;
    mount_json(&server, "GET", &format!("/v1.0/groups/{GROUP}"), 200, group_json()).await;
    let caller_owner = json!({"@odata.type": "#microsoft.graph.user", "id": caller});
    // Two confirming reads and the planning read see the extra owner; later reads do not.
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{GROUP}/owners")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [user_owner(), caller_owner]})),
        )
        .up_to_n_times(3)
        .mount(&server)
        .await;
    mount_json(
        &server,
        "GET",
        &format!("/v1.0/groups/{GROUP}/owners"),
        200,
        json!({"value": [user_owner()]}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(|req: &wiremock::Request| {
            let body: Json = serde_json::from_slice(&req.body).unwrap();
            let responses: Vec<Json> = body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| json!({"id": r["id"], "status": 204}))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
        })
        .mount(&server)
        .await;
    let data = data(&server);
    let planned = config(
        Flavour::Group,
        &[
            ("display_name", "Autopilot DPP users".into()),
            ("mail_nickname", "autopilot-dpp-users".into()),
            ("prevent_duplicate_names", false.into()),
            ("owners", Value::string_set([USER])),
            ("id", Value::unknown()),
            ("object_id", Value::unknown()),
        ],
    );
    let applied = apply_resource_change::<ProviderData>(
        &GroupResource::group(),
        &ctx(),
        &data,
        ApplyRequest { prior: &Value::Null, planned: &planned, config: &planned, planned_private: &[] },
    )
    .await;
    assert!(!applied.diagnostics.has_error(), "{:?}", applied.diagnostics);
    assert_eq!(applied.state.unwrap().get_string_set("owners"), Some(vec![USER.to_owned()]));
    let received = server.received_requests().await.unwrap();
    let batch = received.iter().find(|r| r.url.path() == "/v1.0/$batch").expect("a removal batch");
    let body: Json = serde_json::from_slice(&batch.body).unwrap();
    assert_eq!(body["requests"][0]["method"], "DELETE");
    assert_eq!(body["requests"][0]["url"], json!(format!("/groups/{GROUP}/owners/{caller}/$ref")));
    // The owners were read only once the group itself was visible (the owner list of a group
    // that has not replicated yet answers 404).
    let gets: Vec<String> =
        received.iter().filter(|r| r.method.as_str() == "GET").map(|r| r.url.path().to_owned()).collect();
    let group_path = format!("/v1.0/groups/{GROUP}");
    assert_eq!(gets[..2], [group_path.clone(), group_path], "{gets:?}");
}
