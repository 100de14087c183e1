//! Collections: follow `@odata.nextLink` verbatim until Graph stops sending one.

use futures::{Stream, StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::client::{Api, GraphClient, GraphRequest};
use super::cx::CallCx;
use super::error::Result;

/// One page of a collection.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

impl GraphClient {
    /// The pages of the collection `request` asks for. A next link that leaves the configured Graph
    /// endpoint ends the stream with an `UntrustedUrl` error.
    pub fn pages<'a, T: DeserializeOwned + 'a>(
        &'a self,
        cx: &'a CallCx,
        request: GraphRequest,
    ) -> impl Stream<Item = Result<Vec<T>>> + 'a {
        stream::try_unfold(Some(request), move |next| async move {
            let Some(req) = next else { return Ok(None) };
            let page: Page<T> = self.send(cx, req.clone()).await?.json()?;
            let following = match page.next_link {
                Some(link) => {
                    // Checked here too (not only in send) so the error names the paging step.
                    self.ensure_trusted(&self.url_for(req.api, &link)?)?;
                    Some(GraphRequest { path: link, body: None, ..req })
                }
                None => None,
            };
            Ok(Some((page.value, following)))
        })
    }

    /// The items of the collection at `path`, page by page.
    pub fn list_stream<'a, T: DeserializeOwned + 'a>(
        &'a self,
        cx: &'a CallCx,
        api: Api,
        path: &str,
    ) -> impl Stream<Item = Result<T>> + 'a {
        self.pages::<T>(cx, GraphRequest::new(reqwest::Method::GET, api, path))
            .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
            .try_flatten()
    }

    /// All items of the collection at `path`.
    pub async fn list_all<T: DeserializeOwned>(&self, cx: &CallCx, api: Api, path: &str) -> Result<Vec<T>> {
        self.list_request(cx, GraphRequest::new(reqwest::Method::GET, api, path)).await
    }

    /// All items of a collection request with custom headers (e.g. `ConsistencyLevel: eventual`).
    pub async fn list_request<T: DeserializeOwned>(
        &self,
        cx: &CallCx,
        request: GraphRequest,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut pages = std::pin::pin!(self.pages::<T>(cx, request));
        while let Some(page) = pages.next().await {
            out.extend(page?);
        }
        Ok(out)
    }
}
