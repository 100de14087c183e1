//! Attribute plan modifiers, applied by `plan` after the framework's own semantics
//! (computed-and-unset attributes marked unknown on create/update).

use std::fmt::Debug;

use super::diag::Diagnostics;
use super::path::AttributePath;
use super::value::Value;

#[derive(Debug)]
pub struct PlanModifyRequest<'a> {
    pub path: &'a AttributePath,
    pub config_value: &'a Value,
    /// `Value::Null` on create.
    pub state_value: &'a Value,
    /// True on create (no prior state).
    pub is_create: bool,
}

#[derive(Debug)]
pub struct PlanModifyResponse {
    pub plan_value: Value,
    pub requires_replace: bool,
    pub diagnostics: Diagnostics,
}

pub trait PlanModifier: Send + Sync + Debug {
    /// Plain-text description for docs.
    fn description(&self) -> String;
    fn modify(&self, req: &PlanModifyRequest<'_>, resp: &mut PlanModifyResponse);
}
