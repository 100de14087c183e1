//! Operation timeouts a practitioner can set per resource:
//! `timeouts = { create = "10m", delete = "1h30m" }`, Go duration strings as in every
//! other provider. The framework turns them into `Ctx::deadline`.

use std::time::{Duration, Instant};

use super::diag::Diagnostics;
use super::resource::Ctx;
use super::schema::{Attribute, Schema};
use super::validator::{ValidateRequest, Validator};
use super::value::Value;

/// Name of the attribute [`block`] declares.
pub const ATTRIBUTE: &str = "timeouts";

/// Default for create, update and delete when not configured.
pub const DEFAULT_WRITE: Duration = Duration::from_secs(30 * 60);
/// Default for read (and plan-time lookups) when not configured.
pub const DEFAULT_READ: Duration = Duration::from_secs(5 * 60);

/// The optional `timeouts` single nested attribute with one duration string per
/// operation (`"create"`, `"read"`, `"update"`, `"delete"`).
pub fn block(operations: &[&str]) -> Attribute {
    let attributes = operations
        .iter()
        .map(|op| {
            let default = default_for(op);
            Attribute::string(*op)
                .optional()
                .description(format!(
                    "How long to wait for {op} before giving up, as a duration such as `30s`, `10m` or `1h30m`. Default: `{}`.",
                    format_duration(default)
                ))
                .validator(duration())
        })
        .collect();
    Attribute::single_nested(ATTRIBUTE, attributes)
        .optional()
        .description("Time limits for the operations on this resource.")
}

/// The default limit for an operation.
pub fn default_for(operation: &str) -> Duration {
    if operation == "read" { DEFAULT_READ } else { DEFAULT_WRITE }
}

/// When `operation` must be done by: now plus the duration configured in the resource
/// object's `timeouts`, or `default` when it is unset, unknown or invalid (validation
/// reports invalid ones).
pub fn deadline(value: &Value, operation: &str, default: Duration) -> Instant {
    let limit = value
        .attr(ATTRIBUTE)
        .and_then(|t| t.attr(operation))
        .and_then(Value::as_str)
        .and_then(|s| parse_duration(s).ok())
        .unwrap_or(default);
    let now = Instant::now();
    now.checked_add(limit).or_else(|| now.checked_add(default)).unwrap_or(now)
}

/// `ctx` bounded by the operation's deadline when the schema declares `timeouts`
/// (an earlier deadline already on `ctx` is kept).
pub fn ctx_for(ctx: &Ctx, schema: &Schema, value: &Value, operation: &str) -> Ctx {
    if schema.block.attribute(ATTRIBUTE).is_none() {
        return ctx.clone();
    }
    let d = deadline(value, operation, default_for(operation));
    let deadline = Some(ctx.deadline.map_or(d, |existing| existing.min(d)));
    Ctx { cancel: ctx.cancel.clone(), deadline, applying: ctx.applying }
}

/// Parse a Go-style duration: one or more `<number><unit>` with units `h`, `m`, `s`,
/// `ms`, `us`/`µs`, `ns` (e.g. `"90s"`, `"1h30m"`, `"1.5h"`). Negative durations are
/// rejected.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration such as \"30s\", \"10m\" or \"1h30m\"");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(invalid)?;
        let number: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

/// `1h30m0s`-style text, as Go prints durations (whole seconds only).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Checks that a string is a duration [`parse_duration`] accepts.
#[derive(Debug, Clone)]
pub struct DurationValidator;

/// The value must be a duration string such as `"30s"`, `"10m"` or `"1h30m"`.
pub fn duration() -> DurationValidator {
    DurationValidator
}

impl Validator for DurationValidator {
    fn description(&self) -> String {
        "must be a duration such as \"30s\", \"10m\" or \"1h30m\"".into()
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        let result = match req.value.as_str() {
            Some(s) => parse_duration(s),
            None => Err(format!("a {} is not a duration", req.value.kind_name())),
        };
        if let Err(e) = result {
            diags.attribute_error(
                req.path.clone(),
                "Invalid attribute value",
                format!(
                    "Attribute {} must be a duration such as \"30s\", \"10m\" or \"1h30m\": {e}",
                    req.path
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::path::AttributePath;

    #[test]
    fn parse_duration_table() {
        let cases: &[(&str, Option<Duration>)] = &[
            ("30s", Some(Duration::from_secs(30))),
            ("10m", Some(Duration::from_secs(600))),
            ("1h30m", Some(Duration::from_secs(5400))),
            ("1.5h", Some(Duration::from_secs(5400))),
            ("1m30s", Some(Duration::from_secs(90))),
            ("500ms", Some(Duration::from_millis(500))),
            ("0", Some(Duration::ZERO)),
            ("", None),
            ("10", None),
            ("-5m", None),
            ("5 m", None),
            ("5d", None),
            ("m", None),
            ("1..5s", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text).ok(), *want, "case {text:?}");
        }
    }

    #[test]
    fn block_shape_and_validation() {
        let attr = block(&["create", "delete"]);
        assert_eq!(attr.name, ATTRIBUTE);
        assert!(attr.optional && !attr.required && !attr.computed);
        let names: Vec<&str> = attr
            .nested_attributes()
            .map(|(_, a)| a.iter().map(|a| a.name.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["create", "delete"]);

        let mut schema = Schema::default();
        schema.block.attributes = vec![attr];
        let config = |v: &str| {
            Value::Object(
                [(
                    ATTRIBUTE.to_owned(),
                    Value::Object(
                        [("create".to_owned(), Value::from(v)), ("delete".to_owned(), Value::Null)].into(),
                    ),
                )]
                .into(),
            )
        };
        assert!(crate::framework::validate::validate_config(&schema, &config("20m")).is_empty());
        let diags = crate::framework::validate::validate_config(&schema, &config("twenty minutes"));
        let paths: Vec<Option<AttributePath>> = diags.iter().map(|d| d.path.clone()).collect();
        assert_eq!(paths, [Some(AttributePath::new(ATTRIBUTE).attr("create"))]);
    }

    #[test]
    fn deadline_uses_configured_or_default() {
        let value = Value::Object(
            [(ATTRIBUTE.to_owned(), Value::Object([("create".to_owned(), Value::from("2h"))].into()))].into(),
        );
        let before = Instant::now();
        let configured = deadline(&value, "create", Duration::from_secs(60));
        let defaulted = deadline(&value, "delete", Duration::from_secs(60));
        let after = Instant::now();
        assert!(
            configured >= before + Duration::from_secs(7200)
                && configured <= after + Duration::from_secs(7200)
        );
        assert!(
            defaulted >= before + Duration::from_secs(60) && defaulted <= after + Duration::from_secs(60)
        );
    }

    #[test]
    fn ctx_for_only_with_timeouts_and_keeps_earlier_deadline() {
        let value = Value::Object(Default::default());
        let plain = Schema::default();
        assert_eq!(ctx_for(&Ctx::background(), &plain, &value, "create").deadline, None);

        let mut with = Schema::default();
        with.block.attributes = vec![block(&["create"])];
        let bounded = ctx_for(&Ctx::background(), &with, &value, "create");
        assert!(bounded.deadline.is_some());
        let earlier = Instant::now();
        let ctx = Ctx::new(Default::default(), Some(earlier));
        assert_eq!(ctx_for(&ctx, &with, &value, "create").deadline, Some(earlier));
    }

    #[test]
    fn format_duration_table() {
        assert_eq!(format_duration(DEFAULT_WRITE), "30m0s");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m0s");
        assert_eq!(format_duration(Duration::from_secs(45)), "45s");
    }
}
