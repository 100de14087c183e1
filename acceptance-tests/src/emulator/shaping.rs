//! `$expand` and `$orderby` as Graph parses them; the routes decide what they support.
//!
//! * `$expand`: comma-separated navigation properties, each optionally with nested options in
//!   parentheses: `members($select=id,displayName)`, `settings($expand=settingDefinitions)`.
//! * `$orderby`: one property, optionally `asc`/`desc`.
//!
//! Directory limits (Graph "query parameters" and known-issues pages; the one-item rule from
//! Graph's own 400 quoted in microsoft-graph-docs issue #96): at most one expanded relationship
//! per request, one level deep, at most [`DIRECTORY_EXPAND_MAX`] expanded objects and no
//! `@odata.nextLink` inside an expansion, and list pages of at most
//! [`DIRECTORY_EXPAND_PAGE_MAX`] items when expanding.

use serde_json::{Map, Value};

use super::errors::{GraphError, GraphResult};

/// Graph returns at most 20 objects of an expanded directory relationship.
pub const DIRECTORY_EXPAND_MAX: usize = 20;
/// A directory list page holds at most 100 items when `$expand` is used (even with `$top=999`).
pub const DIRECTORY_EXPAND_PAGE_MAX: usize = 100;

/// One `$expand` item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpandItem {
    pub property: String,
    /// Nested `$select`.
    pub select: Option<Vec<String>>,
    /// Nested `$expand` (raw; parse again with [`parse_expand`]).
    pub expand: Option<String>,
}

/// Splits on `sep` outside parentheses.
fn split_top(text: &str, sep: char) -> GraphResult<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(syntax(text));
                }
            }
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(syntax(text));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn syntax(text: &str) -> GraphError {
    GraphError::odata_bad_request(format!("Syntax error at position {} in '{text}'.", text.len()))
}

/// Parses a raw `$expand` value.
pub fn parse_expand(raw: &str) -> GraphResult<Vec<ExpandItem>> {
    let mut items = Vec::new();
    for part in split_top(raw, ',')? {
        let part = part.trim();
        if part.is_empty() {
            return Err(syntax(raw));
        }
        let (property, options) = match part.find('(') {
            Some(open) if part.ends_with(')') => (&part[..open], Some(&part[open + 1..part.len() - 1])),
            Some(_) => return Err(syntax(raw)),
            None => (part, None),
        };
        let property = property.trim();
        if property.is_empty() || !property.chars().all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '$')
        {
            return Err(syntax(raw));
        }
        let mut item = ExpandItem { property: property.to_owned(), ..ExpandItem::default() };
        for option in options.map(|o| split_top(o, ';')).transpose()?.unwrap_or_default() {
            let (key, value) = option.split_once('=').ok_or_else(|| syntax(raw))?;
            match key.trim() {
                "$select" => {
                    item.select = Some(
                        value.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
                    )
                }
                "$expand" => item.expand = Some(value.trim().to_owned()),
                other => {
                    return Err(GraphError::odata_bad_request(format!(
                        "Query option '{other}' is not supported inside $expand on '{property}'."
                    )));
                }
            }
        }
        items.push(item);
    }
    Ok(items)
}

/// The one expanded relationship of a directory request, checked against `allowed` (the
/// navigation properties of `type_name`). `None` without `$expand`.
pub fn directory_expand(
    raw: Option<&str>,
    type_name: &str,
    allowed: &[&str],
) -> GraphResult<Option<ExpandItem>> {
    let Some(raw) = raw else { return Ok(None) };
    let mut items = parse_expand(raw)?;
    if items.len() > 1 {
        return Err(GraphError::odata_bad_request(format!(
            "The result of parsing $expand contained at least {} items, but the maximum allowed is 1.",
            items.len()
        )));
    }
    let Some(item) = items.pop() else { return Ok(None) };
    let Some(known) = allowed.iter().find(|a| a.eq_ignore_ascii_case(&item.property)) else {
        return Err(GraphError::odata_bad_request(format!(
            "Could not find a property named '{}' on type 'microsoft.graph.{type_name}'.",
            item.property
        )));
    };
    if item.expand.is_some() {
        return Err(GraphError::odata_bad_request(
            "Only one level of $expand is supported for directory objects.".to_owned(),
        ));
    }
    Ok(Some(ExpandItem { property: (*known).to_owned(), ..item }))
}

/// The expanded value of a directory relationship: the first [`DIRECTORY_EXPAND_MAX`] objects,
/// each with `@odata.type` and `id` plus the nested `$select` (or everything).
pub fn directory_expansion(item: &ExpandItem, related: Vec<Map<String, Value>>) -> Value {
    let shown = related.into_iter().take(DIRECTORY_EXPAND_MAX).map(|o| match &item.select {
        None => Value::Object(o),
        Some(select) => {
            let mut out = Map::new();
            for (k, v) in &o {
                let keep =
                    k == "@odata.type" || k == "id" || select.iter().any(|s| s.eq_ignore_ascii_case(k));
                if keep {
                    out.insert(k.clone(), v.clone());
                }
            }
            Value::Object(out)
        }
    });
    Value::Array(shown.collect())
}

