//! Terraform provider for Windows Autopilot device preparation (user-driven, Microsoft Entra join).
//!
//! Data flows one way:
//!
//! ```text
//! terraform ──gRPC──► plugin ─► server ─► framework ◄─ resources ─► graph ──HTTPS──► Microsoft Graph
//! ```
//!
//! - [`plugin`]: the go-plugin shell (handshake, mTLS, controller, stdio).
//! - [`server`]: the only module that names protocol types; converts and dispatches.
//! - [`framework`]: values, schemas, diagnostics, validation, plan/apply semantics.
//! - [`resources`]: one module per Terraform resource/data source/function.
//! - [`graph`]: the Microsoft Graph client (auth, retries, paging, batching, consistency).

pub mod docs;
pub mod framework;
pub mod graph;
pub mod plugin;
pub mod resources;
pub mod server;
