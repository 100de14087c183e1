//! The protocol stays at the edge: only `server` names Terraform's protocol types, and
//! `plugin` uses only go-plugin's services. Checked on the source text so a stray import
//! fails the build's tests, not a code review.

// Test helpers may panic: a panic is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Source files under `src/<module>` that contain `needle` outside comments.
fn files_naming(module: &str, needle: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(module);
    if !root.exists() {
        return Vec::new();
    }
    rust_files(&root)
        .into_iter()
        .filter(|file| {
            std::fs::read_to_string(file)
                .unwrap()
                .lines()
                .any(|line| !line.trim_start().starts_with("//") && line.contains(needle))
        })
        .collect()
}

#[test]
fn only_server_and_plugin_use_the_protocol_crate() {
    for module in ["framework", "resources", "graph"] {
        let offenders = files_naming(module, "tfproto");
        assert!(offenders.is_empty(), "protocol types used outside server/plugin: {offenders:?}");
    }
}

#[test]
fn plugin_shell_does_not_name_terraform_protocol_types() {
    let offenders = files_naming("plugin", "tfplugin6");
    assert!(offenders.is_empty(), "the plugin shell must go through server::grpc_service: {offenders:?}");
}

#[test]
fn framework_knows_neither_grpc_nor_graph() {
    for needle in ["tonic", "crate::graph", "crate::server", "crate::plugin"] {
        let offenders = files_naming("framework", needle);
        assert!(offenders.is_empty(), "framework depends on {needle}: {offenders:?}");
    }
}
