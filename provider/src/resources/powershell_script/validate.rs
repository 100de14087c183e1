//! Plan-time checks of `autopilot_powershell_script`.

use crate::resources::assignments::validate::{Cfg, Finding};

use super::wire::{RunAsAccount, encode_content};

/// Largest script the Intune admin center accepts: 200 KB (observed in the portal's upload
/// step; Microsoft's Graph pages give no limit, so this is a warning, not an error).
pub const MAX_SCRIPT_BYTES: usize = 200 * 1024;

/// The script as configured.
#[derive(Clone, Copy, Debug)]
pub struct ScriptConfig<'a> {
    pub display_name: Cfg<&'a str>,
    pub file_name: Cfg<&'a str>,
    pub script_content: Cfg<&'a str>,
    pub run_as_account: Cfg<&'a str>,
}

/// Every plan-time finding.
pub fn validate_script(c: &ScriptConfig<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Cfg::Null | Cfg::Known("") = c.display_name {
        out.push(Finding::error("display_name", "must not be empty"));
    }
    match c.file_name {
        Cfg::Null | Cfg::Known("") => out.push(Finding::error("file_name", "must not be empty")),
        Cfg::Known(name) if name.contains(['/', '\\']) => {
            out.push(Finding::error("file_name", "is a file name, not a path"));
        }
        Cfg::Known(name) if !name.to_ascii_lowercase().ends_with(".ps1") => {
            out.push(Finding::warning("file_name", "Intune platform scripts are .ps1 files"));
        }
        _ => {}
    }
    match c.script_content {
        Cfg::Null => out.push(Finding::error("script_content", "is required")),
        Cfg::Known(text) if text.trim().is_empty() => {
            out.push(Finding::error("script_content", "must not be empty"));
        }
        Cfg::Known(text) => {
            // Measured as uploaded (UTF-8, BOM for non-ASCII).
            let bytes = encode_content(text).len() / 4 * 3;
            if bytes > MAX_SCRIPT_BYTES {
                out.push(Finding::warning(
                    "script_content",
                    format!(
                        "is about {} KB; the Intune admin center accepts scripts up to 200 KB",
                        bytes / 1024
                    ),
                ));
            }
        }
        Cfg::Unknown => {}
    }
    if let Cfg::Known(account) = c.run_as_account
        && RunAsAccount::parse(account).is_none()
    {
        out.push(Finding::error(
            "run_as_account",
            format!("must be one of {:?}, got {account:?}", RunAsAccount::NAMES),
        ));
    }
    if c.run_as_account == Cfg::Known("user") {
        out.push(Finding::warning(
            "run_as_account",
            "device preparation runs scripts before any user signs in; a \"user\" script is not run during OOBE",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(c: &ScriptConfig<'_>) -> Vec<(String, bool)> {
        validate_script(c).into_iter().map(|f| (f.path.clone(), f.is_error())).collect()
    }

    #[test]
    fn table() {
        let ok = ScriptConfig {
            display_name: Cfg::Known("Set time zone"),
            file_name: Cfg::Known("tz.ps1"),
            script_content: Cfg::Known("Set-TimeZone -Id 'UTC'"),
            run_as_account: Cfg::Known("system"),
        };
        assert!(paths(&ok).is_empty());
        let big = "#".repeat(MAX_SCRIPT_BYTES + 10);
        let cases: Vec<(ScriptConfig<'_>, Vec<(&str, bool)>)> = vec![
            (ScriptConfig { display_name: Cfg::Known(""), ..ok }, vec![("display_name", true)]),
            (ScriptConfig { display_name: Cfg::Unknown, ..ok }, vec![]),
            (ScriptConfig { file_name: Cfg::Known("tz.txt"), ..ok }, vec![("file_name", false)]),
            (ScriptConfig { file_name: Cfg::Known("TZ.PS1"), ..ok }, vec![]),
            (ScriptConfig { file_name: Cfg::Known("c:\\tz.ps1"), ..ok }, vec![("file_name", true)]),
            (ScriptConfig { script_content: Cfg::Known(" \n"), ..ok }, vec![("script_content", true)]),
            (ScriptConfig { script_content: Cfg::Null, ..ok }, vec![("script_content", true)]),
            (ScriptConfig { script_content: Cfg::Known(&big), ..ok }, vec![("script_content", false)]),
            (ScriptConfig { run_as_account: Cfg::Known("admin"), ..ok }, vec![("run_as_account", true)]),
            (ScriptConfig { run_as_account: Cfg::Known("user"), ..ok }, vec![("run_as_account", false)]),
            (ScriptConfig { run_as_account: Cfg::Null, ..ok }, vec![]),
        ];
        for (config, want) in cases {
            let want: Vec<(String, bool)> = want.into_iter().map(|(p, e)| (p.to_owned(), e)).collect();
            assert_eq!(paths(&config), want, "{config:?}");
        }
    }
}
