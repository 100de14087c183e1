//! Starts the real provider binary as Terraform does (go-plugin environment, AutoMTLS)
//! and talks gRPC to it over its Unix socket: the pinned client certificate gets in,
//! no certificate or another certificate does not.

// Test helpers may panic: a panic is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tokio_rustls::TlsConnector;
use tonic::codegen::{Service, http};

use tfproto::plugin::grpc_controller_client::GrpcControllerClient;
use tfproto::tfplugin6::provider_client::ProviderClient;
use tfproto::tfplugin6::{get_metadata, get_provider_schema};

const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const STEP: Duration = Duration::from_secs(20);

/// A client certificate and its key, as Terraform would make for AutoMTLS.
struct ClientIdentity {
    pem: String,
    der: CertificateDer<'static>,
    key: Vec<u8>,
}

fn client_identity() -> ClientIdentity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
    ClientIdentity { pem: cert.pem(), der: cert.der().clone(), key: key.serialize_der() }
}

/// The running plugin and what its handshake line told us.
struct Plugin {
    child: Child,
    socket: PathBuf,
    server_cert: CertificateDer<'static>,
    _dir: tempfile::TempDir,
}

async fn start_plugin(client_cert_pem: &str) -> Plugin {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_terraform-provider-autopilot"))
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_UNIX_SOCKET_DIR", dir.path())
        .env("PLUGIN_CLIENT_CERT", client_cert_pem)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(STEP, BufReader::new(stdout).read_line(&mut line)).await.unwrap().unwrap();
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "handshake line {line:?}");
    assert_eq!(&fields[..3], ["1", "6", "unix"], "handshake line {line:?}");
    assert_eq!(fields[4], "grpc");
    let socket = PathBuf::from(fields[3]);
    assert!(socket.starts_with(dir.path()), "socket {socket:?} outside PLUGIN_UNIX_SOCKET_DIR");
    let server_cert = CertificateDer::from(STANDARD_NO_PAD.decode(fields[5]).unwrap());
    Plugin { child, socket, server_cert, _dir: dir }
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
struct H2(hyper::client::conn::http2::SendRequest<tonic::body::Body>);

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

/// Connect over the socket with TLS (optionally presenting `identity`) and HTTP/2.
async fn connect(plugin: &Plugin, identity: Option<&ClientIdentity>) -> Result<H2, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer(plugin.server_cert.clone())));
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
    let stream = UnixStream::connect(&plugin.socket).await.map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), stream)
        .await
        .map_err(|e| e.to_string())?;
    let (send, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(H2(send))
}

fn origin() -> http::Uri {
    http::Uri::from_static("http://localhost")
}

/// Connect and call GetMetadata; any failure along the way is returned as text.
async fn get_metadata(
    plugin: &Plugin,
    identity: Option<&ClientIdentity>,
) -> Result<get_metadata::Response, String> {
    let h2 = connect(plugin, identity).await?;
    let mut client = ProviderClient::with_origin(h2, origin());
    client
        .get_metadata(get_metadata::Request {})
        .await
        .map(tonic::Response::into_inner)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn pinned_client_certificate_is_served_and_shutdown_stops_the_process() {
    let identity = client_identity();
    let mut plugin = start_plugin(&identity.pem).await;

    let metadata = tokio::time::timeout(STEP, get_metadata(&plugin, Some(&identity))).await.unwrap().unwrap();
    let capabilities = metadata.server_capabilities.unwrap();
    assert!(capabilities.plan_destroy);
    assert!(!capabilities.move_resource_state);

    let h2 = connect(&plugin, Some(&identity)).await.unwrap();
    let schema = ProviderClient::with_origin(h2.clone(), origin())
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let provider_block = schema.provider.unwrap().block.unwrap();
    assert!(provider_block.attributes.iter().any(|a| a.name == "tenant_id" && !a.description.is_empty()));

    GrpcControllerClient::with_origin(h2, origin()).shutdown(tfproto::plugin::Empty {}).await.unwrap();
    let status = tokio::time::timeout(STEP, plugin.child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "plugin exited with {status}");
    assert!(!Path::new(&plugin.socket).exists(), "socket file left behind");
}

#[tokio::test]
async fn connection_without_client_certificate_is_refused() {
    let identity = client_identity();
    let plugin = start_plugin(&identity.pem).await;
    let result = tokio::time::timeout(STEP, get_metadata(&plugin, None)).await.unwrap();
    assert!(result.is_err(), "a client without certificate was served: {result:?}");
    // The plugin still serves the right client afterwards.
    tokio::time::timeout(STEP, get_metadata(&plugin, Some(&identity))).await.unwrap().unwrap();
}

#[tokio::test]
async fn connection_with_another_certificate_is_refused() {
    let expected = client_identity();
    let intruder = client_identity();
    let plugin = start_plugin(&expected.pem).await;
    let result = tokio::time::timeout(STEP, get_metadata(&plugin, Some(&intruder))).await.unwrap();
    assert!(result.is_err(), "a client with another certificate was served: {result:?}");
}

#[tokio::test]
async fn refuses_to_run_without_the_magic_cookie() {
    let output = Command::new(env!("CARGO_BIN_EXE_terraform-provider-autopilot"))
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(STEP, output).await.unwrap().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing may be written to stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not meant to be run directly"), "stderr: {stderr}");
}
