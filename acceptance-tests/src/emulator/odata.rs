//! OData system query options as Graph accepts them: `$filter` (a parser for the subset the
//! provider needs), `$select`, `$top`, `$count`, `$expand` (left to routes), and skip-token
//! paging with an absolute `@odata.nextLink`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::errors::{GraphError, GraphResult};

/// Parsed query string of one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryOptions {
    pub filter: Option<Filter>,
    pub select: Option<Vec<String>>,
    pub top: Option<usize>,
    pub count: bool,
    pub expand: Option<String>,
    pub orderby: Option<String>,
    pub skip_token: Option<usize>,
    /// Query pairs other than `$skiptoken`, kept to rebuild the next link.
    pairs: Vec<(String, String)>,
}

impl QueryOptions {
    /// Parses a raw (percent-encoded) query string. Unknown `$` options are rejected.
    pub fn parse(raw: Option<&str>) -> GraphResult<Self> {
        let mut out = QueryOptions::default();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let (key, value) = (key.into_owned(), value.into_owned());
            match key.as_str() {
                "$filter" => out.filter = Some(Filter::parse(&value)?),
                "$select" => {
                    let props: Vec<String> =
                        value.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                    if props.is_empty() {
                        return Err(GraphError::odata_bad_request("The $select query option is empty."));
                    }
                    out.select = Some(props);
                }
                "$top" => {
                    let n: i64 = value.trim().parse().map_err(|_| {
                        GraphError::odata_bad_request(format!(
                            "Invalid value '{value}' for $top query option found. The $top query option requires a non-negative integer value."
                        ))
                    })?;
                    out.top = Some(usize::try_from(n).unwrap_or(0));
                }
                "$count" => {
                    out.count = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(GraphError::odata_bad_request(format!(
                                "'{value}' is not a valid count option."
                            )));
                        }
                    }
                }
                "$expand" => out.expand = Some(value.clone()),
                "$orderby" => out.orderby = Some(value.clone()),
                "$skiptoken" => {
                    out.skip_token = Some(decode_skip_token(&value)?);
                    continue;
                }
                k if k.starts_with('$') => {
                    return Err(GraphError::odata_bad_request(format!(
                        "Query option '{k}' is not supported."
                    )));
                }
                _ => {}
            }
            out.pairs.push((key, value));
        }
        Ok(out)
    }

    /// `$top` checked against the collection's maximum (Graph: 1..=999 for directory objects).
    pub fn page_size(&self, default: usize, max: usize) -> GraphResult<usize> {
        match self.top {
            None => Ok(default.min(max)),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(GraphError::bad_request(format!(
                "Invalid page size specified: '{n}'. Must be between 1 and {max} inclusive."
            ))),
        }
    }

    /// Fails with Graph's message if `$expand` was given to a route that does not support it.
    pub fn reject_expand(&self) -> GraphResult<()> {
        match &self.expand {
            Some(e) => Err(GraphError::odata_bad_request(format!(
                "Could not find a property named '{e}' on type to expand, or $expand is not supported here."
            ))),
            None => Ok(()),
        }
    }

    /// Fails if `$orderby` was given (no emulated collection supports it yet).
    pub fn reject_orderby(&self) -> GraphResult<()> {
        match &self.orderby {
            Some(_) => Err(GraphError::unsupported_query("Sorting not supported for current query.")),
            None => Ok(()),
        }
    }

    /// Checks `$select` names against the properties of the type.
    pub fn check_select(&self, type_name: &str, known: &[&str]) -> GraphResult<()> {
        for p in self.select.iter().flatten() {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(p)) && p != "id" {
                return Err(GraphError::odata_bad_request(format!(
                    "Could not find a property named '{p}' on type 'microsoft.graph.{type_name}'."
                )));
            }
        }
        Ok(())
    }

    /// Applies `$select` to one object (keeps `@odata.type` of derived types).
    pub fn project(&self, object: &Map<String, Value>) -> Map<String, Value> {
        let Some(select) = &self.select else { return object.clone() };
        let mut out = Map::new();
        if let Some(t) = object.get("@odata.type") {
            out.insert("@odata.type".into(), t.clone());
        }
        for p in select {
            let found = object.iter().find(|(k, _)| k.eq_ignore_ascii_case(p));
            match found {
                Some((k, v)) => out.insert(k.clone(), v.clone()),
                None => out.insert(p.clone(), Value::Null),
            };
        }
        out
    }

    /// Filters, pages and projects a collection into Graph's response object.
    ///
    /// `request_url` is the absolute URL of the collection without query (the next link is
    /// built from it plus the original options and a new `$skiptoken`).
    pub fn respond(
        &self,
        items: Vec<Map<String, Value>>,
        page_size: usize,
        request_url: &str,
        context: &str,
    ) -> GraphResult<Value> {
        let matched: Vec<Map<String, Value>> = match &self.filter {
            Some(f) => items.into_iter().filter(|o| f.matches(o)).collect(),
            None => items,
        };
        let total = matched.len();
        let start = self.skip_token.unwrap_or(0);
        if start > total {
            return Err(GraphError::odata_bad_request("The skip token is no longer valid."));
        }
        let end = (start + page_size).min(total);
        let value: Vec<Value> = matched[start..end].iter().map(|o| Value::Object(self.project(o))).collect();
        let mut body = json!({ "@odata.context": context });
        if self.count {
            body["@odata.count"] = json!(total);
        }
        if end < total {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &self.pairs {
                query.append_pair(k, v);
            }
            query.append_pair("$skiptoken", &encode_skip_token(end));
            body["@odata.nextLink"] = Value::String(format!("{request_url}?{}", query.finish()));
        }
        body["value"] = Value::Array(value);
        Ok(body)
    }
}

