//! `GraphClient`: sends one Graph request with auth, pacing, retries and logging.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use url::Url;

use super::auth::{TokenCache, TokenSource, credential_source};
use super::coalesce::Coalescer;
use super::config::GraphConfig;
use super::cx::CallCx;
use super::error::{Error, ErrorKind, Result};
use super::ratelimit::{Limiter, RateLimit, is_intune_write};
use super::retry::{RetryPolicy, is_retryable_status, max_attempts_for, retry_after};
use super::transport::{build_http_client, describe};

/// How long a write already on its way to Graph may still take to answer after the call was
/// cancelled (Terraform's stop): long enough for a slow create, short enough that the user
/// is not kept waiting on a connection that will never answer.
const CANCELLED_WRITE_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Graph API version of a call. One `$batch` targets one version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Api {
    V1,
    Beta,
}

impl Api {
    /// The URL segment (`v1.0` / `beta`).
    pub fn segment(self) -> &'static str {
        match self {
            Api::V1 => "v1.0",
            Api::Beta => "beta",
        }
    }
}

/// Behaviour knobs of a client; defaults suit Microsoft Graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tuning {
    pub retry: RetryPolicy,
    pub rate_limit: RateLimit,
    /// Whether concurrent reads share `$batch` envelopes (see [`super::coalesce`]); on by
    /// default, off only to measure what it saves.
    pub coalesce_reads: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Self { retry: RetryPolicy::default(), rate_limit: RateLimit::default(), coalesce_reads: true }
    }
}

/// One request. Build with [`GraphRequest::new`] and the helpers, send with [`GraphClient::send`].
#[derive(Clone, Debug)]
pub struct GraphRequest {
    pub method: Method,
    pub api: Api,
    /// Path below the version, starting with `/` and possibly carrying a query
    /// (see [`super::odata::Query`]); or an absolute `@odata.nextLink`.
    pub path: String,
    /// Extra headers, e.g. `ConsistencyLevel: eventual`.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<serde_json::Value>,
    /// Whether repeating the request is harmless. Defaults to `method != POST`; set it for POST
    /// actions that replace state (e.g. `/assign`) so dropped connections are retried.
    pub idempotent: bool,
}

impl GraphRequest {
    pub fn new(method: Method, api: Api, path: impl Into<String>) -> Self {
        let idempotent = method != Method::POST;
        Self { method, api, path: path.into(), headers: Vec::new(), body: None, idempotent }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets a JSON body.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        let v = serde_json::to_value(body)
            .map_err(|e| Error::new(ErrorKind::Config, format!("cannot serialise the request body: {e}")))?;
        self.body = Some(v);
        Ok(self)
    }

    /// Marks the request as safe (or unsafe) to repeat.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }
}

/// A successful (2xx) answer, fully read.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Graph's `request-id` header.
    pub request_id: Option<String>,
    /// The `client-request-id` we sent.
    pub client_request_id: String,
}

impl Response {
    /// Decodes the body; an empty body (204) decodes as JSON `null`, so `()` and `Option<T>` work.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) { b"null" } else { &self.body };
        serde_json::from_slice(body).map_err(|e| Error {
            request_id: self.request_id.clone(),
            client_request_id: Some(self.client_request_id.clone()),
            ..Error::new(ErrorKind::InvalidResponse, format!("unexpected response body: {e}"))
        })
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The Microsoft Graph client for one tenant. Cheap to clone; clones share the connection pool,
/// token cache and rate limiter.
#[derive(Clone)]
pub struct GraphClient {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    config: GraphConfig,
    /// Graph base URL without trailing slash.
    endpoint: Url,
    pub(super) tuning: Tuning,
    http: OnceCell<reqwest::Client>,
    tokens: OnceCell<TokenCache>,
    preset_tokens: Option<Arc<dyn TokenSource>>,
    pub(super) limiter: Limiter,
    pub(super) coalescer: Coalescer,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // GraphConfig's Debug redacts secrets (they are `Secret`s).
        f.debug_struct("GraphClient")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    /// Validates `config` and returns a client. Does no I/O: TLS roots, credentials and the first
    /// token are set up on the first request.
    pub fn new(config: GraphConfig) -> Result<Self> {
        Self::with_tuning(config, Tuning::default())
    }

