use std::collections::BTreeMap;

use super::*;
use crate::framework::diag::Diagnostic;
use crate::framework::schema::{Attribute, NestedBlock};
use crate::framework::validator::{self, Validator};
use crate::framework::value::Type;

const GUID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const GUID2: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

fn s(v: &str) -> Value {
    Value::from(v)
}

fn set(items: &[Value]) -> Value {
    Value::Set(items.to_vec())
}

/// (name, validator, value or config, expected detail fragment).
type Case = (&'static str, Box<dyn Validator>, Value, Option<&'static str>);

/// Run one validator on one value as the attribute `attr` of `config`.
fn run(v: &dyn Validator, value: &Value, config: &Value) -> Vec<Diagnostic> {
    let path = AttributePath::new("attr");
    let mut diags = Diagnostics::new();
    v.validate(&ValidateRequest { path: &path, value, config }, &mut diags);
    diags.0
}

#[test]
fn validators_table() {
    let none = obj(&[]);
    let cases: Vec<Case> = vec![
        ("uuid ok", Box::new(validator::uuid()), s(GUID), None),
        ("uuid upper ok", Box::new(validator::uuid()), s(&GUID.to_uppercase()), None),
        ("uuid braces", Box::new(validator::uuid()), s(&format!("{{{GUID}}}")), Some("must be a GUID")),
        (
            "uuid short",
            Box::new(validator::uuid()),
            s("0f8fad5b-d9cb-469f-a165"),
            Some(r#"got: "0f8fad5b-d9cb-469f-a165""#),
        ),
        (
            "uuid not hex",
            Box::new(validator::uuid()),
            s("0f8fad5b-d9cb-469f-a165-70867728950g"),
            Some("GUID"),
        ),
        (
            "uuid wrong type",
            Box::new(validator::uuid()),
            Value::from(3),
            Some("must be a string, got: number"),
        ),
        ("one_of ok", Box::new(validator::one_of(&["a", "b"])), s("b"), None),
        (
            "one_of case",
            Box::new(validator::one_of(&["a", "b"])),
            s("B"),
            Some(r#"must be one of: "a", "b", got: "B""#),
        ),
        ("length ok", Box::new(validator::string_length(1, 3)), s("abc"), None),
        ("length counts chars", Box::new(validator::string_length(1, 3)), s("äöü"), None),
        ("length long", Box::new(validator::string_length(1, 3)), s("abcd"), Some("between 1 and 3, got: 4")),
        ("not_empty string", Box::new(validator::not_empty()), s(""), Some("must not be empty")),
        ("not_empty set", Box::new(validator::not_empty()), set(&[]), Some("must not be empty")),
        ("not_empty ok", Box::new(validator::not_empty()), s("x"), None),
        ("int ok", Box::new(validator::int_between(15, 720)), Value::from(60), None),
        (
            "int low",
            Box::new(validator::int_between(15, 720)),
            Value::from(5),
            Some("between 15 and 720, got: 5"),
        ),
        (
            "int fraction",
            Box::new(validator::int_between(15, 720)),
            Value::Number(crate::framework::Number::Float(20.5)),
            Some("whole number"),
        ),
        (
            "all_chars ok",
            Box::new(validator::all_chars(|c| c.is_ascii_digit(), "must be digits")),
            s("0123"),
            None,
        ),
        (
            "all_chars bad",
            Box::new(validator::all_chars(|c| c.is_ascii_digit(), "must be digits")),
            s("12a"),
            Some(r#"Attribute attr must be digits, got: "12a""#),
        ),
        (
            "all_chars empty",
            Box::new(validator::all_chars(|c| c.is_ascii_digit(), "must be digits")),
            s(""),
            Some(r#"must be digits, got: """#),
        ),
        (
            "all_chars non-ascii digit",
            Box::new(validator::all_chars(|c| c.is_ascii_digit(), "must be digits")),
            s("١"),
            Some("must be digits"),
        ),
        ("size ok", Box::new(validator::size_between(1, 2)), set(&[s("a")]), None),
        (
            "size big",
            Box::new(validator::size_between(1, 2)),
            set(&[s("a"), s("b"), s("c")]),
            Some("between 1 and 2 elements, got: 3 elements"),
        ),
        (
            "size not collection",
            Box::new(validator::size_between(1, 2)),
            s("a"),
            Some("must be a collection"),
        ),
        (
            "each ok",
            Box::new(validator::each_element(validator::uuid())),
            set(&[s(GUID), Value::unknown()]),
            None,
        ),
        (
            "each bad",
            Box::new(validator::each_element(validator::uuid())),
            Value::List(vec![s(GUID), s("x")]),
            Some("Attribute attr[1] must be a GUID"),
        ),
    ];
    for (name, v, value, want) in cases {
        let diags = run(v.as_ref(), &value, &none);
        match want {
            None => assert!(diags.is_empty(), "case {name}: unexpected {diags:?}"),
            Some(text) => {
                assert_eq!(diags.len(), 1, "case {name}: {diags:?}");
                assert!(diags[0].detail.contains(text), "case {name}: {:?} lacks {text:?}", diags[0].detail);
                assert!(diags[0].is_error() && diags[0].path.is_some(), "case {name}");
            }
        }
    }
}

#[test]
fn sibling_validators_table() {
    let cases: Vec<Case> = vec![
        (
            "conflict",
            Box::new(validator::conflicts_with(&["b"])),
            obj(&[("attr", s("x")), ("b", s("y"))]),
            Some("cannot be set together with b"),
        ),
        (
            "no conflict",
            Box::new(validator::conflicts_with(&["b"])),
            obj(&[("attr", s("x")), ("b", Value::Null)]),
            None,
        ),
        (
            "conflict unknown deferred",
            Box::new(validator::conflicts_with(&["b"])),
            obj(&[("attr", s("x")), ("b", Value::unknown())]),
            None,
        ),
        (
            "requires missing",
            Box::new(validator::also_requires(&["b", "c"])),
            obj(&[("attr", s("x")), ("b", s("y"))]),
            Some("requires c to be set"),
        ),
        (
            "requires ok",
            Box::new(validator::also_requires(&["b"])),
            obj(&[("attr", s("x")), ("b", s("y"))]),
            None,
        ),
        (
            "exactly one: none",
            Box::new(validator::exactly_one_of(&["b"])),
            obj(&[("attr", Value::Null), ("b", Value::Null)]),
            Some("attr, b; got none"),
        ),
        (
            "exactly one: both",
            Box::new(validator::exactly_one_of(&["b"])),
            obj(&[("attr", s("x")), ("b", s("y"))]),
            Some("got: attr, b"),
        ),
        (
            "exactly one: other",
            Box::new(validator::exactly_one_of(&["b"])),
            obj(&[("attr", Value::Null), ("b", s("y"))]),
            None,
        ),
        (
            "exactly one: self listed too",
            Box::new(validator::exactly_one_of(&["attr", "b"])),
            obj(&[("attr", s("x")), ("b", Value::Null)]),
            None,
        ),
        (
            "exactly one: unknown deferred",
            Box::new(validator::exactly_one_of(&["b"])),
            obj(&[("attr", Value::Null), ("b", Value::unknown())]),
            None,
        ),
    ];
    for (name, v, config, want) in cases {
        let value = config.attr("attr").cloned().unwrap_or_default();
        let diags = run(v.as_ref(), &value, &config);
        match want {
            None => assert!(diags.is_empty(), "case {name}: unexpected {diags:?}"),
            Some(text) => {
                assert_eq!(diags.len(), 1, "case {name}: {diags:?}");
                assert_eq!(diags[0].summary, "Invalid attribute combination", "case {name}");
                assert!(diags[0].detail.contains(text), "case {name}: {:?} lacks {text:?}", diags[0].detail);
            }
        }
    }
}

fn schema() -> Schema {
    let target = vec![
        Attribute::string("group_id").required().validator(validator::uuid()),
        Attribute::string("kind").optional().validator(validator::one_of(&["include", "exclude"])),
        Attribute::string("filter_id").optional().validator(validator::also_requires(&["kind"])),
    ];
    let mut schema = Schema::default();
    schema.block.attributes = vec![
        Attribute::string("id").computed(),
        Attribute::string("name").required().validator(validator::string_length(1, 5)),
        Attribute::set_of("members", Type::String)
            .optional()
            .validator(validator::each_element(validator::uuid()))
            .validator(validator::size_between(0, 2)),
        Attribute::set_nested("targets", target.clone()).optional(),
        Attribute::single_nested("primary", target).optional(),
        Attribute::string("a").optional().validator(validator::exactly_one_of(&["b"])),
        Attribute::string("b").optional(),
    ];
    schema.block.blocks = vec![NestedBlock {
        name: "extra".into(),
        nesting: BlockNesting::List,
        block: Block {
            attributes: vec![Attribute::number("n").optional().validator(validator::int_between(1, 3))],
            ..Block::default()
        },
        min_items: 0,
        max_items: 0,
    }];
    schema
}

fn config(pairs: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> = ["id", "name", "members", "targets", "primary", "a", "b", "extra"]
        .iter()
        .map(|k| ((*k).to_owned(), Value::Null))
        .collect();
    m.insert("name".into(), s("ok"));
    m.insert("a".into(), s("x"));
    for (k, v) in pairs {
        m.insert((*k).to_owned(), v.clone());
    }
    Value::Object(m)
}

#[test]
fn validate_config_table() {
    let target = |g: &str, kind: Value, filter: Value| {
        obj(&[("group_id", s(g)), ("kind", kind), ("filter_id", filter)])
    };
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        ("valid", config(&[]), vec![]),
        ("unknown skipped", config(&[("name", Value::unknown()), ("members", Value::unknown())]), vec![]),
        ("top-level string", config(&[("name", s("toolong"))]), vec!["name"]),
        ("set element", config(&[("members", set(&[s(GUID), s("nope")]))]), vec!["members[*]"]),
        (
            "set size",
            config(&[("members", set(&[s(GUID), s(GUID2), s("x")]))]),
            vec!["members[*]", "members"],
        ),
        (
            "inside set nested attribute",
            config(&[(
                "targets",
                set(&[target(GUID, Value::Null, Value::Null), target("bad", s("other"), Value::Null)]),
            )]),
            vec!["targets[*].group_id", "targets[*].kind"],
        ),
        (
            "sibling inside single nested",
            config(&[("primary", target(GUID, Value::Null, s(GUID2)))]),
            vec!["primary.filter_id"],
        ),
        (
            "sibling inside set element",
            config(&[("targets", set(&[target(GUID, Value::Null, s(GUID2))]))]),
            vec!["targets[*].filter_id"],
        ),
        ("exactly one", config(&[("a", Value::Null)]), vec!["a"]),
        (
            "nested block element",
            config(&[(
                "extra",
                Value::List(vec![obj(&[("n", Value::from(2))]), obj(&[("n", Value::from(9))])]),
            )]),
            vec!["extra[1].n"],
        ),
    ];
    for (name, config, want) in cases {
        let diags = validate_config(&schema(), &config);
        let got: Vec<String> =
            diags.iter().map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default()).collect();
        assert_eq!(got, want, "case {name}: {diags:?}");
    }
}

#[test]
fn set_element_paths_carry_the_element() {
    let config = config(&[("members", set(&[s("nope")]))]);
    let diags = validate_config(&schema(), &config);
    let path = diags.iter().next().and_then(|d| d.path.clone());
    assert_eq!(path, Some(AttributePath::new("members").set_element(s("nope"))));
}

#[test]
fn schema_value_type() {
    let ty = schema().value_type();
    let target =
        Type::object([("group_id", Type::String), ("kind", Type::String), ("filter_id", Type::String)]);
    let want = Type::object([
        ("id", Type::String),
        ("name", Type::String),
        ("members", Type::Set(Box::new(Type::String))),
        ("targets", Type::Set(Box::new(target.clone()))),
        ("primary", target),
        ("a", Type::String),
        ("b", Type::String),
        ("extra", Type::List(Box::new(Type::object([("n", Type::Number)])))),
    ]);
    assert_eq!(ty, want);
}

#[test]
fn attribute_at_table() {
    let schema = schema();
    let cases: Vec<(&str, AttributePath, Option<&str>)> = vec![
        ("top level", AttributePath::new("name"), Some("name")),
        (
            "set nested element",
            AttributePath::new("targets").set_element(Value::Null).attr("kind"),
            Some("kind"),
        ),
        ("single nested", AttributePath::new("primary").attr("group_id"), Some("group_id")),
        ("collection without element step", AttributePath::new("targets").attr("kind"), None),
        ("nested block", AttributePath::new("extra").index(0).attr("n"), Some("n")),
        ("inside plain value", AttributePath::new("members").set_element(s("x")), None),
        ("missing", AttributePath::new("nope"), None),
        ("root", AttributePath::root(), None),
    ];
    for (name, path, want) in cases {
        assert_eq!(schema.attribute_at(&path).map(|a| a.name.as_str()), want, "case {name}");
    }
}

#[test]
fn source_path_table() {
    let schema = schema();
    // (case, path, what Terraform can place)
    let cases: Vec<(&str, AttributePath, AttributePath)> = vec![
        ("top level", AttributePath::new("name"), AttributePath::new("name")),
        (
            "single nested attribute",
            AttributePath::new("primary").attr("group_id"),
            AttributePath::new("primary"),
        ),
        (
            "set nested attribute element",
            AttributePath::new("targets").set_element(Value::Null).attr("kind"),
            AttributePath::new("targets"),
        ),
        (
            "plain set element",
            AttributePath::new("members").set_element(s("x")),
            AttributePath::new("members"),
        ),
        (
            "list block followed",
            AttributePath::new("extra").index(1).attr("n"),
            AttributePath::new("extra").index(1).attr("n"),
        ),
        ("list block without index", AttributePath::new("extra").attr("n"), AttributePath::new("extra")),
        ("root", AttributePath::root(), AttributePath::root()),
        ("index first", AttributePath::root().index(0), AttributePath::root()),
    ];
    for (name, path, want) in cases {
        assert_eq!(schema.source_path(&path), want, "case {name}");
    }
}
