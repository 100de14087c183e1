//! The provider itself: its configuration, and the list of resources, data sources and
//! functions it offers. One module per Terraform type.

use std::sync::Arc;

use async_trait::async_trait;

use crate::framework::resource::{ConfigureRequest, DataSource, Function, Provider, Resource};
use crate::framework::{Diagnostic, Diagnostics, Schema};
use crate::graph::GraphClient;

pub mod assignments;
pub mod client_config;
pub mod corporate_identifiers;
pub mod device_join_settings;
pub mod device_preparation_policy;
pub mod directory;
pub mod errors;
pub mod fresh;
pub mod functions;
pub mod groups;
pub mod observed;
pub mod powershell_script;
pub mod provider_config;
#[cfg(test)]
pub(crate) mod testkit;
pub mod tombstones;

/// What `configure` produces and every resource and data source receives.
#[derive(Debug)]
pub struct ProviderData {
    pub settings: provider_config::ProviderSettings,
    /// One client per provider instance: one connection pool, one token cache, one
    /// Intune write budget for every resource of this tenant.
    pub graph: GraphClient,
    /// What this provider instance learned from its own calls, for the calls after them
    /// (Graph's replicas and Intune's lists trail writes; some facts never change):
    /// what it deleted, for lists that trail deletes;
    pub deleted: tombstones::Tombstones,
    /// the groups it created, for the plans that check them right after;
    pub created_groups: groups::created::CreatedGroups,
    /// the app types and scripts its data sources and resources saw.
    pub observed: observed::Observed,
}

impl ProviderData {
    /// Provider data for `graph`, with nothing remembered yet.
    pub fn new(settings: provider_config::ProviderSettings, graph: GraphClient) -> Self {
        ProviderData {
            settings,
            graph,
            deleted: Default::default(),
            created_groups: Default::default(),
            observed: Default::default(),
        }
    }
}

/// The `autopilot` provider.
#[derive(Debug, Default)]
pub struct AutopilotProvider;

/// The provider as the plugin server serves it.
pub fn provider() -> AutopilotProvider {
    AutopilotProvider
}

#[async_trait]
impl Provider for AutopilotProvider {
    type Data = ProviderData;

    fn type_name(&self) -> &'static str {
        "autopilot"
    }

    fn schema(&self) -> Schema {
        provider_config::schema()
    }

    async fn configure(&self, req: ConfigureRequest<'_>) -> Result<ProviderData, Diagnostics> {
        let settings =
            provider_config::ProviderSettings::from_config(req.config, &provider_config::Env::process())?;
        // Cheap: no token request and no connection until the first Graph call.
        let tuning = provider_config::graph_tuning(&provider_config::Env::process())?;
        let graph = GraphClient::with_tuning(settings.graph.clone(), tuning).map_err(|e| {
            Diagnostics::from(Diagnostic::error("Configuring the Microsoft Graph client", e.to_string()))
        })?;
        Ok(ProviderData::new(settings, graph))
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        let mut v: Vec<Arc<dyn Resource<ProviderData>>> = vec![
            Arc::new(device_join_settings::DeviceJoinSettings),
            Arc::new(device_preparation_policy::DevicePreparationPolicy),
            Arc::new(corporate_identifiers::bulk::CorporateIdentifiers),
            Arc::new(corporate_identifiers::single::CorporateIdentifier),
        ];
        v.extend(assignments::resources());
        v.extend(groups::resources());
        v
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        let mut v: Vec<Arc<dyn DataSource<ProviderData>>> = vec![Arc::new(client_config::ClientConfig)];
        v.extend(assignments::data_sources());
        v.extend(groups::data_sources());
        v
    }

    fn functions(&self) -> Vec<Arc<dyn Function>> {
        vec![Arc::new(functions::ParseCorporateIdentifiers)]
    }
}
