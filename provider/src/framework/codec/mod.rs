//! Wire encodings of values: cty's msgpack (used for every DynamicValue Terraform sends)
//! and JSON (raw state in `UpgradeResourceState`, import, some DynamicValues).
//!
//! Both follow go-cty (`cty/msgpack`, `cty/json`) byte for byte where it matters to
//! Terraform: values are decoded against a [`Type`] from the schema, numbers that fit
//! neither an integer nor a float64 exactly travel as decimal strings, and
//! dynamically-typed values carry their type as cty type JSON.

mod json;
mod json_text;
mod msgpack;
mod number;
mod type_json;

use super::path::AttributePath;
use super::value::{Type, Value};

pub use type_json::{type_from_json, type_to_json};

/// Why bytes could not be decoded against a type.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("unexpected end of input")]
    Eof,
    #[error("{0}")]
    Invalid(String),
}

impl DecodeError {
    /// An `Invalid` error that names where in the value it happened.
    pub(crate) fn at(path: &AttributePath, message: impl std::fmt::Display) -> Self {
        if path.is_root() {
            DecodeError::Invalid(message.to_string())
        } else {
            DecodeError::Invalid(format!("{path}: {message}"))
        }
    }
}

/// Why a value could not be encoded as the given type (a provider bug: the value does not
/// conform to the schema, or an unknown value was to be written as JSON).
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("cannot encode value at {path_text}: {message}")]
pub struct EncodeError {
    pub path: AttributePath,
    /// `path` rendered for messages.
    pub path_text: String,
    pub message: String,
}

impl EncodeError {
    pub(crate) fn new(path: &AttributePath, message: impl Into<String>) -> Self {
        let path_text = if path.is_root() { "the top level".to_owned() } else { path.to_string() };
        Self { path: path.clone(), path_text, message: message.into() }
    }
}

/// Attributes an object lacks decode as null. With a dynamic type the input also chooses the
/// object's attributes, so a short input could name K attributes once and then hold N empty
/// objects: N × K nulls from N + K bytes. The nulls one decode may add are bounded by its input
/// (generously: a state written by an older schema lacks a few attributes per object, and an
/// object costs at least one input byte).
pub(super) struct FillBudget(usize);

impl FillBudget {
    const PER_INPUT_BYTE: usize = 8;
    const BASE: usize = 4096;

    pub(super) fn for_input(len: usize) -> Self {
        Self(len.saturating_mul(Self::PER_INPUT_BYTE).saturating_add(Self::BASE))
    }

    /// Takes one null from the budget.
    pub(super) fn spend(&mut self) -> Result<(), &'static str> {
        self.0 = self.0.checked_sub(1).ok_or("objects lack more attributes than the input can describe")?;
        Ok(())
    }
}

/// Decode cty msgpack bytes as a value of type `ty`.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    msgpack::decode(bytes, ty)
}

/// Encode `value` as cty msgpack of type `ty`, reporting values that do not conform to
/// the type.
pub fn try_encode_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let (bytes, error) = msgpack::encode(value, ty);
    error.map_or(Ok(bytes), Err)
}

/// Encode `value` as cty msgpack of type `ty`. Parts that do not conform to the type are
/// written as null (and logged); use [`try_encode_msgpack`] to see the error instead.
pub fn encode_msgpack(value: &Value, ty: &Type) -> Vec<u8> {
    let (bytes, error) = msgpack::encode(value, ty);
    if let Some(e) = error {
        tracing::error!(error = %e, "value does not conform to its schema type; wrote null instead");
    }
    bytes
}

/// Decode cty JSON as a value of type `ty` (with cty's primitive conversions, e.g. a
/// JSON string where a number is expected).
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    json::decode(bytes, ty, json::Attributes::Strict)
}

/// Like [`decode_json`], but object attributes the type does not declare are dropped
/// instead of rejected: for state JSON written by an older schema
/// (`UpgradeResourceState`), as terraform-plugin-go does there.
pub fn decode_json_ignore_undefined(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    json::decode(bytes, ty, json::Attributes::IgnoreUndefined)
}

/// Encode `value` as cty JSON of type `ty`, reporting unknown values and values that do
/// not conform to the type.
pub fn try_encode_json(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let (bytes, error) = json::encode(value, ty);
    error.map_or(Ok(bytes), Err)
}

/// Encode `value` as cty JSON of type `ty`. Unknown or non-conforming parts are written
/// as null (and logged); use [`try_encode_json`] to see the error instead.
pub fn encode_json(value: &Value, ty: &Type) -> Vec<u8> {
    let (bytes, error) = json::encode(value, ty);
    if let Some(e) = error {
        tracing::error!(error = %e, "value cannot be written as JSON; wrote null instead");
    }
    bytes
}

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
