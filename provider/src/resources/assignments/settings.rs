//! Typed assignment settings for the two app families device preparation installs with their own
//! install behaviour: Win32 (`win32LobApp`, and the Enterprise App Catalog `win32CatalogApp`,
//! which derives from it) and WinGet / Microsoft Store (new) (`winGetApp`).
//!
//! Graph shapes (beta `beta-complex-types.json`, v1.0 CSDL):
//!
//! | Graph type | properties |
//! |---|---|
//! | `win32LobAppAssignmentSettings` (v1.0 + beta) | `notifications` (`showAll`\|`showReboot`\|`hideAll`, not nullable), `deliveryOptimizationPriority` (`notConfigured`\|`foreground`, not nullable), `installTimeSettings`, `restartSettings`, `autoUpdateSettings` |
//! | `win32CatalogAppAssignmentSettings` (beta) | derives from the above, no own properties (Kiota models) |
//! | `mobileAppInstallTimeSettings` | `useLocalTime` (not nullable), `startDateTime`, `deadlineDateTime` |
//! | `win32LobAppRestartSettings` | `gracePeriodInMinutes`, `countdownDisplayBeforeRestartInMinutes` (not nullable), `restartNotificationSnoozeDurationInMinutes` (nullable) |
//! | `winGetAppAssignmentSettings` (beta only) | `notifications` (+`unknownFutureValue`), `installTimeSettings`, `restartSettings` |
//! | `winGetAppInstallTimeSettings` | `useLocalTime`, `deadlineDateTime` |
//! | `winGetAppRestartSettings` | the same three integers |
//!
//! Not managed: `autoUpdateSettings` (supersedence auto-update). A PATCH of our settings replaces
//! the whole settings object, so a value set in the portal is reset — the resource owns its
//! assignment entirely.
//!
//! Minute ranges: Graph documents the three restart integers only as Int32 and Microsoft
//! documents no limits, so only "at least 1 minute" is enforced here.
//!
//! Times: `…DateTime` are `DateTimeOffset`; configuration takes RFC 3339 text, and read-back is
//! compared by instant (the service may return another offset or precision), so it never
//! causes a diff by formatting alone.

use serde_json::{Map, Value, json};
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::target::bare_odata_type;
use super::validate::Finding;
use super::wire::Intent;

/// `@odata.type` of Win32 assignment settings.
pub const WIN32_SETTINGS: &str = "#microsoft.graph.win32LobAppAssignmentSettings";
/// `@odata.type` of Enterprise App Catalog (Win32 catalog) assignment settings.
pub const WIN32_CATALOG_SETTINGS: &str = "#microsoft.graph.win32CatalogAppAssignmentSettings";
/// `@odata.type` of WinGet assignment settings.
pub const WINGET_SETTINGS: &str = "#microsoft.graph.winGetAppAssignmentSettings";
const INSTALL_TIME: &str = "#microsoft.graph.mobileAppInstallTimeSettings";
const WIN32_RESTART: &str = "#microsoft.graph.win32LobAppRestartSettings";
const WINGET_INSTALL_TIME: &str = "#microsoft.graph.winGetAppInstallTimeSettings";
const WINGET_RESTART: &str = "#microsoft.graph.winGetAppRestartSettings";

/// App `@odata.type`s (with `#`).
pub const WIN32_LOB_APP: &str = "#microsoft.graph.win32LobApp";
pub const WIN32_CATALOG_APP: &str = "#microsoft.graph.win32CatalogApp";
pub const WINGET_APP: &str = "#microsoft.graph.winGetApp";

/// Which end-user notifications the install shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Notifications {
    #[default]
    ShowAll,
    ShowReboot,
    HideAll,
}

impl Notifications {
    pub const NAMES: [&'static str; 3] = ["show_all", "show_reboot", "hide_all"];
    const ALL: [Notifications; 3] =
        [Notifications::ShowAll, Notifications::ShowReboot, Notifications::HideAll];

    pub fn name(self) -> &'static str {
        match self {
            Notifications::ShowAll => "show_all",
            Notifications::ShowReboot => "show_reboot",
            Notifications::HideAll => "hide_all",
        }
    }

