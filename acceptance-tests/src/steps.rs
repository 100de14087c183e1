//! The resource lifecycle as a list of steps, so every resource test reads the same way:
//!
//! ```text
//! let mut lc = Lifecycle::new(&target);
//! lc.track("autopilot_group.users", Some("/v1.0/groups/{id}"));
//! lc.apply(&cfg_v1).await;                        // apply, then the next plan is empty
//! lc.import_and_compare(Import::block("autopilot_group.users")).await;  // state rm, import, compare
//! lc.update(&cfg_v2).await;                       // in-place change, then an empty plan
//! lc.drift(async { /* portal change */ }, &["owners"]).await;  // detected, repaired, converged
//! lc.destroy().await;                             // nothing tracked is left in Graph
//! ```
//!
//! Each step asserts (panics with terraform's output) instead of returning errors: a failed step
//! is a failed test, and the message says which step and why.

use std::future::Future;

use serde_json::Value;

use crate::harness::{TfOutput, Workspace};
use crate::target::Target;

/// Attributes never compared after an import: `timeouts` is configuration, not remote state.
pub const ALWAYS_IGNORED: &[&str] = &["timeouts"];

/// How [`Lifecycle::import_and_compare`] brings the object into a fresh state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportVia {
    /// An `import { to, id }` block in the configuration, applied.
    Block,
    /// `terraform import ADDRESS ID`.
    Cli,
}

/// One import check: which address, with which import id, and what may differ.
#[derive(Clone, Debug)]
pub struct Import<'a> {
    pub address: &'a str,
    /// The import id; `None` = the applied resource's `id` attribute.
    pub id: Option<String>,
    pub via: ImportVia,
    /// Attributes the import cannot know (documented write-only or provider-only settings).
    pub ignore: &'a [&'a str],
    /// Words the plan after the import must show; empty = the plan must be empty.
    pub plan_shows: &'a [&'a str],
    /// Import into a new workspace holding the same configuration, instead of into this one
    /// after `terraform state rm`.
    pub fresh: bool,
}

impl<'a> Import<'a> {
    /// Import `address` by its own `id` with an import block into this workspace; nothing
    /// ignored; empty plan after.
    pub fn block(address: &'a str) -> Self {
        Self { address, id: None, via: ImportVia::Block, ignore: &[], plan_shows: &[], fresh: false }
    }

    /// The same through `terraform import`.
    pub fn cli(address: &'a str) -> Self {
        Self { via: ImportVia::Cli, ..Self::block(address) }
    }

    /// Import with this id instead of the applied `id` attribute (composite or alternate keys).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Attributes not compared (each must be documented as unknowable on import).
    pub fn ignoring(mut self, attributes: &'a [&'a str]) -> Self {
        self.ignore = attributes;
        self
    }

    /// Import into a new workspace with the same configuration (which must create nothing else).
    pub fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }

    /// The plan after the import must show these words (then an apply settles them).
    pub fn plan_shows(mut self, words: &'a [&'a str]) -> Self {
        self.plan_shows = words;
        self
    }
}

/// A resource whose remote object must be gone after [`Lifecycle::destroy`].
#[derive(Clone, Debug)]
struct Tracked {
    address: String,
    /// Graph path that must answer 404 after destroy (`{id}` = the resource's id, `{id_last}` =
    /// its last `/` segment); used in live mode, where the emulator's store cannot be read.
    gone_path: Option<String>,
    id: Option<String>,
}

/// The lifecycle runner of one configuration in one workspace.
pub struct Lifecycle<'t> {
    target: &'t Target,
    ws: Workspace,
    config: String,
    apply_args: Vec<String>,
    tracked: Vec<Tracked>,
}

fn fail(step: &str, err: impl std::fmt::Display) -> ! {
    panic!("lifecycle step `{step}` failed: {err}")
}

impl<'t> Lifecycle<'t> {
    /// A fresh workspace on `target`.
    pub fn new(target: &'t Target) -> Self {
        let ws = target.workspace().unwrap_or_else(|e| fail("workspace", e));
        Self { target, ws, config: String::new(), apply_args: Vec::new(), tracked: Vec::new() }
    }

    /// The same, with extra environment for every terraform command (e.g. write pacing off).
    pub fn with_env(target: &'t Target, env: &[(&str, &str)]) -> Self {
        let mut lc = Self::new(target);
        for (k, v) in env {
            lc.ws.set_env(k, v);
        }
        lc
    }

    /// Extra arguments for every apply (e.g. `-parallelism=10`).
    pub fn apply_args(&mut self, args: &[&str]) -> &mut Self {
        self.apply_args = args.iter().map(|a| (*a).to_owned()).collect();
        self
    }

