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
}
