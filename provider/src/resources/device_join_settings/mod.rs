//! `autopilot_device_join_settings`: who may join devices to Microsoft Entra.

pub mod policy;
