//! Protocol messages → framework values. Every failure becomes a diagnostic (or, for
//! provider functions, an argument error): Terraform shows it, nothing panics.

use tfproto::tfplugin6 as pb;

use crate::framework::codec::{decode_json, decode_json_ignore_undefined, decode_msgpack};
use crate::framework::{Diagnostic, Type, Value};

/// Decode a DynamicValue of type `ty`. `what` names it for the user ("prior state").
/// An absent value is null, as Terraform means it.
pub fn dynamic_value(value: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
    let Some(value) = value else {
        return Ok(Value::Null);
    };
    let decoded = if !value.msgpack.is_empty() {
        decode_msgpack(&value.msgpack, ty)
    } else if !value.json.is_empty() {
        decode_json(&value.json, ty)
    } else {
        return Ok(Value::Null);
    };
    decoded.map_err(|e| {
        Diagnostic::error(
            format!("Invalid {what}"),
            format!("Terraform sent a {what} the provider could not decode: {e}."),
        )
    })
}

/// The JSON of a stored state (`UpgradeResourceState`). The legacy flatmap format only
/// exists in states written by Terraform 0.11 providers, which never included this one.
pub fn raw_state_json(raw: Option<&pb::RawState>) -> Result<serde_json::Value, Diagnostic> {
    let raw =
        raw.ok_or_else(|| Diagnostic::error("Missing state", "Terraform sent no stored state to upgrade."))?;
    if raw.json.is_empty() {
        let detail = if raw.flatmap.is_empty() {
            "Terraform sent an empty stored state."
        } else {
            "The stored state is in the legacy flatmap format of Terraform 0.11, which this provider never wrote and cannot read."
        };
        return Err(Diagnostic::error("Unsupported stored state", detail));
    }
    serde_json::from_slice(&raw.json).map_err(|e| {
        Diagnostic::error("Invalid stored state", format!("The stored state is not valid JSON: {e}."))
    })
}

/// Decode state JSON returned by a resource's upgrader against the current type.
/// Attributes the current schema no longer has (state written by an older provider
/// version) are dropped, as terraform-plugin-go does.
pub fn upgraded_state(json: &serde_json::Value, ty: &Type) -> Result<Value, Diagnostic> {
    let invalid = |e: &dyn std::fmt::Display| {
        Diagnostic::error(
            "Upgrading resource state",
            format!("The upgraded state does not match the current schema: {e}."),
        )
    };
    let bytes = serde_json::to_vec(json).map_err(|e| invalid(&e))?;
    decode_json_ignore_undefined(&bytes, ty).map_err(|e| invalid(&e))
}

/// An argument of a provider function that could not be decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgumentError {
    pub index: usize,
    pub message: String,
}

/// Decode function arguments: positional parameters first, then any number of variadic
/// ones (Terraform sends each variadic argument as its own value).
pub fn function_arguments(
    arguments: &[pb::DynamicValue],
    params: &[Type],
    variadic: Option<&Type>,
) -> Result<Vec<Value>, ArgumentError> {
    if arguments.len() < params.len() || (variadic.is_none() && arguments.len() > params.len()) {
        return Err(ArgumentError {
            index: arguments.len().min(params.len()),
            message: format!("expected {} argument(s), got {}", params.len(), arguments.len()),
        });
    }
    arguments
        .iter()
        .enumerate()
        .map(|(index, argument)| {
            let ty = params.get(index).or(variadic).unwrap_or(&Type::Dynamic);
            dynamic_value(Some(argument), ty, "function argument")
                .map_err(|d| ArgumentError { index, message: d.detail })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flatmap_and_missing_state_are_errors() {
        let flat = pb::RawState { json: Vec::new(), flatmap: [("id".into(), "x".into())].into() };
        assert!(raw_state_json(Some(&flat)).unwrap_err().detail.contains("flatmap"));
        assert!(raw_state_json(None).is_err());
        let good = pb::RawState { json: br#"{"id":"x"}"#.to_vec(), flatmap: Default::default() };
        assert_eq!(raw_state_json(Some(&good)).unwrap(), json!({"id": "x"}));
    }

    #[test]
    fn absent_dynamic_value_is_null() {
        assert_eq!(dynamic_value(None, &Type::String, "config").unwrap(), Value::Null);
        let empty = pb::DynamicValue::default();
        assert_eq!(dynamic_value(Some(&empty), &Type::String, "config").unwrap(), Value::Null);
    }

    #[test]
    fn argument_count_is_checked() {
        let err = function_arguments(&[], &[Type::String], None).unwrap_err();
        assert_eq!(err.index, 0);
        let two = vec![pb::DynamicValue::default(), pb::DynamicValue::default()];
        assert!(function_arguments(&two, &[Type::String], None).is_err());
        assert_eq!(function_arguments(&two, &[Type::String], Some(&Type::String)).unwrap().len(), 2);
    }
}
