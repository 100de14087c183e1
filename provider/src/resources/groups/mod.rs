//! Entra groups for Windows Autopilot device preparation: the device group (owned by the
//! Intune Provisioning Client) and the user group, their owners and members.
//!
//! Phase 1 holds the pure logic the resources build on: Graph bodies ([`wire`]), the
//! `mailNickname` rules ([`nickname`]), the owner/member change plan and `$batch` packing
//! ([`plan_members`]), the device-group requirements ([`identity`]) and OData escaping
//! ([`escape`]).

pub mod api;
pub mod data_sources;
pub mod escape;
pub mod identity;
pub mod member;
pub mod nickname;
pub mod object_id;
pub mod plan_members;
pub mod resource;
#[cfg(test)]
mod test_support;
pub mod wire;

pub use object_id::{InvalidObjectId, ObjectId};
