//! Built-in tenant contents (stable ids) and loading of extra fixtures.
//!
//! Fixture format (also `--fixtures FILE` and the `/_emulator/objects` API): a JSON object
//! mapping collection names to arrays of objects. Each object needs a string `id`;
//! relationship keys ([`link_keys`], e.g. `owners`/`members` of groups) hold arrays of ids and
//! are stored as relationships rather than properties.

use serde_json::{Map, Value, json};

use super::routes::configuration_policies::CONFIGURATION_POLICIES;
use super::routes::device_registration::{
    DEVICE_REGISTRATION_POLICY, fixture as device_registration_fixture,
};
use super::routes::directory::{DELETED_ITEMS, GROUPS, KNOWN_APPLICATIONS, SERVICE_PRINCIPALS, USERS};
use super::store::{Record, Store};

/// appId of "Intune Provisioning Client" (owner of DPP device groups).
pub const INTUNE_PROVISIONING_CLIENT_APP_ID: &str = "f1346770-5b25-470b-88bd-d5744ab7952c";
/// Object id of its service principal in the emulated tenant.
pub const INTUNE_PROVISIONING_CLIENT_SP_ID: &str = "a1e5b8f0-1d2c-4c3b-9a4e-000000000001";
/// Fixture users: (id, userPrincipalName, displayName).
pub const USERS_FIXTURE: &[(&str, &str, &str)] = &[
    ("b2000000-0000-4000-8000-000000000001", "admin@contoso.onmicrosoft.com", "MOD Administrator"),
    ("b2000000-0000-4000-8000-000000000002", "MeganB@contoso.onmicrosoft.com", "Megan Bowen"),
    ("b2000000-0000-4000-8000-000000000003", "DiegoS@contoso.onmicrosoft.com", "Diego Siciliani"),
    ("b2000000-0000-4000-8000-000000000004", "AdeleV@contoso.onmicrosoft.com", "Adele Vance"),
];
/// Intune mobile apps collection and fixture ids.
pub const MOBILE_APPS: &str = "mobileApps";
pub const WIN32_APP_ID: &str = "c3000000-0000-4000-8000-000000000001";
pub const WINGET_APP_ID: &str = "c3000000-0000-4000-8000-000000000002";
pub const WIN32_APP_2_ID: &str = "c3000000-0000-4000-8000-000000000003";
/// PowerShell platform scripts collection and fixture ids.
pub const DEVICE_MANAGEMENT_SCRIPTS: &str = "deviceManagementScripts";
pub const SCRIPT_IDS: &[&str] =
    &["d4000000-0000-4000-8000-000000000001", "d4000000-0000-4000-8000-000000000002"];

/// Collections `GET /_emulator/objects` always shows (empty if nothing is stored). Later
/// families add theirs.
pub const ALWAYS_LISTED: &[&str] = &[
    GROUPS,
    USERS,
    SERVICE_PRINCIPALS,
    KNOWN_APPLICATIONS,
    MOBILE_APPS,
    DEVICE_MANAGEMENT_SCRIPTS,
    DEVICE_REGISTRATION_POLICY,
    DELETED_ITEMS,
    CONFIGURATION_POLICIES,
    super::routes::imported_identities::IMPORTED_DEVICE_IDENTITIES,
];

/// Keys that are relationships (id lists) in a collection's objects. Later families add theirs.
pub fn link_keys(collection: &str) -> &'static [&'static str] {
    match collection {
        GROUPS | DELETED_ITEMS => &["owners", "members"],
        _ => &[],
    }
}

/// Splits a fixture/control object into a record (relationship keys become links).
pub fn record_from_json(collection: &str, mut object: Map<String, Value>) -> Result<Record, String> {
    let mut record = Record::default();
    for key in link_keys(collection) {
        if let Some(v) = object.remove(*key) {
            let ids = v
                .as_array()
                .and_then(|a| {
                    a.iter().map(|i| i.as_str().map(str::to_ascii_lowercase)).collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| format!("'{key}' of a {collection} object must be an array of ids"))?;
            record.links.insert((*key).to_owned(), ids);
        }
    }
    if object.get("id").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(format!("every {collection} object needs a string 'id'"));
    }
    record.data = object;
    Ok(record)
}

/// A record as the control API shows it: properties plus relationship id lists.
pub fn record_to_json(record: &Record) -> Value {
    let mut out = record.data.clone();
    for (k, ids) in &record.links {
        out.insert(k.clone(), json!(ids));
    }
    Value::Object(out)
}

/// Loads the built-in fixtures, then `extra` (same format; objects with an existing id replace it).
pub fn load(store: &mut Store, extra: Option<&Value>) -> Result<(), String> {
    load_value(store, &builtin())?;
    if let Some(extra) = extra {
        load_value(store, extra)?;
    }
    Ok(())
}

fn load_value(store: &mut Store, value: &Value) -> Result<(), String> {
    let collections = value.as_object().ok_or("fixtures must be a JSON object of collections")?;
    for (collection, objects) in collections {
        let objects = objects
            .as_array()
            .ok_or_else(|| format!("fixture collection '{collection}' must be an array"))?;
        for object in objects {
            let object = object
                .as_object()
                .cloned()
                .ok_or_else(|| format!("'{collection}' entries must be objects"))?;
            let record = record_from_json(collection, object)?;
            let id = record.id().to_owned();
            store.write_settled(collection, &id, Some(record));
        }
    }
    Ok(())
}

