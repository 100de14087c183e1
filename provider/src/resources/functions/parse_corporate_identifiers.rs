//! `provider::autopilot::parse_corporate_identifiers(csv)`: turn an admin's corporate
//! identifier CSV (`Manufacturer,Model,Serial[,Description]`) into the `devices` objects
//! `autopilot_corporate_identifiers` takes.
//!
//! The function never changes a value: whatever it returns passes the resources' own
//! validation (shared rules in `corporate_identifiers::identity`), and anything Intune
//! would need normalised (periods in serials, surrounding whitespace) is an error that
//! shows the normalised form, so the file gets fixed instead of silently diverging.

use std::collections::HashMap;
use std::fmt;

use super::csv::{self, CsvError};
use crate::framework::resource::{Function, FunctionError, FunctionParam, FunctionSignature};
use crate::framework::{Type, Value};
use crate::resources::corporate_identifiers::identity::{DeviceIdentity, IdentityError, IdentityKey};
use crate::resources::corporate_identifiers::value::{device_to_value, device_type};

/// Most data rows one call accepts. Bounds the work and the size of the result; 20 times
/// the Intune portal's 5,000-row cap per file.
pub const MAX_ROWS: usize = 100_000;

/// Most problems listed in one error message; the rest are counted.
const MAX_PROBLEMS_SHOWN: usize = 20;

/// Columns: manufacturer, model, serial number, and optionally description.
const MIN_COLUMNS: usize = 3;
const MAX_COLUMNS: usize = 4;

const DESCRIPTION: &str = r#"Parses a CSV file of Windows corporate identifiers into a list of objects
`{ manufacturer, model, serial_number, description }`, as `autopilot_corporate_identifiers` takes in `devices`.

Format: one device per line, `Manufacturer,Model,Serial` with an optional fourth column `Description`
(an empty or missing description becomes `null`). RFC 4180 quoting is accepted (`"..."`, with `""` for a quote).
Also accepted: a header row as the first row (for example `Manufacturer,Model,Serial Number`, any case),
blank lines, comment lines starting with `#`, LF or CRLF line ends and a UTF-8 byte order mark.

Values are never changed. A line is rejected, with its line number, when:
- a manufacturer, model or serial number contains a comma (even quoted: Intune stores the identifier as
  `manufacturer,model,serial` and cannot hold a comma inside a part), is empty, contains a control or
  invisible character (such as a byte order mark), or has leading or trailing whitespace (the message shows
  the trimmed value);
- a serial number contains periods (Intune requires them removed; the message shows the serial without them);
- a description is longer than 128 characters;
- it has fewer than 3 or more than 4 columns;
- it repeats an earlier device (Intune compares identifiers case-insensitively).

A file without device rows gives an empty list. At most 100,000 rows are accepted."#;

/// The `parse_corporate_identifiers` provider function.
#[derive(Debug, Default)]
pub struct ParseCorporateIdentifiers;

impl Function for ParseCorporateIdentifiers {
    fn name(&self) -> &'static str {
        "parse_corporate_identifiers"
    }

    fn signature(&self) -> FunctionSignature {
        FunctionSignature {
            summary: "Parse a Windows corporate identifier CSV into device objects".to_owned(),
            description: DESCRIPTION.to_owned(),
            params: vec![FunctionParam {
                name: "csv".to_owned(),
                ty: Type::String,
                description: "The CSV text, e.g. `file(\"corporate-identifiers.csv\")`.".to_owned(),
                allow_null: false,
                allow_unknown: false,
            }],
            variadic: None,
            returns: Type::List(Box::new(device_type())),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let text = match args {
            [Value::String(text)] => text,
            [_] => return Err(argument_error("csv must be a known, non-null string")),
            _ => {
                return Err(FunctionError {
                    message: "expected exactly one argument (csv)".into(),
                    argument: None,
                });
            }
        };
        let devices = parse_csv(text).map_err(|e| argument_error(e.to_string()))?;
        Ok(Value::List(devices.iter().map(device_to_value).collect()))
    }
}

fn argument_error(message: impl Into<String>) -> FunctionError {
    FunctionError { message: message.into(), argument: Some(0) }
}

/// What is wrong with one line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error(
        "has {found} column(s); expected 3 (manufacturer,model,serial) or 4 (manufacturer,model,serial,description)"
    )]
    Columns { found: usize },
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("repeats line {first_line}: {identifier:?} (Intune compares identifiers case-insensitively)")]
    Duplicate { first_line: usize, identifier: String },
    #[error("looks like a header row; a header is only allowed as the first row")]
    MisplacedHeader,
    #[error("goes past the limit of {MAX_ROWS} rows; split the file")]
    TooManyRows,
}

