//! Dynamic Terraform values (cty) as the framework sees them.
//!
//! A `Value` is always read against a [`Type`] taken from the schema: the wire encodings
//! (msgpack and JSON, see `codec`) do not carry types except for dynamically-typed
//! attributes, which are represented by [`Value::Dynamic`].

use std::collections::BTreeMap;

use super::path::{AttributePath, Step};

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

    /// The value a path points at: attributes of objects, map keys, list/tuple indexes,
    /// and set elements (found by value). `None` when the path leads nowhere (including
    /// through null or unknown values).
    pub fn at_path(&self, path: &AttributePath) -> Option<&Value> {
        path.steps.iter().try_fold(self, |v, step| v.step(step))
    }

    fn step(&self, step: &Step) -> Option<&Value> {
        match (self, step) {
            (Value::Dynamic(_, inner), _) => inner.step(step),
            (Value::Object(m), Step::Attribute(name)) => m.get(name),
            (Value::Map(m), Step::Key(key)) => m.get(key),
            (Value::List(items) | Value::Tuple(items), Step::Index(i)) => {
                usize::try_from(*i).ok().and_then(|i| items.get(i))
            }
            (Value::Set(items), Step::SetElement(e)) => items.iter().find(|x| x.semantically_equal(e)),
            _ => None,
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
            (Value::Set(a), Value::Set(b)) => a.len() == b.len() && covers(a, b) && covers(b, a),
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

/// True when every element of `items` has a semantically equal element in `pool`. Elements
/// are bucketed by [`Value::semantic_hash`] first, so large sets (thousands of objects)
/// compare in linear rather than quadratic time.
fn covers(items: &[Value], pool: &[Value]) -> bool {
    if items.len() <= 8 {
        return items.iter().all(|x| pool.iter().any(|y| x.semantically_equal(y)));
    }
    let mut buckets: std::collections::HashMap<u64, Vec<&Value>> = std::collections::HashMap::new();
    for y in pool {
        buckets.entry(y.semantic_hash()).or_default().push(y);
    }
    items
        .iter()
        .all(|x| buckets.get(&x.semantic_hash()).is_some_and(|ys| ys.iter().any(|y| x.semantically_equal(y))))
}

impl Value {
    /// A hash consistent with [`Value::semantically_equal`]: semantically equal values hash
    /// alike (set elements combine order-independently; numbers, whose equality spans
    /// representations, all hash alike).
    pub fn semantic_hash(&self) -> u64 {
        use std::hash::Hasher;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.hash_into(&mut h);
        h.finish()
    }

    fn hash_into(&self, h: &mut impl std::hash::Hasher) {
        use std::hash::Hash;
        match self {
            Value::Null => 0u8.hash(h),
            Value::Unknown(_) => 1u8.hash(h),
            Value::Bool(b) => (2u8, b).hash(h),
            Value::Number(_) => 3u8.hash(h),
            Value::String(s) => (4u8, s).hash(h),
            Value::List(items) | Value::Tuple(items) => {
                (5u8, items.len()).hash(h);
                for item in items {
                    item.hash_into(h);
                }
            }
            Value::Set(items) => {
                let combined = items.iter().fold(0u64, |acc, item| acc.wrapping_add(item.semantic_hash()));
                (6u8, items.len(), combined).hash(h);
            }
            Value::Map(m) | Value::Object(m) => {
                (7u8, m.len()).hash(h);
                for (k, v) in m {
                    k.hash(h);
                    v.hash_into(h);
                }
            }
            Value::Dynamic(_, inner) => inner.hash_into(h),
        }
    }
}

fn number_eq(a: &Number, b: &Number) -> bool {
    match (a, b) {
        // Compare exact decimal forms: a Big may equal an integral float beyond i64.
        (Number::Big(_), _) | (_, Number::Big(_)) => {
            let canonical = |n: &Number| match n {
                Number::Big(text) => Number::parse(text),
                // Shortest float text is not exact; integral floats print exactly.
                Number::Float(f) if f.fract() == 0.0 && f.is_finite() => Number::parse(&format!("{f:.0}")),
                Number::Float(_) => Some(n.clone()),
                _ => Number::parse(&n.to_text()),
            };
            match (canonical(a), canonical(b)) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            }
        }
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

/// Reading attributes of an object value in resource code. Each returns `None` when the
/// attribute is absent, null, unknown or of another kind; nothing panics on bad data.
impl Value {
    /// The string attribute `name`.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.attr(name).and_then(Value::as_str)
    }

    /// The bool attribute `name`.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        self.attr(name).and_then(Value::as_bool)
    }

    /// The number attribute `name`, when it is a whole number that fits an i64.
    pub fn get_i64(&self, name: &str) -> Option<i64> {
        self.attr(name).and_then(Value::as_i64)
    }

    /// The strings of the set (or list) attribute `name`; `None` when it is null or
    /// unknown, or when any element is not a known string.
    pub fn get_string_set(&self, name: &str) -> Option<Vec<String>> {
        self.attr(name).and_then(Value::as_strings)
    }

    /// The strings of the list (or set) attribute `name`; see [`Value::get_string_set`].
    pub fn get_string_list(&self, name: &str) -> Option<Vec<String>> {
        self.get_string_set(name)
    }

    /// The elements of a list, set or tuple of strings (`None` if any is not a known string).
    pub fn as_strings(&self) -> Option<Vec<String>> {
        self.elements()?.iter().map(|e| e.as_str().map(str::to_owned)).collect()
    }

    /// Whether the attribute `name` holds a known, non-null value.
    pub fn has(&self, name: &str) -> bool {
        self.attr(name).is_some_and(|v| !v.is_null() && !v.is_unknown())
    }

    /// Set attribute `name` of an object value (no effect on other kinds); returns whether
    /// it was set.
    pub fn set_attr(&mut self, name: impl Into<String>, value: impl Into<Value>) -> bool {
        match self {
            Value::Object(m) => {
                m.insert(name.into(), value.into());
                true
            }
            Value::Dynamic(_, inner) => inner.set_attr(name, value),
            _ => false,
        }
    }

    /// Start building an object value: `Value::object().set("id", "x").build()`.
    pub fn object() -> ObjectBuilder {
        ObjectBuilder::default()
    }

    /// A set of strings.
    pub fn string_set<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::Set(items.into_iter().map(|s| Value::String(s.into())).collect())
    }

    /// A list of strings.
    pub fn string_list<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::List(items.into_iter().map(|s| Value::String(s.into())).collect())
    }
}

