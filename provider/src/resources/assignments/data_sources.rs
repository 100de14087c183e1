//! Data sources `autopilot_mobile_app` and `autopilot_powershell_script`: find an app or a
//! script by id or display name, for assignments and the device preparation policy.

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::framework::resource::{Ctx, DataSource, ReadDataRequest};
use crate::framework::schema::Attribute;
use crate::framework::validator::{exactly_one_of, uuid};
use crate::framework::{AttributePath, Diagnostic, Diagnostics, Schema, Value};
use crate::graph::client::Api;
use crate::graph::odata::{Query, literal};
use crate::resources::ProviderData;
use crate::resources::errors::{Op, call_cx, graph_diagnostic};
use crate::resources::powershell_script::resource::{
    READ_PERMISSION as SCRIPT_READ, SCRIPTS_PATH, get_script,
};
use crate::resources::powershell_script::wire::ReadScript;

use super::app_resource::get_app;
use super::lookup::{MobileAppInfo, pick_by_name};

const APPS_PATH: &str = "/deviceAppManagement/mobileApps";

fn lookup_attributes(kind: &str) -> Vec<Attribute> {
    vec![
        Attribute::string("id")
            .optional()
            .computed()
            .description(format!("The {kind}'s id. Set exactly one of `id` and `display_name`."))
            .validator(uuid())
            .validator(exactly_one_of(&["display_name"])),
        Attribute::string("display_name")
            .optional()
            .computed()
            .description(format!(
                "The {kind}'s display name; it must match exactly one {kind} (an exact match wins over one differing \
                 only in case)."
            )),
    ]
}

fn not_found(kind: &str, id: &str) -> Diagnostics {
    Diagnostic::error(format!("Reading {kind}"), format!("No {kind} has the id {id}."))
        .at(AttributePath::new("id"))
        .into()
}

/// `autopilot_mobile_app`.
#[derive(Debug, Default)]
pub struct MobileAppDataSource;

#[async_trait]
impl DataSource<ProviderData> for MobileAppDataSource {
    fn type_name(&self) -> &'static str {
        "autopilot_mobile_app"
    }

    fn schema(&self) -> Schema {
        let mut s = Schema::default();
        s.block.description =
            "An Intune app, by id or display name, with its type — what `autopilot_app_assignment` \
            and the device preparation policy's allowed apps need. Requires `DeviceManagementApps.Read.All`."
                .into();
        s.block.attributes = lookup_attributes("app");
        s.block.attributes.extend([
            Attribute::string("app_type")
                .computed()
                .description("The app's type, e.g. `win32LobApp`, `winGetApp`, `officeSuiteApp`."),
            Attribute::string("odata_type")
                .computed()
                .description("The app's Graph type, e.g. `#microsoft.graph.win32LobApp`."),
        ]);
        s
    }

    async fn read(
        &self,
        ctx: &Ctx,
        data: &ProviderData,
        req: ReadDataRequest<'_>,
    ) -> (Option<Value>, Diagnostics) {
        let app = if let Some(id) = req.config.get_str("id") {
            match get_app(ctx, data, id).await {
                Ok(Some(app)) => app,
                Ok(None) => return (None, not_found("app", id)),
                Err(d) => return (None, d.into()),
            }
        } else {
            let name = req.config.get_str("display_name").unwrap_or_default();
            let path = Query::new().filter(format!("displayName eq {}", literal(name))).to_path(APPS_PATH);
            let op = Op {
                action: "Looking up an app by name",
                permission: "DeviceManagementApps.Read.All",
                delegated_role: None,
            };
            let items: Vec<Json> = match data.graph.list_all_coalesced(&call_cx(ctx), Api::Beta, &path).await
            {
                Ok(items) => items,
                Err(e) => return (None, graph_diagnostic(op, &e).into()),
            };
            let apps: Vec<MobileAppInfo> =
                items.iter().filter_map(|i| MobileAppInfo::from_graph(i).ok()).collect();
            match pick_by_name("app", &apps, name, |a| &a.display_name, |a| &a.id) {
                Ok(app) => app.clone(),
                Err(e) => {
                    return (
                        None,
                        Diagnostic::error("Looking up an app by name", e.to_string())
                            .at(AttributePath::new("display_name"))
                            .into(),
                    );
                }
            }
        };
        // The app assignments and the policy planned next need this type: no second lookup.
        data.observed.remember_app(&app.id, &app.odata_type);
        let state = Value::object()
            .set("id", app.id)
            .set("display_name", app.display_name)
            .set("app_type", app.app_type)
            .set("odata_type", app.odata_type)
            .build();
        (Some(state), Diagnostics::new())
    }
}

/// `autopilot_powershell_script` (data source).
#[derive(Debug, Default)]
pub struct PowerShellScriptDataSource;

