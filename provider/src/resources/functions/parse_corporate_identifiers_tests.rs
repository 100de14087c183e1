//! Tests of `parse_corporate_identifiers`: table-driven cases and property tests.
//!
//! The property tests run 256 cases by default. For a long run (≥ 1,000,000 inputs) use
//! proptest's own environment variable, in release mode:
//!
//! ```text
//! PROPTEST_CASES=1000000 cargo test --release -p terraform-provider-autopilot --lib \
//!     functions::parse_corporate_identifiers::tests::prop_
//! ```
//! (`PROPTEST_RNG_SEED=<u64>` replays a run.)

use proptest::prelude::*;

use std::collections::BTreeMap;

use super::*;

fn d(manufacturer: &str, model: &str, serial: &str, description: Option<&str>) -> DeviceIdentity {
    DeviceIdentity {
        manufacturer: manufacturer.into(),
        model: model.into(),
        serial_number: serial.into(),
        description: description.map(str::to_owned),
    }
}

fn problems(text: &str) -> Vec<(usize, LineProblem)> {
    let errors = parse_csv(text).expect_err("expected the CSV to be rejected");
    errors.shown.into_iter().map(|e| (e.line, e.problem)).collect()
}

#[test]
fn accepted_files() {
    let surface = || d("Microsoft Corporation", "Surface Laptop 5", "0123456789", None);
    let lenovo = || d("Lenovo", "ThinkPad T14", "PF0ABC12", None);
    let cases: Vec<(&str, &str, Vec<DeviceIdentity>)> = vec![
        ("empty", "", vec![]),
        ("only blank lines and comments", "\n# nothing yet\n\r\n", vec![]),
        ("only a header", "Manufacturer,Model,Serial\n", vec![]),
        (
            "documented example, no header",
            "Microsoft Corporation,Surface Laptop 5,0123456789\nLenovo,ThinkPad T14,PF0ABC12\n",
            vec![surface(), lenovo()],
        ),
        (
            "header",
            "Manufacturer,Model,Serial\nMicrosoft Corporation,Surface Laptop 5,0123456789",
            vec![surface()],
        ),
        (
            "header variants, any case",
            "MANUFACTURER,model,Serial Number,Description\nLenovo,ThinkPad T14,PF0ABC12\n",
            vec![lenovo()],
        ),
        (
            "header with underscores",
            "manufacturer,model,serial_number\nLenovo,ThinkPad T14,PF0ABC12",
            vec![lenovo()],
        ),
        ("bom + crlf", "\u{feff}Lenovo,ThinkPad T14,PF0ABC12\r\n", vec![lenovo()]),
        ("bom + header", "\u{feff}Manufacturer,Model,Serial\r\nLenovo,ThinkPad T14,PF0ABC12", vec![lenovo()]),
        (
            "comments and blank lines",
            "# laptops bought 2026\n\nLenovo,ThinkPad T14,PF0ABC12\n   \n# end\n",
            vec![lenovo()],
        ),
        ("quoted fields", "\"Microsoft Corporation\",\"Surface Laptop 5\",\"0123456789\"", vec![surface()]),
        (
            "doubled quote in a model",
            "Contoso,\"Book 14\"\" Pro\",SN1",
            vec![d("Contoso", "Book 14\" Pro", "SN1", None)],
        ),
        (
            "4 columns",
            "Lenovo,ThinkPad T14,PF0ABC12,Desk 12\nLenovo,ThinkPad T14,PF0ABC13,\nLenovo,ThinkPad T14,PF0ABC14",
            vec![
                d("Lenovo", "ThinkPad T14", "PF0ABC12", Some("Desk 12")),
                d("Lenovo", "ThinkPad T14", "PF0ABC13", None),
                d("Lenovo", "ThinkPad T14", "PF0ABC14", None),
            ],
        ),
        (
            "comma in a quoted description is fine",
            "Lenovo,ThinkPad T14,PF0ABC12,\"Desk 12, floor 3\"",
            vec![d("Lenovo", "ThinkPad T14", "PF0ABC12", Some("Desk 12, floor 3"))],
        ),
        (
            "periods outside the serial are kept",
            "Dell Inc.,Latitude 7440,ABC123",
            vec![d("Dell Inc.", "Latitude 7440", "ABC123", None)],
        ),
        (
            "no trailing newline, lone CR line ends",
            "Lenovo,ThinkPad T14,PF0ABC12\rLenovo,ThinkPad T14,PF0ABC13",
            vec![lenovo(), d("Lenovo", "ThinkPad T14", "PF0ABC13", None)],
        ),
    ];
    for (name, text, expected) in cases {
        assert_eq!(parse_csv(text), Ok(expected), "{name}");
    }
}