    pub fn graph(self) -> &'static str {
        match self {
            Notifications::ShowAll => "showAll",
            Notifications::ShowReboot => "showReboot",
            Notifications::HideAll => "hideAll",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.name() == name)
    }

    pub fn from_graph(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.graph() == value)
    }
}

/// Delivery Optimization priority of the content download (Win32 only; not in national clouds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DeliveryOptimizationPriority {
    #[default]
    NotConfigured,
    Foreground,
}

impl DeliveryOptimizationPriority {
    pub const NAMES: [&'static str; 2] = ["not_configured", "foreground"];

    pub fn name(self) -> &'static str {
        match self {
            DeliveryOptimizationPriority::NotConfigured => "not_configured",
            DeliveryOptimizationPriority::Foreground => "foreground",
        }
    }

    pub fn graph(self) -> &'static str {
        match self {
            DeliveryOptimizationPriority::NotConfigured => "notConfigured",
            DeliveryOptimizationPriority::Foreground => "foreground",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "not_configured" => Some(Self::NotConfigured),
            "foreground" => Some(Self::Foreground),
            _ => None,
        }
    }

    pub fn from_graph(value: &str) -> Option<Self> {
        match value {
            "notConfigured" => Some(Self::NotConfigured),
            "foreground" => Some(Self::Foreground),
            _ => None,
        }
    }
}

/// Win32 availability / deadline window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct InstallTimeWindow {
    /// Interpret the times in the device's local time zone instead of UTC.
    pub use_local_time: bool,
    /// When the app becomes available (RFC 3339), `None` = as soon as possible.
    pub start: Option<String>,
    /// Installation deadline (RFC 3339), `None` = as soon as possible.
    pub deadline: Option<String>,
}

/// WinGet installation deadline (WinGet has no availability start).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct WinGetInstallTime {
    pub use_local_time: bool,
    pub deadline: Option<String>,
}

/// Restart grace behaviour after an install that needs a restart.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RestartGrace {
    /// Minutes after the install before the device restarts.
    pub grace_period_minutes: i32,
    /// Minutes before the restart at which the countdown dialog appears.
    pub countdown_minutes: i32,
    /// Minutes one snooze lasts; `None` = the user cannot snooze.
    pub snooze_minutes: Option<i32>,
}

/// `win32_settings`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Win32Settings {
    pub notifications: Notifications,
    pub delivery_optimization_priority: DeliveryOptimizationPriority,
    pub install_time: Option<InstallTimeWindow>,
    pub restart: Option<RestartGrace>,
}

/// `winget_settings`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct WinGetSettings {
    pub notifications: Notifications,
    pub install_time: Option<WinGetInstallTime>,
    pub restart: Option<RestartGrace>,
}

/// Settings this provider manages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AppSettings {
    Win32(Win32Settings),
    WinGet(WinGetSettings),
}

/// Settings as read from Graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphSettings {
    /// `null`, absent, or the abstract base type without properties.
    None,
    /// Win32 settings; `catalog` when typed `win32CatalogAppAssignmentSettings`.
    Win32 {
        settings: Win32Settings,
        catalog: bool,
    },
    WinGet(WinGetSettings),
    /// Another settings type (AppX `useDeviceContext`, …), by bare `@odata.type`.
    Other(String),
}

/// Why settings do not fit the app, or cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettingsError {
    #[error("{attribute} applies to {family} ({expected}); app {app_id} is {actual}")]
    WrongAppType {
        attribute: &'static str,
        family: &'static str,
        expected: String,
        app_id: String,
        actual: String,
    },
    #[error("assignment settings: {0}")]
    Malformed(String),
}

