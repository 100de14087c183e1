//! OAuth2 client-credentials token endpoint (`POST /{tenant}/oauth2/v2.0/token`), bearer-token
//! checks for Graph routes, and application permissions (roles).
//!
//! Accepted client authentication:
//! * `client_secret` equal to the configured secret;
//! * `client_assertion` (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`):
//!   a well-formed JWT (three base64url parts, JSON header with `alg`, JSON payload) whose `iss` and
//!   `sub` both equal the client id, whose `aud` is the token endpoint (on the emulator's host or
//!   `login.microsoftonline.com`) and whose `exp` lies in the future. The signature is verified
//!   only when certificates are registered (`--client-certificate`): then `x5t#S256` must name
//!   one of them and the RS256/PS256 signature must verify under its key (AADSTS700027 if not).
//!
//! Issued tokens are opaque random strings mapped to the app's roles at issue time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use serde_json::{Value, json};

use super::errors::{GraphError, GraphResult};
use super::faults::Family;
use super::state::AppState;

/// Every application permission listed in graph-reference's "Permissions summary" (the
/// default grant of the emulated app).
pub const DEFAULT_ROLES: &[&str] = &[
    "Policy.Read.DeviceConfiguration",
    "Policy.ReadWrite.DeviceConfiguration",
    "Group.Create",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "User.Read.All",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "DeviceManagementApps.Read.All",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
];

/// Sets of alternative roles routes require (any one suffices).
pub mod perm {
    pub const GROUP_READ: &[&str] =
        &["Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
    pub const GROUP_CREATE: &[&str] = &["Group.Create", "Group.ReadWrite.All", "Directory.ReadWrite.All"];
    pub const GROUP_WRITE: &[&str] = &["Group.ReadWrite.All", "Directory.ReadWrite.All"];
    pub const GROUP_MEMBER_WRITE: &[&str] =
        &["GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"];
    pub const GROUP_MEMBER_READ: &[&str] = &[
        "GroupMember.Read.All",
        "GroupMember.ReadWrite.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ];
    pub const USER_READ: &[&str] =
        &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
    pub const APPLICATION_READ: &[&str] = &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ];
    pub const APPLICATION_WRITE: &[&str] = &["Application.ReadWrite.All", "Directory.ReadWrite.All"];
    pub const DEVICE_REGISTRATION_POLICY_READ: &[&str] =
        &["Policy.Read.DeviceConfiguration", "Policy.ReadWrite.DeviceConfiguration"];
    pub const DEVICE_REGISTRATION_POLICY_WRITE: &[&str] = &["Policy.ReadWrite.DeviceConfiguration"];
    pub const INTUNE_APPS_READ: &[&str] =
        &["DeviceManagementApps.Read.All", "DeviceManagementApps.ReadWrite.All"];
    pub const INTUNE_APPS_WRITE: &[&str] = &["DeviceManagementApps.ReadWrite.All"];
    pub const INTUNE_CONFIGURATION_READ: &[&str] =
        &["DeviceManagementConfiguration.Read.All", "DeviceManagementConfiguration.ReadWrite.All"];
    pub const INTUNE_CONFIGURATION_WRITE: &[&str] = &["DeviceManagementConfiguration.ReadWrite.All"];
    pub const INTUNE_SERVICE_CONFIG_READ: &[&str] =
        &["DeviceManagementServiceConfig.Read.All", "DeviceManagementServiceConfig.ReadWrite.All"];
    pub const INTUNE_SERVICE_CONFIG_WRITE: &[&str] = &["DeviceManagementServiceConfig.ReadWrite.All"];
    pub const ROLE_MANAGEMENT_WRITE: &[&str] = &["RoleManagement.ReadWrite.Directory"];
    pub const DIRECTORY_OBJECT_READ: &[&str] = &[
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "User.Read.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Application.Read.All",
        "Application.ReadWrite.All",
    ];
}

/// Configured app identity.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// Certificates (DER) registered on the app, as `keyCredentials` are in Entra. When any is
    /// registered, a client assertion must name one in `x5t#S256` and carry a valid RS256/PS256
    /// signature by its key; with none, only the structure is checked.
    pub client_certificates: Vec<Vec<u8>>,
}

