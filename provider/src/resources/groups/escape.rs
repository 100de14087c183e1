//! Lookups by a user-supplied string (`$filter=displayName eq '…'`, `userPrincipalName eq '…'`).
//!
//! Two layers, both required, both from [`crate::graph::odata`]: inside the OData
//! expression a `'` is written `''` ([`literal`]), so the value cannot end the literal early
//! and add clauses; then the whole query value is percent-encoded ([`Query::encode`]), so
//! `&`, `#`, `+` and `%` cannot end the parameter, start a fragment or decode into a quote.

use crate::graph::odata::{Query, literal};

/// `{property} eq '{value}'`. The property is a compile-time name, never user input.
pub fn eq_filter(property: &'static str, value: &str) -> String {
    format!("{property} eq {}", literal(value))
}

/// `path?$filter={property} eq '{value}'&$select=…`, encoded.
pub fn find_by(path: &str, property: &'static str, value: &str, select: &str) -> String {
    Query::new().filter(eq_filter(property, value)).param("$select", select).to_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reverses percent-encoding the way a server does; panics on malformed input.
    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// Reads `displayName eq '<literal>'` the way an OData parser does and returns the
    /// literal's value, or `None` if anything follows the literal (a widened filter).
    fn parse_eq_filter(filter: &str) -> Option<String> {
        let rest = filter.strip_prefix("displayName eq '")?;
        let mut value = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    value.push('\'');
                } else {
                    return chars.next().is_none().then_some(value);
                }
            } else {
                value.push(c);
            }
        }
        None
    }

    const HOSTILE: &[&str] = &[
        "Autopilot DPP devices",
        "O'Brien",
        "'",
        "''",
        "x' or displayName eq 'y",
        "x') or (1 eq 1",
        "100% devices",
        "%27 or true",
        "a%2527b",
        "a&$top=1",
        "a#frag",
        "a+b c",
        "Geräte ✓",
        "",
    ];

    #[test]
    fn literals_double_quotes() {
        assert_eq!(eq_filter("displayName", "O'Brien"), "displayName eq 'O''Brien'");
        assert_eq!(
            eq_filter("displayName", "x' or displayName eq 'y"),
            "displayName eq 'x'' or displayName eq ''y'"
        );
    }

    #[test]
    fn encoded_filters_cannot_be_widened() {
        for name in HOSTILE {
            let path = find_by("/groups", "displayName", name, "id");
            let query = path.strip_prefix("/groups?$filter=").unwrap();
            let (encoded, select) = query.split_once('&').unwrap();
            assert_eq!(select, "$select=id", "{name:?}: the value added a parameter");
            // Nothing that ends the parameter, starts a fragment or reads as a space survives.
            for raw in ['&', '#', '+', ' ', '\'', '=', '?'] {
                assert!(!encoded.contains(raw), "{name:?} -> {encoded}");
            }
            // The server decodes once and sees exactly one literal equal to the name.
            assert_eq!(parse_eq_filter(&percent_decode(encoded)).as_deref(), Some(*name), "{name:?}");
        }
    }

    #[test]
    fn percent_is_encoded_so_it_cannot_smuggle_a_quote() {
        let path = find_by("/groups", "displayName", "%27", "id");
        assert!(path.contains("%25"), "{path}");
        assert!(!path.contains("%27%27%27"), "{path}");
    }

    #[test]
    fn unescaped_filter_would_be_widened() {
        // Shows the test oracle can fail: without doubling, the quote ends the literal.
        let naive = format!("displayName eq '{}'", "x' or displayName eq 'y");
        assert_eq!(parse_eq_filter(&naive), None);
    }
}