    /// Check after destroy that `address`'s object is gone (see [`Tracked::gone_path`]).
    pub fn track(&mut self, address: &str, gone_path: Option<&str>) -> &mut Self {
        self.tracked.push(Tracked {
            address: address.into(),
            gone_path: gone_path.map(Into::into),
            id: None,
        });
        self
    }

    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }

    /// The configuration last applied.
    pub fn config(&self) -> &str {
        &self.config
    }

    /// Attribute values of `address` in this workspace's state.
    pub async fn values(&self, address: &str) -> Value {
        state_values(&self.ws, address)
            .unwrap_or_else(|| fail("state", format!("{address} is not in the state")))
    }

    /// The `id` attribute of `address`.
    pub async fn id_of(&self, address: &str) -> String {
        self.values(address).await["id"].as_str().map(str::to_owned).unwrap_or_default()
    }

    async fn run_apply(&self, step: &str) -> TfOutput {
        let mut args = vec!["apply", "-auto-approve", "-input=false"];
        args.extend(self.apply_args.iter().map(String::as_str));
        self.ws.must(&args).await.unwrap_or_else(|e| fail(step, e))
    }

    /// The next plan must be empty.
    pub async fn assert_plan_empty(&self, step: &str) {
        let (empty, out) = self.ws.plan_is_empty().await.unwrap_or_else(|e| fail(step, e));
        assert!(empty, "lifecycle step `{step}`: the plan is not empty:\n{}", out.stdout);
    }

    async fn remember_ids(&mut self) {
        for i in 0..self.tracked.len() {
            let address = self.tracked[i].address.clone();
            if let Some(values) = self.ws.resource_values(&address).await.unwrap_or_else(|e| fail("state", e))
            {
                self.tracked[i].id = values["id"].as_str().map(str::to_owned);
            }
        }
    }

    /// Step "apply": write `config`, apply it, and the next plan is empty.
    pub async fn apply(&mut self, config: &str) -> TfOutput {
        self.config = config.to_owned();
        self.ws.write("main.tf", config).unwrap_or_else(|e| fail("apply", e));
        let out = self.run_apply("apply").await;
        self.remember_ids().await;
        self.assert_plan_empty("apply").await;
        out
    }

    /// Step "update": apply a changed configuration that must change something (in place
    /// unless `replaces`), then the next plan is empty.
    pub async fn update(&mut self, config: &str) -> TfOutput {
        let out = self.apply(config).await;
        assert!(
            !out.stdout.contains("No changes."),
            "lifecycle step `update`: the new configuration changed nothing:\n{}",
            out.stdout
        );
        assert!(
            out.stdout.contains(" 0 destroyed"),
            "lifecycle step `update`: expected an in-place update:\n{}",
            out.stdout
        );
        out
    }

    /// Step "update with replacement": like [`Self::update`] but something is replaced.
    pub async fn replace(&mut self, config: &str) -> TfOutput {
        let out = self.apply(config).await;
        assert!(
            out.stdout.contains(" added,") && !out.stdout.contains(" 0 destroyed"),
            "lifecycle step `replace`: nothing was replaced:\n{}",
            out.stdout
        );
        out
    }

    /// Step "drift": run the out-of-band `change`; the next plan must show every word of
    /// `plan_shows`; apply repairs it and the plan after is empty. Returns the drift plan.
    pub async fn drift<F: Future<Output = ()>>(&mut self, change: F, plan_shows: &[&str]) -> TfOutput {
        change.await;
        let (empty, plan) = self.ws.plan_is_empty().await.unwrap_or_else(|e| fail("drift", e));
        assert!(!empty, "lifecycle step `drift`: the out-of-band change was not detected");
        for word in plan_shows {
            assert!(
                plan.stdout.contains(word),
                "lifecycle step `drift`: the plan does not show {word:?}:\n{}",
                plan.stdout
            );
        }
        self.run_apply("drift repair").await;
        self.remember_ids().await;
        self.assert_plan_empty("drift repair").await;
        plan
    }

    /// Step "import and compare": forget the applied object and import it again (by default
    /// into this workspace after `terraform state rm`, so the rest of the configuration stays
    /// managed; with [`Import::fresh`] into a new workspace holding the same configuration,
    /// which must then contain nothing else to create), compare every attribute with the
    /// applied state except [`ALWAYS_IGNORED`] and `import.ignore`, and check the plan after.
    pub async fn import_and_compare(&mut self, import: Import<'_>) {
        let step = "import";
        let applied = self.values(import.address).await;
        let id = import.id.clone().unwrap_or_else(|| applied["id"].as_str().unwrap_or_default().to_owned());
        let fresh = if import.fresh {
            let fresh = self.target.workspace().unwrap_or_else(|e| fail(step, e));
            copy_other_files(&self.ws, &fresh);
            Some(fresh)
        } else {
            self.ws.must(&["state", "rm", import.address]).await.unwrap_or_else(|e| fail(step, e));
            None
        };
        let ws = fresh.as_ref().unwrap_or(&self.ws);
        // What the import alone produced, before anything of the configuration is applied.
        let (imported, import_plan) = match import.via {
            ImportVia::Block => {
                let block = format!(
                    "\nimport {{\n  to = {}\n  id = {}\n}}\n",
                    import.address,
                    Value::String(id.clone())
                );
                ws.write("main.tf", &format!("{}{block}", self.config)).unwrap_or_else(|e| fail(step, e));
                let plan = ws
                    .must(&["plan", "-input=false", "-out=import.tfplan"])
                    .await
                    .unwrap_or_else(|e| fail(step, e));
                let shown =
                    ws.must(&["show", "-json", "import.tfplan"]).await.unwrap_or_else(|e| fail(step, e));
                let imported = imported_values(&shown.stdout, import.address).unwrap_or_else(|| {
                    fail(step, format!("the plan imports no {}:\n{}", import.address, plan.stdout))
                });
                ws.must(&["apply", "-input=false", "import.tfplan"]).await.unwrap_or_else(|e| fail(step, e));
                ws.write("main.tf", &self.config).unwrap_or_else(|e| fail(step, e));
                (imported, Some(plan))
            }
            ImportVia::Cli => {
                ws.write("main.tf", &self.config).unwrap_or_else(|e| fail(step, e));
                ws.must(&["import", "-input=false", import.address, &id])
                    .await
                    .unwrap_or_else(|e| fail(step, e));
                let imported = state_values(ws, import.address).unwrap_or_else(|| {
                    fail(step, format!("{} is not in the state after import", import.address))
                });
                (imported, None)
            }
        };
        let differences = differing_attributes(&applied, &imported, import.ignore);
        assert!(
            differences.is_empty(),
            "lifecycle step `import`: imported attributes differ from the applied state: {differences:#?}"
        );
        // The first plan with the imported object: the import block's own plan, or a plan after
        // `terraform import`. It changes nothing unless `plan_shows` names the expected words.
        let plan = match import_plan {
            Some(plan) => plan,
            None => ws.plan_is_empty().await.unwrap_or_else(|e| fail(step, e)).1,
        };
        if import.plan_shows.is_empty() {
            assert!(
                plan.stdout.contains("No changes.")
                    || plan.stdout.contains("1 to import, 0 to add, 0 to change, 0 to destroy"),
                "lifecycle step `import`: the plan with the imported object changes something:\n{}",
                plan.stdout
            );
        } else {
            for word in import.plan_shows {
                assert!(
                    plan.stdout.contains(word),
                    "lifecycle step `import`: the plan does not show {word:?}:\n{}",
                    plan.stdout
                );
            }
        }
        // Whatever the import could not know is settled by one apply; then nothing is left to do.
        ws.must(&["apply", "-auto-approve", "-input=false"]).await.unwrap_or_else(|e| fail(step, e));
        let (empty, plan) = ws.plan_is_empty().await.unwrap_or_else(|e| fail(step, e));
        assert!(empty, "lifecycle step `import`: the plan after the import is not empty:\n{}", plan.stdout);
        if let Some(fresh) = fresh {
            // Only this lifecycle's workspace owns the object.
            fresh.must(&["state", "rm", import.address]).await.unwrap_or_else(|e| fail(step, e));
        }
    }

    /// Step "destroy": `terraform destroy`, then no tracked object is left: against the
    /// emulator no stored object (at any depth, soft-deleted `deletedItems` aside) carries the
    /// tracked id (its last `/` segment); live, every `gone_path` answers 404.
    pub async fn destroy(self) -> TfOutput {
        let out = self.ws.destroy().await.unwrap_or_else(|e| fail("destroy", e));
        match self.target {
            Target::Emulator(emu) => {
                let mut all =
                    emu.control_get("/_emulator/objects").await.unwrap_or_else(|e| fail("destroy", e));
                // Soft-deleted directory objects are gone from the tenant's live view (Graph
                // keeps deleted groups restorable for 30 days); everything else must not exist.
                if let Some(m) = all.as_object_mut() {
                    m.remove("deletedItems");
                }
                for t in &self.tracked {
                    let Some(id) = &t.id else { continue };
                    let last = id.rsplit('/').next().unwrap_or(id);
                    assert!(
                        !contains_object_with_id(&all, last),
                        "lifecycle step `destroy`: {} ({id}) is still in the emulator",
                        t.address
                    );
                }
            }
            Target::Live(_) => {
                let probe = self.target.probe().await.unwrap_or_else(|e| fail("destroy", e));
                for t in &self.tracked {
                    let (Some(id), Some(path)) = (&t.id, &t.gone_path) else { continue };
                    let last = id.rsplit('/').next().unwrap_or(id);
                    let path = path.replace("{id_last}", last).replace("{id}", id);
                    let reply = probe
                        .call(reqwest::Method::GET, &path, None)
                        .await
                        .unwrap_or_else(|e| fail("destroy", e));
                    assert_eq!(
                        reply.status, 404,
                        "lifecycle step `destroy`: {path} still answers: {}",
                        reply.body
                    );
                }
            }
        }
        out
    }
}

