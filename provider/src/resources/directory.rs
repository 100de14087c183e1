//! Directory lookups shared by resources: which objects exist, and of what kind.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;

use crate::framework::resource::Ctx;
use crate::graph::client::Api;
use crate::graph::error::Error;
use crate::resources::ProviderData;
use crate::resources::errors::call_cx;

#[derive(Deserialize)]
struct Found {
    id: String,
    #[serde(rename = "@odata.type", default)]
    odata_type: String,
}

#[derive(Deserialize)]
struct FoundList {
    value: Vec<Found>,
}

/// `getByIds` takes at most 1,000 ids per request.
const GET_BY_IDS_LIMIT: usize = 1000;

/// Map each existing id to its kind (`user`, `group`, `servicePrincipal`, `device`, ...),
/// with one `POST /directoryObjects/getByIds` per 1,000 ids. Missing ids are absent.
pub async fn objects_by_ids(
    ctx: &Ctx,
    data: &ProviderData,
    ids: &[String],
) -> Result<HashMap<String, String>, Error> {
    let cx = call_cx(ctx);
    let mut out = HashMap::new();
    for chunk in ids.chunks(GET_BY_IDS_LIMIT) {
        let found: FoundList = data
            .graph
            .post_json(&cx, Api::V1, "/directoryObjects/getByIds", &json!({ "ids": chunk }))
            .await?;
        for f in found.value {
            let kind = f.odata_type.trim_start_matches('#').trim_start_matches("microsoft.graph.").to_owned();
            out.insert(f.id, kind);
        }
    }
    Ok(out)
}
