//! Plan-time checks of app and script assignments, so mistakes surface in `terraform plan`
//! instead of as an Intune error half-way through an apply.
//!
//! Inputs are tri-state ([`Cfg`]): a value that is unknown at plan time (a group id from a group
//! created in the same apply) is never reported as missing.

use std::fmt;

use uuid::Uuid;

use super::settings::{AppSettings, Win32Settings, WinGetSettings, app_type_allows};
use super::target::{FilterMode, TargetKind, bare_odata_type};
use super::wire::Intent;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, tied to the attribute path it is about (`target.group_id`,
/// `win32_settings.install_time.deadline`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub path: String,
    pub message: String,
}

impl Finding {
    pub fn error(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, path: path.into(), message: message.into() }
    }

    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, path: path.into(), message: message.into() }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A configuration value at plan time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cfg<T> {
    Null,
    Unknown,
    Known(T),
}

impl<T> Cfg<T> {
    /// Known and not null.
    pub fn known(&self) -> Option<&T> {
        match self {
            Cfg::Known(v) => Some(v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Cfg::Null)
    }
}

impl<T> From<Option<T>> for Cfg<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cfg::Null, Cfg::Known)
    }
}

/// Whether `s` is a GUID in the canonical 8-4-4-4-12 form Graph uses for object ids.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36 && Uuid::parse_str(s).is_ok()
}

/// A GUID attribute (`app_id`, `script_id`, `target.group_id`, `target.filter_id`).
pub fn check_guid(out: &mut Vec<Finding>, path: &str, value: Cfg<&str>) {
    if let Cfg::Known(v) = value
        && !is_guid(v)
    {
        out.push(Finding::error(
            path,
            format!("must be an object id (GUID such as 00000000-0000-0000-0000-000000000000), got {v:?}"),
        ));
    }
}

/// Which resource's vocabulary a target uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetVocabulary {
    /// `autopilot_app_assignment`: `all_licensed_users`, filters allowed.
    App,
    /// `autopilot_script_assignment`: `all_users`, no filter attributes.
    Script,
}

/// The `target` block as configured.
#[derive(Clone, Copy, Debug)]
pub struct TargetConfig<'a> {
    pub kind: Cfg<&'a str>,
    pub group_id: Cfg<&'a str>,
    pub filter_id: Cfg<&'a str>,
    pub filter_mode: Cfg<&'a str>,
}

/// Check a `target` block; returns the parsed kind when it is known and valid.
pub fn check_target(
    out: &mut Vec<Finding>,
    vocabulary: TargetVocabulary,
    t: &TargetConfig<'_>,
) -> Option<TargetKind> {
    type Parser = fn(&str) -> Option<TargetKind>;
    let (parse, names): (Parser, [&str; 4]) = match vocabulary {
        TargetVocabulary::App => (TargetKind::parse_app, TargetKind::app_names()),
        TargetVocabulary::Script => (TargetKind::parse_script, TargetKind::script_names()),
    };
    let kind = match t.kind {
        Cfg::Known(name) => {
            let kind = parse(name);
            if kind.is_none() {
                out.push(Finding::error("target.type", format!("must be one of {names:?}, got {name:?}")));
            }
            kind
        }
        Cfg::Null => {
            out.push(Finding::error("target.type", format!("is required (one of {names:?})")));
            None
        }
        Cfg::Unknown => None,
    };
    check_guid(out, "target.group_id", t.group_id);
    if let Some(kind) = kind {
        match (kind.has_group(), t.group_id) {
            (true, Cfg::Null) => out.push(Finding::error(
                "target.group_id",
                format!("is required when target.type is {:?}", name_in(vocabulary, kind)),
            )),
            (false, Cfg::Known(_) | Cfg::Unknown) => out.push(Finding::error(
                "target.group_id",
                format!(
                    "must not be set when target.type is {:?}: that target is a built-in virtual group",
                    name_in(vocabulary, kind)
                ),
            )),
            _ => {}
        }
    }

    if vocabulary == TargetVocabulary::Script {
        // The script resource's schema has no filter attributes; nothing to check.
        return kind;
    }
    check_guid(out, "target.filter_id", t.filter_id);
    match (t.filter_id, t.filter_mode) {
        (Cfg::Null, Cfg::Known(_)) => {
            out.push(Finding::error("target.filter_mode", "is set but target.filter_id is not"));
        }
        (Cfg::Known(_), Cfg::Null) => out.push(Finding::error(
            "target.filter_mode",
            format!("is required when target.filter_id is set (one of {:?})", FilterMode::NAMES),
        )),
        _ => {}
    }
    if let Cfg::Known(mode) = t.filter_mode
        && FilterMode::parse(mode).is_none()
    {
        out.push(Finding::error(
            "target.filter_mode",
            format!("must be one of {:?}, got {mode:?}", FilterMode::NAMES),
        ));
    }
    if kind == Some(TargetKind::ExclusionGroup) && !t.filter_id.is_null() {
        // The admin center offers no filter on excluded groups (an exclusion removes the whole
        // group); what Graph does with one is undocumented, so warn rather than refuse.
        out.push(Finding::warning(
            "target.filter_id",
            "the Intune admin center offers no assignment filter on excluded groups; an exclusion removes the \
             whole group and Intune may ignore or reject the filter",
        ));
    }
    kind
}

