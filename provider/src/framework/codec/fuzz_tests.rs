//! Generated-input tests of the msgpack and JSON value decoders: arbitrary bytes, and valid
//! encodings of random values mutated in structure-aware ways (length prefixes inflated to
//! 2^32, bytes flipped, inserted, removed, truncated), decoded against random schema types.
//! Properties: no panic, no stack exhaustion, and a decoded value no larger than its input can
//! justify. CI runs proptest's default case count; the issue #12 run used, in release mode:
//!
//!     PROPTEST_CASES=1000000 cargo test --release -p terraform-provider-autopilot --lib \
//!         framework::codec::fuzz_tests::prop_

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::framework::value::{Number, Refinements};

fn config() -> ProptestConfig {
    // Reads PROPTEST_CASES; no failure files in the source tree.
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

fn leaf_type() -> impl Strategy<Value = Type> {
    prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String), Just(Type::Dynamic)]
}

fn name() -> impl Strategy<Value = String> {
    "[a-c]{1,2}"
}

fn any_type() -> impl Strategy<Value = Type> {
    leaf_type().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| Type::List(Box::new(t))),
            inner.clone().prop_map(|t| Type::Set(Box::new(t))),
            inner.clone().prop_map(|t| Type::Map(Box::new(t))),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Type::Tuple),
            prop::collection::btree_map(name(), inner, 0..4)
                .prop_map(|attributes| Type::Object { attributes, optional: Vec::new() }),
        ]
    })
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::Int),
        any::<u64>().prop_map(Number::UInt),
        // Ranges, not filters: a million cases must not run into proptest's reject limit.
        (-1e300..1e300f64).prop_map(Number::Float),
        "-?[1-9][0-9]{20,40}\\.[0-9]{1,20}".prop_map(Number::Big),
    ]
}

/// A value of type `ty` (nulls and unknowns included at any level).
fn value_of(ty: &Type) -> BoxedStrategy<Value> {
    let known = match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => number().prop_map(Value::Number).boxed(),
        Type::String => "\\PC{0,12}".prop_map(Value::String).boxed(),
        Type::Dynamic => prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String)]
            .prop_flat_map(|t| value_of(&t).prop_map(move |v| Value::Dynamic(t.clone(), Box::new(v))))
            .boxed(),
        Type::List(e) => prop::collection::vec(value_of(e), 0..4).prop_map(Value::List).boxed(),
        Type::Set(e) => prop::collection::vec(value_of(e), 0..4).prop_map(Value::Set).boxed(),
        Type::Map(e) => prop::collection::btree_map(name(), value_of(e), 0..4).prop_map(Value::Map).boxed(),
        Type::Tuple(es) => es.iter().map(value_of).collect::<Vec<_>>().prop_map(Value::Tuple).boxed(),
        Type::Object { attributes, .. } => attributes
            .iter()
            .map(|(k, t)| {
                let k = k.clone();
                value_of(t).prop_map(move |v| (k.clone(), v))
            })
            .collect::<Vec<_>>()
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
            .boxed(),
    };
    prop_oneof![
        8 => known,
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(|not_null| Value::Unknown(Refinements { not_null, raw: None })),
    ]
    .boxed()
}

fn typed_value() -> impl Strategy<Value = (Type, Value)> {
    any_type().prop_flat_map(|t| value_of(&t).prop_map(move |v| (t.clone(), v)))
}

