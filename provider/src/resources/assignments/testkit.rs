//! Test support for the assignment resources: the shared resource test kit.

pub use crate::resources::testkit::{ctx, provider_data};