fn name_in(vocabulary: TargetVocabulary, kind: TargetKind) -> &'static str {
    match vocabulary {
        TargetVocabulary::App => kind.app_name(),
        TargetVocabulary::Script => kind.script_name(),
    }
}

/// Check `intent`; returns the parsed intent when known and valid.
pub fn check_intent(out: &mut Vec<Finding>, intent: Cfg<&str>) -> Option<Intent> {
    match intent {
        Cfg::Known(name) => {
            let parsed = Intent::parse(name);
            if parsed.is_none() {
                out.push(Finding::error(
                    "intent",
                    format!("must be one of {:?}, got {name:?}", Intent::NAMES),
                ));
            }
            parsed
        }
        Cfg::Null => {
            out.push(Finding::error("intent", format!("is required (one of {:?})", Intent::NAMES)));
            None
        }
        Cfg::Unknown => None,
    }
}

/// Intent/target combinations Intune refuses or that cannot do what the user expects.
///
/// * `available` to **All devices**: Intune offers "Available for enrolled devices" only to
///   users; the admin center has no "All devices" choice for it (MEM apps-deploy: "Available
///   assignments are only valid when assigning to user groups" except Win32 apps, which also
///   take device *groups*). Error.
/// * `available_without_enrollment` is the MAM intent for unenrolled iOS/Android devices; it
///   cannot target devices. Error for `all_devices` (the app-type check rejects it for Windows
///   apps anyway).
/// * Any intent with an exclusion: fine (an exclusion belongs to an intent in the admin center).
pub fn check_intent_target(out: &mut Vec<Finding>, intent: Intent, kind: TargetKind) {
    match (intent, kind) {
        (Intent::Available, TargetKind::AllDevices) => out.push(Finding::error(
            "intent",
            "\"available\" cannot be assigned to all_devices: Intune makes apps available to users only \
             (use all_licensed_users or a group, or intent \"required\" for devices)",
        )),
        (Intent::AvailableWithoutEnrollment, TargetKind::AllDevices) => out.push(Finding::error(
            "intent",
            "\"available_without_enrollment\" targets users of unenrolled devices and cannot be assigned to all_devices",
        )),
        _ => {}
    }
}

/// `autopilot_app_assignment` as configured.
#[derive(Clone, Copy, Debug)]
pub struct AppAssignmentConfig<'a> {
    pub app_id: Cfg<&'a str>,
    pub intent: Cfg<&'a str>,
    pub target: TargetConfig<'a>,
    /// The typed block when it is wholly known; [`Cfg::Unknown`] if any part is unknown.
    pub win32_settings: Cfg<&'a Win32Settings>,
    pub winget_settings: Cfg<&'a WinGetSettings>,
}

/// Every plan-time finding for an app assignment (without the app's type, which needs a Graph
/// read: see [`check_app_compatibility`]).
pub fn validate_app_assignment(c: &AppAssignmentConfig<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    check_guid(&mut out, "app_id", c.app_id);
    if c.app_id.is_null() {
        out.push(Finding::error("app_id", "is required"));
    }
    let intent = check_intent(&mut out, c.intent);
    let kind = check_target(&mut out, TargetVocabulary::App, &c.target);
    if let (Some(intent), Some(kind)) = (intent, kind) {
        check_intent_target(&mut out, intent, kind);
    }
    if !c.win32_settings.is_null() && !c.winget_settings.is_null() {
        out.push(Finding::error(
            "winget_settings",
            "conflicts with win32_settings: an app is either a Win32 or a WinGet app; set the block matching its type",
        ));
    }
    let blocks = [
        (
            "win32_settings",
            !c.win32_settings.is_null(),
            c.win32_settings.known().map(|s| AppSettings::Win32((*s).clone())),
        ),
        (
            "winget_settings",
            !c.winget_settings.is_null(),
            c.winget_settings.known().map(|s| AppSettings::WinGet((*s).clone())),
        ),
    ];
    for (attribute, configured, typed) in blocks {
        if configured && kind.is_some_and(TargetKind::is_exclusion) {
            // The admin center shows no install settings for excluded groups: nothing is installed.
            out.push(Finding::error(
                attribute,
                "an exclusion_group assignment installs nothing, so it takes no install settings",
            ));
        }
        if let Some(typed) = typed {
            out.extend(typed.validate(intent));
        }
    }
    out
}

