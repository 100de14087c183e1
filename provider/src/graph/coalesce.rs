//! Read coalescing: reads issued within a few milliseconds of each other (Terraform refreshes many
//! resources in parallel) travel together as one `$batch`, saving round trips and request budget.
//!
//! A read is a GET, or a POST that Graph documents as a read (an action such as
//! `retrieveEnrollmentTimeDeviceMembershipTarget`, or `getByIds`): repeating it is harmless, so it
//! may share an envelope and be retried like a GET. Collections coalesce their first page; the
//! following pages (`@odata.nextLink`) are plain GETs.
//!
//! The queue of one API version is sent when no new read joined it for [`QUIET`], or [`MAX_WAIT`]
//! after its first read, or as soon as it holds 20 distinct reads. Coalescing can be turned off
//! per client ([`super::Tuning::coalesce_reads`]): every read is then its own request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, oneshot};
use tokio_util::sync::CancellationToken;

use super::batch::{BatchRequest, MAX_BATCH};
use super::client::{Api, GraphClient, GraphRequest};
use super::cx::CallCx;
use super::error::{Error, ErrorKind, Result};
use super::paging::Page;

/// A queue is sent once no read joined it for this long: Terraform starts the refreshes of one
/// dependency level (or of the next `-parallelism` resources) over several milliseconds, more on a
/// busy machine. benches/plan-coalescing.sh: 10 ms left batches half full, 20 ms fills them.
pub const QUIET: Duration = Duration::from_millis(20);
/// ... and at the latest this long after its first read, so a steady trickle cannot hold reads
/// back for long; about one Graph round trip.
pub const MAX_WAIT: Duration = Duration::from_millis(100);
/// The quiet window once a read of a write path ([`CallCx::on_write_path`]) is queued: long
/// enough for the reads one task issues together (a `join!`) to share the envelope, short
/// against a round trip. Such reads wait on a create or update, one after the other, so each
/// full [`QUIET`] would lengthen the apply's critical path.
pub const WRITE_PATH_QUIET: Duration = Duration::from_millis(2);

type Reply = oneshot::Sender<Result<serde_json::Value>>;

/// One read as plain data; equal reads queued together are sent once.
#[derive(Clone, Debug, PartialEq)]
pub struct Read {
    pub method: Method,
    /// Relative to the version, like `/groups/{id}?$select=id`.
    pub path: String,
    pub body: Option<serde_json::Value>,
}

impl Read {
    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self { method: Method::GET, path: path.into(), body: None }
    }

    /// A POST that only reads (safe to repeat), with an optional JSON body.
    pub fn post(path: impl Into<String>, body: Option<serde_json::Value>) -> Self {
        Self { method: Method::POST, path: path.into(), body }
    }

    fn batch_request(&self, id: String) -> BatchRequest {
        let r = BatchRequest::new(id, self.method.clone(), self.path.clone()).idempotent(true);
        match &self.body {
            Some(b) => r.json(b.clone()),
            None => r,
        }
    }

    fn graph_request(&self, api: Api) -> GraphRequest {
        let mut r = GraphRequest::new(self.method.clone(), api, self.path.clone()).idempotent(true);
        r.body.clone_from(&self.body);
        r
    }
}

/// Reads waiting to be sent, per API version (one `$batch` targets one version).
#[derive(Debug)]
pub struct Coalescer {
    enabled: bool,
    queues: Mutex<HashMap<Api, Queue>>,
    generations: AtomicU64,
}

impl Coalescer {
    /// A coalescer; with `enabled == false` every read is sent on its own.
    pub fn new(enabled: bool) -> Self {
        Self { enabled, queues: Mutex::default(), generations: AtomicU64::new(0) }
    }
}

#[derive(Debug)]
struct Queue {
    /// Tells this queue from a later one of the same version (its timer must not send that one).
    generation: u64,
    /// Distinct reads in arrival order, each with everyone waiting for it.
    items: Vec<(Read, Vec<Reply>)>,
    /// The latest deadline among the waiters (`None` if any waiter has none).
    deadline: Option<Option<Instant>>,
    first: Instant,
    last: Instant,
    /// [`QUIET`], or [`WRITE_PATH_QUIET`] once a write path's read joined.
    quiet: Duration,
}

impl Queue {
    fn new(generation: u64) -> Self {
        let now = Instant::now();
        Self { generation, items: Vec::new(), deadline: None, first: now, last: now, quiet: QUIET }
    }

