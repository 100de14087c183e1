//! Access tokens: the credential chosen by the provider configuration, carried out with
//! `azure_identity` over our transport, behind one cache per client.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::{
    ClientMethodOptions, ClientOptions, ExponentialRetryOptions, RetryOptions, Transport,
};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertion, ClientAssertionCredential,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::certificate::ClientCertificate;
use super::config::{CertificateSource, Credential, GraphConfig, OidcSource, Secret};
use super::cx::CallCx;
use super::error::{Error, ErrorKind, Result};
use super::transport::AzureTransport;

/// Refresh this long before a token expires, so no request carries a token about to lapse.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A bearer token and when it stops being valid. `Debug` redacts the token.
#[derive(Clone)]
pub struct AccessToken {
    pub token: Secret,
    pub expires_at: Instant,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &self.token)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Something that can fetch a fresh token (a real credential, or a fake in tests).
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// Fetches a new token; called only when the cache has none that is fresh enough.
    async fn fetch(&self) -> Result<AccessToken>;
}

/// One cached token per client. Concurrent callers that find it stale wait for a single refresh.
#[derive(Debug)]
pub struct TokenCache {
    source: Arc<dyn TokenSource>,
    current: Mutex<Option<AccessToken>>,
}

impl TokenCache {
    pub fn new(source: Arc<dyn TokenSource>) -> Self {
        Self { source, current: Mutex::new(None) }
    }

    /// A token valid for at least the refresh margin (or the freshest the source gives).
    pub async fn get(&self, cx: &CallCx) -> Result<Secret> {
        // Holding the lock across the fetch is what makes concurrent callers share one refresh.
        let mut current = cx.run(self.current.lock()).await?;
        if let Some(t) = current.as_ref()
            && t.expires_at.saturating_duration_since(Instant::now()) > REFRESH_MARGIN
        {
            return Ok(t.token.clone());
        }
        let fresh = cx.run(self.source.fetch()).await??;
        let token = fresh.token.clone();
        *current = Some(fresh);
        Ok(token)
    }

    /// Drops `rejected` (after a 401) so the next `get` fetches a new token.
    pub async fn invalidate(&self, rejected: &Secret) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|t| &t.token == rejected) {
            *current = None;
        }
    }
}

/// The OAuth scope for Graph at `graph_endpoint`.
pub fn graph_scope(config: &GraphConfig) -> String {
    format!("{}/.default", config.graph_endpoint.as_str().trim_end_matches('/'))
}

/// Builds the token source for the configured credential. Reads certificate files now (so a bad
/// file is reported once, clearly) but requests no token.
pub fn credential_source(config: &GraphConfig, http: reqwest::Client) -> Result<Arc<dyn TokenSource>> {
    if config.authority_host.scheme() != "https" {
        return Err(Error::new(ErrorKind::Config, "authority_host must be an https:// URL"));
    }
    let method = config.credential.method_name();
    let tenant = config.tenant_id.clone();
    let client_options = || ClientOptions {
        transport: Some(Transport::new(Arc::new(AzureTransport(http.clone())))),
        cloud: Some(Arc::new(
            {
                let mut c = azure_core::cloud::CustomConfiguration::default();
                c.authority_host = config.authority_host.as_str().trim_end_matches('/').to_owned();
                c
            }
            .into(),
        )),
        // Few, quick retries: a wrong CA file or proxy must surface as itself, not as the
        // caller's deadline expiring behind minutes of back-off.
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            max_retries: 3,
            max_total_elapsed: azure_core::time::Duration::seconds(20),
            ..ExponentialRetryOptions::default()
        }),
        ..ClientOptions::default()
    };
    let cred: Arc<dyn TokenCredential> = match &config.credential {
        Credential::ClientSecret { client_id, secret } => {
            let options = ClientSecretCredentialOptions { client_options: client_options() };
            ClientSecretCredential::new(
                &tenant,
                client_id.clone(),
                azure_core::credentials::Secret::new(secret.expose().to_owned()),
                Some(options),
            )
            .map_err(|e| auth_error(method, &e))?
        }
        Credential::ClientCertificate { client_id, source, password } => {
            let audience = token_endpoint(config)?;
            let assertion = CertificateAssertion::load(client_id, audience, source, password.as_ref())?;
            let options = ClientAssertionCredentialOptions { client_options: client_options() };
            ClientAssertionCredential::new(tenant, client_id.clone(), assertion, Some(options))
                .map_err(|e| auth_error(method, &e))?
        }
        Credential::Oidc { client_id, source } => {
            let assertion = OidcAssertion { source: source.clone(), http: http.clone() };
            let options = ClientAssertionCredentialOptions { client_options: client_options() };
            ClientAssertionCredential::new(tenant, client_id.clone(), assertion, Some(options))
                .map_err(|e| auth_error(method, &e))?
        }
        Credential::ManagedIdentity { client_id } => {
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                client_options: client_options(),
            };
            ManagedIdentityCredential::new(Some(options)).map_err(|e| auth_error(method, &e))?
        }
        Credential::AzureCli => {
            let options = AzureCliCredentialOptions { tenant_id: Some(tenant), ..Default::default() };
            AzureCliCredential::new(Some(options)).map_err(|e| auth_error(method, &e))?
        }
    };
    Ok(Arc::new(AzureTokenSource { cred, scope: graph_scope(config), method }))
}