/// App types that are Windows apps: none of them accepts the MAM intent
/// `availableWithoutEnrollment` (an intent for unenrolled iOS/Android devices).
const WINDOWS_APP_TYPES: &[&str] = &[
    "microsoft.graph.win32LobApp",
    "microsoft.graph.win32CatalogApp",
    "microsoft.graph.winGetApp",
    "microsoft.graph.officeSuiteApp",
    "microsoft.graph.windowsMobileMSI",
    "microsoft.graph.windowsAppX",
    "microsoft.graph.windowsUniversalAppX",
    "microsoft.graph.windowsMicrosoftEdgeApp",
    "microsoft.graph.windowsStoreApp",
    "microsoft.graph.microsoftStoreForBusinessApp",
    "microsoft.graph.windowsWebApp",
];

/// Checks that need the app's `@odata.type` (from `GET …/mobileApps/{id}` or the
/// `autopilot_mobile_app` data source): settings block vs app type, and intents the app type
/// cannot take.
pub fn check_app_compatibility(
    intent: Option<Intent>,
    settings: Option<&AppSettings>,
    app_id: &str,
    app_odata_type: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(settings) = settings
        && let Err(e) = app_type_allows(settings, app_id, app_odata_type)
    {
        out.push(Finding::error(settings.attribute(), e.to_string()));
    }
    if intent == Some(Intent::AvailableWithoutEnrollment)
        && WINDOWS_APP_TYPES.contains(&bare_odata_type(app_odata_type))
    {
        out.push(Finding::error(
            "intent",
            format!(
                "\"available_without_enrollment\" is for iOS/Android devices not enrolled in Intune; app {app_id} \
                 is a Windows app (#{})",
                bare_odata_type(app_odata_type)
            ),
        ));
    }
    out
}

/// `autopilot_script_assignment` as configured.
#[derive(Clone, Copy, Debug)]
pub struct ScriptAssignmentConfig<'a> {
    pub script_id: Cfg<&'a str>,
    pub target: TargetConfig<'a>,
}

