//! Provider-defined functions (`provider::autopilot::<name>`), and what only they need.

pub mod csv;
pub mod parse_corporate_identifiers;

pub use parse_corporate_identifiers::ParseCorporateIdentifiers;

#[cfg(test)]
mod tests {
    use crate::framework::Provider;

    #[test]
    fn the_provider_offers_each_function_once() {
        let names: Vec<_> = crate::resources::provider().functions().iter().map(|f| f.name()).collect();
        assert_eq!(names, ["parse_corporate_identifiers"]);
    }
}