#[async_trait]
impl DataSource<ProviderData> for PowerShellScriptDataSource {
    fn type_name(&self) -> &'static str {
        "autopilot_powershell_script"
    }

    fn schema(&self) -> Schema {
        let mut s = Schema::default();
        s.block.description =
            "An Intune PowerShell platform script, by id or display name (Graph beta). Requires \
            `DeviceManagementConfiguration.Read.All`."
                .into();
        s.block.attributes = lookup_attributes("script");
        s.block.attributes.extend([
            Attribute::string("description").computed().description("The description."),
            Attribute::string("file_name").computed().description("The file name."),
            Attribute::string("run_as_account").computed().description("`system` or `user`."),
            Attribute::bool("enforce_signature_check")
                .computed()
                .description("Whether a signature is required."),
            Attribute::bool("run_as_32_bit").computed().description("Whether it runs in a 32-bit host."),
        ]);
        s
    }

    async fn read(
        &self,
        ctx: &Ctx,
        data: &ProviderData,
        req: ReadDataRequest<'_>,
    ) -> (Option<Value>, Diagnostics) {
        let script: ReadScript = if let Some(id) = req.config.get_str("id") {
            match get_script(ctx, data, id).await {
                Ok(Some(s)) => s,
                Ok(None) => return (None, not_found("script", id)),
                Err(d) => return (None, d.into()),
            }
        } else {
            let name = req.config.get_str("display_name").unwrap_or_default();
            // Whether this collection supports `$filter` is not documented: list and match here.
            let op = Op {
                action: "Looking up a PowerShell script by name",
                permission: SCRIPT_READ,
                delegated_role: None,
            };
            let items: Vec<Json> =
                match data.graph.list_all_coalesced(&call_cx(ctx), Api::Beta, SCRIPTS_PATH).await {
                    Ok(items) => items,
                    Err(e) => return (None, graph_diagnostic(op, &e).into()),
                };
            let scripts: Vec<ReadScript> =
                items.iter().filter_map(|i| ReadScript::from_graph(i).ok()).collect();
            match pick_by_name("script", &scripts, name, |s| &s.display_name, |s| &s.id) {
                Ok(s) => s.clone(),
                Err(e) => {
                    return (
                        None,
                        Diagnostic::error(op.action, e.to_string())
                            .at(AttributePath::new("display_name"))
                            .into(),
                    );
                }
            }
        };
        // The policy planned next checks that the script exists: it does.
        data.observed.remember_script(&script.id);
        let state = Value::object()
            .set("id", script.id)
            .set("display_name", script.display_name)
            .set("description", script.description)
            .set("file_name", script.file_name)
            .set("run_as_account", script.run_as_account.name())
            .set("enforce_signature_check", script.enforce_signature_check)
            .set("run_as_32_bit", script.run_as_32_bit)
            .build();
        (Some(state), Diagnostics::new())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::resources::testkit::{ctx, provider_data};

    fn config(id: Option<&str>, name: Option<&str>) -> Value {
        Value::object().set("id", id).set("display_name", name).build()
    }

    #[tokio::test]
    async fn mobile_app_by_name_uses_a_quoted_filter_and_returns_the_type() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/beta/deviceAppManagement/mobileApps"))
            .and(query_param("$filter", "displayName eq 'O''Brien''s tool'"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
                {"@odata.type": "#microsoft.graph.winGetApp", "id": "a1", "displayName": "O'Brien's tool"}]})))
            .expect(1)
            .mount(&server)
            .await;
        let data = provider_data(&server.uri());
        let cfg = config(None, Some("O'Brien's tool"));
        let (state, diags) = MobileAppDataSource.read(&ctx(), &data, ReadDataRequest { config: &cfg }).await;
        assert!(!diags.has_error(), "{diags:?}");
        let state = state.unwrap();
        assert_eq!(state.get_str("id"), Some("a1"));
        assert_eq!(state.get_str("app_type"), Some("winGetApp"));
        assert_eq!(state.get_str("odata_type"), Some("#microsoft.graph.winGetApp"));
    }

    #[tokio::test]
    async fn mobile_app_by_id_and_missing() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/beta/deviceAppManagement/mobileApps/a2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "@odata.type": "#microsoft.graph.win32LobApp", "id": "a2", "displayName": "7-Zip"})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/beta/deviceAppManagement/mobileApps/a3"))
            .respond_with(
                ResponseTemplate::new(404)
                    .set_body_json(json!({"error": {"code": "ResourceNotFound", "message": "x"}})),
            )
            .mount(&server)
            .await;
        let data = provider_data(&server.uri());
        let (state, _) = MobileAppDataSource
            .read(&ctx(), &data, ReadDataRequest { config: &config(Some("a2"), None) })
            .await;
        assert_eq!(state.unwrap().get_str("app_type"), Some("win32LobApp"));
        let (state, diags) = MobileAppDataSource
            .read(&ctx(), &data, ReadDataRequest { config: &config(Some("a3"), None) })
            .await;
        assert!(state.is_none() && diags.has_error());
    }

    #[tokio::test]
    async fn script_by_name_lists_and_reports_ambiguity() {
        let server = MockServer::start().await;
        let item = |id: &str, name: &str| json!({"id": id, "displayName": name, "fileName": "x.ps1", "runAsAccount": "system"});
        Mock::given(method("GET"))
            .and(path("/beta/deviceManagement/deviceManagementScripts"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
                item("s1", "Time zone"), item("s2", "Cleanup"), item("s3", "Cleanup")]})))
            .mount(&server)
            .await;
        let data = provider_data(&server.uri());
        let (state, diags) = PowerShellScriptDataSource
            .read(&ctx(), &data, ReadDataRequest { config: &config(None, Some("Time zone")) })
            .await;
        assert!(!diags.has_error(), "{diags:?}");
        let state = state.unwrap();
        assert_eq!(state.get_str("id"), Some("s1"));
        assert_eq!(state.get_str("run_as_account"), Some("system"));
        let (state, diags) = PowerShellScriptDataSource
            .read(&ctx(), &data, ReadDataRequest { config: &config(None, Some("Cleanup")) })
            .await;
        assert!(state.is_none());
        assert!(format!("{diags:?}").contains("s2, s3"));
    }
}
