//! Read coalescing: GETs issued within a few milliseconds of each other (Terraform refreshes many
//! resources in parallel) travel together as one `$batch`, saving round trips and request budget.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, oneshot};
use tokio_util::sync::CancellationToken;

use super::batch::{BatchRequest, MAX_BATCH};
use super::client::{Api, GraphClient};
use super::cx::CallCx;
use super::error::{Error, ErrorKind, Result};

/// How long the first queued GET waits for company before the queue is sent.
pub const FLUSH_AFTER: Duration = Duration::from_millis(5);

type Reply = oneshot::Sender<Result<serde_json::Value>>;

/// GETs waiting to be sent, per API version (one `$batch` targets one version).
#[derive(Debug, Default)]
pub struct Coalescer {
    queues: Mutex<HashMap<Api, Queue>>,
}

#[derive(Debug, Default)]
struct Queue {
    /// Distinct paths in arrival order, each with everyone waiting for it.
    items: Vec<(String, Vec<Reply>)>,
    /// The latest deadline among the waiters (`None` if any waiter has none).
    deadline: Option<Option<Instant>>,
}

impl Queue {
    fn push(&mut self, path: &str, reply: Reply, deadline: Option<Instant>) {
        match self.items.iter_mut().find(|(p, _)| p == path) {
            Some((_, waiters)) => waiters.push(reply),
            None => self.items.push((path.to_owned(), vec![reply])),
        }
        self.deadline = Some(match (self.deadline, deadline) {
            (None, d) => d,
            (Some(Some(a)), Some(b)) => Some(a.max(b)),
            _ => None,
        });
    }
}

impl GraphClient {
    /// GET `path` (relative, like `/groups/{id}?$select=id`) and decode it, possibly sharing a `$batch` with other GETs issued within
    /// [`FLUSH_AFTER`] (up to 20; identical paths are fetched once). Errors are the same as for
    /// [`GraphClient::get_json`] (not-found, forbidden, ...).
    pub async fn get_json_coalesced<T: DeserializeOwned>(
        &self,
        cx: &CallCx,
        api: Api,
        path: &str,
    ) -> Result<T> {
        cx.check()?;
        let (tx, rx) = oneshot::channel();
        let flush_now = {
            let mut queues = self.inner.coalescer.queues.lock().await;
            let queue = queues.entry(api).or_default();
            let first = queue.items.is_empty();
            queue.push(path, tx, cx.deadline);
            if queue.items.len() >= MAX_BATCH {
                // Full: send now. The timer of this queue may later flush a newer queue a little
                // early, which is harmless.
                Some(std::mem::take(queue))
            } else {
                if first {
                    let client = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(FLUSH_AFTER).await;
                        let queue = client.inner.coalescer.queues.lock().await.remove(&api);
                        if let Some(q) = queue {
                            client.flush(api, q).await;
                        }
                    });
                }
                None
            }
        };
        if let Some(q) = flush_now {
            let client = self.clone();
            tokio::spawn(async move { client.flush(api, q).await });
        }
        let value = cx
            .run(rx)
            .await?
            .map_err(|_| Error::new(ErrorKind::Cancelled, "the coalesced request was dropped"))??;
        serde_json::from_value(value)
            .map_err(|e| Error::new(ErrorKind::InvalidResponse, format!("unexpected response body: {e}")))
    }

    /// Sends one queue and answers every waiter.
    async fn flush(&self, api: Api, queue: Queue) {
        if queue.items.is_empty() {
            return;
        }
        // The shared request runs on its own context: one waiter giving up must not cancel the
        // others; it ends at the latest waiter deadline.
        let cx = CallCx::new(CancellationToken::new(), queue.deadline.flatten());
        if let [(path, _)] = queue.items.as_slice() {
            let result = self.get_json::<serde_json::Value>(&cx, api, path).await;
            for (_, waiters) in queue.items {
                answer(waiters, &result);
            }
            return;
        }
        let requests = queue
            .items
            .iter()
            .enumerate()
            .map(|(i, (path, _))| BatchRequest::get(i.to_string(), path.clone()))
            .collect();
        match self.batch(&cx, api, requests).await {
            Ok(responses) => {
                for ((_, waiters), rsp) in queue.items.into_iter().zip(responses) {
                    answer(waiters, &rsp.json::<serde_json::Value>());
                }
            }
            Err(e) => {
                let failed: Result<serde_json::Value> = Err(e);
                for (_, waiters) in queue.items {
                    answer(waiters, &failed);
                }
            }
        }
    }
}

fn answer(waiters: Vec<Reply>, result: &Result<serde_json::Value>) {
    for w in waiters {
        // A waiter that gave up (cancelled) has dropped its receiver; nothing to do.
        let _ = w.send(result.clone());
    }
}
