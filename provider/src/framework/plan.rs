//! `PlanResourceChange` semantics, in one place for every resource.
//!
//! Follows terraform-plugin-framework's `fwserver` planning: start from Terraform's
//! proposed new state, plan defaults where the configuration is null, mark computed
//! attributes without configuration "known after apply" only when something changes
//! (so an unchanged resource plans no changes), run attribute plan modifiers, then the
//! resource's own `modify_plan`.

use super::diag::Diagnostics;
use super::path::AttributePath;
use super::plan_modifier::{PlanModifyRequest, PlanModifyResponse};
use super::resource::{Ctx, ModifyPlanRequest, ModifyPlanResponse, Resource};
use super::schema::{Attribute, Block, BlockNesting, ObjectNesting, Schema};
use super::timeouts;
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

static NULL: Value = Value::Null;

/// Plan a change: destroy passes through; otherwise defaults, computed-unknown marking,
/// attribute plan modifiers, then the resource's `modify_plan` (with `ctx` bounded by
/// the `read` timeout when the schema has `timeouts`, as it only looks things up).
pub async fn plan_resource_change<D: Send + Sync + 'static>(
    resource: &dyn Resource<D>,
    ctx: &Ctx,
    data: Option<&D>,
    req: PlanRequest<'_>,
) -> PlanResponse {
    let mut resp = PlanResponse { planned_private: req.prior_private.to_vec(), ..Default::default() };
    if req.proposed.is_null() {
        resp.planned = Value::Null;
        return resp;
    }
    let schema = resource.schema();
    let attribute_plan = plan_attributes(&schema, req.prior, req.proposed, req.config);
    resp.diagnostics = attribute_plan.diagnostics;
    if resp.diagnostics.has_error() {
        resp.planned = attribute_plan.planned;
        return resp;
    }

    let ctx = timeouts::ctx_for(ctx, &schema, req.config, "read");
    let mut modified = ModifyPlanResponse {
        planned: attribute_plan.planned,
        planned_private: req.prior_private.to_vec(),
        requires_replace: Vec::new(),
        diagnostics: Diagnostics::new(),
    };
    resource
        .modify_plan(
            &ctx,
            data,
            ModifyPlanRequest { config: req.config, prior: req.prior, prior_private: req.prior_private },
            &mut modified,
        )
        .await;
    resp.diagnostics.extend(modified.diagnostics);
    let mut requires_replace = attribute_plan.requires_replace;
    requires_replace.extend(modified.requires_replace);
    resp.requires_replace = normalise_requires_replace(requires_replace, req.prior, &modified.planned);
    resp.planned = modified.planned;
    resp.planned_private = modified.planned_private;
    if resp.planned.is_null() {
        resp.diagnostics.error(
            "Unexpected planned state",
            format!(
                "{} planned to remove an object that Terraform did not plan to destroy. This is a bug in the provider; please report it.",
                resource.type_name()
            ),
        );
    }
    resp
}

/// The result of the schema-driven part of planning (before `Resource::modify_plan`).
#[derive(Debug, Default)]
pub struct AttributePlan {
    pub planned: Value,
    /// Paths whose plan modifiers asked for replacement (not yet filtered or sorted).
    pub requires_replace: Vec<AttributePath>,
    pub diagnostics: Diagnostics,
}

/// Defaults, write-only nulling, computed-unknown marking and attribute plan modifiers
/// for a create (`prior` null) or update. `proposed` must not be null.
pub fn plan_attributes(schema: &Schema, prior: &Value, proposed: &Value, config: &Value) -> AttributePlan {
    let is_create = prior.is_null();
    let mut planned = proposed.clone();
    walk(&schema.block, &mut planned, config, prior, &AttributePath::root(), &mut |a, slot, config, _, _| {
        if a.write_only {
            *slot = Value::Null;
        } else if config.is_null()
            && let Some(default) = &a.default
        {
            *slot = default.clone();
        }
        true
    });

    if is_create || !unchanged(&planned, prior) {
        walk(
            &schema.block,
            &mut planned,
            config,
            prior,
            &AttributePath::root(),
            &mut |a, slot, config, _, _| {
                if a.computed && config.is_null() && a.default.is_none() {
                    *slot = Value::unknown();
                    return false;
                }
                true
            },
        );
    }

    let mut requires_replace = Vec::new();
    let mut diagnostics = Diagnostics::new();
    walk(
        &schema.block,
        &mut planned,
        config,
        prior,
        &AttributePath::root(),
        &mut |a, slot, config, state, path| {
            for m in &a.plan_modifiers {
                let req = PlanModifyRequest { path, config_value: config, state_value: state, is_create };
                let mut resp = PlanModifyResponse {
                    plan_value: std::mem::take(slot),
                    requires_replace: false,
                    diagnostics: Diagnostics::new(),
                };
                m.modify(&req, &mut resp);
                *slot = resp.plan_value;
                if resp.requires_replace {
                    requires_replace.push(path.clone());
                }
                diagnostics.extend(resp.diagnostics);
            }
            true
        },
    );
    AttributePlan { planned, requires_replace, diagnostics }
}

/// Equal with sets unordered, and with nothing unknown on either side.
fn unchanged(a: &Value, b: &Value) -> bool {
    a.is_fully_known() && b.is_fully_known() && a.semantically_equal(b)
}

