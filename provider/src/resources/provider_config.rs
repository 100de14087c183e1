//! The `provider "autopilot"` block: its schema, the environment variables users already
//! know from the azuread provider, and the choice of authentication method.
//!
//! Precedence: an attribute set in configuration wins over its environment variable.
//! Authentication methods are tried in this documented order, the first one configured
//! wins: client certificate, client secret, OIDC, managed identity, Azure CLI.

use std::collections::HashMap;
use std::path::PathBuf;

use url::Url;

use crate::framework::schema::Attribute;
use crate::framework::{AttributePath, Diagnostics, Schema, Value};
use crate::graph::certificate::ClientCertificate;
use crate::graph::config::{CertificateSource, Cloud, Credential, GraphConfig, OidcSource, Secret};

/// Snapshot of the environment variables the provider reads (tests inject their own).
#[derive(Clone, Debug, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    pub fn process() -> Self {
        Self(std::env::vars().collect())
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// Environment variable overriding the client-side pacing of Intune writes (writes per 20 s;
/// `0` turns pacing off; default 100, Intune's documented limit). Meant for the bundled Graph emulator and load tests:
/// against a real tenant Intune enforces its own limit (100 per 20 s per app) regardless.
pub const INTUNE_WRITE_LIMIT_ENV: &str = "AUTOPILOT_INTUNE_WRITE_LIMIT";

/// Environment variable turning read coalescing (concurrent reads sharing `$batch` envelopes)
/// `off` or `on` (default). Meant for benchmarks that measure what coalescing saves.
pub const READ_COALESCING_ENV: &str = "AUTOPILOT_READ_COALESCING";

/// Graph client tuning from the environment (see [`INTUNE_WRITE_LIMIT_ENV`],
/// [`READ_COALESCING_ENV`]).
pub fn graph_tuning(env: &Env) -> Result<crate::graph::Tuning, Diagnostics> {
    let mut tuning = crate::graph::Tuning::default();
    if let Some(raw) = env.get(READ_COALESCING_ENV) {
        match raw.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "1" => tuning.coalesce_reads = true,
            "off" | "false" | "0" => tuning.coalesce_reads = false,
            _ => {
                let mut diags = Diagnostics::new();
                diags.error(
                    "Invalid value in environment",
                    format!("{READ_COALESCING_ENV} must be \"on\" or \"off\", got {raw:?}."),
                );
                return Err(diags);
            }
        }
    }
    if let Some(raw) = env.get(INTUNE_WRITE_LIMIT_ENV) {
        match raw.trim().parse::<u32>() {
            Ok(n) => tuning.rate_limit.intune_writes = n,
            Err(_) => {
                let mut diags = Diagnostics::new();
                diags.error(
                    "Invalid number in environment",
                    format!("{INTUNE_WRITE_LIMIT_ENV} must be a whole number of writes per 20 seconds, got {raw:?}."),
                );
                return Err(diags);
            }
        }
    }
    Ok(tuning)
}

/// One configurable setting: attribute name, environment variables (first set wins),
/// sensitivity and documentation. Kept as one table so schema, docs and lookup agree.
struct Setting {
    name: &'static str,
    env: &'static [&'static str],
    kind: Kind,
    sensitive: bool,
    doc: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Bool,
}

