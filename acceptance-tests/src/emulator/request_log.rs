//! The request log served at `GET /_emulator/requests`: every Graph and token request in
//! arrival order, with parsed bodies whose secrets are redacted.

use serde::Serialize;
use serde_json::{Map, Value};

/// One logged request.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LogEntry {
    pub method: String,
    /// Path with query, as received (inner `$batch` requests: the resolved `/{version}/...` path).
    pub path: String,
    /// Response status; 0 while the request is still running.
    pub status: u16,
    /// Parsed JSON (or form) body with secrets redacted; null if none.
    pub body: Value,
    /// For a request inside a `$batch`: index of the envelope's entry in this log.
    pub batch_id: Option<usize>,
    /// True if the response was deliberately lost (connection dropped).
    pub response_dropped: bool,
    /// Microseconds from the log's start (emulator start or last reset) to the request's
    /// arrival, and to its answer (0 while running): lets benchmarks rebuild the timeline.
    pub started_us: u64,
    pub finished_us: u64,
}

/// Append-only log.
#[derive(Debug)]
pub struct RequestLog {
    entries: Vec<LogEntry>,
    epoch: std::time::Instant,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self { entries: Vec::new(), epoch: std::time::Instant::now() }
    }
}

impl RequestLog {
    /// Appends an entry and returns its index.
    pub fn start(&mut self, method: &str, path: &str, body: Value, batch_id: Option<usize>) -> usize {
        self.entries.push(LogEntry {
            method: method.to_owned(),
            path: path.to_owned(),
            status: 0,
            body,
            batch_id,
            response_dropped: false,
            started_us: self.elapsed_us(),
            finished_us: 0,
        });
        self.entries.len() - 1
    }

    pub fn finish(&mut self, index: usize, status: u16, dropped: bool) {
        let now = self.elapsed_us();
        if let Some(e) = self.entries.get_mut(index) {
            e.status = status;
            e.response_dropped = dropped;
            e.finished_us = now;
        }
    }

    fn elapsed_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.epoch = std::time::Instant::now();
    }
}

const SECRET_KEYS: &[&str] =
    &["client_secret", "client_assertion", "access_token", "refresh_token", "password", "secretText", "key"];

/// Parses a logged body (JSON, or a form for the token endpoint) and redacts secrets.
pub fn parse_body(content_type: &str, bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    let mut value = if content_type.starts_with("application/x-www-form-urlencoded") {
        let map: Map<String, Value> = url::form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(map)
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    };
    redact(&mut value);
    value
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(k)) {
                    *v = Value::String("<redacted>".into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let form =
            parse_body("application/x-www-form-urlencoded", b"client_id=a&client_secret=s3cret&scope=x");
        assert_eq!(form["client_secret"], "<redacted>");
        assert_eq!(form["client_id"], "a");
        let json = parse_body("application/json", br#"{"passwordCredentials":[{"secretText":"x"}]}"#);
        assert!(!json.to_string().contains("\"x\""));
    }
}