    /// Like [`GraphClient::new`] with non-default retry and pacing.
    pub fn with_tuning(config: GraphConfig, tuning: Tuning) -> Result<Self> {
        for (name, url) in
            [("graph_endpoint", &config.graph_endpoint), ("authority_host", &config.authority_host)]
        {
            if url.scheme() != "https" || url.host_str().is_none() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("{name} must be an https:// URL, got {url}"),
                ));
            }
        }
        Ok(Self::build(config, tuning, None))
    }

    /// A client for tests and emulators: uses `tokens` instead of the configured credential and
    /// also accepts a plain-http `graph_endpoint`, but only on a loopback address.
    pub fn with_token_source(
        config: GraphConfig,
        tuning: Tuning,
        tokens: Arc<dyn TokenSource>,
    ) -> Result<Self> {
        let url = &config.graph_endpoint;
        let loopback = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
        if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("graph_endpoint must be https:// (http only on loopback), got {url}"),
            ));
        }
        Ok(Self::build(config, tuning, Some(tokens)))
    }

    fn build(config: GraphConfig, tuning: Tuning, preset_tokens: Option<Arc<dyn TokenSource>>) -> Self {
        let mut endpoint = config.graph_endpoint.clone();
        let trimmed = endpoint.path().trim_end_matches('/').to_owned();
        endpoint.set_path(&trimmed);
        endpoint.set_query(None);
        endpoint.set_fragment(None);
        let limiter = Limiter::new(tuning.rate_limit.clone());
        let coalescer = Coalescer::new(tuning.coalesce_reads);
        Self {
            inner: Arc::new(Inner {
                config,
                endpoint,
                tuning,
                http: OnceCell::new(),
                tokens: OnceCell::new(),
                preset_tokens,
                limiter,
                coalescer,
            }),
        }
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &GraphConfig {
        &self.inner.config
    }

    async fn http(&self) -> Result<&reqwest::Client> {
        self.inner.http.get_or_try_init(|| async { build_http_client(&self.inner.config) }).await
    }

    async fn tokens(&self) -> Result<&TokenCache> {
        self.inner
            .tokens
            .get_or_try_init(|| async {
                let source = match &self.inner.preset_tokens {
                    Some(s) => s.clone(),
                    None => credential_source(&self.inner.config, self.http().await?.clone())?,
                };
                Ok(TokenCache::new(source))
            })
            .await
    }

    /// The absolute URL for `path` under `api`; absolute URLs (next links) must point at the
    /// configured endpoint.
    pub fn url_for(&self, api: Api, path: &str) -> Result<Url> {
        if path.starts_with("https://") || path.starts_with("http://") {
            let url = Url::parse(path).map_err(|e| {
                Error::new(ErrorKind::InvalidResponse, format!("invalid URL from Graph: {e}"))
            })?;
            self.ensure_trusted(&url)?;
            return Ok(url);
        }
        let sep = if path.starts_with('/') { "" } else { "/" };
        let s =
            format!("{}/{}{sep}{path}", self.inner.endpoint.as_str().trim_end_matches('/'), api.segment());
        Url::parse(&s).map_err(|e| Error::new(ErrorKind::Config, format!("invalid Graph path {path:?}: {e}")))
    }

    /// Refuses any URL whose scheme, host or port differs from the configured Graph endpoint.
    pub fn ensure_trusted(&self, url: &Url) -> Result<()> {
        let e = &self.inner.endpoint;
        if url.scheme() == e.scheme()
            && url.host_str() == e.host_str()
            && url.port_or_known_default() == e.port_or_known_default()
        {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::UntrustedUrl,
            format!(
                "Graph pointed to {} but only {} is trusted with the access token",
                url.origin().ascii_serialization(),
                e.origin().ascii_serialization()
            ),
        ))
    }

    /// Sends `req` with authentication, pacing and retries; returns a 2xx response or an error.
    pub async fn send(&self, cx: &CallCx, req: GraphRequest) -> Result<Response> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        self.send_inner(cx, &req, &client_request_id, None)
            .await
            .map_err(|e| e.with_client_request_id(&client_request_id))
    }

    /// `send`; `intune_writes` overrides how many Intune writes the request counts as (for
    /// `$batch`, whose own path is not an Intune path).
    pub(super) async fn send_inner(
        &self,
        cx: &CallCx,
        req: &GraphRequest,
        client_request_id: &str,
        intune_writes: Option<u32>,
    ) -> Result<Response> {
        cx.check()?;
        let url = self.url_for(req.api, &req.path)?;
        let idempotent = req.idempotent;
        let http = self.http().await?.clone();
        let tokens = self.tokens().await?;
        let policy = &self.inner.tuning.retry;
        let body = match &req.body {
            Some(v) => Some(serde_json::to_vec(v).map_err(|e| {
                Error::new(ErrorKind::Config, format!("cannot serialise the request body: {e}"))
            })?),
            None => None,
        };
        let path_for_limit =
            url.path().strip_prefix(self.inner.endpoint.path()).unwrap_or(url.path()).to_owned();
        let writes = intune_writes.unwrap_or(u32::from(is_intune_write(&req.method, &path_for_limit)));
        let mut reauthenticated = false;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let permit = self.inner.limiter.acquire(cx, writes).await?;
            let token = tokens.get(cx).await?;
            let mut builder =
                http.request(req.method.clone(), url.clone()).header("client-request-id", client_request_id);
            let mut auth = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                .map_err(|_| Error::new(ErrorKind::Auth, "the access token is not a valid header value"))?;
            auth.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, auth);
            for (k, v) in &req.headers {
                let name = HeaderName::try_from(k.as_str())
                    .map_err(|_| Error::new(ErrorKind::Config, format!("invalid header name {k:?}")))?;
                builder = builder.header(name, v.as_str());
            }
            if let Some(b) = &body {
                builder = builder.header(CONTENT_TYPE, "application/json").body(b.clone());
                tracing::trace!(body = %redact_body(b), "Graph request body");
            }

            // A stop that came while waiting for a token or the pacing slot: send nothing.
            cx.check()?;
            let started = Instant::now();
            let exchange = async { read_full(builder.send().await).await };
            let outcome = if idempotent {
                cx.run(exchange).await
            } else {
                // Graph completes a write whose client went away: wait for its answer (and the
                // id of what it created) after a cancellation rather than orphan the object.
                cx.run_write(exchange, CANCELLED_WRITE_GRACE).await
            };
            let outcome = match outcome {
                Ok(o) => o,
                // A POST cut off by the deadline, or whose answer did not come within the grace
                // after a cancellation, may still complete on the server.
                Err(e) if !idempotent && e.kind == ErrorKind::Timeout => {
                    return Err(Error::new(
                        ErrorKind::Ambiguous,
                        "the deadline passed while waiting for the answer",
                    ));
                }
                Err(e) if !idempotent && e.kind == ErrorKind::Cancelled => {
                    return Err(Error::new(
                        ErrorKind::Ambiguous,
                        "cancelled, and the answer did not come within the grace period",
                    ));
                }
                Err(e) => return Err(e),
            };
            // Answered (or failed): the writes start to age out of the pacing window.
            drop(permit);
            let latency_ms = started.elapsed().as_millis();
            let (status, headers, rsp_body) = match outcome {
                Ok(parts) => parts,
                Err(Failure { error, sent }) => {
                    tracing::debug!(method = %req.method, path = url.path(), latency_ms, client_request_id, attempt, error = %error, "Graph request failed");
                    if sent && !idempotent {
                        return Err(Error::new(ErrorKind::Ambiguous, error));
                    }
                    let err = Error::new(ErrorKind::Transport, error);
                    self.wait_before_retry(cx, attempt, policy.max_attempts, None, err, policy).await?;
                    continue;
                }
            };
            let request_id = headers.get("request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
            tracing::debug!(method = %req.method, path = url.path(), status, latency_ms, request_id = request_id.as_deref().unwrap_or(""), client_request_id, attempt, "Graph request");
            tracing::trace!(body = %redact_body(&rsp_body), "Graph response body");

            if (200..300).contains(&status) {
                return Ok(Response {
                    status,
                    headers,
                    body: rsp_body,
                    request_id,
                    client_request_id: client_request_id.to_owned(),
                });
            }
            if (300..400).contains(&status) {
                return Err(self.redirect_error(&url, &headers));
            }
            let err = Error::from_response(status, request_id.as_deref(), &rsp_body);
            if status == 401 && !reauthenticated {
                // The token may have been revoked or rotated early: one retry with a fresh one.
                reauthenticated = true;
                tokens.invalidate(&token).await;
                continue;
            }
            if status == 504 && !idempotent {
                return Err(Error { kind: ErrorKind::Ambiguous, ..err });
            }
            if !is_retryable_status(status, idempotent) {
                return Err(err);
            }
            if status == 429
                && writes > 0
                && let Some(wait) = retry_after(&headers)
            {
                // Someone else spent the app's Intune budget: hold back every writer, not just this one.
                self.inner.limiter.pause_for(wait);
            }
            let max = max_attempts_for(status, policy.max_attempts);
            self.wait_before_retry(cx, attempt, max, retry_after(&headers), err, policy).await?;
        }
    }

    /// Sleeps before attempt `attempt + 1`, or returns `last` if attempts or time have run out.
    async fn wait_before_retry(
        &self,
        cx: &CallCx,
        attempt: u32,
        max_attempts: u32,
        retry_after: Option<std::time::Duration>,
        last: Error,
        policy: &RetryPolicy,
    ) -> Result<()> {
        if attempt >= max_attempts {
            return Err(last);
        }
        let delay = policy.delay(attempt, retry_after);
        if cx.would_exceed(delay) {
            return Err(last);
        }
        tracing::debug!(delay_ms = delay.as_millis(), attempt, status = ?last.status, "retrying Graph request");
        cx.sleep(delay).await
    }

    fn redirect_error(&self, url: &Url, headers: &HeaderMap) -> Error {
        let location = headers.get(LOCATION).and_then(|v| v.to_str().ok()).and_then(|l| url.join(l).ok());
        match location {
            Some(target) => match self.ensure_trusted(&target) {
                Err(e) => e,
                Ok(()) => Error::new(
                    ErrorKind::InvalidResponse,
                    format!("unexpected redirect to {}", target.path()),
                ),
            },
            None => Error::new(ErrorKind::InvalidResponse, "redirect without a usable Location"),
        }
    }

    /// GET `path`.
    pub async fn get(&self, cx: &CallCx, api: Api, path: &str) -> Result<Response> {
        self.send(cx, GraphRequest::new(Method::GET, api, path)).await
    }

    /// GET `path` and decode the JSON body.
    pub async fn get_json<T: DeserializeOwned>(&self, cx: &CallCx, api: Api, path: &str) -> Result<T> {
        self.get(cx, api, path).await?.json()
    }

    /// POST a JSON body and decode the answer (`()` or `Option<T>` for 204 answers).
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        cx: &CallCx,
        api: Api,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.send(cx, GraphRequest::new(Method::POST, api, path).json(body)?).await?.json()
    }

    /// PATCH a JSON body and decode the answer (usually 204: use `()`).
    pub async fn patch_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        cx: &CallCx,
        api: Api,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.send(cx, GraphRequest::new(Method::PATCH, api, path).json(body)?).await?.json()
    }

    /// PUT a JSON body and decode the answer.
    pub async fn put_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        cx: &CallCx,
        api: Api,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.send(cx, GraphRequest::new(Method::PUT, api, path).json(body)?).await?.json()
    }

    /// DELETE `path`.
    pub async fn delete(&self, cx: &CallCx, api: Api, path: &str) -> Result<()> {
        self.send(cx, GraphRequest::new(Method::DELETE, api, path)).await.map(|_| ())
    }
}