/// Files other than main.tf (CSV inputs) are needed by the fresh import workspace too.
fn copy_other_files(from: &Workspace, to: &Workspace) {
    let Ok(entries) = std::fs::read_dir(from.path()) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let is_input = path.is_file()
            && name != "main.tf"
            && name != "terraformrc"
            && !name.to_string_lossy().starts_with("terraform.tfstate")
            && !name.to_string_lossy().starts_with(".terraform");
        if is_input {
            let _ = std::fs::copy(&path, to.path().join(&name));
        }
    }
}

/// The imported values of `address` in a saved plan's JSON (`change.before` of the change that
/// carries `importing`).
fn imported_values(plan_json: &str, address: &str) -> Option<Value> {
    let plan: Value = serde_json::from_str(plan_json).ok()?;
    plan["resource_changes"]
        .as_array()?
        .iter()
        .find(|c| c["address"] == address && c["change"].get("importing").is_some())
        .map(|c| c["change"]["before"].clone())
}

/// Attribute values of a root-module resource (`type.name`) read straight from the local
/// `terraform.tfstate` (the same values `terraform show -json` prints, without starting terraform).
pub fn state_values(ws: &Workspace, address: &str) -> Option<Value> {
    let text = std::fs::read_to_string(ws.path().join("terraform.tfstate")).ok()?;
    let state: Value = serde_json::from_str(&text).ok()?;
    let (kind, name) = address.split_once('.')?;
    state["resources"]
        .as_array()?
        .iter()
        .find(|r| {
            r["mode"] == "managed" && r["type"] == kind && r["name"] == name && r.get("module").is_none()
        })
        .and_then(|r| r["instances"].get(0))
        .map(|i| i["attributes"].clone())
}