fn encode_skip_token(offset: usize) -> String {
    format!("RFNwdA{}", URL_SAFE_NO_PAD.encode(format!("emulator-offset:{offset}")))
}

fn decode_skip_token(token: &str) -> GraphResult<usize> {
    let invalid = || GraphError::odata_bad_request(format!("Invalid skip token '{token}'."));
    let rest = token.strip_prefix("RFNwdA").ok_or_else(invalid)?;
    let bytes = URL_SAFE_NO_PAD.decode(rest).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix("emulator-offset:").and_then(|n| n.parse().ok()).ok_or_else(invalid)
}

// ====================================================================================
// $filter
// ====================================================================================

/// A literal in a filter expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    String(String),
    Guid(String),
    Bool(bool),
    Number(f64),
    Null,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
}

/// Parsed `$filter` expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Compare { property: String, op: CmpOp, value: Literal },
    StartsWith { property: String, prefix: String },
    In { property: String, values: Vec<Literal> },
}

impl Filter {
    pub fn parse(text: &str) -> GraphResult<Self> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens, pos: 0, text };
        let f = p.or_expr()?;
        if p.pos != p.tokens.len() {
            return Err(p.error("unexpected token after the end of the expression"));
        }
        Ok(f)
    }

    /// Property paths used by the expression (for per-route validation).
    pub fn properties(&self) -> Vec<&str> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let mut v = a.properties();
                v.extend(b.properties());
                v
            }
            Filter::Not(a) => a.properties(),
            Filter::Compare { property, .. }
            | Filter::StartsWith { property, .. }
            | Filter::In { property, .. } => vec![property.as_str()],
        }
    }

    /// True if the expression needs Entra's advanced query mode (`ne`, `not`).
    pub fn is_advanced(&self) -> bool {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.is_advanced() || b.is_advanced(),
            Filter::Not(_) => true,
            Filter::Compare { op, .. } => *op == CmpOp::Ne,
            Filter::StartsWith { .. } | Filter::In { .. } => false,
        }
    }

    /// Evaluates against one object; string comparisons are case-insensitive like Entra's.
    pub fn matches(&self, object: &Map<String, Value>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(object) && b.matches(object),
            Filter::Or(a, b) => a.matches(object) || b.matches(object),
            Filter::Not(a) => !a.matches(object),
            Filter::Compare { property, op, value } => {
                let eq = equals(lookup(object, property), value);
                match op {
                    CmpOp::Eq => eq,
                    CmpOp::Ne => !eq,
                }
            }
            Filter::StartsWith { property, prefix } => lookup(object, property)
                .and_then(Value::as_str)
                .is_some_and(|s| s.to_lowercase().starts_with(&prefix.to_lowercase())),
            Filter::In { property, values } => {
                let v = lookup(object, property);
                values.iter().any(|l| equals(v, l))
            }
        }
    }
}

