//! cty's JSON encoding of values (go-cty `cty/json`): the form of state files and of
//! `UpgradeResourceState`'s raw state. Unknown values cannot be written.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::json_text::{self, Json};
use super::type_json::{type_from_json, type_to_json_text};
use super::{DecodeError, EncodeError};
use crate::framework::path::{AttributePath, Step};
use crate::framework::value::{Number, Type, Value};

/// How strictly object attributes are matched against the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attributes {
    /// Attributes the type does not have are an error (cty's behaviour).
    Strict,
    /// Attributes the type does not have are dropped (state written by an older schema).
    IgnoreUndefined,
}

pub(super) fn decode(bytes: &[u8], ty: &Type, mode: Attributes) -> Result<Value, DecodeError> {
    let doc = json_text::parse(bytes)?;
    let mut path = AttributePath::root();
    let mut walk = Walk { mode, fills: super::FillBudget::for_input(bytes.len()) };
    value(&doc, ty, &mut path, &mut walk)
}

/// What every level of one decode shares.
struct Walk {
    mode: Attributes,
    fills: super::FillBudget,
}

fn value(j: &Json, ty: &Type, path: &mut AttributePath, walk: &mut Walk) -> Result<Value, DecodeError> {
    let err = |path: &AttributePath, m: &str| DecodeError::at(path, m);
    if *j == Json::Null {
        return Ok(Value::Null);
    }
    match ty {
        Type::Dynamic => dynamic(j, path, walk),
        // cty converts between primitives where the text allows it.
        Type::Bool => match j {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s == "true" || s == "1" => Ok(Value::Bool(true)),
            Json::String(s) if s == "false" || s == "0" => Ok(Value::Bool(false)),
            _ => Err(err(path, "bool is required")),
        },
        Type::Number => match j {
            Json::Number(text) | Json::String(text) => {
                Number::parse(text).map(Value::Number).ok_or_else(|| err(path, "number is required"))
            }
            _ => Err(err(path, "number is required")),
        },
        Type::String => match j {
            Json::String(s) | Json::Number(s) => Ok(Value::String(s.clone())),
            Json::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(err(path, "string is required")),
        },
        Type::List(e) | Type::Set(e) => {
            let Json::Array(items) = j else {
                return Err(err(
                    path,
                    if matches!(ty, Type::Set(_)) { "a set is required" } else { "a list is required" },
                ));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.steps.push(Step::Index(i as i64));
                let v = value(item, e, path, walk);
                path.steps.pop();
                out.push(v?);
            }
            Ok(if matches!(ty, Type::Set(_)) { Value::Set(out) } else { Value::List(out) })
        }
        Type::Tuple(es) => {
            let Json::Array(items) = j else {
                return Err(err(path, "a tuple is required"));
            };
            if items.len() != es.len() {
                return Err(err(path, &format!("a tuple of length {} is required", es.len())));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, t)) in items.iter().zip(es).enumerate() {
                path.steps.push(Step::Index(i as i64));
                let v = value(item, t, path, walk);
                path.steps.pop();
                out.push(v?);
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(e) => {
            let Json::Object(members) = j else {
                return Err(err(path, "a map is required"));
            };
            let mut out = BTreeMap::new();
            for (k, item) in members {
                path.steps.push(Step::Key(k.clone()));
                let v = value(item, e, path, walk);
                path.steps.pop();
                out.insert(k.clone(), v?);
            }
            Ok(Value::Map(out))
        }
        Type::Object { attributes, .. } => {
            let Json::Object(members) = j else {
                return Err(err(path, "an object is required"));
            };
            let mut out = BTreeMap::new();
            for (k, item) in members {
                let Some(t) = attributes.get(k) else {
                    if walk.mode == Attributes::IgnoreUndefined {
                        continue;
                    }
                    return Err(err(path, &format!("unsupported attribute {k:?}")));
                };
                path.steps.push(Step::Attribute(k.clone()));
                let v = value(item, t, path, walk);
                path.steps.pop();
                out.insert(k.clone(), v?);
            }
            for name in attributes.keys() {
                if !out.contains_key(name) {
                    walk.fills.spend().map_err(|m| err(path, m))?;
                    out.insert(name.clone(), Value::Null);
                }
            }
            Ok(Value::Object(out))
        }
    }
}

/// `{"value": ..., "type": ...}`.
fn dynamic(j: &Json, path: &mut AttributePath, walk: &mut Walk) -> Result<Value, DecodeError> {
    let Json::Object(members) = j else {
        return Err(DecodeError::at(
            path,
            "a dynamically-typed value must be an object with \"value\" and \"type\"",
        ));
    };
    let mut ty = None;
    let mut body = None;
    for (k, v) in members {
        match k.as_str() {
            "type" => ty = Some(type_from_json(&v.to_serde()).map_err(|e| DecodeError::at(path, e))?),
            "value" => body = Some(v),
            other => {
                return Err(DecodeError::at(
                    path,
                    format!("invalid key {other:?} in dynamically-typed value"),
                ));
            }
        }
    }
    let ty = ty.ok_or_else(|| DecodeError::at(path, "missing type in dynamically-typed value"))?;
    let body = body.ok_or_else(|| DecodeError::at(path, "missing value in dynamically-typed value"))?;
    let v = value(body, &ty, path, walk)?;
    Ok(Value::Dynamic(ty, Box::new(v)))
}

pub(super) fn encode(v: &Value, ty: &Type) -> (Vec<u8>, Option<EncodeError>) {
    let mut e = Encoder { out: String::new(), error: None, path: AttributePath::root() };
    e.value(v, ty);
    (e.out.into_bytes(), e.error)
}

struct Encoder {
    out: String,
    error: Option<EncodeError>,
    path: AttributePath,
}

impl Encoder {
    fn fail(&mut self, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(EncodeError::new(&self.path, message));
        }
        self.out.push_str("null");
    }

    fn value(&mut self, v: &Value, ty: &Type) {
        if let Value::Unknown(_) = v {
            return self.fail("value is not known");
        }
        if *ty == Type::Dynamic {
            return self.dynamic(v);
        }
        match (v, ty) {
            (Value::Dynamic(_, inner), _) => self.value(inner, ty),
            (Value::Null, _) => self.out.push_str("null"),
            (Value::Bool(b), Type::Bool) => self.out.push_str(if *b { "true" } else { "false" }),
            (Value::String(s), Type::Bool) if s == "true" || s == "false" => self.out.push_str(s),
            (Value::Number(n), Type::Number) => self.number(n),
            (Value::String(s), Type::Number) => match Number::parse(s) {
                Some(n) => self.number(&n),
                None => self.fail(format!("{s:?} is not a number")),
            },
            (Value::String(s), Type::String) => self.str(s),
            (Value::Number(n), Type::String) => self.str(&n.to_text()),
            (Value::Bool(b), Type::String) => self.str(if *b { "true" } else { "false" }),
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::List(e) | Type::Set(e)) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.path.steps.push(Step::Index(i as i64));
                    self.value(item, e);
                    self.path.steps.pop();
                }
                self.out.push(']');
            }
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Tuple(es)) => {
                if items.len() != es.len() {
                    return self.fail(format!("a tuple of length {} is required", es.len()));
                }
                self.out.push('[');
                for (i, (item, t)) in items.iter().zip(es).enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.path.steps.push(Step::Index(i as i64));
                    self.value(item, t);
                    self.path.steps.pop();
                }
                self.out.push(']');
            }
            (Value::Map(m) | Value::Object(m), Type::Map(e)) => {
                self.out.push('{');
                for (i, (k, item)) in m.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.str(k);
                    self.out.push(':');
                    self.path.steps.push(Step::Key(k.clone()));
                    self.value(item, e);
                    self.path.steps.pop();
                }
                self.out.push('}');
            }
            (Value::Map(m) | Value::Object(m), Type::Object { attributes, .. }) => {
                if let Some(extra) = m.keys().find(|k| !attributes.contains_key(*k)) {
                    return self.fail(format!("unsupported attribute {extra:?}"));
                }
                self.out.push('{');
                for (i, (k, t)) in attributes.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.str(k);
                    self.out.push(':');
                    self.path.steps.push(Step::Attribute(k.clone()));
                    self.value(m.get(k).unwrap_or(&Value::Null), t);
                    self.path.steps.pop();
                }
                self.out.push('}');
            }
            (v, ty) => self.fail(format!("{} given where {} is required", v.kind_name(), ty.friendly_name())),
        }
    }

    fn dynamic(&mut self, v: &Value) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Dynamic(t, inner) if *t != Type::Dynamic => self.typed(t, inner),
            Value::Dynamic(_, inner) => self.dynamic(inner),
            other => match other.implied_type() {
                Some(t) => self.typed(&t, other),
                None => self.fail("the type of this dynamic value cannot be determined"),
            },
        }
    }

    fn typed(&mut self, t: &Type, v: &Value) {
        self.out.push_str("{\"value\":");
        self.value(v, t);
        self.out.push_str(",\"type\":");
        self.out.push_str(&type_to_json_text(t));
        self.out.push('}');
    }

    fn number(&mut self, n: &Number) {
        match n {
            Number::Float(f) if !f.is_finite() => self.fail("cannot serialize infinity or NaN as JSON"),
            Number::Big(s) => match Number::parse(s) {
                Some(Number::Big(canonical)) if is_plain_decimal(&canonical) => self.out.push_str(&canonical),
                Some(Number::Big(_)) | None => self.fail(format!("{s:?} is not a plain decimal number")),
                Some(other) => self.number(&other),
            },
            Number::Float(_) => match n.as_exact_i64() {
                Some(i) => {
                    let _ = write!(self.out, "{i}");
                }
                None => {
                    let _ = write!(self.out, "{n}");
                }
            },
            _ => {
                let _ = write!(self.out, "{n}");
            }
        }
    }

    /// A JSON string escaped as Go's `encoding/json` does (HTML-safe, U+2028/2029 escaped).
    fn str(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\u{8}' => self.out.push_str("\\b"),
                '\u{c}' => self.out.push_str("\\f"),
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{0}'..='\u{1f}' => {
                    let _ = write!(self.out, "\\u{:04x}", u32::from(c));
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// Big numbers kept with an exponent (too large to expand) are not valid cty JSON output.
fn is_plain_decimal(s: &str) -> bool {
    !s.contains(['e', 'E'])
}
