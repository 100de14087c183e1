//! Generated-input tests of the OData error parser ([`Error::from_response`]): arbitrary bytes
//! and arbitrary JSON shapes around `{"error": {...}}` never panic, and what reaches a
//! diagnostic is bounded and printable. CI runs proptest's default case count; the issue #12
//! run used, in release mode:
//!
//!     PROPTEST_CASES=1000000 cargo test --release -p terraform-provider-autopilot --lib \
//!         graph::error::fuzz_tests::prop_

use proptest::prelude::*;
use serde_json::{Value as Json, json};

use super::*;

fn config() -> ProptestConfig {
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

/// Any JSON value, with the keys the parser looks for among random ones.
fn any_json() -> impl Strategy<Value = Json> {
    let key = prop::sample::select(vec![
        "error",
        "code",
        "message",
        "innerError",
        "innererror",
        "request-id",
        "client-request-id",
        "Message",
        "CustomApiErrorPhrase",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        (-1e300..1e300f64).prop_map(Json::from),
        "\\PC{0,40}".prop_map(Json::String),
        // Control characters and escapes a terminal would act on.
        "[\\x00-\\x1f\\x7f\u{9b}a]{0,20}".prop_map(Json::String),
    ];
    leaf.prop_recursive(5, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|members| {
                Json::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// Something OData-shaped: `{"error": {code, message, innerError}}` with fields of any type,
/// messages that are Intune's JSON-in-a-string, and long texts.
fn odata_body() -> impl Strategy<Value = Vec<u8>> {
    let text = prop_oneof![
        "\\PC{0,60}".prop_map(Json::String),
        (1usize..20_000).prop_map(|n| Json::String("é".repeat(n))),
        any_json(),
    ];
    let intune = (text.clone(), text.clone()).prop_map(|(m, p)| {
        Json::String(json!({"_version": 3, "Message": m, "CustomApiErrorPhrase": p}).to_string())
    });
    let message = prop_oneof![3 => text.clone(), 1 => intune];
    (text.clone(), message, text.clone(), text, any::<bool>()).prop_map(|(code, message, rid, crid, lower)| {
        let inner = if lower { "innererror" } else { "innerError" };
        serde_json::to_vec(
            &json!({"error": {"code": code, "message": message, inner: {"request-id": rid, "client-request-id": crid}}}),
        )
        .unwrap_or_default()
    })
}

fn check(e: &Error, status: u16) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.kind, ErrorKind::Api);
    prop_assert_eq!(e.status, Some(status));
    prop_assert!(e.message.chars().count() <= MAX_MESSAGE_CHARS);
    for field in [&e.code, &e.request_id, &e.client_request_id].into_iter().flatten() {
        prop_assert!(field.chars().count() <= MAX_FIELD_CHARS);
    }
    let shown = e.to_string();
    prop_assert!(shown.chars().count() <= MAX_MESSAGE_CHARS + 4 * MAX_FIELD_CHARS + 200);
    prop_assert!(!shown.chars().any(|c| c.is_control() && c != '\n'), "control character in {shown:?}");
    // Classification never panics and is consistent.
    prop_assert!(!(e.is_not_found() && e.is_bad_request()));
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_error_arbitrary_bytes(
        body in prop::collection::vec(any::<u8>(), 0..512),
        status in 400u16..600,
        header in proptest::option::of("\\PC{0,300}"),
    ) {
        check(&Error::from_response(status, header.as_deref(), &body), status)?;
    }

    #[test]
    fn prop_error_any_json(body in any_json(), status in 400u16..600) {
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        check(&Error::from_response(status, None, &bytes), status)?;
        let wrapped = serde_json::to_vec(&json!({"error": body})).unwrap_or_default();
        check(&Error::from_response(status, None, &wrapped), status)?;
    }

    #[test]
    fn prop_error_odata_shapes(body in odata_body(), status in 400u16..600, cut in any::<usize>()) {
        check(&Error::from_response(status, Some("header-id"), &body), status)?;
        // The same body cut short (a dropped connection mid-body).
        let cut = cut % (body.len() + 1);
        check(&Error::from_response(status, None, &body[..cut]), status)?;
    }
}

#[test]
fn long_messages_are_cut_and_marked() {
    let body = json!({"error": {"code": "BadRequest", "message": "x".repeat(100_000)}}).to_string();
    let e = Error::from_response(400, None, body.as_bytes());
    assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS);
    assert!(e.message.ends_with('…'));
    let exact = json!({"error": {"message": "y".repeat(MAX_MESSAGE_CHARS)}}).to_string();
    assert!(!Error::from_response(400, None, exact.as_bytes()).message.ends_with('…'));
}

#[test]
fn control_characters_are_not_passed_on() {
    let body = json!({"error": {"code": "Bad\u{1b}[2J", "message": "line one\nline\u{7}two\r\u{1b}[31mred"}})
        .to_string();
    let e = Error::from_response(400, None, body.as_bytes());
    assert_eq!(e.code.as_deref(), Some("Bad [2J"));
    assert_eq!(e.message, "line one\nline two  [31mred");
}
