//! Data source `autopilot_client_config`: who the provider is authenticated as. Lets users
//! check their authentication settings, and gives modules the caller's ids.

use async_trait::async_trait;
use serde::Deserialize;

use crate::framework::resource::{Ctx, DataSource, ReadDataRequest};
use crate::framework::schema::Attribute;
use crate::framework::{Diagnostics, Schema, Value};
use crate::graph::Api;
use crate::graph::config::Credential;
use crate::graph::odata::{Query, literal};
use crate::resources::ProviderData;
use crate::resources::errors::{Op, call_cx, graph_diagnostic};

/// The data source.
#[derive(Debug, Default)]
pub struct ClientConfig;

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Deserialize)]
struct IdList {
    value: Vec<IdOnly>,
}

/// The Azure CLI's own application id: the client of tokens obtained with `az login`.
const AZURE_CLI_APP_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

#[async_trait]
impl DataSource<ProviderData> for ClientConfig {
    fn type_name(&self) -> &'static str {
        "autopilot_client_config"
    }

    fn schema(&self) -> Schema {
        let mut s = Schema::default();
        s.block.description = "The identity the provider authenticates as: tenant, application (client) id and \
            the object id of the service principal (application authentication) or user (Azure CLI). Reading it \
            makes one Graph request, so it is a quick check that authentication works.\n\n\
            Needs `Application.Read.All` for application authentication (to find the service principal) or \
            `User.Read` for a signed-in user."
            .into();
        s.block.attributes = vec![
            Attribute::string("id").computed().description("The tenant id, as an identifier for this data source."),
            Attribute::string("tenant_id").computed().description("The tenant (directory) id."),
            Attribute::string("client_id").computed().description("The application (client) id used to authenticate."),
            Attribute::string("object_id").computed().description(
                "Object id of the authenticated service principal, or of the signed-in user with Azure CLI authentication.",
            ),
            Attribute::string("authentication_method").computed().description(
                "The method in use: `client secret`, `client certificate`, `OIDC (workload identity federation)`, `managed identity` or `Azure CLI`.",
            ),
        ];
        s
    }

    async fn read(
        &self,
        ctx: &Ctx,
        data: &ProviderData,
        _req: ReadDataRequest<'_>,
    ) -> (Option<Value>, Diagnostics) {
        let cx = call_cx(ctx);
        let cfg = &data.settings.graph;
        let client_id = match &cfg.credential {
            Credential::ClientSecret { client_id, .. }
            | Credential::ClientCertificate { client_id, .. }
            | Credential::Oidc { client_id, .. } => Some(client_id.clone()),
            Credential::ManagedIdentity { client_id } => client_id.clone(),
            Credential::AzureCli => None,
        };
        let object_id = match &client_id {
            Some(app_id) => {
                let path = Query::new()
                    .filter(format!("appId eq {}", literal(app_id)))
                    .select(&["id"])
                    .to_path("/servicePrincipals");
                let op = Op {
                    action: "Looking up the service principal of the provider's application",
                    permission: "Application.Read.All",
                    delegated_role: None,
                };
                match data.graph.get_json_coalesced::<IdList>(&cx, Api::V1, &path).await {
                    Ok(list) => list.value.into_iter().next().map(|o| o.id),
                    Err(e) => return (None, graph_diagnostic(op, &e).into()),
                }
            }
            None => {
                let op = Op {
                    action: "Reading the signed-in user",
                    permission: "User.Read",
                    delegated_role: None,
                };
                match data.graph.get_json_coalesced::<IdOnly>(&cx, Api::V1, "/me?$select=id").await {
                    Ok(me) => Some(me.id),
                    Err(e) => return (None, graph_diagnostic(op, &e).into()),
                }
            }
        };
        let client_id = client_id.unwrap_or_else(|| AZURE_CLI_APP_ID.to_owned());
        let state = Value::object()
            .set("id", cfg.tenant_id.as_str())
            .set("tenant_id", cfg.tenant_id.as_str())
            .set("client_id", client_id)
            .set("object_id", Value::from(object_id))
            .set("authentication_method", cfg.credential.method_name())
            .build();
        (Some(state), Diagnostics::new())
    }
}
