use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::framework::plan_modifier::{requires_replace, use_state_for_unknown};
use crate::framework::resource::CreateRequest;
use crate::framework::resource::{DeleteRequest, ReadRequest, StateResult, UpdateRequest};
use crate::framework::value::Type;

const ATTRS: [&str; 9] =
    ["id", "name", "description", "etag", "visibility", "secret", "tags", "assignments", "timeouts"];

/// A resource object with the given attributes and every other one null.
fn st(pairs: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> = ATTRS.iter().map(|k| ((*k).to_owned(), Value::Null)).collect();
    for (k, v) in pairs {
        m.insert((*k).to_owned(), v.clone());
    }
    Value::Object(m)
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

fn s(v: &str) -> Value {
    Value::from(v)
}

fn u() -> Value {
    Value::unknown()
}

fn assignment(group: &str, id: Value) -> Value {
    obj(&[("group_id", s(group)), ("id", id)])
}

type ModifyFn = fn(&mut ModifyPlanResponse);

/// A resource whose plan hook is configurable and which records calls.
struct Fake {
    modify: Option<ModifyFn>,
    calls: Mutex<Vec<String>>,
}

impl Fake {
    fn new(modify: Option<ModifyFn>) -> Self {
        Self { modify, calls: Mutex::new(Vec::new()) }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
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
            Attribute::string("id").computed().plan_modifier(use_state_for_unknown()),
            Attribute::string("name").required().plan_modifier(requires_replace()),
            Attribute::string("description").optional(),
            Attribute::string("etag").computed(),
            Attribute::string("visibility").default_value("Private"),
            Attribute::string("secret").optional().write_only(),
            Attribute::set_of("tags", Type::String).optional().computed(),
            Attribute::set_nested(
                "assignments",
                vec![
                    Attribute::string("group_id").required(),
                    Attribute::string("id").computed().plan_modifier(use_state_for_unknown()),
                ],
            )
            .optional(),
            timeouts::block(&["create", "read", "update", "delete"]),
        ];
        schema
    }

    async fn modify_plan(
        &self,
        ctx: &Ctx,
        _: Option<&()>,
        _: ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(format!("modify_plan deadline={}", ctx.deadline.is_some()));
        }
        if let Some(f) = self.modify {
            f(resp);
        }
    }

    async fn create(&self, _: &Ctx, _: &(), _: CreateRequest<'_>) -> StateResult {
        StateResult::default()
    }

    async fn read(&self, _: &Ctx, _: &(), _: ReadRequest<'_>) -> StateResult {
        StateResult::default()
    }

    async fn update(&self, _: &Ctx, _: &(), _: UpdateRequest<'_>) -> StateResult {
        StateResult::default()
    }

    async fn delete(&self, _: &Ctx, _: &(), _: DeleteRequest<'_>) -> Diagnostics {
        Diagnostics::new()
    }
}

fn prior_state() -> Value {
    st(&[
        ("id", s("g1")),
        ("name", s("devices")),
        ("description", s("old")),
        ("etag", s("e1")),
        ("visibility", s("Private")),
        ("tags", Value::Set(vec![s("a")])),
        ("assignments", Value::Set(vec![assignment("G1", s("a1"))])),
    ])
}

struct Case {
    name: &'static str,
    prior: Value,
    config: Value,
    proposed: Value,
    modify: Option<ModifyFn>,
    planned: Value,
    requires_replace: Vec<AttributePath>,
}