/// What a valid bearer token grants; inserted as a request extension on Graph routes.
#[derive(Clone, Debug)]
pub struct Caller {
    pub client_id: String,
    pub roles: BTreeSet<String>,
}

impl Caller {
    pub fn has_any(&self, any_of: &[&str]) -> bool {
        any_of.iter().any(|r| self.roles.contains(*r))
    }

    /// 403 (`Authorization_RequestDenied` on directory routes, `Forbidden` on Intune) unless the
    /// caller holds one of `any_of`.
    pub fn require(&self, family: Family, any_of: &[&str]) -> GraphResult<()> {
        if self.has_any(any_of) {
            return Ok(());
        }
        Err(match family {
            Family::Directory => GraphError::directory_forbidden(),
            Family::Intune => GraphError::intune_forbidden(),
        })
    }

    /// Directory-route shorthand for [`Caller::require`].
    pub fn require_directory(&self, any_of: &[&str]) -> GraphResult<()> {
        self.require(Family::Directory, any_of)
    }

    /// Intune-route shorthand for [`Caller::require`].
    pub fn require_intune(&self, any_of: &[&str]) -> GraphResult<()> {
        self.require(Family::Intune, any_of)
    }
}

/// An issued token.
#[derive(Clone, Debug)]
pub struct Grant {
    pub caller: Caller,
    pub expires: Instant,
}

const TOKEN_LIFETIME: Duration = Duration::from_secs(3599);

/// Checks the `Authorization` header of a Graph request.
pub fn authenticate(state: &AppState, headers: &HeaderMap) -> GraphResult<Caller> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if value.is_empty() {
        return Err(GraphError::invalid_token("Access token is empty."));
    }
    let Some(token) = value.strip_prefix("Bearer ") else {
        return Err(GraphError::invalid_token(
            "Access token validation failure: the authorization scheme must be Bearer.",
        ));
    };
    let grant = state.token_grant(token.trim()).ok_or_else(|| {
        GraphError::invalid_token("IDX14100: JWT is not well formed, there are no dots (.).")
    })?;
    if state.clock().now() >= grant.expires {
        return Err(GraphError::invalid_token("Lifetime validation failed, the token is expired."));
    }
    Ok(grant.caller)
}

/// AADSTS-style token error.
fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace = uuid::Uuid::new_v4();
    let correlation = uuid::Uuid::new_v4();
    let timestamp = super::now_rfc3339();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace.to_string(),
        "correlation_id": correlation.to_string(),
    });
    (status, Json(body)).into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let creds = state.credentials();
    if !tenant.eq_ignore_ascii_case(&creds.tenant_id) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let client_id = field("client_id");
    if client_id.is_empty() {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    }
    if !client_id.eq_ignore_ascii_case(&creds.client_id) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'.",
                creds.tenant_id
            ),
        );
    }
    let scope = field("scope");
    if scope != "https://graph.microsoft.com/.default" && !is_own_default_scope(scope, &state.base_url()) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    }
    let secret = form.get("client_secret");
    let assertion = form.get("client_assertion");
    match (secret, assertion) {
        (Some(s), None) => {
            if *s != creds.client_secret {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    &format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                        creds.client_id
                    ),
                );
            }
        }
        (None, Some(jwt)) => {
            if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50027,
                    "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                );
            }
            let audiences = [
                format!("{}/{}/oauth2/v2.0/token", state.base_url(), creds.tenant_id),
                format!("https://login.microsoftonline.com/{}/oauth2/v2.0/token", creds.tenant_id),
            ];
            state.record_assertion(jwt);
            if let Err(why) = check_assertion(jwt, &creds.client_id, &audiences, super::unix_now()) {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    50027,
                    &format!("JWT token is invalid or malformed: {why}."),
                );
            }
            if !creds.client_certificates.is_empty()
                && let Err(why) = verify_assertion_signature(jwt, &creds.client_certificates)
            {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    700027,
                    &format!("Client assertion failed signature validation: {why}."),
                );
            }
        }
        (Some(_), Some(_)) => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                9002313,
                "Invalid request. Request is malformed or invalid: both client_secret and client_assertion were sent.",
            );
        }
        (None, None) => {
            return aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
    }
    let mut raw = [0u8; 32];
    rand::rng().fill(&mut raw);
    let token = format!("emulator.{}", URL_SAFE_NO_PAD.encode(raw));
    let caller = Caller { client_id: creds.client_id.clone(), roles: state.roles().into_iter().collect() };
    state.store_grant(token.clone(), Grant { caller, expires: state.clock().now() + TOKEN_LIFETIME });
    Json(json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME.as_secs(),
        "ext_expires_in": TOKEN_LIFETIME.as_secs(),
        "access_token": token,
    }))
    .into_response()
}

