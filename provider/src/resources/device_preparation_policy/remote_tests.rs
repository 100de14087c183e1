//! The Graph sequences of the resource against wiremock on 127.0.0.1: adopting the policy after
//! an unanswered create, the app-only 500 on binding, a rejected binding, and paged settings.

use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::super::catalog::{TEMPLATE_AUTOMATIC, TEMPLATE_USER_DRIVEN, Template};
use super::super::model::DeploymentMode;
use super::super::remote;
use crate::framework::resource::Ctx;
use crate::resources::ProviderData;

fn data(server: &MockServer) -> ProviderData {
    crate::resources::testkit::provider_data(&server.uri())
}

/// A context whose deadline only guards against hangs.
fn ctx() -> Ctx {
    Ctx::new(tokio_util::sync::CancellationToken::new(), Some(Instant::now() + Duration::from_secs(30)))
}

const POLICIES: &str = "/beta/deviceManagement/configurationPolicies";

fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test]
async fn a_create_without_answer_adopts_the_policy_instead_of_duplicating_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POLICIES))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(5)).set_body_json(json!({})))
        .mount(&server)
        .await;
    let listed = json!({ "value": [
        // Same name, but long before this create: somebody else's policy.
        {"id": "old", "name": "dpp", "createdDateTime": "2020-01-01T00:00:00Z",
         "templateReference": {"templateId": TEMPLATE_USER_DRIVEN}},
        // Same name, other template.
        {"id": "auto", "name": "dpp", "createdDateTime": now(), "templateReference": {"templateId": TEMPLATE_AUTOMATIC}},
        {"id": "mine", "name": "dpp", "createdDateTime": now(), "templateReference": {"templateId": TEMPLATE_USER_DRIVEN}},
        {"id": "other", "name": "other", "createdDateTime": now(), "templateReference": {"templateId": TEMPLATE_USER_DRIVEN}}
    ]});
    Mock::given(method("GET"))
        .and(path(POLICIES))
        .and(query_param("$select", "id,name,templateReference,createdDateTime"))
        .respond_with(ResponseTemplate::new(200).set_body_json(listed))
        .expect(1)
        .mount(&server)
        .await;
    let short = Ctx::new(
        tokio_util::sync::CancellationToken::new(),
        Some(Instant::now() + Duration::from_millis(500)),
    );
    let info = remote::create(&short, &data(&server), &json!({"name": "dpp"}), "dpp", Template::UserDriven)
        .await
        .expect("adopted");
    assert_eq!(info.id, "mine");
    assert_eq!(info.mode, DeploymentMode::UserDriven);
}

#[tokio::test]
async fn a_create_without_answer_and_nothing_found_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(POLICIES))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(POLICIES))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let short = Ctx::new(
        tokio_util::sync::CancellationToken::new(),
        Some(Instant::now() + Duration::from_millis(500)),
    );
    let err =
        remote::create(&short, &data(&server), &json!({}), "dpp", Template::UserDriven).await.unwrap_err();
    assert!(err.is_error() && err.summary.contains("Creating"), "{err:?}");
    let posts =
        server.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "POST").count();
    assert_eq!(posts, 1, "the create must not be repeated blindly");
}

#[tokio::test]
async fn binding_500_explains_the_app_only_limitation() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{POLICIES}/p1/setEnrollmentTimeDeviceMembershipTarget")))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"error": {"code": "InternalServerError", "message": "An internal server error has occurred"}}),
        ))
        .mount(&server)
        .await;
    let err = remote::bind(&ctx(), &data(&server), "p1", Some("g1")).await.unwrap_err();
    assert!(err.detail.contains("delegated authentication"), "{}", err.detail);
    assert_eq!(
        format!("{:?}", err.path),
        format!("{:?}", Some(crate::framework::AttributePath::new("device_group_id")))
    );
}

#[tokio::test]
async fn a_rejected_binding_says_what_to_fix() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{POLICIES}/p1/setEnrollmentTimeDeviceMembershipTarget")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": {
            "validationSucceeded": false,
            "enrollmentTimeDeviceMembershipTargetValidationStatuses": [
                {"targetId": "g1", "validationSucceeded": false, "targetValidationErrorCode": "notStaticSecurityGroup"}]
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let err = remote::bind(&ctx(), &data(&server), "p1", Some("g1")).await.unwrap_err();
    assert!(err.detail.contains("dynamic membership"), "{}", err.detail);
}