/// Top-level attributes whose values differ, except the ignored ones.
pub fn differing_attributes(
    applied: &Value,
    imported: &Value,
    ignore: &[&str],
) -> Vec<(String, Value, Value)> {
    let empty = serde_json::Map::new();
    let a = applied.as_object().unwrap_or(&empty);
    let b = imported.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !ALWAYS_IGNORED.contains(&k.as_str()) && !ignore.contains(&k.as_str()))
        .filter_map(|k| {
            let (x, y) = (a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null));
            (x != y).then(|| (k.clone(), x.clone(), y.clone()))
        })
        .collect()
}

/// Whether any object at any depth of `value` has `"id": id`.
pub fn contains_object_with_id(value: &Value, id: &str) -> bool {
    match value {
        Value::Object(m) => {
            m.get("id").and_then(Value::as_str) == Some(id)
                || m.values().any(|v| contains_object_with_id(v, id))
        }
        Value::Array(a) => a.iter().any(|v| contains_object_with_id(v, id)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_skip_timeouts_and_ignored_attributes() {
        let applied = json!({"id": "1", "name": "a", "timeouts": {"create": "5m"}, "secret": "x"});
        let imported = json!({"id": "1", "name": "b", "timeouts": null, "secret": null});
        let diff = differing_attributes(&applied, &imported, &["secret"]);
        assert_eq!(diff, vec![("name".to_owned(), json!("a"), json!("b"))]);
        assert!(differing_attributes(&applied, &applied, &[]).is_empty());
        let missing = differing_attributes(&json!({"x": 1}), &json!({}), &[]);
        assert_eq!(missing.len(), 1, "an attribute missing after import is a difference");
    }

    #[test]
    fn finds_ids_at_any_depth() {
        let store = json!({"mobileApps": [{"id": "app", "assignments": [{"id": "g_1_0"}]}]});
        assert!(contains_object_with_id(&store, "app"));
        assert!(contains_object_with_id(&store, "g_1_0"));
        assert!(!contains_object_with_id(&store, "g_1"));
        assert!(!contains_object_with_id(&json!({"groupId": "app"}), "app"), "only `id` keys count");
    }
}
