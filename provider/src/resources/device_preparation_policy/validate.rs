//! Plan-time checks of a device preparation policy, so mistakes surface in `terraform plan`
//! rather than as an Intune error half-way through an apply.

use std::collections::HashSet;

use uuid::Uuid;

use super::model::{DeploymentMode, JoinType, PolicySettings, UserAccountType};

/// "Minutes allowed before showing installation error": "an integer between 15 and 720" (MEM).
pub const TIMEOUT_MINUTES: std::ops::RangeInclusive<i64> = 15..=720;
/// Allowed apps: 25 since 2026-01-30, both modes (MEM whats-new; DSC mock `maximumCount = 25`).
pub const MAX_ALLOWED_APPS: usize = 25;
/// Allowed scripts: 10 (MEM tutorials; DSC mock `maximumCount = 10`).
pub const MAX_ALLOWED_SCRIPTS: usize = 10;
/// Custom error message length. Not documented by Microsoft; DT enforces 1–1000 characters. low.
pub const MAX_CUSTOM_ERROR_MESSAGE_CHARS: usize = 1000;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, tied to the attribute it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// Top-level attribute name of `autopilot_device_preparation_policy`.
    pub attribute: &'static str,
    pub message: String,
}

impl Finding {
    fn error(attribute: &'static str, message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, attribute, message: message.into() }
    }

    fn warning(attribute: &'static str, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, attribute, message: message.into() }
    }
}

/// Parse `deployment_mode`.
pub fn parse_deployment_mode(s: &str) -> Result<DeploymentMode, Finding> {
    DeploymentMode::parse(s).ok_or_else(|| {
        Finding::error("deployment_mode", format!("must be one of {:?}, got {s:?}", DeploymentMode::VALUES))
    })
}

/// Parse `join_type`.
pub fn parse_join_type(s: &str) -> Result<JoinType, Finding> {
    JoinType::parse(s).ok_or_else(|| {
        Finding::error(
            "join_type",
            format!(
                "must be {:?}, got {s:?}: device preparation supports Microsoft Entra join only",
                JoinType::VALUES[0]
            ),
        )
    })
}

/// Parse `user_account_type`.
pub fn parse_user_account_type(s: &str) -> Result<UserAccountType, Finding> {
    UserAccountType::parse(s).ok_or_else(|| {
        Finding::error(
            "user_account_type",
            format!("must be one of {:?}, got {s:?}", UserAccountType::VALUES),
        )
    })
}

/// What the resource knows at plan time besides the settings.
#[derive(Clone, Copy, Debug)]
pub struct PlanContext<'a> {
    pub device_group_id: Option<&'a str>,
    pub assigned_group_ids: &'a [String],
    /// User-driven-only attributes (see [`PolicySettings::USER_DRIVEN_ONLY`]) that are set in
    /// the configuration, as opposed to holding their defaults.
    pub configured_user_driven_only: &'a [&'static str],
}

/// Every finding for a planned policy; the plan fails if any is an error.
pub fn validate(settings: &PolicySettings, ctx: &PlanContext<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if !TIMEOUT_MINUTES.contains(&settings.installation_timeout_minutes) {
        out.push(Finding::error(
            "installation_timeout_minutes",
            format!(
                "must be between {} and {} minutes, got {}",
                TIMEOUT_MINUTES.start(),
                TIMEOUT_MINUTES.end(),
                settings.installation_timeout_minutes
            ),
        ));
    }
    let message_chars = settings.custom_error_message.chars().count();
    if settings.custom_error_message.trim().is_empty() {
        out.push(Finding::error("custom_error_message", "must not be empty"));
    } else if message_chars > MAX_CUSTOM_ERROR_MESSAGE_CHARS {
        out.push(Finding::error(
            "custom_error_message",
            format!("must be at most {MAX_CUSTOM_ERROR_MESSAGE_CHARS} characters, got {message_chars}"),
        ));
    }
    check_ids(&mut out, "allowed_app_ids", &settings.allowed_app_ids, MAX_ALLOWED_APPS);
    check_ids(&mut out, "allowed_script_ids", &settings.allowed_script_ids, MAX_ALLOWED_SCRIPTS);
    check_ids(&mut out, "assigned_group_ids", ctx.assigned_group_ids, usize::MAX);
    if let Some(group) = ctx.device_group_id {
        check_guid(&mut out, "device_group_id", group);
    }

    match settings.deployment_mode {
        DeploymentMode::Automatic => {
            if !ctx.assigned_group_ids.is_empty() {
                out.push(Finding::error(
                    "assigned_group_ids",
                    "automatic (Windows 365) policies are not assigned to user groups; they take effect through \
                     the Cloud PC provisioning policy that references them",
                ));
            }
            for attribute in ctx.configured_user_driven_only {
                out.push(Finding::error(
                    attribute,
                    "exists only in user_driven policies; the automatic template has only allowed apps and scripts",
                ));
            }
        }
        DeploymentMode::UserDriven => {
            let installs_something =
                !settings.allowed_app_ids.is_empty() || !settings.allowed_script_ids.is_empty();
            if ctx.device_group_id.is_none() && installs_something {
                out.push(Finding::warning(
                    "device_group_id",
                    "without a device group, devices are not added to a group during deployment, so allowed apps \
                     and scripts (which must be assigned to that group) are not installed",
                ));
            }
        }
    }
    out
}

fn check_ids(out: &mut Vec<Finding>, attribute: &'static str, ids: &[String], max: usize) {
    if ids.len() > max {
        out.push(Finding::error(attribute, format!("at most {max} entries are allowed, got {}", ids.len())));
    }
    let mut seen = HashSet::new();
    for id in ids {
        check_guid(out, attribute, id);
        if !seen.insert(id.to_ascii_lowercase()) {
            out.push(Finding::error(attribute, format!("{id} is listed more than once")));
        }
    }
}