#[tokio::test]
async fn read_follows_settings_pages_and_reports_missing_policies() {
    let server = MockServer::start().await;
    let d = data(&server);
    Mock::given(method("GET"))
        .and(path(format!("{POLICIES}/gone")))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "NotFound", "message": "x"}})),
        )
        .mount(&server)
        .await;
    assert!(remote::read(&ctx(), &d, "gone").await.unwrap().is_none());

    Mock::given(method("GET"))
        .and(path(format!("{POLICIES}/p1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "p1", "name": "n", "templateReference": {"templateId": TEMPLATE_AUTOMATIC}})))
        .mount(&server)
        .await;
    let app = |id: &str| {
        json!({"settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingCollectionInstance",
            "settingDefinitionId": format!("enrollment_autopilot_dpp_allowed{id}ids"),
            "simpleSettingCollectionValue": [{"value": "00000000-0000-0000-0000-000000000001"}]}})
    };
    let next = format!("{}{POLICIES}/p1/settings?page=2", server.uri());
    Mock::given(method("GET"))
        .and(path(format!("{POLICIES}/p1/settings")))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [app("script")]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{POLICIES}/p1/settings")))
        .and(query_param("$expand", "settingDefinitions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [app("app")], "@odata.nextLink": next})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{POLICIES}/p1/retrieveEnrollmentTimeDeviceMembershipTarget")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": {"validationSucceeded": true,
            "enrollmentTimeDeviceMembershipTargetValidationStatuses": [{"targetId": "G1", "validationSucceeded": true}]}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{POLICIES}/p1/assignments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let remote = remote::read(&ctx(), &d, "p1").await.unwrap().unwrap();
    assert_eq!(remote.settings.allowed_app_ids, ["00000000-0000-0000-0000-000000000001"]);
    assert_eq!(remote.settings.allowed_script_ids, ["00000000-0000-0000-0000-000000000001"]);
    assert_eq!(remote.device_group_id.as_deref(), Some("g1"));
    assert!(remote.assigned_group_ids.is_empty() && remote.warnings.is_empty());
}

#[tokio::test]
async fn a_missing_owner_of_a_group_this_apply_created_is_waited_out_not_of_another_group() {
    let server = MockServer::start().await;
    let rejected = json!({"value": {
        "validationSucceeded": false,
        "enrollmentTimeDeviceMembershipTargetValidationStatuses": [
            {"targetId": "g-new", "validationSucceeded": false, "targetValidationErrorCode": "firstPartyAppNotAnOwner"}]
    }});
    Mock::given(method("POST"))
        .and(path(format!("{POLICIES}/p1/setEnrollmentTimeDeviceMembershipTarget")))
        .respond_with(ResponseTemplate::new(200).set_body_json(rejected))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{POLICIES}/p1/setEnrollmentTimeDeviceMembershipTarget")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": {
            "validationSucceeded": true,
            "enrollmentTimeDeviceMembershipTargetValidationStatuses": [
                {"targetId": "g-new", "validationSucceeded": true}]
        }})))
        .mount(&server)
        .await;
    let d = data(&server);
    // Another group: the owner is really missing, said at once (first rejection).
    let err = remote::bind(&ctx(), &d, "p1", Some("g-old")).await.unwrap_err();
    assert!(err.detail.contains("not an owner"), "{}", err.detail);
    // The group this client created with the provisioning client bound: lag (second rejection,
    // then accepted).
    d.created_groups.remember(
        "g-new",
        crate::resources::groups::created::CreatedGroup { owned_by_provisioning_client: true },
    );
    remote::bind(&ctx(), &d, "p1", Some("g-new")).await.expect("bound once the owner reached Intune");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_refresh_right_after_create_waits_out_a_404_a_later_one_does_not() {
    use crate::framework::resource::{ReadRequest, Resource};
    let server = MockServer::start().await;
    let not_found = json!({"error": {"code": "NotFound", "message": "x"}});
    Mock::given(method("GET"))
        .and(path(format!("{POLICIES}/p1")))
        .respond_with(ResponseTemplate::new(404).set_body_json(not_found))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{POLICIES}/p1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "p1", "name": "n", "templateReference": {"templateId": TEMPLATE_AUTOMATIC}})))
        .mount(&server)
        .await;
    for list in ["settings", "assignments"] {
        Mock::given(method("GET"))
            .and(path(format!("{POLICIES}/p1/{list}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(format!("{POLICIES}/p1/retrieveEnrollmentTimeDeviceMembershipTarget")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": {"validationSucceeded": true,
            "enrollmentTimeDeviceMembershipTargetValidationStatuses": []}})))
        .mount(&server)
        .await;
    let d = data(&server);
    let current = crate::framework::Value::object().set("id", "p1").build();
    let policy = super::super::resource::DevicePreparationPolicy;
    // An older state: the first 404 means deleted.
    let old = policy.read(&ctx(), &d, ReadRequest { current: &current, private: &[] }).await;
    assert!(old.state.is_none() && !old.diagnostics.has_error(), "{:?}", old.diagnostics);
    // Created moments ago: the second 404 is waited out.
    let fresh = crate::resources::fresh::stamp_created(&[]);
    let read = policy.read(&ctx(), &d, ReadRequest { current: &current, private: &fresh }).await;
    assert!(!read.diagnostics.has_error(), "{:?}", read.diagnostics);
    assert_eq!(read.state.expect("found once replicated").get_str("id"), Some("p1"));
}