/// Structural checks of a client assertion (see the module docs for what is not checked).
pub fn check_assertion(
    jwt: &str,
    client_id: &str,
    audiences: &[String],
    now_unix: i64,
) -> Result<(), &'static str> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err("expected three dot-separated parts");
    };
    if signature.is_empty() {
        return Err("the signature is empty");
    }
    let decode = |p: &str| -> Option<Value> {
        URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok().and_then(|b| serde_json::from_slice(&b).ok())
    };
    let header = decode(header).ok_or("the header is not base64url JSON")?;
    if header.get("alg").and_then(Value::as_str).is_none() {
        return Err("the header has no alg");
    }
    let claims = decode(payload).ok_or("the payload is not base64url JSON")?;
    let claim = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
    if !claim("iss").eq_ignore_ascii_case(client_id) || !claim("sub").eq_ignore_ascii_case(client_id) {
        return Err("iss and sub must both be the client id");
    }
    if !audiences.iter().any(|a| a.eq_ignore_ascii_case(claim("aud"))) {
        return Err("aud must be the token endpoint");
    }
    match claims.get("exp").and_then(Value::as_i64) {
        None => return Err("the assertion has no exp"),
        Some(exp) if exp <= now_unix => return Err("the assertion has expired"),
        Some(_) => {}
    }
    Ok(())
}

/// Checks a (structurally valid) assertion against the registered certificates: the one its
/// `x5t#S256` header names must have signed it.
pub fn verify_assertion_signature(jwt: &str, certificates: &[Vec<u8>]) -> Result<(), &'static str> {
    let (signing_input, signature) = jwt.rsplit_once('.').ok_or("expected three dot-separated parts")?;
    let header = signing_input.split('.').next().unwrap_or_default();
    let header: Value = URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the header is not base64url JSON")?;
    let thumbprint = header.get("x5t#S256").and_then(Value::as_str).ok_or("the header has no x5t#S256")?;
    let algorithm = match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        Some("PS256") => webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        _ => return Err("only RS256 and PS256 assertions are accepted"),
    };
    let der = certificates
        .iter()
        .find(|c| URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, c)) == thumbprint)
        .ok_or("the certificate with identifier used to sign the client assertion is not registered on the application")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .map_err(|_| "the signature is not base64url")?;
    let der = rustls_pki_types::CertificateDer::from(der.as_slice());
    let cert =
        webpki::EndEntityCert::try_from(&der).map_err(|_| "the registered certificate cannot be parsed")?;
    cert.verify_signature(algorithm, signing_input.as_bytes(), &signature)
        .map_err(|_| "the signature does not verify under the registered certificate")
}

