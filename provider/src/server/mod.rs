//! The protocol boundary: implements the `tfplugin6.Provider` gRPC service for any
//! [`framework::Provider`](crate::framework::Provider). Each RPC converts the request
//! (`from_proto`), calls the framework or the resource, and converts back (`to_proto`).
//! This is the only module that names `tfplugin6` types.
//!
//! Problems Terraform should show the user travel as diagnostics in the response; a
//! gRPC `Status` is left for transport failures.

pub mod cancel;
pub mod from_proto;
pub mod to_proto;
pub mod unsupported;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};

use futures::Stream;
use tonic::{Request, Response, Status, Streaming};

use tfproto::tfplugin6 as pb;
use tfproto::tfplugin6::provider_server::Provider as ProviderService;

use crate::framework::apply::{ApplyRequest, apply_resource_change};
use crate::framework::plan::{PlanRequest, plan_resource_change};
use crate::framework::resource::{ConfigureRequest, ReadDataRequest, ReadRequest};
use crate::framework::validate::validate_config;
use crate::framework::{
    Ctx, DataSource, Diagnostic, Diagnostics, Function, Provider, Resource, Schema, Type, Value,
};
use cancel::StopSignal;

/// Largest message accepted or sent; Terraform core uses the same limit (256 MiB).
const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// The gRPC service for `provider`, ready to add to a tonic router.
pub fn grpc_service<P: Provider>(provider: P) -> pb::provider_server::ProviderServer<ProviderServer<P>> {
    pb::provider_server::ProviderServer::new(ProviderServer::new(provider))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// A registered resource, data source or the provider itself, with its schema and the
/// cty type values of that schema are encoded as (computed once).
struct Registered<T> {
    item: T,
    schema: Schema,
    ty: Type,
}

impl<T> Registered<T> {
    fn new(item: T, schema: Schema) -> Self {
        let ty = schema.value_type();
        Self { item, schema, ty }
    }
}

type ResourceEntry<D> = Registered<Arc<dyn Resource<D>>>;
type DataSourceEntry<D> = Registered<Arc<dyn DataSource<D>>>;

/// What `ConfigureProvider` left behind.
enum Configuration<D> {
    NotConfigured,
    /// The configuration had values known only after apply; plans run without provider
    /// data, and operations needing Graph report an error naming these top-level settings.
    Unknown(Vec<String>),
    Configured(Arc<D>),
}

/// Serves one provider over the Terraform plugin protocol.
pub struct ProviderServer<P: Provider> {
    provider: Registered<P>,
    resources: BTreeMap<String, ResourceEntry<P::Data>>,
    data_sources: BTreeMap<String, DataSourceEntry<P::Data>>,
    functions: BTreeMap<String, Arc<dyn Function>>,
    configuration: RwLock<Configuration<P::Data>>,
    stop: StopSignal,
}

impl<P: Provider> ProviderServer<P> {
    /// Register the provider's resources, data sources and functions.
    pub fn new(provider: P) -> Self {
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| (r.type_name().to_owned(), Registered::new(Arc::clone(&r), r.schema())))
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| (d.type_name().to_owned(), Registered::new(Arc::clone(&d), d.schema())))
            .collect();
        let functions = provider.functions().into_iter().map(|f| (f.name().to_owned(), f)).collect();
        let schema = provider.schema();
        Self {
            provider: Registered::new(provider, schema),
            resources,
            data_sources,
            functions,
            configuration: RwLock::new(Configuration::NotConfigured),
            stop: StopSignal::new(),
        }
    }

    /// The context of one request: cancelled by `StopProvider`.
    fn ctx(&self) -> Ctx {
        Ctx::new(self.stop.request_token(), None)
    }

    fn resource(&self, type_name: &str) -> Result<&ResourceEntry<P::Data>, Diagnostic> {
        self.resources.get(type_name).ok_or_else(|| self.unknown_type("resource", type_name))
    }

    fn data_source(&self, type_name: &str) -> Result<&DataSourceEntry<P::Data>, Diagnostic> {
        self.data_sources.get(type_name).ok_or_else(|| self.unknown_type("data source", type_name))
    }

    fn unknown_type(&self, kind: &str, type_name: &str) -> Diagnostic {
        unsupported::unknown_type(self.provider.item.type_name(), kind, type_name)
    }

    fn not_supported(&self, feature: &str) -> Diagnostic {
        unsupported::not_supported(self.provider.item.type_name(), feature)
    }

    /// Provider data for planning: absent until configured, or when the configuration is unknown.
    fn data_if_configured(&self) -> Option<Arc<P::Data>> {
        match &*self.configuration.read().unwrap_or_else(PoisonError::into_inner) {
            Configuration::Configured(data) => Some(Arc::clone(data)),
            Configuration::NotConfigured | Configuration::Unknown(_) => None,
        }
    }

    /// Provider data for operations that call Microsoft Graph.
    fn data(&self) -> Result<Arc<P::Data>, Diagnostic> {
        match &*self.configuration.read().unwrap_or_else(PoisonError::into_inner) {
            Configuration::Configured(data) => Ok(Arc::clone(data)),
            Configuration::Unknown(settings) => Err(Diagnostic::error(
                "Provider configuration is unknown",
                format!(
                    "The provider {:?} block sets {} from values that are known only after apply (for \
                     example attributes of resources not yet created), so the provider cannot reach its API \
                     yet. Use values known at plan time, or apply the resources they depend on first (-target).",
                    self.provider.item.type_name(),
                    settings.join(", ")
                ),
            )),
            Configuration::NotConfigured => Err(Diagnostic::error(
                "Provider not configured",
                "Terraform called the provider before configuring it. Please report this bug to the provider developers.",
            )),
        }
    }

    fn set_configuration(&self, configuration: Configuration<P::Data>) {
        *self.configuration.write().unwrap_or_else(PoisonError::into_inner) = configuration;
    }
}

