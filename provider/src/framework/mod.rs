//! Protocol-agnostic Terraform semantics: values, schemas, diagnostics, validation,
//! planning and apply dispatch. Knows neither gRPC nor Microsoft Graph.

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
