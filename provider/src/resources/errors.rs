//! The one place where Graph errors become Terraform diagnostics.
//!
//! Summaries read "Verb object" ("Updating the device registration policy"); the detail
//! carries Graph's message, its error code and request id (for support cases), and a hint
//! where we know what the user must do (a missing permission, a consistency delay).

use crate::framework::resource::Ctx;
use crate::framework::{AttributePath, Diagnostic};
use crate::graph::cx::CallCx;
use crate::graph::error::{Error, ErrorKind};

/// What a resource was doing when Graph failed, and what that needs.
#[derive(Clone, Copy, Debug)]
pub struct Op<'a> {
    /// "Verb object", e.g. `Creating group "devices"` (already formatted).
    pub action: &'a str,
    /// The least-privileged Graph application permission the call needs.
    pub permission: &'a str,
    /// For delegated (Azure CLI) use: the Entra role the signed-in user also needs, if any.
    pub delegated_role: Option<&'a str>,
}

/// The Graph call context for a framework context: same cancellation, same deadline; the
/// reads of a create, update or delete skip the read coalescer's quiet window
/// ([`CallCx::on_write_path`]), those of plans, refreshes and data sources keep it.
pub fn call_cx(ctx: &Ctx) -> CallCx {
    let cx = CallCx::new(ctx.cancel.clone(), ctx.deadline);
    if ctx.applying { cx.on_write_path() } else { cx }
}

/// Convert a Graph error into a diagnostic for `op`.
pub fn graph_diagnostic(op: Op<'_>, err: &Error) -> Diagnostic {
    let mut detail = err.to_string();
    if err.is_forbidden() {
        detail.push_str(&format!(
            "\n\nThe application needs the Microsoft Graph application permission {} (granted with admin consent).",
            op.permission
        ));
        if let Some(role) = op.delegated_role {
            detail.push_str(&format!(
                " When authenticating as a user (Azure CLI), that user also needs the Microsoft Entra role {role}."
            ));
        }
    } else if err.is_unauthorized() || err.kind == ErrorKind::Auth {
        detail.push_str(
            "\n\nCheck the provider's authentication settings (tenant_id, client_id and the credential); \
             see the authentication guide.",
        );
    } else if err.kind == ErrorKind::Ambiguous {
        detail.push_str(
            "\n\nThe connection failed after the request was sent, so Graph may have applied it. \
             Run `terraform apply` again: the provider looks for the object before creating another.",
        );
    } else if matches!(err.kind, ErrorKind::Timeout) {
        detail.push_str("\n\nIncrease the resource's `timeouts` if Graph is slow or throttling this tenant.");
    }
    Diagnostic::error(op.action, detail)
}

/// The same, pointing at an attribute.
pub fn graph_diagnostic_at(path: AttributePath, op: Op<'_>, err: &Error) -> Diagnostic {
    graph_diagnostic(op, err).at(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writes_skip_the_coalescing_window() {
        assert!(!call_cx(&Ctx::background()).write_path, "plans, refreshes and data sources coalesce");
        assert!(call_cx(&Ctx::background().applying()).write_path, "create, update and delete do not wait");
    }
}