/// Whether `scope` is `<the emulator's own base URL>/.default`, the base URL as the emulator
/// knows it or, for a loopback one, written with any of the names its certificate carries
/// (127.0.0.1, localhost, ::1): a provider configured with `https://localhost:PORT` asks for
/// that resource, which is this same server.
fn is_own_default_scope(scope: &str, base_url: &str) -> bool {
    let Some(resource) = scope.strip_suffix("/.default") else { return false };
    if resource == base_url {
        return true;
    }
    let (Ok(asked), Ok(own)) = (url::Url::parse(resource), url::Url::parse(base_url)) else { return false };
    let loopback_name = |u: &url::Url| matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    asked.scheme() == own.scheme()
        && asked.port_or_known_default() == own.port_or_known_default()
        && asked.path() == "/"
        && loopback_name(&asked)
        && loopback_name(&own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{h}.{p}.c2ln")
    }

    #[test]
    fn assertion_signatures_are_checked_against_registered_certificates() {
        use rustls_pki_types::pem::PemObject;
        // The provider's throw-away RSA test key (ring cannot generate RSA keys).
        let pem = include_str!("../../../provider/src/graph/testdata/rsa_test_key.pem");
        let key = rcgen::KeyPair::from_pem(pem).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["app".into()]).unwrap().self_signed(&key).unwrap();
        let der = cert.der().to_vec();
        let pkcs8 = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
        let signer = ring::signature::RsaKeyPair::from_pkcs8(pkcs8.secret_pkcs8_der()).unwrap();
        let sign = |header: Value, payload: &str| {
            let input =
                format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(payload));
            let mut sig = vec![0; signer.public().modulus_len()];
            signer
                .sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &ring::rand::SystemRandom::new(),
                    input.as_bytes(),
                    &mut sig,
                )
                .unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
        };
        let x5t = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &der));
        let good = sign(json!({"alg": "RS256", "x5t#S256": x5t}), "{}");
        assert_eq!(verify_assertion_signature(&good, std::slice::from_ref(&der)), Ok(()));

        let (head, _) = good.split_once('.').unwrap();
        let tampered =
            format!("{head}.{}.{}", URL_SAFE_NO_PAD.encode("{\"x\":1}"), good.rsplit('.').next().unwrap());
        let unregistered = sign(json!({"alg": "RS256", "x5t#S256": "AAAA"}), "{}");
        let wrong_alg = sign(json!({"alg": "ES256", "x5t#S256": x5t}), "{}");
        let no_thumbprint = sign(json!({"alg": "RS256"}), "{}");
        for (jwt, why) in [
            (&tampered, "does not verify"),
            (&unregistered, "not registered"),
            (&wrong_alg, "RS256 and PS256"),
            (&no_thumbprint, "x5t#S256"),
        ] {
            let err = verify_assertion_signature(jwt, std::slice::from_ref(&der)).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
    }

    #[test]
    fn assertions() {
        let id = "00000000-0000-0000-0000-0000000000bb";
        let aud = "https://h/t/oauth2/v2.0/token";
        let auds = [aud.to_owned()];
        let cases = [
            (json!({"iss": id, "sub": id, "aud": aud, "exp": 200}), true),
            (json!({"iss": id, "sub": id, "aud": aud, "exp": 50}), false),
            (json!({"iss": id, "sub": id, "aud": aud}), false),
            (json!({"iss": id, "sub": id, "aud": "https://elsewhere", "exp": 200}), false),
            (json!({"iss": "other", "sub": id, "aud": aud, "exp": 200}), false),
        ];
        for (claims, valid) in cases {
            assert_eq!(check_assertion(&jwt(claims.clone()), id, &auds, 100).is_ok(), valid, "{claims}");
        }
        assert!(check_assertion("a.b", id, &auds, 100).is_err());
        assert!(check_assertion("not.base64!.x", id, &auds, 100).is_err());
    }

    #[test]
    fn the_own_resource_is_accepted_under_each_loopback_name_and_nothing_else() {
        let base = "https://127.0.0.1:4431";
        assert!(super::is_own_default_scope(
            "https://graph.emulator.invalid/.default",
            "https://graph.emulator.invalid"
        ));
        for ok in [
            "https://127.0.0.1:4431/.default",
            "https://localhost:4431/.default",
            "https://[::1]:4431/.default",
        ] {
            assert!(super::is_own_default_scope(ok, base), "{ok}");
        }
        for bad in [
            "https://localhost:4432/.default",
            "http://localhost:4431/.default",
            "https://localhost:4431/v1.0/.default",
            "https://evil.example:4431/.default",
            "https://localhost:4431",
        ] {
            assert!(!super::is_own_default_scope(bad, base), "{bad}");
        }
    }
}
