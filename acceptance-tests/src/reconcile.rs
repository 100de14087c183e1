//! "State ⇔ emulator": after an apply, every Graph object the configuration manages must be in
//! the Terraform state exactly once, and every object in the state must exist in the emulator
//! exactly once. A fault that leaves an orphan (created in Graph, unknown to Terraform), a ghost
//! (in state, gone from Graph) or a duplicate (two objects for one resource) shows up here.
//!
//! Objects are compared per kind by a key (the Graph id, or `parent/id` for nested objects);
//! duplicates are also looked for by a natural key (display name, assignment target, device
//! identifier), because a duplicate created behind Terraform's back has a different id.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::harness::{Emulator, Result, Workspace};

/// Keys of one kind of object, in whatever order they were found (repeats are kept).
pub type Inventory = BTreeMap<&'static str, Vec<Key>>;

/// One object: its identity and the natural key that must be unique among managed objects.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub id: String,
    pub natural: String,
}

impl Key {
    fn new(id: impl Into<String>, natural: impl Into<String>) -> Self {
        Self { id: id.into().to_ascii_lowercase(), natural: natural.into().to_ascii_lowercase() }
    }
}

const GROUP: &str = "group";
const POLICY: &str = "device preparation policy";
const POLICY_ASSIGNMENT: &str = "policy assignment";
const APP_ASSIGNMENT: &str = "app assignment";
const SCRIPT_ASSIGNMENT: &str = "script assignment";
const IDENTIFIER: &str = "corporate identifier";

/// The managed objects recorded in a state (`terraform show -json`), all modules included.
pub fn from_state(state: &Value) -> Inventory {
    let mut out = Inventory::new();
    let mut resources = Vec::new();
    collect_resources(&state["values"]["root_module"], &mut resources);
    for r in resources {
        if r["mode"] != "managed" {
            continue;
        }
        let v = &r["values"];
        let s = |name: &str| v[name].as_str().unwrap_or_default().to_owned();
        match r["type"].as_str().unwrap_or_default() {
            "autopilot_group" | "autopilot_device_group" => {
                out.entry(GROUP).or_default().push(Key::new(s("id"), s("display_name")));
            }
            "autopilot_device_preparation_policy" => {
                let id = s("id");
                out.entry(POLICY).or_default().push(Key::new(&id, s("name")));
                for group in strings(&v["assigned_group_ids"]) {
                    let key = format!("{id}/{group}");
                    out.entry(POLICY_ASSIGNMENT).or_default().push(Key::new(&key, &key));
                }
            }
            "autopilot_app_assignment" => {
                let app = s("app_id");
                let target = v["target"]["group_id"]
                    .as_str()
                    .unwrap_or_else(|| v["target"]["type"].as_str().unwrap_or(""));
                out.entry(APP_ASSIGNMENT)
                    .or_default()
                    .push(Key::new(format!("{app}/{}", s("id")), format!("{app}/{target}")));
            }
            "autopilot_script_assignment" => {
                let script = s("script_id");
                let target = v["target"]["group_id"]
                    .as_str()
                    .unwrap_or_else(|| v["target"]["type"].as_str().unwrap_or(""));
                out.entry(SCRIPT_ASSIGNMENT)
                    .or_default()
                    .push(Key::new(format!("{script}/{}", s("id")), format!("{script}/{target}")));
            }
            "autopilot_corporate_identifiers" => {
                for d in v["devices"].as_array().into_iter().flatten() {
                    let part = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
                    let identifier =
                        format!("{},{},{}", part("manufacturer"), part("model"), part("serial_number"));
                    out.entry(IDENTIFIER).or_default().push(Key::new(&identifier, &identifier));
                }
            }
            _ => {}
        }
    }
    out
}

/// The objects of the kinds above stored in the emulator (`GET /_emulator/objects`), minus
/// those already present in `baseline` (the fixtures, taken before the first apply).
pub fn from_emulator(objects: &Value, baseline: &Value) -> Inventory {
    let all = inventory_of_emulator(objects);
    let before = inventory_of_emulator(baseline);
    all.into_iter()
        .map(|(kind, keys)| {
            let old: BTreeSet<&String> = before.get(kind).into_iter().flatten().map(|k| &k.id).collect();
            let keys: Vec<Key> = keys.iter().filter(|k| !old.contains(&k.id)).cloned().collect();
            (kind, keys)
        })
        .collect()
}

fn inventory_of_emulator(objects: &Value) -> Inventory {
    let mut out = Inventory::new();
    let items = |c: &str| objects[c].as_array().cloned().unwrap_or_default();
    let s = |o: &Value, k: &str| o[k].as_str().unwrap_or_default().to_owned();
    for g in items("groups") {
        out.entry(GROUP).or_default().push(Key::new(s(&g, "id"), s(&g, "displayName")));
    }
    for p in items("configurationPolicies") {
        let id = s(&p, "id");
        out.entry(POLICY).or_default().push(Key::new(&id, s(&p, "name")));
        for a in p["assignments"].as_array().into_iter().flatten() {
            let key = format!("{id}/{}", a["target"]["groupId"].as_str().unwrap_or_default());
            out.entry(POLICY_ASSIGNMENT).or_default().push(Key::new(&key, &key));
        }
    }
    for (collection, kind) in [("mobileApps", APP_ASSIGNMENT), ("deviceManagementScripts", SCRIPT_ASSIGNMENT)]
    {
        for parent in items(collection) {
            let pid = s(&parent, "id");
            for a in parent["assignments"].as_array().into_iter().flatten() {
                let target = a["target"]["groupId"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| a["target"]["@odata.type"].as_str().unwrap_or_default().to_owned());
                out.entry(kind)
                    .or_default()
                    .push(Key::new(format!("{pid}/{}", s(a, "id")), format!("{pid}/{target}")));
            }
        }
    }
    for d in items("importedDeviceIdentities") {
        let identifier = s(&d, "importedDeviceIdentifier");
        out.entry(IDENTIFIER).or_default().push(Key::new(&identifier, &identifier));
    }
    out
}