fn lookup<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('/');
    let first = parts.next()?;
    let mut cur = object.iter().find(|(k, _)| k.eq_ignore_ascii_case(first)).map(|(_, v)| v)?;
    for part in parts {
        cur = cur.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(part)).map(|(_, v)| v)?;
    }
    Some(cur)
}

fn equals(value: Option<&Value>, literal: &Literal) -> bool {
    match (value, literal) {
        (None | Some(Value::Null), Literal::Null) => true,
        (Some(Value::String(s)), Literal::String(l) | Literal::Guid(l)) => {
            s.to_lowercase() == l.to_lowercase()
        }
        (Some(Value::Bool(b)), Literal::Bool(l)) => b == l,
        (Some(Value::Number(n)), Literal::Number(l)) => {
            n.as_f64().is_some_and(|n| (n - l).abs() < f64::EPSILON)
        }
        // A collection property matches if any element does (e.g. `groupTypes eq 'Unified'` is not
        // valid OData, but `in` over scalar properties is; keep collections strict: no match).
        _ => false,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Lit(Literal),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> GraphResult<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let err = |msg: String| GraphError::odata_bad_request(format!("Invalid filter clause: {msg}"));
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(format!("unterminated string literal at position {i}."))),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Lit(Literal::String(s)));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '(' | ')' | ',' | '\'') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push(classify_word(&word).ok_or_else(|| err(format!("syntax error at '{word}'.")))?);
            }
        }
    }
    Ok(out)
}

fn classify_word(word: &str) -> Option<Token> {
    if word == "true" || word == "false" {
        return Some(Token::Lit(Literal::Bool(word == "true")));
    }
    if word == "null" {
        return Some(Token::Lit(Literal::Null));
    }
    if uuid::Uuid::parse_str(word).is_ok() && word.len() == 36 {
        return Some(Token::Lit(Literal::Guid(word.to_owned())));
    }
    if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return word.parse::<f64>().ok().map(|n| Token::Lit(Literal::Number(n)));
    }
    if word.chars().all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '.' || c == '@') {
        return Some(Token::Ident(word.to_owned()));
    }
    None
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> GraphError {
        GraphError::odata_bad_request(format!("Invalid filter clause: {what} in '{}'.", self.text))
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Ident(w)) if w == kw)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, t: &Token, what: &str) -> GraphResult<()> {
        if self.next().as_ref() == Some(t) { Ok(()) } else { Err(self.error(&format!("expected {what}"))) }
    }

    fn or_expr(&mut self) -> GraphResult<Filter> {
        let mut left = self.and_expr()?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> GraphResult<Filter> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> GraphResult<Filter> {
        if self.peek_keyword("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> GraphResult<Filter> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or_expr()?;
                self.expect(&Token::Close, "')'")?;
                Ok(inner)
            }
            Some(Token::Ident(name)) if name.eq_ignore_ascii_case("startswith") => {
                self.expect(&Token::Open, "'(' after startswith")?;
                let property = self.property()?;
                self.expect(&Token::Comma, "','")?;
                let Some(Token::Lit(Literal::String(prefix))) = self.next() else {
                    return Err(self.error("startswith needs a string literal"));
                };
                self.expect(&Token::Close, "')'")?;
                Ok(Filter::StartsWith { property, prefix })
            }
            Some(Token::Ident(property)) => {
                let Some(Token::Ident(op)) = self.next() else {
                    return Err(self.error(&format!("expected an operator after '{property}'")));
                };
                match op.as_str() {
                    "eq" | "ne" => {
                        let value = self.literal()?;
                        let op = if op == "eq" { CmpOp::Eq } else { CmpOp::Ne };
                        Ok(Filter::Compare { property, op, value })
                    }
                    "in" => {
                        self.expect(&Token::Open, "'(' after in")?;
                        let mut values = vec![self.literal()?];
                        while self.tokens.get(self.pos) == Some(&Token::Comma) {
                            self.pos += 1;
                            values.push(self.literal()?);
                        }
                        self.expect(&Token::Close, "')'")?;
                        Ok(Filter::In { property, values })
                    }
                    other => Err(GraphError::unsupported_query(format!(
                        "Unsupported or invalid query filter clause specified for property '{property}': operator '{other}' is not supported."
                    ))),
                }
            }
            _ => Err(self.error("expected a property, '(' or a function")),
        }
    }

    fn property(&mut self) -> GraphResult<String> {
        match self.next() {
            Some(Token::Ident(p)) => Ok(p),
            _ => Err(self.error("expected a property name")),
        }
    }

    fn literal(&mut self) -> GraphResult<Literal> {
        match self.next() {
            Some(Token::Lit(l)) => Ok(l),
            _ => Err(self.error("expected a literal")),
        }
    }
}