/// `<authority>/<tenant>/oauth2/v2.0/token`, the audience of certificate assertions.
fn token_endpoint(config: &GraphConfig) -> Result<String> {
    Ok(format!(
        "{}/{}/oauth2/v2.0/token",
        config.authority_host.as_str().trim_end_matches('/'),
        super::odata::path_segment(&config.tenant_id)
    ))
}

/// An `azure_identity` credential asked for the Graph scope.
struct AzureTokenSource {
    cred: Arc<dyn TokenCredential>,
    scope: String,
    method: &'static str,
}

impl fmt::Debug for AzureTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureTokenSource").field("method", &self.method).field("scope", &self.scope).finish()
    }
}

#[async_trait]
impl TokenSource for AzureTokenSource {
    async fn fetch(&self) -> Result<AccessToken> {
        let t = self
            .cred
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|e| auth_error(self.method, &e))?;
        let left = t.expires_on - time::OffsetDateTime::now_utc();
        let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
        tracing::debug!(method = self.method, expires_in_s = left.as_secs(), "acquired Graph access token");
        Ok(AccessToken { token: Secret::new(t.token.secret().to_owned()), expires_at: Instant::now() + left })
    }
}

/// Converts an `azure_identity` failure, keeping Entra's AADSTS code and description (Entra never
/// echoes the secret back; the credential types never put it in errors).
fn auth_error(method: &str, e: &azure_core::Error) -> Error {
    // azure_core wraps the cause (e.g. "retry policy expired" around a TLS error): keep the chain.
    let mut text = one_line(&e.to_string());
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let line = one_line(&c.to_string());
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        cause = c.source();
    }
    let mut err = Error::new(ErrorKind::Auth, format!("{method} authentication failed: {text}"));
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = cur {
        if let Some(az) = x.downcast_ref::<azure_core::Error>()
            && let azure_core::error::ErrorKind::HttpResponse { status, error_code, .. } = az.kind()
        {
            err.status = Some(u16::from(*status));
            err.code = error_code.as_ref().map(|c| {
                if c.chars().all(|ch| ch.is_ascii_digit() || ch == ',') {
                    format!("AADSTS{c}")
                } else {
                    c.clone()
                }
            });
            break;
        }
        cur = x.source();
    }
    err
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn az_error(message: String) -> azure_core::Error {
    azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
}

/// OIDC (workload identity federation): the assertion is an external token, fetched anew for
/// every token request because it may have been rotated (files) or be short-lived (GitHub).
struct OidcAssertion {
    source: OidcSource,
    http: reqwest::Client,
}

impl fmt::Debug for OidcAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcAssertion").field("source", &self.source).finish()
    }
}

#[async_trait]
impl ClientAssertion for OidcAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        match &self.source {
            OidcSource::Token(t) => Ok(t.expose().to_owned()),
            OidcSource::TokenFile(path) => tokio::fs::read_to_string(path)
                .await
                .map(|s| s.trim().to_owned())
                .map_err(|e| az_error(format!("cannot read OIDC token file {}: {e}", path.display()))),
            OidcSource::Request { url, token } => github_style_token(&self.http, url, token).await,
        }
    }
}