const SETTINGS: &[Setting] = &[
    Setting {
        name: "tenant_id",
        env: &["ARM_TENANT_ID"],
        kind: Kind::String,
        sensitive: false,
        doc: "The Microsoft Entra tenant (directory) id to manage. Environment: `ARM_TENANT_ID`.",
    },
    Setting {
        name: "client_id",
        env: &["ARM_CLIENT_ID"],
        kind: Kind::String,
        sensitive: false,
        doc: "The application (client) id used to authenticate, for client secret, certificate, OIDC and user-assigned managed identity. Environment: `ARM_CLIENT_ID`.",
    },
    Setting {
        name: "client_secret",
        env: &["ARM_CLIENT_SECRET"],
        kind: Kind::String,
        sensitive: true,
        doc: "A client secret of the application. Environment: `ARM_CLIENT_SECRET`.",
    },
    Setting {
        name: "client_certificate",
        env: &["ARM_CLIENT_CERTIFICATE"],
        kind: Kind::String,
        sensitive: true,
        doc: "Base64 of the application's PKCS#12 (`.pfx`/`.p12`) file, as for the azuread provider, or of a PEM bundle (certificate and unencrypted RSA private key). Environment: `ARM_CLIENT_CERTIFICATE`.",
    },
    Setting {
        name: "client_certificate_path",
        env: &["ARM_CLIENT_CERTIFICATE_PATH"],
        kind: Kind::String,
        sensitive: false,
        doc: "Path to a PKCS#12 (`.pfx`/`.p12`) or PEM file holding the application's certificate and its RSA private key. Environment: `ARM_CLIENT_CERTIFICATE_PATH`.",
    },
    Setting {
        name: "client_certificate_password",
        env: &["ARM_CLIENT_CERTIFICATE_PASSWORD"],
        kind: Kind::String,
        sensitive: true,
        doc: "Password of the PKCS#12 file; leave unset for a file exported without one. Environment: `ARM_CLIENT_CERTIFICATE_PASSWORD`.",
    },
    Setting {
        name: "use_oidc",
        env: &["ARM_USE_OIDC"],
        kind: Kind::Bool,
        sensitive: false,
        doc: "Authenticate with OIDC / workload identity federation (e.g. GitHub Actions, Kubernetes). Environment: `ARM_USE_OIDC`.",
    },
    Setting {
        name: "oidc_token",
        env: &["ARM_OIDC_TOKEN"],
        kind: Kind::String,
        sensitive: true,
        doc: "An OIDC ID token to exchange for a Graph token. Environment: `ARM_OIDC_TOKEN`.",
    },
    Setting {
        name: "oidc_token_file_path",
        env: &["ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE"],
        kind: Kind::String,
        sensitive: false,
        doc: "Path to a file holding an OIDC ID token, re-read on every token request. Environment: `ARM_OIDC_TOKEN_FILE_PATH`, `AZURE_FEDERATED_TOKEN_FILE`.",
    },
    Setting {
        name: "oidc_request_url",
        env: &["ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL"],
        kind: Kind::String,
        sensitive: false,
        doc: "URL from which to request an OIDC token (GitHub Actions sets it). Environment: `ARM_OIDC_REQUEST_URL`, `ACTIONS_ID_TOKEN_REQUEST_URL`.",
    },
    Setting {
        name: "oidc_request_token",
        env: &["ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
        kind: Kind::String,
        sensitive: true,
        doc: "Bearer token for `oidc_request_url`. Environment: `ARM_OIDC_REQUEST_TOKEN`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.",
    },
    Setting {
        name: "use_msi",
        env: &["ARM_USE_MSI"],
        kind: Kind::Bool,
        sensitive: false,
        doc: "Authenticate with the managed identity of the machine running Terraform (`client_id` selects a user-assigned identity). Environment: `ARM_USE_MSI`.",
    },
    Setting {
        name: "use_cli",
        env: &["ARM_USE_CLI"],
        kind: Kind::Bool,
        sensitive: false,
        doc: "Authenticate as the user signed in to the Azure CLI (`az login`), when no other method is configured. Defaults to `true`. Environment: `ARM_USE_CLI`.",
    },
    Setting {
        name: "environment",
        env: &["ARM_ENVIRONMENT"],
        kind: Kind::String,
        sensitive: false,
        doc: "The cloud: `global` (default), `usgovernment` or `china`. Sets the Graph and login hosts. Environment: `ARM_ENVIRONMENT`.",
    },
    Setting {
        name: "graph_endpoint",
        env: &["AUTOPILOT_GRAPH_ENDPOINT"],
        kind: Kind::String,
        sensitive: false,
        doc: "Overrides the Microsoft Graph base URL (https only), e.g. for the bundled Graph emulator. Environment: `AUTOPILOT_GRAPH_ENDPOINT`.",
    },
    Setting {
        name: "authority_host",
        env: &["AUTOPILOT_AUTHORITY_HOST"],
        kind: Kind::String,
        sensitive: false,
        doc: "Overrides the Microsoft Entra authority host (https only). Environment: `AUTOPILOT_AUTHORITY_HOST`.",
    },
    Setting {
        name: "ca_certificate_file",
        env: &["AUTOPILOT_CA_CERT_FILE"],
        kind: Kind::String,
        sensitive: false,
        doc: "A PEM file of extra trusted root certificates for Graph and token requests (TLS-inspecting proxies, the bundled emulator). Verification is never turned off. Environment: `AUTOPILOT_CA_CERT_FILE`.",
    },
];

/// The provider block's schema.
pub fn schema() -> Schema {
    let mut schema = Schema::default();
    schema.block.description = "Manages Windows Autopilot device preparation (user-driven, Microsoft Entra join) through Microsoft Graph.".into();
    for s in SETTINGS {
        let mut a = match s.kind {
            Kind::String => Attribute::string(s.name),
            Kind::Bool => Attribute::bool(s.name),
        }
        .optional()
        .description(s.doc);
        if s.sensitive {
            a = a.sensitive();
        }
        schema.block.attributes.push(a);
    }
    schema
}

/// The validated provider settings.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    pub graph: GraphConfig,
}

