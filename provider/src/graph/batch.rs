//! JSON `$batch`: up to 20 requests per envelope, answered per request (in any order).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};

use super::client::{Api, GraphClient, GraphRequest};
use super::cx::CallCx;
use super::error::{Error, ErrorKind, Result};
use super::ratelimit::is_intune_write;
use super::retry::{is_retryable_status, parse_retry_after};

/// Graph's documented maximum of requests in one `$batch`.
pub const MAX_BATCH: usize = 20;

/// One request inside a `$batch`.
#[derive(Clone, Debug, Serialize)]
pub struct BatchRequest {
    /// Unique within the call; correlates the response.
    pub id: String,
    #[serde(serialize_with = "method_str")]
    pub method: Method,
    /// Relative to the version, e.g. `/groups/{id}?$select=id`.
    pub url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// Ids of requests that must succeed first (they are kept in the same envelope).
    #[serde(rename = "dependsOn", skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Whether repeating it is harmless (not sent). Defaults to `method != POST`; set it for
    /// POST actions that only read or replace state.
    #[serde(skip)]
    pub idempotent: bool,
}

fn method_str<S: Serializer>(m: &Method, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

impl BatchRequest {
    pub fn new(id: impl Into<String>, method: Method, url: impl Into<String>) -> Self {
        let idempotent = method != Method::POST;
        Self {
            id: id.into(),
            idempotent,
            method,
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
            depends_on: Vec::new(),
        }
    }

    /// A GET of `url`.
    pub fn get(id: impl Into<String>, url: impl Into<String>) -> Self {
        Self::new(id, Method::GET, url)
    }

    /// Sets a JSON body (and the `Content-Type` header `$batch` requires with a body).
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.headers.insert("Content-Type".into(), "application/json".into());
        self.body = Some(body);
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Marks the request as safe (or unsafe) to repeat.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Runs this request only after `id` succeeded.
    pub fn depends_on(mut self, id: impl Into<String>) -> Self {
        self.depends_on.push(id.into());
        self
    }
}

/// The answer to one [`BatchRequest`].
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct BatchResponse {
    pub id: String,
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub body: Option<serde_json::Value>,
}

impl BatchResponse {
    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header (case-insensitive) as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// The error of a non-2xx answer, decoded like a top-level Graph error.
    pub fn error(&self) -> Option<Error> {
        if self.is_success() {
            return None;
        }
        let body = self.body.as_ref().map(|b| b.to_string()).unwrap_or_default();
        Some(Error::from_response(self.status, self.header("request-id").as_deref(), body.as_bytes()))
    }

    /// The body decoded as `T` (`null` when absent), or the error of a non-2xx answer.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        serde_json::from_value(self.body.clone().unwrap_or(serde_json::Value::Null)).map_err(|e| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!("unexpected body in $batch response {}: {e}", self.id),
            )
        })
    }
}

#[derive(Deserialize)]
struct Envelope {
    responses: Vec<BatchResponse>,
}

