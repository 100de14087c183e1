//! Which Intune app types a device preparation policy may list as allowed apps, and the `type`
//! each is written with inside the `enrollment_autopilot_dpp_allowedappids` value.
//!
//! Supported (MEM `autopilot/device-preparation/tutorial/user-driven/entra-join-autopilot-policy.md`
//! and the automatic tutorial: "Line-of-business (LOB), Win32, Microsoft Store — only Microsoft Store
//! apps that support WinGet, Microsoft 365"; MEM whats-new 2025-06-26: Enterprise App Catalog apps
//! since Intune 2506):
//!
//! | `@odata.type` of the mobile app | kind |
//! |---|---|
//! | `#microsoft.graph.win32LobApp` | Win32 (`.intunewin`) |
//! | `#microsoft.graph.win32CatalogApp` | Enterprise App Catalog (Win32) |
//! | `#microsoft.graph.winGetApp` | Microsoft Store app (new), WinGet based |
//! | `#microsoft.graph.officeSuiteApp` | Microsoft 365 Apps |
//! | `#microsoft.graph.windowsMobileMSI` | LOB `.msi` |
//! | `#microsoft.graph.windowsAppX` | LOB `.appx`/`.msix` |
//! | `#microsoft.graph.windowsUniversalAppX` | LOB universal `.appx`/`.msix` |
//!
//! The written `type` is the app's own `@odata.type` with its leading `#` (PORTAL captures:
//! `#microsoft.graph.win32LobApp`, `#microsoft.graph.winGetApp`; Microsoft365DSC writes the app's
//! `@odata.type` verbatim and mocks `#microsoft.graph.officeSuiteApp`). The LOB rows and
//! `win32CatalogApp` are documented as supported but no capture shows their `type` string: medium.
//!
//! Refused, with the reason shown to the user: Microsoft Edge (`windowsMicrosoftEdgeApp`: not in
//! Microsoft's list, although a third-party provider accepts it), legacy Store links
//! (`windowsStoreApp`, `microsoftStoreForBusinessApp`: "only Microsoft Store apps that support
//! WinGet"), web links (`windowsWebApp`, `webApp`), and every non-Windows type.

use serde_json::Value;
use thiserror::Error;

/// A mobile app type device preparation can install during OOBE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppType {
    Win32Lob,
    Win32Catalog,
    WinGet,
    OfficeSuite,
    WindowsMobileMsi,
    WindowsAppX,
    WindowsUniversalAppX,
}

/// Why an app cannot be an allowed app.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AppTypeError {
    #[error("app type `{odata_type}` cannot be installed by Windows Autopilot device preparation: {reason}")]
    Refused { odata_type: String, reason: &'static str },
    #[error(
        "app type `{odata_type}` is not one Windows Autopilot device preparation supports (Win32, \
         Enterprise App Catalog, Microsoft Store (WinGet), Microsoft 365 Apps, or MSI/AppX/MSIX line-of-business)"
    )]
    Unknown { odata_type: String },
}

const ALL: [AppType; 7] = [
    AppType::Win32Lob,
    AppType::Win32Catalog,
    AppType::WinGet,
    AppType::OfficeSuite,
    AppType::WindowsMobileMsi,
    AppType::WindowsAppX,
    AppType::WindowsUniversalAppX,
];

const REFUSED: &[(&str, &str)] = &[
    (
        "windowsMicrosoftEdgeApp",
        "Microsoft Edge is not among the supported app types; deploy Edge as a Win32 or WinGet app",
    ),
    ("windowsStoreApp", "only Microsoft Store apps that support WinGet (winGetApp) are supported"),
    (
        "microsoftStoreForBusinessApp",
        "only Microsoft Store apps that support WinGet (winGetApp) are supported",
    ),
    ("windowsWebApp", "web links are not installed during device preparation"),
    ("webApp", "web links are not installed during device preparation"),
];

impl AppType {
    /// Every supported type.
    pub fn all() -> &'static [AppType] {
        &ALL
    }

    /// The type name without namespace, e.g. `win32LobApp`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Win32Lob => "win32LobApp",
            Self::Win32Catalog => "win32CatalogApp",
            Self::WinGet => "winGetApp",
            Self::OfficeSuite => "officeSuiteApp",
            Self::WindowsMobileMsi => "windowsMobileMSI",
            Self::WindowsAppX => "windowsAppX",
            Self::WindowsUniversalAppX => "windowsUniversalAppX",
        }
    }

    /// The `type` written in the allowed-app value, e.g. `#microsoft.graph.win32LobApp`.
    pub fn setting_type(self) -> String {
        format!("#microsoft.graph.{}", self.name())
    }

    /// The app type of a mobile app's `@odata.type`. Accepts `#microsoft.graph.x`,
    /// `microsoft.graph.x` (nested Intune examples drop the `#`) and the bare name.
    pub fn from_odata_type(odata_type: &str) -> Result<AppType, AppTypeError> {
        let name = odata_type.trim_start_matches('#');
        let name = name.strip_prefix("microsoft.graph.").unwrap_or(name);
        if let Some(t) = ALL.iter().find(|t| t.name() == name) {
            return Ok(*t);
        }
        if let Some((_, reason)) = REFUSED.iter().find(|(n, _)| *n == name) {
            return Err(AppTypeError::Refused { odata_type: odata_type.to_owned(), reason });
        }
        Err(AppTypeError::Unknown { odata_type: odata_type.to_owned() })
    }
}

