//! OData string literals and URL encoding for lookups by a user-supplied value
//! (`$filter=displayName eq '…'`, `/users/{upn}`).
//!
//! Two layers, both required: inside the OData expression a `'` is written `''` (OData
//! ABNF `SQUOTE-in-string`), so the value cannot end the literal early and add clauses;
//! then the whole query value is percent-encoded, so `&`, `#`, `+` and `%` in the value
//! cannot end the parameter, start a fragment or be decoded into something else by the server.

/// `'value'` with every `'` doubled.
pub fn odata_string_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `{property} eq '{value}'`. The property is a compile-time name, never user input.
pub fn eq_filter(property: &'static str, value: &str) -> String {
    format!("{property} eq {}", odata_string_literal(value))
}

/// The `$filter=…` query parameter (already encoded) matching `property` exactly.
pub fn eq_filter_query(property: &'static str, value: &str) -> String {
    format!("$filter={}", percent_encode(&eq_filter(property, value)))
}

/// Percent-encodes everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`),
/// which makes the result safe both as a query value and as one path segment. Space becomes
/// `%20`, never `+` (Graph does not read `+` as a space in every position).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;

    /// Reverses [`percent_encode`] the way a server does; panics on malformed input.
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
        assert_eq!(odata_string_literal("O'Brien"), "'O''Brien'");
        assert_eq!(odata_string_literal("''"), "''''''");
        assert_eq!(
            eq_filter("displayName", "x' or displayName eq 'y"),
            "displayName eq 'x'' or displayName eq ''y'"
        );
    }

    #[test]
    fn encoded_filters_cannot_be_widened() {
        for name in HOSTILE {
            let query = eq_filter_query("displayName", name);
            let encoded = query.strip_prefix("$filter=").unwrap();
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
        assert_eq!(percent_encode("%27"), "%2527");
        assert_eq!(percent_encode("100% x"), "100%25%20x");
        assert_eq!(percent_encode("a'b"), "a%27b");
        assert_eq!(percent_encode("ä"), "%C3%A4");
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(percent_encode("a/b"), "a%2Fb");
    }

    #[test]
    fn unescaped_filter_would_be_widened() {
        // Shows the test oracle can fail: without doubling, the quote ends the literal.
        let naive = format!("displayName eq '{}'", "x' or displayName eq 'y");
        assert_eq!(parse_eq_filter(&naive), None);
    }
}