fn builtin() -> Value {
    let mut sp = super::routes::directory::new_service_principal(
        INTUNE_PROVISIONING_CLIENT_APP_ID,
        "Intune Provisioning Client",
        "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
    );
    sp.insert("id".into(), json!(INTUNE_PROVISIONING_CLIENT_SP_ID));
    sp.insert("createdDateTime".into(), json!("2024-05-01T10:00:00Z"));
    let users: Vec<Value> = USERS_FIXTURE
        .iter()
        .map(|(id, upn, name)| {
            let (given, surname) = name.split_once(' ').unwrap_or((name, ""));
            json!({
                "id": id, "businessPhones": [], "displayName": name, "givenName": given, "surname": surname,
                "jobTitle": null, "mail": upn, "mobilePhone": null, "officeLocation": null,
                "preferredLanguage": "en-US", "userPrincipalName": upn, "accountEnabled": true,
                "userType": "Member", "createdDateTime": "2024-05-01T10:00:00Z", "deletedDateTime": null
            })
        })
        .collect();
    json!({
        KNOWN_APPLICATIONS: [
            {"id": "e5000000-0000-4000-8000-000000000001", "appId": INTUNE_PROVISIONING_CLIENT_APP_ID,
             "displayName": "Intune Provisioning Client", "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a"},
            {"id": "e5000000-0000-4000-8000-000000000002", "appId": "0000000a-0000-0000-c000-000000000000",
             "displayName": "Microsoft Intune", "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a"}
        ],
        SERVICE_PRINCIPALS: [Value::Object(sp)],
        DEVICE_REGISTRATION_POLICY: [device_registration_fixture()],
        USERS: users,
        MOBILE_APPS: [
            win32_app(WIN32_APP_ID, "7-Zip 24.08 (x64)", "7z2408-x64.msi"),
            win32_app(WIN32_APP_2_ID, "Company Portal Bootstrapper", "bootstrap.intunewin"),
            {
                "@odata.type": "#microsoft.graph.winGetApp", "id": WINGET_APP_ID,
                "displayName": "Microsoft Visual Studio Code", "description": "Code editing. Redefined.",
                "publisher": "Microsoft Corporation", "largeIcon": null,
                "createdDateTime": "2024-05-02T09:00:00Z", "lastModifiedDateTime": "2024-05-02T09:00:00Z",
                "isFeatured": false, "privacyInformationUrl": null, "informationUrl": null, "owner": "",
                "developer": "", "notes": "", "uploadState": 1, "publishingState": "published", "isAssigned": false,
                "roleScopeTagIds": ["0"], "dependentAppCount": 0, "supersedingAppCount": 0, "supersededAppCount": 0,
                "manifestHash": "", "packageIdentifier": "XP9KHM4BK9FZ7Q",
                "installExperience": {"@odata.type": "microsoft.graph.winGetAppInstallExperience", "runAsAccount": "system"}
            }
        ],
        DEVICE_MANAGEMENT_SCRIPTS: [
            script(SCRIPT_IDS[0], "Set time zone", "Set-TimeZone.ps1", "Set-TimeZone -Id 'W. Europe Standard Time'"),
            script(SCRIPT_IDS[1], "Rename computer", "Rename-Computer.ps1", "Write-Output 'rename'")
        ]
    })
}

fn win32_app(id: &str, name: &str, file: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.win32LobApp", "id": id, "displayName": name, "description": name,
        "publisher": "Contoso", "largeIcon": null, "createdDateTime": "2024-05-02T09:00:00Z",
        "lastModifiedDateTime": "2024-05-02T09:00:00Z", "isFeatured": false, "privacyInformationUrl": null,
        "informationUrl": null, "owner": "", "developer": "", "notes": "", "uploadState": 1,
        "publishingState": "published", "isAssigned": false, "roleScopeTagIds": ["0"], "dependentAppCount": 0,
        "supersedingAppCount": 0, "supersededAppCount": 0, "committedContentVersion": "1", "fileName": file,
        "size": 4096, "installCommandLine": format!("msiexec /i \"{file}\" /qn"),
        "uninstallCommandLine": "msiexec /x {00000000-0000-0000-0000-000000000000} /qn",
        "applicableArchitectures": "x64", "minimumFreeDiskSpaceInMB": null, "minimumMemoryInMB": null,
        "minimumNumberOfProcessors": null, "minimumCpuSpeedInMHz": null, "rules": [],
        "installExperience": {"@odata.type": "microsoft.graph.win32LobAppInstallExperience",
            "runAsAccount": "system", "maxRunTimeInMinutes": 60, "deviceRestartBehavior": "basedOnReturnCode"},
        "returnCodes": [], "msiInformation": null, "setupFilePath": file,
        "minimumSupportedWindowsRelease": "1607", "displayVersion": "1.0", "allowAvailableUninstall": false
    })
}

fn script(id: &str, name: &str, file: &str, content: &str) -> Value {
    use base64::Engine;
    json!({
        "@odata.type": "#microsoft.graph.deviceManagementScript", "id": id, "displayName": name,
        "description": name, "scriptContent": base64::engine::general_purpose::STANDARD.encode(content),
        "createdDateTime": "2024-05-03T08:00:00Z", "lastModifiedDateTime": "2024-05-03T08:00:00Z",
        "runAsAccount": "system", "enforceSignatureCheck": false, "fileName": file, "runAs32Bit": false,
        "roleScopeTagIds": ["0"]
    })
}
