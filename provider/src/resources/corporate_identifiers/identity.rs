//! One Windows corporate identifier: manufacturer, model and serial number (Intune
//! `importedDeviceIdentity` of type `manufacturerModelSerial`), and the rules a value must
//! meet before we send it.
//!
//! The same rules serve the `parse_corporate_identifiers` function and the plan-time
//! validators of `autopilot_corporate_identifier(s)`, so a CSV the function accepts never
//! yields rows the resources reject.
//!
//! What the rules rest on (Intune docs, "Add corporate identifiers", Windows section):
//! * the identifier is `manufacturer,model,serial`: one string, comma separated, so no part
//!   can hold a comma (there is no escaping);
//! * "Remove all periods from the serial number before you add it": a serial with periods
//!   would never match the device, so we reject it and show the form without periods;
//! * nothing documents that Intune trims whitespace. A part with leading or trailing
//!   whitespace would not be what the device reports (or would be trimmed behind our back
//!   and then drift), so we reject it and show the trimmed form instead of guessing;
//! * device details are "limited to 128 characters" (documented for the CSV `details`
//!   column, which is the Graph `description`); no length limit is documented for the
//!   identifier parts, so we impose none.
//!
//! Identifiers are compared case-insensitively ([`IdentityKey`]): `LENOVO,...` and
//! `Lenovo,...` are one device to us. Microsoft does not document how Intune compares
//! identifiers; case-insensitive is the conservative choice, since it can only make us
//! report a duplicate, never import two rows Intune might merge or reject.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

/// `importedDeviceIdentityType` for Windows corporate identifiers.
pub const IDENTITY_TYPE: &str = "manufacturerModelSerial";

/// `platform` sent with Windows corporate identifiers.
pub const PLATFORM: &str = "windows";

/// Documented limit of a corporate identifier's device details (`description`), in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 128;

/// Separator between the parts of an identifier.
const SEPARATOR: char = ',';

/// One part of a [`DeviceIdentity`], named as the Terraform attribute is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Manufacturer,
    Model,
    SerialNumber,
    Description,
}

impl Field {
    /// The Terraform attribute name of this part.
    pub fn attribute_name(self) -> &'static str {
        match self {
            Field::Manufacturer => "manufacturer",
            Field::Model => "model",
            Field::SerialNumber => "serial_number",
            Field::Description => "description",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.attribute_name())
    }
}

/// Why a value cannot be a Windows corporate identifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("{field} must not be empty")]
    Empty { field: Field },

    #[error(
        "{field} {value:?} contains a comma; Intune stores the identifier as \
         \"manufacturer,model,serial\" and cannot hold a comma inside a part"
    )]
    Comma { field: Field, value: String },

    #[error(
        "{field} {value:?} contains the control or invisible character U+{code:04X} (such as a tab, \
         a line break, or a byte order mark left over from joining files)",
        code = u32::from(*.character)
    )]
    HiddenCharacter { field: Field, value: String, character: char },

    #[error(
        "{field} {value:?} has leading or trailing whitespace, which would not match the device; \
         use {normalised:?}"
    )]
    SurroundingWhitespace { field: Field, value: String, normalised: String },

    #[error(
        "serial_number {value:?} contains periods; Intune requires serial numbers without periods \
         (\"remove all periods from the serial number\"); use {normalised:?}"
    )]
    SerialPeriods { value: String, normalised: String },

    #[error("description must not be empty; leave it out (null) instead")]
    EmptyDescription,

    #[error("description is {actual} characters long; Intune allows at most {max}")]
    DescriptionTooLong { actual: usize, max: usize },

    #[error(
        "identifier {value:?} has {found} comma-separated parts; expected exactly 3 \
         (manufacturer,model,serial)"
    )]
    WrongPartCount { value: String, found: usize },
}

impl IdentityError {
    /// The part the error is about, for attaching it to an attribute path.
    pub fn field(&self) -> Option<Field> {
        match self {
            IdentityError::Empty { field }
            | IdentityError::Comma { field, .. }
            | IdentityError::HiddenCharacter { field, .. }
            | IdentityError::SurroundingWhitespace { field, .. } => Some(*field),
            IdentityError::SerialPeriods { .. } => Some(Field::SerialNumber),
            IdentityError::EmptyDescription | IdentityError::DescriptionTooLong { .. } => {
                Some(Field::Description)
            }
            IdentityError::WrongPartCount { .. } => None,
        }
    }
}

