//! `autopilot_powershell_script` (and its data source): an Intune Windows platform script,
//! Graph beta `deviceManagement/deviceManagementScripts` (absent from v1.0).
//!
//! | step | call | built / parsed by |
//! |---|---|---|
//! | create | `POST /beta/deviceManagement/deviceManagementScripts` → 201 | [`wire::create_body`], [`wire::ReadScript::from_graph`] |
//! | read | `GET …/deviceManagementScripts/{id}` (the only call returning `scriptContent`) | [`wire::ReadScript::from_graph`], [`wire::reconcile_content`] |
//! | update | `PATCH …/deviceManagementScripts/{id}` | [`wire::patch_body`] |
//! | delete | `DELETE …/deviceManagementScripts/{id}` | — |
//! | plan checks | — | [`validate::validate_script`] |
//! | data source by name | `GET …/deviceManagementScripts` (all pages; name matched here) | [`crate::resources::assignments::lookup::pick_by_name`] |
//!
//! Device preparation runs scripts before any user signs in, so `run_as_account` defaults to
//! `system`. Assignments are a separate resource (`autopilot_script_assignment`, see
//! [`crate::resources::assignments`]).

pub mod resource;
#[cfg(test)]
mod resource_tests;
pub mod validate;
pub mod wire;
