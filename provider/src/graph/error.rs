//! The one error type of the Graph client, decoded from Graph's OData error body.
//!
//! Resources classify errors with the predicates (`is_not_found`, `is_forbidden`, ...), which look
//! at status and error code only: Graph's message texts are not a stable contract.

use std::fmt;

use serde::Deserialize;

/// What went wrong, coarsely; enough for a resource to choose its reaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Graph answered with an error status (after any retries).
    Api,
    /// No access token could be obtained.
    Auth,
    /// The request could not be delivered (connection refused, DNS, TLS); Graph did not act on it.
    Transport,
    /// A non-idempotent request was sent but the connection failed before an answer arrived:
    /// Graph may or may not have acted. Resources should look for the object before retrying.
    Ambiguous,
    /// The call's deadline passed.
    Timeout,
    /// The call was cancelled.
    Cancelled,
    /// Graph answered with something we could not decode.
    InvalidResponse,
    /// The client configuration is unusable (endpoint, CA file, certificate, key).
    Config,
    /// A URL (next link, redirect) pointed away from the configured Graph endpoint; refused so
    /// the access token is never sent elsewhere.
    UntrustedUrl,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Api => "Microsoft Graph returned an error",
            ErrorKind::Auth => "could not obtain an access token",
            ErrorKind::Transport => "could not reach Microsoft Graph",
            ErrorKind::Ambiguous => {
                "the connection to Microsoft Graph failed after the request was sent, so it is unknown whether it took effect"
            }
            ErrorKind::Timeout => "the operation's deadline passed",
            ErrorKind::Cancelled => "the operation was cancelled",
            ErrorKind::InvalidResponse => "Microsoft Graph returned an unreadable response",
            ErrorKind::Config => "invalid Microsoft Graph client configuration",
            ErrorKind::UntrustedUrl => "refused to follow a URL outside the configured Graph endpoint",
        }
    }
}

/// Longest message kept from an error body (in characters). Graph's own messages are a few
/// hundred characters; a body is the other side's data, and it ends up in a diagnostic.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// Longest error code or request id kept (Graph's are under 100 characters).
pub const MAX_FIELD_CHARS: usize = 200;
/// Longest prefix kept of a body that is not OData JSON (a proxy's or gateway's page).
const MAX_FOREIGN_BODY_CHARS: usize = 300;

/// Intune answers some missing objects with 400 and one of these codes instead of 404.
const NOT_FOUND_CODES: [&str; 3] = ["Request_ResourceNotFound", "ResourceNotFound", "NotFound"];

/// An error from the Graph client. Never contains a secret or an access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    /// HTTP status, when Graph (or the token endpoint) answered.
    pub status: Option<u16>,
    /// OData error code (`Request_ResourceNotFound`, `Authorization_RequestDenied`, ...) or an
    /// AADSTS code for token errors.
    pub code: Option<String>,
    /// Human-readable detail (Intune's JSON-in-a-string messages are unwrapped).
    pub message: String,
    /// Graph's `request-id`, for support cases.
    pub request_id: Option<String>,
    /// The `client-request-id` we sent.
    pub client_request_id: Option<String>,
}

