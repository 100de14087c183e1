//! Data sources `autopilot_group`, `autopilot_user` and `autopilot_service_principal`:
//! look up directory objects by id or by a unique name, so configurations need no
//! tenant-specific ids.

use async_trait::async_trait;

use crate::framework::diag::Diagnostic;
use crate::framework::path::AttributePath;
use crate::framework::resource::{Ctx, DataSource, ReadDataRequest};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validator::{conflicts_with, string_length, uuid};
use crate::framework::value::ObjectBuilder;
use crate::framework::{Diagnostics, Value};

use super::api::GroupsApi;
use super::identity::{PROVISIONING_CLIENT_APP_ID, provisioning_client_app_id};
use super::object_id::ObjectId;
use super::wire::Group;
use crate::resources::ProviderData;
use crate::resources::errors::{Op, call_cx, graph_diagnostic};

fn computed_string(name: &str, description: &str) -> Attribute {
    Attribute::string(name).computed().description(description)
}

fn computed_bool(name: &str, description: &str) -> Attribute {
    Attribute::bool(name).computed().description(description)
}

fn one_error(summary: &str, detail: impl Into<String>) -> (Option<Value>, Diagnostics) {
    (None, Diagnostic::error(summary, detail).into())
}

fn graph_error(action: &str, permission: &str, e: &crate::graph::Error) -> (Option<Value>, Diagnostics) {
    (None, graph_diagnostic(Op { action, permission, delegated_role: None }, e).into())
}

/// The configured id at `name`, parsed.
fn configured_id(config: &Value, name: &str) -> Result<Option<ObjectId>, Diagnostics> {
    config
        .get_str(name)
        .map(|s| {
            ObjectId::parse(s).map_err(|e| {
                Diagnostic::error("Invalid object id", e.to_string()).at(AttributePath::new(name)).into()
            })
        })
        .transpose()
}

/// `data "autopilot_group"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroupDataSource;

impl GroupDataSource {
    fn schema() -> Schema {
        let attributes = vec![
            computed_string("id", "The group's object id."),
            Attribute::string("object_id")
                .optional()
                .computed()
                .validator(uuid())
                .validator(conflicts_with(&["display_name"]))
                .description("Look the group up by object id."),
            Attribute::string("display_name")
                .optional()
                .computed()
                .validator(string_length(1, 256))
                .description(
                    "Look the group up by its exact display name; exactly one group must have it (Graph's name \
                     filter ignores case, this lookup then requires the exact spelling).",
                ),
            computed_string("description", "The group's description."),
            computed_string("mail_nickname", "The group's mail alias."),
            computed_bool("security_enabled", "Whether it is a security group."),
            computed_bool("mail_enabled", "Whether it is mail-enabled."),
            computed_bool("dynamic_membership", "Whether membership is rule-based (`DynamicMembership`)."),
            computed_bool("assignable_to_role", "Whether Entra roles can be assigned to the group."),
        ];
        Schema {
            version: 0,
            block: Block {
                description: "An existing Microsoft Entra group, by object id or exact display name.".into(),
                attributes,
                ..Default::default()
            },
        }
    }

    fn state(group: &Group) -> Value {
        ObjectBuilder::for_schema(&Self::schema())
            .set("id", group.id.clone())
            .set("object_id", group.id.clone())
            .set("display_name", group.display_name.clone())
            .set("description", group.description.clone())
            .set("mail_nickname", group.mail_nickname.clone())
            .set("security_enabled", group.security_enabled.unwrap_or(false))
            .set("mail_enabled", group.mail_enabled.unwrap_or(false))
            .set("dynamic_membership", group.is_dynamic())
            .set("assignable_to_role", group.is_assignable_to_role.unwrap_or(false))
            .build()
    }
}

