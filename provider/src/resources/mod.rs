//! The provider itself: its configuration, and the list of resources, data sources and
//! functions it offers. One module per Terraform type.

use std::sync::Arc;

use async_trait::async_trait;

use crate::framework::resource::{ConfigureRequest, DataSource, Function, Provider, Resource};
use crate::framework::{Diagnostics, Schema};

pub mod corporate_identifiers;
pub mod device_join_settings;
pub mod device_preparation_policy;
pub mod functions;
pub mod groups;
pub mod provider_config;

/// What `configure` produces and every resource and data source receives.
#[derive(Debug)]
pub struct ProviderData {
    pub config: provider_config::ProviderSettings,
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
        let config =
            provider_config::ProviderSettings::from_config(req.config, &provider_config::Env::process())?;
        Ok(ProviderData { config })
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        Vec::new()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        Vec::new()
    }

    fn functions(&self) -> Vec<Arc<dyn Function>> {
        vec![Arc::new(functions::ParseCorporateIdentifiers)]
    }
}
