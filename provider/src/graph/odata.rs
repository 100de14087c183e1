//! OData query strings: `$select`, `$filter`, `$expand`, `$top`, ... and literal escaping.
//!
//! Values are percent-encoded whole, so a `'`, `&`, `#` or space inside a filter literal can neither
//! end the literal nor the query parameter.

/// Builder for the query part of a Graph URL.
///
/// ```
/// use autopilot_provider::graph::odata::{Query, literal};
/// let q = Query::new().select(&["id", "displayName"]).filter(format!("displayName eq {}", literal("O'Brien")));
/// assert_eq!(
///     q.to_path("/groups"),
///     "/groups?$select=id%2CdisplayName&$filter=displayName%20eq%20%27O%27%27Brien%27"
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    params: Vec<(String, String)>,
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// `$select=a,b,c`: ask only for the properties the caller reads (smaller, cheaper answers).
    pub fn select(self, fields: &[&str]) -> Self {
        self.param("$select", fields.join(","))
    }

    /// `$filter=<expr>`; build literals inside `expr` with [`literal`].
    pub fn filter(self, expr: impl Into<String>) -> Self {
        self.param("$filter", expr)
    }

    /// `$expand=<expr>`.
    pub fn expand(self, expr: impl Into<String>) -> Self {
        self.param("$expand", expr)
    }

    /// `$top=<n>` (page size; paging still follows `@odata.nextLink`).
    pub fn top(self, n: u32) -> Self {
        self.param("$top", n.to_string())
    }

    /// `$count=true` (needs the `ConsistencyLevel: eventual` header on directory objects).
    pub fn count(self) -> Self {
        self.param("$count", "true")
    }

    /// `$orderby=<expr>`.
    pub fn order_by(self, expr: impl Into<String>) -> Self {
        self.param("$orderby", expr)
    }

    /// Any other parameter; `name` is used verbatim, `value` is percent-encoded.
    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.params.push((name.to_owned(), value.into()));
        self
    }

    /// True when no parameter was added.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The encoded query without the leading `?` (empty when no parameter was added).
    pub fn encode(&self) -> String {
        self.params.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect::<Vec<_>>().join("&")
    }

    /// `path` with this query appended (using `&` if `path` already has a query).
    pub fn to_path(&self, path: &str) -> String {
        if self.is_empty() {
            return path.to_owned();
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}{}", self.encode())
    }
}

/// An OData string literal: quoted, with `'` doubled (`O'Brien` → `'O''Brien'`).
/// Percent-encoding happens when the query is encoded, not here.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// An OData key for use in a URL path, e.g. `servicePrincipals(appId=<key_literal(id)>)`:
/// quoted, `'` doubled, and percent-encoded.
pub fn key_literal(value: &str) -> String {
    percent_encode(&literal(value))
}

/// A single URL path segment (an object id from outside), percent-encoded so it cannot add
/// segments or a query.
pub fn path_segment(value: &str) -> String {
    percent_encode(value)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_escaping_table() {
        let cases = [
            ("plain", "'plain'", "%27plain%27"),
            ("O'Brien", "'O''Brien'", "%27O%27%27Brien%27"),
            ("''", "''''''", "%27%27%27%27%27%27"),
            ("a&b=c#d e", "'a&b=c#d e'", "%27a%26b%3Dc%23d%20e%27"),
            ("é", "'é'", "%27%C3%A9%27"),
        ];
        for (input, lit, key) in cases {
            assert_eq!(literal(input), lit);
            assert_eq!(key_literal(input), key);
        }
    }

    #[test]
    fn query_building() {
        assert_eq!(Query::new().to_path("/groups"), "/groups");
        let q = Query::new().select(&["id"]).top(999).count();
        assert_eq!(q.to_path("/groups"), "/groups?$select=id&$top=999&$count=true");
        assert_eq!(q.to_path("/groups?a=b"), "/groups?a=b&$select=id&$top=999&$count=true");
        let q = Query::new().filter(format!("mailNickname eq {}", literal("x'&$top=1")));
        assert_eq!(q.encode(), "$filter=mailNickname%20eq%20%27x%27%27%26%24top%3D1%27");
    }

    #[test]
    fn path_segment_cannot_escape() {
        assert_eq!(path_segment("../x?y"), "..%2Fx%3Fy");
    }
}
