//! `ApplyResourceChange` dispatch: null prior → create, null planned → delete, else update.

use super::resource::{CreateRequest, Ctx, DeleteRequest, Resource, StateResult, UpdateRequest};
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
    if req.prior.is_null() {
        resource
            .create(
                ctx,
                data,
                CreateRequest {
                    config: req.config,
                    planned: req.planned,
                    planned_private: req.planned_private,
                },
            )
            .await
    } else if req.planned.is_null() {
        let diagnostics = resource
            .delete(ctx, data, DeleteRequest { prior: req.prior, private: req.planned_private })
            .await;
        StateResult { state: None, private: Vec::new(), diagnostics }
    } else {
        resource
            .update(
                ctx,
                data,
                UpdateRequest {
                    config: req.config,
                    planned: req.planned,
                    prior: req.prior,
                    planned_private: req.planned_private,
                },
            )
            .await
    }
}
