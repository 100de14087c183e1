//! Windows corporate identifiers (Intune `importedDeviceIdentities`, beta): the shared
//! model and rules, the authoritative-set diff and the Graph bodies. Used by the
//! `parse_corporate_identifiers` function and by the resources `autopilot_corporate_identifier`
//! (one row) and `autopilot_corporate_identifiers` (the authoritative set, [`bulk`]).

pub mod bulk;
pub mod calls;
pub mod diff;
pub mod identity;
pub mod single;
pub mod state;
pub mod value;
pub mod wire;

pub use diff::{DiffError, ExistingIdentity, Kept, SetDiff, TooManyDeletions};
pub use identity::{DeviceIdentity, Field, IdentityError, IdentityKey, duplicate_pairs, parse_identifier};
pub use value::{DeviceValueError, device_from_value, device_to_value, device_type};
