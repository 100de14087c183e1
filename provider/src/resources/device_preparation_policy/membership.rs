//! The device group of a policy: the "enrollment-time device membership target".
//!
//! - bind: `POST …/configurationPolicies/{id}/setEnrollmentTimeDeviceMembershipTarget` with
//!   [`set_target_body`] → 200 with a result that must be checked ([`MembershipResult::into_group_id`]);
//! - read: `POST …/configurationPolicies/{id}/retrieveEnrollmentTimeDeviceMembershipTarget`
//!   (no body) → the same result shape;
//! - unbind: `POST …/configurationPolicies/{id}/clearEnrollmentTimeDeviceMembershipTarget` (no body;
//!   returns a Boolean per the Graph resource page's method table; Microsoft365DSC calls it when
//!   the group is removed).
//!
//! Sources: Graph beta docs for the set/retrieve actions and the enums in the beta metadata
//! (`enrollmentTimeDeviceMembershipTargetType`: `staticSecurityGroup`, `unknownFutureValue`;
//! `…ValidationErrorCode`: the five codes of [`TargetValidationError`]); PORTAL capture of the
//! set body (no `@odata.type` on the target).

use serde_json::{Value, json};
use thiserror::Error;

/// The action that binds the device group.
pub const SET_ACTION: &str = "setEnrollmentTimeDeviceMembershipTarget";
/// The action that reads the bound device group (a POST).
pub const RETRIEVE_ACTION: &str = "retrieveEnrollmentTimeDeviceMembershipTarget";
/// The action that removes the binding.
pub const CLEAR_ACTION: &str = "clearEnrollmentTimeDeviceMembershipTarget";

/// Application id of the "Intune Provisioning Client" first-party app that must own the group.
pub const INTUNE_PROVISIONING_CLIENT_APP_ID: &str = "f1346770-5b25-470b-88bd-d5744ab7952c";

/// Body of `setEnrollmentTimeDeviceMembershipTarget` for one static security group, as the
/// portal sends it.
pub fn set_target_body(device_group_id: &str) -> Value {
    json!({
        "enrollmentTimeDeviceMembershipTargets": [
            { "targetType": "staticSecurityGroup", "targetId": device_group_id }
        ]
    })
}

/// Why Intune refused a device group (`targetValidationErrorCode`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetValidationError {
    FirstPartyAppNotAnOwner,
    NotSecurityGroup,
    NotStaticSecurityGroup,
    SecurityGroupNotFound,
    SecurityGroupNotInCallerScope,
    /// A code this provider does not know (`unknownFutureValue`, or e.g. `unknown` as a
    /// Microsoft365DSC mock returns).
    Other(String),
}

impl TargetValidationError {
    pub fn parse(code: &str) -> Self {
        match code {
            "firstPartyAppNotAnOwner" => Self::FirstPartyAppNotAnOwner,
            "notSecurityGroup" => Self::NotSecurityGroup,
            "notStaticSecurityGroup" => Self::NotStaticSecurityGroup,
            "securityGroupNotFound" => Self::SecurityGroupNotFound,
            "securityGroupNotInCallerScope" => Self::SecurityGroupNotInCallerScope,
            other => Self::Other(other.to_owned()),
        }
    }

    /// What the user should do about it.
    pub fn explanation(&self) -> String {
        match self {
            Self::FirstPartyAppNotAnOwner => format!(
                "the Intune Provisioning Client (appId {INTUNE_PROVISIONING_CLIENT_APP_ID}, sometimes shown as \
                 \"Intune Autopilot ConfidentialClient\") is not an owner of the device group: add its service \
                 principal as an owner of the group"
            ),
            Self::NotSecurityGroup => "the device group is not a security group: use a security group".to_owned(),
            Self::NotStaticSecurityGroup => {
                "the device group has dynamic membership: device preparation needs an assigned (static) security \
                 group"
                    .to_owned()
            }
            Self::SecurityGroupNotFound => {
                "Intune cannot find the device group: check the id; a group created moments ago may not have \
                 reached Intune yet (retry)"
                    .to_owned()
            }
            Self::SecurityGroupNotInCallerScope => {
                "the device group is outside the caller's Intune scope (scope tags / RBAC): grant the identity \
                 access to the group's scope"
                    .to_owned()
            }
            Self::Other(code) => format!("Intune rejected the device group with code `{code}`"),
        }
    }

