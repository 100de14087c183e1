//! Generated Rust code for Terraform's plugin protocol 6 (version 6.11) and for the gRPC
//! services of HashiCorp's go-plugin, from our own `.proto` transcriptions in `proto/`.
//!
//! Servers are what the provider uses; clients are generated for tests that drive the
//! real binary.

/// Terraform plugin protocol 6.11 (`tfplugin6` package).
#[allow(clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used, missing_docs)]
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's controller, stdio and broker services (`plugin` package).
#[allow(clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used, missing_docs)]
pub mod plugin {
    tonic::include_proto!("plugin");
}
