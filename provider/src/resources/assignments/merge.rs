//! The replace-all write: `POST …/mobileApps/{id}/assign` and
//! `POST …/deviceManagementScripts/{id}/assign` replace **every** assignment of the app or
//! script with the body's list (graph-reference.md §4, gotcha 7). A resource that owns one
//! assignment therefore reads the current list, changes only its own entry, and sends back
//! everything else unchanged — under the per-app / per-script lock ([`super::lock`]) so two
//! resources of this provider never race on one parent.
//!
//! What "unchanged" means for the entries we do not own:
//! * every property is echoed as read (targets and settings verbatim, including filters and
//!   settings types this provider does not model), except the read-only `id`, OData control
//!   annotations (`@odata.context`, `@odata.etag`, `…@odata.*` navigation links), and
//!   `source`/`sourceId` when `source` is `direct` (the default). Policy-set assignments keep
//!   `source: policySets` and their `sourceId`, as in the documented `assign` example, so the
//!   service can tell them from direct ones; Graph documents both as read-only, so a tenant
//!   test should confirm the action accepts them.
//! * app entries keep their `@odata.type`; script entries read as the legacy
//!   `deviceManagementScriptGroupAssignment` are rewritten as `deviceManagementScriptAssignment`
//!   (the array's element type), with a `target` synthesised from `targetGroupId` if needed.

use serde_json::{Map, Value, json};
use thiserror::Error;

use super::target::{GROUP_TARGET, TargetKey};
use super::wire::{MOBILE_APP_ASSIGNMENT, SCRIPT_ASSIGNMENT, entry_id, entry_key};

/// Which `/assign` action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection {
    /// `mobileApps/{id}/assign` with `mobileAppAssignments`.
    MobileApp,
    /// `deviceManagementScripts/{id}/assign` with `deviceManagementScriptAssignments`.
    Script,
}

impl Collection {
    /// The body's array property.
    pub fn body_key(self) -> &'static str {
        match self {
            Collection::MobileApp => "mobileAppAssignments",
            Collection::Script => "deviceManagementScriptAssignments",
        }
    }
}

/// What state says the resource owns (for a create: no id yet, the planned target).
#[derive(Clone, Copy, Debug)]
pub struct Owned<'a> {
    pub id: Option<&'a str>,
    pub key: &'a TargetKey,
}

/// The one change to make.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Add or replace our assignment with this entry (from `AppAssignment::to_graph` /
    /// `ScriptAssignment::to_graph`).
    Put(Value),
    /// Remove our assignment.
    Remove,
}

/// What to do when the entry being put targets the same group (or virtual group) as an
/// assignment we do not own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTaken {
    /// Replace it: it becomes ours (adoption after a create whose response was lost).
    Adopt,
    /// Fail: somebody else assigned that target; the user should import it.
    Refuse,
}

/// The `/assign` body and what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    pub body: Value,
    /// Ids of the current entries that were ours (or adopted) and are replaced or removed.
    pub replaced_ids: Vec<String>,
    /// How many entries were kept unchanged.
    pub kept: usize,
}

/// Why the merge cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MergeError {
    #[error("the assignment to write has no target this provider manages")]
    UnmanagedNewTarget,
    #[error(
        "the target is already assigned by an assignment this resource does not own (id {existing_id}); \
         import it or remove it in Intune first"
    )]
    TargetTaken { existing_id: String },
    #[error("an existing assignment is not a JSON object with a target; refusing to rewrite the list: {0}")]
    UnreadableEntry(String),
}

/// Build the `/assign` body that applies `change` to our assignment and keeps every other entry
/// of `current` exactly once. An entry is ours when its id is `owned.id` or its target key is
/// `owned.key`; for [`Change::Put`], an entry with the new entry's key is ours too when
/// `on_taken` is [`OnTaken::Adopt`], and an error otherwise.
pub fn merge(
    collection: Collection,
    current: &[Value],
    owned: Option<Owned<'_>>,
    change: &Change,
    on_taken: OnTaken,
) -> Result<Merged, MergeError> {
    let new_key = match change {
        Change::Put(entry) => Some(entry_key(entry).ok_or(MergeError::UnmanagedNewTarget)?),
        Change::Remove => None,
    };
    let is_ours = |entry: &Value| {
        owned.is_some_and(|o| {
            o.id.is_some_and(|id| entry_id(entry).is_some_and(|e| e.eq_ignore_ascii_case(id)))
                || entry_key(entry).as_ref() == Some(o.key)
        })
    };

    let mut kept = Vec::with_capacity(current.len() + 1);
    let mut replaced_ids = Vec::new();
    for entry in current {
        let takes_new_target = new_key.is_some() && entry_key(entry) == new_key;
        if is_ours(entry) || takes_new_target {
            if takes_new_target && !is_ours(entry) && on_taken == OnTaken::Refuse {
                return Err(MergeError::TargetTaken {
                    existing_id: entry_id(entry).unwrap_or("?").to_owned(),
                });
            }
            replaced_ids.push(entry_id(entry).unwrap_or_default().to_owned());
            continue;
        }
        kept.push(echo(collection, entry)?);
    }
    let kept_count = kept.len();
    if let Change::Put(entry) = change {
        kept.push(entry.clone());
    }
    Ok(Merged { body: json!({ collection.body_key(): kept }), replaced_ids, kept: kept_count })
}

