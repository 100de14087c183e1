//! Strict request-body validation shared by all entity families: JSON object bodies,
//! per-type property tables (unknown → 400, read-only → 400, wrong JSON type → 400,
//! required on create), `@odata.type` checks and GUID parsing.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use super::errors::{GraphError, GraphResult};

/// JSON type a property accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// String, at most this many characters (`usize::MAX` = unlimited); null allowed.
    String(usize),
    /// String that is never null.
    RequiredString(usize),
    Bool,
    Int,
    StringArray,
    /// Any JSON object (complex type; validate deeper in the route if needed).
    Object,
    /// Array of objects.
    ObjectArray,
    /// Anything (left to the route).
    Any,
}

/// How a property may be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Settable on create and update.
    ReadWrite,
    /// Settable only on create.
    CreateOnly,
    /// Service-managed: any write is rejected.
    ReadOnly,
}

/// One property of an entity type.
#[derive(Clone, Copy, Debug)]
pub struct Prop {
    pub name: &'static str,
    pub kind: Kind,
    pub access: Access,
}

/// Shorthand constructors for property tables.
pub const fn rw(name: &'static str, kind: Kind) -> Prop {
    Prop { name, kind, access: Access::ReadWrite }
}
pub const fn create_only(name: &'static str, kind: Kind) -> Prop {
    Prop { name, kind, access: Access::CreateOnly }
}
pub const fn ro(name: &'static str, kind: Kind) -> Prop {
    Prop { name, kind, access: Access::ReadOnly }
}

/// The writable surface of one entity type.
#[derive(Clone, Copy, Debug)]
pub struct EntitySpec {
    /// e.g. `group` (rendered as `microsoft.graph.group`).
    pub type_name: &'static str,
    pub props: &'static [Prop],
    pub required_on_create: &'static [&'static str],
}

/// Whether a body creates or updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
}

impl EntitySpec {
    /// Every property name (for `$select` validation).
    pub fn names(&self) -> Vec<&'static str> {
        self.props.iter().map(|p| p.name).collect()
    }

    /// Validates a body: unknown, read-only, create-only-on-update, wrong type and missing
    /// required properties are 400s worded like Graph. Annotations (`@odata.type`, `x@odata.bind`)
    /// are left to the caller, except `@odata.type`, which must name this type if present.
    pub fn check(&self, body: &Map<String, Value>, mode: Mode) -> GraphResult<()> {
        for (key, value) in body {
            if key == "@odata.type" {
                check_odata_type(value, &[self.type_name])?;
                continue;
            }
            if key.contains("@odata.") {
                continue;
            }
            let Some(prop) = self.props.iter().find(|p| p.name == key) else {
                return Err(GraphError::bad_request(format!(
                    "Property '{key}' does not exist on type 'microsoft.graph.{}'. Make sure to only use property names that are defined by the type.",
                    self.type_name
                )));
            };
            match (prop.access, mode) {
                (Access::ReadOnly, _) => {
                    return Err(GraphError::bad_request(format!(
                        "Property '{key}' is read-only and cannot be set."
                    )));
                }
                (Access::CreateOnly, Mode::Update) => {
                    return Err(GraphError::bad_request(format!(
                        "Property '{key}' can only be set when the object is created."
                    )));
                }
                _ => {}
            }
            check_kind(key, value, prop.kind)?;
        }
        if mode == Mode::Create {
            for required in self.required_on_create {
                if body.get(*required).is_none_or(Value::is_null) {
                    return Err(GraphError::bad_request(format!(
                        "Property '{required}' is required when creating the object."
                    )));
                }
            }
        }
        Ok(())
    }
}

fn type_error(key: &str, value: &Value, edm: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Cannot convert the literal '{value}' to the expected type '{edm}' for property '{key}'."
    ))
}

/// Checks one value against its kind.
pub fn check_kind(key: &str, value: &Value, kind: Kind) -> GraphResult<()> {
    match (kind, value) {
        (Kind::Any, _) => Ok(()),
        (Kind::String(_) | Kind::Object | Kind::Int, Value::Null) => Ok(()),
        (Kind::String(max) | Kind::RequiredString(max), Value::String(s)) => {
            if s.chars().count() > max {
                Err(GraphError::bad_request(format!(
                    "Invalid value specified for property '{key}': the value exceeds the maximum length of {max}."
                )))
            } else {
                Ok(())
            }
        }
        (Kind::String(_) | Kind::RequiredString(_), v) => Err(type_error(key, v, "Edm.String")),
        (Kind::Bool, Value::Bool(_)) => Ok(()),
        (Kind::Bool, v) => Err(type_error(key, v, "Edm.Boolean")),
        (Kind::Int, Value::Number(n)) if n.is_i64() => Ok(()),
        (Kind::Int, v) => Err(type_error(key, v, "Edm.Int32")),
        (Kind::StringArray, Value::Array(items)) if items.iter().all(Value::is_string) => Ok(()),
        (Kind::StringArray, v) => Err(type_error(key, v, "Collection(Edm.String)")),
        (Kind::Object, Value::Object(_)) => Ok(()),
        (Kind::Object, v) => Err(type_error(key, v, "complex type")),
        (Kind::ObjectArray, Value::Array(items)) if items.iter().all(Value::is_object) => Ok(()),
        (Kind::ObjectArray, v) => Err(type_error(key, v, "Collection(complex type)")),
    }
}