impl AppSettings {
    /// The configuration attribute these settings come from.
    pub fn attribute(&self) -> &'static str {
        match self {
            AppSettings::Win32(_) => "win32_settings",
            AppSettings::WinGet(_) => "winget_settings",
        }
    }

    /// What Graph returns for an assignment written without settings, for the app type:
    /// Win32 and WinGet assignments always carry settings (the portal sends them; `notifications`
    /// and `deliveryOptimizationPriority` are not nullable), so we write the defaults explicitly
    /// and treat defaults read back as "not configured". Other app types: no settings.
    pub fn default_for_app(app_odata_type: &str) -> Option<AppSettings> {
        match bare_odata_type(app_odata_type) {
            t if t == bare_odata_type(WIN32_LOB_APP) || t == bare_odata_type(WIN32_CATALOG_APP) => {
                Some(AppSettings::Win32(Win32Settings::default()))
            }
            t if t == bare_odata_type(WINGET_APP) => Some(AppSettings::WinGet(WinGetSettings::default())),
            _ => None,
        }
    }

    /// Graph JSON for an app of `app_odata_type`, after [`app_type_allows`].
    pub fn to_graph(&self, app_id: &str, app_odata_type: &str) -> Result<Value, SettingsError> {
        let flavour = app_type_allows(self, app_id, app_odata_type)?;
        Ok(match self {
            AppSettings::Win32(s) => s.to_graph(flavour == SettingsFlavour::Win32Catalog),
            AppSettings::WinGet(s) => s.to_graph(),
        })
    }

    /// Whether two settings mean the same (times compared by instant).
    pub fn equivalent(&self, other: &AppSettings) -> bool {
        match (self, other) {
            (AppSettings::Win32(a), AppSettings::Win32(b)) => {
                a.notifications == b.notifications
                    && a.delivery_optimization_priority == b.delivery_optimization_priority
                    && a.restart == b.restart
                    && match (&a.install_time, &b.install_time) {
                        (None, None) => true,
                        (Some(x), Some(y)) => {
                            x.use_local_time == y.use_local_time
                                && same_instant(x.start.as_deref(), y.start.as_deref())
                                && same_instant(x.deadline.as_deref(), y.deadline.as_deref())
                        }
                        _ => false,
                    }
            }
            (AppSettings::WinGet(a), AppSettings::WinGet(b)) => {
                a.notifications == b.notifications
                    && a.restart == b.restart
                    && match (&a.install_time, &b.install_time) {
                        (None, None) => true,
                        (Some(x), Some(y)) => {
                            x.use_local_time == y.use_local_time
                                && same_instant(x.deadline.as_deref(), y.deadline.as_deref())
                        }
                        _ => false,
                    }
            }
            _ => false,
        }
    }

    /// What goes into state after a read: the configured value when Graph holds the same
    /// thing (so formatting differences never show as drift), `None` when nothing is
    /// configured and Graph holds only defaults, otherwise what Graph holds.
    pub fn reconcile(configured: Option<&AppSettings>, read: &GraphSettings) -> Option<AppSettings> {
        let read = match read {
            GraphSettings::Win32 { settings, .. } => Some(AppSettings::Win32(settings.clone())),
            GraphSettings::WinGet(settings) => Some(AppSettings::WinGet(settings.clone())),
            GraphSettings::None | GraphSettings::Other(_) => None,
        };
        match (configured, read) {
            (Some(c), Some(r)) if c.equivalent(&r) => Some(c.clone()),
            (None, Some(r)) if r.is_default() => None,
            (_, r) => r,
        }
    }

    fn is_default(&self) -> bool {
        match self {
            AppSettings::Win32(s) => *s == Win32Settings::default(),
            AppSettings::WinGet(s) => *s == WinGetSettings::default(),
        }
    }

    /// Plan-time checks against the intent. Paths start at the settings attribute.
    pub fn validate(&self, intent: Option<Intent>) -> Vec<Finding> {
        let mut out = Vec::new();
        let attr = self.attribute();
        let (start, deadline, restart) = match self {
            AppSettings::Win32(s) => (
                s.install_time.as_ref().and_then(|t| t.start.as_deref()),
                s.install_time.as_ref().and_then(|t| t.deadline.as_deref()),
                s.restart.as_ref(),
            ),
            AppSettings::WinGet(s) => {
                (None, s.install_time.as_ref().and_then(|t| t.deadline.as_deref()), s.restart.as_ref())
            }
        };
        let start_at = check_time(&mut out, &format!("{attr}.install_time.start"), start);
        let deadline_at = check_time(&mut out, &format!("{attr}.install_time.deadline"), deadline);
        if let (Some(s), Some(d)) = (start_at, deadline_at)
            && d < s
        {
            out.push(Finding::error(
                format!("{attr}.install_time.deadline"),
                "must not be before install_time.start (the app must be available before it is due)",
            ));
        }
        // The admin center shows "Installation deadline" for required assignments only.
        if deadline.is_some() && intent.is_some_and(|i| i != Intent::Required) {
            out.push(Finding::error(
                format!("{attr}.install_time.deadline"),
                "an installation deadline applies only to intent \"required\"",
            ));
        }
        if start.is_some() && intent == Some(Intent::Uninstall) {
            out.push(Finding::warning(
                format!("{attr}.install_time.start"),
                "an availability time has no effect on an \"uninstall\" assignment",
            ));
        }
        if let Some(r) = restart {
            let p = format!("{attr}.restart");
            for (name, value) in [
                ("grace_period_minutes", Some(r.grace_period_minutes)),
                ("countdown_minutes", Some(r.countdown_minutes)),
                ("snooze_minutes", r.snooze_minutes),
            ] {
                if value.is_some_and(|v| v < 1) {
                    out.push(Finding::error(format!("{p}.{name}"), "must be at least 1 minute"));
                }
            }
            if r.countdown_minutes > r.grace_period_minutes {
                out.push(Finding::warning(
                    format!("{p}.countdown_minutes"),
                    "is longer than grace_period_minutes, so the countdown starts as soon as the install finishes",
                ));
            }
        }
        out
    }
}

