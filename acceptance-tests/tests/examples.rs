#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test

//! Every example is formatted and valid against the provider's real schema:
//! `terraform fmt -check` over `examples/`, and `terraform init` + `validate` of each example
//! directory (a copy, with the provider's source address added where the snippet omits it).

use std::path::{Path, PathBuf};

use acceptance_tests::harness::{Emulator, Workspace};

fn examples_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Directories holding `.tf` files (modules are validated through the examples that use them).
fn example_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut has_tf = false;
    let mut children: Vec<PathBuf> = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            children.push(p);
        } else if p.extension().is_some_and(|x| x == "tf") {
            has_tf = true;
        }
    }
    if has_tf && !dir.components().any(|c| c.as_os_str() == "modules") {
        out.push(dir.to_owned());
    }
    children.sort();
    for c in children {
        example_dirs(&c, out);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        if p.is_file() {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn examples_are_formatted_and_valid() {
    let root = examples_root();
    let fmt = tokio::process::Command::new("terraform")
        .args(["fmt", "-check", "-recursive", "-diff", "-no-color"])
        .arg(&root)
        .output()
        .await
        .expect("terraform fmt runs");
    assert!(fmt.status.success(), "terraform fmt -check failed:\n{}", String::from_utf8_lossy(&fmt.stdout));

    // validate never calls Graph, but the workspace helper wires the CLI config and provider.
    let emu = Emulator::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator");
    let mut dirs = Vec::new();
    example_dirs(&root, &mut dirs);
    assert!(dirs.len() >= 3, "examples not found under {}", root.display());
    let mut failures = Vec::new();
    for dir in &dirs {
        let ws = Workspace::new(&emu).expect("workspace");
        let rel = dir.strip_prefix(&root).unwrap_or(dir);
        // Keep relative module paths (`../modules/...`) working from the copy.
        let copy = ws.path().join("examples").join(rel);
        copy_dir(dir, &copy);
        let modules = root.join("modules");
        if modules.is_dir() {
            let link = ws.path().join("examples/modules");
            if !link.exists() {
                #[cfg(unix)]
                std::os::unix::fs::symlink(&modules, &link).expect("symlink modules");
                // Symlinks need a privilege on Windows; a copy serves the same purpose.
                #[cfg(not(unix))]
                copy_dir(&modules, &link);
            }
        }
        let has_terraform_block = std::fs::read_dir(&copy)
            .expect("read copy")
            .flatten()
            .any(|e| std::fs::read_to_string(e.path()).unwrap_or_default().contains("required_providers"));
        if !has_terraform_block {
            std::fs::write(
                copy.join("zz_versions.tf"),
                "terraform {\n  required_providers {\n    autopilot = {\n      source = \"autopilot/autopilot\"\n    }\n  }\n}\n",
            )
            .expect("write versions");
        }
        let dir_arg = format!("-chdir={}", copy.display());
        for args in [vec![dir_arg.as_str(), "get"], vec![dir_arg.as_str(), "validate"]] {
            let out = tokio::process::Command::new("terraform")
                .args(&args)
                .arg("-no-color")
                .envs(ws_env(&ws))
                .output()
                .await
                .expect("terraform runs");
            if !out.status.success() {
                failures.push(format!(
                    "{} ({}):\n{}{}",
                    rel.display(),
                    args[1],
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
                break;
            }
        }
    }
    emu.stop().await;
    assert!(failures.is_empty(), "invalid examples:\n{}", failures.join("\n"));
}

/// The CLI configuration of the workspace (dev_overrides), without Graph credentials.
fn ws_env(ws: &Workspace) -> Vec<(String, String)> {
    vec![
        ("TF_CLI_CONFIG_FILE".into(), ws.path().join("terraformrc").display().to_string()),
        ("TF_IN_AUTOMATION".into(), "1".into()),
        ("CHECKPOINT_DISABLE".into(), "1".into()),
    ]
}

/// The module's own `terraform test` files, run offline against the emulator.
#[tokio::test(flavor = "multi_thread")]
async fn module_terraform_test() {
    let emu = Emulator::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator");
    let ws = Workspace::new(&emu).expect("workspace");
    let module = examples_root().join("modules/autopilot-device-preparation");
    // The module is the root module of `terraform test`.
    copy_dir(&module, ws.path());
    copy_dir(&module.join("tests"), &ws.path().join("tests"));
    let out = ws.terraform(&["test"]).await.expect("terraform test runs");
    emu.stop().await;
    assert!(out.success(), "terraform test failed:\n{}", out.combined());
}
