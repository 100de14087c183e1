//! Codec tests: byte vectors as go-cty writes them, round trips, hostile inputs.

use std::collections::BTreeMap;

use super::*;
use crate::framework::value::{Number, Refinements};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0)).collect()
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

fn object_type(pairs: &[(&str, Type)]) -> Type {
    Type::object(pairs.iter().map(|(k, t)| (*k, t.clone())))
}

fn list(t: Type) -> Type {
    Type::List(Box::new(t))
}

fn set(t: Type) -> Type {
    Type::Set(Box::new(t))
}

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

fn refined(payload: &str) -> Value {
    let raw = hex(payload);
    let not_null = raw.windows(2).any(|w| w == [0x01, 0xc2]);
    Value::Unknown(Refinements { not_null, raw: Some(raw) })
}

/// (name, type, value, bytes as go-cty writes them). Each is checked both ways.
fn msgpack_vectors() -> Vec<(&'static str, Type, Value, &'static str)> {
    vec![
        ("string", Type::String, s("hello"), "a5 68656c6c6f"),
        ("empty string", Type::String, s(""), "a0"),
        ("null string", Type::String, Value::Null, "c0"),
        ("unknown string", Type::String, Value::unknown(), "d4 00 00"),
        (
            "unknown not null",
            Type::String,
            Value::Unknown(Refinements { not_null: true, raw: Some(hex("81 01 c2")) }),
            "c7 03 0c 81 01 c2",
        ),
        ("unknown with prefix", Type::String, refined("81 02 a4 666f6f2d"), "c7 07 0c 81 02 a4 666f6f2d"),
        (
            "unknown not null with prefix",
            Type::String,
            refined("82 01 c2 02 a4 666f6f2d"),
            "c7 09 0c 82 01 c2 02 a4 666f6f2d",
        ),
        ("unknown number lower bound", Type::Number, refined("81 03 92 00 c3"), "c7 05 0c 81 03 92 00 c3"),
        ("unknown list min length", list(Type::String), refined("81 05 01"), "c7 03 0c 81 05 01"),
        ("true", Type::Bool, Value::Bool(true), "c3"),
        ("false", Type::Bool, Value::Bool(false), "c2"),
        ("int 1", Type::Number, Value::from(1), "01"),
        ("int -1", Type::Number, Value::from(-1), "ff"),
        ("int -33", Type::Number, Value::from(-33), "d0 df"),
        ("int 200", Type::Number, Value::from(200), "cc c8"),
        ("int 65536", Type::Number, Value::from(65536), "ce 00010000"),
        ("int max", Type::Number, Value::from(i64::MAX), "cf 7fffffffffffffff"),
        ("int min", Type::Number, Value::from(i64::MIN), "d3 8000000000000000"),
        ("float 1.5", Type::Number, Value::Number(Number::Float(1.5)), "cb 3ff8000000000000"),
        ("infinity", Type::Number, Value::Number(Number::Float(f64::INFINITY)), "cb 7ff0000000000000"),
        (
            "beyond int64 as string",
            Type::Number,
            Value::Number(Number::UInt(9_223_372_036_854_775_808)),
            "b3 39323233333732303336383534373735383038",
        ),
        ("inexact fraction as string", Type::Number, Value::Number(Number::Big("0.8".into())), "a3 302e38"),
        ("list", list(Type::String), Value::List(vec![s("hello")]), "91 a5 68656c6c6f"),
        ("list with unknown", list(Type::String), Value::List(vec![Value::unknown()]), "91 d4 00 00"),
        ("empty list", list(Type::String), Value::List(vec![]), "90"),
        ("null list", list(Type::String), Value::Null, "c0"),
        ("set", set(Type::Bool), Value::Set(vec![Value::Bool(false), Value::Bool(true)]), "92 c2 c3"),
        (
            "map",
            Type::Map(Box::new(Type::String)),
            Value::Map(BTreeMap::from([("greeting".to_owned(), s("hello"))])),
            "81 a8 6772656574696e67 a5 68656c6c6f",
        ),
        (
            "tuple",
            Type::Tuple(vec![Type::String, Type::Number]),
            Value::Tuple(vec![s("a"), Value::from(2)]),
            "92 a1 61 02",
        ),
        (
            "object sorted by name",
            object_type(&[("b", Type::Number), ("a", Type::String)]),
            obj(&[("a", s("x")), ("b", Value::Null)]),
            "82 a1 61 a1 78 a1 62 c0",
        ),
        // From terraform-plugin-go's tftypes msgpack tests (written by the same cty rules).
        (
            "smallest float",
            Type::Number,
            Value::Number(Number::Float(f64::from_bits(1))),
            "cb 0000000000000001",
        ),
        (
            "negative infinity",
            Type::Number,
            Value::Number(Number::Float(f64::NEG_INFINITY)),
            "cb fff0000000000000",
        ),
        (
            "u64 max as string",
            Type::Number,
            Value::Number(Number::UInt(u64::MAX)),
            "b4 3138343436373434303733373039353531363135",
        ),
        (
            "dynamic bool",
            Type::Dynamic,
            Value::Dynamic(Type::Bool, Box::new(Value::Bool(true))),
            "92 c4 06 22626f6f6c22 c3",
        ),
        (
            "dynamic number",
            Type::Dynamic,
            Value::Dynamic(Type::Number, Box::new(Value::from(1))),
            "92 c4 08 226e756d62657222 01",
        ),
        (
            "dynamic map",
            Type::Dynamic,
            Value::Dynamic(
                Type::Map(Box::new(Type::String)),
                Box::new(Value::Map(BTreeMap::from([("hello".to_owned(), s("hello"))]))),
            ),
            "92 c4 10 5b226d6170222c22737472696e67225d 81 a5 68656c6c6f a5 68656c6c6f",
        ),
        (
            "set of dynamic",
            set(Type::Dynamic),
            Value::Set(vec![Value::Dynamic(Type::String, Box::new(s("hello")))]),
            "91 92 c4 08 22737472696e6722 a5 68656c6c6f",
        ),
        ("dynamic null", Type::Dynamic, Value::Null, "c0"),
        ("dynamic unknown", Type::Dynamic, Value::unknown(), "d4 00 00"),
        (
            "dynamic typed null string",
            Type::Dynamic,
            Value::Dynamic(Type::String, Box::new(Value::Null)),
            "92 c4 08 22737472696e6722 c0",
        ),
        (
            "dynamic list of string",
            Type::Dynamic,
            Value::Dynamic(list(Type::String), Box::new(Value::List(vec![s("hi")]))),
            "92 c4 11 5b226c697374222c22737472696e67225d 91 a2 6869",
        ),
    ]
}

