//! `terraform-provider-autopilot`: started by Terraform, or by hand with `--debug`.

use std::process::ExitCode;

use autopilot_provider::{plugin, resources};

const USAGE: &str = "usage: terraform-provider-autopilot [--debug | --version]\n\
                     Terraform starts this provider itself; run it by hand only with --debug.";

#[tokio::main]
async fn main() -> ExitCode {
    let mut debug = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--debug" | "-debug" => debug = true,
            "--version" | "-version" => {
                println!("terraform-provider-autopilot {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "--help" | "-h" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    plugin::logging::init();
    let served = if debug {
        plugin::serve_debug(resources::provider()).await
    } else {
        plugin::serve(resources::provider()).await
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