/// One structure-aware change to an encoding.
#[derive(Clone, Debug)]
enum Mutation {
    /// Overwrite at a position with a length prefix claiming 2^32 - 1 items or bytes.
    HugeLength {
        at: usize,
        marker: u8,
    },
    Flip {
        at: usize,
        mask: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Remove {
        at: usize,
        n: usize,
    },
    Truncate {
        at: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, prop::sample::select(vec![0xdd, 0xdf, 0xdb, 0xc6, 0xc9]))
            .prop_map(|(at, marker)| Mutation::HugeLength { at, marker }),
        (at, 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (at, prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (at, 1..8usize).prop_map(|(at, n)| Mutation::Remove { at, n }),
        at.prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
    match m {
        Mutation::HugeLength { at, marker } => {
            let i = pos(*at, bytes.len());
            let prefix = [*marker, 0xff, 0xff, 0xff, 0xff];
            let end = (i + prefix.len()).min(bytes.len());
            bytes.splice(i..end, prefix);
        }
        Mutation::Flip { at, mask } => {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= mask;
            }
        }
        Mutation::Insert { at, bytes: new } => {
            let i = pos(*at, bytes.len());
            bytes.splice(i..i, new.iter().copied());
        }
        Mutation::Remove { at, n } => {
            let i = pos(*at, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Truncate { at } => {
            let i = pos(*at, bytes.len());
            bytes.truncate(i);
        }
    }
}

/// Nodes of a value tree.
fn nodes(v: &Value) -> usize {
    1 + match v {
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => items.iter().map(nodes).sum(),
        Value::Map(m) | Value::Object(m) => m.values().map(nodes).sum(),
        Value::Dynamic(_, inner) => nodes(inner),
        _ => 0,
    }
}

/// Nodes of a type tree (an object decoded from an empty map still holds every attribute).
fn type_nodes(t: &Type) -> usize {
    1 + match t {
        Type::List(e) | Type::Set(e) | Type::Map(e) => type_nodes(e),
        Type::Tuple(es) => es.iter().map(type_nodes).sum(),
        Type::Object { attributes, .. } => attributes.values().map(type_nodes).sum(),
        _ => 0,
    }
}

/// Every node of a decoded value is paid for by at least one input byte, except the null
/// attributes an object fills in (bounded by its type); dynamic values carry their type in
/// the input, so the same bound holds for them.
fn assert_bounded(
    input: &[u8],
    ty: &Type,
    decoded: &Result<Value, DecodeError>,
) -> Result<(), TestCaseError> {
    if let Ok(v) = decoded {
        let bound = (input.len() + 1) * type_nodes(ty).max(1) * 2;
        prop_assert!(nodes(v) <= bound, "{} nodes from {} bytes", nodes(v), input.len());
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes against a random type: an error or a value, never a panic.
    #[test]
    fn prop_msgpack_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256), ty in any_type()) {
        let decoded = decode_msgpack(&bytes, &ty);
        assert_bounded(&bytes, &ty, &decoded)?;
        if let Ok(v) = decoded {
            // Whatever was accepted can be written back.
            let _ = try_encode_msgpack(&v, &ty);
        }
    }

    /// Valid encodings, mutated, decoded against their own type and against another one.
    #[test]
    fn prop_msgpack_mutated_encodings(
        (ty, value) in typed_value(),
        mutations in prop::collection::vec(mutation(), 0..4),
        other in any_type(),
    ) {
        let mut bytes = try_encode_msgpack(&value, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if mutations.is_empty() {
            let decoded = decode_msgpack(&bytes, &ty);
            prop_assert!(decoded.is_ok(), "{:?} of {:?} does not decode: {:?}", value, ty, decoded);
        }
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        for t in [&ty, &other] {
            let decoded = decode_msgpack(&bytes, t);
            assert_bounded(&bytes, t, &decoded)?;
        }
    }

    /// Arbitrary bytes as JSON (strict and lenient attribute handling).
    #[test]
    fn prop_json_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256), ty in any_type()) {
        assert_bounded(&bytes, &ty, &decode_json(&bytes, &ty))?;
        assert_bounded(&bytes, &ty, &decode_json_ignore_undefined(&bytes, &ty))?;
    }

    /// JSON-looking text: the parser's tokens in random order.
    #[test]
    fn prop_json_token_soup(
        tokens in prop::collection::vec(
            prop::sample::select(vec![
                "{", "}", "[", "]", ":", ",", "\"a\"", "\"b\"", "\"value\"", "\"type\"", "\"\\u00e9\"", "\"\\ud800\"",
                "null", "true", "false", "0", "-1", "1e999999", "1.5", "123456789012345678901234567890",
                "\"list\"", "\"object\"", "\"dynamic\"", "\"string\"", "\"number\"", " ",
            ]),
            0..64,
        ),
        ty in any_type(),
    ) {
        let text = tokens.concat();
        assert_bounded(text.as_bytes(), &ty, &decode_json(text.as_bytes(), &ty))?;
        assert_bounded(text.as_bytes(), &ty, &decode_json_ignore_undefined(text.as_bytes(), &ty))?;
    }

    /// Valid JSON encodings of known values, mutated, decoded against their own type and another.
    #[test]
    fn prop_json_mutated_encodings(
        (ty, value) in typed_value(),
        mutations in prop::collection::vec(mutation(), 0..4),
        other in any_type(),
    ) {
        // JSON cannot hold unknown values: those encodings fail, which is not under test here.
        let Ok(mut bytes) = try_encode_json(&value, &ty) else { return Ok(()) };
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        for t in [&ty, &other] {
            assert_bounded(&bytes, t, &decode_json(&bytes, t))?;
        }
    }
}

/// A dynamic value whose value is again a dynamic value, `levels` deep: a dozen bytes a level.
fn nested_dynamic(levels: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..levels {
        out.extend_from_slice(&[0x92, 0xa9]);
        out.extend_from_slice(b"\"dynamic\"");
    }
    out.push(0xc0);
    out
}

#[test]
fn deeply_nested_dynamic_values_are_an_error_not_a_stack_overflow() {
    // 100,000 levels in 1.1 MB: Terraform's default gRPC message limit is 4 MB.
    let bytes = nested_dynamic(100_000);
    let err = decode_msgpack(&bytes, &Type::Dynamic).expect_err("too deep");
    assert!(err.to_string().contains("nested more than 512 levels"), "{err}");
    // Nesting a schema could have is fine.
    assert!(decode_msgpack(&nested_dynamic(50), &Type::Dynamic).is_ok());
}

#[test]
fn length_prefixes_are_claims_not_reservations() {
    for (claimed, remaining, at_most) in
        [(u32::MAX as usize, 4_000_000, 1024), (10, 4_000_000, 10), (u32::MAX as usize, 3, 3), (0, 0, 0)]
    {
        assert!(msgpack::initial_capacity(claimed, remaining) <= at_most, "{claimed} {remaining}");
    }
    // A list claiming 2^32 - 1 elements with none present ends at the input's end.
    let list = Type::List(Box::new(Type::String));
    assert_eq!(decode_msgpack(&[0xdd, 0xff, 0xff, 0xff, 0xff], &list), Err(DecodeError::Eof));
    // A map claiming 2^32 - 1 entries, and a string claiming 2^32 - 1 bytes.
    let map = Type::Map(Box::new(Type::String));
    assert_eq!(decode_msgpack(&[0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, b'k'], &map), Err(DecodeError::Eof));
    assert!(decode_msgpack(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'x'], &Type::String).is_err());
    let object = Type::Object { attributes: BTreeMap::new(), optional: Vec::new() };
    assert!(decode_msgpack(&[0xdf, 0xff, 0xff, 0xff, 0xff], &object).is_err());
}

/// A dynamic value naming K attributes once, then N objects that omit them all: N × K nulls.
fn lacking_objects(k: usize, n: usize) -> (Vec<u8>, Vec<u8>) {
    let attributes: serde_json::Map<String, serde_json::Value> =
        (0..k).map(|i| (format!("a{i}"), serde_json::json!("string"))).collect();
    let ty = serde_json::json!(["list", ["object", attributes]]).to_string();
    let mut msgpack = vec![0x92, 0xdb];
    msgpack.extend_from_slice(&u32::try_from(ty.len()).unwrap().to_be_bytes());
    msgpack.extend_from_slice(ty.as_bytes());
    msgpack.push(0xdd);
    msgpack.extend_from_slice(&u32::try_from(n).unwrap().to_be_bytes());
    msgpack.extend(std::iter::repeat_n(0x80, n));
    let json = format!(r#"{{"type":{ty},"value":[{}]}}"#, vec!["{}"; n].join(","));
    (msgpack, json.into_bytes())
}

#[test]
fn objects_lacking_attributes_cannot_multiply_the_input() {
    // 3,000 × 3,000 nulls (9 million values) from 57 kB (msgpack) or 60 kB (JSON).
    let (msgpack, json) = lacking_objects(3_000, 3_000);
    let err = decode_msgpack(&msgpack, &Type::Dynamic).expect_err("msgpack");
    assert!(err.to_string().contains("lack more attributes"), "{err}");
    let err = decode_json(&json, &Type::Dynamic).expect_err("json");
    assert!(err.to_string().contains("lack more attributes"), "{err}");
    // A state written by an older schema lacks a few attributes per object: still fine.
    let (msgpack, json) = lacking_objects(8, 2_000);
    assert!(decode_msgpack(&msgpack, &Type::Dynamic).is_ok());
    assert!(decode_json(&json, &Type::Dynamic).is_ok());
}
