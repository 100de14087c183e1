//! Finding an app (data source `autopilot_mobile_app`) or a script (data source
//! `autopilot_powershell_script`) by id or display name, and parsing import ids.

use serde_json::Value;
use thiserror::Error;

use super::target::bare_odata_type;

/// A mobile app as the data source returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MobileAppInfo {
    pub id: String,
    pub display_name: String,
    /// The app's `@odata.type` with `#` (`#microsoft.graph.win32LobApp`).
    pub odata_type: String,
    /// The type name alone (`win32LobApp`), the form the device preparation policy's
    /// `allowed_apps` uses.
    pub app_type: String,
}

/// Why a lookup found nothing usable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LookupError {
    #[error("no {kind} has the display name {name:?}")]
    NotFound { kind: &'static str, name: String },
    #[error("{count} {kind}s have the display name {name:?} (ids: {ids}); look it up by id instead")]
    Ambiguous { kind: &'static str, name: String, count: usize, ids: String },
    #[error("the {kind} response is malformed: {reason}")]
    Malformed { kind: &'static str, reason: String },
    #[error("import id {id:?} must be `{expected}`")]
    BadImportId { id: String, expected: &'static str },
}

impl MobileAppInfo {
    /// Parse one app (a list item or a GET body, also in the `{"value": {…}}` example wrapper).
    /// The app as far as its type goes (no display name), from an `@odata.type` seen earlier.
    pub fn of_type(id: &str, odata_type: &str) -> Self {
        let bare = bare_odata_type(odata_type);
        Self {
            id: id.to_owned(),
            display_name: String::new(),
            odata_type: format!("#{bare}"),
            app_type: bare.strip_prefix("microsoft.graph.").unwrap_or(bare).to_owned(),
        }
    }

    pub fn from_graph(body: &Value) -> Result<Self, LookupError> {
        let obj = match body.get("value") {
            Some(inner @ Value::Object(_)) if body.get("id").is_none() => inner,
            _ => body,
        };
        let text = |key: &str| {
            obj.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| LookupError::Malformed { kind: "mobile app", reason: format!("no `{key}`") })
        };
        let odata_type = text("@odata.type")?;
        let bare = bare_odata_type(&odata_type);
        let app_type = bare.strip_prefix("microsoft.graph.").unwrap_or(bare).to_owned();
        Ok(Self {
            id: text("id")?,
            display_name: text("displayName")?,
            odata_type: format!("#{bare}"),
            app_type,
        })
    }
}

/// The OData `$filter` expression matching a display name exactly (single quotes doubled, as
/// OData string literals require). The caller URL-encodes it as a query parameter.
pub fn display_name_filter(name: &str) -> String {
    format!("displayName eq '{}'", name.replace('\'', "''"))
}

/// Pick the one item named `name`: an exact match wins; otherwise a single match ignoring case
/// (Graph's `eq` on strings is case-insensitive, so a filtered list may differ in case).
pub fn pick_by_name<'a, T>(
    kind: &'static str,
    items: &'a [T],
    name: &str,
    display_name: impl Fn(&T) -> &str,
    id: impl Fn(&T) -> &str,
) -> Result<&'a T, LookupError> {
    let exact: Vec<&T> = items.iter().filter(|i| display_name(i) == name).collect();
    let candidates = if exact.is_empty() {
        items.iter().filter(|i| display_name(i).to_lowercase() == name.to_lowercase()).collect()
    } else {
        exact
    };
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(LookupError::NotFound { kind, name: name.to_owned() }),
        many => Err(LookupError::Ambiguous {
            kind,
            name: name.to_owned(),
            count: many.len(),
            ids: many.iter().map(|i| id(i)).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Split an import id `{parentId}/{assignmentId}` (app or script id, then assignment id).
pub fn parse_import_id<'a>(id: &'a str, expected: &'static str) -> Result<(&'a str, &'a str), LookupError> {
    match id.split_once('/') {
        Some((parent, child)) if !parent.is_empty() && !child.is_empty() && !child.contains('/') => {
            Ok((parent, child))
        }
        _ => Err(LookupError::BadImportId { id: id.to_owned(), expected }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dt_app_list_parses_with_types() {
        // graph-samples mobileAppAssignments/list_mobileApps_types.dt.beta.response.json
        let page: Value =
            serde_json::from_str(include_str!("testdata/app.list_mobileApps_types.dt.beta.response.json"))
                .unwrap();
        let apps: Vec<MobileAppInfo> =
            page["value"].as_array().unwrap().iter().map(|a| MobileAppInfo::from_graph(a).unwrap()).collect();
        let types: Vec<_> = apps.iter().map(|a| a.app_type.as_str()).collect();
        assert_eq!(types, ["winGetApp", "win32LobApp", "officeSuiteApp"]);
        let picked =
            pick_by_name("mobile app", &apps, "Test Win32 LOB App", |a| &a.display_name, |a| &a.id).unwrap();
        assert_eq!(picked.id, "00000000-0000-0000-0000-000000000002");
        assert_eq!(picked.odata_type, "#microsoft.graph.win32LobApp");
    }

    #[test]
    fn doc_get_samples_parse_through_the_value_wrapper() {
        let get: Value =
            serde_json::from_str(include_str!("testdata/app.get_winGetApp.beta.response.json")).unwrap();
        let app = MobileAppInfo::from_graph(&get).unwrap();
        assert_eq!(app.id, "22032c2e-2c2e-2203-2e2c-03222e2c0322");
        assert_eq!(app.app_type, "winGetApp");
        let bare = MobileAppInfo::from_graph(
            &json!({"@odata.type": "microsoft.graph.win32CatalogApp", "id": "x", "displayName": "d"}),
        )
        .unwrap();
        assert_eq!(bare.odata_type, "#microsoft.graph.win32CatalogApp");
        assert!(matches!(MobileAppInfo::from_graph(&json!({"id": "x"})), Err(LookupError::Malformed { .. })));
    }

    #[test]
    fn picking_by_name() {
        let items =
            [("a1", "Company Portal"), ("a2", "7-Zip"), ("a3", "7-zip"), ("a4", "Tool"), ("a5", "Tool")];
        let pick = |name: &str| pick_by_name("mobile app", &items, name, |i| i.1, |i| i.0).map(|i| i.0);
        assert_eq!(pick("Company Portal"), Ok("a1"));
        assert_eq!(pick("company portal"), Ok("a1"));
        assert_eq!(pick("7-Zip"), Ok("a2"), "an exact match wins over a case-insensitive one");
        assert_eq!(
            pick("7-ZIP").unwrap_err().to_string(),
            "2 mobile apps have the display name \"7-ZIP\" (ids: a2, a3); look it up by id instead"
        );
        assert!(matches!(pick("Tool"), Err(LookupError::Ambiguous { count: 2, .. })));
        assert_eq!(pick("Nope"), Err(LookupError::NotFound { kind: "mobile app", name: "Nope".into() }));
    }

    #[test]
    fn filter_and_import_ids() {
        assert_eq!(display_name_filter("O'Brien's app"), "displayName eq 'O''Brien''s app'");
        assert_eq!(
            parse_import_id("app/assignment_1_0", "appId/assignmentId"),
            Ok(("app", "assignment_1_0"))
        );
        for bad in ["app", "/x", "x/", "a/b/c", ""] {
            assert!(parse_import_id(bad, "appId/assignmentId").is_err(), "{bad}");
        }
    }
}