/// Why a mobile app object cannot give an allowed-app entry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MobileAppError {
    #[error("the mobile app response is malformed: {0}")]
    Malformed(&'static str),
    #[error("allowed app `{app_id}`: {error}")]
    Type { app_id: String, error: AppTypeError },
}

/// The id and type of a mobile app read with `GET /beta/deviceAppManagement/mobileApps/{id}?$select=id`
/// (Graph returns `@odata.type` for the derived app types even with `$select`; Microsoft365DSC
/// relies on this) or taken from a list page item. Accepts the `{"value": {…}}` wrapper of the
/// generated doc examples.
pub fn from_mobile_app(app: &Value) -> Result<(String, AppType), MobileAppError> {
    let app = match app.get("value") {
        Some(inner @ Value::Object(_)) => inner,
        _ => app,
    };
    let id = app.get("id").and_then(Value::as_str).ok_or(MobileAppError::Malformed("no `id`"))?;
    let odata_type = app
        .get("@odata.type")
        .and_then(Value::as_str)
        .ok_or(MobileAppError::Malformed("no `@odata.type`"))?;
    let app_type = AppType::from_odata_type(odata_type)
        .map_err(|error| MobileAppError::Type { app_id: id.to_owned(), error })?;
    Ok((id.to_owned(), app_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_types_round_trip_through_their_setting_type() {
        for t in AppType::all() {
            assert_eq!(AppType::from_odata_type(&t.setting_type()).unwrap(), *t);
            assert_eq!(AppType::from_odata_type(&format!("microsoft.graph.{}", t.name())).unwrap(), *t);
            assert_eq!(AppType::from_odata_type(t.name()).unwrap(), *t);
        }
    }

    #[test]
    fn captured_type_strings_are_the_ones_we_write() {
        // PORTAL captures (dpp_create_user_driven.dt.beta.request.json) and the DSC mock.
        assert_eq!(AppType::Win32Lob.setting_type(), "#microsoft.graph.win32LobApp");
        assert_eq!(AppType::WinGet.setting_type(), "#microsoft.graph.winGetApp");
        assert_eq!(AppType::OfficeSuite.setting_type(), "#microsoft.graph.officeSuiteApp");
    }

    #[test]
    fn refused_and_unknown_types_are_distinguished() {
        let edge = AppType::from_odata_type("#microsoft.graph.windowsMicrosoftEdgeApp").unwrap_err();
        assert!(matches!(edge, AppTypeError::Refused { .. }));
        assert!(edge.to_string().contains("windowsMicrosoftEdgeApp"));
        assert!(matches!(
            AppType::from_odata_type("#microsoft.graph.iosLobApp"),
            Err(AppTypeError::Unknown { .. })
        ));
    }

    #[test]
    fn mobile_app_samples_give_id_and_type() {
        // mobileAppAssignments/list_mobileApps_types.dt.beta.response.json (DT fixture).
        let list: Value =
            serde_json::from_str(include_str!("testdata/list_mobileApps_types.dt.beta.response.json"))
                .unwrap();
        let apps: Vec<_> =
            list["value"].as_array().unwrap().iter().map(|a| from_mobile_app(a).unwrap()).collect();
        assert_eq!(
            apps.iter().map(|(_, t)| *t).collect::<Vec<_>>(),
            [AppType::WinGet, AppType::Win32Lob, AppType::OfficeSuite]
        );
        assert_eq!(apps[2].0, "00000000-0000-0000-0000-000000000003");
        // mobileAppAssignments/get_winGetApp.beta.response.json (doc example, `value` wrapper).
        let get: Value =
            serde_json::from_str(include_str!("testdata/get_winGetApp.beta.response.json")).unwrap();
        assert_eq!(
            from_mobile_app(&get).unwrap(),
            ("22032c2e-2c2e-2203-2e2c-03222e2c0322".into(), AppType::WinGet)
        );
    }

    #[test]
    fn refused_mobile_app_names_the_app() {
        let edge =
            serde_json::json!({ "id": "e1", "@odata.type": "#microsoft.graph.windowsMicrosoftEdgeApp" });
        let err = from_mobile_app(&edge).unwrap_err();
        assert!(
            matches!(&err, MobileAppError::Type { app_id, error: AppTypeError::Refused { .. } } if app_id == "e1")
        );
        assert!(err.to_string().contains("e1"));
        assert_eq!(
            from_mobile_app(&serde_json::json!({ "id": "x" })),
            Err(MobileAppError::Malformed("no `@odata.type`"))
        );
    }
}
