//! `autopilot_group_member`: one membership, not authoritative (other members are left
//! alone). Tolerates "already a member", waits until the membership is visible, and is
//! imported as `group_id/member_id`.

use async_trait::async_trait;

use crate::framework::diag::Diagnostic;
use crate::framework::path::AttributePath;
use crate::framework::resource::{
    CreateRequest, Ctx, DeleteRequest, ImportResult, ReadRequest, Resource, StateResult, UpdateRequest,
};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validator::uuid;
use crate::framework::value::ObjectBuilder;
use crate::framework::{Diagnostics, Value, plan_modifier, timeouts};

use super::api::GroupsApi;
use super::object_id::ObjectId;
use super::wire::Relation;
use crate::resources::ProviderData;
use crate::resources::errors::{Op, call_cx, graph_diagnostic};

fn op(action: &str) -> Op<'_> {
    Op { action, permission: "GroupMember.ReadWrite.All", delegated_role: Some("Groups Administrator") }
}

/// `autopilot_group_member`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroupMemberResource;

/// The schema of `autopilot_group_member`.
pub fn schema() -> Schema {
    let attributes = vec![
        Attribute::string("id")
            .computed()
            .plan_modifier(plan_modifier::use_state_for_unknown())
            .description("`group_id/member_id`."),
        Attribute::string("group_id")
            .required()
            .validator(uuid())
            .plan_modifier(plan_modifier::requires_replace())
            .description("Object id of the group."),
        Attribute::string("member_id")
            .required()
            .validator(uuid())
            .plan_modifier(plan_modifier::requires_replace())
            .description("Object id of the member: a user, group, device or service principal."),
        timeouts::block(&["create", "read", "delete"]),
    ];
    Schema {
        version: 0,
        block: Block {
            description:
                "One member of a group. Other members are not touched, so several of these (or portal \
                          changes) can share a group; do not combine with the authoritative `members` of \
                          `autopilot_group` on the same group."
                    .into(),
            attributes,
            ..Default::default()
        },
    }
}

/// Both ids of a state or plan, as configured and parsed.
fn ids(v: &Value) -> Result<(String, String, ObjectId, ObjectId), Diagnostic> {
    let parse = |name: &str| {
        let raw = v.get_str(name).unwrap_or_default().to_owned();
        ObjectId::parse(&raw)
            .map(|id| (raw, id))
            .map_err(|e| Diagnostic::error("Invalid object id", e.to_string()).at(AttributePath::new(name)))
    };
    let (group_raw, group) = parse("group_id")?;
    let (member_raw, member) = parse("member_id")?;
    Ok((group_raw, member_raw, group, member))
}

fn state(group: &str, member: &str, timeouts_value: Option<&Value>) -> Value {
    ObjectBuilder::for_schema(&schema())
        .set("id", format!("{group}/{member}"))
        .set("group_id", group)
        .set("member_id", member)
        .set(timeouts::ATTRIBUTE, timeouts_value.cloned().unwrap_or(Value::Null))
        .build()
}