/// An existing entry as it must be sent back.
pub fn echo(collection: Collection, entry: &Value) -> Result<Value, MergeError> {
    let obj = entry.as_object().ok_or_else(|| MergeError::UnreadableEntry(entry.to_string()))?;
    let mut out = Map::new();
    for (key, value) in obj {
        let annotation = key.starts_with("@odata.") && key != "@odata.type" || key.contains("@odata.");
        if key == "id" || annotation {
            continue;
        }
        out.insert(key.clone(), value.clone());
    }
    if out.get("source").and_then(Value::as_str).is_none_or(|s| s == "direct") {
        out.remove("source");
        out.remove("sourceId");
    }
    match collection {
        Collection::MobileApp => {
            if !out.contains_key("target") {
                return Err(MergeError::UnreadableEntry(entry.to_string()));
            }
            out.entry("@odata.type").or_insert_with(|| json!(MOBILE_APP_ASSIGNMENT));
        }
        Collection::Script => {
            if !matches!(out.get("target"), Some(Value::Object(_))) {
                let group = out
                    .get("targetGroupId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| MergeError::UnreadableEntry(entry.to_string()))?;
                out.insert("target".into(), json!({ "@odata.type": GROUP_TARGET, "groupId": group }));
            }
            out.remove("targetGroupId");
            out.insert("@odata.type".into(), json!(SCRIPT_ASSIGNMENT));
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::super::target::{ApiVersion, Filter, FilterMode, Target, TargetKind};
    use super::super::wire::{AppAssignment, Intent, ScriptAssignment};
    use super::*;

    fn group_entry(id: &str, group: &str) -> Value {
        json!({"@odata.type": "#microsoft.graph.mobileAppAssignment", "id": id, "intent": "required",
               "source": "direct", "sourceId": null,
               "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group,
                          "deviceAndAppManagementAssignmentFilterId": null,
                          "deviceAndAppManagementAssignmentFilterType": "none"},
               "settings": {"@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings", "notifications": "hideAll",
                            "deliveryOptimizationPriority": "foreground", "installTimeSettings": null,
                            "restartSettings": null, "autoUpdateSettings": {"autoUpdateSupersededAppsState": "enabled"}}})
    }

    fn ours(group: &str) -> Value {
        AppAssignment {
            intent: Intent::Required,
            target: Target::new(TargetKind::Group, Some(group)),
            settings: None,
        }
        .to_graph(ApiVersion::Beta, "app", "#microsoft.graph.win32LobApp")
        .unwrap()
    }

    fn body_items(m: &Merged, c: Collection) -> Vec<Value> {
        m.body[c.body_key()].as_array().unwrap().clone()
    }

    #[test]
    fn add_keeps_others_verbatim_without_read_only_properties() {
        let current = vec![group_entry("other_1_0", "other")];
        let key = TargetKey::new(TargetKind::Group, Some("mine"));
        let m = merge(
            Collection::MobileApp,
            &current,
            Some(Owned { id: None, key: &key }),
            &Change::Put(ours("mine")),
            OnTaken::Refuse,
        )
        .unwrap();
        let items = body_items(&m, Collection::MobileApp);
        let mut want_other = group_entry("other_1_0", "other");
        let o = want_other.as_object_mut().unwrap();
        o.remove("id");
        o.remove("source");
        o.remove("sourceId");
        assert_eq!(items, vec![want_other, ours("mine")]);
        assert_eq!(m.kept, 1);
        assert!(m.replaced_ids.is_empty());
    }

    #[test]
    fn replace_by_id_and_by_target_and_remove() {
        let current =
            vec![group_entry("a_1_0", "a"), group_entry("mine_0_0", "mine"), group_entry("b_1_0", "b")];
        let key = TargetKey::new(TargetKind::Group, Some("mine"));
        for id in [Some("mine_0_0"), Some("stale-id"), None] {
            let owned = Some(Owned { id, key: &key });
            let m =
                merge(Collection::MobileApp, &current, owned, &Change::Put(ours("mine")), OnTaken::Refuse)
                    .unwrap();
            assert_eq!(m.replaced_ids, ["mine_0_0"]);
            assert_eq!(body_items(&m, Collection::MobileApp).len(), 3);
            let m = merge(Collection::MobileApp, &current, owned, &Change::Remove, OnTaken::Refuse).unwrap();
            let groups: Vec<_> = body_items(&m, Collection::MobileApp)
                .iter()
                .map(|e| e["target"]["groupId"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(groups, ["a", "b"]);
        }
    }

    #[test]
    fn moving_to_a_taken_target_is_refused_or_adopted() {
        let current = vec![group_entry("mine_1_0", "mine"), group_entry("b_1_0", "b")];
        let old = TargetKey::new(TargetKind::Group, Some("mine"));
        let owned = Some(Owned { id: Some("mine_1_0"), key: &old });
        let err = merge(Collection::MobileApp, &current, owned, &Change::Put(ours("b")), OnTaken::Refuse)
            .unwrap_err();
        assert_eq!(err, MergeError::TargetTaken { existing_id: "b_1_0".into() });
        let m =
            merge(Collection::MobileApp, &current, owned, &Change::Put(ours("b")), OnTaken::Adopt).unwrap();
        assert_eq!(m.replaced_ids, ["mine_1_0", "b_1_0"]);
        assert_eq!(body_items(&m, Collection::MobileApp), vec![ours("b")]);
    }

    #[test]
    fn unmanaged_new_target_and_unreadable_entries() {
        let key = TargetKey::new(TargetKind::AllDevices, None);
        let err =
            merge(Collection::MobileApp, &[], None, &Change::Put(json!({"target": {}})), OnTaken::Adopt);
        assert_eq!(err, Err(MergeError::UnmanagedNewTarget));
        let err = merge(
            Collection::MobileApp,
            &[json!({"id": "x", "intent": "required"})],
            Some(Owned { id: None, key: &key }),
            &Change::Remove,
            OnTaken::Adopt,
        );
        assert!(matches!(err, Err(MergeError::UnreadableEntry(_))));
    }

    #[test]
    fn policy_set_entries_keep_their_source_and_the_doc_sample_round_trips() {
        // graph-samples mobileAppAssignments/assign.beta.request.json (policy-set assignment, filter, WinGet settings).
        let sample: Value =
            serde_json::from_str(include_str!("testdata/app.assign.beta.request.json")).unwrap();
        let current = sample["mobileAppAssignments"].as_array().unwrap().clone();
        let key = TargetKey::new(TargetKind::Group, Some("mine"));
        let m = merge(
            Collection::MobileApp,
            &current,
            Some(Owned { id: None, key: &key }),
            &Change::Remove,
            OnTaken::Refuse,
        )
        .unwrap();
        let mut want = current[0].clone();
        want.as_object_mut().unwrap().remove("id");
        assert_eq!(body_items(&m, Collection::MobileApp), vec![want]);
        assert_eq!(body_items(&m, Collection::MobileApp)[0]["source"], json!("policySets"));
    }

    #[test]
    fn script_entries_are_normalised_to_the_array_type() {
        // DT fixture get_expand_assignments: legacy-typed entries with targetGroupId + target.
        let fixture: Value = serde_json::from_str(include_str!(
            "testdata/script.get_expand_assignments.dt.beta.response.json"
        ))
        .unwrap();
        let mut current = fixture["assignments"].as_array().unwrap().clone();
        current.push(
            json!({"@odata.type": "#microsoft.graph.deviceManagementScriptGroupAssignment", "id": "legacy",
                            "targetGroupId": "44444444-4444-4444-4444-444444444444"}),
        );
        let mine = ScriptAssignment {
            target: Target::new(TargetKind::Group, Some("55555555-5555-5555-5555-555555555555")),
        };
        let key = mine.target.key();
        let m = merge(
            Collection::Script,
            &current,
            Some(Owned { id: None, key: &key }),
            &Change::Put(mine.to_graph().unwrap()),
            OnTaken::Refuse,
        )
        .unwrap();
        let items = body_items(&m, Collection::Script);
        assert_eq!(items.len(), 7);
        for item in &items {
            assert_eq!(item["@odata.type"], json!(SCRIPT_ASSIGNMENT));
            assert!(item.get("id").is_none() && item.get("targetGroupId").is_none(), "{item}");
            assert!(entry_key(item).is_some(), "{item}");
        }
        assert_eq!(items[0]["target"], fixture["assignments"][0]["target"]);
        assert_eq!(items[5]["target"]["groupId"], json!("44444444-4444-4444-4444-444444444444"));
    }

    /// Small deterministic generator (xorshift), so the property test needs no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_entry(rng: &mut Rng, n: usize) -> Value {
        let groups = ["g1", "G1", "g2", "g3", "g4"];
        let group = groups[rng.below(groups.len() as u64) as usize];
        let target = match rng.below(6) {
            0 => json!({"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group}),
            1 => json!({"@odata.type": "microsoft.graph.exclusionGroupAssignmentTarget", "groupId": group}),
            2 => json!({"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
                        "deviceAndAppManagementAssignmentFilterId": "f", "deviceAndAppManagementAssignmentFilterType": "include"}),
            3 => json!({"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}),
            4 => {
                json!({"@odata.type": "#microsoft.graph.configurationManagerCollectionAssignmentTarget", "collectionId": "c"})
            }
            _ => json!({"@odata.type": "microsoft.graph.deviceAndAppManagementAssignmentTarget"}),
        };
        let intent = Intent::ALL[rng.below(4) as usize].graph();
        let mut e = json!({"id": format!("e{n}"), "intent": intent, "target": target,
                           "settings": if rng.below(2) == 0 { Value::Null } else { json!({"@odata.type": "#microsoft.graph.winGetAppAssignmentSettings", "notifications": "hideAll"}) }});
        if rng.below(4) == 0 {
            e["source"] = json!("policySets");
            e["sourceId"] = json!("ps");
        }
        e
    }

    fn random_target(rng: &mut Rng) -> Target {
        let kind = TargetKind::ALL[rng.below(4) as usize];
        let group = ["g1", "g2", "g5"][rng.below(3) as usize];
        let mut t = Target::new(kind, kind.has_group().then_some(group));
        if !kind.is_exclusion() && rng.below(2) == 0 {
            t.filter = Some(Filter { id: "flt".into(), mode: FilterMode::Exclude });
        }
        t
    }

    /// For any current set and any single change, every assignment not owned is in the output
    /// exactly once, none that is owned is, and a put entry is there exactly once.
    #[test]
    fn merge_property_every_other_assignment_survives_exactly_once() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..2000 {
            let current: Vec<Value> = (0..rng.below(8)).map(|n| random_entry(&mut rng, n as usize)).collect();
            let owned_target = random_target(&mut rng);
            let owned_key = owned_target.key();
            let owned_id = match rng.below(3) {
                0 => None,
                1 => Some(format!("e{}", rng.below(8))),
                _ => Some("gone".to_owned()),
            };
            let owned = (rng.below(5) != 0).then_some(Owned { id: owned_id.as_deref(), key: &owned_key });
            let new_entry =
                AppAssignment { intent: Intent::Required, target: random_target(&mut rng), settings: None }
                    .to_graph(ApiVersion::Beta, "app", "#microsoft.graph.winGetApp")
                    .unwrap();
            let change = if rng.below(3) == 0 { Change::Remove } else { Change::Put(new_entry.clone()) };
            let on_taken = if rng.below(2) == 0 { OnTaken::Adopt } else { OnTaken::Refuse };

            let is_ours = |e: &Value| {
                owned.is_some_and(|o| {
                    o.id.is_some_and(|id| entry_id(e) == Some(id)) || entry_key(e).as_ref() == Some(o.key)
                })
            };
            let taken = |e: &Value| matches!(&change, Change::Put(n) if entry_key(e) == entry_key(n));
            let result = merge(Collection::MobileApp, &current, owned, &change, on_taken);
            let conflict = on_taken == OnTaken::Refuse && current.iter().any(|e| taken(e) && !is_ours(e));
            let Ok(merged) = result else {
                assert!(conflict, "round {round}: unexpected {result:?}");
                continue;
            };
            assert!(!conflict, "round {round}: conflict not reported");
            let out = body_items(&merged, Collection::MobileApp);
            let expected: Vec<Value> = current
                .iter()
                .filter(|e| !is_ours(e) && !taken(e))
                .map(|e| echo(Collection::MobileApp, e).unwrap())
                .collect();
            let others = expected.len();
            assert_eq!(merged.kept, others, "round {round}");
            // Every other entry exactly once, in its original order, nothing else but ours.
            assert_eq!(out[..others], expected[..], "round {round}");
            for e in current.iter().filter(|e| is_ours(e) || taken(e)) {
                assert!(merged.replaced_ids.contains(&entry_id(e).unwrap().to_owned()), "round {round}");
            }
            match &change {
                Change::Put(n) => {
                    assert_eq!(out.len(), others + 1);
                    assert_eq!(&out[others], n);
                }
                Change::Remove => assert_eq!(out.len(), others),
            }
            assert!(out.iter().all(|o| o.get("id").is_none()));
        }
    }
}
