//! `--debug`: instead of being started by Terraform, the provider runs on its own (e.g.
//! under a debugger) and prints the `TF_REATTACH_PROVIDERS` value that tells Terraform
//! where to find it.

use serde::Serialize;

/// The source address Terraform knows the provider by.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/autopilot/autopilot";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReattachConfig<'a> {
    protocol: &'a str,
    protocol_version: u32,
    pid: u32,
    test: bool,
    addr: ReattachAddr<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReattachAddr<'a> {
    network: &'a str,
    string: &'a str,
}

/// The JSON Terraform expects in `TF_REATTACH_PROVIDERS`: provider address → where and how
/// to connect. `Test: true` tells Terraform not to manage (kill) the process.
pub fn reattach_json(protocol: u32, network: &str, address: &str, pid: u32) -> String {
    let config = ReattachConfig {
        protocol: "grpc",
        protocol_version: protocol,
        pid,
        test: true,
        addr: ReattachAddr { network, string: address },
    };
    let map = std::collections::BTreeMap::from([(PROVIDER_ADDRESS, config)]);
    serde_json::to_string(&map).unwrap_or_default()
}

/// The human instructions printed in debug mode (stdout is free then: no go-plugin
/// client reads it).
pub fn instructions(json: &str) -> String {
    format!(
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{}'\n",
        json.replace('\'', r#"'"'"'"#)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reattach_json_has_terraform_field_names() {
        let json: serde_json::Value =
            serde_json::from_str(&reattach_json(6, "unix", "/tmp/plugin9", 42)).unwrap();
        let entry = &json[PROVIDER_ADDRESS];
        assert_eq!(entry["Protocol"], "grpc");
        assert_eq!(entry["ProtocolVersion"], 6);
        assert_eq!(entry["Pid"], 42);
        assert_eq!(entry["Test"], true);
        assert_eq!(entry["Addr"]["Network"], "unix");
        assert_eq!(entry["Addr"]["String"], "/tmp/plugin9");
    }

    #[test]
    fn instructions_quote_for_the_shell() {
        assert!(instructions("{\"a\":\"it's\"}").contains(r#"TF_REATTACH_PROVIDERS='{"a":"it'"'"'s"}'"#));
    }
}
