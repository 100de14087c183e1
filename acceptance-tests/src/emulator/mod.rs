//! A strict, in-memory Microsoft Graph emulator (HTTPS only) for end-to-end tests.
//!
//! * [`app`] builds the axum `Router` (usable in-process with `tower::ServiceExt::oneshot`).
//! * [`start`] serves it over TLS on a loopback port with a freshly generated CA.
//!
//! Module map: `store` (tenant objects + consistency lag), `odata` (query options, paging),
//! `shaping` (`$expand`, `$orderby`), `validate` (strict bodies), `conformance` (metadata-driven
//! body checks), `errors` (Graph error bodies), `auth` (token endpoint, bearer
//! tokens, permissions), `faults`, `pipeline` (per-request middleware), `request_log`,
//! `control` (`/_emulator/`), `fixtures`, `tls`, `routes/*` (one module per entity family).

pub mod auth;
pub mod conformance;
pub mod control;
pub mod errors;
pub mod faults;
pub mod fixtures;
pub mod odata;
pub mod pipeline;
pub mod request_log;
pub mod routes;
pub mod shaping;
pub mod state;
pub mod store;
pub mod tls;
pub mod validate;

#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use self::pipeline::DropConnection;
pub use self::state::{
    AppState, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, EmulatorConfig,
};

/// The whole emulator as a router: control API, token endpoint, Graph routes.
pub fn app(state: AppState) -> Router {
    let graph = routes::graph_router(state.clone());
    let normalized = tower::util::MapRequest::new(graph, normalize_request);
    Router::new()
        .nest("/_emulator", control::routes())
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(auth::token).layer(from_fn_with_state(state.clone(), pipeline::token_pipeline)),
        )
        .fallback_service(normalized)
        .with_state(state)
}

fn normalize_request(mut req: Request) -> Request {
    let original = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let normalized = normalize_path_and_query(&original);
    if req.extensions().get::<pipeline::OriginalPath>().is_none() {
        req.extensions_mut().insert(pipeline::OriginalPath(original.clone()));
    }
    if normalized != original
        && let Ok(uri) = normalized.parse()
    {
        *req.uri_mut() = uri;
    }
    req
}

/// Rewrites OData key segments so the router can match them: `groups('id')` → `groups/id`,
/// `servicePrincipals(appId='x')` → `servicePrincipals/(appId='x')`.
pub fn normalize_path_and_query(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let segments: Vec<String> = path
        .split('/')
        .map(|segment| {
            let decoded = segment
                .replace("%27", "'")
                .replace("%28", "(")
                .replace("%29", ")")
                .replace("%3D", "=")
                .replace("%3d", "=");
            match decoded.split_once('(') {
                Some((name, rest)) if !name.is_empty() && rest.ends_with(')') && !name.starts_with('$') => {
                    let inner = &rest[..rest.len() - 1];
                    if inner.contains('=') {
                        format!("{name}/({inner})")
                    } else {
                        format!("{name}/{}", inner.trim_matches('\''))
                    }
                }
                _ => segment.to_owned(),
            }
        })
        .collect();
    let path = segments.join("/");
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    }
}

/// Current UTC time, RFC 3339 with seconds (`2026-11-26T10:00:00Z`).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    now.format(&format).unwrap_or_default()
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// How to run a listening emulator.
#[derive(Clone, Debug)]
pub struct EmulatorOptions {
    /// Must be a loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    pub config: EmulatorConfig,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 0)), config: EmulatorConfig::default() }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("refusing to listen on non-loopback address {0}: the emulator is for local tests only")]
    NotLoopback(SocketAddr),
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("binding or writing the CA file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A running HTTPS emulator; stops when dropped.
#[derive(Debug)]
pub struct RunningEmulator {
    /// `https://127.0.0.1:PORT` (Graph base without version; also the token authority host).
    pub url: String,
    /// File holding the CA certificate (PEM) to trust.
    pub ca_pem_path: PathBuf,
    /// The CA certificate (PEM).
    pub ca_pem: String,
    /// The state behind the server (for in-process inspection).
    pub state: AppState,
    _ca_file: tempfile::TempPath,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Why a connection is closed without a response: hyper then closes it (HTTP/1.1) or resets
/// the stream (HTTP/2) without sending anything.
#[derive(Debug, thiserror::Error)]
enum NoResponse {
    /// The response was deliberately lost (fault injection).
    #[error("response deliberately dropped by the emulator")]
    Lost,
    /// The handler task panicked (an emulator bug).
    #[error("the request handler failed: {0}")]
    HandlerFailed(#[from] tokio::task::JoinError),
}

/// Binds, generates TLS material, writes the CA file and serves until stopped.
pub async fn start(options: EmulatorOptions) -> Result<RunningEmulator, StartError> {
    if !options.listen.ip().is_loopback() {
        return Err(StartError::NotLoopback(options.listen));
    }
    let tls = tls::generate()?;
    let listener = TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;
    let url = format!("https://{addr}");
    let state = AppState::new(EmulatorConfig { base_url: url.clone(), ..options.config })
        .map_err(StartError::Config)?;

    let mut ca_file = tempfile::Builder::new().prefix("graph-emulator-ca-").suffix(".pem").tempfile()?;
    ca_file.write_all(tls.ca_pem.as_bytes())?;
    ca_file.flush()?;
    let ca_file = ca_file.into_temp_path();

    let (shutdown, mut stop) = watch::channel(false);
    let router = app(state.clone());
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config.clone());
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.changed() => break,
            };
            let Ok((tcp, _peer)) = accepted else { continue };
            let acceptor = acceptor.clone();
            let router = router.clone();
            let mut conn_stop = stop.clone();
            tokio::spawn(async move {
                let Ok(Ok(tls_stream)) =
                    tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let router = router.clone();
                        // Graph completes a request whose client hung up (a cancelled create
                        // still creates): the handler runs in its own task, which hyper
                        // cannot cancel by dropping this future when the connection goes away.
                        let handled = tokio::spawn(async move {
                            router
                                .oneshot(req.map(Body::new))
                                .await
                                .unwrap_or_else(|e: Infallible| match e {})
                        });
                        async move {
                            let response = handled.await?;
                            if response.extensions().get::<DropConnection>().is_some() {
                                return Err(NoResponse::Lost);
                            }
                            Ok(response)
                        }
                    });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let conn = builder.serve_connection(TokioIo::new(tls_stream), service);
                tokio::select! {
                    _ = conn => {}
                    _ = conn_stop.changed() => {}
                }
            });
        }
    });
    Ok(RunningEmulator {
        url,
        ca_pem_path: ca_file.to_path_buf(),
        ca_pem: tls.ca_pem,
        state,
        _ca_file: ca_file,
        shutdown,
        task: Some(task),
    })
}
