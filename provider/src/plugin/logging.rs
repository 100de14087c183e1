//! Logging for a plugin process: JSON lines on stderr in the format of HashiCorp's hclog,
//! which go-plugin on the Terraform side parses and re-emits into Terraform's own log
//! (`TF_LOG_PROVIDER`, `TF_LOG`). Stdout is reserved for the handshake line.

use std::fmt;

use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use time::macros::format_description;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The hclog module name our lines carry.
const MODULE: &str = "provider.autopilot";

/// Install the global `tracing` subscriber: hclog JSON on stderr, at the level named by
/// `TF_LOG_PROVIDER` or else `TF_LOG` (default `warn`). Dependencies log at `warn` at
/// most so that `TF_LOG=trace` shows our own events, not every HTTP/2 frame.
pub fn init() {
    let filter = targets(level_from_env(|name| std::env::var(name).ok()));
    let format = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).event_format(HclogJson);
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(filter).with(format).try_init();
}

/// `level` for our crates, `warn` for dependencies. A fixed per-crate filter rather than
/// `EnvFilter`: no directive parser and no regex engine in the binary (start-up memory follows
/// the binary's size).
fn targets(level: LevelFilter) -> Targets {
    Targets::new()
        .with_default(LevelFilter::WARN)
        .with_target("autopilot_provider", level)
        .with_target("terraform_provider_autopilot", level)
}

/// The level for our crates, from Terraform's log variables.
fn level_from_env(get: impl Fn(&str) -> Option<String>) -> LevelFilter {
    let raw = get("TF_LOG_PROVIDER")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| get("TF_LOG").filter(|v| !v.trim().is_empty()));
    match raw.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        // Terraform's `TF_LOG=JSON` means "trace, as JSON".
        Some("trace" | "json") => LevelFilter::TRACE,
        Some("debug") => LevelFilter::DEBUG,
        Some("info") => LevelFilter::INFO,
        Some("error") => LevelFilter::ERROR,
        Some("off") => LevelFilter::OFF,
        _ => LevelFilter::WARN,
    }
}

/// Formats one event as an hclog JSON line.
struct HclogJson;

impl<S, N> FormatEvent<S, N> for HclogJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let line = hclog_line(event.metadata().level(), OffsetDateTime::now_utc(), |visitor| {
            event.record(visitor);
        });
        writeln!(writer, "{line}")
    }
}

/// Build the JSON object of one line; `record` feeds the event's fields to the visitor.
fn hclog_line(level: &Level, now: OffsetDateTime, record: impl FnOnce(&mut FieldVisitor)) -> Json {
    let mut visitor = FieldVisitor(Map::new());
    record(&mut visitor);
    let mut fields = visitor.0;
    let message = match fields.remove("message") {
        Some(Json::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let mut line = Map::new();
    line.insert("@level".into(), Json::from(level_name(level)));
    line.insert("@message".into(), Json::from(message));
    line.insert("@module".into(), Json::from(MODULE));
    line.insert("@timestamp".into(), Json::from(timestamp(now)));
    for (key, value) in fields {
        // Never let a field overwrite the hclog keys.
        if !key.starts_with('@') {
            line.insert(key, value);
        }
    }
    Json::Object(line)
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// go-plugin parses exactly `2006-01-02T15:04:05.000000Z07:00` (Go layout); a line it
/// cannot parse is logged as plain text at debug level.
fn timestamp(now: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    now.format(format).unwrap_or_default()
}

/// Collects an event's fields as JSON values.
struct FieldVisitor(Map<String, Json>);

impl Visit for FieldVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), Json::from(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Json::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Json::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Json::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Json::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Json::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().to_owned(), Json::from(value.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_follows_provider_variable_first() {
        let cases: &[(Option<&str>, Option<&str>, LevelFilter)] = &[
            (None, None, LevelFilter::WARN),
            (None, Some("DEBUG"), LevelFilter::DEBUG),
            (Some("trace"), Some("ERROR"), LevelFilter::TRACE),
            (Some(""), Some("info"), LevelFilter::INFO),
            (None, Some("JSON"), LevelFilter::TRACE),
            (Some("OFF"), None, LevelFilter::OFF),
            (Some("nonsense"), None, LevelFilter::WARN),
        ];
        for (provider, core, want) in cases {
            let got = level_from_env(|name| match name {
                "TF_LOG_PROVIDER" => provider.map(str::to_owned),
                "TF_LOG" => core.map(str::to_owned),
                _ => None,
            });
            assert_eq!(got, *want, "TF_LOG_PROVIDER={provider:?} TF_LOG={core:?}");
        }
    }

    #[test]
    fn dependencies_stay_at_warn_whatever_our_level() {
        let debug = targets(LevelFilter::DEBUG);
        assert!(debug.would_enable("autopilot_provider::graph::client", &Level::DEBUG));
        assert!(debug.would_enable("terraform_provider_autopilot", &Level::DEBUG));
        assert!(!debug.would_enable("autopilot_provider", &Level::TRACE));
        assert!(!debug.would_enable("h2::codec", &Level::DEBUG));
        assert!(debug.would_enable("h2::codec", &Level::WARN));
        let off = targets(LevelFilter::OFF);
        assert!(!off.would_enable("autopilot_provider::plugin", &Level::ERROR));
        assert!(off.would_enable("hyper", &Level::ERROR));
    }

    #[test]
    fn line_has_hclog_keys_and_go_parsable_timestamp() {
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let line = hclog_line(&Level::DEBUG, now, |v| {
            v.0.insert("message".into(), Json::from("serving"));
            v.0.insert("address".into(), Json::from("/tmp/plugin1"));
            v.0.insert("@level".into(), Json::from("spoofed"));
        });
        assert_eq!(line["@level"], "debug");
        assert_eq!(line["@message"], "serving");
        assert_eq!(line["@module"], "provider.autopilot");
        assert_eq!(line["@timestamp"], "2023-11-14T22:13:20.123456Z");
        assert_eq!(line["address"], "/tmp/plugin1");
    }
}