impl GraphClient {
    /// Sends `requests` as `$batch` envelopes of at most 20 (requests linked by `dependsOn` share
    /// an envelope), retries inner 429/503 answers after their `Retry-After`, and returns one
    /// response per request, in input order. Inner failures are responses, not errors; the
    /// `Err` case is for the envelope itself (transport, auth, deadline) and invalid input.
    pub async fn batch(
        &self,
        cx: &CallCx,
        api: Api,
        requests: Vec<BatchRequest>,
    ) -> Result<Vec<BatchResponse>> {
        let order: Vec<String> = requests.iter().map(|r| r.id.clone()).collect();
        let mut results: HashMap<String, BatchResponse> = HashMap::new();
        for envelope in plan_envelopes(requests)? {
            results.extend(self.run_envelope(cx, api, envelope).await?);
        }
        order
            .into_iter()
            .map(|id| {
                results.remove(&id).ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidResponse,
                        format!("$batch response has no answer for request {id}"),
                    )
                })
            })
            .collect()
    }

    /// One envelope, re-sending throttled items until they are answered or time runs out.
    async fn run_envelope(
        &self,
        cx: &CallCx,
        api: Api,
        envelope: Vec<BatchRequest>,
    ) -> Result<HashMap<String, BatchResponse>> {
        let policy = self.inner.tuning.retry.clone();
        let mut done: HashMap<String, BatchResponse> = HashMap::new();
        let mut pending = envelope;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let writes = pending.iter().filter(|r| is_intune_write(&r.method, &r.url)).count();
            let mut req = GraphRequest::new(Method::POST, api, "/$batch")
                .json(&serde_json::json!({ "requests": pending }))?;
            // The envelope POST only creates something if an inner request does.
            req.idempotent = pending.iter().all(|r| r.idempotent);
            let client_request_id = uuid::Uuid::new_v4().to_string();
            let writes = u32::try_from(writes).unwrap_or(u32::MAX);
            let envelope: Envelope = self
                .send_inner(cx, &req, &client_request_id, Some(writes))
                .await
                .map_err(|e| e.with_client_request_id(&client_request_id))?
                .json()?;
            let answers: HashMap<String, BatchResponse> =
                envelope.responses.into_iter().map(|r| (r.id.clone(), r)).collect();

            let retry = retry_set(&pending, &answers);
            let wait = pending
                .iter()
                .filter(|r| retry.contains(&r.id))
                .filter_map(|r| answers.get(&r.id).and_then(|a| a.header("Retry-After")))
                .filter_map(|v| parse_retry_after(&v))
                .max();
            done.extend(answers);
            if retry.is_empty() || attempt >= policy.max_attempts {
                return Ok(done);
            }
            let delay = wait.unwrap_or_else(|| policy.backoff(attempt)).max(Duration::from_millis(1));
            if cx.would_exceed(delay) {
                return Ok(done);
            }
            tracing::debug!(
                items = retry.len(),
                delay_ms = delay.as_millis(),
                attempt,
                "retrying throttled $batch items"
            );
            cx.sleep(delay).await?;
            pending = pending
                .into_iter()
                .filter(|r| retry.contains(&r.id))
                .map(|mut r| {
                    // Dependencies that already succeeded are not re-sent, so drop them.
                    r.depends_on.retain(|d| retry.contains(d));
                    r
                })
                .collect();
        }
    }
}