/// Which settings `@odata.type` an allowed app gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingsFlavour {
    Win32,
    Win32Catalog,
    WinGet,
}

/// Whether `settings` fit an app of type `app_odata_type` (with or without `#`), and which
/// settings type to write. Catalog apps derive from Win32 apps, and so do their settings.
pub fn app_type_allows(
    settings: &AppSettings,
    app_id: &str,
    app_odata_type: &str,
) -> Result<SettingsFlavour, SettingsError> {
    let app = bare_odata_type(app_odata_type);
    let is = |t: &str| app == bare_odata_type(t);
    match settings {
        AppSettings::Win32(_) if is(WIN32_LOB_APP) => Ok(SettingsFlavour::Win32),
        AppSettings::Win32(_) if is(WIN32_CATALOG_APP) => Ok(SettingsFlavour::Win32Catalog),
        AppSettings::WinGet(_) if is(WINGET_APP) => Ok(SettingsFlavour::WinGet),
        AppSettings::Win32(_) => Err(SettingsError::WrongAppType {
            attribute: "win32_settings",
            family: "Win32 apps",
            expected: format!("{WIN32_LOB_APP} or {WIN32_CATALOG_APP}"),
            app_id: app_id.to_owned(),
            actual: format!("#{app}"),
        }),
        AppSettings::WinGet(_) => Err(SettingsError::WrongAppType {
            attribute: "winget_settings",
            family: "Microsoft Store (WinGet) apps",
            expected: WINGET_APP.to_owned(),
            app_id: app_id.to_owned(),
            actual: format!("#{app}"),
        }),
    }
}

impl Win32Settings {
    /// Graph JSON (`catalog`: typed for an Enterprise App Catalog app).
    pub fn to_graph(&self, catalog: bool) -> Value {
        json!({
            "@odata.type": if catalog { WIN32_CATALOG_SETTINGS } else { WIN32_SETTINGS },
            "notifications": self.notifications.graph(),
            "deliveryOptimizationPriority": self.delivery_optimization_priority.graph(),
            "installTimeSettings": self.install_time.as_ref().map(|t| json!({
                "@odata.type": INSTALL_TIME,
                "useLocalTime": t.use_local_time,
                "startDateTime": t.start,
                "deadlineDateTime": t.deadline,
            })),
            "restartSettings": self.restart.as_ref().map(|r| r.to_graph(WIN32_RESTART)),
        })
    }

    fn from_graph(obj: &Map<String, Value>) -> Result<Self, SettingsError> {
        let notifications = enum_or_default(obj, "notifications", Notifications::from_graph)?;
        let delivery_optimization_priority =
            enum_or_default(obj, "deliveryOptimizationPriority", DeliveryOptimizationPriority::from_graph)?;
        let install_time = object(obj, "installTimeSettings")?.map(|t| InstallTimeWindow {
            use_local_time: t.get("useLocalTime").and_then(Value::as_bool).unwrap_or(false),
            start: text(t, "startDateTime"),
            deadline: text(t, "deadlineDateTime"),
        });
        let restart = object(obj, "restartSettings")?.map(RestartGrace::from_graph).transpose()?;
        Ok(Self { notifications, delivery_optimization_priority, install_time, restart })
    }
}

