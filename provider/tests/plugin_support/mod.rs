//! Shared helpers for the tests that run the real provider binary: start it as Terraform
//! would, and speak gRPC to it over its Unix socket (with or without TLS).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio_rustls::TlsConnector;
use tonic::codegen::{Service, http};

use tfproto::tfplugin6::get_metadata;
use tfproto::tfplugin6::provider_client::ProviderClient;

pub const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// Upper bound for every single step (startup, a call, exit); nothing waits longer.
pub const STEP: Duration = Duration::from_secs(20);

/// A client certificate and its key, as Terraform makes for AutoMTLS.
pub struct ClientIdentity {
    pub pem: String,
    pub der: CertificateDer<'static>,
    pub key: Vec<u8>,
}

pub fn client_identity() -> ClientIdentity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
    ClientIdentity { pem: cert.pem(), der: cert.der().clone(), key: key.serialize_der() }
}

/// The running plugin and what it announced.
pub struct Plugin {
    pub child: Child,
    pub socket: PathBuf,
    /// The certificate from the handshake line (AutoMTLS), if any.
    pub server_cert: Option<CertificateDer<'static>>,
    /// The rest of stdout, after the handshake line.
    pub stdout: BufReader<ChildStdout>,
    /// Where the plugin's stderr goes.
    pub stderr_path: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Plugin {
    /// Everything the plugin wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Wait (bounded) for the process to exit; returns its status.
    pub async fn wait(&mut self) -> std::process::ExitStatus {
        tokio::time::timeout(STEP, self.child.wait()).await.expect("plugin did not exit in time").unwrap()
    }

    /// Whatever the plugin wrote to stdout after its first line (read after exit).
    pub async fn remaining_stdout(&mut self) -> String {
        let mut rest = String::new();
        tokio::time::timeout(STEP, self.stdout.read_to_string(&mut rest)).await.unwrap().unwrap();
        rest
    }
}

fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Command, PathBuf) {
    let stderr_path = dir.join("stderr.log");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_terraform-provider-autopilot"));
    cmd.args(args)
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .env_remove("PLUGIN_CLIENT_CERT")
        .env("PLUGIN_UNIX_SOCKET_DIR", dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true);
    (cmd, stderr_path)
}

/// Start the plugin as Terraform does; `client_cert_pem` turns AutoMTLS on.
pub async fn start_plugin(client_cert_pem: Option<&str>, env: &[(&str, &str)]) -> Plugin {
    let dir = tempfile::tempdir().unwrap();
    let mut all_env = vec![("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE), ("PLUGIN_PROTOCOL_VERSIONS", "5,6")];
    if let Some(pem) = client_cert_pem {
        all_env.push(("PLUGIN_CLIENT_CERT", pem));
    }
    all_env.extend_from_slice(env);
    let (mut cmd, stderr_path) = command(dir.path(), &[], &all_env);
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(STEP, stdout.read_line(&mut line)).await.unwrap().unwrap();
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "handshake line {line:?}");
    assert_eq!(&fields[..3], ["1", "6", "unix"], "handshake line {line:?}");
    assert_eq!(fields[4], "grpc");
    let socket = PathBuf::from(fields[3]);
    assert!(socket.starts_with(dir.path()), "socket {socket:?} outside PLUGIN_UNIX_SOCKET_DIR");
    let server_cert = match fields[5] {
        "" => None,
        cert => Some(CertificateDer::from(STANDARD_NO_PAD.decode(cert).unwrap())),
    };
    assert_eq!(server_cert.is_some(), client_cert_pem.is_some(), "server certificate only with AutoMTLS");
    Plugin { child, socket, server_cert, stdout, stderr_path, dir }
}

/// Start `--debug` mode and read the socket from the printed `TF_REATTACH_PROVIDERS`.
pub async fn start_debug_plugin() -> (Plugin, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let (mut cmd, stderr_path) = command(dir.path(), &["--debug"], &[]);
    cmd.env_remove("TF_PLUGIN_MAGIC_COOKIE");
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let reattach = loop {
        let mut line = String::new();
        let read = tokio::time::timeout(STEP, stdout.read_line(&mut line)).await.unwrap().unwrap();
        assert!(read > 0, "debug mode printed no TF_REATTACH_PROVIDERS line");
        if let Some(rest) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
            break serde_json::from_str::<serde_json::Value>(rest.trim_end_matches('\'')).unwrap();
        }
    };
    let addr = &reattach["registry.terraform.io/autopilot/autopilot"]["Addr"];
    assert_eq!(addr["Network"], "unix");
    let socket = PathBuf::from(addr["String"].as_str().unwrap());
    (Plugin { child, socket, server_cert: None, stdout, stderr_path, dir }, reattach)
}

/// Trusts exactly the certificate from the handshake line, as go-plugin's client does.
#[derive(Debug)]
struct PinnedServer(CertificateDer<'static>);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("unexpected server certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
    }
}

/// An HTTP/2 connection as a tower service, which is what tonic's generated clients take.
#[derive(Clone)]
pub struct H2(hyper::client::conn::http2::SendRequest<tonic::body::Body>);

impl Service<http::Request<tonic::body::Body>> for H2 {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}

async fn http2<IO>(io: IO) -> Result<H2, String>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (send, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(H2(send))
}

/// Connect as go-plugin does: TLS when the plugin announced a certificate (presenting
/// `identity`, if given), plaintext otherwise.
pub async fn connect(plugin: &Plugin, identity: Option<&ClientIdentity>) -> Result<H2, String> {
    let stream = UnixStream::connect(&plugin.socket).await.map_err(|e| e.to_string())?;
    let Some(server_cert) = &plugin.server_cert else {
        return http2(stream).await;
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer(server_cert.clone())));
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(
                vec![id.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), stream)
        .await
        .map_err(|e| e.to_string())?;
    http2(tls).await
}

/// The origin tonic clients put in request URIs (HTTP/2 needs scheme and authority).
pub fn origin() -> http::Uri {
    http::Uri::from_static("http://localhost")
}

/// Connect and call GetMetadata; any failure along the way is returned as text.
pub async fn get_metadata(
    plugin: &Plugin,
    identity: Option<&ClientIdentity>,
) -> Result<get_metadata::Response, String> {
    let call = async {
        let h2 = connect(plugin, identity).await?;
        let mut client = ProviderClient::with_origin(h2, origin());
        client
            .get_metadata(get_metadata::Request {})
            .await
            .map(tonic::Response::into_inner)
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(STEP, call).await.map_err(|_| "timed out".to_owned())?
}

/// Send a signal to the plugin process (`kill -INT <pid>`).
pub fn signal(plugin: &Plugin, name: &str) {
    let pid = plugin.child.id().expect("plugin already exited").to_string();
    let status = std::process::Command::new("kill").arg(format!("-{name}")).arg(pid).status().unwrap();
    assert!(status.success());
}