/// Every plan-time finding for a script assignment.
pub fn validate_script_assignment(c: &ScriptAssignmentConfig<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    check_guid(&mut out, "script_id", c.script_id);
    if c.script_id.is_null() {
        out.push(Finding::error("script_id", "is required"));
    }
    check_target(&mut out, TargetVocabulary::Script, &c.target);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "a1a7c4d7-9a1e-4c81-9d92-6f4eb3a7b9a5";

    fn target<'a>(kind: Cfg<&'a str>, group: Cfg<&'a str>) -> TargetConfig<'a> {
        TargetConfig { kind, group_id: group, filter_id: Cfg::Null, filter_mode: Cfg::Null }
    }

    fn paths(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn guid_table() {
        for (input, ok) in [
            (G, true),
            ("A1A7C4D7-9A1E-4C81-9D92-6F4EB3A7B9A5", true),
            ("a1a7c4d79a1e4c819d926f4eb3a7b9a5", false),
            ("{a1a7c4d7-9a1e-4c81-9d92-6f4eb3a7b9a5}", false),
            ("", false),
            ("not-a-guid", false),
        ] {
            assert_eq!(is_guid(input), ok, "{input}");
        }
        let mut out = Vec::new();
        check_guid(&mut out, "app_id", Cfg::Unknown);
        check_guid(&mut out, "app_id", Cfg::Null);
        assert!(out.is_empty());
        check_guid(&mut out, "app_id", Cfg::Known("x"));
        assert_eq!(paths(&out), ["app_id"]);
    }

    #[test]
    fn target_table() {
        use Cfg::*;
        // (vocabulary, type, group_id, expected error paths)
        type Case<'a> = (TargetVocabulary, Cfg<&'a str>, Cfg<&'a str>, &'a [&'a str]);
        let cases: &[Case] = &[
            (TargetVocabulary::App, Known("group"), Known(G), &[]),
            (TargetVocabulary::App, Known("group"), Unknown, &[]),
            (TargetVocabulary::App, Known("group"), Null, &["target.group_id"]),
            (TargetVocabulary::App, Known("exclusion_group"), Null, &["target.group_id"]),
            (TargetVocabulary::App, Known("all_devices"), Null, &[]),
            (TargetVocabulary::App, Known("all_devices"), Known(G), &["target.group_id"]),
            (TargetVocabulary::App, Known("all_devices"), Unknown, &["target.group_id"]),
            (TargetVocabulary::App, Known("all_licensed_users"), Null, &[]),
            (TargetVocabulary::App, Known("all_users"), Null, &["target.type"]),
            (TargetVocabulary::Script, Known("all_users"), Null, &[]),
            (TargetVocabulary::Script, Known("all_licensed_users"), Null, &["target.type"]),
            (TargetVocabulary::App, Known("group"), Known("nope"), &["target.group_id"]),
            (TargetVocabulary::App, Null, Null, &["target.type"]),
            (TargetVocabulary::App, Unknown, Known(G), &[]),
        ];
        for (vocabulary, kind, group, want) in cases {
            let mut out = Vec::new();
            check_target(&mut out, *vocabulary, &target(*kind, *group));
            assert_eq!(paths(&out), *want, "{vocabulary:?} {kind:?} {group:?}: {out:?}");
        }
    }

    #[test]
    fn filter_table() {
        use Cfg::*;
        type Case<'a> = (&'a str, Cfg<&'a str>, Cfg<&'a str>, &'a [&'a str]);
        let cases: &[Case] = &[
            ("group", Known(G), Known("include"), &[]),
            ("all_devices", Known(G), Known("exclude"), &[]),
            ("group", Known(G), Null, &["target.filter_mode"]),
            ("group", Null, Known("include"), &["target.filter_mode"]),
            ("group", Known(G), Known("none"), &["target.filter_mode"]),
            ("group", Known("f"), Known("include"), &["target.filter_id"]),
            ("exclusion_group", Known(G), Known("include"), &["target.filter_id"]),
            ("exclusion_group", Unknown, Unknown, &["target.filter_id"]),
            ("group", Unknown, Null, &[]),
        ];
        for (kind, filter_id, filter_mode, want) in cases {
            let mut out = Vec::new();
            let t = TargetConfig {
                kind: Known(kind),
                group_id: Known(G),
                filter_id: *filter_id,
                filter_mode: *filter_mode,
            };
            let kind = if *kind == "all_devices" { TargetConfig { group_id: Null, ..t } } else { t };
            check_target(&mut out, TargetVocabulary::App, &kind);
            assert_eq!(paths(&out), *want, "{kind:?}: {out:?}");
        }
    }

    #[test]
    fn intent_table() {
        let mut out = Vec::new();
        assert_eq!(
            check_intent(&mut out, Cfg::Known("available_without_enrollment")),
            Some(Intent::AvailableWithoutEnrollment)
        );
        assert_eq!(check_intent(&mut out, Cfg::Known("availableWithoutEnrollment")), None);
        assert_eq!(check_intent(&mut out, Cfg::Null), None);
        assert_eq!(check_intent(&mut out, Cfg::Unknown), None);
        assert_eq!(paths(&out), ["intent", "intent"]);
    }

    #[test]
    fn intent_target_combinations() {
        for intent in Intent::ALL {
            for kind in TargetKind::ALL {
                let mut out = Vec::new();
                check_intent_target(&mut out, intent, kind);
                let refused = kind == TargetKind::AllDevices
                    && matches!(intent, Intent::Available | Intent::AvailableWithoutEnrollment);
                assert_eq!(!out.is_empty(), refused, "{intent:?} {kind:?}");
                assert!(out.iter().all(|f| f.path == "intent" && f.is_error()));
            }
        }
    }

    fn app_config<'a>(
        intent: &'a str,
        kind: &'a str,
        group: Option<&'a str>,
        win32: Cfg<&'a Win32Settings>,
        winget: Cfg<&'a WinGetSettings>,
    ) -> AppAssignmentConfig<'a> {
        AppAssignmentConfig {
            app_id: Cfg::Known(G),
            intent: Cfg::Known(intent),
            target: target(Cfg::Known(kind), group.into()),
            win32_settings: win32,
            winget_settings: winget,
        }
    }

    #[test]
    fn app_assignment_table() {
        use super::super::settings::InstallTimeWindow;
        let plain = Win32Settings::default();
        let deadline = Win32Settings {
            install_time: Some(InstallTimeWindow {
                use_local_time: false,
                start: None,
                deadline: Some("2026-01-01T00:00:00Z".into()),
            }),
            ..Default::default()
        };
        let winget = WinGetSettings::default();
        let cases: Vec<(AppAssignmentConfig<'_>, Vec<&str>)> = vec![
            (app_config("required", "group", Some(G), Cfg::Known(&plain), Cfg::Null), vec![]),
            (app_config("required", "group", Some(G), Cfg::Unknown, Cfg::Null), vec![]),
            (app_config("required", "all_devices", None, Cfg::Null, Cfg::Known(&winget)), vec![]),
            (
                app_config("required", "group", Some(G), Cfg::Known(&plain), Cfg::Known(&winget)),
                vec!["winget_settings"],
            ),
            (
                app_config("required", "exclusion_group", Some(G), Cfg::Known(&plain), Cfg::Null),
                vec!["win32_settings"],
            ),
            (
                app_config("available", "group", Some(G), Cfg::Known(&deadline), Cfg::Null),
                vec!["win32_settings.install_time.deadline"],
            ),
            (app_config("available", "all_devices", None, Cfg::Null, Cfg::Null), vec!["intent"]),
            (app_config("sometimes", "group", None, Cfg::Null, Cfg::Null), vec!["intent", "target.group_id"]),
        ];
        for (config, want) in cases {
            let got = validate_app_assignment(&config);
            assert_eq!(paths(&got), want, "{config:?}: {got:?}");
        }
        let mut missing = app_config("required", "all_devices", None, Cfg::Null, Cfg::Null);
        missing.app_id = Cfg::Null;
        assert_eq!(paths(&validate_app_assignment(&missing)), ["app_id"]);
        missing.app_id = Cfg::Known("7");
        assert_eq!(paths(&validate_app_assignment(&missing)), ["app_id"]);
    }

    #[test]
    fn app_compatibility_table() {
        let win32 = AppSettings::Win32(Win32Settings::default());
        let winget = AppSettings::WinGet(WinGetSettings::default());
        type Case<'a> = (Option<Intent>, Option<&'a AppSettings>, &'a str, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (Some(Intent::Required), Some(&win32), "#microsoft.graph.win32LobApp", vec![]),
            (Some(Intent::Required), Some(&win32), "#microsoft.graph.winGetApp", vec!["win32_settings"]),
            (
                Some(Intent::Required),
                Some(&winget),
                "#microsoft.graph.win32CatalogApp",
                vec!["winget_settings"],
            ),
            (Some(Intent::Required), None, "#microsoft.graph.officeSuiteApp", vec![]),
            (Some(Intent::AvailableWithoutEnrollment), None, "microsoft.graph.winGetApp", vec!["intent"]),
            (Some(Intent::AvailableWithoutEnrollment), None, "#microsoft.graph.iosStoreApp", vec![]),
        ];
        for (intent, settings, app_type, want) in cases {
            let got = check_app_compatibility(intent, settings, "app-1", app_type);
            assert_eq!(paths(&got), want, "{intent:?} {app_type}: {got:?}");
            assert!(got.iter().all(Finding::is_error));
        }
        let got = check_app_compatibility(
            Some(Intent::Required),
            Some(&win32),
            "app-1",
            "#microsoft.graph.winGetApp",
        );
        assert!(got[0].message.contains("app app-1 is #microsoft.graph.winGetApp"), "{}", got[0]);
    }

    #[test]
    fn script_assignment_table() {
        let ok = ScriptAssignmentConfig {
            script_id: Cfg::Known(G),
            target: target(Cfg::Known("all_users"), Cfg::Null),
        };
        assert!(validate_script_assignment(&ok).is_empty());
        let bad = ScriptAssignmentConfig {
            script_id: Cfg::Null,
            target: target(Cfg::Known("exclusion_group"), Cfg::Null),
        };
        assert_eq!(paths(&validate_script_assignment(&bad)), ["script_id", "target.group_id"]);
        // Script targets take no filter attributes; whatever is passed is not checked.
        let filtered = ScriptAssignmentConfig {
            script_id: Cfg::Known(G),
            target: TargetConfig { filter_id: Cfg::Known("x"), ..target(Cfg::Known("group"), Cfg::Known(G)) },
        };
        assert!(validate_script_assignment(&filtered).is_empty());
    }
}
