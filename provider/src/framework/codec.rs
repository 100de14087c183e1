//! Wire encodings of values: cty's msgpack (used for every DynamicValue Terraform sends)
//! and JSON (raw state in `UpgradeResourceState`, import, some DynamicValues).

use super::value::{Type, Value};

/// Why bytes could not be decoded against a type.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("unexpected end of input")]
    Eof,
    #[error("{0}")]
    Invalid(String),
}

pub fn decode_msgpack(_bytes: &[u8], _ty: &Type) -> Result<Value, DecodeError> {
    Err(DecodeError::Invalid("msgpack decoding not implemented yet".into()))
}

pub fn encode_msgpack(_value: &Value, _ty: &Type) -> Vec<u8> {
    Vec::new()
}

pub fn decode_json(_bytes: &[u8], _ty: &Type) -> Result<Value, DecodeError> {
    Err(DecodeError::Invalid("JSON decoding not implemented yet".into()))
}

pub fn encode_json(_value: &Value, _ty: &Type) -> Vec<u8> {
    Vec::new()
}
