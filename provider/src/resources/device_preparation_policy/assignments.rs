//! User-group assignments of a user-driven policy.
//!
//! `POST …/configurationPolicies/{id}/assign` **replaces every assignment** (an empty list
//! unassigns all; Graph beta doc). The resource owns the whole set, so reading back
//! `GET …/configurationPolicies/{id}/assignments` must surface anything it did not write
//! (all-users targets, exclusions, filters) instead of quietly ignoring it.

use serde_json::{Value, json};
use thiserror::Error;

const GROUP_TARGET: &str = "#microsoft.graph.groupAssignmentTarget";

/// Body of `/assign` giving the policy to exactly these user groups (no filters), shaped like
/// the DT fixture `dpp_policy_assignment_object` with the concrete `groupAssignmentTarget` type.
pub fn assign_body(user_group_ids: &[String]) -> Value {
    let assignments: Vec<Value> = user_group_ids
        .iter()
        .map(|group_id| {
            json!({
                "target": {
                    "@odata.type": GROUP_TARGET,
                    "groupId": group_id,
                    "deviceAndAppManagementAssignmentFilterType": "none",
                }
            })
        })
        .collect();
    json!({ "assignments": assignments })
}

/// One assignment target as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssignmentTarget {
    /// Include a group, with no assignment filter.
    Group { group_id: String },
    /// Anything else: the target's `@odata.type` (without `#`), its group id if it has one, and
    /// its filter, so the message can say exactly what was found.
    Other { odata_type: String, group_id: Option<String>, filter_id: Option<String> },
}

/// Problems reading assignments.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AssignmentError {
    #[error("the assignments response is malformed: {0}")]
    Malformed(&'static str),
    #[error(
        "the policy has an assignment this resource does not manage ({description}); `/assign` replaces all \
         assignments, so applying would remove it: remove it in Intune or stop managing assigned_group_ids here"
    )]
    Unmanaged { description: String },
}

/// Parse one page of `GET …/assignments` (`{"value": [...]}`), or a bare array.
pub fn parse_assignments(page: &Value) -> Result<Vec<AssignmentTarget>, AssignmentError> {
    let items = match page {
        Value::Array(items) => items,
        Value::Object(obj) => match obj.get("value") {
            Some(Value::Array(items)) => items,
            _ => return Err(AssignmentError::Malformed("expected a `value` array")),
        },
        _ => return Err(AssignmentError::Malformed("expected a JSON object or array")),
    };
    items
        .iter()
        .map(|a| {
            let target = a.get("target").ok_or(AssignmentError::Malformed("an assignment has no target"))?;
            let odata_type =
                target.get("@odata.type").and_then(Value::as_str).unwrap_or("").trim_start_matches('#');
            let text = |key| target.get(key).and_then(Value::as_str).map(str::to_owned);
            let group_id = text("groupId");
            let filter_id = text("deviceAndAppManagementAssignmentFilterId").filter(|f| !f.is_empty());
            let filter_type =
                target.get("deviceAndAppManagementAssignmentFilterType").and_then(Value::as_str);
            let unfiltered = filter_id.is_none() && matches!(filter_type, None | Some("none"));
            Ok(match (odata_type, group_id) {
                ("microsoft.graph.groupAssignmentTarget", Some(group_id)) if unfiltered => {
                    AssignmentTarget::Group { group_id }
                }
                (odata_type, group_id) => {
                    AssignmentTarget::Other { odata_type: odata_type.to_owned(), group_id, filter_id }
                }
            })
        })
        .collect()
}

/// The group ids of targets this resource manages, or the first target it does not.
pub fn assigned_group_ids(targets: &[AssignmentTarget]) -> Result<Vec<String>, AssignmentError> {
    targets
        .iter()
        .map(|t| match t {
            AssignmentTarget::Group { group_id } => Ok(group_id.clone()),
            AssignmentTarget::Other { odata_type, group_id, filter_id } => {
                let mut description = format!("target type `{odata_type}`");
                if let Some(g) = group_id {
                    description.push_str(&format!(", group `{g}`"));
                }
                if let Some(f) = filter_id {
                    description.push_str(&format!(", assignment filter `{f}`"));
                }
                Err(AssignmentError::Unmanaged { description })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn dt_list_fixture_yields_both_groups() {
        // graph-samples/configurationPolicies/dpp_list_assignments.dt.beta.response.json
        let targets =
            parse_assignments(&parse(include_str!("testdata/dpp_list_assignments.response.json"))).unwrap();
        assert_eq!(
            assigned_group_ids(&targets).unwrap(),
            ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"]
        );
    }

    #[test]
    fn doc_example_scope_tag_target_is_reported_not_dropped() {
        // list_assignments.beta.response.json and assign.beta.response.json use a
        // scopeTagGroupAssignmentTarget (no `#`, filter "include").
        for sample in [
            include_str!("testdata/list_assignments.beta.response.json"),
            include_str!("testdata/assign.beta.response.json"),
        ] {
            let targets = parse_assignments(&parse(sample)).unwrap();
            assert!(matches!(&targets[0], AssignmentTarget::Other { odata_type, .. }
                if odata_type == "microsoft.graph.scopeTagGroupAssignmentTarget"));
            let err = assigned_group_ids(&targets).unwrap_err();
            assert!(err.to_string().contains("scopeTagGroupAssignmentTarget"), "{err}");
        }
    }

    #[test]
    fn filtered_group_and_all_users_are_unmanaged() {
        let page = serde_json::json!({ "value": [
            { "target": { "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g",
                          "deviceAndAppManagementAssignmentFilterId": "f1",
                          "deviceAndAppManagementAssignmentFilterType": "include" } },
            { "target": { "@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget" } } ] });
        let targets = parse_assignments(&page).unwrap();
        assert_eq!(
            targets[0],
            AssignmentTarget::Other {
                odata_type: "microsoft.graph.groupAssignmentTarget".into(),
                group_id: Some("g".into()),
                filter_id: Some("f1".into()),
            }
        );
        assert!(matches!(targets[1], AssignmentTarget::Other { group_id: None, .. }));
    }

    #[test]
    fn assign_body_round_trips_through_the_parser() {
        let ids = vec!["a1a7c4d7-9a1e-4c81-9d92-6f4eb3a7b9a5".to_owned(), "b".to_owned()];
        let body = assign_body(&ids);
        let targets = parse_assignments(&body["assignments"]).unwrap();
        assert_eq!(assigned_group_ids(&targets).unwrap(), ids);
        assert_eq!(assign_body(&[]), serde_json::json!({ "assignments": [] }));
    }

    #[test]
    fn assign_body_matches_the_dt_assignment_object_apart_from_the_concrete_type() {
        // dpp_policy_assignment_object.dt.beta.json uses the abstract base type and a null filter id.
        let mut fixture = parse(include_str!("testdata/dpp_policy_assignment_object.json"));
        let fixture = fixture.as_object_mut().unwrap();
        fixture.remove("@odata.type");
        let target = fixture["target"].as_object_mut().unwrap();
        target.remove("deviceAndAppManagementAssignmentFilterId");
        target["@odata.type"] = Value::from(GROUP_TARGET);
        let body = assign_body(&["a1a7c4d7-9a1e-4c81-9d92-6f4eb3a7b9a5".to_owned()]);
        assert_eq!(body["assignments"][0], Value::Object(fixture.clone()));
    }
}