/// A Windows corporate identifier as the resources and the CSV function model it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceIdentity {
    pub manufacturer: String,
    pub model: String,
    pub serial_number: String,
    /// Intune's device details; `None` when not set.
    pub description: Option<String>,
}

impl DeviceIdentity {
    /// A validated identity (see [`DeviceIdentity::validate`]).
    pub fn new(
        manufacturer: impl Into<String>,
        model: impl Into<String>,
        serial_number: impl Into<String>,
        description: Option<String>,
    ) -> Result<Self, IdentityError> {
        let identity = Self {
            manufacturer: manufacturer.into(),
            model: model.into(),
            serial_number: serial_number.into(),
            description,
        };
        identity.validate()?;
        Ok(identity)
    }

    /// The first rule this identity breaks, checking manufacturer, model, serial number,
    /// then description.
    pub fn validate(&self) -> Result<(), IdentityError> {
        self.problems().into_iter().next().map_or(Ok(()), Err)
    }

    /// Every rule this identity breaks, at most one per part, in part order. Plan-time
    /// validators use this to report each attribute's problem at its own path.
    pub fn problems(&self) -> Vec<IdentityError> {
        let mut problems = Vec::new();
        for (field, value) in [
            (Field::Manufacturer, &self.manufacturer),
            (Field::Model, &self.model),
            (Field::SerialNumber, &self.serial_number),
        ] {
            if let Err(e) = validate_part(field, value) {
                problems.push(e);
            }
        }
        if let Some(Err(e)) = self.description.as_deref().map(validate_description) {
            problems.push(e);
        }
        problems
    }

    /// The `importedDeviceIdentifier`: `manufacturer,model,serial`.
    pub fn identifier(&self) -> String {
        let mut s =
            String::with_capacity(self.manufacturer.len() + self.model.len() + self.serial_number.len() + 2);
        s.push_str(&self.manufacturer);
        s.push(SEPARATOR);
        s.push_str(&self.model);
        s.push(SEPARATOR);
        s.push_str(&self.serial_number);
        s
    }

    /// The key under which Intune considers two identities the same device.
    pub fn key(&self) -> IdentityKey {
        IdentityKey::from_identifier(&self.identifier())
    }
}

/// Split an `importedDeviceIdentifier` into a validated identity (without description).
pub fn parse_identifier(identifier: &str) -> Result<DeviceIdentity, IdentityError> {
    let parts: Vec<&str> = identifier.split(SEPARATOR).collect();
    match parts.as_slice() {
        [manufacturer, model, serial] => DeviceIdentity::new(*manufacturer, *model, *serial, None),
        _ => Err(IdentityError::WrongPartCount { value: identifier.to_owned(), found: parts.len() }),
    }
}

/// Every configured device that repeats an earlier one, as `(first index, later index)`,
/// in order of the later index. Intune compares identifiers case-insensitively, and so
/// does this.
pub fn duplicate_pairs(devices: &[DeviceIdentity]) -> Vec<(usize, usize)> {
    let mut first_index: HashMap<IdentityKey, usize> = HashMap::with_capacity(devices.len());
    let mut pairs = Vec::new();
    for (index, device) in devices.iter().enumerate() {
        match first_index.entry(device.key()) {
            Entry::Occupied(first) => pairs.push((*first.get(), index)),
            Entry::Vacant(slot) => {
                slot.insert(index);
            }
        }
    }
    pairs
}

/// Check one identifier part (manufacturer, model or serial number).
pub fn validate_part(field: Field, value: &str) -> Result<(), IdentityError> {
    if value.is_empty() {
        return Err(IdentityError::Empty { field });
    }
    if value.contains(SEPARATOR) {
        return Err(IdentityError::Comma { field, value: value.to_owned() });
    }
    if let Some(character) = value.chars().find(|c| is_hidden(*c)) {
        return Err(IdentityError::HiddenCharacter { field, value: value.to_owned(), character });
    }
    let trimmed = value.trim();
    if field == Field::SerialNumber && value.contains('.') {
        let normalised: String = trimmed.chars().filter(|c| *c != '.').collect();
        if normalised.trim().is_empty() {
            return Err(IdentityError::Empty { field });
        }
        return Err(IdentityError::SerialPeriods { value: value.to_owned(), normalised });
    }
    if trimmed.is_empty() {
        return Err(IdentityError::Empty { field });
    }
    if trimmed.len() != value.len() {
        return Err(IdentityError::SurroundingWhitespace {
            field,
            value: value.to_owned(),
            normalised: trimmed.to_owned(),
        });
    }
    Ok(())
}