/// Order-insensitive equality of set elements (each element compared semantically).
pub fn set_eq(a: &[Value], b: &[Value]) -> bool {
    Value::Set(a.to_vec()).semantically_equal(&Value::Set(b.to_vec()))
}

/// Builds an object value attribute by attribute.
#[derive(Debug, Clone, Default)]
pub struct ObjectBuilder {
    attributes: BTreeMap<String, Value>,
}

impl ObjectBuilder {
    /// A builder with every attribute and nested block of `schema` null, so the result
    /// is a complete state object even where nothing was set.
    pub fn for_schema(schema: &super::schema::Schema) -> Self {
        let names = schema
            .block
            .attributes
            .iter()
            .map(|a| &a.name)
            .chain(schema.block.blocks.iter().map(|b| &b.name));
        Self { attributes: names.map(|n| (n.clone(), Value::Null)).collect() }
    }

    /// Set attribute `name` (`Option::None` sets null).
    #[must_use]
    pub fn set(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }

    /// Set attribute `name` to null.
    #[must_use]
    pub fn null(self, name: impl Into<String>) -> Self {
        self.set(name, Value::Null)
    }

    /// The object value.
    pub fn build(self) -> Value {
        Value::Object(self.attributes)
    }
}

impl From<ObjectBuilder> for Value {
    fn from(b: ObjectBuilder) -> Self {
        b.build()
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::String(s.clone())
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Number(Number::Int(i64::from(i)))
    }
}

impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Number(Number::Int(i64::from(i)))
    }
}