/// Keep only paths whose planned value differs from the prior one (none on create), then
/// sort and deduplicate them, as Terraform expects a deterministic list.
pub fn normalise_requires_replace(
    paths: Vec<AttributePath>,
    prior: &Value,
    planned: &Value,
) -> Vec<AttributePath> {
    if prior.is_null() {
        return Vec::new();
    }
    let mut kept: Vec<(String, AttributePath)> = paths
        .into_iter()
        .filter(|p| match (prior.at_path(p), planned.at_path(p)) {
            (None, None) => false,
            (Some(a), Some(b)) => !unchanged(a, b),
            _ => true,
        })
        .map(|p| (p.to_string(), p))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.dedup_by(|a, b| a.1 == b.1);
    kept.into_iter().map(|(_, p)| p).collect()
}

/// Called for each attribute with its planned slot, config value, prior value and path;
/// returns whether to descend into its nested attributes.
type Visit<'v> = dyn FnMut(&Attribute, &mut Value, &Value, &Value, &AttributePath) -> bool + 'v;

/// Visit every attribute of `block` within the object `planned`, pairing each planned
/// value with the configuration and prior values at the same place.
fn walk(
    block: &Block,
    planned: &mut Value,
    config: &Value,
    prior: &Value,
    path: &AttributePath,
    visit: &mut Visit<'_>,
) {
    walk_attributes(&block.attributes, planned, config, prior, path, visit);
    let Value::Object(map) = planned else {
        return;
    };
    for nested in &block.blocks {
        let Some(slot) = map.get_mut(&nested.name) else {
            continue;
        };
        let config = config.attr(&nested.name).unwrap_or(&NULL);
        let prior = prior.attr(&nested.name).unwrap_or(&NULL);
        let path = path.clone().attr(&nested.name);
        let single = matches!(nested.nesting, BlockNesting::Single | BlockNesting::Group);
        each_element(
            slot,
            config,
            prior,
            &path,
            single,
            &nested.block.attributes,
            &mut |slot, config, prior, path| {
                walk(&nested.block, slot, config, prior, path, visit);
            },
        );
    }
}

fn walk_attributes(
    attributes: &[Attribute],
    planned: &mut Value,
    config: &Value,
    prior: &Value,
    path: &AttributePath,
    visit: &mut Visit<'_>,
) {
    let Value::Object(map) = planned else {
        return;
    };
    for a in attributes {
        let slot = map.entry(a.name.clone()).or_insert(Value::Null);
        let config = config.attr(&a.name).unwrap_or(&NULL);
        let prior = prior.attr(&a.name).unwrap_or(&NULL);
        let path = path.clone().attr(&a.name);
        if !visit(a, slot, config, prior, &path) {
            continue;
        }
        let Some((nesting, nested)) = a.nested_attributes() else {
            continue;
        };
        let single = nesting == ObjectNesting::Single;
        each_element(slot, config, prior, &path, single, nested, &mut |slot, config, prior, path| {
            walk_attributes(nested, slot, config, prior, path, visit);
        });
    }
}

/// Call `f` for the object `slot` (single nesting) or each object in the collection
/// `slot`, with the corresponding configuration and prior objects: by index for lists,
/// by key for maps, and for sets the elements that agree on the attributes set in them.
fn each_element(
    slot: &mut Value,
    config: &Value,
    prior: &Value,
    path: &AttributePath,
    single: bool,
    attributes: &[Attribute],
    f: &mut dyn FnMut(&mut Value, &Value, &Value, &AttributePath),
) {
    if single {
        if matches!(slot, Value::Object(_)) {
            f(slot, config, prior, path);
        }
        return;
    }
    match slot {
        Value::List(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                f(item, index(config, i), index(prior, i), &path.clone().index(i as i64));
            }
        }
        Value::Map(m) => {
            for (k, item) in m.iter_mut() {
                f(item, key(config, k), key(prior, k), &path.clone().key(k.clone()));
            }
        }
        Value::Set(items) => {
            for item in items.iter_mut() {
                let config = correlate(item, config, |_| true);
                let prior =
                    correlate(item, prior, |name| attributes.iter().any(|a| a.name == name && !a.computed));
                let element_path = path.clone().set_element(item.clone());
                f(item, config, prior, &element_path);
            }
        }
        _ => {}
    }
}

fn index(v: &Value, i: usize) -> &Value {
    v.elements().and_then(|e| e.get(i)).unwrap_or(&NULL)
}

fn key<'a>(v: &'a Value, k: &str) -> &'a Value {
    match v {
        Value::Map(m) => m.get(k).unwrap_or(&NULL),
        _ => &NULL,
    }
}

/// The element of the set `candidates` that corresponds to `item`: an equal one, else
/// the first whose known, non-null attributes (among those `compared` accepts) all equal
/// `item`'s.
fn correlate<'a>(item: &Value, candidates: &'a Value, compared: impl Fn(&str) -> bool) -> &'a Value {
    let Value::Set(elements) = candidates else {
        return &NULL;
    };
    if let Some(e) = elements.iter().find(|e| e.semantically_equal(item)) {
        return e;
    }
    let agrees = |e: &Value| match e {
        Value::Object(m) => m
            .iter()
            .filter(|(k, v)| compared(k) && !v.is_null() && v.is_fully_known())
            .all(|(k, v)| item.attr(k).is_some_and(|mine| mine.semantically_equal(v))),
        _ => false,
    };
    elements.iter().find(|e| agrees(e)).unwrap_or(&NULL)
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

#[cfg(test)]
mod tests;