fn cases() -> Vec<Case> {
    let config = st(&[("name", s("devices")), ("description", s("old")), ("secret", s("pw"))]);
    let unchanged_proposed = {
        let Value::Object(mut m) = prior_state() else { unreachable!() };
        m.insert("secret".into(), s("pw"));
        Value::Object(m)
    };
    vec![
        Case {
            name: "create marks computed unknown, applies default, nulls write-only",
            prior: Value::Null,
            config: st(&[
                ("name", s("devices")),
                ("secret", s("pw")),
                ("assignments", Value::Set(vec![assignment("G1", Value::Null)])),
            ]),
            proposed: st(&[
                ("name", s("devices")),
                ("secret", s("pw")),
                ("assignments", Value::Set(vec![assignment("G1", Value::Null)])),
            ]),
            modify: None,
            planned: st(&[
                ("id", u()),
                ("name", s("devices")),
                ("etag", u()),
                ("visibility", s("Private")),
                ("tags", u()),
                ("assignments", Value::Set(vec![assignment("G1", u())])),
            ]),
            requires_replace: vec![],
        },
        Case {
            name: "unchanged update plans exactly the prior state",
            prior: prior_state(),
            config: config.clone(),
            proposed: unchanged_proposed,
            modify: None,
            planned: prior_state(),
            requires_replace: vec![],
        },
        Case {
            name: "update marks computed unknown except use_state_for_unknown",
            prior: prior_state(),
            config: st(&[("name", s("devices")), ("description", s("new"))]),
            proposed: {
                let Value::Object(mut m) = prior_state() else { unreachable!() };
                m.insert("description".into(), s("new"));
                Value::Object(m)
            },
            modify: None,
            planned: st(&[
                ("id", s("g1")),
                ("name", s("devices")),
                ("description", s("new")),
                ("etag", u()),
                ("visibility", s("Private")),
                ("tags", u()),
                ("assignments", Value::Set(vec![assignment("G1", s("a1"))])),
            ]),
            requires_replace: vec![],
        },
        Case {
            name: "default planned again when removed from config",
            prior: {
                let Value::Object(mut m) = prior_state() else { unreachable!() };
                m.insert("visibility".into(), s("Public"));
                Value::Object(m)
            },
            config: config.clone(),
            proposed: {
                let Value::Object(mut m) = prior_state() else { unreachable!() };
                m.insert("visibility".into(), s("Public"));
                Value::Object(m)
            },
            modify: None,
            planned: st(&[
                ("id", s("g1")),
                ("name", s("devices")),
                ("description", s("old")),
                ("etag", u()),
                ("visibility", s("Private")),
                ("tags", u()),
                ("assignments", Value::Set(vec![assignment("G1", s("a1"))])),
            ]),
            requires_replace: vec![],
        },
        Case {
            name: "name change requires replace; resource paths filtered, sorted, deduplicated",
            prior: prior_state(),
            config: st(&[("name", s("other")), ("description", s("old"))]),
            proposed: {
                let Value::Object(mut m) = prior_state() else { unreachable!() };
                m.insert("name".into(), s("other"));
                Value::Object(m)
            },
            modify: Some(|resp| {
                resp.requires_replace.push(AttributePath::new("name"));
                resp.requires_replace.push(AttributePath::new("etag"));
                resp.requires_replace.push(AttributePath::new("description"));
            }),
            planned: st(&[
                ("id", s("g1")),
                ("name", s("other")),
                ("description", s("old")),
                ("etag", u()),
                ("visibility", s("Private")),
                ("tags", u()),
                ("assignments", Value::Set(vec![assignment("G1", s("a1"))])),
            ]),
            requires_replace: vec![AttributePath::new("etag"), AttributePath::new("name")],
        },
        Case {
            name: "new set element gets unknown id, existing keeps its own",
            prior: prior_state(),
            config: st(&[
                ("name", s("devices")),
                ("description", s("old")),
                (
                    "assignments",
                    Value::Set(vec![assignment("G2", Value::Null), assignment("G1", Value::Null)]),
                ),
            ]),
            proposed: {
                let Value::Object(mut m) = prior_state() else { unreachable!() };
                m.insert(
                    "assignments".into(),
                    Value::Set(vec![assignment("G2", Value::Null), assignment("G1", s("a1"))]),
                );
                Value::Object(m)
            },
            modify: None,
            planned: st(&[
                ("id", s("g1")),
                ("name", s("devices")),
                ("description", s("old")),
                ("etag", u()),
                ("visibility", s("Private")),
                ("tags", u()),
                ("assignments", Value::Set(vec![assignment("G2", u()), assignment("G1", s("a1"))])),
            ]),
            requires_replace: vec![],
        },
        Case {
            name: "modify_plan may set values",
            prior: Value::Null,
            config: st(&[("name", s("devices"))]),
            proposed: st(&[("name", s("devices"))]),
            modify: Some(|resp| {
                if let Value::Object(m) = &mut resp.planned {
                    m.insert("etag".into(), s("fixed"));
                }
            }),
            planned: st(&[
                ("id", u()),
                ("name", s("devices")),
                ("etag", s("fixed")),
                ("visibility", s("Private")),
                ("tags", u()),
            ]),
            requires_replace: vec![],
        },
    ]
}