/// Why an attempt produced no HTTP answer, and whether the request may have reached the server.
struct Failure {
    error: String,
    sent: bool,
}

async fn read_full(
    sent: std::result::Result<reqwest::Response, reqwest::Error>,
) -> std::result::Result<(u16, HeaderMap, Vec<u8>), Failure> {
    let rsp = sent.map_err(|e| Failure {
        // Only a failed connect proves the server never saw the request.
        sent: !e.is_connect(),
        error: describe(&e),
    })?;
    let status = rsp.status().as_u16();
    let headers = rsp.headers().clone();
    let body = rsp.bytes().await.map_err(|e| Failure { sent: true, error: describe(&e) })?;
    Ok((status, headers, body.to_vec()))
}

/// Body text for trace logs with values of secret-looking properties replaced.
fn redact_body(body: &[u8]) -> String {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    let k = k.to_ascii_lowercase();
                    if ["secret", "password", "token", "key", "assertion"].iter().any(|s| k.contains(s))
                        && !val.is_null()
                    {
                        *val = serde_json::Value::String("<redacted>".into());
                    } else {
                        walk(val);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            walk(&mut v);
            v.to_string()
        }
        Err(_) => format!("<{} bytes, not JSON>", body.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secret_looking_properties() {
        let out = redact_body(br#"{"displayName":"g","passwordCredentials":[{"secretText":"s3cr3t"}],"nested":{"accessToken":"abc"}}"#);
        assert!(!out.contains("s3cr3t") && !out.contains("abc"), "{out}");
        assert!(out.contains("\"displayName\":\"g\""), "{out}");
    }
}
