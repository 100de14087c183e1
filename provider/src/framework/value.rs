//! Dynamic Terraform values (cty) as the framework sees them.
//!
//! A `Value` is always read against a [`Type`] taken from the schema: the wire encodings
//! (msgpack and JSON, see `codec`) do not carry types except for dynamically-typed
//! attributes, which are represented by [`Value::Dynamic`].

use std::collections::BTreeMap;

/// A cty type. Object attribute order is irrelevant, so objects use a sorted map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Bool,
    Number,
    String,
    /// `DynamicPseudoType`: the value carries its own type on the wire.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Tuple(Vec<Type>),
    Object {
        attributes: BTreeMap<String, Type>,
        /// Names of attributes declared optional (`optional(...)` in HCL type constraints).
        optional: Vec<String>,
    },
}

/// A number. Terraform numbers are arbitrary-precision decimals; the common cases are kept
/// native and anything else keeps its exact decimal text.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    Int(i64),
    UInt(u64),
    Float(f64),
    /// Exact decimal text for numbers that fit neither i64/u64 nor f64 exactly.
    Big(String),
}

/// What Terraform may tell us about an unknown value ("refined unknowns", Terraform ≥ 1.6).
/// Kept so that values round-trip; the framework only uses `not_null`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Refinements {
    pub not_null: bool,
    /// Any other refinement payload, kept verbatim (msgpack bytes) to re-encode it unchanged.
    pub raw: Option<Vec<u8>>,
}

/// A Terraform value tree.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Unknown(Refinements),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Set elements in wire order; equality of sets is order-insensitive (see `set_eq`).
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    Object(BTreeMap<String, Value>),
    /// A value of a dynamically-typed attribute, with the concrete type it was sent with.
    Dynamic(Type, Box<Value>),
}

impl Type {
    /// cty's user-facing name of the type ("string", "list of string", "object").
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::Dynamic => "dynamic".into(),
            Type::List(e) => format!("list of {}", e.friendly_name()),
            Type::Set(e) => format!("set of {}", e.friendly_name()),
            Type::Map(e) => format!("map of {}", e.friendly_name()),
            Type::Tuple(_) => "tuple".into(),
            Type::Object { .. } => "object".into(),
        }
    }

    /// An object type with the given attributes and none optional.
    pub fn object<I, K>(attributes: I) -> Type
    where
        I: IntoIterator<Item = (K, Type)>,
        K: Into<String>,
    {
        Type::Object {
            attributes: attributes.into_iter().map(|(k, t)| (k.into(), t)).collect(),
            optional: Vec::new(),
        }
    }
}

impl Value {
    pub fn unknown() -> Self {
        Value::Unknown(Refinements::default())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_))
    }

    /// True when neither this value nor anything inside it is unknown.
    pub fn is_fully_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v.iter().all(Value::is_fully_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_fully_known),
            Value::Dynamic(_, v) => v.is_fully_known(),
            _ => true,
        }
    }

    /// What kind of value this is, for messages ("string", "list", "unknown value").
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown(_) => "unknown value",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Tuple(_) => "tuple",
            Value::Object(_) => "object",
            Value::Dynamic(_, v) => v.kind_name(),
        }
    }

    /// The type this value evidently has, for writing it where any type is allowed.
    /// Collections take their element type from the first element; `None` when nothing
    /// tells (null, unknown).
    pub fn implied_type(&self) -> Option<Type> {
        let first_type =
            |items: &[Value]| items.iter().find_map(Value::implied_type).unwrap_or(Type::Dynamic);
        match self {
            Value::Null | Value::Unknown(_) => None,
            Value::Bool(_) => Some(Type::Bool),
            Value::Number(_) => Some(Type::Number),
            Value::String(_) => Some(Type::String),
            Value::List(items) => Some(Type::List(Box::new(first_type(items)))),
            Value::Set(items) => Some(Type::Set(Box::new(first_type(items)))),
            Value::Map(m) => Some(Type::Map(Box::new(first_type(&m.values().cloned().collect::<Vec<_>>())))),
            Value::Tuple(items) => {
                Some(Type::Tuple(items.iter().map(|v| v.implied_type().unwrap_or(Type::Dynamic)).collect()))
            }
            Value::Object(m) => Some(Type::object(
                m.iter().map(|(k, v)| (k.clone(), v.implied_type().unwrap_or(Type::Dynamic))),
            )),
            Value::Dynamic(t, _) => Some(t.clone()),
        }
    }

    /// The attribute `name` of an object value; `None` for non-objects or absent names.
    pub fn attr(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.get(name),
            Value::Dynamic(_, v) => v.attr(name),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(Number::Int(i)) => Some(*i),
            Value::Number(Number::UInt(u)) => i64::try_from(*u).ok(),
            Value::Number(Number::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    /// Elements of a list, set or tuple.
    pub fn elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Order-insensitive equality for sets (recursively), ordinary equality otherwise.
    pub fn semantically_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Set(a), Value::Set(b)) => {
                a.len() == b.len()
                    && a.iter().all(|x| b.iter().any(|y| x.semantically_equal(y)))
                    && b.iter().all(|y| a.iter().any(|x| x.semantically_equal(y)))
            }
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.semantically_equal(y))
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| x.semantically_equal(y)))
            }
            (Value::Number(a), Value::Number(b)) => number_eq(a, b),
            (Value::Dynamic(ta, a), Value::Dynamic(tb, b)) => ta == tb && a.semantically_equal(b),
            _ => self == other,
        }
    }
}

fn number_eq(a: &Number, b: &Number) -> bool {
    match (a, b) {
        (Number::Big(x), Number::Big(y)) => x == y,
        (Number::Big(_), _) | (_, Number::Big(_)) => false,
        _ => to_f64(a) == to_f64(b) && to_i128(a) == to_i128(b),
    }
}

fn to_f64(n: &Number) -> f64 {
    match n {
        Number::Int(i) => *i as f64,
        Number::UInt(u) => *u as f64,
        Number::Float(f) => *f,
        Number::Big(_) => f64::NAN,
    }
}

fn to_i128(n: &Number) -> Option<i128> {
    match n {
        Number::Int(i) => Some(i128::from(*i)),
        Number::UInt(u) => Some(i128::from(*u)),
        Number::Float(f) if f.fract() == 0.0 && f.abs() < 1.0e30 => Some(*f as i128),
        _ => None,
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(Number::Int(i))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}
