//! Writes the registry-style docs tree (`docs/`) from the provider's schemas and `examples/`.
//!
//! Usage: `cargo run -p terraform-provider-autopilot --bin gen-docs [-- --check]`.
//! With `--check` nothing is written; the exit code is 1 when `docs/` is stale.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let check = std::env::args().any(|a| a == "--check");
    let tree =
        autopilot_provider::docs::render(&autopilot_provider::resources::provider(), &root.join("examples"));
    let docs = root.join("docs");
    let mut stale = Vec::new();
    for (rel, content) in &tree {
        let path = docs.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(content.as_str()) {
            continue;
        }
        stale.push(rel.clone());
        if !check {
            if let Some(dir) = path.parent()
                && let Err(e) = std::fs::create_dir_all(dir)
            {
                eprintln!("cannot create {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
            if let Err(e) = std::fs::write(&path, content) {
                eprintln!("cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    if check && !stale.is_empty() {
        eprintln!(
            "docs/ is stale ({}); run: cargo run -p terraform-provider-autopilot --bin gen-docs",
            stale.join(", ")
        );
        return ExitCode::FAILURE;
    }
    for rel in &stale {
        println!("wrote docs/{rel}");
    }
    ExitCode::SUCCESS
}