#[test]
fn rejected_files_name_each_line() {
    use crate::resources::corporate_identifiers::identity::Field;
    let long_description = format!("a,b,c,{}", "x".repeat(129));
    // (name, input, expected (line, problem) list)
    type Case<'a> = (&'a str, &'a str, Vec<(usize, LineProblem)>);
    let cases: Vec<Case<'_>> = vec![
        (
            "comma inside quotes in the model",
            "Lenovo,ThinkPad T14,A1\nLenovo,\"ThinkPad T14, Gen 2\",A2",
            vec![(
                2,
                IdentityError::Comma { field: Field::Model, value: "ThinkPad T14, Gen 2".into() }.into(),
            )],
        ),
        (
            "periods in a serial",
            "\n\nLenovo,ThinkPad T14,PF0.ABC.12",
            vec![(
                3,
                IdentityError::SerialPeriods { value: "PF0.ABC.12".into(), normalised: "PF0ABC12".into() }
                    .into(),
            )],
        ),
        (
            "spaces after commas",
            "Lenovo, ThinkPad T14,A1",
            vec![(
                1,
                IdentityError::SurroundingWhitespace {
                    field: Field::Model,
                    value: " ThinkPad T14".into(),
                    normalised: "ThinkPad T14".into(),
                }
                .into(),
            )],
        ),
        (
            "trailing spaces (as in an old docs sample)",
            "Microsoft,surface 5,01234567890123   ",
            vec![(
                1,
                IdentityError::SurroundingWhitespace {
                    field: Field::SerialNumber,
                    value: "01234567890123   ".into(),
                    normalised: "01234567890123".into(),
                }
                .into(),
            )],
        ),
        (
            "empty manufacturer",
            "a,b,c\n,Model,SN",
            vec![(2, IdentityError::Empty { field: Field::Manufacturer }.into())],
        ),
        ("too few columns", "a,b\n", vec![(1, LineProblem::Columns { found: 2 })]),
        ("one column", "#c\nabc", vec![(2, LineProblem::Columns { found: 1 })]),
        (
            "too many columns, then a good line",
            "a,b,c,d,e\nf,g,h",
            vec![(1, LineProblem::Columns { found: 5 })],
        ),
        (
            "description too long",
            &long_description,
            vec![(1, IdentityError::DescriptionTooLong { actual: 129, max: 128 }.into())],
        ),
        (
            "line break inside a quoted serial",
            "a,b,\"c\nd\"",
            vec![(
                1,
                IdentityError::HiddenCharacter {
                    field: Field::SerialNumber,
                    value: "c\nd".into(),
                    character: '\n',
                }
                .into(),
            )],
        ),
        (
            "two files joined, the second with its byte order mark",
            "\u{feff}a,b,c\n\u{feff}d,e,f\n",
            vec![(
                2,
                IdentityError::HiddenCharacter {
                    field: Field::Manufacturer,
                    value: "\u{feff}d".into(),
                    character: '\u{feff}',
                }
                .into(),
            )],
        ),
        (
            "duplicate, case-insensitive",
            "Lenovo,ThinkPad T14,pf0abc12\n# x\nLENOVO,THINKPAD T14,PF0ABC12,other text",
            vec![(
                3,
                LineProblem::Duplicate { first_line: 1, identifier: "LENOVO,THINKPAD T14,PF0ABC12".into() },
            )],
        ),
        ("misplaced header", "a,b,c\nManufacturer,Model,Serial", vec![(2, LineProblem::MisplacedHeader)]),
        (
            "unterminated quote",
            "a,b,c\na,b,\"c\n\n",
            vec![(2, CsvError::UnterminatedQuote { line: 2 }.into())],
        ),
        ("stray quote", "a,b\"x,c", vec![(1, CsvError::QuoteInUnquotedField { line: 1 }.into())]),
        ("text after quote", "a,b,\"c\"d", vec![(1, CsvError::TextAfterClosingQuote { line: 1 }.into())]),
        (
            "several problems are all reported",
            "a,b\na,b,c\nx,y,1.2\na,b,c",
            vec![
                (1, LineProblem::Columns { found: 2 }),
                (3, IdentityError::SerialPeriods { value: "1.2".into(), normalised: "12".into() }.into()),
                (4, LineProblem::Duplicate { first_line: 2, identifier: "a,b,c".into() }),
            ],
        ),
    ];
    for (name, text, expected) in cases {
        assert_eq!(problems(text), expected, "{name}");
    }
}