impl From<u64> for Value {
    fn from(u: u64) -> Self {
        Value::Number(i64::try_from(u).map_or(Number::UInt(u), Number::Int))
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Number(Number::Float(f))
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Self {
        Value::Number(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_sets_compare_by_content_not_order() {
        let element = |i: i64, n: Number| {
            Value::Object(BTreeMap::from([
                ("name".to_owned(), Value::String(format!("row{i}"))),
                ("n".to_owned(), Value::Number(n)),
                ("tags".to_owned(), Value::Set(vec![Value::from("a"), Value::from(i % 3 == 0)])),
            ]))
        };
        let a: Vec<Value> = (0..2000).map(|i| element(i, Number::Int(i))).collect();
        // Same content in reverse order, numbers in another representation.
        let b: Vec<Value> = (0..2000).rev().map(|i| element(i, Number::Float(i as f64))).collect();
        assert!(Value::Set(a.clone()).semantically_equal(&Value::Set(b.clone())));
        let mut c = b.clone();
        c[0] = element(5000, Number::Int(1));
        assert!(!Value::Set(a.clone()).semantically_equal(&Value::Set(c)));
        assert!(!Value::Set(a[..1999].to_vec()).semantically_equal(&Value::Set(b[..1999].to_vec())));
        for (x, y) in a.iter().zip(b.iter().rev()) {
            assert_eq!(x.semantic_hash(), y.semantic_hash());
        }
    }

    fn sample() -> Value {
        Value::object()
            .set("id", "abc")
            .set("enabled", true)
            .set("count", 42)
            .set("big", Value::Number(Number::UInt(u64::MAX)))
            .set("tags", Value::string_set(["b", "a"]))
            .set("mixed", Value::Set(vec![Value::from("a"), Value::from(1)]))
            .set("partly_unknown", Value::Set(vec![Value::from("a"), Value::unknown()]))
            .set("missing", None::<String>)
            .set("later", Value::unknown())
            .build()
    }

    #[test]
    fn getters_table() {
        let v = sample();
        let cases: Vec<(&str, Option<String>, Option<String>)> = vec![
            ("get_str", v.get_str("id").map(str::to_owned), Some("abc".into())),
            ("get_str null", v.get_str("missing").map(str::to_owned), None),
            ("get_str unknown", v.get_str("later").map(str::to_owned), None),
            ("get_str wrong kind", v.get_str("count").map(str::to_owned), None),
            ("get_str absent", v.get_str("nope").map(str::to_owned), None),
            ("get_bool", v.get_bool("enabled").map(|b| b.to_string()), Some("true".into())),
            ("get_bool wrong kind", v.get_bool("id").map(|b| b.to_string()), None),
            ("get_i64", v.get_i64("count").map(|i| i.to_string()), Some("42".into())),
            ("get_i64 too big", v.get_i64("big").map(|i| i.to_string()), None),
            ("get_string_set", v.get_string_set("tags").map(|s| s.join(",")), Some("b,a".into())),
            ("get_string_set mixed", v.get_string_set("mixed").map(|s| s.join(",")), None),
            ("get_string_set unknown element", v.get_string_set("partly_unknown").map(|s| s.join(",")), None),
            ("get_string_set null", v.get_string_set("missing").map(|s| s.join(",")), None),
            ("get_string_set unknown", v.get_string_set("later").map(|s| s.join(",")), None),
            ("get_string_set on non-object", Value::from("x").get_string_set("a").map(|s| s.join(",")), None),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, want, "case {name}");
        }
        assert!(v.has("id") && !v.has("missing") && !v.has("later") && !v.has("nope"));
    }

    #[test]
    fn builder_and_set_attr() {
        let mut schema = super::super::schema::Schema::default();
        schema.block.attributes = vec![
            super::super::schema::Attribute::string("id"),
            super::super::schema::Attribute::string("name"),
        ];
        let mut v = ObjectBuilder::for_schema(&schema).set("id", "1").build();
        assert_eq!(v, Value::Object([("id".into(), "1".into()), ("name".into(), Value::Null)].into()));
        assert!(v.set_attr("name", "n"));
        assert_eq!(v.get_str("name"), Some("n"));
        assert!(!Value::Null.set_attr("x", 1));
        assert_eq!(Value::object().null("a").build().attr("a"), Some(&Value::Null));
    }

    #[test]
    fn equality_table() {
        let cases: Vec<(&str, Value, Value, bool)> = vec![
            ("set order ignored", Value::string_set(["a", "b"]), Value::string_set(["b", "a"]), true),
            ("list order matters", Value::string_list(["a", "b"]), Value::string_list(["b", "a"]), false),
            ("set sizes differ", Value::string_set(["a"]), Value::string_set(["a", "b"]), false),
            ("int equals float", Value::from(2), Value::from(2.0), true),
            ("uint equals int", Value::from(5u64), Value::from(5), true),
            (
                "nested sets in objects",
                Value::object().set("s", Value::string_set(["x", "y"])).build(),
                Value::object().set("s", Value::string_set(["y", "x"])).build(),
                true,
            ),
            ("different strings", Value::from("a"), Value::from("b"), false),
            (
                "big equals integral float",
                Value::from(1e21),
                Value::Number(Number::Big("1000000000000000000000".into())),
                true,
            ),
            (
                "big equals same text",
                Value::Number(Number::Big("0.1".into())),
                Value::Number(Number::Big("0.10".into())),
                true,
            ),
            (
                "inexact big is not the float",
                Value::Number(Number::Big("0.1".into())),
                Value::from(0.1),
                false,
            ),
        ];
        for (name, a, b, want) in cases {
            assert_eq!(a.semantically_equal(&b), want, "case {name}");
        }
        assert!(set_eq(&[Value::from("a"), Value::from("b")], &[Value::from("b"), Value::from("a")]));
    }

    #[test]
    fn at_path_table() {
        let v = Value::object()
            .set("list", Value::string_list(["a", "b"]))
            .set("set", Value::string_set(["x"]))
            .set("map", Value::Map([("k".into(), Value::from(1))].into()))
            .set("obj", Value::object().set("inner", true))
            .build();
        let p = AttributePath::new;
        let cases: Vec<(&str, AttributePath, Option<Value>)> = vec![
            ("attribute", p("obj").attr("inner"), Some(Value::Bool(true))),
            ("index", p("list").index(1), Some(Value::from("b"))),
            ("index out of range", p("list").index(5), None),
            ("negative index", p("list").index(-1), None),
            ("set element", p("set").set_element(Value::from("x")), Some(Value::from("x"))),
            ("missing set element", p("set").set_element(Value::from("y")), None),
            ("map key", p("map").key("k"), Some(Value::from(1))),
            ("wrong step kind", p("map").attr("k"), None),
            ("root", AttributePath::root(), Some(v.clone())),
        ];
        for (name, path, want) in cases {
            assert_eq!(v.at_path(&path).cloned(), want, "case {name}");
        }
    }
}
