use serde_json::json;
use url::Url;

use super::*;
use crate::graph::batch::{MAX_BATCH, plan_envelopes};

/// The envelopes the Graph client would send for each step.
fn envelopes(plan: &ChangePlan) -> [Vec<Vec<BatchRequest>>; 2] {
    plan.batch_steps(&group(), &urls()).map(|step| plan_envelopes(step).unwrap())
}

fn oid(n: usize) -> ObjectId {
    ObjectId::parse(&format!("00000000-0000-0000-0000-{n:012}")).unwrap()
}

fn ids(range: std::ops::Range<usize>) -> Vec<ObjectId> {
    range.map(oid).collect()
}

fn set(range: std::ops::Range<usize>) -> BTreeSet<ObjectId> {
    range.map(oid).collect()
}

fn group() -> ObjectId {
    ObjectId::parse("02bd9fd6-8f93-4758-87c3-1fb73740a315").unwrap()
}

fn urls() -> DirectoryObjectUrls {
    DirectoryObjectUrls::new(&Url::parse("https://graph.microsoft.com").unwrap())
}

/// The ids bound by the plan's PATCHes, checking each PATCH's size on the way.
fn bound(plan: &ChangePlan) -> Vec<ObjectId> {
    let mut all = Vec::new();
    for op in &plan.before {
        if let GroupOp::BindMembers(chunk) = op {
            assert!((1..=MAX_BINDS_PER_REQUEST).contains(&chunk.len()), "chunk of {}", chunk.len());
            all.extend(chunk.iter().cloned());
        }
    }
    all
}

#[test]
fn member_additions_are_chunked_at_most_20_per_patch() {
    // (members to add, PATCH requests, $batch envelopes)
    let cases = [
        (0, 0, 0),
        (1, 1, 1),
        (19, 1, 1),
        (20, 1, 1),
        (21, 2, 1),
        (25, 2, 1),
        (400, 20, 1),
        (401, 21, 2),
        (10_000, 500, 25),
    ];
    for (count, patches, n_envelopes) in cases {
        let plan = member_changes(&BTreeSet::new(), &set(0..count));
        assert_eq!(plan.before.len(), patches, "{count}");
        assert!(plan.after.is_empty());
        assert_eq!(bound(&plan), ids(0..count), "{count}: every member exactly once, in order");
        let [before, after] = envelopes(&plan);
        assert_eq!(before.len(), n_envelopes, "{count}");
        assert!(after.is_empty());
        assert!(before.iter().all(|b| (1..=MAX_BATCH).contains(&b.len())));
    }
}

