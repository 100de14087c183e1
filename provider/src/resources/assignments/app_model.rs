//! `autopilot_app_assignment` attributes ⇄ the typed model ([`super::settings`], [`super::target`]).

use crate::framework::schema::Attribute;
use crate::framework::validator::{int_between, one_of, uuid};
use crate::framework::value::ObjectBuilder;
use crate::framework::{Type, Value};

use super::settings::{
    AppSettings, DeliveryOptimizationPriority, InstallTimeWindow, Notifications, RestartGrace, Win32Settings,
    WinGetInstallTime, WinGetSettings,
};
use super::target::{Filter, FilterMode, Target, TargetKind};

/// The `target` attribute of the app assignment.
pub fn target_attribute() -> Attribute {
    Attribute::single_nested(
        "target",
        vec![
            Attribute::string("type")
                .required()
                .description(
                    "`group` (include a group), `exclusion_group` (exclude a group), `all_devices` or `all_licensed_users`.",
                )
                .validator(one_of(&TargetKind::app_names()))
                .plan_modifier(crate::framework::plan_modifier::requires_replace()),
            Attribute::string("group_id")
                .optional()
                .description("The group's object id; required exactly for `group` and `exclusion_group`.")
                .validator(uuid())
                .plan_modifier(crate::framework::plan_modifier::requires_replace()),
            Attribute::string("filter_id")
                .optional()
                .description("Id of an Intune assignment filter (beta); needs `filter_mode`.")
                .validator(uuid()),
            Attribute::string("filter_mode")
                .optional()
                .description("`include` (only matching devices) or `exclude` (all but matching devices).")
                .validator(one_of(&FilterMode::NAMES)),
        ],
    )
    .required()
    .description("Who the app is assigned to. For device preparation: the device group, `type = \"group\"`.")
}

fn restart_attribute() -> Attribute {
    let minutes = |name: &str, description: &str| {
        Attribute::number(name).description(description).validator(int_between(1, i64::from(i32::MAX)))
    };
    Attribute::single_nested(
        "restart",
        vec![
            minutes("grace_period_minutes", "Minutes after the installation before the device restarts.")
                .required(),
            minutes("countdown_minutes", "Minutes before the restart at which the countdown dialog appears.")
                .required(),
            minutes(
                "snooze_minutes",
                "Minutes one snooze of the restart notification lasts; unset: no snooze.",
            )
            .optional(),
        ],
    )
    .optional()
    .description("Restart grace period after an installation that needs a restart.")
}

fn notifications_attribute() -> Attribute {
    Attribute::string("notifications")
        .default_value(Notifications::default().name())
        .description("End-user notifications: `show_all` (default), `show_reboot` or `hide_all`.")
        .validator(one_of(&Notifications::NAMES))
}

/// The `win32_settings` attribute.
pub fn win32_attribute() -> Attribute {
    Attribute::single_nested(
        "win32_settings",
        vec![
            notifications_attribute(),
            Attribute::string("delivery_optimization_priority")
                .default_value(DeliveryOptimizationPriority::default().name())
                .description("`not_configured` (default, background download) or `foreground`.")
                .validator(one_of(&DeliveryOptimizationPriority::NAMES)),
            Attribute::single_nested(
                "install_time",
                vec![
                    Attribute::bool("use_local_time")
                        .default_value(false)
                        .description("Interpret the times in the device's time zone instead of UTC."),
                    Attribute::string("start")
                        .optional()
                        .description("When the app becomes available (RFC 3339); unset: as soon as possible."),
                    Attribute::string("deadline").optional().description(
                        "Installation deadline (RFC 3339), `required` assignments only; unset: as soon as possible.",
                    ),
                ],
            )
            .optional()
            .description("Availability and deadline."),
            restart_attribute(),
        ],
    )
    .optional()
    .description("Settings for Win32 apps (`win32LobApp`, Enterprise App Catalog `win32CatalogApp`).")
}

/// The `winget_settings` attribute.
pub fn winget_attribute() -> Attribute {
    Attribute::single_nested(
        "winget_settings",
        vec![
            notifications_attribute(),
            Attribute::single_nested(
                "install_time",
                vec![
                    Attribute::bool("use_local_time")
                        .default_value(false)
                        .description("Interpret the deadline in the device's time zone instead of UTC."),
                    Attribute::string("deadline").optional().description("Installation deadline (RFC 3339)."),
                ],
            )
            .optional()
            .description("Installation deadline."),
            restart_attribute(),
        ],
    )
    .optional()
    .description("Settings for Microsoft Store (new) / WinGet apps (`winGetApp`).")
}

/// The type of `target` (for tests and import).
pub fn target_type() -> Type {
    target_attribute().value_type()
}

fn int(v: &Value, name: &str) -> Option<i32> {
    v.get_i64(name).and_then(|n| i32::try_from(n).ok())
}

fn restart_from(v: Option<&Value>) -> Option<RestartGrace> {
    let v = v.filter(|v| !v.is_null())?;
    Some(RestartGrace {
        grace_period_minutes: int(v, "grace_period_minutes")?,
        countdown_minutes: int(v, "countdown_minutes")?,
        snooze_minutes: int(v, "snooze_minutes"),
    })
}

fn restart_value(r: Option<&RestartGrace>) -> Value {
    r.map_or(Value::Null, |r| {
        ObjectBuilder::default()
            .set("grace_period_minutes", r.grace_period_minutes)
            .set("countdown_minutes", r.countdown_minutes)
            .set("snooze_minutes", r.snooze_minutes)
            .build()
    })
}