    /// Whether a retry after a short wait may succeed (Entra → Intune replication lag).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::SecurityGroupNotFound)
    }
}

/// One target's validation status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetStatus {
    pub target_id: String,
    /// Per-target flag seen in the doc examples but absent from the metadata; `None` if absent.
    pub validation_succeeded: Option<bool>,
    pub error: Option<TargetValidationError>,
}

/// The result of set/retrieve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipResult {
    pub validation_succeeded: Option<bool>,
    pub statuses: Vec<TargetStatus>,
}

/// Problems with a membership result.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MembershipError {
    #[error("the enrollment-time device membership result is malformed: {0}")]
    Malformed(&'static str),
    #[error("Intune rejected device group `{target_id}`: {}", error.explanation())]
    Rejected { target_id: String, error: TargetValidationError },
    #[error("Intune reported that validating the device group failed, without saying why")]
    FailedWithoutReason,
    #[error("the policy has {0} device groups bound; this resource manages exactly one")]
    SeveralTargets(usize),
}

impl MembershipResult {
    /// Parse the 200 body of set/retrieve. Accepts the `{"value": {…}}` wrapper of the Graph doc
    /// examples and the bare result object that SDKs surface.
    pub fn from_graph(body: &Value) -> Result<MembershipResult, MembershipError> {
        let r = match body.get("value") {
            Some(inner @ Value::Object(_)) => inner,
            _ => body,
        };
        if !r.is_object() {
            return Err(MembershipError::Malformed("expected an object"));
        }
        let statuses = match r.get("enrollmentTimeDeviceMembershipTargetValidationStatuses") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|s| {
                    let target_id = s
                        .get("targetId")
                        .and_then(Value::as_str)
                        .ok_or(MembershipError::Malformed("a status has no targetId"))?;
                    Ok(TargetStatus {
                        target_id: target_id.to_owned(),
                        validation_succeeded: s.get("validationSucceeded").and_then(Value::as_bool),
                        error: s
                            .get("targetValidationErrorCode")
                            .and_then(Value::as_str)
                            .map(TargetValidationError::parse),
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(MembershipError::Malformed("validation statuses are not an array")),
        };
        Ok(MembershipResult {
            validation_succeeded: r.get("validationSucceeded").and_then(Value::as_bool),
            statuses,
        })
    }

    /// The first rejected target, if any. A status counts as rejected when its own
    /// `validationSucceeded` is false, or when it is absent and the result as a whole failed;
    /// an error code next to `validationSucceeded: true` (as in the doc example) is ignored.
    pub fn rejection(&self) -> Option<MembershipError> {
        let overall_failed = self.validation_succeeded == Some(false);
        for status in &self.statuses {
            let failed = status.validation_succeeded.map_or(overall_failed, |ok| !ok);
            if failed {
                let error =
                    status.error.clone().unwrap_or(TargetValidationError::Other("none given".to_owned()));
                return Some(MembershipError::Rejected { target_id: status.target_id.clone(), error });
            }
        }
        overall_failed.then_some(MembershipError::FailedWithoutReason)
    }

    /// The bound device group id (`None` when no group is bound), or why the result is not a
    /// valid single binding.
    pub fn into_group_id(self) -> Result<Option<String>, MembershipError> {
        if let Some(err) = self.rejection() {
            return Err(err);
        }
        match self.statuses.len() {
            0 => Ok(None),
            1 => Ok(self.statuses.into_iter().next().map(|s| s.target_id)),
            n => Err(MembershipError::SeveralTargets(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn set_body_equals_the_portal_capture() {
        // graph-samples/configurationPolicies/dpp_setEnrollmentTimeDeviceMembershipTarget.dt.beta.request.json
        let capture = parse(include_str!("testdata/dpp_set_membership_target.request.json"));
        assert_eq!(set_target_body("90f8cbe2-ff05-492a-8434-251b861311aa"), capture);
    }

    #[test]
    fn doc_request_differs_only_by_the_target_type_annotation() {
        // setEnrollmentTimeDeviceMembershipTarget.beta.request.json carries @odata.type on the target.
        let mut doc =
            parse(include_str!("testdata/setEnrollmentTimeDeviceMembershipTarget.beta.request.json"));
        doc["enrollmentTimeDeviceMembershipTargets"][0].as_object_mut().unwrap().remove("@odata.type");
        assert_eq!(set_target_body("Target Id value"), doc);
    }

    #[test]
    fn doc_responses_parse_and_succeed_despite_the_code() {
        for sample in [
            include_str!("testdata/setEnrollmentTimeDeviceMembershipTarget.beta.response.json"),
            include_str!("testdata/retrieveEnrollmentTimeDeviceMembershipTarget.beta.response.json"),
        ] {
            let result = MembershipResult::from_graph(&parse(sample)).unwrap();
            assert_eq!(result.validation_succeeded, Some(true));
            assert_eq!(result.statuses[0].error, Some(TargetValidationError::SecurityGroupNotFound));
            assert_eq!(result.into_group_id().unwrap().as_deref(), Some("Target Id value"));
        }
    }

    #[test]
    fn failed_validation_explains_the_owner_requirement() {
        let body = serde_json::json!({ "value": {
            "@odata.type": "microsoft.graph.enrollmentTimeDeviceMembershipTargetResult",
            "validationSucceeded": false,
            "enrollmentTimeDeviceMembershipTargetValidationStatuses": [
                { "targetId": "g1", "validationSucceeded": false, "targetValidationErrorCode": "firstPartyAppNotAnOwner" }
            ]
        }});
        let err = MembershipResult::from_graph(&body).unwrap().into_group_id().unwrap_err();
        assert_eq!(
            err,
            MembershipError::Rejected {
                target_id: "g1".into(),
                error: TargetValidationError::FirstPartyAppNotAnOwner
            }
        );
        let text = err.to_string();
        assert!(text.contains(INTUNE_PROVISIONING_CLIENT_APP_ID) && text.contains("owner"), "{text}");
    }

    #[test]
    fn per_target_flag_absent_falls_back_to_the_overall_flag() {
        // The metadata's enrollmentTimeDeviceMembershipTargetStatus has no validationSucceeded.
        let body = serde_json::json!({
            "validationSucceeded": false,
            "enrollmentTimeDeviceMembershipTargetValidationStatuses": [
                { "targetId": "g1", "targetValidationErrorCode": "notStaticSecurityGroup" } ]
        });
        let err = MembershipResult::from_graph(&body).unwrap().into_group_id().unwrap_err();
        assert!(matches!(
            err,
            MembershipError::Rejected { error: TargetValidationError::NotStaticSecurityGroup, .. }
        ));
        let bare = serde_json::json!({ "validationSucceeded": false, "enrollmentTimeDeviceMembershipTargetValidationStatuses": [] });
        assert_eq!(
            MembershipResult::from_graph(&bare).unwrap().into_group_id(),
            Err(MembershipError::FailedWithoutReason)
        );
    }

    #[test]
    fn every_documented_code_has_its_own_explanation() {
        let codes = [
            "firstPartyAppNotAnOwner",
            "notSecurityGroup",
            "notStaticSecurityGroup",
            "securityGroupNotFound",
            "securityGroupNotInCallerScope",
        ];
        let texts: std::collections::HashSet<String> =
            codes.iter().map(|c| TargetValidationError::parse(c).explanation()).collect();
        assert_eq!(texts.len(), codes.len());
        assert!(
            codes.iter().all(|c| !matches!(TargetValidationError::parse(c), TargetValidationError::Other(_)))
        );
        assert_eq!(TargetValidationError::parse("unknown"), TargetValidationError::Other("unknown".into()));
        assert!(TargetValidationError::SecurityGroupNotFound.is_retryable());
        assert!(!TargetValidationError::FirstPartyAppNotAnOwner.is_retryable());
    }

    #[test]
    fn no_binding_and_several_bindings() {
        let empty = serde_json::json!({ "value": { "validationSucceeded": true,
            "enrollmentTimeDeviceMembershipTargetValidationStatuses": [] } });
        assert_eq!(MembershipResult::from_graph(&empty).unwrap().into_group_id(), Ok(None));
        let two = serde_json::json!({ "validationSucceeded": true,
            "enrollmentTimeDeviceMembershipTargetValidationStatuses": [
                { "targetId": "a", "validationSucceeded": true }, { "targetId": "b", "validationSucceeded": true } ] });
        assert_eq!(
            MembershipResult::from_graph(&two).unwrap().into_group_id(),
            Err(MembershipError::SeveralTargets(2))
        );
        assert!(MembershipResult::from_graph(&serde_json::json!("x")).is_err());
    }
}
