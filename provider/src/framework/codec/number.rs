//! cty numbers as text: parsing decimal strings (msgpack and JSON both carry numbers that
//! fit neither i64 nor f64 exactly as strings) and writing numbers as cty does.

use std::fmt;

use crate::framework::value::Number;

/// Exponents beyond this are not expanded into digits (that would let a short input
/// allocate without bound); such numbers keep their text as written.
const MAX_EXPANDED_EXPONENT: i64 = 4096;

/// Enough fractional digits to print any f64 exactly (the smallest subnormal has 1074).
const F64_EXACT_DIGITS: usize = 1100;

impl Number {
    /// Parse decimal text (`-12`, `1.5`, `2e3`, `0.1`) the way cty does: integers that fit
    /// become `Int`/`UInt`, fractions exactly representable as f64 become `Float`, and
    /// everything else keeps its exact canonical decimal text in `Big`.
    /// Returns `None` for text that is not a decimal number.
    pub fn parse(text: &str) -> Option<Number> {
        let parsed = DecimalText::parse(text)?;
        if parsed.exponent.abs() > MAX_EXPANDED_EXPONENT {
            return Some(Number::Big(text.to_owned()));
        }
        Some(parsed.into_number())
    }

    /// The exact decimal text cty writes for this number (no exponent notation).
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// Whether this is an integer that fits an `i64` (the form cty writes as a msgpack int).
    pub(crate) fn as_exact_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::UInt(u) => i64::try_from(*u).ok(),
            Number::Float(f) if f.fract() == 0.0 && *f >= -(2f64.powi(63)) && *f < 2f64.powi(63) => {
                Some(*f as i64)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::UInt(u) => write!(f, "{u}"),
            // Rust's shortest round-trip form never uses an exponent, like Go's
            // `big.Float.Text('f', -1)` that cty uses.
            Number::Float(x) => write!(f, "{x}"),
            Number::Big(s) => f.write_str(s),
        }
    }
}

/// A syntactically valid decimal: sign, significant digits, and a decimal exponent.
struct DecimalText {
    negative: bool,
    /// Mantissa digits with the decimal point removed (may have leading/trailing zeros).
    digits: String,
    /// Position of the decimal point within `digits` after applying the exponent.
    exponent: i64,
}

impl DecimalText {
    fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if let Some(&c) = bytes.first()
            && (c == b'-' || c == b'+')
        {
            negative = c == b'-';
            i = 1;
        }
        let int_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &text[int_start..i];
        let mut frac_part = "";
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            let frac_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &text[frac_start..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let mut exp: i64 = 0;
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            i += 1;
            let mut exp_negative = false;
            if i < bytes.len() && (bytes[i] == b'-' || bytes[i] == b'+') {
                exp_negative = bytes[i] == b'-';
                i += 1;
            }
            let exp_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                // Saturate: anything this large is kept as text anyway.
                exp = exp.saturating_mul(10).saturating_add(i64::from(bytes[i] - b'0'));
                i += 1;
            }
            if i == exp_start {
                return None;
            }
            if exp_negative {
                exp = -exp;
            }
        }
        if i != bytes.len() {
            return None;
        }
        let point = i64::try_from(int_part.len()).ok()?.saturating_add(exp);
        Some(Self { negative, digits: format!("{int_part}{frac_part}"), exponent: point })
    }

    fn into_number(self) -> Number {
        let leading = self.digits.bytes().take_while(|&b| b == b'0').count();
        let significant = self.digits[leading..].trim_end_matches('0');
        if significant.is_empty() {
            return Number::Int(0);
        }
        // Leading zeros shift the decimal point left.
        let point = self.exponent - leading as i64;
        let len = significant.len() as i64;
        let sign = if self.negative { "-" } else { "" };
        if point >= len {
            let zeros = "0".repeat((point - len) as usize);
            let int_text = format!("{sign}{significant}{zeros}");
            if let Ok(i) = int_text.parse::<i64>() {
                return Number::Int(i);
            }
            if let Ok(u) = int_text.parse::<u64>() {
                return Number::UInt(u);
            }
            return Number::Big(int_text);
        }
        let (int_digits, frac_digits) = if point > 0 {
            let p = point as usize;
            (significant[..p].to_owned(), significant[p..].to_owned())
        } else {
            ("0".to_owned(), format!("{}{significant}", "0".repeat((-point) as usize)))
        };
        let canonical = format!("{sign}{int_digits}.{frac_digits}");
        if frac_digits.len() <= F64_EXACT_DIGITS
            && let Ok(f) = canonical.parse::<f64>()
            && f.is_finite()
            && exact_decimal(f.abs()) == format!("{int_digits}.{frac_digits}")
        {
            return Number::Float(f);
        }
        Number::Big(canonical)
    }
}

/// The exact decimal expansion of a finite, non-negative f64, without trailing zeros.
fn exact_decimal(f: f64) -> String {
    let text = format!("{f:.F64_EXACT_DIGITS$}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases: &[(&str, &str, Option<Number>)] = &[
            ("zero", "0", Some(Number::Int(0))),
            ("negative zero", "-0.0", Some(Number::Int(0))),
            ("small int", "15", Some(Number::Int(15))),
            ("negative int", "-1", Some(Number::Int(-1))),
            ("plus sign", "+7", Some(Number::Int(7))),
            ("i64 max", "9223372036854775807", Some(Number::Int(i64::MAX))),
            ("beyond i64", "9223372036854775808", Some(Number::UInt(9_223_372_036_854_775_808))),
            ("u64 max", "18446744073709551615", Some(Number::UInt(u64::MAX))),
            ("beyond u64", "18446744073709551616", Some(Number::Big("18446744073709551616".into()))),
            ("exponent int", "2e3", Some(Number::Int(2000))),
            ("exponent fraction to int", "1.5E1", Some(Number::Int(15))),
            ("exact half", "1.5", Some(Number::Float(1.5))),
            ("leading point", ".25", Some(Number::Float(0.25))),
            ("trailing point", "5.", Some(Number::Int(5))),
            ("inexact tenth", "0.1", Some(Number::Big("0.1".into()))),
            ("inexact eight tenths", "0.8", Some(Number::Big("0.8".into()))),
            ("negative exponent", "125e-3", Some(Number::Float(0.125))),
            ("tiny inexact", "1e-5", Some(Number::Big("0.00001".into()))),
            ("negative big", "-99999999999999999999", Some(Number::Big("-99999999999999999999".into()))),
            ("huge exponent kept as text", "1e999999", Some(Number::Big("1e999999".into()))),
            ("empty", "", None),
            ("sign only", "-", None),
            ("letters", "12a", None),
            ("bad exponent", "1e", None),
            ("hex", "0x10", None),
            ("spaces", " 1", None),
        ];
        for (name, text, want) in cases {
            assert_eq!(&Number::parse(text), want, "case {name}");
        }
    }

    #[test]
    fn display_table() {
        let cases: &[(&str, Number, &str)] = &[
            ("int", Number::Int(-3), "-3"),
            ("uint", Number::UInt(u64::MAX), "18446744073709551615"),
            ("float", Number::Float(2.5), "2.5"),
            ("float large", Number::Float(1e21), "1000000000000000000000"),
            ("float small", Number::Float(1e-7), "0.0000001"),
            ("big", Number::Big("0.1".into()), "0.1"),
        ];
        for (name, n, want) in cases {
            assert_eq!(n.to_string(), *want, "case {name}");
        }
    }
}
