//! Graph (beta) request and response bodies for `importedDeviceIdentities`, and the
//! per-row check of an `importDeviceIdentityList` answer.
//!
//! * `POST /beta/deviceManagement/importedDeviceIdentities/importDeviceIdentityList`:
//!   [`ImportRequest`] → [`ImportResponse`]. Graph answers 200 even when rows fail; each
//!   result row carries `status` (bool). [`check_import`] turns that into per-row outcomes.
//! * `POST .../importedDeviceIdentities/searchExistingIdentities`: [`SearchRequest`] →
//!   [`IdentityPage`] (the matching identities, with their `id`).
//! * `GET .../importedDeviceIdentities` (paged): [`IdentityPage`].
//!
//! Enumerations (`importedDeviceIdentityType`, `enrollmentState`, `platform`) are kept as
//! strings: Graph adds members (`unknownFutureValue`) and an unknown one must not fail a read.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::diff::ExistingIdentity;
use super::identity::{DeviceIdentity, IDENTITY_TYPE, IdentityKey, PLATFORM};

const IDENTITY_ODATA_TYPE: &str = "#microsoft.graph.importedDeviceIdentity";

/// Identities per `importDeviceIdentityList` or `searchExistingIdentities` call. Graph
/// documents no limit (the portal takes 5,000 rows per file); 500 keeps each request small
/// and a failed call cheap to retry. Advice, not a documented number.
pub const BATCH_SIZE: usize = 500;

/// Body of `importDeviceIdentityList`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRequest {
    pub imported_device_identities: Vec<NewIdentity>,
    /// Whether an import replaces an existing identity with the same identifier
    /// (undocumented). We send `false` and rely on search + per-row `status` instead.
    pub overwrite_imported_device_identities: bool,
}

impl ImportRequest {
    /// Request importing `devices` as Windows corporate identifiers, without overwriting.
    pub fn new(devices: &[DeviceIdentity]) -> Self {
        Self {
            imported_device_identities: devices.iter().map(NewIdentity::from_device).collect(),
            overwrite_imported_device_identities: false,
        }
    }
}

/// One identity to import.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewIdentity {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub imported_device_identity_type: String,
    pub imported_device_identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

impl NewIdentity {
    /// The Windows (`manufacturerModelSerial`) identity of `device`.
    pub fn from_device(device: &DeviceIdentity) -> Self {
        Self {
            odata_type: IDENTITY_ODATA_TYPE.to_owned(),
            imported_device_identity_type: IDENTITY_TYPE.to_owned(),
            imported_device_identifier: device.identifier(),
            description: device.description.clone(),
            platform: Some(PLATFORM.to_owned()),
        }
    }
}

/// Body of `searchExistingIdentities`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    pub imported_device_identities: Vec<SearchItem>,
}

impl SearchRequest {
    /// Search for the Windows identities of `devices`.
    pub fn new(devices: &[DeviceIdentity]) -> Self {
        Self {
            imported_device_identities: devices
                .iter()
                .map(|d| SearchItem {
                    imported_device_identifier: d.identifier(),
                    imported_device_identity_type: IDENTITY_TYPE.to_owned(),
                })
                .collect(),
        }
    }
}

/// One identifier to search for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchItem {
    pub imported_device_identifier: String,
    pub imported_device_identity_type: String,
}

/// An `importedDeviceIdentity` as Graph returns it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedDeviceIdentity {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub imported_device_identifier: Option<String>,
    #[serde(default)]
    pub imported_device_identity_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enrollment_state: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub created_date_time: Option<String>,
    #[serde(default)]
    pub last_modified_date_time: Option<String>,
    #[serde(default)]
    pub last_contacted_date_time: Option<String>,
}

impl ImportedDeviceIdentity {
    /// True for Windows corporate identifiers (`manufacturerModelSerial`).
    pub fn is_windows_identifier(&self) -> bool {
        self.imported_device_identity_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(IDENTITY_TYPE))
    }

    /// This row as input to the set diff; `None` for other identifier types and for rows
    /// lacking an id or identifier (nothing we could match or delete).
    pub fn to_existing(&self) -> Option<ExistingIdentity> {
        if !self.is_windows_identifier() {
            return None;
        }
        Some(ExistingIdentity {
            id: self.id.clone().filter(|id| !id.is_empty())?,
            identifier: self.imported_device_identifier.clone()?,
            description: self.description.clone(),
        })
    }
}

/// A page of identities: the list response and the `searchExistingIdentities` response.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct IdentityPage {
    #[serde(default)]
    pub value: Vec<ImportedDeviceIdentity>,
    /// Absolute URL of the next page, to be followed verbatim.
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

