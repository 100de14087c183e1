//! The server against a fake provider: conversions, dispatch, diagnostics, cancellation.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;
use tonic::Request;

use tfproto::tfplugin6 as pb;
use tfproto::tfplugin6::provider_server::Provider as ProviderService;

use super::ProviderServer;
use crate::framework::codec::{decode_msgpack, encode_msgpack};
use crate::framework::resource::{
    ConfigureRequest, CreateRequest, DeleteRequest, FunctionError, FunctionParam, FunctionSignature,
    ReadDataRequest, ReadRequest, StateResult, UpdateRequest,
};
use crate::framework::schema::{Attribute, Block, ObjectNesting};
use crate::framework::{
    AttributePath, Ctx, DataSource, Diagnostic, Diagnostics, Function, Provider, Resource, Schema, Type,
    Value,
};

/// What `configure` hands the fake resources.
#[derive(Debug)]
struct FakeData {
    tenant: String,
}

#[derive(Default)]
struct FakeProvider {
    /// Signalled when a read starts, so a test can stop it mid-flight.
    read_started: Arc<Notify>,
}

fn provider_schema() -> Schema {
    Schema {
        version: 0,
        block: Block {
            description: "The **fake** provider.".into(),
            attributes: vec![
                Attribute::string("tenant_id").optional().description("The tenant, `ARM_TENANT_ID`."),
                Attribute::string("client_secret").optional().sensitive(),
            ],
            ..Block::default()
        },
    }
}

#[async_trait]
impl Provider for FakeProvider {
    type Data = FakeData;

    fn type_name(&self) -> &'static str {
        "fake"
    }

    fn schema(&self) -> Schema {
        provider_schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if config.attr("tenant_id").and_then(Value::as_str) == Some("invalid") {
            diags.attribute_error(AttributePath::new("tenant_id"), "Invalid tenant", "not a tenant id");
        }
    }

    async fn configure(&self, req: ConfigureRequest<'_>) -> Result<FakeData, Diagnostics> {
        let tenant = req.config.attr("tenant_id").and_then(Value::as_str).unwrap_or("default").to_owned();
        Ok(FakeData { tenant })
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<FakeData>>> {
        vec![Arc::new(FakeThing { read_started: Arc::clone(&self.read_started) })]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<FakeData>>> {
        vec![Arc::new(FakeLookup)]
    }

    fn functions(&self) -> Vec<Arc<dyn Function>> {
        vec![Arc::new(Shout)]
    }
}

struct FakeThing {
    read_started: Arc<Notify>,
}

fn thing_schema() -> Schema {
    Schema {
        version: 1,
        block: Block {
            attributes: vec![
                Attribute::string("id").computed().description("Object id."),
                Attribute::string("name").required(),
                Attribute::nested(
                    "members",
                    ObjectNesting::Set,
                    vec![Attribute::string("user_id").required().description("A user.")],
                )
                .optional(),
            ],
            ..Block::default()
        },
    }
}

fn thing_type() -> Type {
    thing_schema().value_type()
}

fn thing(id: Option<&str>, name: &str) -> Value {
    Value::Object(BTreeMap::from([
        ("id".to_owned(), id.map_or(Value::unknown(), Value::from)),
        ("name".to_owned(), Value::from(name)),
        ("members".to_owned(), Value::Null),
    ]))
}

#[async_trait]
impl Resource<FakeData> for FakeThing {
    fn type_name(&self) -> &'static str {
        "fake_thing"
    }

    fn schema(&self) -> Schema {
        thing_schema()
    }

    async fn create(&self, _ctx: &Ctx, data: &FakeData, req: CreateRequest<'_>) -> StateResult {
        let name = req.planned.attr("name").and_then(Value::as_str).unwrap_or_default();
        StateResult {
            state: Some(thing(Some(&format!("{}/{name}", data.tenant)), name)),
            private: b"created".to_vec(),
            diagnostics: Diagnostics::new(),
        }
    }

    /// A read of an object named "slow" waits until cancelled (StopProvider).
    async fn read(&self, ctx: &Ctx, _data: &FakeData, req: ReadRequest<'_>) -> StateResult {
        if req.current.attr("name").and_then(Value::as_str) == Some("slow") {
            self.read_started.notify_one();
            ctx.cancel.cancelled().await;
            return StateResult {
                state: Some(req.current.clone()),
                private: req.private.to_vec(),
                diagnostics: Diagnostic::error("Reading thing", "cancelled").into(),
            };
        }
        StateResult { state: Some(req.current.clone()), ..Default::default() }
    }

    async fn update(&self, _ctx: &Ctx, _data: &FakeData, req: UpdateRequest<'_>) -> StateResult {
        StateResult { state: Some(req.planned.clone()), ..Default::default() }
    }

    async fn delete(&self, _ctx: &Ctx, _data: &FakeData, _req: DeleteRequest<'_>) -> Diagnostics {
        Diagnostics::new()
    }

    fn upgrade_state(&self, from: i64, state: serde_json::Value) -> Result<serde_json::Value, Diagnostics> {
        match from {
            0 => {
                // Version 0 called the attribute `title`.
                let mut state = state;
                if let Some(obj) = state.as_object_mut()
                    && let Some(title) = obj.remove("title")
                {
                    obj.insert("name".into(), title);
                }
                Ok(state)
            }
            1 => Ok(state),
            _ => Err(Diagnostic::error("Unsupported state version", format!("version {from}")).into()),
        }
    }
}