impl WinGetSettings {
    /// Graph JSON.
    pub fn to_graph(&self) -> Value {
        json!({
            "@odata.type": WINGET_SETTINGS,
            "notifications": self.notifications.graph(),
            "installTimeSettings": self.install_time.as_ref().map(|t| json!({
                "@odata.type": WINGET_INSTALL_TIME,
                "useLocalTime": t.use_local_time,
                "deadlineDateTime": t.deadline,
            })),
            "restartSettings": self.restart.as_ref().map(|r| r.to_graph(WINGET_RESTART)),
        })
    }

    fn from_graph(obj: &Map<String, Value>) -> Result<Self, SettingsError> {
        let notifications = enum_or_default(obj, "notifications", Notifications::from_graph)?;
        let install_time = object(obj, "installTimeSettings")?.map(|t| WinGetInstallTime {
            use_local_time: t.get("useLocalTime").and_then(Value::as_bool).unwrap_or(false),
            deadline: text(t, "deadlineDateTime"),
        });
        let restart = object(obj, "restartSettings")?.map(RestartGrace::from_graph).transpose()?;
        Ok(Self { notifications, install_time, restart })
    }
}

impl RestartGrace {
    fn to_graph(&self, odata_type: &str) -> Value {
        json!({
            "@odata.type": odata_type,
            "gracePeriodInMinutes": self.grace_period_minutes,
            "countdownDisplayBeforeRestartInMinutes": self.countdown_minutes,
            "restartNotificationSnoozeDurationInMinutes": self.snooze_minutes,
        })
    }

    fn from_graph(obj: &Map<String, Value>) -> Result<Self, SettingsError> {
        let int = |key: &str| -> Result<Option<i32>, SettingsError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().and_then(|n| i32::try_from(n).ok()).map(Some).ok_or_else(|| {
                    SettingsError::Malformed(format!("restartSettings.{key} is not an Int32: {v}"))
                }),
            }
        };
        Ok(Self {
            grace_period_minutes: int("gracePeriodInMinutes")?.unwrap_or(0),
            countdown_minutes: int("countdownDisplayBeforeRestartInMinutes")?.unwrap_or(0),
            snooze_minutes: int("restartNotificationSnoozeDurationInMinutes")?,
        })
    }
}

impl GraphSettings {
    /// Read `settings` of a Graph assignment (`None` for absent/null).
    pub fn from_graph(settings: Option<&Value>) -> Result<Self, SettingsError> {
        let obj = match settings {
            None | Some(Value::Null) => return Ok(GraphSettings::None),
            Some(Value::Object(obj)) => obj,
            Some(other) => {
                return Err(SettingsError::Malformed(format!("settings is not an object: {other}")));
            }
        };
        let odata_type = obj.get("@odata.type").and_then(Value::as_str).map(bare_odata_type).unwrap_or("");
        Ok(match odata_type {
            t if t == bare_odata_type(WIN32_SETTINGS) => {
                GraphSettings::Win32 { settings: Win32Settings::from_graph(obj)?, catalog: false }
            }
            t if t == bare_odata_type(WIN32_CATALOG_SETTINGS) => {
                GraphSettings::Win32 { settings: Win32Settings::from_graph(obj)?, catalog: true }
            }
            t if t == bare_odata_type(WINGET_SETTINGS) => {
                GraphSettings::WinGet(WinGetSettings::from_graph(obj)?)
            }
            "" | "microsoft.graph.mobileAppAssignmentSettings" => GraphSettings::None,
            other => GraphSettings::Other(other.to_owned()),
        })
    }
}

fn enum_or_default<T: Default>(
    obj: &Map<String, Value>,
    key: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, SettingsError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(Value::String(s)) => {
            parse(s).ok_or_else(|| SettingsError::Malformed(format!("{key} has an unknown value {s:?}")))
        }
        Some(other) => Err(SettingsError::Malformed(format!("{key} is not a string: {other}"))),
    }
}