/// Validates the properties a filter uses against a route's filterable list.
pub fn check_filter(options: &QueryOptions, resource: &str, filterable: &[&str]) -> GraphResult<()> {
    let Some(filter) = &options.filter else { return Ok(()) };
    for p in filter.properties() {
        if !filterable.iter().any(|f| f.eq_ignore_ascii_case(p)) {
            return Err(GraphError::unsupported_query(format!(
                "Unsupported or invalid query filter clause specified for property '{p}' of resource '{resource}'."
            )));
        }
    }
    Ok(())
}

/// [`check_filter`] plus Entra's advanced-query rules: `$count` needs `ConsistencyLevel:
/// eventual`; `ne`/`not` need that header and `$count=true`.
pub fn check_directory_filter(
    options: &QueryOptions,
    resource: &str,
    filterable: &[&str],
    consistency_eventual: bool,
) -> GraphResult<()> {
    if options.count && !consistency_eventual {
        return Err(GraphError::unsupported_query(
            "$count is only supported with the ConsistencyLevel header set to 'eventual'.",
        ));
    }
    check_filter(options, resource, filterable)?;
    let Some(filter) = &options.filter else { return Ok(()) };
    if filter.is_advanced() && !(consistency_eventual && options.count) {
        return Err(GraphError::unsupported_query(format!(
            "Unsupported query: 'ne' and 'not' filters on '{resource}' need the ConsistencyLevel header set to 'eventual' and $count=true."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn filters_parse_and_match() {
        let o = obj(json!({"displayName": "O'Brien team", "appId": "F1346770-5B25-470B-88BD-D5744AB7952C",
            "securityEnabled": true, "n": 3, "templateReference": {"templateFamily": "x"}}));
        let cases: &[(&str, bool)] = &[
            ("displayName eq 'O''Brien team'", true),
            ("displayName eq 'o''brien TEAM'", true),
            ("displayName ne 'x'", true),
            ("startswith(displayName,'o''b')", true),
            ("appId eq 'f1346770-5b25-470b-88bd-d5744ab7952c'", true),
            ("appId eq f1346770-5b25-470b-88bd-d5744ab7952c", true),
            ("securityEnabled eq true and n eq 3", true),
            ("securityEnabled eq false or (n eq 3 and displayName in ('a', 'O''Brien team'))", true),
            ("not (n eq 3)", false),
            ("templateReference/templateFamily eq 'x'", true),
            ("missing eq null", true),
        ];
        for (text, expected) in cases {
            let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(f.matches(&o), *expected, "{text}");
        }
    }

    #[test]
    fn bad_filters_are_rejected() {
        for text in
            ["displayName eq 'x", "displayName eq", "(displayName eq 'a'", "displayName gt 'a'", "eq 'a'"]
        {
            assert!(Filter::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn paging_produces_next_links_until_the_end() {
        let items: Vec<Map<String, Value>> = (0..5).map(|i| obj(json!({"id": i.to_string()}))).collect();
        let mut opts = QueryOptions::parse(Some("$top=2&$select=id")).unwrap_or_default();
        let mut seen = Vec::new();
        loop {
            let size = opts.page_size(100, 999).unwrap_or(0);
            let page = opts.respond(items.clone(), size, "https://h/v1.0/groups", "ctx").unwrap_or_default();
            seen.extend(page["value"].as_array().cloned().unwrap_or_default());
            let Some(next) = page["@odata.nextLink"].as_str() else { break };
            assert!(
                next.starts_with("https://h/v1.0/groups?%24top=2")
                    || next.starts_with("https://h/v1.0/groups?$top=2")
            );
            let query = next.split_once('?').map(|(_, q)| q.to_owned());
            opts = QueryOptions::parse(query.as_deref()).unwrap_or_default();
        }
        assert_eq!(seen.len(), 5);
        assert!(QueryOptions::parse(Some("$top=0")).unwrap_or_default().page_size(100, 999).is_err());
        assert!(QueryOptions::parse(Some("$skiptoken=garbage")).is_err());
        assert!(QueryOptions::parse(Some("$search=x")).is_err());
    }
}