struct FakeLookup;

#[async_trait]
impl DataSource<FakeData> for FakeLookup {
    fn type_name(&self) -> &'static str {
        "fake_lookup"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block { attributes: vec![Attribute::string("tenant").computed()], ..Block::default() },
        }
    }

    async fn read(
        &self,
        _ctx: &Ctx,
        data: &FakeData,
        _req: ReadDataRequest<'_>,
    ) -> (Option<Value>, Diagnostics) {
        let state = Value::Object(BTreeMap::from([("tenant".to_owned(), Value::from(data.tenant.as_str()))]));
        (Some(state), Diagnostics::new())
    }
}

struct Shout;

impl Function for Shout {
    fn name(&self) -> &'static str {
        "shout"
    }

    fn signature(&self) -> FunctionSignature {
        FunctionSignature {
            summary: "Upper-case a string".into(),
            description: "Returns `text` in upper case.".into(),
            params: vec![FunctionParam {
                name: "text".into(),
                ty: Type::String,
                description: "The text.".into(),
                allow_null: false,
                allow_unknown: false,
            }],
            variadic: None,
            returns: Type::String,
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        match args.first().and_then(Value::as_str) {
            Some("") => Err(FunctionError { message: "text must not be empty".into(), argument: Some(0) }),
            Some(text) => Ok(Value::from(text.to_uppercase())),
            None => Err(FunctionError { message: "text must be a string".into(), argument: Some(0) }),
        }
    }
}

fn server() -> (ProviderServer<FakeProvider>, Arc<Notify>) {
    let provider = FakeProvider::default();
    let started = Arc::clone(&provider.read_started);
    (ProviderServer::new(provider), started)
}

fn dv(value: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack: encode_msgpack(value, ty), json: Vec::new() })
}

fn provider_config(tenant: Value) -> Value {
    Value::Object(BTreeMap::from([
        ("tenant_id".to_owned(), tenant),
        ("client_secret".to_owned(), Value::Null),
    ]))
}

fn provider_type() -> Type {
    provider_schema().value_type()
}

async fn configure(server: &ProviderServer<FakeProvider>, tenant: Value) -> Vec<pb::Diagnostic> {
    let req = pb::configure_provider::Request {
        terraform_version: "1.11.0".into(),
        config: dv(&provider_config(tenant), &provider_type()),
        client_capabilities: None,
    };
    server.configure_provider(Request::new(req)).await.unwrap().into_inner().diagnostics
}