#[tokio::test]
async fn plan_table() {
    for case in cases() {
        let fake = Fake::new(case.modify);
        let resp = plan_resource_change(
            &fake,
            &Ctx::background(),
            None,
            PlanRequest {
                prior: &case.prior,
                proposed: &case.proposed,
                config: &case.config,
                prior_private: b"p",
            },
        )
        .await;
        assert_eq!(resp.planned, case.planned, "case {}", case.name);
        assert_eq!(resp.requires_replace, case.requires_replace, "case {}", case.name);
        assert!(resp.diagnostics.is_empty(), "case {}: {:?}", case.name, resp.diagnostics);
        assert_eq!(resp.planned_private, b"p".to_vec(), "case {}", case.name);
        assert_eq!(fake.calls(), ["modify_plan deadline=true"], "case {}", case.name);
    }
}

#[tokio::test]
async fn destroy_plans_null_and_nothing_else() {
    let fake = Fake::new(Some(|resp| resp.requires_replace.push(AttributePath::new("name"))));
    let prior = prior_state();
    let resp = plan_resource_change(
        &fake,
        &Ctx::background(),
        None,
        PlanRequest { prior: &prior, proposed: &Value::Null, config: &Value::Null, prior_private: b"x" },
    )
    .await;
    assert_eq!(resp.planned, Value::Null);
    assert!(resp.requires_replace.is_empty() && resp.diagnostics.is_empty());
    assert_eq!(resp.planned_private, b"x".to_vec());
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn modify_plan_cannot_turn_update_into_destroy() {
    let fake = Fake::new(Some(|resp| resp.planned = Value::Null));
    let config = st(&[("name", s("devices"))]);
    let resp = plan_resource_change(
        &fake,
        &Ctx::background(),
        None,
        PlanRequest { prior: &Value::Null, proposed: &config, config: &config, prior_private: b"" },
    )
    .await;
    assert!(resp.diagnostics.has_error());
}

#[test]
fn normalise_requires_replace_table() {
    let prior = obj(&[("a", s("1")), ("b", Value::Set(vec![s("x"), s("y")])), ("c", s("same"))]);
    let planned =
        obj(&[("a", s("2")), ("b", Value::Set(vec![s("y"), s("x")])), ("c", s("same")), ("d", u())]);
    let p = AttributePath::new;
    let cases: Vec<(&str, Vec<AttributePath>, Vec<AttributePath>)> = vec![
        ("changed kept", vec![p("a")], vec![p("a")]),
        ("reordered set is unchanged", vec![p("b")], vec![]),
        ("same value dropped", vec![p("c")], vec![]),
        ("unknown counts as change", vec![p("d")], vec![p("d")]),
        ("nowhere on both sides dropped", vec![p("zzz")], vec![]),
        ("sorted and deduplicated", vec![p("d"), p("a"), p("d"), p("a")], vec![p("a"), p("d")]),
    ];
    for (name, input, want) in cases {
        assert_eq!(normalise_requires_replace(input, &prior, &planned), want, "case {name}");
    }
    assert!(normalise_requires_replace(vec![p("a")], &Value::Null, &planned).is_empty(), "create");
}
