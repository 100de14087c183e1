//! Attribute validators. Each skips null and unknown values (nothing can be checked yet)
//! and reports at the attribute's path.
//!
//! Implementations (uuid, one_of, length, range, all_chars, conflicts_with, ...) live below the
//! trait; resources use the constructor functions.

use std::fmt::Debug;

use super::diag::Diagnostics;
use super::path::{AttributePath, Step};
use super::value::Value;

/// What a validator is given.
#[derive(Debug)]
pub struct ValidateRequest<'a> {
    pub path: &'a AttributePath,
    /// The attribute's own configured value (never null/unknown when `validate` is called,
    /// except for validators that declare `wants_null_or_unknown`).
    pub value: &'a Value,
    /// The whole configuration object of the resource, for cross-attribute checks.
    pub config: &'a Value,
}

pub trait Validator: Send + Sync + Debug {
    /// Plain-text description for docs ("must be a GUID").
    fn description(&self) -> String;
    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics);
    /// Cross-attribute validators (e.g. "required with") also see null values.
    fn wants_null(&self) -> bool {
        false
    }
}

/// Summary of diagnostics about one attribute's value.
const INVALID_VALUE: &str = "Invalid attribute value";
/// Summary of diagnostics about attributes that cannot be combined as configured.
const INVALID_COMBINATION: &str = "Invalid attribute combination";

fn invalid(req: &ValidateRequest<'_>, diags: &mut Diagnostics, expected: &str, got: impl std::fmt::Display) {
    diags.attribute_error(
        req.path.clone(),
        INVALID_VALUE,
        format!("Attribute {} {expected}, got: {got}", req.path),
    );
}

/// A value shown in a message: strings quoted, collections by size.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => format!("{} elements", items.len()),
        Value::Map(m) | Value::Object(m) => format!("{} entries", m.len()),
        Value::Dynamic(_, inner) => shown(inner),
        Value::Null | Value::Unknown(_) => v.kind_name().to_owned(),
    }
}

/// The string to check, or a diagnostic when the value is not a string.
fn string_value<'a>(req: &ValidateRequest<'a>, diags: &mut Diagnostics) -> Option<&'a str> {
    let s = req.value.as_str();
    if s.is_none() {
        invalid(req, diags, "must be a string", req.value.kind_name());
    }
    s
}

/// Checks that a string is a GUID in its 8-4-4-4-12 hexadecimal form.
#[derive(Debug, Clone)]
pub struct Uuid;

/// The value must be a GUID (`00000000-0000-0000-0000-000000000000`).
pub fn uuid() -> Uuid {
    Uuid
}

/// Whether `s` has the 8-4-4-4-12 hexadecimal GUID form (either case, no braces).
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl Validator for Uuid {
    fn description(&self) -> String {
        "must be a GUID (8-4-4-4-12 hexadecimal digits)".into()
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        if let Some(s) = string_value(req, diags)
            && !is_guid(s)
        {
            invalid(
                req,
                diags,
                "must be a GUID such as 00000000-0000-0000-0000-000000000000 (8-4-4-4-12 hexadecimal digits)",
                format!("{s:?}"),
            );
        }
    }
}

/// Checks that a string is one of a fixed set (case-sensitive).
#[derive(Debug, Clone)]
pub struct OneOf {
    allowed: Vec<String>,
}

/// The value must be exactly one of `allowed`.
pub fn one_of(allowed: &[&str]) -> OneOf {
    OneOf { allowed: allowed.iter().map(|s| (*s).to_owned()).collect() }
}

impl OneOf {
    fn list(&self) -> String {
        self.allowed.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ")
    }
}

impl Validator for OneOf {
    fn description(&self) -> String {
        format!("must be one of: {}", self.list())
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        if let Some(s) = string_value(req, diags)
            && !self.allowed.iter().any(|a| a == s)
        {
            invalid(req, diags, &format!("must be one of: {}", self.list()), format!("{s:?}"));
        }
    }
}

/// Checks a string's length in characters.
#[derive(Debug, Clone)]
pub struct StringLength {
    min: usize,
    max: usize,
}

/// The string must have between `min` and `max` characters (inclusive).
pub fn string_length(min: usize, max: usize) -> StringLength {
    StringLength { min, max }
}

/// The string must not be empty; collections must have at least one element.
pub fn not_empty() -> NotEmpty {
    NotEmpty
}

