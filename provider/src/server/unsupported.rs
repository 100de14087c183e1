//! Answers for the protocol features this provider does not offer (ephemeral resources,
//! list resources, actions, state stores, resource identity, moves, config generation).
//! Terraform only calls them for types we never advertised, so each answer is an error
//! diagnostic saying so: never a panic, never an empty success.

use crate::framework::Diagnostic;

/// The provider offers no `kind` named `type_name`.
pub fn unknown_type(provider: &str, kind: &str, type_name: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("The {provider} provider has no {kind} type named {type_name:?}."),
    )
}

/// A protocol feature the provider does not implement at all.
pub fn not_supported(provider: &str, feature: &str) -> Diagnostic {
    Diagnostic::error("Not supported", format!("The {provider} provider does not support {feature}."))
}