/// Sort direction of `$orderby`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// A parsed `$orderby`: one property and its direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderBy {
    pub property: String,
    pub direction: Direction,
}

/// Parses a raw `$orderby` (one property; several are refused like Graph's directory does).
pub fn parse_orderby(raw: &str) -> GraphResult<OrderBy> {
    let parts = split_top(raw, ',')?;
    if parts.len() > 1 {
        return Err(GraphError::unsupported_query("Sorting not supported for current query."));
    }
    let mut words = raw.split_whitespace();
    let property = words.next().ok_or_else(|| syntax(raw))?.to_owned();
    let direction = match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => Direction::Asc,
        Some("desc") => Direction::Desc,
        Some(_) => return Err(syntax(raw)),
    };
    if words.next().is_some() {
        return Err(syntax(raw));
    }
    Ok(OrderBy { property, direction })
}

/// Sorts by a string property, case-insensitively (missing values first, as Graph puts nulls).
pub fn sort_by_string(items: &mut [Map<String, Value>], order: &OrderBy) {
    let key = |o: &Map<String, Value>| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&order.property))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_lowercase)
    };
    items.sort_by(|a, b| {
        let ordering = key(a).cmp(&key(b));
        match order.direction {
            Direction::Asc => ordering,
            Direction::Desc => ordering.reverse(),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expand_items_with_nested_options() {
        let items = parse_expand("settings($expand=settingDefinitions),assignments").unwrap_or_default();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].property, "settings");
        assert_eq!(items[0].expand.as_deref(), Some("settingDefinitions"));
        assert_eq!(items[1], ExpandItem { property: "assignments".into(), ..ExpandItem::default() });
        let items = parse_expand("members($select=id,displayName)").unwrap_or_default();
        assert_eq!(items[0].select, Some(vec!["id".to_owned(), "displayName".to_owned()]));
    }

    #[test]
    fn malformed_or_unsupported_expand_is_a_400() {
        for raw in
            ["members(", "members)", "", "members,,owners", "members($top)", "members($filter=id eq '1')"]
        {
            let err = parse_expand(raw).err().map(|e| e.status.as_u16());
            assert_eq!(err, Some(400), "{raw:?}");
        }
    }

    #[test]
    fn directory_expand_allows_one_known_relationship_one_level_deep() {
        let ok = directory_expand(Some("Members"), "group", &["members", "owners"]).unwrap_or_default();
        assert_eq!(ok.map(|i| i.property), Some("members".to_owned()));
        for raw in ["members,owners", "manager", "members($expand=memberOf)"] {
            assert!(directory_expand(Some(raw), "group", &["members", "owners"]).is_err(), "{raw}");
        }
        assert_eq!(directory_expand(None, "group", &["members"]).unwrap_or_default(), None);
    }

    #[test]
    fn directory_expansion_is_capped_at_20_and_projected() {
        let related: Vec<Map<String, Value>> = (0..25)
            .map(|i| {
                let v = json!({"@odata.type": "#microsoft.graph.user", "id": format!("u{i}"), "displayName": "x", "mail": "m"});
                v.as_object().cloned().unwrap_or_default()
            })
            .collect();
        let item =
            ExpandItem { property: "members".into(), select: Some(vec!["displayName".into()]), expand: None };
        let shown = directory_expansion(&item, related);
        let shown = shown.as_array().cloned().unwrap_or_default();
        assert_eq!(shown.len(), DIRECTORY_EXPAND_MAX);
        assert_eq!(shown[0], json!({"@odata.type": "#microsoft.graph.user", "id": "u0", "displayName": "x"}));
    }

    #[test]
    fn orderby_one_property_with_direction() {
        assert_eq!(
            parse_orderby("displayName desc").ok(),
            Some(OrderBy { property: "displayName".into(), direction: Direction::Desc })
        );
        assert_eq!(parse_orderby("displayName").ok().map(|o| o.direction), Some(Direction::Asc));
        assert!(parse_orderby("displayName,id").is_err());
        assert!(parse_orderby("displayName sideways").is_err());
        let mut items: Vec<Map<String, Value>> = ["b", "A", "c"]
            .iter()
            .map(|n| json!({"displayName": n}).as_object().cloned().unwrap_or_default())
            .collect();
        sort_by_string(&mut items, &OrderBy { property: "displayname".into(), direction: Direction::Asc });
        let names: Vec<&str> = items.iter().filter_map(|o| o["displayName"].as_str()).collect();
        assert_eq!(names, ["A", "b", "c"]);
    }
}