/// GitHub Actions' (and compatible) ID-token endpoint: `GET <url>&audience=...` with a bearer
/// request token, answering `{"value": "<jwt>"}`.
async fn github_style_token(http: &reqwest::Client, url: &str, token: &Secret) -> azure_core::Result<String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        value: String,
    }
    let mut url = url::Url::parse(url).map_err(|e| az_error(format!("invalid OIDC request URL: {e}")))?;
    if !url.query_pairs().any(|(k, _)| k == "audience") {
        url.query_pairs_mut().append_pair("audience", "api://AzureADTokenExchange");
    }
    let rsp = http
        .get(url)
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(|e| az_error(format!("OIDC token request failed: {e}")))?;
    let status = rsp.status();
    if !status.is_success() {
        return Err(az_error(format!("OIDC token request failed with HTTP {status}")));
    }
    let answer: Answer = rsp
        .json()
        .await
        .map_err(|e| az_error(format!("OIDC token response is not {{\"value\": ...}}: {e}")))?;
    Ok(answer.value)
}

/// Client-certificate authentication: a JWT assertion (RS256, `x5t#S256` header) signed with the
/// certificate's private key, made fresh for each token request.
struct CertificateAssertion {
    client_id: String,
    audience: String,
    key: Arc<dyn rustls::sign::SigningKey>,
    thumbprint_s256: String,
}

impl fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("client_id", &self.client_id)
            .field("thumbprint_s256", &self.thumbprint_s256)
            .finish_non_exhaustive()
    }
}

impl CertificateAssertion {
    fn load(
        client_id: &str,
        audience: String,
        source: &CertificateSource,
        password: Option<&Secret>,
    ) -> Result<Self> {
        let cert = ClientCertificate::load(source, password).map_err(|e| cert_error(e.to_string()))?;
        let thumbprint_s256 = URL_SAFE_NO_PAD.encode(Sha256::digest(cert.certificate().as_ref()));
        Ok(Self { client_id: client_id.to_owned(), audience, key: cert.key().clone(), thumbprint_s256 })
    }

