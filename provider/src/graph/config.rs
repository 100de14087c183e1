//! How to reach Microsoft Graph and authenticate: plain data, validated by the caller
//! (the provider configuration) and consumed by `GraphClient::new`.

use std::fmt;
use std::path::PathBuf;

use url::Url;

/// A secret string (client secret, certificate password, OIDC token). Its `Debug` and
/// `Display` never show the value, so it cannot leak through logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself; call only where it is sent to the token endpoint.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// National clouds, each with its own Graph and login hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    Global,
    UsGovernment,
    China,
}

impl Cloud {
    pub const NAMES: [&'static str; 3] = ["global", "usgovernment", "china"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "global" | "public" => Some(Cloud::Global),
            "usgovernment" | "usgovernmentl4" => Some(Cloud::UsGovernment),
            "china" => Some(Cloud::China),
            _ => None,
        }
    }

    /// Base URL of Microsoft Graph (without version).
    pub fn graph_endpoint(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGovernment => "https://graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// Microsoft Entra authority host.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGovernment => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }
}

/// Where the client certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateSource {
    /// A file holding PKCS#12 or PEM (certificate + private key).
    Path(PathBuf),
    /// Base64 of the same bytes (e.g. from a secret store).
    Base64(Secret),
}

/// Where an OIDC (workload identity federation) assertion comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OidcSource {
    Token(Secret),
    TokenFile(PathBuf),
    /// GitHub Actions (or compatible) token request endpoint.
    Request {
        url: String,
        token: Secret,
    },
}

/// How to obtain tokens. The provider configuration decides the order in which it tries
/// the methods; the Graph client only carries out the chosen one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    ClientSecret { client_id: String, secret: Secret },
    ClientCertificate { client_id: String, source: CertificateSource, password: Option<Secret> },
    Oidc { client_id: String, source: OidcSource },
    ManagedIdentity { client_id: Option<String> },
    AzureCli,
}

impl Credential {
    /// Short name for logs and diagnostics.
    pub fn method_name(&self) -> &'static str {
        match self {
            Credential::ClientSecret { .. } => "client secret",
            Credential::ClientCertificate { .. } => "client certificate",
            Credential::Oidc { .. } => "OIDC (workload identity federation)",
            Credential::ManagedIdentity { .. } => "managed identity",
            Credential::AzureCli => "Azure CLI",
        }
    }
}

/// Everything `GraphClient::new` needs.
#[derive(Clone, Debug)]
pub struct GraphConfig {
    pub tenant_id: String,
    pub credential: Credential,
    /// Graph base URL without version, e.g. `https://graph.microsoft.com`. Always https.
    pub graph_endpoint: Url,
    /// Entra authority host, e.g. `https://login.microsoftonline.com`. Always https.
    pub authority_host: Url,
    /// Extra trusted roots (PEM), for TLS-inspecting proxies and the bundled emulator.
    pub ca_certificate_file: Option<PathBuf>,
    /// Sent as `User-Agent`.
    pub user_agent: String,
}
