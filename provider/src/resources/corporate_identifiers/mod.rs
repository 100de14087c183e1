//! Windows corporate identifiers (Intune `importedDeviceIdentities`, beta): the shared
//! model and rules, the authoritative-set diff and the Graph bodies. Used by the
//! `parse_corporate_identifiers` function and (later) by `autopilot_corporate_identifier`
//! and `autopilot_corporate_identifiers`.

pub mod diff;
pub mod identity;
pub mod value;
pub mod wire;

pub use diff::{DiffError, ExistingIdentity, Kept, SetDiff, TooManyDeletions};
pub use identity::{DeviceIdentity, Field, IdentityError, IdentityKey, duplicate_pairs, parse_identifier};
pub use value::{DeviceValueError, device_from_value, device_to_value, device_type};