#[test]
fn msgpack_matches_cty_bytes() {
    for (name, ty, value, bytes) in msgpack_vectors() {
        let want = hex(bytes);
        assert_eq!(try_encode_msgpack(&value, &ty), Ok(want.clone()), "encode {name}");
        assert_eq!(decode_msgpack(&want, &ty), Ok(value), "decode {name}");
    }
}

#[test]
fn msgpack_number_text_vectors() {
    // 100 nines travel as str8; f64::MAX is an integer and travels as its exact digits.
    let nines = "9".repeat(100);
    let mut want = vec![0xd9, 100];
    want.extend_from_slice(nines.as_bytes());
    let big = Value::Number(Number::Big(nines.clone()));
    assert_eq!(try_encode_msgpack(&big, &Type::Number), Ok(want.clone()));
    assert_eq!(decode_msgpack(&want, &Type::Number), Ok(big));

    let max_digits = format!("{:.0}", f64::MAX);
    assert!(max_digits.starts_with("1797693134862315") && max_digits.len() == 309);
    let mut want = vec![0xda, 0x01, 0x35];
    want.extend_from_slice(max_digits.as_bytes());
    assert_eq!(try_encode_msgpack(&Value::Number(Number::Float(f64::MAX)), &Type::Number), Ok(want.clone()));
    assert_eq!(decode_msgpack(&want, &Type::Number), Ok(Value::Number(Number::Big(max_digits))));
}