/// Items to re-send: throttled/unavailable answers, plus 424s (failed dependency) whose
/// dependency is being re-sent.
fn retry_set(pending: &[BatchRequest], answers: &HashMap<String, BatchResponse>) -> HashSet<String> {
    let mut set: HashSet<String> = pending
        .iter()
        .filter(|r| {
            // Inner 500/502 are left to the caller: inside a batch they are often permanent.
            answers.get(&r.id).is_some_and(|a| {
                is_retryable_status(a.status, r.idempotent) && !matches!(a.status, 500 | 502)
            })
        })
        .map(|r| r.id.clone())
        .collect();
    loop {
        let before = set.len();
        for r in pending {
            if answers.get(&r.id).is_some_and(|a| a.status == 424)
                && r.depends_on.iter().any(|d| set.contains(d))
            {
                set.insert(r.id.clone());
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

/// Splits requests into envelopes of at most [`MAX_BATCH`], keeping `dependsOn` groups together
/// and the input order otherwise.
pub fn plan_envelopes(requests: Vec<BatchRequest>) -> Result<Vec<Vec<BatchRequest>>> {
    let index: HashMap<&str, usize> = requests.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    if index.len() != requests.len() {
        return Err(Error::new(ErrorKind::Config, "$batch request ids must be unique"));
    }
    // Union-find over dependsOn edges.
    let mut parent: Vec<usize> = (0..requests.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, r) in requests.iter().enumerate() {
        for d in &r.depends_on {
            let j = *index.get(d.as_str()).ok_or_else(|| {
                Error::new(ErrorKind::Config, format!("$batch request {} depends on unknown id {d}", r.id))
            })?;
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            parent[a] = b;
        }
    }
    let roots: Vec<usize> = (0..requests.len()).map(|i| root(&mut parent, i)).collect();
    let mut groups: Vec<(usize, Vec<BatchRequest>)> = Vec::new();
    for (r, req) in roots.into_iter().zip(requests) {
        match groups.iter_mut().find(|(g, _)| *g == r) {
            Some((_, members)) => members.push(req),
            None => groups.push((r, vec![req])),
        }
    }
    let mut envelopes: Vec<Vec<BatchRequest>> = Vec::new();
    for (_, group) in groups {
        if group.len() > MAX_BATCH {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "a dependsOn chain of {} requests does not fit one $batch (max {MAX_BATCH})",
                    group.len()
                ),
            ));
        }
        match envelopes.last_mut() {
            Some(last) if last.len() + group.len() <= MAX_BATCH => last.extend(group),
            _ => envelopes.push(group),
        }
    }
    Ok(envelopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(envs: &[Vec<BatchRequest>]) -> Vec<Vec<String>> {
        envs.iter().map(|e| e.iter().map(|r| r.id.clone()).collect()).collect()
    }

    #[test]
    fn splits_into_twenties_keeping_dependency_groups() {
        let reqs: Vec<_> =
            (0..45).map(|i| BatchRequest::get(i.to_string(), format!("/groups/{i}"))).collect();
        let envs = plan_envelopes(reqs).unwrap();
        assert_eq!(envs.iter().map(Vec::len).collect::<Vec<_>>(), vec![20, 20, 5]);

        // 19 singles then a chain of 3: the chain moves to the next envelope whole.
        let mut reqs: Vec<_> = (0..19).map(|i| BatchRequest::get(format!("s{i}"), "/x")).collect();
        reqs.push(BatchRequest::get("a", "/a"));
        reqs.push(BatchRequest::get("b", "/b").depends_on("a"));
        reqs.push(BatchRequest::get("c", "/c").depends_on("b"));
        let envs = plan_envelopes(reqs).unwrap();
        assert_eq!(envs[0].len(), 19);
        assert_eq!(ids(&envs)[1], vec!["a", "b", "c"]);
    }

    #[test]
    fn rejects_bad_input() {
        let dup = vec![BatchRequest::get("1", "/a"), BatchRequest::get("1", "/b")];
        assert!(plan_envelopes(dup).is_err());
        let dangling = vec![BatchRequest::get("1", "/a").depends_on("9")];
        assert!(plan_envelopes(dangling).unwrap_err().message.contains("unknown id 9"));
        let mut chain = vec![BatchRequest::get("0", "/a")];
        chain
            .extend((1..=20).map(|i| BatchRequest::get(i.to_string(), "/a").depends_on((i - 1).to_string())));
        assert!(plan_envelopes(chain).is_err());
    }

    #[test]
    fn serialises_like_graph_expects() {
        let r = BatchRequest::new("4", Method::POST, "/groups").json(serde_json::json!({})).depends_on("3");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"id":"4","method":"POST","url":"/groups","headers":{"Content-Type":"application/json"},"body":{},"dependsOn":["3"]})
        );
        assert_eq!(
            serde_json::to_value(BatchRequest::get("1", "/me")).unwrap(),
            serde_json::json!({"id":"1","method":"GET","url":"/me"})
        );
    }

    #[test]
    fn retry_set_follows_failed_dependencies() {
        let pending = vec![
            BatchRequest::get("1", "/a"),
            BatchRequest::get("2", "/b").depends_on("1"),
            BatchRequest::get("3", "/c"),
            BatchRequest::new("4", Method::POST, "/d"),
            BatchRequest::new("5", Method::POST, "/e"),
            // A POST that only reads is retried like a GET.
            BatchRequest::new("6", Method::POST, "/f").idempotent(true),
        ];
        let answers: HashMap<String, BatchResponse> =
            [("1", 429), ("2", 424), ("3", 404), ("4", 503), ("5", 504), ("6", 504)]
                .into_iter()
                .map(|(id, status)| {
                    (
                        id.to_owned(),
                        BatchResponse { id: id.into(), status, headers: BTreeMap::new(), body: None },
                    )
                })
                .collect();
        let set = retry_set(&pending, &answers);
        let mut got: Vec<_> = set.into_iter().collect();
        got.sort();
        assert_eq!(got, vec!["1", "2", "4", "6"]);
    }
}