#[async_trait]
impl Resource<ProviderData> for GroupMemberResource {
    fn type_name(&self) -> &'static str {
        "autopilot_group_member"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest<'_>) -> StateResult {
        let mut result = StateResult::default();
        let (group_raw, member_raw, group, member) = match ids(req.planned) {
            Ok(ids) => ids,
            Err(d) => {
                result.diagnostics.push(d);
                return result;
            }
        };
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        if let Err(e) = api.add_reference(&group, Relation::Members, &member).await {
            result.diagnostics.push(graph_diagnostic(op("Adding the group member"), &e));
            return result;
        }
        let done = state(&group_raw, &member_raw, req.planned.attr(timeouts::ATTRIBUTE));
        if let Err(e) = api.wait_for_membership(&group, Relation::Members, &member, true).await {
            // The membership exists; keep it in state (tainted) rather than lose track of it.
            result.diagnostics.error(
                "Group member not visible yet",
                format!(
                    "{member} was added to group {group}, but reads did not show it before the deadline: {e}"
                ),
            );
        }
        result.state = Some(done);
        result
    }

    async fn read(&self, ctx: &Ctx, data: &ProviderData, req: ReadRequest<'_>) -> StateResult {
        let mut result = StateResult { private: req.private.to_vec(), ..Default::default() };
        let (_, _, group, member) = match ids(req.current) {
            Ok(ids) => ids,
            Err(d) => {
                result.diagnostics.push(d);
                return result;
            }
        };
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        match api.contains(&group, Relation::Members, &member).await {
            Ok(true) => result.state = Some(req.current.clone()),
            Ok(false) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                result.diagnostics.push(graph_diagnostic(op("Reading the group member"), &e));
                result.state = Some(req.current.clone());
            }
        }
        result
    }

    async fn update(&self, _ctx: &Ctx, _data: &ProviderData, req: UpdateRequest<'_>) -> StateResult {
        // Both ids force replacement; only `timeouts` can change in place.
        StateResult {
            state: Some(req.planned.clone()),
            private: req.planned_private.to_vec(),
            ..Default::default()
        }
    }

    async fn delete(&self, ctx: &Ctx, data: &ProviderData, req: DeleteRequest<'_>) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let Ok((_, _, group, member)) = ids(req.prior) else {
            return diags;
        };
        let api = GroupsApi::new(&data.graph, call_cx(ctx));
        match api.remove_reference(&group, Relation::Members, &member).await {
            Err(e) if e.is_not_found() => {}
            Err(e) => diags.push(graph_diagnostic(op("Removing the group member"), &e)),
            Ok(()) => {
                if let Err(e) = api.wait_for_membership(&group, Relation::Members, &member, false).await {
                    diags.warning(
                        "Group member removal not visible yet",
                        format!("{member} was removed from group {group}, but reads still showed it: {e}"),
                    );
                }
            }
        }
        diags
    }

    async fn import(&self, _ctx: &Ctx, _data: &ProviderData, id: &str) -> ImportResult {
        let mut result = ImportResult::default();
        let parsed =
            id.split_once('/').filter(|(g, m)| ObjectId::parse(g).is_ok() && ObjectId::parse(m).is_ok());
        match parsed {
            Some((group, member)) => result.state = Some(state(group, member, None)),
            None => result.diagnostics.error(
                "Invalid import id",
                format!("Import a group member as group_id/member_id (two object ids), got {id:?}."),
            ),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::test_support::{ctx, data};
    use super::*;
    use crate::framework::apply::{ApplyRequest, apply_resource_change, read_resource};
    use crate::resources::ProviderData;

    const GROUP: &str = "21d05557-b7b6-418f-86fa-a3118d751be4";
    const USER: &str = "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e";

    #[tokio::test]
    async fn already_a_member_counts_as_created_and_read_uses_one_filtered_request() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/v1.0/groups/{GROUP}/members/$ref")))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "Request_BadRequest",
                "message": "One or more added object references already exist for the following modified properties: 'members'."}})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/v1.0/groups/{GROUP}/members")))
            .and(query_param("$filter", format!("id eq '{USER}'")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": USER}]})))
            .mount(&server)
            .await;
        let data = data(&server);
        let planned =
            ObjectBuilder::for_schema(&schema()).set("group_id", GROUP).set("member_id", USER).build();
        let applied = apply_resource_change::<ProviderData>(
            &GroupMemberResource,
            &ctx(),
            &data,
            ApplyRequest { prior: &Value::Null, planned: &planned, config: &planned, planned_private: &[] },
        )
        .await;
        assert!(!applied.diagnostics.has_error(), "{:?}", applied.diagnostics);
        let state = applied.state.unwrap();
        assert_eq!(state.get_str("id").map(str::to_owned), Some(format!("{GROUP}/{USER}")));

        let read = read_resource::<ProviderData>(
            &GroupMemberResource,
            &ctx(),
            &data,
            ReadRequest { current: &state, private: &[] },
        )
        .await;
        assert_eq!(read.state, Some(state));
    }

    #[tokio::test]
    async fn a_removed_membership_disappears_from_state() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("/v1.0/groups/{GROUP}/members")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
            .mount(&server)
            .await;
        let data = data(&server);
        let current = state(GROUP, USER, None);
        let read = read_resource::<ProviderData>(
            &GroupMemberResource,
            &ctx(),
            &data,
            ReadRequest { current: &current, private: &[] },
        )
        .await;
        assert!(read.state.is_none());
    }

    #[tokio::test]
    async fn import_ids_are_group_slash_member() {
        let server = MockServer::start().await;
        let data = data(&server);
        let ok =
            Resource::<ProviderData>::import(&GroupMemberResource, &ctx(), &data, &format!("{GROUP}/{USER}"))
                .await;
        assert_eq!(ok.state.unwrap().get_str("member_id"), Some(USER));
        for bad in [GROUP.to_owned(), format!("{GROUP}/x"), format!("/groups/{GROUP}/member/{USER}")] {
            let r = Resource::<ProviderData>::import(&GroupMemberResource, &ctx(), &data, &bad).await;
            assert!(r.diagnostics.has_error(), "{bad}");
        }
    }
}
