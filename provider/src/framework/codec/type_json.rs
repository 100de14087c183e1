//! cty's JSON form of types: `"string"`, `["list","string"]`,
//! `["object",{"a":"string"},["a"]]` (optional attributes third), `["tuple",[...]]`,
//! `"dynamic"`. Terraform uses it for schemas of dynamic values and inside both value
//! encodings of `DynamicPseudoType`.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::DecodeError;
use crate::framework::value::Type;

/// cty's JSON description of a type.
pub fn type_to_json(ty: &Type) -> Json {
    match ty {
        Type::Bool => json!("bool"),
        Type::Number => json!("number"),
        Type::String => json!("string"),
        Type::Dynamic => json!("dynamic"),
        Type::List(e) => json!(["list", type_to_json(e)]),
        Type::Set(e) => json!(["set", type_to_json(e)]),
        Type::Map(e) => json!(["map", type_to_json(e)]),
        Type::Tuple(es) => json!(["tuple", es.iter().map(type_to_json).collect::<Vec<_>>()]),
        Type::Object { attributes, optional } => {
            let attrs: serde_json::Map<String, Json> =
                attributes.iter().map(|(k, t)| (k.clone(), type_to_json(t))).collect();
            if optional.is_empty() {
                json!(["object", attrs])
            } else {
                let mut names = optional.clone();
                names.sort();
                names.dedup();
                json!(["object", attrs, names])
            }
        }
    }
}

/// The compact JSON text of [`type_to_json`], as cty writes it into dynamic values.
pub(crate) fn type_to_json_text(ty: &Type) -> String {
    type_to_json(ty).to_string()
}

/// Parse cty's JSON description of a type.
pub fn type_from_json(json: &Json) -> Result<Type, DecodeError> {
    match json {
        Json::String(name) => match name.as_str() {
            "bool" => Ok(Type::Bool),
            "number" => Ok(Type::Number),
            "string" => Ok(Type::String),
            "dynamic" => Ok(Type::Dynamic),
            other => Err(DecodeError::Invalid(format!("invalid primitive type name {other:?}"))),
        },
        Json::Array(items) => complex_type(items),
        _ => Err(DecodeError::Invalid("invalid type description".into())),
    }
}

fn complex_type(items: &[Json]) -> Result<Type, DecodeError> {
    let kind = items
        .first()
        .and_then(Json::as_str)
        .ok_or_else(|| DecodeError::Invalid("invalid complex type kind name".into()))?;
    let arity_error = || DecodeError::Invalid(format!("unexpected extra data in {kind} type description"));
    let element = || -> Result<Box<Type>, DecodeError> {
        match items {
            [_, e] => Ok(Box::new(type_from_json(e)?)),
            _ => Err(arity_error()),
        }
    };
    match kind {
        "list" => Ok(Type::List(element()?)),
        "set" => Ok(Type::Set(element()?)),
        "map" => Ok(Type::Map(element()?)),
        "tuple" => match items {
            [_, Json::Array(es)] => Ok(Type::Tuple(es.iter().map(type_from_json).collect::<Result<_, _>>()?)),
            _ => Err(arity_error()),
        },
        "object" => {
            let (attrs, optional) = match items {
                [_, Json::Object(attrs)] => (attrs, None),
                [_, Json::Object(attrs), Json::Array(optional)] => (attrs, Some(optional)),
                _ => return Err(arity_error()),
            };
            let attributes = attrs
                .iter()
                .map(|(k, t)| Ok((k.clone(), type_from_json(t)?)))
                .collect::<Result<BTreeMap<_, _>, DecodeError>>()?;
            let mut optional = optional
                .map(|names| {
                    names
                        .iter()
                        .map(|n| {
                            n.as_str().map(str::to_owned).ok_or_else(|| {
                                DecodeError::Invalid("optional attribute names must be strings".into())
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default();
            optional.sort();
            optional.dedup();
            Ok(Type::Object { attributes, optional })
        }
        other => Err(DecodeError::Invalid(format!("invalid complex type kind name {other:?}"))),
    }
}
