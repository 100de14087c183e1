use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::framework::resource::ModifyPlanRequest;
use crate::framework::resource::ModifyPlanResponse;
use crate::framework::schema::Attribute;

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

/// Returns `returned` from create/update/read and records which operation ran and
/// whether it had a deadline.
struct Fake {
    returned: Option<Value>,
    calls: Mutex<Vec<String>>,
}

impl Fake {
    fn record(&self, op: &str, ctx: &Ctx) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(format!("{op} deadline={} applying={}", ctx.deadline.is_some(), ctx.applying));
        }
    }

    fn result(&self) -> StateResult {
        StateResult {
            state: self.returned.clone(),
            private: b"priv".to_vec(),
            diagnostics: Diagnostics::new(),
        }
    }
}

#[async_trait]
impl Resource<()> for Fake {
    fn type_name(&self) -> &'static str {
        "autopilot_fake"
    }

    fn schema(&self) -> Schema {
        let mut schema = Schema::default();
        schema.block.attributes = vec![
            Attribute::string("id").computed(),
            Attribute::string("name").required(),
            timeouts::block(&["create"]),
        ];
        schema
    }

    async fn modify_plan(
        &self,
        _: &Ctx,
        _: Option<&()>,
        _: ModifyPlanRequest<'_>,
        _: &mut ModifyPlanResponse,
    ) {
    }

    async fn create(&self, ctx: &Ctx, _: &(), _: CreateRequest<'_>) -> StateResult {
        self.record("create", ctx);
        self.result()
    }

    async fn read(&self, ctx: &Ctx, _: &(), _: ReadRequest<'_>) -> StateResult {
        self.record("read", ctx);
        self.result()
    }

    async fn update(&self, ctx: &Ctx, _: &(), _: UpdateRequest<'_>) -> StateResult {
        self.record("update", ctx);
        self.result()
    }

    async fn delete(&self, ctx: &Ctx, _: &(), _: DeleteRequest<'_>) -> Diagnostics {
        self.record("delete", ctx);
        Diagnostics::new()
    }
}

/// (name, prior, planned, state the resource returns, operation expected, state
/// expected, error expected).
type ApplyCase<'a> = (&'static str, &'a Value, &'a Value, Option<Value>, &'static str, Option<Value>, bool);

#[tokio::test]
async fn apply_table() {
    let timeouts = obj(&[("create", Value::from("10m"))]);
    let planned =
        obj(&[("id", Value::unknown()), ("name", Value::from("n")), ("timeouts", timeouts.clone())]);
    let prior = obj(&[("id", Value::from("1")), ("name", Value::from("old")), ("timeouts", Value::Null)]);
    let done = obj(&[("id", Value::from("1")), ("name", Value::from("n")), ("timeouts", Value::Null)]);
    let cases: Vec<ApplyCase<'_>> = vec![
        (
            "create carries timeouts",
            &Value::Null,
            &planned,
            Some(done.clone()),
            "create",
            Some(obj(&[
                ("id", Value::from("1")),
                ("name", Value::from("n")),
                ("timeouts", timeouts.clone()),
            ])),
            false,
        ),
        (
            "create leaving unknowns keeps state, nulls them, errors",
            &Value::Null,
            &planned,
            Some(planned.clone()),
            "create",
            Some(obj(&[("id", Value::Null), ("name", Value::from("n")), ("timeouts", timeouts.clone())])),
            true,
        ),
        (
            "update",
            &prior,
            &planned,
            Some(done.clone()),
            "update",
            Some(obj(&[
                ("id", Value::from("1")),
                ("name", Value::from("n")),
                ("timeouts", timeouts.clone()),
            ])),
            false,
        ),
        ("delete", &prior, &Value::Null, None, "delete", None, false),
    ];
    for (name, prior, planned, returned, op, want_state, want_error) in cases {
        let fake = Fake { returned, calls: Mutex::new(Vec::new()) };
        let result = apply_resource_change(
            &fake,
            &Ctx::background(),
            &(),
            ApplyRequest { prior, planned, config: planned, planned_private: b"" },
        )
        .await;
        assert_eq!(result.state, want_state, "case {name}");
        assert_eq!(result.diagnostics.has_error(), want_error, "case {name}: {:?}", result.diagnostics);
        assert_eq!(
            fake.calls.lock().map(|c| c.clone()).unwrap_or_default(),
            // Writes are marked as applying (their reads skip the coalescing window).
            [format!("{op} deadline=true applying=true")],
            "case {name}"
        );
    }
}

#[tokio::test]
async fn unknown_error_names_paths() {
    let planned = obj(&[("id", Value::unknown()), ("name", Value::from("n")), ("timeouts", Value::Null)]);
    let fake = Fake { returned: Some(planned.clone()), calls: Mutex::new(Vec::new()) };
    let result = apply_resource_change(
        &fake,
        &Ctx::background(),
        &(),
        ApplyRequest { prior: &Value::Null, planned: &planned, config: &planned, planned_private: b"" },
    )
    .await;
    let detail = result.diagnostics.iter().next().map(|d| d.detail.clone()).unwrap_or_default();
    assert!(detail.contains("autopilot_fake") && detail.contains(": id."), "{detail}");
}

#[tokio::test]
async fn read_keeps_timeouts_and_sets_deadline() {
    let timeouts = obj(&[("create", Value::from("10m"))]);
    let current =
        obj(&[("id", Value::from("1")), ("name", Value::from("n")), ("timeouts", timeouts.clone())]);
    let fake = Fake {
        returned: Some(obj(&[("id", Value::from("1")), ("name", Value::from("n"))])),
        calls: Mutex::new(Vec::new()),
    };
    let result =
        read_resource(&fake, &Ctx::background(), &(), ReadRequest { current: &current, private: b"" }).await;
    assert_eq!(result.state, Some(current.clone()));
    assert_eq!(result.private, b"priv".to_vec());
    assert_eq!(
        fake.calls.lock().map(|c| c.clone()).unwrap_or_default(),
        ["read deadline=true applying=false"]
    );

    let gone = Fake { returned: None, calls: Mutex::new(Vec::new()) };
    let result =
        read_resource(&gone, &Ctx::background(), &(), ReadRequest { current: &current, private: b"" }).await;
    assert_eq!(result.state, None);
}