#[test]
fn member_diff_adds_and_removes_only_the_difference() {
    let plan = member_changes(&set(0..30), &set(10..55));
    assert_eq!(bound(&plan), ids(30..55));
    let removed: Vec<ObjectId> = plan
        .before
        .iter()
        .filter_map(|op| match op {
            GroupOp::Remove(Relation::Members, id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(removed, ids(0..10));
    assert_eq!(plan.before.len(), 2 + 10);
    assert!(member_changes(&set(0..5), &set(0..5)).is_empty());
}

#[test]
fn requests_have_documented_methods_urls_and_bodies() {
    let g = group();
    let cases = [
        (
            GroupOp::BindMembers(ids(1..3)),
            Method::PATCH,
            format!("/groups/{g}"),
            Some(json!({
                "members@odata.bind": [
                    "https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-000000000001",
                    "https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-000000000002"
                ]
            })),
        ),
        (
            GroupOp::AddOwner(oid(7)),
            Method::POST,
            format!("/groups/{g}/owners/$ref"),
            Some(json!({
                "@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-000000000007"
            })),
        ),
        (
            GroupOp::AddMember(oid(8)),
            Method::POST,
            format!("/groups/{g}/members/$ref"),
            Some(json!({
                "@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-000000000008"
            })),
        ),
        (
            GroupOp::Remove(Relation::Owners, oid(9)),
            Method::DELETE,
            format!("/groups/{g}/owners/00000000-0000-0000-0000-000000000009/$ref"),
            None,
        ),
        (
            GroupOp::Remove(Relation::Members, oid(9)),
            Method::DELETE,
            format!("/groups/{g}/members/00000000-0000-0000-0000-000000000009/$ref"),
            None,
        ),
    ];
    for (op, method, url, body) in cases {
        assert_eq!(op.request(&g, &urls()), PlainRequest { method, url, body }, "{op:?}");
    }
}

fn kinds(entries: &[(usize, ObjectKind)]) -> BTreeMap<ObjectId, ObjectKind> {
    entries.iter().map(|(n, k)| (oid(*n), k.clone())).collect()
}

#[test]
fn owners_are_added_before_any_is_removed() {
    let current = kinds(&[(1, ObjectKind::User), (2, ObjectKind::User)]);
    let desired: BTreeSet<ObjectId> = [oid(2), oid(3), oid(4)].into();
    let plan = owner_changes(&current, &desired, &BTreeMap::new()).unwrap();
    assert_eq!(plan.before, vec![GroupOp::AddOwner(oid(3)), GroupOp::AddOwner(oid(4))]);
    assert_eq!(plan.after, vec![GroupOp::Remove(Relation::Owners, oid(1))]);

    // The removal is in the later step, even though everything would fit in one envelope.
    let [before, after] = plan.batch_steps(&group(), &urls());
    assert!(before.iter().all(|r| r.method == Method::POST));
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].method, Method::DELETE);
    assert_eq!(after[0].id, "3");
    assert_eq!(plan.operation("3"), Some(&GroupOp::Remove(Relation::Owners, oid(1))));
    assert_eq!(plan.operation("1"), Some(&GroupOp::AddOwner(oid(3))));
    assert_eq!(plan.operation("4"), None);
    assert_eq!(plan.operation("0"), None);
}

#[test]
fn last_user_owner_rule_follows_graph() {
    use ObjectKind::{Group as G, ServicePrincipal as Sp, Unknown, User};
    // (current owners, desired owners, kinds of added owners, error's removed users)
    type Owners = Vec<(usize, ObjectKind)>;
    type Case = (Owners, Vec<usize>, Owners, Option<Vec<usize>>);
    let cases: Vec<Case> = vec![
        // Replacing the only user owner by another user: fine (added first).
        (vec![(1, User)], vec![2], vec![(2, User)], None),
        // Replacing it by an owner of unknown kind: Graph decides; not refused at plan.
        (vec![(1, User)], vec![2], vec![], None),
        (vec![(1, User)], vec![2], vec![(2, Unknown)], None),
        // Removing every owner: refused.
        (vec![(1, User), (2, User)], vec![], vec![], Some(vec![1, 2])),
        // Only a service principal (or a group) left: a non-user owner does not count.
        (vec![(1, User), (5, Sp)], vec![5], vec![], Some(vec![1])),
        (vec![(1, User)], vec![6], vec![(6, Sp)], Some(vec![1])),
        (vec![(1, User)], vec![6], vec![(6, G)], Some(vec![1])),
        // Keeping one user: fine.
        (vec![(1, User), (2, User), (5, Sp)], vec![2], vec![], None),
        // No user owner to begin with: Graph documents no restriction.
        (vec![(5, Sp)], vec![], vec![], None),
        (vec![], vec![], vec![], None),
        (vec![], vec![5], vec![(5, Sp)], None),
    ];
    for (current, desired, added, expected) in cases {
        let desired: BTreeSet<ObjectId> = desired.into_iter().map(oid).collect();
        let result = owner_changes(&kinds(&current), &desired, &kinds(&added));
        match expected {
            None => assert!(result.is_ok(), "{current:?} -> {desired:?}: {result:?}"),
            Some(users) => assert_eq!(
                result,
                Err(LastOwnerError { removed_users: users.into_iter().map(oid).collect() }),
                "{current:?} -> {desired:?}"
            ),
        }
    }
}

#[test]
fn last_owner_message_says_what_to_do() {
    let err =
        owner_changes(&kinds(&[(1, ObjectKind::User)]), &BTreeSet::new(), &BTreeMap::new()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("00000000-0000-0000-0000-000000000001"), "{msg}");
    assert!(msg.contains("last user owner") && msg.contains("service principal"), "{msg}");
}

#[test]
fn create_split_puts_owners_first_and_20_at_most() {
    // (owners, members, owners in body, members in body, owner $ref POSTs after, member PATCHes after)
    let cases = [
        (1, 0, 1, 0, 0, 0),
        (1, 19, 1, 19, 0, 0),
        (1, 20, 1, 19, 0, 1),
        (0, 21, 0, 20, 0, 1),
        (0, 25, 0, 20, 0, 1),
        (3, 25, 3, 17, 0, 1),
        (20, 5, 20, 0, 0, 1),
        (25, 5, 20, 0, 5, 1),
        (1, 10_000, 1, 19, 0, 500),
        (0, 10_000, 0, 20, 0, 499),
    ];
    for (n_owners, n_members, body_owners, body_members, later_owners, later_patches) in cases {
        let owners = ids(100_000..100_000 + n_owners);
        let members = ids(0..n_members);
        let split = split_for_create(&owners, &members);
        let label = format!("{n_owners} owners, {n_members} members");
        assert_eq!(split.owners, owners[..body_owners], "{label}");
        assert_eq!(split.members, members[..body_members], "{label}");
        assert!(split.owners.len() + split.members.len() <= MAX_BINDS_PER_REQUEST);
        let adds: Vec<&GroupOp> =
            split.rest.before.iter().filter(|op| matches!(op, GroupOp::AddOwner(_))).collect();
        assert_eq!(adds.len(), later_owners, "{label}");
        assert_eq!(split.rest.before.len() - adds.len(), later_patches, "{label}");
        assert!(split.rest.after.is_empty());
        let mut all_members = split.members.clone();
        all_members.extend(bound(&split.rest));
        assert_eq!(all_members, members, "{label}: every member bound exactly once");
    }
}

#[test]
fn create_split_keeps_the_first_owner_and_drops_duplicates() {
    let sp = ObjectId::parse("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa").unwrap();
    let mut owners = vec![sp.clone()];
    owners.extend(ids(0..30));
    owners.push(sp.clone());
    let split = split_for_create(&owners, &[oid(1), oid(1)]);
    assert_eq!(split.owners[0], sp);
    assert_eq!(split.owners.len(), 20);
    let later: Vec<&GroupOp> = split.rest.before.iter().collect();
    assert_eq!(later.len(), 11 + 1, "11 owners left, then one PATCH for the single member");
    assert_eq!(split.rest.before.last(), Some(&GroupOp::BindMembers(vec![oid(1)])));
}

/// Mirrors `crossCutting/batch.v1.0.request.json` (concepts/json-batching): relative urls,
/// string ids, `Content-Type` only on requests with a body.
#[test]
fn batch_requests_have_the_documented_shape() {
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("testdata/batch.v1.0.request.json")).unwrap();
    let with_body = &sample["requests"][3];
    let without_body = &sample["requests"][2];

    let plan = ChangePlan {
        before: vec![GroupOp::AddOwner(oid(1))],
        after: vec![GroupOp::Remove(Relation::Owners, oid(2))],
    };
    let [before, after] = plan.batch_steps(&group(), &urls());
    let post = serde_json::to_value(&before[0]).unwrap();
    let delete = serde_json::to_value(&after[0]).unwrap();

    assert_eq!(post["headers"], with_body["headers"]);
    assert_eq!(post["id"], json!("1"));
    assert!(post["url"].as_str().unwrap().starts_with('/'));
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(keys(&post), keys(with_body));
    assert_eq!(keys(&delete), keys(without_body));
    assert_eq!(delete["method"], without_body["method"]);
}

#[test]
fn batch_ids_are_unique_and_map_back_to_operations() {
    let before = member_changes(&set(0..100), &set(50..1_000));
    let owners =
        owner_changes(&kinds(&[(2_000, ObjectKind::User)]), &set(2_001..2_030), &BTreeMap::new()).unwrap();
    let plan = owners.merge(before);
    let [before, after] = plan.batch_steps(&group(), &urls());
    let mut seen = BTreeSet::new();
    for request in before.iter().chain(&after) {
        assert!(seen.insert(request.id.clone()), "duplicate id {}", request.id);
        let op = plan.operation(&request.id).unwrap();
        assert_eq!(op.request(&group(), &urls()).url, request.url);
    }
    assert_eq!(seen.len(), plan.before.len() + plan.after.len());
    // 29 owner POSTs + 45 member PATCHes + 50 member DELETEs = 124 → 7 envelopes; then 1 owner DELETE.
    let [before, after] = envelopes(&plan);
    assert_eq!((before.len(), after.len()), (7, 1));
    assert_eq!(after[0].len(), 1);
}