async fn read_thing(server: &ProviderServer<FakeProvider>, state: &Value) -> pb::read_resource::Response {
    let req = pb::read_resource::Request {
        type_name: "fake_thing".into(),
        current_state: dv(state, &thing_type()),
        private: b"p".to_vec(),
        ..Default::default()
    };
    server.read_resource(Request::new(req)).await.unwrap().into_inner()
}

fn only_error(diags: &[pb::Diagnostic]) -> &pb::Diagnostic {
    assert_eq!(diags.len(), 1, "diagnostics: {diags:?}");
    assert_eq!(diags[0].severity(), pb::diagnostic::Severity::Error);
    &diags[0]
}

#[tokio::test]
async fn schema_lists_everything_with_markdown_descriptions() {
    let (server, _) = server();
    let schema = server
        .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
        .await
        .unwrap()
        .into_inner();
    assert!(schema.diagnostics.is_empty());
    assert!(schema.server_capabilities.unwrap().plan_destroy);

    let provider = schema.provider.unwrap().block.unwrap();
    assert_eq!(provider.description, "The **fake** provider.");
    assert_eq!(provider.description_kind(), pb::StringKind::Markdown);
    let tenant = provider.attributes.iter().find(|a| a.name == "tenant_id").unwrap();
    assert_eq!(tenant.description, "The tenant, `ARM_TENANT_ID`.");
    assert_eq!(tenant.description_kind(), pb::StringKind::Markdown);
    assert!(tenant.optional && !tenant.required && !tenant.sensitive);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&tenant.r#type).unwrap(), "string");
    assert!(provider.attributes.iter().any(|a| a.name == "client_secret" && a.sensitive));

    let thing = &schema.resource_schemas["fake_thing"];
    assert_eq!(thing.version, 1);
    let block = thing.block.as_ref().unwrap();
    let members = block.attributes.iter().find(|a| a.name == "members").unwrap();
    assert!(members.r#type.is_empty(), "nested attributes carry nested_type, not type");
    let nested = members.nested_type.as_ref().unwrap();
    assert_eq!(nested.nesting(), pb::schema::object::NestingMode::Set);
    assert_eq!(nested.attributes[0].name, "user_id");
    assert!(nested.attributes[0].required);
    assert!(block.attributes.iter().any(|a| a.name == "id" && a.computed));

    assert!(schema.data_source_schemas.contains_key("fake_lookup"));
    let shout = &schema.functions["shout"];
    assert_eq!(shout.parameters[0].name, "text");
    assert_eq!(shout.description_kind(), pb::StringKind::Markdown);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&shout.r#return.as_ref().unwrap().r#type).unwrap(),
        "string"
    );

    let metadata =
        server.get_metadata(Request::new(pb::get_metadata::Request {})).await.unwrap().into_inner();
    assert_eq!(metadata.resources[0].type_name, "fake_thing");
    assert_eq!(metadata.data_sources[0].type_name, "fake_lookup");
    assert_eq!(metadata.functions[0].name, "shout");
}

#[tokio::test]
async fn validation_diagnostics_point_at_the_attribute() {
    let (server, _) = server();
    let req = pb::validate_provider_config::Request {
        config: dv(&provider_config("invalid".into()), &provider_type()),
    };
    let resp = server.validate_provider_config(Request::new(req)).await.unwrap().into_inner();
    let diag = only_error(&resp.diagnostics);
    assert_eq!(diag.summary, "Invalid tenant");
    let steps = &diag.attribute.as_ref().unwrap().steps;
    assert_eq!(
        steps[0].selector,
        Some(pb::attribute_path::step::Selector::AttributeName("tenant_id".into()))
    );

    let ok =
        pb::validate_provider_config::Request { config: dv(&provider_config("t1".into()), &provider_type()) };
    assert!(
        server.validate_provider_config(Request::new(ok)).await.unwrap().into_inner().diagnostics.is_empty()
    );
}