/// `@odata.type` must be a string naming one of `allowed` (with or without `#`, with or
/// without the `microsoft.graph.` namespace prefix in `allowed`).
pub fn check_odata_type(value: &Value, allowed: &[&str]) -> GraphResult<()> {
    let given = value.as_str().unwrap_or_default();
    let bare = given.trim_start_matches('#').trim_start_matches("microsoft.graph.");
    if allowed.iter().any(|a| a.trim_start_matches("microsoft.graph.") == bare)
        && given.contains("microsoft.graph.")
    {
        Ok(())
    } else {
        Err(GraphError::odata_bad_request(format!(
            "A type named '{given}' could not be resolved by the model. When a model is available, each type name must resolve to a valid type. Expected one of: {}.",
            allowed
                .iter()
                .map(|a| format!("#microsoft.graph.{}", a.trim_start_matches("microsoft.graph.")))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// Parses a request body: `Content-Type: application/json` required, non-empty, a JSON object.
pub fn json_object(headers: &HeaderMap, body: &Bytes) -> GraphResult<Map<String, Value>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if body.is_empty() {
        return Err(GraphError::odata_bad_request("Empty Payload. JSON content expected."));
    }
    if !content_type.to_ascii_lowercase().starts_with("application/json") {
        return Err(GraphError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!("The content type '{content_type}' is not supported; use 'application/json'."),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(GraphError::odata_bad_request("Invalid request body: a JSON object is expected.")),
        Err(e) => Err(GraphError::odata_bad_request(format!("Unable to read JSON request payload: {e}."))),
    }
}

/// A bare GUID (object id); malformed → 400 `Request_BadRequest` like Entra.
pub fn guid(text: &str) -> GraphResult<String> {
    match uuid::Uuid::parse_str(text) {
        Ok(u) if text.len() == 36 => Ok(u.hyphenated().to_string()),
        _ => Err(GraphError::bad_request(format!("Invalid object identifier '{text}'."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: EntitySpec = EntitySpec {
        type_name: "thing",
        props: &[
            rw("name", Kind::RequiredString(5)),
            create_only("flag", Kind::Bool),
            ro("id", Kind::String(36)),
        ],
        required_on_create: &["name"],
    };

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn table() {
        let cases: &[(Value, Mode, Option<&str>)] = &[
            (json!({"name": "a", "flag": true}), Mode::Create, None),
            (json!({"name": "a", "x@odata.bind": []}), Mode::Create, None),
            (json!({"flag": true}), Mode::Create, Some("required")),
            (json!({"name": "a", "nope": 1}), Mode::Create, Some("does not exist")),
            (json!({"name": "a", "id": "x"}), Mode::Create, Some("read-only")),
            (json!({"flag": true}), Mode::Update, Some("only be set when")),
            (json!({"name": 5}), Mode::Update, Some("Edm.String")),
            (json!({"name": "toolong"}), Mode::Update, Some("maximum length")),
            (json!({"@odata.type": "#microsoft.graph.thing", "name": "a"}), Mode::Create, None),
            (
                json!({"@odata.type": "#microsoft.graph.other", "name": "a"}),
                Mode::Create,
                Some("could not be resolved"),
            ),
        ];
        for (body, mode, expected) in cases {
            let result = SPEC.check(&map(body.clone()), *mode);
            match expected {
                None => assert!(result.is_ok(), "{body}: {result:?}"),
                Some(text) => {
                    let message = result.err().map(|e| e.message).unwrap_or_default();
                    assert!(message.contains(text), "{body}: {message}");
                }
            }
        }
        assert!(guid("not-a-guid").is_err());
        assert_eq!(
            guid("F1346770-5B25-470B-88BD-D5744AB7952C").ok().as_deref(),
            Some("f1346770-5b25-470b-88bd-d5744ab7952c")
        );
    }
}