    fn jwt(&self) -> std::result::Result<String, String> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t#S256": self.thumbprint_s256});
        let claims = serde_json::json!({
            "aud": self.audience,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signer = self
            .key
            .choose_scheme(&[rustls::SignatureScheme::RSA_PKCS1_SHA256])
            .ok_or_else(|| "the private key cannot sign RS256".to_owned())?;
        let sig = signer
            .sign(signing_input.as_bytes())
            .map_err(|e| format!("signing the assertion failed: {e}"))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.jwt().map_err(az_error)
    }
}

fn cert_error(message: String) -> Error {
    Error::new(ErrorKind::Config, format!("client certificate: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Counts fetches; each token lives `ttl`.
    #[derive(Debug)]
    struct Counting {
        fetches: AtomicU32,
        ttl: Duration,
    }

    #[async_trait]
    impl TokenSource for Counting {
        async fn fetch(&self) -> Result<AccessToken> {
            let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::task::yield_now().await;
            Ok(AccessToken {
                token: Secret::new(format!("token-{n}")),
                expires_at: Instant::now() + self.ttl,
            })
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_stale_tokens_refresh() {
        let src = Arc::new(Counting { fetches: AtomicU32::new(0), ttl: Duration::from_secs(3600) });
        let cache = Arc::new(TokenCache::new(src.clone()));
        let cx = CallCx::background();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (cache, cx) = (cache.clone(), cx.clone());
                tokio::spawn(async move { cache.get(&cx).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().expose(), "token-1");
        }
        assert_eq!(src.fetches.load(Ordering::SeqCst), 1);

        // A token inside the refresh margin is replaced.
        let short = Arc::new(Counting { fetches: AtomicU32::new(0), ttl: Duration::from_secs(60) });
        let cache = TokenCache::new(short.clone());
        assert_eq!(cache.get(&cx).await.unwrap().expose(), "token-1");
        assert_eq!(cache.get(&cx).await.unwrap().expose(), "token-2");

        // Invalidation after a 401 forces a new fetch; invalidating an old token does nothing.
        let cache = TokenCache::new(src.clone());
        let t = cache.get(&cx).await.unwrap();
        cache.invalidate(&Secret::new("other")).await;
        assert_eq!(cache.get(&cx).await.unwrap(), t);
        cache.invalidate(&t).await;
        assert_ne!(cache.get(&cx).await.unwrap(), t);
    }

    #[test]
    fn certificate_assertion_is_a_signed_rs256_jwt() {
        use base64::engine::general_purpose::STANDARD;
        // ring cannot generate RSA keys, so the tests use a fixed throw-away key.
        let key = rcgen::KeyPair::from_pem(include_str!("testdata/rsa_test_key.pem")).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".into()]).unwrap().self_signed(&key).unwrap();
        let bundle = format!("{}\n{}", cert.pem(), key.serialize_pem());
        let src = CertificateSource::Base64(Secret::new(STANDARD.encode(&bundle)));
        let a = CertificateAssertion::load("app", "https://login/t/oauth2/v2.0/token".into(), &src, None)
            .unwrap();
        let jwt = a.jwt().unwrap();
        let parts: Vec<_> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5t#S256"], URL_SAFE_NO_PAD.encode(Sha256::digest(cert.der().as_ref())));
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://login/t/oauth2/v2.0/token");
        assert_eq!(claims["iss"], "app");
        assert_eq!(claims["sub"], "app");
        // The signature verifies under the certificate's public key.
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert!(crate::graph::certificate::verify_rs256(cert.der(), signing_input.as_bytes(), &sig));
        assert!(!crate::graph::certificate::verify_rs256(cert.der(), b"other", &sig));
        // Debug never shows key material.
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }

    #[test]
    fn certificate_errors_name_the_certificate_and_hide_the_input() {
        let src = CertificateSource::Base64(Secret::new("%%%not base64"));
        let err = CertificateAssertion::load("app", "aud".into(), &src, None).err().unwrap();
        assert_eq!(err.kind, ErrorKind::Config);
        assert!(err.message.starts_with("client certificate: "), "{err}");
        assert!(!err.to_string().contains("%%%not"), "{err}");
    }

    fn http() -> reqwest::Client {
        crate::graph::transport::install_crypto_provider();
        reqwest::Client::new()
    }

    #[tokio::test]
    async fn oidc_token_file_is_re_read_for_every_assertion() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "first.jwt\n").unwrap();
        let a = OidcAssertion { source: OidcSource::TokenFile(file.clone()), http: http() };
        assert_eq!(a.secret(None).await.unwrap(), "first.jwt");
        std::fs::write(&file, "rotated.jwt").unwrap();
        assert_eq!(a.secret(None).await.unwrap(), "rotated.jwt");
        let a = OidcAssertion { source: OidcSource::Token(Secret::new("inline.jwt")), http: http() };
        assert_eq!(a.secret(None).await.unwrap(), "inline.jwt");
        assert!(!format!("{a:?}").contains("inline.jwt"));
    }

    #[tokio::test]
    async fn oidc_request_url_asks_for_the_entra_audience() {
        use wiremock::matchers::{header, method, path, query_param};
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(method("GET"))
            .and(path("/token"))
            .and(query_param("api-version", "2.0"))
            .and(query_param("audience", "api://AzureADTokenExchange"))
            .and(header("authorization", "Bearer request-token"))
            .respond_with(
                wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({"value":"gh.jwt"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let source = OidcSource::Request {
            url: format!("{}/token?api-version=2.0", server.uri()),
            token: Secret::new("request-token"),
        };
        let a = OidcAssertion { source, http: http() };
        assert_eq!(a.secret(None).await.unwrap(), "gh.jwt");
        server.verify().await;

        // A failing endpoint yields an error without the request token.
        let bad = OidcAssertion {
            source: OidcSource::Request {
                url: format!("{}/nope", server.uri()),
                token: Secret::new("request-token"),
            },
            http: http(),
        };
        let err = bad.secret(None).await.unwrap_err().to_string();
        assert!(err.contains("HTTP 404") && !err.contains("request-token"), "{err}");
    }
}