/// A problem and the 1-based line it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub problem: LineProblem,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// Every problem found (the first [`MAX_PROBLEMS_SHOWN`] kept), in line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseErrors {
    pub shown: Vec<LineError>,
    /// Problems found beyond those in `shown`.
    pub not_shown: usize,
}

impl ParseErrors {
    fn new() -> Self {
        Self { shown: Vec::new(), not_shown: 0 }
    }

    fn push(&mut self, line: usize, problem: impl Into<LineProblem>) {
        if self.shown.len() < MAX_PROBLEMS_SHOWN {
            self.shown.push(LineError { line, problem: problem.into() });
        } else {
            self.not_shown += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }
}

impl std::error::Error for ParseErrors {}

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shown.as_slice() {
            [only] if self.not_shown == 0 => write!(f, "corporate identifier CSV {only}"),
            shown => {
                write!(f, "corporate identifier CSV has {} problems:", shown.len() + self.not_shown)?;
                for e in shown {
                    write!(f, "\n  {e}")?;
                }
                if self.not_shown > 0 {
                    write!(f, "\n  ... and {} more", self.not_shown)?;
                }
                Ok(())
            }
        }
    }
}

/// Parse corporate identifier CSV text into validated, distinct devices in file order.
/// Malformed CSV and too many rows stop parsing; other problems are collected.
pub fn parse_csv(text: &str) -> Result<Vec<DeviceIdentity>, ParseErrors> {
    let mut errors = ParseErrors::new();
    let mut devices = Vec::new();
    let mut first_line_of: HashMap<IdentityKey, usize> = HashMap::new();
    let mut rows = 0usize;
    let mut first_record = true;

    for record in csv::records(text, MAX_COLUMNS) {
        let record = match record {
            Ok(record) => record,
            Err(CsvError::TooManyFields { line, found, .. }) => {
                // Still a data row: it counts towards the limit and the header position.
                first_record = false;
                rows += 1;
                if rows > MAX_ROWS {
                    errors.push(line, LineProblem::TooManyRows);
                    break;
                }
                errors.push(line, LineProblem::Columns { found });
                continue;
            }
            Err(e) => {
                errors.push(e.line(), e);
                break;
            }
        };
        let line = record.line;
        if is_header(&record.fields) {
            if !first_record {
                errors.push(line, LineProblem::MisplacedHeader);
            }
            first_record = false;
            continue;
        }
        first_record = false;

        rows += 1;
        if rows > MAX_ROWS {
            errors.push(line, LineProblem::TooManyRows);
            break;
        }
        let device = match device_from_fields(record.fields) {
            Ok(device) => device,
            Err(problem) => {
                errors.push(line, problem);
                continue;
            }
        };
        match first_line_of.get(&device.key()) {
            Some(&first_line) => {
                errors.push(line, LineProblem::Duplicate { first_line, identifier: device.identifier() });
            }
            None => {
                first_line_of.insert(device.key(), line);
                devices.push(device);
            }
        }
    }

    if errors.is_empty() { Ok(devices) } else { Err(errors) }
}

fn device_from_fields(fields: Vec<String>) -> Result<DeviceIdentity, LineProblem> {
    let found = fields.len();
    if !(MIN_COLUMNS..=MAX_COLUMNS).contains(&found) {
        return Err(LineProblem::Columns { found });
    }
    let mut fields = fields.into_iter();
    let mut next = || fields.next().unwrap_or_default();
    let (manufacturer, model, serial_number) = (next(), next(), next());
    // An empty fourth column (e.g. "a,b,c," from a spreadsheet) means no description.
    let description = Some(next()).filter(|d| !d.is_empty());
    Ok(DeviceIdentity::new(manufacturer, model, serial_number, description)?)
}

/// A header row: the first three columns name manufacturer, model and serial number
/// (any case, spaces/underscores/hyphens ignored, e.g. `Manufacturer,Model,Serial Number`).
/// Intune documents no header for this file ("don't add headers"), so the names accepted
/// are the obvious ones and those of the common spreadsheet and script exports.
fn is_header(fields: &[String]) -> bool {
    let [manufacturer, model, serial, ..] = fields else {
        return false;
    };
    let name = |s: &str| -> String {
        s.trim().chars().filter(|c| !matches!(c, ' ' | '_' | '-')).flat_map(char::to_lowercase).collect()
    };
    matches!(name(manufacturer).as_str(), "manufacturer" | "manufacturername" | "devicemanufacturer" | "make")
        && matches!(name(model).as_str(), "model" | "modelname" | "devicemodel")
        && (name(serial).starts_with("serial") || name(serial) == "deviceserialnumber")
}

#[cfg(test)]
#[path = "parse_corporate_identifiers_tests.rs"]
mod tests;