    /// Adds a waiter; true when that makes the queue due sooner than before (a write path's
    /// read joining a queue that was waiting out the full window).
    fn push(&mut self, read: Read, reply: Reply, deadline: Option<Instant>, quiet: Duration) -> bool {
        let due_before = self.due();
        self.quiet = self.quiet.min(quiet);
        match self.items.iter_mut().find(|(r, _)| *r == read) {
            Some((_, waiters)) => waiters.push(reply),
            None => self.items.push((read, vec![reply])),
        }
        self.last = Instant::now();
        self.deadline = Some(match (self.deadline, deadline) {
            (None, d) => d,
            (Some(Some(a)), Some(b)) => Some(a.max(b)),
            _ => None,
        });
        self.due() < due_before
    }

    /// When this queue is due to be sent.
    fn due(&self) -> Instant {
        (self.last + self.quiet).min(self.first + MAX_WAIT)
    }
}

impl GraphClient {
    /// Whether reads are coalesced (see [`super::Tuning::coalesce_reads`]).
    pub fn coalesces_reads(&self) -> bool {
        self.inner.coalescer.enabled
    }

    /// GET `path` (relative, like `/groups/{id}?$select=id`) and decode it, possibly sharing a
    /// `$batch` with other reads issued at about the same time (up to 20; identical reads are sent
    /// once). Errors are the same as for [`GraphClient::get_json`] (not-found, forbidden, ...).
    pub async fn get_json_coalesced<T: DeserializeOwned>(
        &self,
        cx: &CallCx,
        api: Api,
        path: &str,
    ) -> Result<T> {
        self.read_coalesced(cx, api, Read::get(path)).await
    }

    /// POST to an action Graph documents as a read (no side effect, so safe to repeat and to
    /// batch), possibly sharing a `$batch` like [`GraphClient::get_json_coalesced`].
    pub async fn post_read_coalesced<T: DeserializeOwned>(
        &self,
        cx: &CallCx,
        api: Api,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        self.read_coalesced(cx, api, Read::post(path, body)).await
    }

    /// All items of the collection at `path`: the first page coalesced like
    /// [`GraphClient::get_json_coalesced`], the following ones (next links) as plain GETs.
    pub async fn list_all_coalesced<T: DeserializeOwned>(
        &self,
        cx: &CallCx,
        api: Api,
        path: &str,
    ) -> Result<Vec<T>> {
        let first: Page<T> = self.get_json_coalesced(cx, api, path).await?;
        let mut out = first.value;
        if let Some(link) = first.next_link {
            self.ensure_trusted(&self.url_for(api, &link)?)?;
            let mut pages = std::pin::pin!(self.pages::<T>(cx, GraphRequest::new(Method::GET, api, link)));
            while let Some(page) = pages.next().await {
                out.extend(page?);
            }
        }
        Ok(out)
    }

    /// Queues `read` (or sends it directly when coalescing is off) and decodes its answer.
    pub async fn read_coalesced<T: DeserializeOwned>(&self, cx: &CallCx, api: Api, read: Read) -> Result<T> {
        cx.check()?;
        if !self.coalesces_reads() {
            return self.send(cx, read.graph_request(api)).await?.json();
        }
        let (tx, rx) = oneshot::channel();
        let quiet = if cx.write_path { WRITE_PATH_QUIET } else { QUIET };
        let (flush_now, sooner) = {
            let mut queues = self.inner.coalescer.queues.lock().await;
            let mut fresh = false;
            let queue = queues.entry(api).or_insert_with(|| {
                fresh = true;
                let generation = self.inner.coalescer.generations.fetch_add(1, Ordering::Relaxed);
                let client = self.clone();
                tokio::spawn(async move { client.flush_when_due(api, generation).await });
                Queue::new(generation)
            });
            // A write path's read can bring a waiting queue forward, while its timer sleeps until
            // the old time (a new queue's timer has not looked yet).
            let sooner = (queue.push(read, tx, cx.deadline, quiet) && !fresh).then_some(queue.generation);
            if queue.items.len() >= MAX_BATCH { (queues.remove(&api), None) } else { (None, sooner) }
        };
        if let Some(q) = flush_now {
            let client = self.clone();
            tokio::spawn(async move { client.flush(api, q).await });
        }
        if let Some(generation) = sooner {
            // A second timer for the same queue: whichever wakes first sends it, the other finds
            // its generation gone.
            let client = self.clone();
            tokio::spawn(async move { client.flush_when_due(api, generation).await });
        }
        let value = cx
            .run(rx)
            .await?
            .map_err(|_| Error::new(ErrorKind::Cancelled, "the coalesced request was dropped"))??;
        serde_json::from_value(value)
            .map_err(|e| Error::new(ErrorKind::InvalidResponse, format!("unexpected response body: {e}")))
    }