#[async_trait]
impl DataSource<ProviderData> for GroupDataSource {
    fn type_name(&self) -> &'static str {
        "autopilot_group"
    }

    fn schema(&self) -> Schema {
        Self::schema()
    }

    async fn read(
        &self,
        ctx: &Ctx,
        data: &ProviderData,
        req: ReadDataRequest<'_>,
    ) -> (Option<Value>, Diagnostics) {
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        let id = match configured_id(req.config, "object_id") {
            Ok(id) => id,
            Err(d) => return (None, d),
        };
        if let Some(id) = id {
            return match api.read_group(&id).await {
                Ok(Some(group)) => (Some(Self::state(&group)), Diagnostics::new()),
                Ok(None) => one_error("Group not found", format!("No group has object id {id}.")),
                Err(e) => graph_error("Reading the group", "Group.Read.All", &e),
            };
        }
        let Some(name) = req.config.get_str("display_name") else {
            return one_error("Missing lookup key", "Set object_id or display_name.");
        };
        match api.groups_named(name).await {
            Ok(found) => {
                let exact: Vec<&Group> =
                    found.iter().filter(|g| g.display_name.as_deref() == Some(name)).collect();
                match exact.as_slice() {
                    [group] => (Some(Self::state(group)), Diagnostics::new()),
                    [] => one_error("Group not found", format!("No group is named exactly {name:?}.")),
                    many => one_error(
                        "Group name is not unique",
                        format!(
                            "{} groups are named {name:?} ({}); look the group up by object_id instead.",
                            many.len(),
                            many.iter().map(|g| g.id.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    ),
                }
            }
            Err(e) => graph_error("Looking up the group", "Group.Read.All", &e),
        }
    }
}

/// `data "autopilot_user"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserDataSource;

impl UserDataSource {
    fn schema() -> Schema {
        let attributes = vec![
            computed_string("id", "The user's object id."),
            Attribute::string("object_id")
                .optional()
                .computed()
                .validator(uuid())
                .validator(conflicts_with(&["user_principal_name"]))
                .description("Look the user up by object id."),
            Attribute::string("user_principal_name")
                .optional()
                .computed()
                .validator(string_length(1, 1024))
                .description("Look the user up by user principal name (sign-in name)."),
            computed_string("display_name", "The user's display name."),
            computed_bool("account_enabled", "Whether the account can sign in."),
        ];
        Schema {
            version: 0,
            block: Block {
                description: "An existing Microsoft Entra user, by object id or user principal name.".into(),
                attributes,
                ..Default::default()
            },
        }
    }
}

#[async_trait]
impl DataSource<ProviderData> for UserDataSource {
    fn type_name(&self) -> &'static str {
        "autopilot_user"
    }

    fn schema(&self) -> Schema {
        Self::schema()
    }

    async fn read(
        &self,
        ctx: &Ctx,
        data: &ProviderData,
        req: ReadDataRequest<'_>,
    ) -> (Option<Value>, Diagnostics) {
        let key = match configured_id(req.config, "object_id") {
            Ok(Some(id)) => id.to_string(),
            Ok(None) => match req.config.get_str("user_principal_name") {
                Some(upn) => upn.to_owned(),
                None => return one_error("Missing lookup key", "Set object_id or user_principal_name."),
            },
            Err(d) => return (None, d),
        };
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        match api.user(&key).await {
            Ok(Some(user)) => (
                Some(
                    ObjectBuilder::for_schema(&Self::schema())
                        .set("id", user.id.clone())
                        .set("object_id", user.id.clone())
                        .set("user_principal_name", user.user_principal_name.clone())
                        .set("display_name", user.display_name.clone())
                        .set("account_enabled", user.account_enabled)
                        .build(),
                ),
                Diagnostics::new(),
            ),
            Ok(None) => one_error("User not found", format!("No user matches {key:?}.")),
            Err(e) => graph_error("Reading the user", "User.Read.All", &e),
        }
    }
}

/// `data "autopilot_service_principal"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServicePrincipalDataSource;

impl ServicePrincipalDataSource {
    fn schema() -> Schema {
        let attributes = vec![
            computed_string("id", "The service principal's object id."),
            Attribute::string("object_id")
                .optional()
                .computed()
                .validator(uuid())
                .validator(conflicts_with(&["app_id"]))
                .description("Look the service principal up by object id."),
            Attribute::string("app_id").optional().computed().validator(uuid()).description(format!(
                "Look the service principal up by its application (client) id. When neither this nor `object_id` \
                 is set, the Intune Provisioning Client (`{PROVISIONING_CLIENT_APP_ID}`) is looked up."
            )),
            computed_string("display_name", "The service principal's display name."),
            computed_string("service_principal_type", "`Application`, `ManagedIdentity`, ..."),
        ];
        Schema {
            version: 0,
            block: Block {
                description:
                    "An existing service principal; by default the Intune Provisioning Client that must own \
                              the device preparation device group."
                        .into(),
                attributes,
                ..Default::default()
            },
        }
    }
}

#[async_trait]
impl DataSource<ProviderData> for ServicePrincipalDataSource {
    fn type_name(&self) -> &'static str {
        "autopilot_service_principal"
    }

    fn schema(&self) -> Schema {
        Self::schema()
    }

    async fn read(
        &self,
        ctx: &Ctx,
        data: &ProviderData,
        req: ReadDataRequest<'_>,
    ) -> (Option<Value>, Diagnostics) {
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        let found = match (configured_id(req.config, "object_id"), configured_id(req.config, "app_id")) {
            (Err(d), _) | (_, Err(d)) => return (None, d),
            (Ok(Some(id)), _) => api.service_principal(&id).await,
            (Ok(None), Ok(Some(app_id))) => api.service_principal_by_app_id(&app_id).await,
            (Ok(None), Ok(None)) => api.service_principal_by_app_id(&provisioning_client_app_id()).await,
        };
        match found {
            Ok(Some(sp)) => (
                Some(
                    ObjectBuilder::for_schema(&Self::schema())
                        .set("id", sp.id.clone())
                        .set("object_id", sp.id.clone())
                        .set("app_id", sp.app_id.clone())
                        .set("display_name", sp.display_name.clone())
                        .set("service_principal_type", sp.service_principal_type.clone())
                        .build(),
                ),
                Diagnostics::new(),
            ),
            Ok(None) => one_error(
                "Service principal not found",
                "No service principal matches. For the Intune Provisioning Client, create it once (New-MgServicePrincipal \
                 -AppId f1346770-5b25-470b-88bd-d5744ab7952c) or set create_provisioning_client_if_missing on \
                 autopilot_device_group.",
            ),
            Err(e) => graph_error("Reading the service principal", "Application.Read.All", &e),
        }
    }
}

#[cfg(test)]
#[path = "data_sources_tests.rs"]
mod tests;