impl Validator for StringLength {
    fn description(&self) -> String {
        format!("string length must be between {} and {}", self.min, self.max)
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        if let Some(s) = string_value(req, diags) {
            let n = s.chars().count();
            if n < self.min || n > self.max {
                invalid(
                    req,
                    diags,
                    &format!("string length must be between {} and {}", self.min, self.max),
                    n,
                );
            }
        }
    }
}

/// Checks that a string or collection is not empty.
#[derive(Debug, Clone)]
pub struct NotEmpty;

impl Validator for NotEmpty {
    fn description(&self) -> String {
        "must not be empty".into()
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        let empty = match req.value {
            Value::String(s) => s.is_empty(),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => items.is_empty(),
            Value::Map(m) => m.is_empty(),
            _ => false,
        };
        if empty {
            invalid(req, diags, "must not be empty", shown(req.value));
        }
    }
}

/// Checks that a number is an integer within a range.
#[derive(Debug, Clone)]
pub struct IntBetween {
    min: i64,
    max: i64,
}

/// The value must be a whole number between `min` and `max` (inclusive).
pub fn int_between(min: i64, max: i64) -> IntBetween {
    IntBetween { min, max }
}

impl Validator for IntBetween {
    fn description(&self) -> String {
        format!("must be a whole number between {} and {}", self.min, self.max)
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        let ok = req.value.as_i64().is_some_and(|i| (self.min..=self.max).contains(&i));
        if !ok {
            invalid(req, diags, &self.description(), shown(req.value));
        }
    }
}

/// Checks that a string is not empty and that each of its characters passes a test.
#[derive(Debug, Clone)]
pub struct AllChars {
    allowed: fn(char) -> bool,
    message: String,
}

/// The string must be non-empty and every character must satisfy `allowed` (such as
/// `|c| c.is_ascii_digit()`); `message` says what is expected, e.g. "must be digits".
/// (A character test instead of a regular expression: the regex engine would add a
/// quarter of a megabyte of code to every provider start for one simple pattern.)
pub fn all_chars(allowed: fn(char) -> bool, message: &str) -> AllChars {
    AllChars { allowed, message: message.to_owned() }
}

impl Validator for AllChars {
    fn description(&self) -> String {
        self.message.clone()
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        let Some(s) = string_value(req, diags) else {
            return;
        };
        if s.is_empty() || !s.chars().all(self.allowed) {
            invalid(req, diags, &self.message, format!("{s:?}"));
        }
    }
}

/// Checks the number of elements of a list, set or map.
#[derive(Debug, Clone)]
pub struct SizeBetween {
    min: usize,
    max: usize,
}

/// The collection must have between `min` and `max` elements (inclusive).
pub fn size_between(min: usize, max: usize) -> SizeBetween {
    SizeBetween { min, max }
}

impl Validator for SizeBetween {
    fn description(&self) -> String {
        format!("must have between {} and {} elements", self.min, self.max)
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        let len = match req.value {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => items.len(),
            Value::Map(m) => m.len(),
            other => return invalid(req, diags, "must be a collection", other.kind_name()),
        };
        if len < self.min || len > self.max {
            invalid(req, diags, &self.description(), format!("{len} elements"));
        }
    }
}

/// Runs a validator on every element of a list, set or map, at the element's path.
#[derive(Debug, Clone)]
pub struct EachElement {
    inner: std::sync::Arc<dyn Validator>,
}

/// Apply `v` to each element (list index, set element or map key paths).
pub fn each_element(v: impl Validator + 'static) -> EachElement {
    EachElement { inner: std::sync::Arc::new(v) }
}

impl Validator for EachElement {
    fn description(&self) -> String {
        format!("each element {}", self.inner.description())
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        let check = |path: AttributePath, value: &Value, diags: &mut Diagnostics| {
            if (value.is_null() || value.is_unknown()) && !self.inner.wants_null() {
                return;
            }
            self.inner.validate(&ValidateRequest { path: &path, value, config: req.config }, diags);
        };
        match req.value {
            Value::List(items) | Value::Tuple(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(req.path.clone().index(i as i64), item, diags);
                }
            }
            Value::Set(items) => {
                for item in items {
                    check(req.path.clone().set_element(item.clone()), item, diags);
                }
            }
            Value::Map(m) => {
                for (k, item) in m {
                    check(req.path.clone().key(k.clone()), item, diags);
                }
            }
            other => invalid(req, diags, "must be a collection", other.kind_name()),
        }
    }
}