/// `win32_settings` from a wholly known value; `None` when null (or not readable).
pub fn win32_from(v: Option<&Value>) -> Option<Win32Settings> {
    let v = v.filter(|v| !v.is_null())?;
    Some(Win32Settings {
        notifications: v.get_str("notifications").and_then(Notifications::parse).unwrap_or_default(),
        delivery_optimization_priority: v
            .get_str("delivery_optimization_priority")
            .and_then(DeliveryOptimizationPriority::parse)
            .unwrap_or_default(),
        install_time: v.attr("install_time").filter(|t| !t.is_null()).map(|t| InstallTimeWindow {
            use_local_time: t.get_bool("use_local_time").unwrap_or(false),
            start: t.get_str("start").map(str::to_owned),
            deadline: t.get_str("deadline").map(str::to_owned),
        }),
        restart: restart_from(v.attr("restart")),
    })
}

/// `winget_settings` from a wholly known value.
pub fn winget_from(v: Option<&Value>) -> Option<WinGetSettings> {
    let v = v.filter(|v| !v.is_null())?;
    Some(WinGetSettings {
        notifications: v.get_str("notifications").and_then(Notifications::parse).unwrap_or_default(),
        install_time: v.attr("install_time").filter(|t| !t.is_null()).map(|t| WinGetInstallTime {
            use_local_time: t.get_bool("use_local_time").unwrap_or(false),
            deadline: t.get_str("deadline").map(str::to_owned),
        }),
        restart: restart_from(v.attr("restart")),
    })
}

/// The settings a configuration / state object holds.
pub fn settings_from(v: &Value) -> Option<AppSettings> {
    win32_from(v.attr("win32_settings"))
        .map(AppSettings::Win32)
        .or_else(|| winget_from(v.attr("winget_settings")).map(AppSettings::WinGet))
}

/// `(win32_settings, winget_settings)` values for state.
pub fn settings_values(s: Option<&AppSettings>) -> (Value, Value) {
    match s {
        None => (Value::Null, Value::Null),
        Some(AppSettings::Win32(w)) => (
            ObjectBuilder::default()
                .set("notifications", w.notifications.name())
                .set("delivery_optimization_priority", w.delivery_optimization_priority.name())
                .set(
                    "install_time",
                    w.install_time.as_ref().map_or(Value::Null, |t| {
                        ObjectBuilder::default()
                            .set("use_local_time", t.use_local_time)
                            .set("start", t.start.clone())
                            .set("deadline", t.deadline.clone())
                            .build()
                    }),
                )
                .set("restart", restart_value(w.restart.as_ref()))
                .build(),
            Value::Null,
        ),
        Some(AppSettings::WinGet(w)) => (
            Value::Null,
            ObjectBuilder::default()
                .set("notifications", w.notifications.name())
                .set(
                    "install_time",
                    w.install_time.as_ref().map_or(Value::Null, |t| {
                        ObjectBuilder::default()
                            .set("use_local_time", t.use_local_time)
                            .set("deadline", t.deadline.clone())
                            .build()
                    }),
                )
                .set("restart", restart_value(w.restart.as_ref()))
                .build(),
        ),
    }
}

/// The target a configuration / state object holds.
pub fn target_from(v: &Value) -> Option<Target> {
    let t = v.attr("target")?;
    let kind = TargetKind::parse_app(t.get_str("type")?)?;
    let filter = match (t.get_str("filter_id"), t.get_str("filter_mode").and_then(FilterMode::parse)) {
        (Some(id), Some(mode)) => Some(Filter { id: id.to_owned(), mode }),
        _ => None,
    };
    Some(Target { kind, group_id: t.get_str("group_id").map(str::to_owned), filter })
}

/// The `target` value for state.
pub fn target_value(t: &Target) -> Value {
    ObjectBuilder::default()
        .set("type", t.kind.app_name())
        .set("group_id", t.group_id.clone())
        .set("filter_id", t.filter.as_ref().map(|f| f.id.clone()))
        .set("filter_mode", t.filter.as_ref().map(|f| f.mode.name()))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_values() {
        let all = [
            AppSettings::Win32(Win32Settings::default()),
            AppSettings::Win32(Win32Settings {
                notifications: Notifications::HideAll,
                delivery_optimization_priority: DeliveryOptimizationPriority::Foreground,
                install_time: Some(InstallTimeWindow {
                    use_local_time: true,
                    start: Some("2026-01-01T00:00:00Z".into()),
                    deadline: None,
                }),
                restart: Some(RestartGrace {
                    grace_period_minutes: 60,
                    countdown_minutes: 5,
                    snooze_minutes: None,
                }),
            }),
            AppSettings::WinGet(WinGetSettings {
                notifications: Notifications::ShowReboot,
                install_time: Some(WinGetInstallTime {
                    use_local_time: false,
                    deadline: Some("2026-02-01T00:00:00Z".into()),
                }),
                restart: Some(RestartGrace {
                    grace_period_minutes: 1,
                    countdown_minutes: 1,
                    snooze_minutes: Some(5),
                }),
            }),
        ];
        for s in all {
            let (win32, winget) = settings_values(Some(&s));
            let obj =
                ObjectBuilder::default().set("win32_settings", win32).set("winget_settings", winget).build();
            assert_eq!(settings_from(&obj), Some(s));
        }
        let (a, b) = settings_values(None);
        assert!(a.is_null() && b.is_null());
    }

    #[test]
    fn targets_round_trip_through_values() {
        for t in [
            Target::new(TargetKind::Group, Some("g")),
            Target::new(TargetKind::AllLicensedUsers, None),
            Target {
                kind: TargetKind::AllDevices,
                group_id: None,
                filter: Some(Filter { id: "f".into(), mode: FilterMode::Exclude }),
            },
        ] {
            let obj = ObjectBuilder::default().set("target", target_value(&t)).build();
            assert_eq!(target_from(&obj), Some(t));
        }
        assert!(matches!(target_type(), Type::Object { .. }));
    }
}
