//! Directory lookups shared by resources: which objects exist, and of what kind.

use std::collections::HashMap;

use crate::framework::resource::Ctx;
use crate::graph::error::Error;
use crate::resources::ProviderData;
use crate::resources::errors::call_cx;
use crate::resources::groups::api::GroupsApi;
use crate::resources::groups::object_id::ObjectId;

/// Map each existing id to its kind as users read it (`user`, `group`, `service principal`,
/// ...), keyed by the id exactly as given. One `getByIds` per 1,000 ids, through the groups
/// API's `kinds` (a retry-safe POST); missing or malformed ids are absent.
pub async fn objects_by_ids(
    ctx: &Ctx,
    data: &ProviderData,
    ids: &[String],
) -> Result<HashMap<String, String>, Error> {
    let parsed: Vec<(&String, ObjectId)> =
        ids.iter().filter_map(|id| ObjectId::parse(id).ok().map(|o| (id, o))).collect();
    let wanted: Vec<ObjectId> = parsed.iter().map(|(_, o)| o.clone()).collect();
    let kinds = GroupsApi::new(&data.graph, call_cx(ctx)).kinds(&wanted).await?;
    Ok(parsed
        .into_iter()
        .filter_map(|(id, o)| kinds.get(&o).map(|k| (id.clone(), k.describe().to_owned())))
        .collect())
}