#[test]
fn messages_name_the_line_and_the_problem() {
    let one = parse_csv("a,b,c\na,b,1.2").unwrap_err().to_string();
    assert!(one.starts_with("corporate identifier CSV line 2: serial_number \"1.2\""), "{one}");
    assert!(one.contains("use \"12\""), "{one}");

    let comma = parse_csv("a,\"b,c\",d").unwrap_err().to_string();
    assert!(comma.contains("line 1") && comma.contains("cannot hold a comma"), "{comma}");

    let many = parse_csv("a\nb\nc").unwrap_err().to_string();
    assert!(many.starts_with("corporate identifier CSV has 3 problems:"), "{many}");
    assert!(many.contains("\n  line 3: has 1 column(s)"), "{many}");
}

#[test]
fn problem_lists_are_capped() {
    let text = "x\n".repeat(100);
    let errors = parse_csv(&text).unwrap_err();
    assert_eq!(errors.shown.len(), 20);
    assert_eq!(errors.not_shown, 80);
    assert_eq!(errors.shown[19].line, 20);
    assert!(errors.to_string().ends_with("... and 80 more"));
}

#[test]
fn row_limit() {
    let mut text = String::from("Manufacturer,Model,Serial\n");
    for i in 0..MAX_ROWS {
        text.push_str(&format!("M,X,{i}\n"));
    }
    assert_eq!(parse_csv(&text).map(|d| d.len()), Ok(MAX_ROWS), "exactly the limit, plus a header");
    text.push_str("M,X,last\nM,X,never-read\n");
    assert_eq!(problems(&text), [(MAX_ROWS + 2, LineProblem::TooManyRows)]);
    assert!(parse_csv(&text).unwrap_err().to_string().contains("past the limit of 100000 rows"));
}

#[test]
fn five_thousand_rows() {
    let text: String = (0..5_000).map(|i| format!("Lenovo,ThinkPad T14,SN{i:05}\r\n")).collect();
    let devices = parse_csv(&text).unwrap();
    assert_eq!(devices.len(), 5_000);
    assert_eq!(devices[4_999].serial_number, "SN04999");
}

#[test]
fn function_contract() {
    let f = ParseCorporateIdentifiers;
    assert_eq!(f.name(), "parse_corporate_identifiers");
    let signature = f.signature();
    assert_eq!(signature.params.len(), 1);
    assert_eq!(signature.params[0].ty, Type::String);
    assert!(!signature.params[0].allow_null && !signature.params[0].allow_unknown);
    assert!(signature.variadic.is_none());
    assert_eq!(signature.returns, Type::List(Box::new(device_type())));
}

#[test]
fn function_returns_device_objects() {
    let value = ParseCorporateIdentifiers
        .call(&[Value::from("Manufacturer,Model,Serial\nLenovo,T14,A1,Desk\nHP,X,B2")])
        .unwrap();
    let object = |m: &str, mo: &str, s: &str, desc: Value| {
        Value::Object(BTreeMap::from([
            ("manufacturer".to_owned(), Value::from(m)),
            ("model".to_owned(), Value::from(mo)),
            ("serial_number".to_owned(), Value::from(s)),
            ("description".to_owned(), desc),
        ]))
    };
    assert_eq!(
        value,
        Value::List(vec![
            object("Lenovo", "T14", "A1", Value::from("Desk")),
            object("HP", "X", "B2", Value::Null)
        ])
    );
}

#[test]
fn function_errors_point_at_the_argument() {
    let err = ParseCorporateIdentifiers.call(&[Value::from("a,b,1.2")]).unwrap_err();
    assert_eq!(err.argument, Some(0));
    assert!(err.message.contains("line 1"), "{}", err.message);
    for bad in [Value::Null, Value::unknown(), Value::Bool(true)] {
        assert_eq!(ParseCorporateIdentifiers.call(&[bad]).unwrap_err().argument, Some(0));
    }
    assert_eq!(ParseCorporateIdentifiers.call(&[]).unwrap_err().argument, None);
}

