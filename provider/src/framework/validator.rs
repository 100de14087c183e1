//! Attribute validators. Each skips null and unknown values (nothing can be checked yet)
//! and reports at the attribute's path.
//!
//! Implementations (uuid, one_of, length, range, regex, conflicts_with, ...) live below the
//! trait; resources use the constructor functions.

use std::fmt::Debug;

use super::diag::Diagnostics;
use super::path::AttributePath;
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