    /// The timer of queue `generation`: sends it when due, unless it was sent full before.
    async fn flush_when_due(&self, api: Api, generation: u64) {
        loop {
            let due = {
                let mut queues = self.inner.coalescer.queues.lock().await;
                match queues.get(&api) {
                    Some(q) if q.generation == generation => {
                        let due = q.due();
                        if due <= Instant::now() {
                            let taken = queues.remove(&api);
                            drop(queues);
                            if let Some(q) = taken {
                                self.flush(api, q).await;
                            }
                            return;
                        }
                        due
                    }
                    _ => return,
                }
            };
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        }
    }

    /// Sends one queue and answers every waiter.
    async fn flush(&self, api: Api, queue: Queue) {
        if queue.items.is_empty() {
            return;
        }
        // The shared request runs on its own context: one waiter giving up must not cancel the
        // others; it ends at the latest waiter deadline.
        let cx = CallCx::new(CancellationToken::new(), queue.deadline.flatten());
        if let [(read, _)] = queue.items.as_slice() {
            let result = self.send_alone(&cx, api, read).await;
            for (_, waiters) in queue.items {
                answer(waiters, &result);
            }
            return;
        }
        let requests =
            queue.items.iter().enumerate().map(|(i, (read, _))| read.batch_request(i.to_string())).collect();
        match self.batch(&cx, api, requests).await {
            Ok(responses) => {
                // `batch` retries throttled items but leaves inner server errors to the caller;
                // such a read gets the retries a plain request has.
                let answers = queue.items.iter().zip(&responses).map(|((read, _), rsp)| async {
                    if matches!(rsp.status, 500 | 502 | 504) {
                        self.send_alone(&cx, api, read).await
                    } else {
                        rsp.json::<serde_json::Value>()
                    }
                });
                let answers = futures::future::join_all(answers).await;
                for ((_, waiters), result) in queue.items.into_iter().zip(answers) {
                    answer(waiters, &result);
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

impl GraphClient {
    /// One read as a plain request (with the client's retries), decoded as JSON.
    async fn send_alone(&self, cx: &CallCx, api: Api, read: &Read) -> Result<serde_json::Value> {
        self.send(cx, read.graph_request(api)).await?.json()
    }
}

fn answer(waiters: Vec<Reply>, result: &Result<serde_json::Value>) {
    for w in waiters {
        // A waiter that gave up (cancelled) has dropped its receiver; nothing to do.
        let _ = w.send(result.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_due_after_a_quiet_spell_or_at_the_latest_after_max_wait() {
        let t0 = Instant::now();
        let at = |last: Duration| {
            let q = Queue { first: t0, last: t0 + last, ..Queue::new(0) };
            q.due().duration_since(t0)
        };
        let ms = Duration::from_millis;
        assert_eq!(at(ms(0)), QUIET);
        assert_eq!(at(ms(3)), ms(3) + QUIET, "a later read extends the wait");
        assert_eq!(at(MAX_WAIT - ms(1)), MAX_WAIT, "but never beyond MAX_WAIT");
    }

    #[test]
    fn a_write_path_read_shortens_the_quiet_window_and_says_so() {
        let mut q = Queue::new(0);
        let (tx, _rx) = oneshot::channel();
        assert!(!q.push(Read::get("/a"), tx, None, QUIET), "a plain read only extends the wait");
        assert_eq!(q.due(), q.last + QUIET);
        let (tx, _rx) = oneshot::channel();
        assert!(q.push(Read::get("/b"), tx, None, WRITE_PATH_QUIET), "due sooner: the timer must be told");
        assert_eq!(q.due(), q.last + WRITE_PATH_QUIET);
        let (tx, _rx) = oneshot::channel();
        q.push(Read::get("/c"), tx, None, QUIET);
        assert_eq!(q.due(), q.last + WRITE_PATH_QUIET, "a later plain read does not hold the write back");
    }

    #[test]
    fn equal_reads_share_one_slot() {
        let mut q = Queue::new(0);
        for read in [
            Read::get("/a"),
            Read::get("/a"),
            Read::post("/a", None),
            Read::post("/a", Some(serde_json::json!({}))),
        ] {
            let (tx, _rx) = oneshot::channel();
            let _ = q.push(read, tx, None, QUIET);
        }
        let waiters: Vec<usize> = q.items.iter().map(|(_, w)| w.len()).collect();
        assert_eq!(waiters, vec![2, 1, 1]);
    }
}