#[test]
fn msgpack_round_trips() {
    let nested_ty = object_type(&[
        ("id", Type::String),
        ("tags", set(Type::String)),
        ("items", list(object_type(&[("n", Type::Number), ("ok", Type::Bool)]))),
        ("any", Type::Dynamic),
        ("labels", Type::Map(Box::new(Type::String))),
    ]);
    let nested = obj(&[
        ("id", Value::unknown()),
        ("tags", Value::Set(vec![s("a"), s("b")])),
        (
            "items",
            Value::List(vec![
                obj(&[
                    ("n", Value::Number(Number::Big("123456789012345678901234567890".into()))),
                    ("ok", Value::Null),
                ]),
                obj(&[("n", Value::Number(Number::Float(-0.5))), ("ok", Value::Bool(true))]),
            ]),
        ),
        ("any", Value::Dynamic(object_type(&[("x", Type::Number)]), Box::new(obj(&[("x", Value::from(3))])))),
        ("labels", Value::Map(BTreeMap::new())),
    ]);
    let long = "x".repeat(70_000);
    let cases: Vec<(&str, Type, Value)> = vec![
        ("nested object", nested_ty, nested),
        ("long string uses str32", Type::String, s(&long)),
        ("str8", Type::String, s(&"y".repeat(200))),
        ("many elements use array16", list(Type::Number), Value::List((0..40).map(Value::from).collect())),
        ("big negative", Type::Number, Value::Number(Number::Big("-99999999999999999999".into()))),
        ("uint max", Type::Number, Value::Number(Number::UInt(u64::MAX))),
        (
            "list of dynamic",
            list(Type::Dynamic),
            Value::List(vec![Value::unknown(), Value::Dynamic(Type::Bool, Box::new(Value::Bool(true)))]),
        ),
    ];
    for (name, ty, value) in cases {
        let bytes = try_encode_msgpack(&value, &ty);
        assert!(bytes.is_ok(), "encode {name}: {bytes:?}");
        let bytes = bytes.unwrap_or_default();
        assert_eq!(decode_msgpack(&bytes, &ty), Ok(value), "round trip {name}");
    }
}

#[test]
fn msgpack_decode_table() {
    let ab = object_type(&[("a", Type::String), ("b", Type::String)]);
    let cases: Vec<(&str, Type, &str, Result<Value, ()>)> = vec![
        (
            "missing attribute is null",
            ab.clone(),
            "81 a1 61 a1 78",
            Ok(obj(&[("a", s("x")), ("b", Value::Null)])),
        ),
        ("extra attribute is an error", ab.clone(), "81 a1 7a a1 78", Err(())),
        ("number from string", Type::Number, "a3 302e31", Ok(Value::Number(Number::Big("0.1".into())))),
        ("integral number from string", Type::Number, "a2 3432", Ok(Value::from(42))),
        ("float32", Type::Number, "ca 3fc00000", Ok(Value::Number(Number::Float(1.5)))),
        ("integral float becomes int", Type::Number, "cb 4000000000000000", Ok(Value::from(2))),
        ("uint64 beyond i64", Type::Number, "cf ffffffffffffffff", Ok(Value::Number(Number::UInt(u64::MAX)))),
        ("uint8", Type::Number, "cc ff", Ok(Value::from(255))),
        ("not a number", Type::Number, "a1 78", Err(())),
        ("bool required", Type::Bool, "01", Err(())),
        ("string from bin", Type::String, "c4 02 6869", Ok(s("hi"))),
        ("invalid utf8", Type::String, "a1 ff", Err(())),
        ("zero-length ext is unknown", Type::String, "c7 00 00", Ok(Value::unknown())),
        ("refinement ext with other code", Type::String, "c7 03 05 81 01 c2", Err(())),
        ("refined as null collapses to null", Type::String, "c7 03 0c 81 01 c3", Ok(Value::Null)),
        ("refinements on dynamic ignored", Type::Dynamic, "c7 03 0c 81 01 c2", Ok(Value::unknown())),
        (
            "dynamic with str type json",
            Type::Dynamic,
            "92 a6 22626f6f6c22 c3",
            Ok(Value::Dynamic(Type::Bool, Box::new(Value::Bool(true)))),
        ),
        ("dynamic with wrong arity", Type::Dynamic, "91 a6 22626f6f6c22", Err(())),
        ("dynamic with bad type", Type::Dynamic, "92 a5 2266756e22 c3", Err(())),
        ("tuple length mismatch", Type::Tuple(vec![Type::String]), "92 a1 61 a1 62", Err(())),
        ("truncated string", Type::String, "a5 6865", Err(())),
        ("empty input", Type::String, "", Err(())),
        ("hostile array32 length", list(Type::String), "dd ffffffff", Err(())),
        ("hostile map32 length", Type::Map(Box::new(Type::String)), "df ffffffff", Err(())),
        ("hostile str32 length", Type::String, "db ffffffff 61", Err(())),
        ("hostile ext32 length", Type::String, "c9 ffffffff 0c", Err(())),
        ("oversize refinements", Type::String, "c9 00000401 0c", Err(())),
    ];
    for (name, ty, bytes, want) in cases {
        let got = decode_msgpack(&hex(bytes), &ty).map_err(|_| ());
        assert_eq!(got, want, "case {name}");
    }
}

