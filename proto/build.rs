//! Generates Rust code for the plugin protocol from `proto/*.proto`.
//!
//! protox parses the files in pure Rust (it ships the Google well-known types), so the
//! build needs no `protoc` binary.

use std::error::Error;

const PROTOS: &[&str] = &["proto/tfplugin6.proto", "proto/go_plugin.proto"];

fn main() -> Result<(), Box<dyn Error>> {
    for file in PROTOS {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        // Clients exist for the integration tests that talk to the real binary.
        .build_client(true)
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
