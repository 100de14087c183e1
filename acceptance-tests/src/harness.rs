//! Acceptance harness: starts the Graph emulator as a child process, builds the provider,
//! and runs the real `terraform` CLI in a temporary working directory wired to both.
//!
//! Everything talks to 127.0.0.1 only; every child process is bounded by a timeout and
//! killed when its handle drops.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Credentials of the one application the emulator accepts (its documented defaults).
pub const TENANT_ID: &str = "00000000-0000-0000-0000-0000000000aa";
pub const CLIENT_ID: &str = "00000000-0000-0000-0000-0000000000bb";
pub const CLIENT_SECRET: &str = "emulator-secret";

/// How long one terraform command may take before the test fails.
const TERRAFORM_TIMEOUT: Duration = Duration::from_secs(300);

/// Errors of the harness itself (not of the code under test).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{0}")]
    Setup(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
}

pub type Result<T> = std::result::Result<T, HarnessError>;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// Names a directory holding an already built provider binary to test instead of the debug
/// build: `scripts/test` points it at the release binary, so the acceptance tests run what
/// users install (on Linux the statically linked build).
pub const PROVIDER_DIR_ENV: &str = "AUTOPILOT_PROVIDER_DIR";

/// Build the provider binary once per test process and return the directory holding it
/// (what `dev_overrides` points at), or the directory `AUTOPILOT_PROVIDER_DIR` names.
pub fn provider_dir() -> Result<PathBuf> {
    static BUILT: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let binary = format!("terraform-provider-autopilot{}", std::env::consts::EXE_SUFFIX);
            if let Some(dir) = std::env::var_os(PROVIDER_DIR_ENV) {
                let dir = PathBuf::from(dir);
                return if dir.join(&binary).is_file() {
                    Ok(dir)
                } else {
                    Err(format!("{PROVIDER_DIR_ENV}={}: no {binary} there", dir.display()))
                };
            }
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args([
                    "build",
                    "-q",
                    "-p",
                    "terraform-provider-autopilot",
                    "--bin",
                    "terraform-provider-autopilot",
                ])
                .current_dir(workspace_root())
                .status()
                .map_err(|e| format!("running cargo build: {e}"))?;
            if !status.success() {
                return Err("cargo build of the provider failed".into());
            }
            let dir = target_dir().join("debug");
            if dir.join(&binary).is_file() {
                Ok(dir)
            } else {
                Err(format!("provider binary not found in {}", dir.display()))
            }
        })
        .clone()
        .map_err(HarnessError::Setup)
}

/// A running `graph-emulator` child process.
pub struct Emulator {
    child: Child,
    pub url: String,
    pub ca_file: PathBuf,
    http: reqwest::Client,
}