impl IdentityPage {
    /// The Windows corporate identifiers on this page, as diff input.
    pub fn windows_rows(&self) -> Vec<ExistingIdentity> {
        self.value.iter().filter_map(ImportedDeviceIdentity::to_existing).collect()
    }
}

/// One row of an `importDeviceIdentityList` answer (`importedDeviceIdentityResult`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ImportResultRow {
    #[serde(flatten)]
    pub identity: ImportedDeviceIdentity,
    /// Whether this row was imported. The HTTP status is 200 regardless.
    #[serde(default)]
    pub status: Option<bool>,
}

/// Body of the `importDeviceIdentityList` answer.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ImportResponse {
    #[serde(default)]
    pub value: Vec<ImportResultRow>,
}

/// A requested device that is now in Intune.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedRow {
    pub id: String,
    pub device: DeviceIdentity,
}

/// A requested device the import did not create. Graph documents no per-row reason beyond
/// `status: false`, so the messages say what we know and what to check.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowFailure {
    #[error(
        "Intune did not import corporate identifier {identifier:?} (status false; Graph gives no \
         reason per row). A common cause is an identifier that already exists with different \
         details, which an import without overwrite does not replace"
    )]
    Rejected { identifier: String },

    #[error(
        "Intune's import answer has no row for corporate identifier {identifier:?}; \
         it was probably not imported"
    )]
    NoResult { identifier: String },

    #[error("Intune reported corporate identifier {identifier:?} as imported but returned no id for it")]
    NoId { identifier: String },
}

impl RowFailure {
    /// The identifier the failure is about.
    pub fn identifier(&self) -> &str {
        match self {
            RowFailure::Rejected { identifier }
            | RowFailure::NoResult { identifier }
            | RowFailure::NoId { identifier } => identifier,
        }
    }
}

/// Per-row result of one import call, in request order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    pub imported: Vec<ImportedRow>,
    pub failures: Vec<RowFailure>,
}

