//! `ApplyResourceChange` dispatch: null prior → create, null planned → delete, else update.
//! Also `read_resource`, the `ReadResource` counterpart. Both bound `ctx` by the
//! resource's `timeouts` and check what the resource returns before Terraform sees it.

use super::diag::Diagnostics;
use super::path::AttributePath;
use super::resource::{CreateRequest, Ctx, DeleteRequest, ReadRequest, Resource, StateResult, UpdateRequest};
use super::schema::Schema;
use super::timeouts;
use super::value::Value;

#[derive(Debug)]
pub struct ApplyRequest<'a> {
    pub prior: &'a Value,
    pub planned: &'a Value,
    pub config: &'a Value,
    pub planned_private: &'a [u8],
}

pub async fn apply_resource_change<D: Send + Sync + 'static>(
    resource: &dyn Resource<D>,
    ctx: &Ctx,
    data: &D,
    req: ApplyRequest<'_>,
) -> StateResult {
    let schema = resource.schema();
    if req.prior.is_null() {
        let ctx = timeouts::ctx_for(ctx, &schema, req.planned, "create").applying();
        let result = resource
            .create(
                &ctx,
                data,
                CreateRequest {
                    config: req.config,
                    planned: req.planned,
                    planned_private: req.planned_private,
                },
            )
            .await;
        finish(resource.type_name(), &schema, req.planned, result)
    } else if req.planned.is_null() {
        let ctx = timeouts::ctx_for(ctx, &schema, req.prior, "delete").applying();
        let diagnostics = resource
            .delete(&ctx, data, DeleteRequest { prior: req.prior, private: req.planned_private })
            .await;
        StateResult { state: None, private: Vec::new(), diagnostics }
    } else {
        let ctx = timeouts::ctx_for(ctx, &schema, req.planned, "update").applying();
        let result = resource
            .update(
                &ctx,
                data,
                UpdateRequest {
                    config: req.config,
                    planned: req.planned,
                    prior: req.prior,
                    planned_private: req.planned_private,
                },
            )
            .await;
        finish(resource.type_name(), &schema, req.planned, result)
    }
}

/// Refresh a resource's state (`ReadResource`), bounded by its `read` timeout.
pub async fn read_resource<D: Send + Sync + 'static>(
    resource: &dyn Resource<D>,
    ctx: &Ctx,
    data: &D,
    req: ReadRequest<'_>,
) -> StateResult {
    let schema = resource.schema();
    let ctx = timeouts::ctx_for(ctx, &schema, req.current, "read");
    let result = resource.read(&ctx, data, ReadRequest { current: req.current, private: req.private }).await;
    finish(resource.type_name(), &schema, req.current, result)
}

/// Checks on a state a resource returned:
/// - `timeouts` is configuration only, so it is carried over from `source` when the
///   resource did not set it (otherwise every plan would show it changing);
/// - unknown values are not allowed in state: Terraform would reject the whole result
///   with an obscure error and lose track of the object, so they are stored as null and
///   reported as an error (the resource is then tainted, not orphaned).
fn finish(type_name: &str, schema: &Schema, source: &Value, mut result: StateResult) -> StateResult {
    let Some(state) = result.state.as_mut() else {
        return result;
    };
    if schema.block.attribute(timeouts::ATTRIBUTE).is_some()
        && let Value::Object(m) = state
        && m.get(timeouts::ATTRIBUTE).is_none_or(Value::is_null)
        && let Some(t) = source.attr(timeouts::ATTRIBUTE)
    {
        m.insert(timeouts::ATTRIBUTE.to_owned(), t.clone());
    }
    let mut unknown = Vec::new();
    null_unknowns(state, &AttributePath::root(), &mut unknown);
    if !unknown.is_empty() {
        let paths: Vec<String> = unknown.iter().map(ToString::to_string).collect();
        let mut diags = Diagnostics::new();
        diags.error(
            "Provider returned unknown values",
            format!(
                "{type_name} returned a state in which these values were still unknown: {}. They were saved as null. This is a bug in the provider; please report it. The object was kept in state (tainted), so a later apply can repair or replace it.",
                paths.join(", ")
            ),
        );
        result.diagnostics.extend(diags);
    }
    result
}

/// Replace every unknown in `v` by null, recording where they were.
fn null_unknowns(v: &mut Value, path: &AttributePath, found: &mut Vec<AttributePath>) {
    match v {
        Value::Unknown(_) => {
            found.push(path.clone());
            *v = Value::Null;
        }
        Value::Object(m) => {
            for (k, item) in m.iter_mut() {
                null_unknowns(item, &path.clone().attr(k.clone()), found);
            }
        }
        Value::Map(m) => {
            for (k, item) in m.iter_mut() {
                null_unknowns(item, &path.clone().key(k.clone()), found);
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                null_unknowns(item, &path.clone().index(i as i64), found);
            }
        }
        Value::Set(items) => {
            for item in items.iter_mut() {
                let element = path.clone().set_element(item.clone());
                null_unknowns(item, &element, found);
            }
        }
        Value::Dynamic(_, inner) => null_unknowns(inner, path, found),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