impl Emulator {
    /// Start the emulator binary with extra flags (e.g. `--throttle-percent 30`).
    pub async fn start(binary: &Path, flags: &[&str]) -> Result<Self> {
        let mut child = Command::new(binary)
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| HarnessError::Setup("no emulator stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let (mut url, mut ca_file) = (None, None);
        let read = async {
            while let Some(line) = lines.next_line().await? {
                if let Some(v) = line.strip_prefix("GRAPH_EMULATOR_URL=") {
                    url = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("GRAPH_EMULATOR_CA_FILE=") {
                    ca_file = Some(PathBuf::from(v.trim()));
                }
                if url.is_some() && ca_file.is_some() {
                    break;
                }
            }
            Ok::<_, std::io::Error>(())
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .map_err(|_| HarnessError::Setup("emulator did not announce its URL within 30 s".into()))??;
        let (Some(url), Some(ca_file)) = (url, ca_file) else {
            return Err(HarnessError::Setup("emulator exited before announcing its URL".into()));
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let http = control_client(&ca_file)?;
        Ok(Self { child, url, ca_file, http })
    }

    /// GET a control endpoint (`/_emulator/...`) and parse its JSON.
    pub async fn control_get(&self, path: &str) -> Result<serde_json::Value> {
        Ok(self.http.get(format!("{}{path}", self.url)).send().await?.error_for_status()?.json().await?)
    }

    /// Send a JSON body to a control endpoint.
    pub async fn control_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?.error_for_status()?;
        let bytes = resp.bytes().await?;
        Ok(serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    /// The emulator's request log.
    pub async fn requests(&self) -> Result<Vec<serde_json::Value>> {
        match self.control_get("/_emulator/requests").await? {
            serde_json::Value::Array(a) => Ok(a),
            other => Err(HarnessError::Setup(format!("unexpected request log: {other}"))),
        }
    }

    /// Stored objects of one collection (e.g. `groups`).
    pub async fn objects(&self, collection: &str) -> Result<Vec<serde_json::Value>> {
        let all = self.control_get("/_emulator/objects").await?;
        Ok(all.get(collection).and_then(|v| v.as_array()).cloned().unwrap_or_default())
    }

    /// Environment that points the provider at this emulator.
    pub fn provider_env(&self) -> Vec<(String, String)> {
        vec![
            ("ARM_TENANT_ID".into(), TENANT_ID.into()),
            ("ARM_CLIENT_ID".into(), CLIENT_ID.into()),
            ("ARM_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("AUTOPILOT_GRAPH_ENDPOINT".into(), self.url.clone()),
            ("AUTOPILOT_AUTHORITY_HOST".into(), self.url.clone()),
            ("AUTOPILOT_CA_CERT_FILE".into(), self.ca_file.display().to_string()),
        ]
    }

    /// Request-body conformance violations the emulator recorded (see the emulator README,
    /// "Body conformance").
    pub async fn violations(&self) -> Result<Vec<serde_json::Value>> {
        Ok(self.control_get("/_emulator/violations").await?.as_array().cloned().unwrap_or_default())
    }

    /// Stops the emulator; fails the test if the provider sent any request body that does not
    /// conform to the Graph metadata during its lifetime (so every acceptance flow is checked).
    pub async fn stop(mut self) {
        let violations = self.violations().await.unwrap_or_default();
        let _ = self.child.kill().await;
        assert!(
            violations.is_empty(),
            "request bodies not conforming to the Graph metadata: {violations:#?}"
        );
    }
}

fn control_client(ca_file: &Path) -> Result<reqwest::Client> {
    let pem = std::fs::read(ca_file)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| HarnessError::Setup(format!("emulator CA PEM: {e}")))?;
        roots.add(cert).map_err(|e| HarnessError::Setup(format!("emulator CA: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HarnessError::Setup(format!("TLS config: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls).timeout(Duration::from_secs(30)).build()?)
}

/// The outcome of one terraform command.
#[derive(Debug)]
pub struct TfOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TfOutput {
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// stdout and stderr together, for assertions on diagnostics.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A temporary Terraform working directory wired to the provider and an emulator.
pub struct Workspace {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Workspace {
    /// A working directory whose CLI configuration points `autopilot/autopilot` at the
    /// freshly built provider through `dev_overrides`.
    pub fn new(emulator: &Emulator) -> Result<Self> {
        Self::with_env(emulator.provider_env())
    }

    /// A working directory whose provider gets `provider_env` (e.g. the emulator's endpoint, or
    /// nothing extra for a live tenant whose `ARM_*` variables the tests inherit).
    pub fn with_env(provider_env: Vec<(String, String)>) -> Result<Self> {
        let provider = provider_dir()?;
        let dir = tempfile::tempdir()?;
        let rc = dir.path().join("terraformrc");
        std::fs::write(
            &rc,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"autopilot/autopilot\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                provider.display()
            ),
        )?;
        let mut env = provider_env;
        env.push(("TF_CLI_CONFIG_FILE".into(), rc.display().to_string()));
        env.push(("TF_IN_AUTOMATION".into(), "1".into()));
        env.push(("CHECKPOINT_DISABLE".into(), "1".into()));
        env.push(("TF_DATA_DIR".into(), dir.path().join(".terraform").display().to_string()));
        Ok(Self { dir, env })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Extra environment for every later terraform command (e.g. TF_LOG).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    /// Write (or replace) a file of the configuration.
    pub fn write(&self, name: &str, content: &str) -> Result<()> {
        std::fs::write(self.dir.path().join(name), content)?;
        Ok(())
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        std::fs::remove_file(self.dir.path().join(name))?;
        Ok(())
    }

    /// Run `terraform <args>` with `-no-color`, bounded by a timeout.
    pub async fn terraform(&self, args: &[&str]) -> Result<TfOutput> {
        let mut cmd = self.command(args);
        let out = tokio::time::timeout(TERRAFORM_TIMEOUT, cmd.output())
            .await
            .map_err(|_| HarnessError::Setup(format!("terraform {args:?} timed out")))??;
        Ok(TfOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// The `terraform <args>` command (with `-no-color`, in this directory, with this
    /// environment) without running it: for tests that signal or time the process themselves.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("terraform");
        // `-no-color` goes right after the (sub)command: `state rm -no-color addr`.
        let words = if matches!(args.first(), Some(&("state" | "providers" | "workspace"))) { 2 } else { 1 };
        let words = words.min(args.len());
        cmd.args(&args[..words]);
        if args.first() != Some(&"version") {
            cmd.arg("-no-color");
        }
        cmd.args(&args[words..])
            .current_dir(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// `terraform apply -auto-approve`; fails with the output when it does not succeed.
    pub async fn apply(&self) -> Result<TfOutput> {
        self.must(&["apply", "-auto-approve", "-input=false"]).await
    }

    pub async fn destroy(&self) -> Result<TfOutput> {
        self.must(&["destroy", "-auto-approve", "-input=false"]).await
    }

    /// `terraform plan -detailed-exitcode`: Ok(true) for "no changes", Ok(false) for changes.
    pub async fn plan_is_empty(&self) -> Result<(bool, TfOutput)> {
        let out = self.terraform(&["plan", "-detailed-exitcode", "-input=false"]).await?;
        match out.code {
            0 => Ok((true, out)),
            2 => Ok((false, out)),
            _ => Err(HarnessError::Setup(format!("terraform plan failed:\n{}", out.combined()))),
        }
    }

    /// The state as `terraform show -json` prints it.
    pub async fn state(&self) -> Result<serde_json::Value> {
        let out = self.must(&["show", "-json"]).await?;
        serde_json::from_str(&out.stdout).map_err(|e| HarnessError::Setup(format!("show -json: {e}")))
    }

    /// Attribute values of one resource address in the state (`values` of that resource).
    pub async fn resource_values(&self, address: &str) -> Result<Option<serde_json::Value>> {
        let state = self.state().await?;
        Ok(find_resource(&state["values"]["root_module"], address))
    }

    /// Run a command that must succeed.
    pub async fn must(&self, args: &[&str]) -> Result<TfOutput> {
        let out = self.terraform(args).await?;
        if out.success() {
            Ok(out)
        } else {
            Err(HarnessError::Setup(format!("terraform {} failed:\n{}", args.join(" "), out.combined())))
        }
    }
}

fn find_resource(module: &serde_json::Value, address: &str) -> Option<serde_json::Value> {
    if let Some(resources) = module["resources"].as_array()
        && let Some(r) = resources.iter().find(|r| r["address"] == address)
    {
        return Some(r["values"].clone());
    }
    module["child_modules"].as_array()?.iter().find_map(|m| find_resource(m, address))
}

/// The `terraform { required_providers }` block every test configuration starts with.
pub const PROVIDER_HEADER: &str = r#"terraform {
  required_providers {
    autopilot = {
      source = "autopilot/autopilot"
    }
  }
}

provider "autopilot" {}
"#;