/// Characters that cannot be seen in a file or the Intune portal, so a part holding one
/// would look right and never match: control characters, and the zero-width format
/// characters spreadsheets and joined files leave behind (byte order mark, zero-width
/// space/joiners, word joiner, soft hyphen).
fn is_hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

/// Check a description: free text, but not empty (null says "none") and within Intune's limit.
pub fn validate_description(description: &str) -> Result<(), IdentityError> {
    if description.is_empty() {
        return Err(IdentityError::EmptyDescription);
    }
    let actual = description.chars().count();
    if actual > MAX_DESCRIPTION_CHARS {
        return Err(IdentityError::DescriptionTooLong { actual, max: MAX_DESCRIPTION_CHARS });
    }
    Ok(())
}

/// Case-insensitive identity of a corporate identifier, for set comparison and duplicate
/// detection. Built from the identifier string so that Graph rows (which we only know by
/// their identifier) and configured rows compare alike.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(String);

impl IdentityKey {
    /// The key of an `importedDeviceIdentifier` string, valid or not.
    pub fn from_identifier(identifier: &str) -> Self {
        // Per-character simple upper-casing, like .NET's ordinal-ignore-case comparison that
        // Intune's services most likely use: characters whose upper case is more than one
        // character (e.g. 'ß') are kept as they are rather than expanded.
        Self(
            identifier
                .chars()
                .map(|c| {
                    let mut upper = c.to_uppercase();
                    match (upper.next(), upper.next()) {
                        (Some(u), None) => u,
                        _ => c,
                    }
                })
                .collect(),
        )
    }

