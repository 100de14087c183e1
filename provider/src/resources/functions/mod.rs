//! Provider-defined functions (`provider::autopilot::<name>`), and what only they need.

pub mod csv;
pub mod parse_corporate_identifiers;

pub use parse_corporate_identifiers::ParseCorporateIdentifiers;
