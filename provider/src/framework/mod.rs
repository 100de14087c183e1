//! Protocol-agnostic Terraform semantics: values, schemas, diagnostics, validation,
//! planning and apply dispatch. Knows neither gRPC nor Microsoft Graph.
//!
//! For resource authors: declare attributes in `schema` with `validator` constructors
//! (`validator::uuid()`, `one_of`, ...) and `plan_modifier` constructors
//! (`use_state_for_unknown()`, `requires_replace()`), add `timeouts::block(..)` when
//! operations can be slow, read configuration with `Value::get_str` and friends, and
//! build state with `Value::object()` / `ObjectBuilder::for_schema`. The server calls
//! `codec`, `validate::validate_config`, `plan::plan_resource_change`,
//! `apply::apply_resource_change` and `apply::read_resource`.

pub mod apply;
pub mod codec;
pub mod diag;
pub mod path;
pub mod plan;
pub mod plan_modifier;
pub mod private;
pub mod resource;
pub mod schema;
pub mod timeouts;
pub mod validate;
pub mod validator;
pub mod value;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use path::AttributePath;
pub use resource::{Ctx, DataSource, Function, Provider, Resource};
pub use schema::{Attribute, Schema};
pub use value::{Number, Type, Value};