fn check_guid(out: &mut Vec<Finding>, attribute: &'static str, id: &str) {
    // Graph object ids are hyphenated GUIDs; reject braces/urn forms that `Uuid` would accept.
    if id.len() != 36 || Uuid::parse_str(id).is_err() {
        out.push(Finding::error(attribute, format!("{id:?} is not an object id (a GUID)")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G1: &str = "e83d36e1-3ff2-4567-90d9-940919184ad5";

    fn guid(n: usize) -> String {
        format!("00000000-0000-0000-0000-{n:012}")
    }

    fn ctx<'a>(groups: &'a [String], configured: &'a [&'static str]) -> PlanContext<'a> {
        PlanContext {
            device_group_id: Some(G1),
            assigned_group_ids: groups,
            configured_user_driven_only: configured,
        }
    }

    fn errors(findings: &[Finding]) -> Vec<(&'static str, String)> {
        findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| (f.attribute, f.message.clone()))
            .collect()
    }

    #[test]
    fn defaults_are_valid_in_both_modes() {
        for mode in [DeploymentMode::UserDriven, DeploymentMode::Automatic] {
            assert!(validate(&PolicySettings::new(mode), &ctx(&[], &[])).is_empty(), "{mode:?}");
        }
    }

    #[test]
    fn timeout_bounds() {
        for (minutes, ok) in [(14, false), (15, true), (60, true), (720, true), (721, false), (-1, false)] {
            let mut s = PolicySettings::new(DeploymentMode::UserDriven);
            s.installation_timeout_minutes = minutes;
            let errs = errors(&validate(&s, &ctx(&[], &[])));
            assert_eq!(errs.is_empty(), ok, "{minutes}: {errs:?}");
            if !ok {
                assert_eq!(errs[0].0, "installation_timeout_minutes");
            }
        }
    }

    #[test]
    fn app_and_script_limits() {
        let mut s = PolicySettings::new(DeploymentMode::UserDriven);
        s.allowed_app_ids = (0..25).map(guid).collect();
        s.allowed_script_ids = (0..10).map(guid).collect();
        assert!(errors(&validate(&s, &ctx(&[], &[]))).is_empty());
        s.allowed_app_ids.push(guid(25));
        s.allowed_script_ids.push(guid(10));
        let errs = errors(&validate(&s, &ctx(&[], &[])));
        assert_eq!(errs.iter().map(|e| e.0).collect::<Vec<_>>(), ["allowed_app_ids", "allowed_script_ids"]);
        assert!(errs[0].1.contains("at most 25"));
    }

    #[test]
    fn duplicates_and_malformed_ids() {
        let mut s = PolicySettings::new(DeploymentMode::UserDriven);
        s.allowed_app_ids =
            vec![G1.to_owned(), G1.to_uppercase(), "{e83d36e1-3ff2-4567-90d9-940919184ad5}".to_owned()];
        let errs = errors(&validate(&s, &ctx(&[], &[])));
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs.iter().any(|e| e.1.contains("more than once")));
        assert!(errs.iter().any(|e| e.1.contains("not an object id")));
    }

    #[test]
    fn custom_error_message_length() {
        let mut s = PolicySettings::new(DeploymentMode::UserDriven);
        s.custom_error_message = "é".repeat(1000);
        assert!(errors(&validate(&s, &ctx(&[], &[]))).is_empty());
        s.custom_error_message.push('x');
        assert_eq!(errors(&validate(&s, &ctx(&[], &[])))[0].0, "custom_error_message");
        s.custom_error_message = "  ".into();
        assert_eq!(errors(&validate(&s, &ctx(&[], &[])))[0].1, "must not be empty");
    }

    #[test]
    fn automatic_mode_takes_no_user_groups_and_no_oobe_settings() {
        let s = PolicySettings::new(DeploymentMode::Automatic);
        let groups = [guid(1)];
        let errs = errors(&validate(&s, &ctx(&groups, &["allow_skip", "user_account_type"])));
        assert_eq!(
            errs.iter().map(|e| e.0).collect::<Vec<_>>(),
            ["assigned_group_ids", "allow_skip", "user_account_type"]
        );
        // The device group is allowed in automatic mode (MEM automatic tutorial, Device group page).
        assert!(errors(&validate(&s, &ctx(&[], &[]))).is_empty());
    }

    #[test]
    fn user_driven_without_device_group_warns_when_it_installs_something() {
        let mut s = PolicySettings::new(DeploymentMode::UserDriven);
        let no_group =
            PlanContext { device_group_id: None, assigned_group_ids: &[], configured_user_driven_only: &[] };
        assert!(validate(&s, &no_group).is_empty());
        s.allowed_script_ids = vec![guid(1)];
        let findings = validate(&s, &no_group);
        assert_eq!(findings.len(), 1);
        assert_eq!((findings[0].severity, findings[0].attribute), (Severity::Warning, "device_group_id"));
    }

    #[test]
    fn enum_names() {
        assert_eq!(parse_deployment_mode("automatic").unwrap(), DeploymentMode::Automatic);
        assert_eq!(parse_join_type("entra_join").unwrap(), JoinType::EntraJoin);
        assert_eq!(parse_user_account_type("administrator").unwrap(), UserAccountType::Administrator);
        assert_eq!(parse_user_account_type("standard_user").unwrap(), UserAccountType::StandardUser);
        assert_eq!(parse_join_type("hybrid_join").unwrap_err().attribute, "join_type");
        assert!(parse_user_account_type("Administrator").is_err());
        assert!(parse_deployment_mode("self_deploying").unwrap_err().message.contains("user_driven"));
    }
}
