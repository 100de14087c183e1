//! The full workflow example (`examples/user-driven-entra-join` and the module it calls) as a
//! test workspace, and the Graph writes of a run read back from the emulator's request log.

use std::path::PathBuf;

use serde_json::Value;

use crate::emulator::faults::request_label;
use crate::harness::{Emulator, HarnessError, Result, Workspace};

fn examples_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// A workspace holding a copy of `examples/user-driven-entra-join` (its module linked, not
/// copied), with modules installed (`terraform get`).
pub async fn workspace(emu: &Emulator) -> Result<Workspace> {
    let ws = Workspace::new(emu)?;
    let example = examples_root().join("user-driven-entra-join");
    for entry in std::fs::read_dir(&example)?.flatten() {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tf") {
            // The example sits next to `modules/`; the copy has `modules/` inside it.
            let text = std::fs::read_to_string(&path)?.replace("\"../modules/", "\"./modules/");
            ws.write(&name, &text)?;
        } else {
            std::fs::copy(&path, ws.path().join(&name))?;
        }
    }
    std::os::unix::fs::symlink(examples_root().join("modules"), ws.path().join("modules"))?;
    ws.must(&["get"]).await?;
    Ok(ws)
}

/// One Graph write (a request other than GET/HEAD, `$batch` envelopes excluded, their inner
/// requests included) as the emulator logged it: the unit the `fail_write_at` switch counts.
#[derive(Clone, Debug)]
pub struct Write {
    /// Index in the request log.
    pub log_index: usize,
    pub method: String,
    /// Path without query.
    pub path: String,
    pub in_batch: bool,
    pub status: u64,
    pub response_dropped: bool,
}

impl Write {
    /// `METHOD /path` with every GUID replaced by `{id}`: the same call in every run.
    pub fn label(&self) -> String {
        request_label(&self.method, &self.path)
    }

    /// Whether this write creates a Graph object or relationship (not a read-only POST action).
    pub fn creates(&self) -> bool {
        let p = self.path.as_str();
        self.method == "POST"
            && !["/getByIds", "/retrieveEnrollmentTimeDeviceMembershipTarget", "/searchExistingIdentities"]
                .iter()
                .any(|read| p.ends_with(read))
    }
}

/// The Graph writes in `log` (from `Emulator::requests`), in arrival order.
pub fn writes(log: &[Value]) -> Vec<Write> {
    log.iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let method = e["method"].as_str()?;
            let full = e["path"].as_str()?;
            let path = full.split('?').next().unwrap_or(full);
            let graph = path.starts_with("/v1.0/") || path.starts_with("/beta/");
            if matches!(method, "GET" | "HEAD") || !graph || path.ends_with("/$batch") {
                return None;
            }
            Some(Write {
                log_index: i,
                method: method.to_owned(),
                path: path.to_owned(),
                in_batch: !e["batch_id"].is_null(),
                status: e["status"].as_u64().unwrap_or(0),
                response_dropped: e["response_dropped"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// Changes the emulator's fault settings (`POST /_emulator/faults`).
pub async fn set_faults(emu: &Emulator, patch: Value) -> Result<()> {
    emu.control_send(reqwest::Method::POST, "/_emulator/faults", Some(patch)).await.map(|_| ())
}

/// Back to the fixtures with an empty log (`POST /_emulator/reset`); returns the objects then.
pub async fn reset(emu: &Emulator) -> Result<Value> {
    emu.control_send(reqwest::Method::POST, "/_emulator/reset", None).await?;
    emu.control_get("/_emulator/objects").await
}

/// Runs `terraform apply` until one succeeds (at most `attempts` times); returns how many
/// runs it took, or the last failure.
pub async fn apply_until_success(ws: &Workspace, attempts: u32) -> Result<u32> {
    let mut last = String::new();
    for n in 1..=attempts {
        let out = ws.terraform(&["apply", "-auto-approve", "-input=false"]).await?;
        if out.success() {
            return Ok(n);
        }
        last = out.combined();
    }
    Err(HarnessError::Setup(format!("terraform apply failed {attempts} times; last:\n{last}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn writes_skip_reads_envelopes_and_tokens() {
        let log = json!([
            {"method": "POST", "path": "/00000000-0000-0000-0000-0000000000aa/oauth2/v2.0/token", "batch_id": null},
            {"method": "GET", "path": "/v1.0/groups?$filter=x", "batch_id": null},
            {"method": "POST", "path": "/v1.0/$batch", "batch_id": null, "status": 200},
            {"method": "POST", "path": "/v1.0/groups/3b35f0cb-3c9a-4fa7-89d1-8bbec2106058/members/$ref", "batch_id": 2, "status": 204},
            {"method": "DELETE", "path": "/beta/deviceAppManagement/mobileApps/c3000000-0000-4000-8000-000000000001/assignments/3b35f0cb-3c9a-4fa7-89d1-8bbec2106058_1_0", "batch_id": null, "status": 204, "response_dropped": true}
        ]);
        let w = writes(log.as_array().map(Vec::as_slice).unwrap_or_default());
        let labels: Vec<String> = w.iter().map(Write::label).collect();
        assert_eq!(
            labels,
            [
                "POST /v1.0/groups/{id}/members/$ref",
                "DELETE /beta/deviceAppManagement/mobileApps/{id}/assignments/{id}"
            ]
        );
        assert_eq!((w[0].log_index, w[0].in_batch, w[1].response_dropped), (3, true, true));
    }
}
