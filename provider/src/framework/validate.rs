//! Configuration validation: runs every attribute's validators (skipping null/unknown
//! values unless a validator asks for them), at every nesting level. Terraform itself
//! checks required/optional attributes and types; the server calls the resource's own
//! cross-attribute `validate` after this.

use super::diag::Diagnostics;
use super::path::AttributePath;
use super::schema::{Attribute, Block, BlockNesting, ObjectNesting, Schema};
use super::validator::ValidateRequest;
use super::value::Value;

/// Validate a configuration object against a schema's attribute validators, at every
/// level: nested attributes, nested blocks, and each element of their collections.
/// The resource's own `validate` is called separately by the server.
pub fn validate_config(schema: &Schema, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let mut walk = Walk { config, diags: &mut diags };
    walk.block(&schema.block, config, &AttributePath::root());
    diags
}

struct Walk<'a, 'd> {
    config: &'a Value,
    diags: &'d mut Diagnostics,
}

impl Walk<'_, '_> {
    fn block(&mut self, block: &Block, object: &Value, path: &AttributePath) {
        if !matches!(object, Value::Object(_) | Value::Dynamic(..)) {
            return;
        }
        self.attributes(&block.attributes, object, path);
        for nested in &block.blocks {
            let value = object.attr(&nested.name).unwrap_or(&Value::Null);
            let path = path.clone().attr(&nested.name);
            match nested.nesting {
                BlockNesting::Single | BlockNesting::Group => self.block(&nested.block, value, &path),
                _ => each_element(value, &path, |v, p| self.block(&nested.block, v, &p)),
            }
        }
    }

    fn attributes(&mut self, attributes: &[Attribute], object: &Value, path: &AttributePath) {
        for attribute in attributes {
            let value = object.attr(&attribute.name).unwrap_or(&Value::Null);
            self.attribute(attribute, value, &path.clone().attr(&attribute.name));
        }
    }

    fn attribute(&mut self, attribute: &Attribute, value: &Value, path: &AttributePath) {
        let unset = value.is_null() || value.is_unknown();
        for v in &attribute.validators {
            if unset && !v.wants_null() {
                continue;
            }
            v.validate(&ValidateRequest { path, value, config: self.config }, self.diags);
        }
        let Some((nesting, nested)) = attribute.nested_attributes() else {
            return;
        };
        if unset {
            return;
        }
        match nesting {
            ObjectNesting::Single => self.attributes(nested, value, path),
            _ => each_element(value, path, |v, p| {
                if !v.is_null() && !v.is_unknown() {
                    self.attributes(nested, v, &p);
                }
            }),
        }
    }
}

/// Call `f` with each element of a list, set or map and its path.
fn each_element(value: &Value, path: &AttributePath, mut f: impl FnMut(&Value, AttributePath)) {
    match value {
        Value::List(items) | Value::Tuple(items) => {
            for (i, item) in items.iter().enumerate() {
                f(item, path.clone().index(i as i64));
            }
        }
        Value::Set(items) => {
            for item in items {
                f(item, path.clone().set_element(item.clone()));
            }
        }
        Value::Map(m) => {
            for (k, item) in m {
                f(item, path.clone().key(k.clone()));
            }
        }
        Value::Dynamic(_, inner) => each_element(inner, path, f),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