/// The object holding the attribute at `req.path`, and that attribute's name.
fn parent<'a>(req: &ValidateRequest<'a>) -> Option<(&'a Value, &'a str)> {
    let (last, init) = req.path.steps.split_last()?;
    let Step::Attribute(name) = last else {
        return None;
    };
    let parent_path = AttributePath { steps: init.to_vec() };
    let parent = req.config.at_path(&parent_path)?;
    // `name` borrows from req.path, which lives for 'a.
    Some((parent, name.as_str()))
}

/// A sibling's value: `Some(None)` when absent or null, `None` when unknown.
fn sibling<'a>(parent: &'a Value, name: &str) -> Option<Option<&'a Value>> {
    match parent.attr(name) {
        Some(Value::Unknown(_)) => None,
        Some(Value::Null) | None => Some(None),
        Some(v) => Some(Some(v)),
    }
}

fn names_list(names: &[String]) -> String {
    names.join(", ")
}

/// Cross-attribute checks against siblings in the same object.
#[derive(Debug, Clone)]
pub struct Siblings {
    rule: SiblingRule,
    others: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SiblingRule {
    ConflictsWith,
    AlsoRequires,
    ExactlyOneOf,
}

/// When this attribute is set, none of `others` (sibling names) may be set.
pub fn conflicts_with(others: &[&str]) -> Siblings {
    Siblings { rule: SiblingRule::ConflictsWith, others: others.iter().map(|s| (*s).to_owned()).collect() }
}

/// When this attribute is set, all of `others` (sibling names) must be set too.
pub fn also_requires(others: &[&str]) -> Siblings {
    Siblings { rule: SiblingRule::AlsoRequires, others: others.iter().map(|s| (*s).to_owned()).collect() }
}

/// Exactly one of this attribute and `others` (sibling names) must be set.
pub fn exactly_one_of(others: &[&str]) -> Siblings {
    Siblings { rule: SiblingRule::ExactlyOneOf, others: others.iter().map(|s| (*s).to_owned()).collect() }
}

impl Validator for Siblings {
    fn description(&self) -> String {
        let others = names_list(&self.others);
        match self.rule {
            SiblingRule::ConflictsWith => format!("cannot be set together with: {others}"),
            SiblingRule::AlsoRequires => format!("requires these to be set too: {others}"),
            SiblingRule::ExactlyOneOf => format!("exactly one of this and {others} must be set"),
        }
    }

    fn wants_null(&self) -> bool {
        self.rule == SiblingRule::ExactlyOneOf
    }

    fn validate(&self, req: &ValidateRequest<'_>, diags: &mut Diagnostics) {
        // Unknown values may still turn out null or not; Terraform validates again with
        // known values before apply.
        if req.value.is_unknown() {
            return;
        }
        let Some((parent, own)) = parent(req) else {
            return;
        };
        let mut set = Vec::new();
        for name in self.others.iter().filter(|n| n.as_str() != own) {
            match sibling(parent, name) {
                None => return,
                Some(Some(_)) => set.push(name.clone()),
                Some(None) => {}
            }
        }
        let unset: Vec<String> =
            self.others.iter().filter(|n| n.as_str() != own && !set.contains(n)).cloned().collect();
        let is_set = !req.value.is_null();
        let detail = match self.rule {
            SiblingRule::ConflictsWith if is_set && !set.is_empty() => format!(
                "Attribute {} cannot be set together with {}. Remove one of them.",
                req.path,
                names_list(&set)
            ),
            SiblingRule::AlsoRequires if is_set && !unset.is_empty() => {
                format!("Attribute {} requires {} to be set as well.", req.path, names_list(&unset))
            }
            SiblingRule::ExactlyOneOf if usize::from(is_set) + set.len() != 1 => {
                let mut all = vec![own.to_owned()];
                all.extend(self.others.iter().filter(|n| n.as_str() != own).cloned());
                let got = if is_set || !set.is_empty() {
                    let mut given = if is_set { vec![own.to_owned()] } else { Vec::new() };
                    given.extend(set);
                    format!("got: {}", names_list(&given))
                } else {
                    "got none".to_owned()
                };
                format!("Exactly one of these attributes must be set: {}; {got}.", names_list(&all))
            }
            _ => return,
        };
        diags.attribute_error(req.path.clone(), INVALID_COMBINATION, detail);
    }
}