#[test]
fn msgpack_oversize_refinement_payload_is_rejected() {
    let mut bytes = hex("c9 00000401 0c");
    bytes.extend(std::iter::repeat_n(0u8, 0x401));
    assert!(decode_msgpack(&bytes, &Type::String).is_err());
}

#[test]
fn msgpack_encode_errors_name_the_path() {
    let ty = object_type(&[("count", Type::Number), ("tags", list(Type::String))]);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("string where number", obj(&[("count", s("many"))]), "count"),
        ("unknown attribute", obj(&[("nope", s("x"))]), "the top level"),
        ("object in list of string", obj(&[("tags", Value::List(vec![obj(&[])]))]), "tags[0]"),
    ];
    for (name, value, path) in cases {
        let err = try_encode_msgpack(&value, &ty).err();
        assert_eq!(err.map(|e| e.path_text), Some(path.to_owned()), "case {name}");
        // The lenient form still produces decodable bytes.
        assert!(decode_msgpack(&encode_msgpack(&value, &ty), &ty).is_ok(), "lenient {name}");
    }
}

#[test]
fn msgpack_encode_conversions() {
    let cases: Vec<(&str, Type, Value, Value)> = vec![
        ("number to string", Type::String, Value::from(5), s("5")),
        ("bool to string", Type::String, Value::Bool(true), s("true")),
        ("numeric string to number", Type::Number, s("7"), Value::from(7)),
        (
            "set duplicates removed",
            set(Type::String),
            Value::Set(vec![s("a"), s("a")]),
            Value::Set(vec![s("a")]),
        ),
        (
            "missing attribute written null",
            object_type(&[("a", Type::String)]),
            obj(&[]),
            obj(&[("a", Value::Null)]),
        ),
        ("implied dynamic type", Type::Dynamic, s("x"), Value::Dynamic(Type::String, Box::new(s("x")))),
    ];
    for (name, ty, value, want) in cases {
        let bytes = try_encode_msgpack(&value, &ty);
        assert!(bytes.is_ok(), "encode {name}");
        assert_eq!(decode_msgpack(&bytes.unwrap_or_default(), &ty), Ok(want), "case {name}");
    }
}