/// Shorthand used throughout the Graph client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with only a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            code: None,
            message: message.into(),
            request_id: None,
            client_request_id: None,
        }
    }

    pub(crate) fn with_client_request_id(mut self, id: &str) -> Self {
        if self.client_request_id.is_none() {
            self.client_request_id = Some(id.to_owned());
        }
        self
    }

    /// Builds an `Api` error from an error status and body (OData error JSON or anything else).
    pub fn from_response(status: u16, request_id_header: Option<&str>, body: &[u8]) -> Self {
        let mut err = Self { status: Some(status), ..Self::new(ErrorKind::Api, "") };
        match serde_json::from_slice::<ODataErrorBody>(body) {
            Ok(ODataErrorBody { error }) => {
                err.code = error.code.filter(|c| !c.is_empty()).map(|c| printable(&c, MAX_FIELD_CHARS));
                err.message = printable(
                    &readable_message(error.message.as_deref().unwrap_or_default()),
                    MAX_MESSAGE_CHARS,
                );
                if let Some(inner) = error.inner_error {
                    err.request_id = inner.request_id.map(|r| printable(&r, MAX_FIELD_CHARS));
                    err.client_request_id = inner.client_request_id.map(|r| printable(&r, MAX_FIELD_CHARS));
                }
            }
            Err(_) => {
                // Not OData (a proxy or gateway page): keep a short, printable prefix.
                let text = String::from_utf8_lossy(body);
                err.message = printable(text.trim(), MAX_FOREIGN_BODY_CHARS).trim().to_owned();
            }
        }
        if err.request_id.is_none() {
            err.request_id = request_id_header.map(|r| printable(r, MAX_FIELD_CHARS));
        }
        if err.message.is_empty() {
            err.message = status_reason(status).to_owned();
        }
        err
    }

    /// The object does not exist (or not yet: see `consistency::retry_not_found`).
    pub fn is_not_found(&self) -> bool {
        match self.status {
            Some(404) => true,
            Some(400) => self.code.as_deref().is_some_and(|c| NOT_FOUND_CODES.contains(&c)),
            _ => false,
        }
    }

    /// The caller lacks a permission (403).
    pub fn is_forbidden(&self) -> bool {
        self.status == Some(403)
    }

    /// The token was rejected (401).
    pub fn is_unauthorized(&self) -> bool {
        self.status == Some(401)
    }

    /// The object already exists / conflicts with another (409).
    pub fn is_conflict(&self) -> bool {
        self.status == Some(409)
    }

    /// Graph throttled the call (429) and retries were exhausted.
    pub fn is_throttled(&self) -> bool {
        self.status == Some(429)
    }

    /// Graph rejected the request as malformed (400), excluding Intune's not-found 400s.
    pub fn is_bad_request(&self) -> bool {
        self.status == Some(400) && !self.is_not_found()
    }

    /// The request may or may not have taken effect (see [`ErrorKind::Ambiguous`]).
    pub fn is_ambiguous(&self) -> bool {
        self.kind == ErrorKind::Ambiguous
    }

    /// The call ended because of its deadline or cancellation.
    pub fn is_timeout_or_cancelled(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout | ErrorKind::Cancelled)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status}")?;
            if let Some(code) = &self.code {
                write!(f, ", {code}")?;
            }
            f.write_str(")")?;
        } else if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message.trim_end_matches('.'))?;
        }
        f.write_str(".")?;
        match (&self.request_id, &self.client_request_id) {
            (Some(r), Some(c)) => write!(f, " request-id: {r}, client-request-id: {c}"),
            (Some(r), None) => write!(f, " request-id: {r}"),
            (None, Some(c)) => write!(f, " client-request-id: {c}"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for Error {}

#[derive(Deserialize)]
struct ODataErrorBody {
    error: ODataError,
}

#[derive(Deserialize)]
struct ODataError {
    code: Option<String>,
    message: Option<String>,
    #[serde(rename = "innerError", alias = "innererror")]
    inner_error: Option<InnerError>,
}

#[derive(Deserialize)]
struct InnerError {
    #[serde(rename = "request-id")]
    request_id: Option<String>,
    #[serde(rename = "client-request-id")]
    client_request_id: Option<String>,
}

/// Intune puts a JSON document into `message` (`{"_version":3,"Message":"...",...}`); show its
/// `Message` (and the custom phrase, when given) rather than escaped JSON.
fn readable_message(message: &str) -> String {
    #[derive(Deserialize)]
    struct IntuneMessage {
        #[serde(rename = "Message")]
        message: Option<String>,
        #[serde(rename = "CustomApiErrorPhrase")]
        custom_phrase: Option<String>,
    }
    let trimmed = message.trim();
    if trimmed.starts_with('{')
        && let Ok(IntuneMessage { message: Some(m), custom_phrase }) = serde_json::from_str(trimmed)
    {
        return match custom_phrase.filter(|p| !p.trim().is_empty()) {
            Some(p) => format!("{} ({})", m.trim(), p.trim()),
            None => m.trim().to_owned(),
        };
    }
    trimmed.to_owned()
}

/// `text` with control characters (other than line breaks) shown as spaces, so a body cannot
/// move the cursor or hide text in a terminal, cut to `max` characters (marked with `…`).
fn printable(text: &str, max: usize) -> String {
    let mut out: String =
        text.chars().take(max).map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect();
    if text.chars().nth(max).is_some() {
        out.pop();
        out.push('…');
    }
    out
}

fn status_reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("error")
}

#[cfg(test)]
mod fuzz_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_odata_error_with_inner_ids() {
        let body = br#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist.",
            "innerError":{"date":"2025-02-13T10:17:05","request-id":"r-1","client-request-id":"c-1"}}}"#;
        let e = Error::from_response(404, Some("header-id"), body);
        assert_eq!(e.kind, ErrorKind::Api);
        assert_eq!(e.code.as_deref(), Some("Request_ResourceNotFound"));
        assert_eq!(e.request_id.as_deref(), Some("r-1"));
        assert_eq!(e.client_request_id.as_deref(), Some("c-1"));
        assert!(e.is_not_found());
        assert_eq!(
            e.to_string(),
            "Microsoft Graph returned an error (HTTP 404, Request_ResourceNotFound): Resource 'x' does not exist. request-id: r-1, client-request-id: c-1"
        );
    }

    #[test]
    fn unwraps_intune_nested_message() {
        let body = br#"{"error":{"code":"BadRequest","message":"{\r\n  \"_version\": 3,\r\n  \"Message\": \"An error has occurred - Operation ID (for customer support): 0000 - Activity ID: 1111\",\r\n  \"CustomApiErrorPhrase\": \"\",\r\n  \"RetryAfter\": null,\r\n  \"ErrorSourceService\": \"\",\r\n  \"HttpHeaders\": \"{}\"\r\n}","innerError":{"request-id":"r-2"}}}"#;
        let e = Error::from_response(400, None, body);
        assert_eq!(
            e.message,
            "An error has occurred - Operation ID (for customer support): 0000 - Activity ID: 1111"
        );
        assert!(!e.is_not_found());
        assert!(e.is_bad_request());
    }

    #[test]
    fn not_found_is_decided_by_status_and_code_only() {
        let cases: [(u16, &str, bool); 7] = [
            (404, "", true),
            (404, "NotFound", true),
            (400, "ResourceNotFound", true),
            (400, "Request_ResourceNotFound", true),
            (400, "BadRequest", false),
            // A message mentioning "not found" under another code is not a not-found.
            (400, "Request_BadRequest", false),
            (403, "ResourceNotFound", false),
        ];
        for (status, code, expected) in cases {
            let body = format!(r#"{{"error":{{"code":"{code}","message":"Resource was not found"}}}}"#);
            let e = Error::from_response(status, None, body.as_bytes());
            assert_eq!(e.is_not_found(), expected, "{status} {code}");
        }
    }

    #[test]
    fn non_json_body_and_header_request_id() {
        let e = Error::from_response(502, Some("gw-1"), b"<html>Bad gateway</html>");
        assert_eq!(e.request_id.as_deref(), Some("gw-1"));
        assert_eq!(e.message, "<html>Bad gateway</html>");
        let e = Error::from_response(503, None, b"");
        assert_eq!(e.message, "Service Unavailable");
        assert_eq!(e.to_string(), "Microsoft Graph returned an error (HTTP 503): Service Unavailable.");
    }

    #[test]
    fn decodes_throttle_sample_and_forbidden_without_code() {
        let e = Error::from_response(
            429,
            None,
            br#"{"error":{"code":"TooManyRequests","innerError":{"code":"429","date":"2020-08-18T12:51:51",
                "message":"Please retry after","request-id":"94fb3b52-452a-4535-a601-69e0a90e3aa2","status":"429"},
                "message":"Please retry again later."}}"#,
        );
        assert_eq!(e.code.as_deref(), Some("TooManyRequests"));
        assert_eq!(e.request_id.as_deref(), Some("94fb3b52-452a-4535-a601-69e0a90e3aa2"));
        assert!(e.is_throttled());
        let e = Error::from_response(403, None, br#"{"error":{"code":"","message":"No."}}"#);
        assert_eq!(e.code, None);
        assert!(e.is_forbidden());
    }
}
