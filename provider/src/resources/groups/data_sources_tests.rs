use serde_json::{Value as Json, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::super::test_support::{ctx, data};
use super::*;
use crate::resources::ProviderData;

const SP: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";

async fn read<S: DataSource<ProviderData>>(
    source: &S,
    server: &MockServer,
    config: Value,
) -> (Option<Value>, Diagnostics) {
    source.read(&ctx(), &data(server), ReadDataRequest { config: &config }).await
}

fn config(schema: &Schema, set: &[(&str, &str)]) -> Value {
    set.iter().fold(ObjectBuilder::for_schema(schema), |b, (k, v)| b.set(*k, *v)).build()
}

fn group(id: &str, name: &str) -> Json {
    json!({"id": id, "displayName": name, "securityEnabled": true, "mailEnabled": false, "groupTypes": [],
           "mailNickname": "n", "isAssignableToRole": null})
}

#[tokio::test]
async fn group_by_name_needs_exactly_one_exact_match() {
    let server = MockServer::start().await;
    let a = "00000000-0000-0000-0000-00000000000a";
    let b = "00000000-0000-0000-0000-00000000000b";
    let c = "00000000-0000-0000-0000-00000000000c";
    let answers = [
        ("Devices", json!([group(a, "Devices"), group(b, "devices")])),
        ("Twice", json!([group(a, "Twice"), group(b, "Twice")])),
        ("None", json!([])),
        ("O'Brien", json!([group(c, "O'Brien")])),
    ];
    for (name, value) in &answers {
        Mock::given(method("GET"))
            .and(path("/v1.0/groups"))
            .and(query_param("$filter", format!("displayName eq '{}'", name.replace('\'', "''"))))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "value": value })))
            .mount(&server)
            .await;
    }
    let schema = GroupDataSource::schema();
    let (state, diags) =
        read(&GroupDataSource, &server, config(&schema, &[("display_name", "Devices")])).await;
    assert!(!diags.has_error(), "{diags:?}");
    let state = state.unwrap();
    assert_eq!(state.get_str("id"), Some(a));
    assert_eq!(state.get_bool("dynamic_membership"), Some(false));
    assert_eq!(state.get_bool("assignable_to_role"), Some(false));

    let (_, diags) = read(&GroupDataSource, &server, config(&schema, &[("display_name", "Twice")])).await;
    let detail = &diags.iter().next().unwrap().detail;
    assert!(detail.contains(a) && detail.contains(b), "{detail}");
    let (state, diags) = read(&GroupDataSource, &server, config(&schema, &[("display_name", "None")])).await;
    assert!(state.is_none() && diags.has_error());
    let (state, _) = read(&GroupDataSource, &server, config(&schema, &[("display_name", "O'Brien")])).await;
    assert_eq!(state.unwrap().get_str("id"), Some(c));
}

#[tokio::test]
async fn service_principal_defaults_to_the_provisioning_client() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/servicePrincipals(appId='f1346770-5b25-470b-88bd-d5744ab7952c')"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": SP,
            "appId": "f1346770-5b25-470b-88bd-d5744ab7952c", "displayName": "Intune Autopilot ConfidentialClient",
            "servicePrincipalType": "Application"})))
        .mount(&server)
        .await;
    let schema = ServicePrincipalDataSource::schema();
    let (state, diags) = read(&ServicePrincipalDataSource, &server, config(&schema, &[])).await;
    assert!(!diags.has_error(), "{diags:?}");
    let state = state.unwrap();
    assert_eq!(state.get_str("object_id"), Some(SP));
    assert_eq!(state.get_str("app_id"), Some(PROVISIONING_CLIENT_APP_ID));

    let other = "00000003-0000-0000-c000-000000000000";
    let (state, diags) =
        read(&ServicePrincipalDataSource, &server, config(&schema, &[("app_id", other)])).await;
    assert!(state.is_none());
    assert!(diags.iter().next().unwrap().summary.contains("not found"));
}

#[tokio::test]
async fn user_by_principal_name_is_path_encoded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/o%27brien%231%40contoso.com"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e",
            "userPrincipalName": "o'brien#1@contoso.com", "displayName": "O'Brien", "accountEnabled": true})),
        )
        .mount(&server)
        .await;
    let schema = UserDataSource::schema();
    let (state, diags) =
        read(&UserDataSource, &server, config(&schema, &[("user_principal_name", "o'brien#1@contoso.com")]))
            .await;
    assert!(!diags.has_error(), "{diags:?}");
    assert_eq!(state.unwrap().get_bool("account_enabled"), Some(true));
    let request = &server.received_requests().await.unwrap()[0];
    assert!(request.url.as_str().contains("o%27brien%231%40contoso.com"), "{}", request.url);
}