/// Looks settings up: configuration first, then the environment.
struct Lookup<'a> {
    config: &'a Value,
    env: &'a Env,
}

impl Lookup<'_> {
    fn setting(name: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.name == name)
    }

    fn string(&self, name: &str) -> Option<String> {
        if let Some(Value::String(s)) = self.config.attr(name)
            && !s.is_empty()
        {
            return Some(s.clone());
        }
        let setting = Self::setting(name)?;
        setting.env.iter().find_map(|e| self.env.get(e)).map(str::to_owned)
    }

    fn bool(&self, name: &str, diags: &mut Diagnostics) -> Option<bool> {
        if let Some(Value::Bool(b)) = self.config.attr(name) {
            return Some(*b);
        }
        let setting = Self::setting(name)?;
        let (var, raw) = setting.env.iter().find_map(|e| self.env.get(e).map(|v| (*e, v)))?;
        match raw.to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => {
                diags.attribute_error(
                    AttributePath::new(name),
                    "Invalid boolean in environment",
                    format!("{var} must be true or false, got {raw:?}."),
                );
                None
            }
        }
    }
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok() && s.len() == 36
}

fn https_url(name: &str, raw: &str, diags: &mut Diagnostics) -> Option<Url> {
    match Url::parse(raw) {
        Ok(u) if u.scheme() == "https" && u.host().is_some() => Some(u),
        Ok(u) => {
            diags.attribute_error(
                AttributePath::new(name),
                "Endpoint must use https",
                format!("{name} is {raw:?} (scheme {:?}). Graph and token requests carry credentials, so only https endpoints are accepted; to trust a private CA use ca_certificate_file.", u.scheme()),
            );
            None
        }
        Err(e) => {
            diags.attribute_error(
                AttributePath::new(name),
                "Invalid URL",
                format!("{name} {raw:?} is not a URL: {e}."),
            );
            None
        }
    }
}