// ---- property tests ----

fn config() -> ProptestConfig {
    // Cases come from PROPTEST_CASES (default 256); nothing is written to the source tree.
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

/// Text made mostly of characters that matter to the parser.
fn csv_like_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            ",", "\"", "\"\"", "\n", "\r\n", "\r", "#", ".", " ", "\t", "\u{feff}", "a", "Z", "1", "é", "ß",
            "Manufacturer,Model,Serial\n",
        ])
        .prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
}

/// A valid identifier part: no comma, control character, surrounding space; serials no period.
fn part(serial: bool) -> impl Strategy<Value = String> {
    let chars = if serial { "[A-Za-z0-9 \"#é-]{0,10}" } else { "[A-Za-z0-9 .\"#é-]{0,10}" };
    ("[A-Za-z0-9é]", chars, "[A-Za-z0-9é]").prop_map(|(a, b, c)| format!("{a}{b}{c}"))
}

fn device() -> impl Strategy<Value = DeviceIdentity> {
    (part(false), part(false), part(true), proptest::option::of("[^\\x00-\\x1f]{1,128}")).prop_map(
        |(manufacturer, model, serial_number, description)| DeviceIdentity {
            manufacturer,
            model,
            serial_number,
            description: description.filter(|d| !d.is_empty()),
        },
    )
}

fn quote(field: &str, force: bool) -> String {
    if force || field.contains(['"', ',', '\r', '\n']) || field.trim_start().starts_with('#') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary input never panics, the output is bounded by the input, every returned
    /// device passes validation and is distinct, and every error names a line that exists.
    #[test]
    fn prop_arbitrary_input_is_handled(text in csv_like_text()) {
        let lines = text.split(['\n', '\r']).count();
        match parse_csv(&text) {
            Ok(devices) => {
                prop_assert!(devices.len() <= lines);
                let mut keys = std::collections::HashSet::new();
                for device in &devices {
                    prop_assert_eq!(device.validate(), Ok(()));
                    prop_assert!(keys.insert(device.key()));
                }
                let value = ParseCorporateIdentifiers.call(&[Value::from(text.as_str())]);
                prop_assert!(matches!(value, Ok(Value::List(ref items)) if items.len() == devices.len()));
            }
            Err(errors) => {
                prop_assert!(!errors.shown.is_empty() && errors.shown.len() <= 20);
                for e in &errors.shown {
                    prop_assert!(e.line >= 1 && e.line <= lines, "line {} of {}", e.line, lines);
                }
                let message = errors.to_string();
                prop_assert!(message.contains("line "));
            }
        }
    }

    /// Any valid devices, written out with any quoting, header, comments and line ends,
    /// parse back to exactly those devices.
    #[test]
    fn prop_written_devices_parse_back(
        devices in prop::collection::vec(device(), 0..30),
        header in any::<bool>(),
        bom in any::<bool>(),
        crlf in any::<bool>(),
        quote_all in any::<bool>(),
        comment_every in 0usize..5,
    ) {
        // Duplicates (case-insensitive) are an error by design; keep the first of each.
        let mut seen = std::collections::HashSet::new();
        let devices: Vec<_> = devices.into_iter().filter(|d| seen.insert(d.key())).collect();
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        if bom { text.push('\u{feff}'); }
        if header { text.push_str("Manufacturer,Model,Serial Number,Description"); text.push_str(eol); }
        for (i, device) in devices.iter().enumerate() {
            if comment_every > 0 && i % comment_every == 0 {
                text.push_str("# comment, \"with\" quotes"); text.push_str(eol); text.push_str(eol);
            }
            let mut fields = vec![
                quote(&device.manufacturer, quote_all),
                quote(&device.model, quote_all),
                quote(&device.serial_number, quote_all),
            ];
            if let Some(description) = &device.description {
                fields.push(quote(description, quote_all));
            }
            text.push_str(&fields.join(","));
            text.push_str(eol);
        }
        prop_assert_eq!(parse_csv(&text), Ok(devices));
    }
}