#[test]
fn attribute_paths_convert_step_by_step_and_stop_at_set_elements() {
    use pb::attribute_path::step::Selector;
    let path = AttributePath::new("rules").index(2).attr("labels").key("env");
    let selectors: Vec<_> =
        super::to_proto::attribute_path(&path).steps.into_iter().map(|s| s.selector).collect();
    assert_eq!(
        selectors,
        vec![
            Some(Selector::AttributeName("rules".into())),
            Some(Selector::ElementKeyInt(2)),
            Some(Selector::AttributeName("labels".into())),
            Some(Selector::ElementKeyString("env".into())),
        ]
    );
    let into_set = AttributePath::new("members").set_element(Value::from("x")).attr("user_id");
    assert_eq!(super::to_proto::attribute_path(&into_set).steps.len(), 1);

    let warning = Diagnostic::warning("Deprecated", "use other").at(AttributePath::root());
    let converted = super::to_proto::diagnostic(&warning);
    assert_eq!(converted.severity(), pb::diagnostic::Severity::Warning);
    assert!(converted.attribute.is_none(), "the root path is sent as no path");
}

#[tokio::test]
async fn unknown_type_names_are_error_diagnostics() {
    let (server, _) = server();
    configure(&server, "t1".into()).await;
    let read = server
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "fake_nothing".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(only_error(&read.diagnostics).detail.contains("fake_nothing"));

    let validate = server
        .validate_resource_config(Request::new(pb::validate_resource_config::Request {
            type_name: "fake_nothing".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    only_error(&validate.diagnostics);

    let plan = server
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: "fake_nothing".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    only_error(&plan.diagnostics);

    let data = server
        .read_data_source(Request::new(pb::read_data_source::Request {
            type_name: "fake_thing".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(only_error(&data.diagnostics).summary.contains("data source"));

    let ephemeral = server
        .open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
            type_name: "fake_secret".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    only_error(&ephemeral.diagnostics);
}

#[tokio::test]
async fn undecodable_values_are_diagnostics_and_keep_the_state() {
    let (server, _) = server();
    configure(&server, "t1".into()).await;
    let garbage = Some(pb::DynamicValue { msgpack: vec![0xc1], json: Vec::new() });
    let req = pb::read_resource::Request {
        type_name: "fake_thing".into(),
        current_state: garbage.clone(),
        ..Default::default()
    };
    let resp = server.read_resource(Request::new(req)).await.unwrap().into_inner();
    assert_eq!(only_error(&resp.diagnostics).summary, "Invalid current state");
    assert_eq!(resp.new_state, garbage, "the stored state must not be replaced");
}

#[tokio::test]
async fn stop_provider_cancels_in_flight_calls_and_later_calls_still_work() {
    let (server, read_started) = server();
    let server = Arc::new(server);
    configure(&server, "t1".into()).await;

    let in_flight = tokio::spawn({
        let server = Arc::clone(&server);
        async move { read_thing(&server, &thing(Some("1"), "slow")).await }
    });
    read_started.notified().await;
    server.stop_provider(Request::new(pb::stop_provider::Request {})).await.unwrap();
    let cancelled = in_flight.await.unwrap();
    assert_eq!(only_error(&cancelled.diagnostics).detail, "cancelled");

    let later = read_thing(&server, &thing(Some("2"), "fast")).await;
    assert!(later.diagnostics.is_empty(), "{:?}", later.diagnostics);
    let state = decode_msgpack(&later.new_state.unwrap().msgpack, &thing_type()).unwrap();
    assert_eq!(state, thing(Some("2"), "fast"));
    assert_eq!(later.private, b"p", "private state passes through when the resource returns none");
}

#[tokio::test]
async fn apply_creates_through_the_resource_with_provider_data() {
    let (server, _) = server();
    configure(&server, "t1".into()).await;
    let ty = thing_type();
    let planned = thing(None, "devices");
    let req = pb::apply_resource_change::Request {
        type_name: "fake_thing".into(),
        prior_state: dv(&Value::Null, &ty),
        planned_state: dv(&planned, &ty),
        config: dv(&thing(None, "devices"), &ty),
        planned_private: Vec::new(),
        ..Default::default()
    };
    let resp = server.apply_resource_change(Request::new(req)).await.unwrap().into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let state = decode_msgpack(&resp.new_state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(state, thing(Some("t1/devices"), "devices"));
    assert_eq!(resp.private, b"created");
}

#[tokio::test]
async fn unknown_provider_configuration_allows_plans_but_not_reads() {
    let (server, _) = server();
    assert!(configure(&server, Value::unknown()).await.is_empty());

    let ty = thing_type();
    let plan = pb::plan_resource_change::Request {
        type_name: "fake_thing".into(),
        prior_state: dv(&Value::Null, &ty),
        proposed_new_state: dv(&thing(None, "x"), &ty),
        config: dv(&thing(None, "x"), &ty),
        ..Default::default()
    };
    let planned = server.plan_resource_change(Request::new(plan)).await.unwrap().into_inner();
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
    assert!(planned.planned_state.is_some());

    let read = read_thing(&server, &thing(Some("1"), "x")).await;
    assert_eq!(only_error(&read.diagnostics).summary, "Provider configuration is unknown");
}

#[tokio::test]
async fn data_source_reads_with_configured_data() {
    let (server, _) = server();
    configure(&server, "tenant-9".into()).await;
    let ty = Type::Object {
        attributes: BTreeMap::from([("tenant".to_owned(), Type::String)]),
        optional: Vec::new(),
    };
    let req = pb::read_data_source::Request {
        type_name: "fake_lookup".into(),
        config: dv(&Value::Object(BTreeMap::from([("tenant".to_owned(), Value::Null)])), &ty),
        ..Default::default()
    };
    let resp = server.read_data_source(Request::new(req)).await.unwrap().into_inner();
    assert!(resp.diagnostics.is_empty());
    let state = decode_msgpack(&resp.state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(state.attr("tenant").and_then(Value::as_str), Some("tenant-9"));
}

#[tokio::test]
async fn upgrade_state_runs_the_resource_upgrader_and_drops_removed_attributes() {
    let (server, _) = server();
    let raw = serde_json::json!({"id": "1", "title": "devices", "members": null, "obsolete": 5});
    let req = pb::upgrade_resource_state::Request {
        type_name: "fake_thing".into(),
        version: 0,
        raw_state: Some(pb::RawState {
            json: serde_json::to_vec(&raw).unwrap(),
            flatmap: Default::default(),
        }),
    };
    let resp = server.upgrade_resource_state(Request::new(req)).await.unwrap().into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let state = decode_msgpack(&resp.upgraded_state.unwrap().msgpack, &thing_type()).unwrap();
    assert_eq!(state, thing(Some("1"), "devices"));

    let too_new = pb::upgrade_resource_state::Request {
        type_name: "fake_thing".into(),
        version: 7,
        raw_state: Some(pb::RawState { json: b"{}".to_vec(), flatmap: Default::default() }),
    };
    let resp = server.upgrade_resource_state(Request::new(too_new)).await.unwrap().into_inner();
    assert_eq!(only_error(&resp.diagnostics).summary, "Unsupported state version");
    assert!(resp.upgraded_state.is_none());
}

#[tokio::test]
async fn function_calls_return_results_or_argument_errors() {
    let (server, _) = server();
    let call = |text: &str| pb::call_function::Request {
        name: "shout".into(),
        arguments: vec![dv(&Value::from(text), &Type::String).unwrap()],
    };
    let ok = server.call_function(Request::new(call("hi"))).await.unwrap().into_inner();
    assert!(ok.error.is_none());
    assert_eq!(decode_msgpack(&ok.result.unwrap().msgpack, &Type::String).unwrap(), Value::from("HI"));

    let err = server.call_function(Request::new(call(""))).await.unwrap().into_inner();
    let error = err.error.unwrap();
    assert_eq!(error.text, "text must not be empty");
    assert_eq!(error.function_argument, Some(0));

    let unknown = pb::call_function::Request { name: "whisper".into(), arguments: Vec::new() };
    let resp = server.call_function(Request::new(unknown)).await.unwrap().into_inner();
    assert!(resp.error.unwrap().text.contains("whisper"));
}

#[tokio::test]
async fn import_returns_the_imported_resource() {
    let (server, _) = server();
    configure(&server, "t1".into()).await;
    let req = pb::import_resource_state::Request {
        type_name: "fake_thing".into(),
        id: "abc".into(),
        ..Default::default()
    };
    let resp = server.import_resource_state(Request::new(req)).await.unwrap().into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let imported = &resp.imported_resources[0];
    assert_eq!(imported.type_name, "fake_thing");
    let state = decode_msgpack(&imported.state.as_ref().unwrap().msgpack, &thing_type()).unwrap();
    assert_eq!(state.attr("id").and_then(Value::as_str), Some("abc"));
}

#[tokio::test]
async fn list_resource_streams_one_error_event() {
    use futures::StreamExt;
    let (server, _) = server();
    let req = pb::list_resource::Request { type_name: "fake_thing".into(), ..Default::default() };
    let events: Vec<_> = server.list_resource(Request::new(req)).await.unwrap().into_inner().collect().await;
    assert_eq!(events.len(), 1);
    let event = events.into_iter().next().unwrap().unwrap();
    only_error(&event.diagnostic);
}

#[tokio::test]
async fn apply_of_a_destroy_plan_returns_null_state_and_no_private() {
    let (server, _) = server();
    configure(&server, "t1".into()).await;
    let ty = thing_type();
    let req = pb::apply_resource_change::Request {
        type_name: "fake_thing".into(),
        prior_state: dv(&thing(Some("1"), "devices"), &ty),
        planned_state: dv(&Value::Null, &ty),
        config: dv(&Value::Null, &ty),
        planned_private: b"kept until deleted".to_vec(),
        ..Default::default()
    };
    let resp = server.apply_resource_change(Request::new(req)).await.unwrap().into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(decode_msgpack(&resp.new_state.unwrap().msgpack, &ty).unwrap(), Value::Null);
    assert!(resp.private.is_empty());
}

/// Every feature the provider does not offer answers with an error diagnostic: never a
/// panic, a gRPC error, or an empty success.
#[tokio::test]
async fn unsupported_features_answer_with_error_diagnostics() {
    use futures::StreamExt;
    let (s, _) = server();
    let t = || "fake_x".to_owned();
    let mut answers: Vec<(&str, Vec<pb::Diagnostic>)> = Vec::new();
    let id = pb::upgrade_resource_identity::Request { type_name: t(), ..Default::default() };
    answers.push((
        "UpgradeResourceIdentity",
        s.upgrade_resource_identity(Request::new(id)).await.unwrap().into_inner().diagnostics,
    ));
    let mv = pb::move_resource_state::Request { target_type_name: t(), ..Default::default() };
    answers.push((
        "MoveResourceState",
        s.move_resource_state(Request::new(mv)).await.unwrap().into_inner().diagnostics,
    ));
    let gen_cfg = pb::generate_resource_config::Request { type_name: t(), state: None };
    answers.push((
        "GenerateResourceConfig",
        s.generate_resource_config(Request::new(gen_cfg)).await.unwrap().into_inner().diagnostics,
    ));
    let ve = pb::validate_ephemeral_resource_config::Request { type_name: t(), config: None };
    answers.push((
        "ValidateEphemeralResourceConfig",
        s.validate_ephemeral_resource_config(Request::new(ve)).await.unwrap().into_inner().diagnostics,
    ));
    let re = pb::renew_ephemeral_resource::Request { type_name: t(), private: None };
    answers.push((
        "RenewEphemeralResource",
        s.renew_ephemeral_resource(Request::new(re)).await.unwrap().into_inner().diagnostics,
    ));
    let ce = pb::close_ephemeral_resource::Request { type_name: t(), private: None };
    answers.push((
        "CloseEphemeralResource",
        s.close_ephemeral_resource(Request::new(ce)).await.unwrap().into_inner().diagnostics,
    ));
    let vl = pb::validate_list_resource_config::Request { type_name: t(), ..Default::default() };
    answers.push((
        "ValidateListResourceConfig",
        s.validate_list_resource_config(Request::new(vl)).await.unwrap().into_inner().diagnostics,
    ));
    let va = pb::validate_action_config::Request { action_type: t(), config: None };
    answers.push((
        "ValidateActionConfig",
        s.validate_action_config(Request::new(va)).await.unwrap().into_inner().diagnostics,
    ));
    let pa = pb::plan_action::Request { action_type: t(), ..Default::default() };
    answers.push(("PlanAction", s.plan_action(Request::new(pa)).await.unwrap().into_inner().diagnostics));
    let ia = pb::invoke_action::Request { action_type: t(), ..Default::default() };
    let events: Vec<_> = s.invoke_action(Request::new(ia)).await.unwrap().into_inner().collect().await;
    let completed = match events.into_iter().next().unwrap().unwrap().r#type {
        Some(pb::invoke_action::event::Type::Completed(c)) => c.diagnostics,
        other => panic!("InvokeAction must complete with diagnostics, got {other:?}"),
    };
    answers.push(("InvokeAction", completed));
    let vs = pb::validate_state_store_config::Request { type_name: t(), config: None };
    answers.push((
        "ValidateStateStoreConfig",
        s.validate_state_store_config(Request::new(vs)).await.unwrap().into_inner().diagnostics,
    ));
    let cs = pb::configure_state_store::Request { type_name: t(), ..Default::default() };
    answers.push((
        "ConfigureStateStore",
        s.configure_state_store(Request::new(cs)).await.unwrap().into_inner().diagnostics,
    ));
    let rs = pb::read_state_bytes::Request { type_name: t(), state_id: "default".into() };
    let chunks: Vec<_> = s.read_state_bytes(Request::new(rs)).await.unwrap().into_inner().collect().await;
    answers.push(("ReadStateBytes", chunks.into_iter().next().unwrap().unwrap().diagnostics));
    let ls = pb::lock_state::Request { type_name: t(), ..Default::default() };
    answers.push(("LockState", s.lock_state(Request::new(ls)).await.unwrap().into_inner().diagnostics));
    let us = pb::unlock_state::Request { type_name: t(), ..Default::default() };
    answers.push(("UnlockState", s.unlock_state(Request::new(us)).await.unwrap().into_inner().diagnostics));
    let gs = pb::get_states::Request { type_name: t() };
    answers.push(("GetStates", s.get_states(Request::new(gs)).await.unwrap().into_inner().diagnostics));
    let ds = pb::delete_state::Request { type_name: t(), state_id: "default".into() };
    answers.push(("DeleteState", s.delete_state(Request::new(ds)).await.unwrap().into_inner().diagnostics));
    let import_by_identity = pb::import_resource_state::Request {
        type_name: "fake_thing".into(),
        id: String::new(),
        identity: Some(pb::ResourceIdentityData { identity_data: None }),
        client_capabilities: None,
    };
    answers.push((
        "ImportResourceState by identity",
        s.import_resource_state(Request::new(import_by_identity)).await.unwrap().into_inner().diagnostics,
    ));

    for (rpc, diags) in answers {
        assert_eq!(diags.len(), 1, "{rpc}: {diags:?}");
        assert_eq!(diags[0].severity(), pb::diagnostic::Severity::Error, "{rpc}");
        assert!(!diags[0].detail.is_empty(), "{rpc}");
    }

    let identities = s
        .get_resource_identity_schemas(Request::new(pb::get_resource_identity_schemas::Request {}))
        .await
        .unwrap()
        .into_inner();
    assert!(identities.identity_schemas.is_empty() && identities.diagnostics.is_empty());
}
