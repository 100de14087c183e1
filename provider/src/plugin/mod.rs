//! The go-plugin shell: how Terraform starts, finds, authenticates and stops a provider
//! process. It knows nothing about resources; it serves whatever `server` builds.
//!
//! Startup, as HashiCorp's go-plugin expects it:
//! 1. check the magic cookie and the offered protocol versions ([`handshake`]);
//! 2. listen on a Unix socket (or loopback TCP) ([`listener`]);
//! 3. with `PLUGIN_CLIENT_CERT`, serve TLS that accepts only that client certificate ([`tls`]);
//! 4. print the handshake line on stdout, then serve gRPC until `GRPCController.Shutdown`.

pub mod broker;
pub mod controller;
pub mod handshake;
pub mod interrupt;
pub mod listener;
pub mod logging;
pub mod reattach;
pub mod self_signed;
pub mod stdio;
pub mod tls;

use std::io::Write;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

use tfproto::plugin::grpc_broker_server::GrpcBrokerServer;
use tfproto::plugin::grpc_controller_server::GrpcControllerServer;
use tfproto::plugin::grpc_stdio_server::GrpcStdioServer;

use crate::framework::Provider;
use handshake::{HandshakeError, PluginEnv};
use interrupt::Interrupts;
use listener::{Conn, ListenError, PluginListener};
use tls::{AutoMtls, TlsSetupError};

/// How long open streams may keep the process alive after `Shutdown`; go-plugin's client
/// kills the process itself two seconds after asking.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// A client that connects but does not finish the TLS handshake is dropped after this.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the plugin could not serve.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("setting up mTLS: {0}")]
    Tls(#[from] TlsSetupError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("installing the interrupt handler: {0}")]
    Signals(#[source] std::io::Error),
    #[error("writing the handshake line to stdout: {0}")]
    Stdout(#[source] std::io::Error),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serve `provider` to the Terraform process that started us, until Terraform shuts us down.
pub async fn serve<P: Provider>(provider: P) -> Result<(), PluginError> {
    let env = PluginEnv::from_process();
    handshake::check_magic_cookie(&env)?;
    let protocol = handshake::negotiate_protocol(&env)?;
    let tls = env.client_cert.as_deref().map(AutoMtls::new).transpose()?;
    let listener = PluginListener::bind(&env.socket_dir, env.min_port.as_deref(), env.max_port.as_deref())?;
    let line = handshake::handshake_line(
        protocol,
        listener.network(),
        &listener.address(),
        tls.as_ref().map(|t| t.server_cert_der.as_slice()),
    );
    tracing::debug!(network = listener.network(), address = %listener.address(), mtls = tls.is_some(), "plugin listening");
    let shutdown = CancellationToken::new();
    ignore_interrupts()?;
    let acceptor = tls.map(|t| t.acceptor);
    run(provider, listener, acceptor, shutdown, move || print_stdout(&line)).await
}

/// `--debug`: serve without Terraform having started us, print the `TF_REATTACH_PROVIDERS`
/// value, and serve until Ctrl-C (or `Shutdown`).
pub async fn serve_debug<P: Provider>(provider: P) -> Result<(), PluginError> {
    let env = PluginEnv::from_process();
    let listener = PluginListener::bind(&env.socket_dir, env.min_port.as_deref(), env.max_port.as_deref())?;
    let json = reattach::reattach_json(
        handshake::APP_PROTOCOL_VERSION,
        listener.network(),
        &listener.address(),
        std::process::id(),
    );
    let shutdown = CancellationToken::new();
    let mut interrupts = Interrupts::install().map_err(PluginError::Signals)?;
    let on_interrupt = shutdown.clone();
    tokio::spawn(async move {
        if interrupts.next().await.is_some() {
            on_interrupt.cancel();
        }
    });
    run(provider, listener, None, shutdown, move || print_stdout(&reattach::instructions(&json))).await
}

fn print_stdout(text: &str) -> Result<(), PluginError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").and_then(|()| out.flush()).map_err(PluginError::Stdout)
}

/// Terraform forwards Ctrl-C to the whole process group and then stops providers through
/// the protocol (`StopProvider`, `Shutdown`); dying on SIGINT would cut that short.
fn ignore_interrupts() -> Result<(), PluginError> {
    let mut interrupts = Interrupts::install().map_err(PluginError::Signals)?;
    tokio::spawn(async move {
        while interrupts.next().await.is_some() {
            tracing::debug!("ignoring interrupt; Terraform stops the provider through the protocol");
        }
    });
    Ok(())
}

/// Serve the go-plugin services and the provider on `listener` until `shutdown`;
/// `announce` runs once everything is ready to accept connections.
async fn run<P: Provider>(
    provider: P,
    listener: PluginListener,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
    announce: impl FnOnce() -> Result<(), PluginError>,
) -> Result<(), PluginError> {
    let (connections, incoming) = mpsc::channel(16);
    let accepting = tokio::spawn(accept_loop(listener, tls, connections, shutdown.clone()));
    let router = Server::builder()
        .add_service(GrpcControllerServer::new(controller::Controller::new(shutdown.clone())))
        .add_service(GrpcStdioServer::new(stdio::Stdio::new(shutdown.clone())))
        .add_service(GrpcBrokerServer::new(broker::Broker::new(shutdown.clone())))
        .add_service(crate::server::grpc_service(provider));
    let serving = router
        .serve_with_incoming_shutdown(ReceiverStream::new(incoming), shutdown.clone().cancelled_owned());
    tokio::pin!(serving);
    let result = match announce() {
        Ok(()) => tokio::select! {
            result = &mut serving => result.map_err(PluginError::from),
            () = grace_expired(shutdown.clone()) => {
                tracing::debug!("streams still open after shutdown; exiting anyway");
                Ok(())
            }
        },
        Err(e) => Err(e),
    };
    shutdown.cancel();
    // Waiting for the loop drops the listener, which removes the socket file.
    let _ = accepting.await;
    result
}

async fn grace_expired(shutdown: CancellationToken) {
    shutdown.cancelled().await;
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}

/// Accept connections (completing the TLS handshake off the loop) and hand them to tonic.
async fn accept_loop(
    listener: PluginListener,
    tls: Option<TlsAcceptor>,
    connections: mpsc::Sender<Result<Conn, std::io::Error>>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let conn = match accepted {
            Ok(conn) => conn,
            Err(error) => {
                tracing::warn!(%error, "accepting a connection failed");
                // Out of file descriptors and the like: do not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(acceptor) = tls.clone() else {
            if connections.send(Ok(conn)).await.is_err() {
                break;
            }
            continue;
        };
        let connections = connections.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(conn)).await {
                Ok(Ok(stream)) => {
                    let _ = connections.send(Ok(Conn::new(stream))).await;
                }
                Ok(Err(error)) => tracing::warn!(%error, "rejected a connection: TLS handshake failed"),
                Err(_) => tracing::warn!("rejected a connection: TLS handshake timed out"),
            }
        });
    }
}