/// Match an import answer to the devices requested (by case-insensitive identifier).
/// A row counts as imported when `status` is true, or absent but an id came back; result
/// rows for identifiers we did not request are ignored.
pub fn check_import(requested: &[DeviceIdentity], response: &ImportResponse) -> ImportOutcome {
    let mut results: HashMap<IdentityKey, &ImportResultRow> = HashMap::with_capacity(response.value.len());
    for row in &response.value {
        if let Some(identifier) = &row.identity.imported_device_identifier {
            results.entry(IdentityKey::from_identifier(identifier)).or_insert(row);
        }
    }

    let mut outcome = ImportOutcome::default();
    for device in requested {
        let identifier = device.identifier();
        let Some(row) = results.get(&IdentityKey::from_identifier(&identifier)) else {
            outcome.failures.push(RowFailure::NoResult { identifier });
            continue;
        };
        let id = row.identity.id.clone().filter(|id| !id.is_empty());
        match (row.status, id) {
            (Some(false), _) => outcome.failures.push(RowFailure::Rejected { identifier }),
            (_, Some(id)) => outcome.imported.push(ImportedRow { id, device: device.clone() }),
            (Some(true), None) => outcome.failures.push(RowFailure::NoId { identifier }),
            (None, None) => outcome.failures.push(RowFailure::Rejected { identifier }),
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn device(serial: &str, description: Option<&str>) -> DeviceIdentity {
        DeviceIdentity {
            manufacturer: "Microsoft Corporation".into(),
            model: "Surface Laptop 5".into(),
            serial_number: serial.into(),
            description: description.map(str::to_owned),
        }
    }

    #[test]
    fn import_request_has_the_documented_shape() {
        let body = serde_json::to_value(ImportRequest::new(&[
            device("0123456789", Some("optional")),
            device("9876543210", None),
        ]))
        .unwrap();
        // Mirrors graph-reference section 6 "Import (create / upsert)".
        assert_eq!(
            body,
            json!({
                "importedDeviceIdentities": [
                    { "@odata.type": "#microsoft.graph.importedDeviceIdentity",
                      "importedDeviceIdentityType": "manufacturerModelSerial",
                      "importedDeviceIdentifier": "Microsoft Corporation,Surface Laptop 5,0123456789",
                      "description": "optional",
                      "platform": "windows" },
                    { "@odata.type": "#microsoft.graph.importedDeviceIdentity",
                      "importedDeviceIdentityType": "manufacturerModelSerial",
                      "importedDeviceIdentifier": "Microsoft Corporation,Surface Laptop 5,9876543210",
                      "platform": "windows" }
                ],
                "overwriteImportedDeviceIdentities": false
            })
        );
    }

    #[test]
    fn documented_import_request_sample_parses() {
        // Mirrors graph-samples/importedDeviceIdentities/importDeviceIdentityList.beta.request.json
        // (service-set fields such as id and timestamps are ignored).
        let sample = r##"{
          "importedDeviceIdentities": [{
            "@odata.type": "#microsoft.graph.importedDeviceIdentity",
            "id": "9f70a12f-a12f-9f70-2fa1-709f2fa1709f",
            "importedDeviceIdentifier": "Imported Device Identifier value",
            "importedDeviceIdentityType": "imei",
            "lastModifiedDateTime": "2017-01-01T00:00:35.1329464-08:00",
            "createdDateTime": "2017-01-01T00:02:43.5775965-08:00",
            "lastContactedDateTime": "2016-12-31T23:58:44.2908994-08:00",
            "description": "Description value",
            "enrollmentState": "enrolled",
            "platform": "ios"
          }],
          "overwriteImportedDeviceIdentities": true
        }"##;
        let request: ImportRequest = serde_json::from_str(sample).unwrap();
        assert!(request.overwrite_imported_device_identities);
        let item = &request.imported_device_identities[0];
        assert_eq!(item.imported_device_identifier, "Imported Device Identifier value");
        assert_eq!(item.imported_device_identity_type, "imei");
        assert_eq!(item.description.as_deref(), Some("Description value"));
        assert_eq!(item.platform.as_deref(), Some("ios"));
    }

    #[test]
    fn search_request_shape_and_documented_sample() {
        let body =
            serde_json::to_value(SearchRequest::new(&[device("0123456789", Some("ignored"))])).unwrap();
        assert_eq!(
            body,
            json!({ "importedDeviceIdentities": [{
                "importedDeviceIdentifier": "Microsoft Corporation,Surface Laptop 5,0123456789",
                "importedDeviceIdentityType": "manufacturerModelSerial"
            }]})
        );
        // Mirrors graph-samples/importedDeviceIdentities/searchExistingIdentities.beta.request.json.
        let sample = r##"{"importedDeviceIdentities": [{
            "@odata.type": "#microsoft.graph.importedDeviceIdentity",
            "id": "9f70a12f-a12f-9f70-2fa1-709f2fa1709f",
            "importedDeviceIdentifier": "Imported Device Identifier value",
            "importedDeviceIdentityType": "imei",
            "description": "Description value",
            "enrollmentState": "enrolled",
            "platform": "ios"
        }]}"##;
        let request: SearchRequest = serde_json::from_str(sample).unwrap();
        assert_eq!(request.imported_device_identities[0].imported_device_identity_type, "imei");
    }

    /// Mirrors graph-samples/importedDeviceIdentities/list.beta.response.json and
    /// searchExistingIdentities.beta.response.json (identical bodies).
    const LIST_SAMPLE: &str = r##"{
      "value": [{
        "@odata.type": "#microsoft.graph.importedDeviceIdentity",
        "id": "9f70a12f-a12f-9f70-2fa1-709f2fa1709f",
        "importedDeviceIdentifier": "Imported Device Identifier value",
        "importedDeviceIdentityType": "imei",
        "lastModifiedDateTime": "2017-01-01T00:00:35.1329464-08:00",
        "createdDateTime": "2017-01-01T00:02:43.5775965-08:00",
        "lastContactedDateTime": "2016-12-31T23:58:44.2908994-08:00",
        "description": "Description value",
        "enrollmentState": "enrolled",
        "platform": "ios"
      }]
    }"##;

    #[test]
    fn documented_list_and_search_responses_parse() {
        let page: IdentityPage = serde_json::from_str(LIST_SAMPLE).unwrap();
        assert_eq!(page.next_link, None);
        let row = &page.value[0];
        assert_eq!(row.id.as_deref(), Some("9f70a12f-a12f-9f70-2fa1-709f2fa1709f"));
        assert_eq!(row.enrollment_state.as_deref(), Some("enrolled"));
        assert_eq!(row.last_contacted_date_time.as_deref(), Some("2016-12-31T23:58:44.2908994-08:00"));
        // An IMEI row is not a Windows corporate identifier: never diffed, never deleted.
        assert!(!row.is_windows_identifier());
        assert!(page.windows_rows().is_empty());
    }

    #[test]
    fn windows_rows_and_paging() {
        let page: IdentityPage = serde_json::from_value(json!({
            "@odata.nextLink": "https://graph.microsoft.com/beta/deviceManagement/importedDeviceIdentities?$skiptoken=x",
            "value": [
                { "id": "a", "importedDeviceIdentifier": "Lenovo,T14,1", "importedDeviceIdentityType": "manufacturerModelSerial" },
                { "id": "b", "importedDeviceIdentifier": "123456789012345", "importedDeviceIdentityType": "imei" },
                { "id": "", "importedDeviceIdentifier": "Lenovo,T14,2", "importedDeviceIdentityType": "manufacturerModelSerial" },
                { "id": "c", "importedDeviceIdentifier": "HP,X,3", "importedDeviceIdentityType": "manufacturerModelSerial",
                  "description": "d", "enrollmentState": "someFutureState", "platform": "unknownFutureValue" }
            ]
        }))
        .unwrap();
        assert!(page.next_link.as_deref().is_some_and(|l| l.contains("skiptoken")));
        assert_eq!(
            page.windows_rows(),
            [
                ExistingIdentity { id: "a".into(), identifier: "Lenovo,T14,1".into(), description: None },
                ExistingIdentity {
                    id: "c".into(),
                    identifier: "HP,X,3".into(),
                    description: Some("d".into())
                },
            ]
        );
    }

    #[test]
    fn documented_import_response_parses() {
        // Mirrors graph-samples/importedDeviceIdentities/importDeviceIdentityList.beta.response.json.
        let sample = r##"{
          "value": [{
            "@odata.type": "#microsoft.graph.importedDeviceIdentityResult",
            "id": "9dfd3690-3690-9dfd-9036-fd9d9036fd9d",
            "importedDeviceIdentifier": "Imported Device Identifier value",
            "importedDeviceIdentityType": "imei",
            "lastModifiedDateTime": "2017-01-01T00:00:35.1329464-08:00",
            "createdDateTime": "2017-01-01T00:02:43.5775965-08:00",
            "lastContactedDateTime": "2016-12-31T23:58:44.2908994-08:00",
            "description": "Description value",
            "enrollmentState": "enrolled",
            "platform": "ios",
            "status": true
          }]
        }"##;
        let response: ImportResponse = serde_json::from_str(sample).unwrap();
        let row = &response.value[0];
        assert_eq!(row.status, Some(true));
        assert_eq!(row.identity.id.as_deref(), Some("9dfd3690-3690-9dfd-9036-fd9d9036fd9d"));
        assert_eq!(
            row.identity.imported_device_identifier.as_deref(),
            Some("Imported Device Identifier value")
        );
        assert_eq!(row.identity.platform.as_deref(), Some("ios"));
    }

    #[test]
    fn check_import_classifies_every_requested_row() {
        let requested = [
            device("OK1", None),
            device("BAD", None),
            device("GONE", None),
            device("NOID", None),
            device("nostatus", None),
            device("nostatus-noid", None),
        ];
        let response: ImportResponse = serde_json::from_value(json!({ "value": [
            { "id": "id-ok", "importedDeviceIdentifier": "MICROSOFT CORPORATION,SURFACE LAPTOP 5,ok1", "status": true },
            { "id": "id-bad", "importedDeviceIdentifier": "Microsoft Corporation,Surface Laptop 5,BAD", "status": false },
            { "importedDeviceIdentifier": "Microsoft Corporation,Surface Laptop 5,NOID", "status": true },
            { "id": "id-ns", "importedDeviceIdentifier": "Microsoft Corporation,Surface Laptop 5,nostatus" },
            { "importedDeviceIdentifier": "Microsoft Corporation,Surface Laptop 5,nostatus-noid" },
            { "id": "id-extra", "importedDeviceIdentifier": "Someone,Else,1", "status": true }
        ]}))
        .unwrap();
        let outcome = check_import(&requested, &response);
        assert_eq!(
            outcome.imported,
            [
                ImportedRow { id: "id-ok".into(), device: device("OK1", None) },
                ImportedRow { id: "id-ns".into(), device: device("nostatus", None) },
            ]
        );
        let id = |s: &str| format!("Microsoft Corporation,Surface Laptop 5,{s}");
        assert_eq!(
            outcome.failures,
            [
                RowFailure::Rejected { identifier: id("BAD") },
                RowFailure::NoResult { identifier: id("GONE") },
                RowFailure::NoId { identifier: id("NOID") },
                RowFailure::Rejected { identifier: id("nostatus-noid") },
            ]
        );
        for failure in &outcome.failures {
            let message = failure.to_string();
            assert!(message.contains(failure.identifier()), "{message}");
        }
    }

    #[test]
    fn empty_import_answer_fails_every_row() {
        let outcome = check_import(&[device("A", None)], &ImportResponse::default());
        assert!(outcome.imported.is_empty());
        assert!(matches!(outcome.failures.as_slice(), [RowFailure::NoResult { .. }]));
    }
}