#[test]
fn json_encode_table() {
    let cases: Vec<(&str, Type, Value, &str)> = vec![
        ("string", Type::String, s("hello"), r#""hello""#),
        (
            "html and control escaped like Go",
            Type::String,
            s("<a&b>\n\u{1}\u{2028}"),
            r#""\u003ca\u0026b\u003e\n\u0001\u2028""#,
        ),
        ("null", Type::String, Value::Null, "null"),
        ("int", Type::Number, Value::from(2), "2"),
        ("float", Type::Number, Value::Number(Number::Float(2.5)), "2.5"),
        (
            "big",
            Type::Number,
            Value::Number(Number::Big("123456789012345678901234567890".into())),
            "123456789012345678901234567890",
        ),
        ("number as string type", Type::String, Value::from(5), r#""5""#),
        ("list", list(Type::Bool), Value::List(vec![Value::Bool(true), Value::Bool(false)]), "[true,false]"),
        (
            "tuple",
            Type::Tuple(vec![Type::Bool, Type::Number]),
            Value::Tuple(vec![Value::Bool(true), Value::from(5)]),
            "[true,5]",
        ),
        (
            "object sorted, missing null",
            object_type(&[("b", Type::String), ("a", Type::Number)]),
            obj(&[("b", s("x"))]),
            r#"{"a":null,"b":"x"}"#,
        ),
        (
            "dynamic",
            Type::Dynamic,
            Value::Dynamic(Type::String, Box::new(s("x"))),
            r#"{"value":"x","type":"string"}"#,
        ),
        (
            "dynamic object",
            Type::Dynamic,
            Value::Dynamic(object_type(&[("a", Type::Bool)]), Box::new(obj(&[("a", Value::Bool(true))]))),
            r#"{"value":{"a":true},"type":["object",{"a":"bool"}]}"#,
        ),
    ];
    for (name, ty, value, want) in cases {
        let got = try_encode_json(&value, &ty).map(|b| String::from_utf8_lossy(&b).into_owned());
        assert_eq!(got, Ok(want.to_owned()), "encode {name}");
        assert!(decode_json(want.as_bytes(), &ty).is_ok(), "decode {name}");
    }
}

#[test]
fn json_decode_table() {
    let ab = object_type(&[("a", Type::String), ("b", Type::Number)]);
    let cases: Vec<(&str, Type, &str, Result<Value, ()>)> = vec![
        (
            "big int keeps precision",
            Type::Number,
            "123456789012345678901234567890",
            Ok(Value::Number(Number::Big("123456789012345678901234567890".into()))),
        ),
        ("u64", Type::Number, "18446744073709551615", Ok(Value::Number(Number::UInt(u64::MAX)))),
        ("number from string", Type::Number, r#""15""#, Ok(Value::from(15))),
        ("string from number", Type::String, "15", Ok(s("15"))),
        ("string from bool", Type::String, "true", Ok(s("true"))),
        ("bool from string 1", Type::Bool, r#""1""#, Ok(Value::Bool(true))),
        ("bool from bad string", Type::Bool, r#""yes""#, Err(())),
        ("missing attribute null", ab.clone(), r#"{"a":"x"}"#, Ok(obj(&[("a", s("x")), ("b", Value::Null)]))),
        ("unsupported attribute", ab.clone(), r#"{"c":1}"#, Err(())),
        ("object required", ab, "[]", Err(())),
        ("set", set(Type::String), r#"["a","b"]"#, Ok(Value::Set(vec![s("a"), s("b")]))),
        (
            "map",
            Type::Map(Box::new(Type::Number)),
            r#"{"x":1}"#,
            Ok(Value::Map(BTreeMap::from([("x".to_owned(), Value::from(1))]))),
        ),
        ("tuple too long", Type::Tuple(vec![Type::Bool]), "[true,false]", Err(())),
        (
            "dynamic",
            Type::Dynamic,
            r#"{"type":["list","number"],"value":[1]}"#,
            Ok(Value::Dynamic(list(Type::Number), Box::new(Value::List(vec![Value::from(1)])))),
        ),
        ("dynamic null", Type::Dynamic, "null", Ok(Value::Null)),
        ("dynamic missing type", Type::Dynamic, r#"{"value":1}"#, Err(())),
        ("dynamic extra key", Type::Dynamic, r#"{"value":1,"type":"number","x":1}"#, Err(())),
        ("invalid json", Type::String, r#""abc"#, Err(())),
    ];
    for (name, ty, text, want) in cases {
        let got = decode_json(text.as_bytes(), &ty).map_err(|_| ());
        assert_eq!(got, want, "case {name}");
    }
}

#[test]
fn json_ignore_undefined_drops_removed_attributes() {
    let ty = object_type(&[("a", Type::String), ("nested", object_type(&[("x", Type::Bool)]))]);
    let text = br#"{"a":"1","gone":[1,2],"nested":{"x":true,"old":null}}"#;
    assert!(decode_json(text, &ty).is_err());
    assert_eq!(
        decode_json_ignore_undefined(text, &ty),
        Ok(obj(&[("a", s("1")), ("nested", obj(&[("x", Value::Bool(true))]))]))
    );
}

#[test]
fn json_cannot_hold_unknowns() {
    let err = try_encode_json(&obj(&[("a", Value::unknown())]), &object_type(&[("a", Type::String)]));
    assert_eq!(err.err().map(|e| e.path_text), Some("a".to_owned()));
    assert_eq!(encode_json(&Value::unknown(), &Type::String), b"null".to_vec());
}

#[test]
fn json_round_trips() {
    let ty = object_type(&[
        ("n", Type::Number),
        ("s", set(Type::String)),
        ("o", object_type(&[("x", Type::Dynamic)])),
    ]);
    let value = obj(&[
        ("n", Value::Number(Number::Big("-0.1".into()))),
        ("s", Value::Set(vec![s("é\"\\")])),
        (
            "o",
            obj(&[(
                "x",
                Value::Dynamic(Type::Tuple(vec![Type::String]), Box::new(Value::Tuple(vec![s("t")]))),
            )]),
        ),
    ]);
    let bytes = try_encode_json(&value, &ty).unwrap_or_default();
    assert_eq!(decode_json(&bytes, &ty), Ok(value));
}

#[test]
fn type_json_table() {
    let with_optional = Type::Object {
        attributes: BTreeMap::from([("a".to_owned(), Type::String), ("b".to_owned(), Type::Bool)]),
        optional: vec!["b".to_owned()],
    };
    let cases: Vec<(&str, Type, &str)> = vec![
        ("string", Type::String, r#""string""#),
        ("number", Type::Number, r#""number""#),
        ("bool", Type::Bool, r#""bool""#),
        ("dynamic", Type::Dynamic, r#""dynamic""#),
        ("list", list(Type::String), r#"["list","string"]"#),
        ("set of map", set(Type::Map(Box::new(Type::Number))), r#"["set",["map","number"]]"#),
        ("tuple", Type::Tuple(vec![Type::String, Type::Bool]), r#"["tuple",["string","bool"]]"#),
        ("object", object_type(&[("a", Type::String)]), r#"["object",{"a":"string"}]"#),
        ("object with optional", with_optional, r#"["object",{"a":"string","b":"bool"},["b"]]"#),
    ];
    for (name, ty, text) in cases {
        assert_eq!(type_to_json(&ty).to_string(), text, "to json {name}");
        let parsed: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        assert_eq!(type_from_json(&parsed), Ok(ty), "from json {name}");
    }
    let bad = [
        r#""str""#,
        r#"["list"]"#,
        r#"["list","string","x"]"#,
        r#"["object",["a"]]"#,
        r#"["what","string"]"#,
        "1",
    ];
    for text in bad {
        let parsed: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        assert!(type_from_json(&parsed).is_err(), "should reject {text}");
    }
}

/// A tiny deterministic generator (xorshift) for randomized round trips.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn string(&mut self) -> String {
        const PIECES: [&str; 8] = ["a", "Zz", "<&>", "é", "😀", "\"\\", "\n\t", "0"];
        (0..self.below(4)).map(|_| PIECES[self.below(8) as usize]).collect()
    }

    fn ty(&mut self, depth: u32) -> Type {
        let pick = if depth == 0 { self.below(4) } else { self.below(10) };
        match pick {
            0 => Type::Bool,
            1 => Type::Number,
            2 => Type::String,
            3 => Type::Dynamic,
            4 => list(self.ty(depth - 1)),
            5 => set(self.ty(depth - 1)),
            6 => Type::Map(Box::new(self.ty(depth - 1))),
            7 => Type::Tuple((0..self.below(3)).map(|_| self.ty(depth - 1)).collect()),
            _ => Type::object((0..self.below(4)).map(|i| (format!("attr{i}"), self.ty(depth - 1)))),
        }
    }

    fn number(&mut self) -> Number {
        match self.below(6) {
            0 => Number::Int(self.next() as i64),
            1 => Number::Int(self.below(300) as i64 - 150),
            2 => Number::UInt(u64::MAX - self.below(1000)),
            3 => Number::Float((self.below(1000) as f64 + 0.5) / 4.0),
            4 => Number::Big(format!("0.{}1", self.below(1000))),
            _ => Number::Big(format!("-{}123456789012345678901", self.below(9) + 1)),
        }
    }

    /// A value of type `ty`; unknowns only when `unknowns` (JSON cannot hold them).
    fn value(&mut self, ty: &Type, unknowns: bool) -> Value {
        match self.below(12) {
            0 => return Value::Null,
            1 if unknowns && *ty != Type::Dynamic => {
                return Value::Unknown(Refinements { not_null: true, raw: Some(hex("81 01 c2")) });
            }
            2 if unknowns => return Value::unknown(),
            _ => {}
        }
        match ty {
            Type::Bool => Value::Bool(self.below(2) == 0),
            Type::Number => Value::Number(self.number()),
            Type::String => Value::String(self.string()),
            Type::Dynamic => {
                let t = self.ty(1);
                if t == Type::Dynamic {
                    return Value::Null;
                }
                let v = self.value(&t, unknowns);
                Value::Dynamic(t, Box::new(v))
            }
            Type::List(e) => Value::List((0..self.below(4)).map(|_| self.value(e, unknowns)).collect()),
            Type::Set(e) => {
                let mut items: Vec<Value> = Vec::new();
                for _ in 0..self.below(4) {
                    let v = self.value(e, unknowns);
                    if !items
                        .iter()
                        .any(|o| o.is_fully_known() && v.is_fully_known() && o.semantically_equal(&v))
                    {
                        items.push(v);
                    }
                }
                Value::Set(items)
            }
            Type::Map(e) => {
                Value::Map((0..self.below(4)).map(|_| (self.string(), self.value(e, unknowns))).collect())
            }
            Type::Tuple(es) => Value::Tuple(es.iter().map(|t| self.value(t, unknowns)).collect()),
            Type::Object { attributes, .. } => {
                Value::Object(attributes.iter().map(|(k, t)| (k.clone(), self.value(t, unknowns))).collect())
            }
        }
    }
}

#[test]
fn randomized_round_trips() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    for i in 0..2000 {
        let ty = g.ty(3);
        let with_unknowns = g.value(&ty, true);
        let bytes = try_encode_msgpack(&with_unknowns, &ty);
        assert!(bytes.is_ok(), "msgpack encode #{i} {ty:?} {with_unknowns:?}: {bytes:?}");
        let decoded = decode_msgpack(&bytes.unwrap_or_default(), &ty);
        assert_eq!(decoded, Ok(with_unknowns), "msgpack #{i} {ty:?}");

        let known = g.value(&ty, false);
        let text = try_encode_json(&known, &ty);
        assert!(text.is_ok(), "json encode #{i} {ty:?} {known:?}: {text:?}");
        let decoded = decode_json(&text.unwrap_or_default(), &ty);
        assert_eq!(decoded, Ok(known), "json #{i} {ty:?}");
    }
}
