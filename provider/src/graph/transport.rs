//! Our one HTTP stack: reqwest on rustls with the ring provider, shared by Graph calls and by
//! `azure_identity` (through [`AzureTransport`]) so there is one connection pool and one set of
//! trusted roots per client.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::http::{AsyncRawResponse, HttpClient, Request as AzRequest};
use futures::TryStreamExt;

use super::config::GraphConfig;
use super::error::{Error, ErrorKind, Result};

/// Makes ring the process-wide rustls provider. reqwest is built without one (no aws-lc) and
/// panics when building a client if none is installed; call this before any `reqwest::Client`.
pub fn install_crypto_provider() {
    // An Err only means a provider is already installed (ours is the only one compiled in).
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds the reqwest client for `config`: system roots plus the PEM roots of
/// `ca_certificate_file`, proxies from `HTTPS_PROXY`/`NO_PROXY`, HTTP/2 via ALPN, no redirects.
pub fn build_http_client(config: &GraphConfig) -> Result<reqwest::Client> {
    install_crypto_provider();

    let mut builder = reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        // Never follow redirects: the access token must only reach the configured host.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_keepalive(Duration::from_secs(60))
        // A stalled answer surfaces as an error instead of hanging until the call deadline.
        .read_timeout(Duration::from_secs(120));
    if let Some(path) = &config.ca_certificate_file {
        builder = builder.tls_certs_merge(load_pem_roots(path)?);
    }
    builder.build().map_err(|e| Error::new(ErrorKind::Config, format!("cannot build the HTTP client: {e}")))
}

/// Reads the extra trusted roots (PEM, one or more certificates).
fn load_pem_roots(path: &Path) -> Result<Vec<reqwest::Certificate>> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::new(ErrorKind::Config, format!("cannot read ca_certificate_file {}: {e}", path.display()))
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&bytes).map_err(|e| {
        Error::new(ErrorKind::Config, format!("ca_certificate_file {} is not valid PEM: {e}", path.display()))
    })?;
    if certs.is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("ca_certificate_file {} contains no PEM certificate", path.display()),
        ));
    }
    Ok(certs)
}

/// A reqwest error with its causes (reqwest's own Display stops at the first level).
pub fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Lends our reqwest client to `azure_identity` (its own reqwest support is disabled to avoid a
/// second TLS stack).
#[derive(Clone)]
pub struct AzureTransport(pub reqwest::Client);

impl fmt::Debug for AzureTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AzureTransport")
    }
}

#[async_trait]
impl HttpClient for AzureTransport {
    async fn execute_request(&self, request: &AzRequest) -> azure_core::Result<AsyncRawResponse> {
        use azure_core::error::{Error as AzError, ErrorKind as AzKind};

        let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
            .map_err(|e| AzError::with_error(AzKind::Other, e, "unsupported HTTP method"))?;
        let mut req = self.0.request(method, request.url().as_str());
        for (name, value) in request.headers().iter() {
            req = req.header(name.as_str(), value.as_str());
        }
        req = match request.body() {
            azure_core::http::Body::Bytes(b) => req.body(b.clone()),
            // Token requests are small forms; azure_identity never streams them.
            _ => {
                return Err(AzError::with_message(
                    AzKind::Other,
                    "streaming request bodies are not supported",
                ));
            }
        };
        let rsp = req.send().await.map_err(|e| {
            let kind = if e.is_connect() { AzKind::Connection } else { AzKind::Io };
            let message = format!("request to the identity endpoint failed: {}", describe(&e));
            AzError::with_error(kind, e, message)
        })?;
        let status = rsp.status().as_u16();
        let mut headers = azure_core::http::headers::Headers::new();
        for (k, v) in rsp.headers() {
            if let Ok(v) = v.to_str() {
                headers.insert(k.as_str().to_owned(), v.to_owned());
            }
        }
        let body = rsp
            .bytes_stream()
            .map_err(|e| AzError::with_error(AzKind::Io, e, "reading the identity response failed"));
        Ok(AsyncRawResponse::new(status.into(), headers, Box::pin(body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::config::Credential;

    fn config(ca: Option<std::path::PathBuf>) -> GraphConfig {
        GraphConfig {
            tenant_id: "t".into(),
            credential: Credential::AzureCli,
            graph_endpoint: url::Url::parse("https://graph.microsoft.com").unwrap_or_else(|_| unreachable!()),
            authority_host: url::Url::parse("https://login.microsoftonline.com")
                .unwrap_or_else(|_| unreachable!()),
            ca_certificate_file: ca,
            user_agent: "test".into(),
        }
    }

    #[test]
    fn extra_roots_must_be_pem_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = build_http_client(&config(Some(missing))).err().unwrap();
        assert_eq!(err.kind, ErrorKind::Config);
        assert!(err.message.contains("cannot read ca_certificate_file"), "{err}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let err = build_http_client(&config(Some(empty))).err().unwrap();
        assert!(err.message.contains("no PEM certificate"), "{err}");

        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, cert.cert.pem()).unwrap();
        assert!(build_http_client(&config(Some(good))).is_ok());
        assert!(build_http_client(&config(None)).is_ok());
    }
}