/// Every difference between the two inventories, as sentences (empty: they match).
pub fn compare(state: &Inventory, emulator: &Inventory) -> Vec<String> {
    let mut problems = Vec::new();
    let kinds: BTreeSet<&&str> = state.keys().chain(emulator.keys()).collect();
    let empty = Vec::new();
    for kind in kinds {
        let in_state = state.get(*kind).unwrap_or(&empty);
        let in_graph = emulator.get(*kind).unwrap_or(&empty);
        let state_ids: BTreeSet<&String> = in_state.iter().map(|k| &k.id).collect();
        let graph_ids: BTreeSet<&String> = in_graph.iter().map(|k| &k.id).collect();
        for k in in_graph.iter().filter(|k| !state_ids.contains(&k.id)) {
            problems.push(format!("orphan {kind} {} ({}) in the emulator but not in state", k.id, k.natural));
        }
        for k in in_state.iter().filter(|k| !graph_ids.contains(&k.id)) {
            problems.push(format!("{kind} {} ({}) in state but not in the emulator", k.id, k.natural));
        }
        for (what, keys) in [("state", in_state), ("emulator", in_graph)] {
            for (natural, ids) in repeats(keys) {
                problems.push(format!("duplicate {kind} {natural:?} in the {what}: {}", ids.join(", ")));
            }
        }
    }
    problems
}

/// Natural keys held by more than one object (or one id listed twice).
fn repeats(keys: &[Key]) -> Vec<(String, Vec<String>)> {
    let mut by_natural: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for k in keys {
        by_natural.entry(&k.natural).or_default().push(k.id.clone());
    }
    by_natural.into_iter().filter(|(_, ids)| ids.len() > 1).map(|(n, ids)| (n.to_owned(), ids)).collect()
}

fn collect_resources(module: &Value, out: &mut Vec<Value>) {
    out.extend(module["resources"].as_array().into_iter().flatten().cloned());
    for child in module["child_modules"].as_array().into_iter().flatten() {
        collect_resources(child, out);
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect()
}

/// Compares the workspace's state with the emulator's objects (minus `baseline`, the objects
/// before the first apply); returns the differences (empty: consistent).
pub async fn state_vs_emulator(ws: &Workspace, emu: &Emulator, baseline: &Value) -> Result<Vec<String>> {
    let state = ws.state().await?;
    let objects = emu.control_get("/_emulator/objects").await?;
    Ok(compare(&from_state(&state), &from_emulator(&objects, baseline)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn state(resources: Value) -> Value {
        json!({"values": {"root_module": {"child_modules": [{"resources": resources}]}}})
    }

    #[test]
    fn finds_orphans_ghosts_and_duplicates() {
        let baseline = json!({"groups": [{"id": "G0", "displayName": "fixture"}]});
        let objects = json!({
            "groups": [
                {"id": "G0", "displayName": "fixture"},
                {"id": "G1", "displayName": "devices"},
                {"id": "G2", "displayName": "Devices"}
            ],
            "mobileApps": [{"id": "A", "assignments": [{"id": "x", "target": {"groupId": "G1"}}]}],
            "importedDeviceIdentities": [{"id": "i1", "importedDeviceIdentifier": "C,M,S1"}]
        });
        let tf = state(json!([
            {"mode": "managed", "type": "autopilot_device_group", "values": {"id": "G1", "display_name": "devices"}},
            {"mode": "managed", "type": "autopilot_app_assignment",
             "values": {"app_id": "A", "id": "x", "target": {"type": "group", "group_id": "G1"}}},
            {"mode": "managed", "type": "autopilot_corporate_identifiers", "values": {"devices": [
                {"manufacturer": "C", "model": "M", "serial_number": "S1"},
                {"manufacturer": "C", "model": "M", "serial_number": "S2"}
            ]}},
            {"mode": "data", "type": "autopilot_user", "values": {"id": "U"}}
        ]));
        let problems = compare(&from_state(&tf), &from_emulator(&objects, &baseline));
        assert_eq!(
            problems,
            [
                "corporate identifier c,m,s2 (c,m,s2) in state but not in the emulator",
                "orphan group g2 (devices) in the emulator but not in state",
                "duplicate group \"devices\" in the emulator: g1, g2",
            ]
        );
    }

    #[test]
    fn a_matching_state_has_no_problems() {
        let objects = json!({
            "groups": [{"id": "G1", "displayName": "users"}],
            "configurationPolicies": [{"id": "P", "name": "dpp", "assignments": [{"target": {"groupId": "G1"}}]}],
            "deviceManagementScripts": [{"id": "S", "assignments": [{"id": "y", "target": {"groupId": "G1"}}]}]
        });
        let tf = state(json!([
            {"mode": "managed", "type": "autopilot_group", "values": {"id": "G1", "display_name": "users"}},
            {"mode": "managed", "type": "autopilot_device_preparation_policy",
             "values": {"id": "P", "name": "dpp", "assigned_group_ids": ["G1"]}},
            {"mode": "managed", "type": "autopilot_script_assignment",
             "values": {"script_id": "S", "id": "y", "target": {"type": "group", "group_id": "G1"}}}
        ]));
        assert_eq!(compare(&from_state(&tf), &from_emulator(&objects, &json!({}))), Vec::<String>::new());
    }
}