impl ProviderSettings {
    /// Validate the provider configuration (with unknowns already resolved) plus environment.
    pub fn from_config(config: &Value, env: &Env) -> Result<Self, Diagnostics> {
        let l = Lookup { config, env };
        let mut diags = Diagnostics::new();

        let tenant_id = l.string("tenant_id");
        match &tenant_id {
            None => diags.attribute_error(
                AttributePath::new("tenant_id"),
                "Missing tenant_id",
                "Set tenant_id in the provider block or ARM_TENANT_ID in the environment to the tenant (directory) id.",
            ),
            Some(t) if !is_guid(t) => diags.attribute_error(
                AttributePath::new("tenant_id"),
                "Invalid tenant_id",
                format!("tenant_id must be a GUID such as 00000000-0000-0000-0000-000000000000, got {t:?}."),
            ),
            Some(_) => {}
        }
        let client_id = l.string("client_id");
        if let Some(c) = &client_id
            && !is_guid(c)
        {
            diags.attribute_error(
                AttributePath::new("client_id"),
                "Invalid client_id",
                format!("client_id must be the application (client) id, a GUID; got {c:?}."),
            );
        }

        let cloud = match l.string("environment") {
            None => Cloud::Global,
            Some(name) => Cloud::parse(&name).unwrap_or_else(|| {
                diags.attribute_error(
                    AttributePath::new("environment"),
                    "Unknown environment",
                    format!("environment must be one of {}; got {name:?}.", Cloud::NAMES.join(", ")),
                );
                Cloud::Global
            }),
        };
        let graph_endpoint = https_url(
            "graph_endpoint",
            &l.string("graph_endpoint").unwrap_or_else(|| cloud.graph_endpoint().to_owned()),
            &mut diags,
        );
        let authority_host = https_url(
            "authority_host",
            &l.string("authority_host").unwrap_or_else(|| cloud.authority_host().to_owned()),
            &mut diags,
        );
        let ca_certificate_file = l.string("ca_certificate_file").map(PathBuf::from);
        if let Some(p) = &ca_certificate_file
            && !p.is_file()
        {
            diags.attribute_error(
                AttributePath::new("ca_certificate_file"),
                "CA certificate file not found",
                format!("ca_certificate_file {} is not a readable file.", p.display()),
            );
        }

        let credential = choose_credential(&l, client_id.as_deref(), &mut diags);

        if diags.has_error() {
            return Err(diags);
        }
        match (tenant_id, graph_endpoint, authority_host, credential) {
            (Some(tenant_id), Some(graph_endpoint), Some(authority_host), Some(credential)) => Ok(Self {
                graph: GraphConfig {
                    tenant_id,
                    credential,
                    graph_endpoint,
                    authority_host,
                    ca_certificate_file,
                    user_agent: format!("terraform-provider-autopilot/{}", env!("CARGO_PKG_VERSION")),
                },
            }),
            _ => {
                diags.error("Invalid provider configuration", "The provider configuration is incomplete.");
                Err(diags)
            }
        }
    }
}

fn require_client_id(client_id: Option<&str>, method: &str, diags: &mut Diagnostics) -> Option<String> {
    if client_id.is_none() {
        diags.attribute_error(
            AttributePath::new("client_id"),
            "Missing client_id",
            format!("Authentication with {method} needs client_id (or ARM_CLIENT_ID): the application (client) id."),
        );
    }
    client_id.map(str::to_owned)
}

