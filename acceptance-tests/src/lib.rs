//! Graph emulator and acceptance harness.

pub mod emulator;
pub mod harness;
pub mod reconcile;
pub mod steps;
pub mod target;
pub mod workflow;