fn object<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, SettingsError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(SettingsError::Malformed(format!("{key} is not an object: {other}"))),
    }
}

fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Parse an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Whether two optional RFC 3339 times are the same instant (unparseable text compares as text).
pub fn same_instant(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => match (parse_time(a), parse_time(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        _ => false,
    }
}

fn check_time(out: &mut Vec<Finding>, path: &str, value: Option<&str>) -> Option<OffsetDateTime> {
    let value = value?;
    let parsed = parse_time(value);
    if parsed.is_none() {
        out.push(Finding::error(
            path,
            format!("must be an RFC 3339 time with an offset, such as 2026-01-31T18:00:00Z, got {value:?}"),
        ));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_win32() -> Win32Settings {
        Win32Settings {
            notifications: Notifications::HideAll,
            delivery_optimization_priority: DeliveryOptimizationPriority::Foreground,
            install_time: Some(InstallTimeWindow {
                use_local_time: true,
                start: Some("2026-01-01T08:00:00Z".into()),
                deadline: Some("2026-01-02T08:00:00Z".into()),
            }),
            restart: Some(RestartGrace {
                grace_period_minutes: 1440,
                countdown_minutes: 15,
                snooze_minutes: Some(240),
            }),
        }
    }

    #[test]
    fn enum_names_match_metadata() {
        // beta-enum-types.json win32LobAppNotification / winGetAppNotification (minus
        // unknownFutureValue), win32LobAppDeliveryOptimizationPriority.
        let mut graph: Vec<_> = Notifications::ALL.iter().map(|n| n.graph()).collect();
        graph.sort_unstable();
        assert_eq!(graph, ["hideAll", "showAll", "showReboot"]);
        for n in Notifications::NAMES {
            let parsed = Notifications::parse(n).unwrap();
            assert_eq!(Notifications::from_graph(parsed.graph()), Some(parsed));
        }
        for n in DeliveryOptimizationPriority::NAMES {
            let parsed = DeliveryOptimizationPriority::parse(n).unwrap();
            assert_eq!(DeliveryOptimizationPriority::from_graph(parsed.graph()), Some(parsed));
        }
        assert_eq!(Notifications::from_graph("unknownFutureValue"), None);
    }

    #[test]
    fn win32_default_body_matches_the_reference() {
        // graph-reference.md §4a: settings of the Win32 device-group body.
        assert_eq!(
            Win32Settings::default().to_graph(false),
            json!({
                "@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings",
                "notifications": "showAll",
                "deliveryOptimizationPriority": "notConfigured",
                "installTimeSettings": null,
                "restartSettings": null
            })
        );
    }

    #[test]
    fn win32_round_trip_including_catalog() {
        for catalog in [false, true] {
            let s = full_win32();
            let read = GraphSettings::from_graph(Some(&s.to_graph(catalog))).unwrap();
            assert_eq!(read, GraphSettings::Win32 { settings: s, catalog });
        }
    }

    #[test]
    fn winget_sample_parses() {
        // graph-samples mobileAppAssignments/assign.beta.request.json settings (no `#`).
        let sample: Value =
            serde_json::from_str(include_str!("testdata/app.assign.beta.request.json")).unwrap();
        let read = GraphSettings::from_graph(sample["mobileAppAssignments"][0].get("settings")).unwrap();
        let want = WinGetSettings {
            notifications: Notifications::ShowReboot,
            install_time: Some(WinGetInstallTime {
                use_local_time: true,
                deadline: Some("2017-01-01T00:00:21.0378955-08:00".into()),
            }),
            restart: Some(RestartGrace {
                grace_period_minutes: 4,
                countdown_minutes: 6,
                snooze_minutes: Some(10),
            }),
        };
        assert_eq!(read, GraphSettings::WinGet(want.clone()));
        let back = GraphSettings::from_graph(Some(&want.to_graph())).unwrap();
        assert_eq!(back, GraphSettings::WinGet(want));
    }

    #[test]
    fn other_and_abstract_settings() {
        // create_assignment.v1.0 (AppX) and list_assignments (abstract base type).
        let appx = json!({"@odata.type": "microsoft.graph.windowsUniversalAppXAppAssignmentSettings", "useDeviceContext": true});
        assert_eq!(
            GraphSettings::from_graph(Some(&appx)).unwrap(),
            GraphSettings::Other("microsoft.graph.windowsUniversalAppXAppAssignmentSettings".into())
        );
        let base = json!({"@odata.type": "microsoft.graph.mobileAppAssignmentSettings"});
        assert_eq!(GraphSettings::from_graph(Some(&base)).unwrap(), GraphSettings::None);
        assert_eq!(GraphSettings::from_graph(Some(&Value::Null)).unwrap(), GraphSettings::None);
        assert_eq!(GraphSettings::from_graph(None).unwrap(), GraphSettings::None);
        assert!(GraphSettings::from_graph(Some(&json!("x"))).is_err());
        let bad = json!({"@odata.type": WIN32_SETTINGS, "notifications": "loud"});
        assert!(matches!(GraphSettings::from_graph(Some(&bad)), Err(SettingsError::Malformed(_))));
    }

    #[test]
    fn app_type_table() {
        let win32 = AppSettings::Win32(Win32Settings::default());
        let winget = AppSettings::WinGet(WinGetSettings::default());
        let cases = [
            (&win32, "#microsoft.graph.win32LobApp", Ok(SettingsFlavour::Win32)),
            (&win32, "microsoft.graph.win32LobApp", Ok(SettingsFlavour::Win32)),
            (&win32, "#microsoft.graph.win32CatalogApp", Ok(SettingsFlavour::Win32Catalog)),
            (&winget, "#microsoft.graph.winGetApp", Ok(SettingsFlavour::WinGet)),
        ];
        for (s, app, want) in cases {
            assert_eq!(app_type_allows(s, "A", app), want, "{app}");
        }
        let err = app_type_allows(&win32, "app-1", "#microsoft.graph.winGetApp").unwrap_err();
        assert_eq!(
            err.to_string(),
            "win32_settings applies to Win32 apps (#microsoft.graph.win32LobApp or #microsoft.graph.win32CatalogApp); \
             app app-1 is #microsoft.graph.winGetApp"
        );
        let err = app_type_allows(&winget, "app-2", "microsoft.graph.officeSuiteApp").unwrap_err();
        assert_eq!(
            err.to_string(),
            "winget_settings applies to Microsoft Store (WinGet) apps (#microsoft.graph.winGetApp); \
             app app-2 is #microsoft.graph.officeSuiteApp"
        );
        assert!(win32.to_graph("x", "#microsoft.graph.winGetApp").is_err());
        assert_eq!(
            win32.to_graph("x", WIN32_CATALOG_APP).unwrap()["@odata.type"],
            json!(WIN32_CATALOG_SETTINGS)
        );
    }

    #[test]
    fn defaults_per_app_type() {
        assert_eq!(
            AppSettings::default_for_app(WIN32_LOB_APP),
            Some(AppSettings::Win32(Win32Settings::default()))
        );
        assert_eq!(
            AppSettings::default_for_app("microsoft.graph.win32CatalogApp"),
            Some(AppSettings::Win32(Win32Settings::default()))
        );
        assert_eq!(
            AppSettings::default_for_app(WINGET_APP),
            Some(AppSettings::WinGet(WinGetSettings::default()))
        );
        assert_eq!(AppSettings::default_for_app("#microsoft.graph.officeSuiteApp"), None);
    }

    #[test]
    fn reconcile_never_diffs_on_formatting_or_defaults() {
        let configured = AppSettings::Win32(full_win32());
        // Same instants, another offset and precision.
        let mut returned = full_win32();
        returned.install_time = Some(InstallTimeWindow {
            use_local_time: true,
            start: Some("2026-01-01T09:00:00.0000000+01:00".into()),
            deadline: Some("2026-01-02T08:00:00.000Z".into()),
        });
        let read = GraphSettings::Win32 { settings: returned.clone(), catalog: false };
        assert_eq!(AppSettings::reconcile(Some(&configured), &read), Some(configured.clone()));
        // A real change shows.
        returned.notifications = Notifications::ShowAll;
        let read = GraphSettings::Win32 { settings: returned.clone(), catalog: false };
        assert_eq!(AppSettings::reconcile(Some(&configured), &read), Some(AppSettings::Win32(returned)));
        // Nothing configured, defaults read: nothing.
        let defaults = GraphSettings::Win32 { settings: Win32Settings::default(), catalog: false };
        assert_eq!(AppSettings::reconcile(None, &defaults), None);
        let defaults = GraphSettings::WinGet(WinGetSettings::default());
        assert_eq!(AppSettings::reconcile(None, &defaults), None);
        // Configured as defaults explicitly: kept.
        let explicit = AppSettings::Win32(Win32Settings::default());
        let defaults = GraphSettings::Win32 { settings: Win32Settings::default(), catalog: false };
        assert_eq!(AppSettings::reconcile(Some(&explicit), &defaults), Some(explicit));
        // Configured, but Graph has none: drift to none.
        assert_eq!(AppSettings::reconcile(Some(&configured), &GraphSettings::None), None);
    }

    #[test]
    fn validation_table() {
        let with_time = |start: Option<&str>, deadline: Option<&str>| {
            AppSettings::Win32(Win32Settings {
                install_time: Some(InstallTimeWindow {
                    use_local_time: false,
                    start: start.map(Into::into),
                    deadline: deadline.map(Into::into),
                }),
                ..Default::default()
            })
        };
        let restart = |g, c, s| {
            AppSettings::WinGet(WinGetSettings {
                restart: Some(RestartGrace {
                    grace_period_minutes: g,
                    countdown_minutes: c,
                    snooze_minutes: s,
                }),
                ..Default::default()
            })
        };
        let t1 = Some("2026-01-01T08:00:00Z");
        let t2 = Some("2026-01-02T08:00:00+02:00");
        type Case = (AppSettings, Option<Intent>, Vec<(&'static str, bool)>);
        let cases: Vec<Case> = vec![
            (with_time(t1, t2), Some(Intent::Required), vec![]),
            (with_time(t1, t2), None, vec![]),
            (with_time(t2, t1), Some(Intent::Required), vec![("win32_settings.install_time.deadline", true)]),
            (with_time(t1, None), Some(Intent::Available), vec![]),
            (
                with_time(None, t2),
                Some(Intent::Available),
                vec![("win32_settings.install_time.deadline", true)],
            ),
            (
                with_time(t1, None),
                Some(Intent::Uninstall),
                vec![("win32_settings.install_time.start", false)],
            ),
            (with_time(Some("tomorrow"), None), None, vec![("win32_settings.install_time.start", true)]),
            (
                with_time(Some("2026-01-01T08:00:00"), None),
                None,
                vec![("win32_settings.install_time.start", true)],
            ),
            (restart(1440, 15, Some(240)), Some(Intent::Required), vec![]),
            (restart(1440, 15, None), Some(Intent::Required), vec![]),
            (
                restart(0, 15, None),
                None,
                vec![
                    ("winget_settings.restart.grace_period_minutes", true),
                    ("winget_settings.restart.countdown_minutes", false),
                ],
            ),
            (
                restart(60, 0, Some(0)),
                None,
                vec![
                    ("winget_settings.restart.countdown_minutes", true),
                    ("winget_settings.restart.snooze_minutes", true),
                ],
            ),
        ];
        for (settings, intent, want) in cases {
            let got: Vec<(String, bool)> =
                settings.validate(intent).into_iter().map(|f| (f.path.clone(), f.is_error())).collect();
            let want: Vec<(String, bool)> = want.into_iter().map(|(p, e)| (p.to_owned(), e)).collect();
            assert_eq!(got, want, "{settings:?} {intent:?}");
        }
    }

    #[test]
    fn same_instant_table() {
        assert!(same_instant(None, None));
        assert!(!same_instant(Some("2026-01-01T00:00:00Z"), None));
        assert!(same_instant(Some("2026-01-01T00:00:00Z"), Some("2025-12-31T16:00:00-08:00")));
        assert!(same_instant(
            Some("2017-01-01T00:00:21.0378955-08:00"),
            Some("2017-01-01T08:00:21.0378955Z")
        ));
        assert!(!same_instant(Some("2026-01-01T00:00:00Z"), Some("2026-01-01T00:00:01Z")));
        assert!(same_instant(Some("garbage"), Some("garbage")));
    }
}
