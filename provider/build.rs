//! Link the provider executable at a fixed address (non-PIE) on Linux.
//!
//! Terraform starts the provider several times per plan, so what it maps at start is paid each
//! time. A position-independent executable carries ~0.6 MB of relocations that the dynamic
//! loader applies at every start, copying ~0.3 MB of relocated tables into private memory;
//! linked at a fixed address, both disappear (idle RSS −1.3 MiB, binary −0.6 MB, measured with
//! benches/provider-overhead.sh, see docs/performance.md). Go providers are linked the same way
//! (Go's default `-buildmode=exe` on linux/amd64). The code itself stays position-independent
//! (the dependencies are compiled as for PIE); only the final link changes, and only for the
//! binaries, not the test executables. Other systems (macOS requires PIE) are left alone, and
//! so are statically linked builds (`crt-static`, the default on musl): rustc links those as
//! static PIE, and `-no-pie` on top produces an executable that crashes at start.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let crt_static = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|features| features.split(',').any(|f| f == "crt-static"));
    if linux && !crt_static {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
