//! Where an acceptance test sends Graph traffic: the emulator (the default) or, for tests marked
//! live-capable, a real Microsoft Graph tenant when `AUTOPILOT_LIVE_TENANT=1` and the `ARM_*`
//! credentials are set.
//!
//! Both targets can be probed directly with [`GraphProbe`] (client-credentials token, plain
//! Graph requests), so a test's out-of-band changes and "is it gone?" checks read the same in
//! both modes. Emulator-only assertions (request log, stored objects) go through
//! [`Target::emulator`], which is `None` in live mode.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::harness::{Emulator, HarnessError, Result, Workspace};

/// `AUTOPILOT_LIVE_TENANT=1` switches live-capable tests to a real tenant.
pub const LIVE_ENV: &str = "AUTOPILOT_LIVE_TENANT";

const LIVE_GRAPH: &str = "https://graph.microsoft.com";
const LIVE_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Whether the live-tenant mode was asked for (`AUTOPILOT_LIVE_TENANT=1`).
pub fn live_requested() -> bool {
    std::env::var(LIVE_ENV).is_ok_and(|v| v == "1")
}

/// The app registration a live run uses (from `ARM_TENANT_ID`, `ARM_CLIENT_ID`, `ARM_CLIENT_SECRET`).
pub struct LiveTenant {
    tenant_id: String,
    client_id: String,
    client_secret: String,
    /// Prefix of every object this run creates (`tfacc-<unix seconds>-`), so leftovers are easy
    /// to find and delete by name.
    prefix: String,
}

impl std::fmt::Debug for LiveTenant {
    // The secret never reaches a panic message or log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveTenant")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl LiveTenant {
    /// Reads the credentials; live mode without them is a misconfiguration, not a skip.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| HarnessError::Setup(format!("{LIVE_ENV}=1 needs {name} to be set")))
        };
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        Ok(Self {
            tenant_id: var("ARM_TENANT_ID")?,
            client_id: var("ARM_CLIENT_ID")?,
            client_secret: var("ARM_CLIENT_SECRET")?,
            prefix: format!("tfacc-{secs}-"),
        })
    }
}

/// The Graph a test runs against.
pub enum Target {
    Emulator(Emulator),
    Live(LiveTenant),
}

impl Target {
    /// The emulator (started with `flags`), or the live tenant when a live-capable test runs
    /// with `AUTOPILOT_LIVE_TENANT=1` (no emulator is started then).
    pub async fn start(emulator_binary: &Path, flags: &[&str]) -> Result<Self> {
        if live_requested() {
            return Ok(Self::Live(LiveTenant::from_env()?));
        }
        Ok(Self::Emulator(Emulator::start(emulator_binary, flags).await?))
    }

    /// Always the emulator: for tests that are not live-capable.
    pub async fn emulator_only(emulator_binary: &Path, flags: &[&str]) -> Result<Self> {
        Ok(Self::Emulator(Emulator::start(emulator_binary, flags).await?))
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Self::Live(_))
    }

    /// The emulator, for assertions on its request log and stored objects; `None` when live.
    pub fn emulator(&self) -> Option<&Emulator> {
        match self {
            Self::Emulator(e) => Some(e),
            Self::Live(_) => None,
        }
    }

    /// `name` with the run's unique prefix in live mode (unchanged against the emulator).
    pub fn name(&self, name: &str) -> String {
        match self {
            Self::Emulator(_) => name.to_owned(),
            Self::Live(l) => format!("{}{name}", l.prefix),
        }
    }

    /// A terraform working directory wired to this target.
    pub fn workspace(&self) -> Result<Workspace> {
        match self {
            Self::Emulator(e) => Workspace::new(e),
            // The provider reads ARM_* from the inherited environment and talks to real Graph.
            Self::Live(_) => Workspace::with_env(Vec::new()),
        }
    }

    /// A direct Graph client for out-of-band changes and read-backs.
    pub async fn probe(&self) -> Result<GraphProbe> {
        GraphProbe::connect(self).await
    }

    pub async fn stop(self) {
        if let Self::Emulator(e) = self {
            e.stop().await;
        }
    }
}

/// A minimal Graph client with the test app's own token (client credentials), for what a test
/// does "in the portal" and for reading objects back in either mode.
pub struct GraphProbe {
    http: reqwest::Client,
    graph: String,
    token: String,
}

/// One Graph answer: status and JSON body (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl GraphProbe {
    async fn connect(target: &Target) -> Result<Self> {
        // Same crypto provider as the provider binary: ring, installed once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = reqwest::Client::builder().timeout(Duration::from_secs(60));
        let (http, graph, authority, tenant, client, secret) = match target {
            Target::Emulator(e) => {
                let pem = std::fs::read(&e.ca_file)?;
                let http = builder.tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem)?).build()?;
                (
                    http,
                    e.url.clone(),
                    e.url.clone(),
                    crate::harness::TENANT_ID.to_owned(),
                    crate::harness::CLIENT_ID.to_owned(),
                    crate::harness::CLIENT_SECRET.to_owned(),
                )
            }
            Target::Live(l) => (
                builder.build()?,
                LIVE_GRAPH.to_owned(),
                LIVE_AUTHORITY.to_owned(),
                l.tenant_id.clone(),
                l.client_id.clone(),
                l.client_secret.clone(),
            ),
        };
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &client)
            .append_pair("client_secret", &secret)
            .append_pair("scope", "https://graph.microsoft.com/.default")
            .finish();
        let resp = http
            .post(format!("{authority}/{tenant}/oauth2/v2.0/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let token = body["access_token"].as_str().map(str::to_owned).ok_or_else(|| {
            // The token endpoint's error code and description name no secret.
            HarnessError::Setup(format!("token request failed ({status}): {}", body["error_description"]))
        })?;
        Ok(Self { http, graph, token })
    }

    /// Sends `method path` (`/v1.0/...` or `/beta/...`, query included) with an optional JSON body.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Reply> {
        let mut req = self.http.request(method, format!("{}{path}", self.graph)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        Ok(Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    }

    /// GET that must answer 200.
    pub async fn get(&self, path: &str) -> Result<Value> {
        let reply = self.call(reqwest::Method::GET, path, None).await?;
        if reply.status == 200 {
            Ok(reply.body)
        } else {
            Err(HarnessError::Setup(format!("GET {path}: {} {}", reply.status, reply.body)))
        }
    }
}