    /// The normalised (upper-case) identifier text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(m: &str, mo: &str, s: &str) -> DeviceIdentity {
        DeviceIdentity {
            manufacturer: m.to_owned(),
            model: mo.to_owned(),
            serial_number: s.to_owned(),
            description: None,
        }
    }

    #[test]
    fn identifier_joins_parts_with_commas() {
        assert_eq!(
            id("Microsoft Corporation", "Surface Laptop 5", "0123456789").identifier(),
            "Microsoft Corporation,Surface Laptop 5,0123456789"
        );
    }

    #[test]
    fn parse_identifier_round_trips() {
        let parsed = parse_identifier("Lenovo,ThinkPad T14,PF0ABC12").unwrap();
        assert_eq!(parsed, id("Lenovo", "ThinkPad T14", "PF0ABC12"));
        assert_eq!(parsed.identifier(), "Lenovo,ThinkPad T14,PF0ABC12");
    }

    #[test]
    fn parse_identifier_rejects_wrong_part_counts() {
        for (input, found) in [("a,b", 2), ("a,b,c,d", 4), ("abc", 1), ("", 1)] {
            assert_eq!(
                parse_identifier(input),
                Err(IdentityError::WrongPartCount { value: input.to_owned(), found }),
                "{input:?}"
            );
        }
    }

    #[test]
    fn parse_identifier_validates_parts() {
        assert_eq!(parse_identifier("a,,c"), Err(IdentityError::Empty { field: Field::Model }));
        assert!(matches!(parse_identifier("a,b,1.2"), Err(IdentityError::SerialPeriods { .. })));
    }

    #[test]
    fn part_rules() {
        use Field::*;
        let cases: &[(Field, &str, Option<IdentityError>)] = &[
            (Manufacturer, "Dell Inc.", None), // periods are only a problem in serials
            (Model, "Surface Pro 7+", None),
            (SerialNumber, "ABC123", None),
            (SerialNumber, "...", Some(IdentityError::Empty { field: SerialNumber })),
            (SerialNumber, "abc-123_x/y", None),
            (SerialNumber, "Ünïcödé", None),
            (Manufacturer, "", Some(IdentityError::Empty { field: Manufacturer })),
            (Model, "   ", Some(IdentityError::Empty { field: Model })),
            (Model, "a,b", Some(IdentityError::Comma { field: Model, value: "a,b".into() })),
            (
                SerialNumber,
                "AB\tC",
                Some(IdentityError::HiddenCharacter {
                    field: SerialNumber,
                    value: "AB\tC".into(),
                    character: '\t',
                }),
            ),
            (
                Manufacturer,
                "x\ny",
                Some(IdentityError::HiddenCharacter {
                    field: Manufacturer,
                    value: "x\ny".into(),
                    character: '\n',
                }),
            ),
            (
                Manufacturer,
                "\u{feff}Lenovo",
                Some(IdentityError::HiddenCharacter {
                    field: Manufacturer,
                    value: "\u{feff}Lenovo".into(),
                    character: '\u{feff}',
                }),
            ),
            (
                Manufacturer,
                " Lenovo",
                Some(IdentityError::SurroundingWhitespace {
                    field: Manufacturer,
                    value: " Lenovo".into(),
                    normalised: "Lenovo".into(),
                }),
            ),
            (
                SerialNumber,
                "ABC ",
                Some(IdentityError::SurroundingWhitespace {
                    field: SerialNumber,
                    value: "ABC ".into(),
                    normalised: "ABC".into(),
                }),
            ),
            (
                SerialNumber,
                "1.2.3",
                Some(IdentityError::SerialPeriods { value: "1.2.3".into(), normalised: "123".into() }),
            ),
            (
                SerialNumber,
                " 1.2 ",
                Some(IdentityError::SerialPeriods { value: " 1.2 ".into(), normalised: "12".into() }),
            ),
        ];
        for (field, value, expected) in cases {
            assert_eq!(validate_part(*field, value).err(), *expected, "{field} {value:?}");
        }
    }

    #[test]
    fn error_messages_show_the_fix() {
        let e = validate_part(Field::SerialNumber, "12.34").unwrap_err().to_string();
        assert!(e.contains("\"1234\""), "{e}");
        let e = validate_part(Field::Model, " T14 ").unwrap_err().to_string();
        assert!(e.contains("\"T14\""), "{e}");
        let e = validate_part(Field::Manufacturer, "\u{feff}HP").unwrap_err().to_string();
        assert!(e.contains("U+FEFF") && e.contains("\"\\u{feff}HP\""), "{e}");
        let e = validate_part(Field::Model, "T14, Gen 2").unwrap_err().to_string();
        assert!(e.contains("comma") && e.contains("manufacturer,model,serial"), "{e}");
    }

    #[test]
    fn description_rules() {
        assert_eq!(validate_description("Desk 12, floor 3"), Ok(()));
        assert_eq!(validate_description(&"é".repeat(128)), Ok(()));
        assert_eq!(validate_description(""), Err(IdentityError::EmptyDescription));
        assert_eq!(
            validate_description(&"x".repeat(129)),
            Err(IdentityError::DescriptionTooLong { actual: 129, max: 128 })
        );
    }

    #[test]
    fn problems_lists_each_bad_part() {
        let mut bad = id(" M", "", "1.2");
        bad.description = Some(String::new());
        let fields: Vec<_> = bad.problems().iter().map(IdentityError::field).collect();
        assert_eq!(
            fields,
            [
                Some(Field::Manufacturer),
                Some(Field::Model),
                Some(Field::SerialNumber),
                Some(Field::Description)
            ]
        );
        assert!(matches!(bad.validate(), Err(IdentityError::SurroundingWhitespace { .. })));
        assert!(id("M", "X", "1").problems().is_empty());
    }

    #[test]
    fn duplicate_pairs_point_at_the_first_occurrence() {
        let devices =
            [id("A", "B", "1"), id("a", "b", "2"), id("a", "b", "1"), id("A", "B", "2"), id("A", "b", "1")];
        assert_eq!(duplicate_pairs(&devices), [(0, 2), (1, 3), (0, 4)]);
        assert!(duplicate_pairs(&devices[..2]).is_empty());
    }

    #[test]
    fn keys_ignore_case_only() {
        assert_eq!(id("LENOVO", "ThinkPad", "ab1").key(), id("lenovo", "THINKPAD", "AB1").key());
        assert_ne!(id("Lenovo", "ThinkPad", "AB1").key(), id("Lenovo", "ThinkPad", "AB2").key());
        assert_ne!(id("Lenovo", "Think Pad", "AB1").key(), id("Lenovo", "ThinkPad", "AB1").key());
        assert_eq!(IdentityKey::from_identifier("Ä,b,c"), IdentityKey::from_identifier("ä,B,C"));
        // Multi-character upper cases are not expanded ("ß" stays "ß", not "SS").
        assert_ne!(IdentityKey::from_identifier("ß,b,c"), IdentityKey::from_identifier("SS,b,c"));
    }
}
