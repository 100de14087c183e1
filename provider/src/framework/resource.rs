//! The traits a provider author implements. Nothing here names gRPC or msgpack: the
//! `server` module converts protocol messages into these requests and back.
//!
//! Each resource is generic over `D`, the data the provider's `configure` produced (for us,
//! the Graph client). Protocol semantics (create vs update vs delete dispatch, computed
//! attributes marked unknown, requires-replace, defaults, validators) are done by the
//! framework (`plan`, `apply`), not by resources.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::diag::Diagnostics;
use super::schema::Schema;
use super::value::{Type, Value};

/// Per-call context: cancelled when Terraform sends `StopProvider`, bounded by the
/// operation's deadline (from the resource's `timeouts`, or a default).
#[derive(Clone, Debug)]
pub struct Ctx {
    pub cancel: CancellationToken,
    pub deadline: Option<Instant>,
    /// The call applies a change (create, update or delete): its reads wait on writes, one
    /// after the other, rather than run beside other resources' refreshes.
    pub applying: bool,
}

impl Ctx {
    pub fn new(cancel: CancellationToken, deadline: Option<Instant>) -> Self {
        Self { cancel, deadline, applying: false }
    }

    /// A context that is never cancelled and has no deadline (tests).
    pub fn background() -> Self {
        Self { cancel: CancellationToken::new(), deadline: None, applying: false }
    }

    /// The same context, marked as applying a change.
    #[must_use]
    pub fn applying(mut self) -> Self {
        self.applying = true;
        self
    }
}

/// Opaque per-resource bytes Terraform stores beside the state and never shows.
pub type PrivateState = Vec<u8>;

/// Result of create/update/read: the new state (None = the object is gone / nothing to
/// store), the private state, and diagnostics. On a partial failure a resource returns
/// `Some(state)` *and* error diagnostics: Terraform then stores the state and taints the
/// resource, so nothing created is orphaned.
#[derive(Debug, Default)]
pub struct StateResult {
    pub state: Option<Value>,
    pub private: PrivateState,
    pub diagnostics: Diagnostics,
}

#[derive(Debug)]
pub struct CreateRequest<'a> {
    pub config: &'a Value,
    /// Planned state: computed attributes may be unknown.
    pub planned: &'a Value,
    pub planned_private: &'a [u8],
}

#[derive(Debug)]
pub struct UpdateRequest<'a> {
    pub config: &'a Value,
    pub planned: &'a Value,
    pub prior: &'a Value,
    pub planned_private: &'a [u8],
}

#[derive(Debug)]
pub struct ReadRequest<'a> {
    pub current: &'a Value,
    pub private: &'a [u8],
}

#[derive(Debug)]
pub struct DeleteRequest<'a> {
    pub prior: &'a Value,
    pub private: &'a [u8],
}

/// Resource-specific plan step, run after the framework's attribute-level planning.
/// A resource may change `planned` (e.g. mark values unknown that the update will
/// change), add requires-replace paths, and add diagnostics (plan-time Graph lookups).
#[derive(Debug)]
pub struct ModifyPlanRequest<'a> {
    pub config: &'a Value,
    /// `Value::Null` on create.
    pub prior: &'a Value,
    pub prior_private: &'a [u8],
}

#[derive(Debug)]
pub struct ModifyPlanResponse {
    /// `Value::Null` when the resource is being destroyed.
    pub planned: Value,
    pub planned_private: PrivateState,
    pub requires_replace: Vec<super::path::AttributePath>,
    pub diagnostics: Diagnostics,
}

/// One imported object: its state (usually only the id set; `read` fills the rest).
#[derive(Debug, Default)]
pub struct ImportResult {
    pub state: Option<Value>,
    pub private: PrivateState,
    pub diagnostics: Diagnostics,
}

#[async_trait]
pub trait Resource<D: Send + Sync + 'static>: Send + Sync {
    /// Full type name, e.g. `autopilot_group`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Cross-attribute validation beyond the attribute validators. `config` may contain
    /// unknown values.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Plan-time checks that need Graph (ids known at plan) or resource-specific planning.
    async fn modify_plan(
        &self,
        _ctx: &Ctx,
        _data: Option<&D>,
        _req: ModifyPlanRequest<'_>,
        _resp: &mut ModifyPlanResponse,
    ) {
    }

    async fn create(&self, ctx: &Ctx, data: &D, req: CreateRequest<'_>) -> StateResult;
    /// `state: None` in the result means the object no longer exists.
    async fn read(&self, ctx: &Ctx, data: &D, req: ReadRequest<'_>) -> StateResult;
    async fn update(&self, ctx: &Ctx, data: &D, req: UpdateRequest<'_>) -> StateResult;
    async fn delete(&self, ctx: &Ctx, data: &D, req: DeleteRequest<'_>) -> Diagnostics;

    /// Turn an import id into a state that `read` can complete. The default sets `id`.
    async fn import(&self, _ctx: &Ctx, _data: &D, id: &str) -> ImportResult {
        ImportResult { state: Some(super::plan::state_with_id(&self.schema(), id)), ..Default::default() }
    }

    /// Upgrade the JSON state written by schema `from_version` to the current layout.
    /// The default accepts only the current version.
    fn upgrade_state(
        &self,
        from_version: i64,
        state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        let current = self.schema().version;
        if from_version == current {
            Ok(state)
        } else {
            Err(super::diag::Diagnostic::error(
                "Unsupported state version",
                format!(
                    "{} cannot upgrade state from schema version {from_version} to {current}.",
                    self.type_name()
                ),
            )
            .into())
        }
    }
}

#[derive(Debug)]
pub struct ReadDataRequest<'a> {
    pub config: &'a Value,
}

#[async_trait]
pub trait DataSource<D: Send + Sync + 'static>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Returns the complete state (all computed attributes known).
    async fn read(&self, ctx: &Ctx, data: &D, req: ReadDataRequest<'_>) -> (Option<Value>, Diagnostics);
}

/// A provider-defined function parameter or return.
#[derive(Clone, Debug)]
pub struct FunctionParam {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub allow_null: bool,
    pub allow_unknown: bool,
}

#[derive(Clone, Debug)]
pub struct FunctionSignature {
    pub summary: String,
    /// Markdown.
    pub description: String,
    pub params: Vec<FunctionParam>,
    pub variadic: Option<FunctionParam>,
    pub returns: Type,
}

/// An error from a function call: a message and, optionally, the argument it is about.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionError {
    pub message: String,
    pub argument: Option<i64>,
}

/// Provider functions are pure and need no configured provider.
pub trait Function: Send + Sync {
    /// Name without the `provider::autopilot::` prefix.
    fn name(&self) -> &'static str;
    fn signature(&self) -> FunctionSignature;
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError>;
}

#[derive(Debug)]
pub struct ConfigureRequest<'a> {
    pub config: &'a Value,
    pub terraform_version: &'a str,
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What `configure` produces and every resource receives.
    type Data: Send + Sync + 'static;

    /// `autopilot`: the prefix of every resource type name.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    async fn configure(&self, req: ConfigureRequest<'_>) -> Result<Self::Data, Diagnostics>;
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Data>>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Data>>>;
    fn functions(&self) -> Vec<Arc<dyn Function>>;
}
