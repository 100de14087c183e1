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
    /// Starts as the value planned so far (after defaults, unknown marking and earlier
    /// modifiers); a modifier reads and replaces it.
    pub plan_value: Value,
    /// Ask for replacement; the framework keeps it only if the planned value differs
    /// from the prior state's.
    pub requires_replace: bool,
    pub diagnostics: Diagnostics,
}

pub trait PlanModifier: Send + Sync + Debug {
    /// Plain-text description for docs.
    fn description(&self) -> String;
    fn modify(&self, req: &PlanModifyRequest<'_>, resp: &mut PlanModifyResponse);
}

/// Keeps the prior state's value instead of "known after apply" for a computed
/// attribute that does not change once set (ids, creation times).
#[derive(Debug, Clone)]
pub struct UseStateForUnknown;

/// Plan the prior state's value when the framework would otherwise plan it unknown.
pub fn use_state_for_unknown() -> UseStateForUnknown {
    UseStateForUnknown
}

impl PlanModifier for UseStateForUnknown {
    fn description(&self) -> String {
        "Once set, the value of this attribute in state will not change.".into()
    }

    fn modify(&self, req: &PlanModifyRequest<'_>, resp: &mut PlanModifyResponse) {
        // Nothing to keep on create; a known plan or an unknown config (interpolated
        // from elsewhere) must stand.
        if req.state_value.is_null() || !resp.plan_value.is_unknown() || req.config_value.is_unknown() {
            return;
        }
        resp.plan_value = req.state_value.clone();
    }
}

/// When the condition holds and the value changes, the resource is replaced.
#[derive(Debug, Clone)]
pub struct RequiresReplace {
    only_if_configured: bool,
}

/// Changing this attribute destroys and re-creates the resource.
pub fn requires_replace() -> RequiresReplace {
    RequiresReplace { only_if_configured: false }
}

/// Changing this attribute destroys and re-creates the resource, but only while it is
/// set in the configuration (removing it keeps the object).
pub fn requires_replace_if_configured() -> RequiresReplace {
    RequiresReplace { only_if_configured: true }
}

impl PlanModifier for RequiresReplace {
    fn description(&self) -> String {
        if self.only_if_configured {
            "If the value of this attribute is configured and changes, Terraform will destroy and recreate the resource."
                .into()
        } else {
            "If the value of this attribute changes, Terraform will destroy and recreate the resource.".into()
        }
    }

    fn modify(&self, req: &PlanModifyRequest<'_>, resp: &mut PlanModifyResponse) {
        if req.is_create || (self.only_if_configured && req.config_value.is_null()) {
            return;
        }
        let unchanged = resp.plan_value.is_fully_known()
            && req.state_value.is_fully_known()
            && resp.plan_value.semantically_equal(req.state_value);
        if !unchanged {
            resp.requires_replace = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(m: &dyn PlanModifier, config: Value, state: Value, plan: Value, is_create: bool) -> (Value, bool) {
        let path = AttributePath::new("a");
        let req = PlanModifyRequest { path: &path, config_value: &config, state_value: &state, is_create };
        let mut resp =
            PlanModifyResponse { plan_value: plan, requires_replace: false, diagnostics: Diagnostics::new() };
        m.modify(&req, &mut resp);
        (resp.plan_value, resp.requires_replace)
    }

    /// (name, modifier, [config, state, plan], is_create, expected (plan, replace)).
    type Case = (&'static str, Box<dyn PlanModifier>, [Value; 3], bool, (Value, bool));

    #[test]
    fn modifiers_table() {
        let x = || Value::from("x");
        let y = || Value::from("y");
        let u = Value::unknown;
        let n = || Value::Null;
        let cases: Vec<Case> = vec![
            (
                "state for unknown keeps prior",
                Box::new(use_state_for_unknown()),
                [n(), x(), u()],
                false,
                (x(), false),
            ),
            (
                "state for unknown on create",
                Box::new(use_state_for_unknown()),
                [n(), n(), u()],
                true,
                (u(), false),
            ),
            (
                "state for unknown known plan",
                Box::new(use_state_for_unknown()),
                [y(), x(), y()],
                false,
                (y(), false),
            ),
            (
                "state for unknown unknown config",
                Box::new(use_state_for_unknown()),
                [u(), x(), u()],
                false,
                (u(), false),
            ),
            ("replace on change", Box::new(requires_replace()), [y(), x(), y()], false, (y(), true)),
            ("no replace when same", Box::new(requires_replace()), [x(), x(), x()], false, (x(), false)),
            ("no replace on create", Box::new(requires_replace()), [x(), n(), x()], true, (x(), false)),
            ("replace when unknown", Box::new(requires_replace()), [u(), x(), u()], false, (u(), true)),
            ("replace when removed", Box::new(requires_replace()), [n(), x(), n()], false, (n(), true)),
            (
                "if configured: removed keeps",
                Box::new(requires_replace_if_configured()),
                [n(), x(), n()],
                false,
                (n(), false),
            ),
            (
                "if configured: changed",
                Box::new(requires_replace_if_configured()),
                [y(), x(), y()],
                false,
                (y(), true),
            ),
        ];
        for (name, m, [config, state, plan], is_create, want) in cases {
            assert_eq!(run(m.as_ref(), config, state, plan, is_create), want, "case {name}");
            assert!(!m.description().is_empty());
        }
    }
}