fn choose_credential(l: &Lookup<'_>, client_id: Option<&str>, diags: &mut Diagnostics) -> Option<Credential> {
    let cert_path = l.string("client_certificate_path");
    let cert_b64 = l.string("client_certificate");
    if cert_path.is_some() && cert_b64.is_some() {
        diags.attribute_error(
            AttributePath::new("client_certificate"),
            "Conflicting certificate settings",
            "Set either client_certificate or client_certificate_path, not both.",
        );
        return None;
    }
    let source_attribute = if cert_path.is_some() { "client_certificate_path" } else { "client_certificate" };
    if let Some(source) = cert_path
        .map(|p| CertificateSource::Path(PathBuf::from(p)))
        .or_else(|| cert_b64.map(|b| CertificateSource::Base64(Secret::new(b))))
    {
        let password = l.string("client_certificate_password").map(Secret::new);
        // Opened now, so a wrong password or an unusable file is reported on its attribute
        // before any resource runs (and not as an authentication failure mid-apply).
        if let Err(e) = ClientCertificate::load(&source, password.as_ref()) {
            let (attribute, summary) = if e.concerns_password() {
                ("client_certificate_password", "Wrong client certificate password")
            } else {
                (source_attribute, "Unusable client certificate")
            };
            diags.attribute_error(
                AttributePath::new(attribute),
                summary,
                format!("Client certificate: {e}."),
            );
            return None;
        }
        let client_id = require_client_id(client_id, "a client certificate", diags)?;
        return Some(Credential::ClientCertificate { client_id, source, password });
    }
    if let Some(secret) = l.string("client_secret") {
        let client_id = require_client_id(client_id, "a client secret", diags)?;
        return Some(Credential::ClientSecret { client_id, secret: Secret::new(secret) });
    }
    if l.bool("use_oidc", diags).unwrap_or(false) {
        let client_id = require_client_id(client_id, "OIDC", diags)?;
        let source = if let Some(t) = l.string("oidc_token") {
            OidcSource::Token(Secret::new(t))
        } else if let Some(p) = l.string("oidc_token_file_path") {
            OidcSource::TokenFile(PathBuf::from(p))
        } else if let (Some(url), Some(token)) =
            (l.string("oidc_request_url"), l.string("oidc_request_token"))
        {
            OidcSource::Request { url, token: Secret::new(token) }
        } else {
            diags.attribute_error(
                AttributePath::new("use_oidc"),
                "No OIDC token source",
                "use_oidc is true but none of oidc_token, oidc_token_file_path, or oidc_request_url with oidc_request_token (or their ARM_*/ACTIONS_* variables) is set.",
            );
            return None;
        };
        return Some(Credential::Oidc { client_id, source });
    }
    if l.bool("use_msi", diags).unwrap_or(false) {
        return Some(Credential::ManagedIdentity { client_id: client_id.map(str::to_owned) });
    }
    if l.bool("use_cli", diags).unwrap_or(true) {
        return Some(Credential::AzureCli);
    }
    diags.error(
        "No authentication method configured",
        "Configure one of: client_certificate(_path), client_secret, use_oidc, use_msi, or use_cli (see the provider documentation).",
    );
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut m: BTreeMap<String, Value> =
            SETTINGS.iter().map(|s| (s.name.to_owned(), Value::Null)).collect();
        for (k, v) in pairs {
            m.insert((*k).to_owned(), v.clone());
        }
        Value::Object(m)
    }

    const TENANT: &str = "11111111-2222-3333-4444-555555555555";
    const CLIENT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    fn error_paths(d: &Diagnostics) -> Vec<String> {
        d.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn bad_tenant_id_points_at_attribute() {
        let Err(d) =
            ProviderSettings::from_config(&config(&[("tenant_id", "not-a-guid".into())]), &Env::default())
        else {
            panic!("expected an error");
        };
        assert_eq!(error_paths(&d), vec!["tenant_id"]);
    }

    #[test]
    fn environment_fills_unset_attributes_and_config_wins() {
        let env = Env::from_pairs([
            ("ARM_TENANT_ID", TENANT),
            ("ARM_CLIENT_ID", "bad"),
            ("ARM_CLIENT_SECRET", "s3cret"),
        ]);
        let s = ProviderSettings::from_config(&config(&[("client_id", CLIENT.into())]), &env)
            .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(s.graph.tenant_id, TENANT);
        assert!(
            matches!(&s.graph.credential, Credential::ClientSecret { client_id, .. } if client_id == CLIENT)
        );
        assert!(!format!("{s:?}").contains("s3cret"), "secret leaked through Debug");
    }

    #[test]
    fn http_endpoints_are_refused() {
        let c = config(&[("tenant_id", TENANT.into()), ("graph_endpoint", "http://127.0.0.1:1".into())]);
        let Err(d) = ProviderSettings::from_config(&c, &Env::default()) else { panic!("expected an error") };
        assert_eq!(error_paths(&d), vec!["graph_endpoint"]);
    }

    #[test]
    fn defaults_to_azure_cli_in_global_cloud() {
        let s = ProviderSettings::from_config(&config(&[("tenant_id", TENANT.into())]), &Env::default())
            .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(s.graph.credential, Credential::AzureCli);
        assert_eq!(s.graph.graph_endpoint.as_str(), "https://graph.microsoft.com/");
    }

    #[test]
    fn secret_without_client_id_names_client_id() {
        let c = config(&[("tenant_id", TENANT.into()), ("client_secret", "x".into())]);
        let Err(d) = ProviderSettings::from_config(&c, &Env::default()) else { panic!("expected an error") };
        assert_eq!(error_paths(&d), vec!["client_id"]);
    }

    fn pkcs12_fixture() -> String {
        format!("{}/src/graph/certificate/testdata/aes256.p12", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn pkcs12_certificate_from_path_or_environment_is_opened_at_configure() {
        use base64::Engine as _;
        let path = pkcs12_fixture();
        let c = config(&[
            ("tenant_id", TENANT.into()),
            ("client_id", CLIENT.into()),
            ("client_certificate_path", path.as_str().into()),
            ("client_certificate_password", "correct-horse".into()),
        ]);
        let s = ProviderSettings::from_config(&c, &Env::default()).unwrap_or_else(|d| panic!("{d:?}"));
        assert!(matches!(s.graph.credential, Credential::ClientCertificate { .. }));
        assert!(!format!("{s:?}").contains("correct-horse"), "password leaked through Debug");

        // azuread's variables: base64 of the .pfx in ARM_CLIENT_CERTIFICATE.
        let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&path).unwrap());
        let env = Env::from_pairs([
            ("ARM_TENANT_ID", TENANT),
            ("ARM_CLIENT_ID", CLIENT),
            ("ARM_CLIENT_CERTIFICATE", b64.as_str()),
            ("ARM_CLIENT_CERTIFICATE_PASSWORD", "correct-horse"),
        ]);
        let s = ProviderSettings::from_config(&config(&[]), &env).unwrap_or_else(|d| panic!("{d:?}"));
        assert!(matches!(s.graph.credential, Credential::ClientCertificate { .. }));
    }

    #[test]
    fn certificate_problems_point_at_the_attribute_to_fix() {
        let path = pkcs12_fixture();
        let base = |extra: &[(&str, Value)]| {
            let mut pairs = vec![("tenant_id", Value::from(TENANT)), ("client_id", CLIENT.into())];
            pairs.extend(extra.iter().cloned());
            config(&pairs)
        };
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                base(&[
                    ("client_certificate_path", path.as_str().into()),
                    ("client_certificate_password", "not-the-password".into()),
                ]),
                "client_certificate_password",
                "is wrong: the file's integrity check failed",
            ),
            (
                base(&[("client_certificate_path", path.as_str().into())]),
                "client_certificate_password",
                "password-protected",
            ),
            (
                base(&[("client_certificate_path", "/nonexistent/app.pfx".into())]),
                "client_certificate_path",
                "cannot read /nonexistent/app.pfx",
            ),
            (base(&[("client_certificate", "not base64!".into())]), "client_certificate", "not valid base64"),
        ];
        for (c, attribute, detail) in cases {
            let Err(d) = ProviderSettings::from_config(&c, &Env::default()) else {
                panic!("expected an error")
            };
            assert_eq!(error_paths(&d), vec![attribute]);
            let shown = format!("{d:?}");
            assert!(shown.contains(detail), "{shown}");
            assert!(!shown.contains("not-the-password"), "password leaked: {shown}");
        }
    }

    #[test]
    fn unknown_cloud_is_rejected() {
        let c = config(&[("tenant_id", TENANT.into()), ("environment", "mars".into())]);
        let Err(d) = ProviderSettings::from_config(&c, &Env::default()) else { panic!("expected an error") };
        assert_eq!(error_paths(&d), vec!["environment"]);
    }

    #[test]
    fn read_coalescing_switch() {
        for (raw, expect) in [
            (None, Some(true)),
            (Some("off"), Some(false)),
            (Some("OFF "), Some(false)),
            (Some("on"), Some(true)),
            (Some("sometimes"), None),
        ] {
            let env = Env::from_pairs(raw.map(|r| (READ_COALESCING_ENV, r)));
            assert_eq!(graph_tuning(&env).ok().map(|t| t.coalesce_reads), expect, "{raw:?}");
        }
    }
}
