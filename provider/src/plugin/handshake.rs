//! The go-plugin handshake: the environment Terraform starts us with, and the one line
//! we answer with on stdout.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// go-plugin's own protocol version (the first field of the handshake line).
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol major version we speak.
pub const APP_PROTOCOL_VERSION: u32 = 6;
/// Terraform sets this variable to [`MAGIC_COOKIE_VALUE`] when it launches a provider.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Fixed by Terraform for every provider; it only tells us we were launched by Terraform.
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// What the plugin reads from its environment, captured once so tests can supply their own.
#[derive(Clone, Debug, Default)]
pub struct PluginEnv {
    /// `TF_PLUGIN_MAGIC_COOKIE`.
    pub magic_cookie: Option<String>,
    /// `PLUGIN_PROTOCOL_VERSIONS`: comma-separated versions the client speaks.
    pub protocol_versions: Option<String>,
    /// `PLUGIN_UNIX_SOCKET_DIR`, else the temp dir (`TMPDIR`).
    pub socket_dir: PathBuf,
    /// `PLUGIN_MIN_PORT` and `PLUGIN_MAX_PORT`: the range for the TCP fallback.
    pub min_port: Option<String>,
    pub max_port: Option<String>,
    /// `PLUGIN_CLIENT_CERT`: PEM certificate Terraform will present (AutoMTLS).
    pub client_cert: Option<String>,
}

impl PluginEnv {
    /// Read the process environment.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            magic_cookie: var(MAGIC_COOKIE_KEY),
            protocol_versions: var("PLUGIN_PROTOCOL_VERSIONS"),
            socket_dir: var("PLUGIN_UNIX_SOCKET_DIR").map_or_else(std::env::temp_dir, PathBuf::from),
            min_port: var("PLUGIN_MIN_PORT"),
            max_port: var("PLUGIN_MAX_PORT"),
            client_cert: var("PLUGIN_CLIENT_CERT"),
        }
    }
}

/// Why the handshake cannot start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandshakeError {
    #[error(
        "This binary is a Terraform provider plugin. It is not meant to be run directly: \
         Terraform starts it when a configuration uses the provider. To debug it, run it with --debug."
    )]
    NotLaunchedByTerraform,
    #[error(
        "Terraform offered plugin protocol versions {offered:?}, but this provider speaks only protocol 6. \
         Use Terraform 1.0 or later."
    )]
    UnsupportedProtocol { offered: String },
}

/// The magic cookie proves Terraform (not a user at a shell) started us.
pub fn check_magic_cookie(env: &PluginEnv) -> Result<(), HandshakeError> {
    if env.magic_cookie.as_deref() == Some(MAGIC_COOKIE_VALUE) {
        Ok(())
    } else {
        Err(HandshakeError::NotLaunchedByTerraform)
    }
}

/// Pick protocol 6 if the client offers it. Without the variable (an old client, or a
/// manual launch), go-plugin assumes the server's version, and so do we.
pub fn negotiate_protocol(env: &PluginEnv) -> Result<u32, HandshakeError> {
    let Some(offered) = env.protocol_versions.as_deref() else {
        return Ok(APP_PROTOCOL_VERSION);
    };
    let speaks_ours = offered.split(',').any(|v| v.trim().parse::<u32>().ok() == Some(APP_PROTOCOL_VERSION));
    if speaks_ours {
        Ok(APP_PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::UnsupportedProtocol { offered: offered.to_owned() })
    }
}

/// The line go-plugin's client reads from our stdout:
/// `core-version|app-version|network|address|grpc|server-cert`, the certificate being
/// base64 (standard alphabet, no padding) DER, or empty without AutoMTLS.
pub fn handshake_line(protocol: u32, network: &str, address: &str, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der.map(|der| STANDARD_NO_PAD.encode(der)).unwrap_or_default();
    format!("{CORE_PROTOCOL_VERSION}|{protocol}|{network}|{address}|grpc|{cert}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(cookie: Option<&str>, versions: Option<&str>) -> PluginEnv {
        PluginEnv {
            magic_cookie: cookie.map(str::to_owned),
            protocol_versions: versions.map(str::to_owned),
            ..PluginEnv::default()
        }
    }

    #[test]
    fn magic_cookie_must_match_exactly() {
        assert_eq!(check_magic_cookie(&env(Some(MAGIC_COOKIE_VALUE), None)), Ok(()));
        assert_eq!(check_magic_cookie(&env(None, None)), Err(HandshakeError::NotLaunchedByTerraform));
        assert_eq!(check_magic_cookie(&env(Some("d602"), None)), Err(HandshakeError::NotLaunchedByTerraform));
    }

    #[test]
    fn protocol_six_is_chosen_only_when_offered() {
        assert_eq!(negotiate_protocol(&env(None, Some("5,6"))), Ok(6));
        assert_eq!(negotiate_protocol(&env(None, Some("6"))), Ok(6));
        assert_eq!(negotiate_protocol(&env(None, None)), Ok(6));
        assert_eq!(
            negotiate_protocol(&env(None, Some("4,5"))),
            Err(HandshakeError::UnsupportedProtocol { offered: "4,5".into() })
        );
        assert!(negotiate_protocol(&env(None, Some("x,16"))).is_err());
    }

    #[test]
    fn handshake_line_layout() {
        assert_eq!(handshake_line(6, "unix", "/tmp/plugin42", None), "1|6|unix|/tmp/plugin42|grpc|");
        // 0xfb 0xff encodes to "+/8" with the standard alphabet, and no "=" padding.
        assert_eq!(
            handshake_line(6, "tcp", "127.0.0.1:1234", Some(&[0xfb, 0xff])),
            "1|6|tcp|127.0.0.1:1234|grpc|+/8"
        );
    }
}