fn diags_of(diag: Diagnostic) -> Vec<pb::Diagnostic> {
    vec![to_proto::diagnostic(&diag)]
}

/// Encode `value` for the response, or record in `diags` why it could not be.
fn encode_into(value: &Value, ty: &Type, diags: &mut Diagnostics) -> Option<pb::DynamicValue> {
    match to_proto::dynamic_value(value, ty) {
        Ok(v) => Some(v),
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

type ServerStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Private state passes through: a resource that returns none leaves Terraform's as it was
/// (the framework's results cannot tell "unchanged" from "cleared", and no resource needs
/// to clear it).
fn private_or(returned: Vec<u8>, previous: &[u8]) -> Vec<u8> {
    if returned.is_empty() { previous.to_vec() } else { returned }
}

/// A server stream that sends `item` and ends.
fn one_item<T: Send + 'static>(item: T) -> ServerStream<T> {
    Box::pin(futures::stream::iter([Ok(item)]))
}

#[tonic::async_trait]
impl<P: Provider> ProviderService for ProviderServer<P> {
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        use pb::get_metadata::{DataSourceMetadata, FunctionMetadata, ResourceMetadata};
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(to_proto::server_capabilities()),
            resources: self.resources.keys().map(|n| ResourceMetadata { type_name: n.clone() }).collect(),
            data_sources: self
                .data_sources
                .keys()
                .map(|n| DataSourceMetadata { type_name: n.clone() })
                .collect(),
            functions: self.functions.keys().map(|n| FunctionMetadata { name: n.clone() }).collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(to_proto::schema(&self.provider.schema)),
            resource_schemas: self
                .resources
                .iter()
                .map(|(n, r)| (n.clone(), to_proto::schema(&r.schema)))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(n, d)| (n.clone(), to_proto::schema(&d.schema)))
                .collect(),
            functions: self
                .functions
                .iter()
                .map(|(n, f)| (n.clone(), to_proto::function(&f.signature())))
                .collect(),
            server_capabilities: Some(to_proto::server_capabilities()),
            ..Default::default()
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _request: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        // No resource declares an identity.
        Ok(Response::new(pb::get_resource_identity_schemas::Response::default()))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let req = request.into_inner();
        let p = &self.provider;
        let diagnostics =
            match from_proto::dynamic_value(req.config.as_ref(), &p.ty, "provider configuration") {
                Ok(config) => {
                    let mut diags = validate_config(&p.schema, &config);
                    p.item.validate(&config, &mut diags);
                    to_proto::diagnostics(p.schema.locate(diags))
                }
                Err(d) => diags_of(d),
            };
        Ok(Response::new(pb::validate_provider_config::Response { diagnostics }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "ValidateResourceConfig");
        let result = self.resource(&req.type_name).and_then(|r| {
            let config = from_proto::dynamic_value(req.config.as_ref(), &r.ty, "resource configuration")?;
            let mut diags = validate_config(&r.schema, &config);
            r.item.validate(&config, &mut diags);
            Ok(to_proto::diagnostics(r.schema.locate(diags)))
        });
        let diagnostics = result.unwrap_or_else(diags_of);
        Ok(Response::new(pb::validate_resource_config::Response { diagnostics }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "ValidateDataResourceConfig");
        let result = self.data_source(&req.type_name).and_then(|d| {
            let config = from_proto::dynamic_value(req.config.as_ref(), &d.ty, "data source configuration")?;
            let mut diags = validate_config(&d.schema, &config);
            d.item.validate(&config, &mut diags);
            Ok(to_proto::diagnostics(d.schema.locate(diags)))
        });
        let diagnostics = result.unwrap_or_else(diags_of);
        Ok(Response::new(pb::validate_data_resource_config::Response { diagnostics }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, version = req.version, "UpgradeResourceState");
        let mut diags = Diagnostics::new();
        let result = self.resource(&req.type_name).and_then(|r| {
            let stored = from_proto::raw_state_json(req.raw_state.as_ref())?;
            let upgraded = match r.item.upgrade_state(req.version, stored) {
                Ok(json) => json,
                Err(upgrade_diags) => {
                    diags.extend(upgrade_diags);
                    return Ok(None);
                }
            };
            let value = from_proto::upgraded_state(&upgraded, &r.ty)?;
            Ok(encode_into(&value, &r.ty, &mut diags))
        });
        let upgraded_state = result.unwrap_or_else(|d| {
            diags.push(d);
            None
        });
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: to_proto::diagnostics(diags),
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        request: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let req = request.into_inner();
        let diag = self.not_supported(&format!("resource identity (for {:?})", req.type_name));
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity: None,
            diagnostics: diags_of(diag),
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(terraform_version = %req.terraform_version, "ConfigureProvider");
        let p = &self.provider;
        let config = match from_proto::dynamic_value(req.config.as_ref(), &p.ty, "provider configuration") {
            Ok(config) => config,
            Err(d) => {
                return Ok(Response::new(pb::configure_provider::Response { diagnostics: diags_of(d) }));
            }
        };
        if !config.is_fully_known() {
            tracing::debug!("provider configuration has unknown values; deferring configuration");
            // Name the settings, since this error is reported on whatever needed Graph, not on them.
            let settings = match &config {
                Value::Object(m) => {
                    m.iter().filter(|(_, v)| !v.is_fully_known()).map(|(k, _)| k.clone()).collect()
                }
                _ => Vec::new(),
            };
            self.set_configuration(Configuration::Unknown(settings));
            return Ok(Response::new(pb::configure_provider::Response::default()));
        }
        let configured = p
            .item
            .configure(ConfigureRequest { config: &config, terraform_version: &req.terraform_version })
            .await;
        let diagnostics = match configured {
            Ok(data) => {
                self.set_configuration(Configuration::Configured(Arc::new(data)));
                Vec::new()
            }
            Err(diags) => to_proto::diagnostics(p.schema.locate(diags)),
        };
        Ok(Response::new(pb::configure_provider::Response { diagnostics }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "ReadResource");
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => return Ok(Response::new(read_resource_failed(d, &req))),
        };
        let (current, data) =
            match from_proto::dynamic_value(req.current_state.as_ref(), &r.ty, "current state")
                .and_then(|current| Ok((current, self.data()?)))
            {
                Ok(pair) => pair,
                Err(d) => return Ok(Response::new(read_resource_failed(d, &req))),
            };
        let ctx = self.ctx();
        // Through the framework: read deadline from `timeouts`, timeouts carried over, no
        // unknowns let into state.
        let result = crate::framework::apply::read_resource(
            r.item.as_ref(),
            &ctx,
            &data,
            ReadRequest { current: &current, private: &req.private },
        )
        .await;
        let mut diags = result.diagnostics;
        let private = private_or(result.private, &req.private);
        let new_state = encode_into(&result.state.unwrap_or(Value::Null), &r.ty, &mut diags);
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            diagnostics: to_proto::diagnostics(diags),
            private,
            deferred: None,
            new_identity: None,
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "PlanResourceChange");
        let decoded = self.resource(&req.type_name).and_then(|r| {
            let prior = from_proto::dynamic_value(req.prior_state.as_ref(), &r.ty, "prior state")?;
            let proposed =
                from_proto::dynamic_value(req.proposed_new_state.as_ref(), &r.ty, "proposed new state")?;
            let config = from_proto::dynamic_value(req.config.as_ref(), &r.ty, "resource configuration")?;
            Ok((r, prior, proposed, config))
        });
        let (r, prior, proposed, config) = match decoded {
            Ok(decoded) => decoded,
            Err(d) => {
                return Ok(Response::new(pb::plan_resource_change::Response {
                    diagnostics: diags_of(d),
                    ..Default::default()
                }));
            }
        };
        let data = self.data_if_configured();
        let ctx = self.ctx();
        let plan = plan_resource_change(
            r.item.as_ref(),
            &ctx,
            data.as_deref(),
            PlanRequest {
                prior: &prior,
                proposed: &proposed,
                config: &config,
                prior_private: &req.prior_private,
            },
        )
        .await;
        let mut diags = plan.diagnostics;
        let planned_state = encode_into(&plan.planned, &r.ty, &mut diags);
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace: plan.requires_replace.iter().map(to_proto::attribute_path).collect(),
            planned_private: plan.planned_private,
            diagnostics: to_proto::diagnostics(r.schema.locate(diags)),
            legacy_type_system: false,
            deferred: None,
            planned_identity: None,
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "ApplyResourceChange");
        let decoded = self.resource(&req.type_name).and_then(|r| {
            let prior = from_proto::dynamic_value(req.prior_state.as_ref(), &r.ty, "prior state")?;
            let planned = from_proto::dynamic_value(req.planned_state.as_ref(), &r.ty, "planned state")?;
            let config = from_proto::dynamic_value(req.config.as_ref(), &r.ty, "resource configuration")?;
            Ok((r, prior, planned, config, self.data()?))
        });
        let (r, prior, planned, config, data) = match decoded {
            Ok(decoded) => decoded,
            Err(d) => {
                // Keep what Terraform had: an error here must not drop an existing object.
                return Ok(Response::new(pb::apply_resource_change::Response {
                    new_state: req.prior_state,
                    private: req.planned_private,
                    diagnostics: diags_of(d),
                    ..Default::default()
                }));
            }
        };
        let ctx = self.ctx();
        let result = apply_resource_change(
            r.item.as_ref(),
            &ctx,
            &data,
            ApplyRequest {
                prior: &prior,
                planned: &planned,
                config: &config,
                planned_private: &req.planned_private,
            },
        )
        .await;
        let mut diags = result.diagnostics;
        // A deleted object has no private state; otherwise it is kept unless replaced.
        let private = match &result.state {
            Some(_) => private_or(result.private, &req.planned_private),
            None => Vec::new(),
        };
        let new_state = encode_into(&result.state.unwrap_or(Value::Null), &r.ty, &mut diags);
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private,
            diagnostics: to_proto::diagnostics(r.schema.locate(diags)),
            legacy_type_system: false,
            new_identity: None,
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "ImportResourceState");
        let found = self.resource(&req.type_name).and_then(|r| {
            // Import by identity (Terraform 1.12+) sends no id; no resource declares an identity.
            if req.id.is_empty() && req.identity.is_some() {
                return Err(self.not_supported("importing by resource identity; import by id instead"));
            }
            Ok((r, self.data()?))
        });
        let (r, data) = match found {
            Ok(found) => found,
            Err(d) => {
                return Ok(Response::new(pb::import_resource_state::Response {
                    diagnostics: diags_of(d),
                    ..Default::default()
                }));
            }
        };
        let ctx = self.ctx();
        let imported = r.item.import(&ctx, &data, &req.id).await;
        let mut diags = imported.diagnostics;
        let imported_resources = imported
            .state
            .and_then(|state| encode_into(&state, &r.ty, &mut diags))
            .map(|state| pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: Some(state),
                private: imported.private,
                identity: None,
            })
            .into_iter()
            .collect();
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources,
            diagnostics: to_proto::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn move_resource_state(
        &self,
        _request: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        Ok(Response::new(pb::move_resource_state::Response {
            diagnostics: diags_of(self.not_supported("moving state between resource types")),
            ..Default::default()
        }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "ReadDataSource");
        let decoded = self.data_source(&req.type_name).and_then(|d| {
            let config = from_proto::dynamic_value(req.config.as_ref(), &d.ty, "data source configuration")?;
            Ok((d, config, self.data()?))
        });
        let (d, config, data) = match decoded {
            Ok(decoded) => decoded,
            Err(diag) => {
                return Ok(Response::new(pb::read_data_source::Response {
                    diagnostics: diags_of(diag),
                    ..Default::default()
                }));
            }
        };
        let ctx = self.ctx();
        let (state, mut diags) = d.item.read(&ctx, &data, ReadDataRequest { config: &config }).await;
        let state = state.and_then(|state| encode_into(&state, &d.ty, &mut diags));
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: to_proto::diagnostics(d.schema.locate(diags)),
            deferred: None,
        }))
    }

    async fn generate_resource_config(
        &self,
        _request: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        Ok(Response::new(pb::generate_resource_config::Response {
            config: None,
            diagnostics: diags_of(self.not_supported("generating resource configuration")),
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let diag = self.unknown_type("ephemeral resource", &request.get_ref().type_name);
        Ok(Response::new(pb::validate_ephemeral_resource_config::Response { diagnostics: diags_of(diag) }))
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        let diag = self.unknown_type("ephemeral resource", &request.get_ref().type_name);
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: diags_of(diag),
            ..Default::default()
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        let diag = self.unknown_type("ephemeral resource", &request.get_ref().type_name);
        Ok(Response::new(pb::renew_ephemeral_resource::Response {
            diagnostics: diags_of(diag),
            ..Default::default()
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        let diag = self.unknown_type("ephemeral resource", &request.get_ref().type_name);
        Ok(Response::new(pb::close_ephemeral_resource::Response { diagnostics: diags_of(diag) }))
    }

    type ListResourceStream = ServerStream<pb::list_resource::Event>;

    async fn list_resource(
        &self,
        request: Request<pb::list_resource::Request>,
    ) -> Result<Response<Self::ListResourceStream>, Status> {
        let diag = self.unknown_type("list resource", &request.get_ref().type_name);
        Ok(Response::new(one_item(pb::list_resource::Event {
            diagnostic: diags_of(diag),
            ..Default::default()
        })))
    }

    async fn validate_list_resource_config(
        &self,
        request: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        let diag = self.unknown_type("list resource", &request.get_ref().type_name);
        Ok(Response::new(pb::validate_list_resource_config::Response { diagnostics: diags_of(diag) }))
    }

    async fn get_functions(
        &self,
        _request: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response {
            functions: self
                .functions
                .iter()
                .map(|(n, f)| (n.clone(), to_proto::function(&f.signature())))
                .collect(),
            diagnostics: Vec::new(),
        }))
    }

    async fn call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(name = %req.name, "CallFunction");
        let failed = |text: String, argument: Option<i64>| {
            Ok(Response::new(pb::call_function::Response {
                result: None,
                error: Some(pb::FunctionError { text, function_argument: argument }),
            }))
        };
        let Some(function) = self.functions.get(&req.name) else {
            let provider = self.provider.item.type_name();
            return failed(format!("The {provider} provider has no function named {:?}.", req.name), None);
        };
        let signature = function.signature();
        let params: Vec<Type> = signature.params.iter().map(|p| p.ty.clone()).collect();
        let variadic = signature.variadic.as_ref().map(|p| &p.ty);
        let args = match from_proto::function_arguments(&req.arguments, &params, variadic) {
            Ok(args) => args,
            Err(e) => return failed(e.message, i64::try_from(e.index).ok()),
        };
        match function.call(&args) {
            Ok(value) => match to_proto::dynamic_value(&value, &signature.returns) {
                Ok(result) => {
                    Ok(Response::new(pb::call_function::Response { result: Some(result), error: None }))
                }
                Err(d) => failed(d.detail, None),
            },
            Err(e) => failed(e.message, e.argument),
        }
    }

    async fn validate_action_config(
        &self,
        request: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        let diag = self.unknown_type("action", &request.get_ref().action_type);
        Ok(Response::new(pb::validate_action_config::Response { diagnostics: diags_of(diag) }))
    }

    async fn plan_action(
        &self,
        request: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        let diag = self.unknown_type("action", &request.get_ref().action_type);
        Ok(Response::new(pb::plan_action::Response { diagnostics: diags_of(diag), deferred: None }))
    }

    type InvokeActionStream = ServerStream<pb::invoke_action::Event>;

    async fn invoke_action(
        &self,
        request: Request<pb::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        use pb::invoke_action::event::{Completed, Type as EventType};
        let diag = self.unknown_type("action", &request.get_ref().action_type);
        let completed = EventType::Completed(Completed { diagnostics: diags_of(diag) });
        Ok(Response::new(one_item(pb::invoke_action::Event { r#type: Some(completed) })))
    }

    async fn validate_state_store_config(
        &self,
        request: Request<pb::validate_state_store_config::Request>,
    ) -> Result<Response<pb::validate_state_store_config::Response>, Status> {
        let diag = self.unknown_type("state store", &request.get_ref().type_name);
        Ok(Response::new(pb::validate_state_store_config::Response { diagnostics: diags_of(diag) }))
    }

    async fn configure_state_store(
        &self,
        request: Request<pb::configure_state_store::Request>,
    ) -> Result<Response<pb::configure_state_store::Response>, Status> {
        let diag = self.unknown_type("state store", &request.get_ref().type_name);
        Ok(Response::new(pb::configure_state_store::Response {
            diagnostics: diags_of(diag),
            capabilities: None,
        }))
    }

    type ReadStateBytesStream = ServerStream<pb::read_state_bytes::ResponseChunk>;

    async fn read_state_bytes(
        &self,
        request: Request<pb::read_state_bytes::Request>,
    ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
        let diag = self.unknown_type("state store", &request.get_ref().type_name);
        Ok(Response::new(one_item(pb::read_state_bytes::ResponseChunk {
            diagnostics: diags_of(diag),
            ..Default::default()
        })))
    }

    async fn write_state_bytes(
        &self,
        _request: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Result<Response<pb::write_state_bytes::Response>, Status> {
        let diag = self.not_supported("state stores");
        Ok(Response::new(pb::write_state_bytes::Response { diagnostics: diags_of(diag) }))
    }

    async fn lock_state(
        &self,
        request: Request<pb::lock_state::Request>,
    ) -> Result<Response<pb::lock_state::Response>, Status> {
        let diag = self.unknown_type("state store", &request.get_ref().type_name);
        Ok(Response::new(pb::lock_state::Response { lock_id: String::new(), diagnostics: diags_of(diag) }))
    }

    async fn unlock_state(
        &self,
        request: Request<pb::unlock_state::Request>,
    ) -> Result<Response<pb::unlock_state::Response>, Status> {
        let diag = self.unknown_type("state store", &request.get_ref().type_name);
        Ok(Response::new(pb::unlock_state::Response { diagnostics: diags_of(diag) }))
    }

    async fn get_states(
        &self,
        request: Request<pb::get_states::Request>,
    ) -> Result<Response<pb::get_states::Response>, Status> {
        let diag = self.unknown_type("state store", &request.get_ref().type_name);
        Ok(Response::new(pb::get_states::Response { state_ids: Vec::new(), diagnostics: diags_of(diag) }))
    }

    async fn delete_state(
        &self,
        request: Request<pb::delete_state::Request>,
    ) -> Result<Response<pb::delete_state::Response>, Status> {
        let diag = self.unknown_type("state store", &request.get_ref().type_name);
        Ok(Response::new(pb::delete_state::Response { diagnostics: diags_of(diag) }))
    }

    async fn stop_provider(
        &self,
        _request: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::debug!("StopProvider: cancelling in-flight requests");
        self.stop.stop();
        Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
    }
}

/// A failed `ReadResource` keeps the current state, so a decode or configuration problem
/// never looks like "the object is gone".
fn read_resource_failed(diag: Diagnostic, req: &pb::read_resource::Request) -> pb::read_resource::Response {
    pb::read_resource::Response {
        new_state: req.current_state.clone(),
        diagnostics: diags_of(diag),
        private: req.private.clone(),
        deferred: None,
        new_identity: None,
    }
}

#[cfg(test)]
mod tests;
