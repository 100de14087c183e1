//! Client-side pacing of Intune writes.
//!
//! Intune allows 100 writes (POST/PUT/PATCH/DELETE) per 20 s per app per tenant; beyond that it
//! answers 429 for everyone using the app. One `GraphClient` talks to one tenant, so a sliding
//! window per client keeps us under the budget instead of relying on 429s.
//!
//! The window counts a write from the moment it is sent until 20 s after its answer arrived:
//! the service counts it at its arrival, which lies between the two, so a new write sent when
//! an old one has left our window has left the service's window too, whatever the latency.
//! That makes pacing at the full documented budget safe (no 429s of our own making). A 429 on
//! a write (someone else spent the shared budget) pauses every write of the client until its
//! `Retry-After`, instead of letting each parallel writer find out by itself.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Method;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::cx::CallCx;
use super::error::Result;

/// Budget of Intune writes per window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Writes allowed per `window`; 0 disables pacing.
    pub intune_writes: u32,
    pub window: Duration,
}

impl Default for RateLimit {
    /// Intune's documented 100 per 20 s: the window (see the module docs) never lets our own
    /// writes exceed it, and a 429 caused by other tools pauses all writes until `Retry-After`.
    fn default() -> Self {
        Self { intune_writes: 100, window: Duration::from_secs(20) }
    }
}

/// True for the calls Intune counts as writes.
pub fn is_intune_write(method: &Method, path: &str) -> bool {
    let write = matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let path = path.trim_start_matches('/');
    // Paths may carry the version prefix (next links, batch inner URLs do not).
    let path = path.strip_prefix("beta/").or_else(|| path.strip_prefix("v1.0/")).unwrap_or(path);
    write && (path.starts_with("deviceManagement/") || path.starts_with("deviceAppManagement/"))
}

/// Sliding-window limiter shared by all calls of one client.
#[derive(Debug)]
pub struct Limiter {
    limit: RateLimit,
    window: Mutex<Window>,
    /// Woken when writes in flight are answered (their slots then start to age).
    answered: Notify,
}

/// Writes admitted by [`Limiter::acquire`]; dropping it (once the answer is in, or the attempt
/// failed) starts their 20 s in the window.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a Limiter,
    writes: u32,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.writes == 0 {
            return;
        }
        self.limiter.lock().finish(Instant::now(), self.writes);
        self.limiter.answered.notify_waiters();
    }
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Self {
        Self { window: Mutex::new(Window::default()), limit, answered: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        // Every critical section is a few field updates: a poisoned lock holds consistent data.
        self.window.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until `n` more writes fit in the window and admits them until the returned permit
    /// is dropped. `n` above the budget is clamped (a single `$batch` of 20 must still go
    /// through).
    pub async fn acquire(&self, cx: &CallCx, n: u32) -> Result<Permit<'_>> {
        if self.limit.intune_writes == 0 || n == 0 {
            return Ok(Permit { limiter: self, writes: 0 });
        }
        let n = n.min(self.limit.intune_writes);
        loop {
            // Registered before looking, so an answer arriving in between is not missed.
            let answered = self.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            let verdict = self.lock().try_acquire(Instant::now(), n, &self.limit);
            match verdict {
                Ok(()) => return Ok(Permit { limiter: self, writes: n }),
                Err(Wait::Until(until)) => {
                    tracing::debug!(wait_ms = %until.saturating_duration_since(Instant::now()).as_millis(), "pacing Intune writes");
                    cx.sleep(until.saturating_duration_since(Instant::now())).await?;
                }
                Err(Wait::ForAnswers) => cx.run(answered).await?,
            }
        }
    }

    /// Holds back every write until `retry_after` from now (Intune answered a write with 429).
    pub fn pause_for(&self, retry_after: Duration) {
        self.lock().pause_until(Instant::now() + retry_after);
    }
}

/// Why a write cannot go yet.
#[derive(Debug, PartialEq, Eq)]
enum Wait {
    /// A slot frees (or a pause ends) at this time.
    Until(Instant),
    /// The budget is held by writes still waiting for their answers.
    ForAnswers,
}

/// The writes inside the current window: answered ones by answer time (oldest first), and the
/// number still in flight.
#[derive(Debug, Default)]
struct Window {
    answered: VecDeque<Instant>,
    in_flight: usize,
    paused_until: Option<Instant>,
}

impl Window {
    /// Admits `n` writes at `now` if they fit, else says what to wait for.
    fn try_acquire(&mut self, now: Instant, n: u32, limit: &RateLimit) -> Result<(), Wait> {
        if let Some(until) = self.paused_until.filter(|u| *u > now) {
            return Err(Wait::Until(until));
        }
        while self.answered.front().is_some_and(|t| now.saturating_duration_since(*t) >= limit.window) {
            self.answered.pop_front();
        }
        let budget = usize::try_from(limit.intune_writes).unwrap_or(usize::MAX);
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let used = self.answered.len() + self.in_flight;
        if used + n <= budget {
            self.in_flight += n;
            return Ok(());
        }
        // The (used + n - budget)-th oldest answered write must leave the window first; if
        // that many have not been answered yet, their answers must come first.
        match self.answered.get(used + n - budget - 1) {
            Some(t) => Err(Wait::Until(*t + limit.window)),
            None => Err(Wait::ForAnswers),
        }
    }

    /// `n` writes admitted earlier were answered (or failed) at `now`.
    fn finish(&mut self, now: Instant, n: u32) {
        let n = usize::try_from(n).unwrap_or(usize::MAX).min(self.in_flight);
        self.in_flight -= n;
        self.answered.extend(std::iter::repeat_n(now, n));
    }

    fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_intune_writes() {
        let table = [
            (Method::POST, "/deviceManagement/configurationPolicies", true),
            (Method::PATCH, "/beta/deviceAppManagement/mobileApps/x", true),
            (Method::DELETE, "deviceManagement/x", true),
            (Method::GET, "/deviceManagement/configurationPolicies", false),
            (Method::POST, "/groups", false),
            (Method::PUT, "/policies/deviceRegistrationPolicy", false),
        ];
        for (m, p, expected) in table {
            assert_eq!(is_intune_write(&m, p), expected, "{m} {p}");
        }
    }

    #[test]
    fn writes_count_from_sending_until_a_window_after_their_answer() {
        let limit = RateLimit { intune_writes: 3, window: Duration::from_secs(20) };
        let secs = Duration::from_secs;
        let mut w = Window::default();
        let t0 = Instant::now();
        assert_eq!(w.try_acquire(t0, 1, &limit), Ok(()));
        assert_eq!(w.try_acquire(t0, 2, &limit), Ok(()));
        // Full, and nothing answered yet: only answers can start the clock.
        assert_eq!(w.try_acquire(t0 + secs(1), 1, &limit), Err(Wait::ForAnswers));
        // The first write is answered 2 s after it was sent: its slot frees 20 s after that.
        w.finish(t0 + secs(2), 1);
        assert_eq!(w.try_acquire(t0 + secs(3), 1, &limit), Err(Wait::Until(t0 + secs(22))));
        // Two slots need a second answer first.
        assert_eq!(w.try_acquire(t0 + secs(3), 2, &limit), Err(Wait::ForAnswers));
        w.finish(t0 + secs(5), 2);
        assert_eq!(w.try_acquire(t0 + secs(3), 2, &limit), Err(Wait::Until(t0 + secs(25))));
        assert_eq!(w.try_acquire(t0 + secs(22), 1, &limit), Ok(()));
        assert_eq!((w.answered.len(), w.in_flight), (2, 1));
    }

    #[test]
    fn a_pause_holds_back_writes_that_would_fit() {
        let limit = RateLimit { intune_writes: 100, window: Duration::from_secs(20) };
        let mut w = Window::default();
        let t0 = Instant::now();
        w.pause_until(t0 + Duration::from_secs(7));
        w.pause_until(t0 + Duration::from_secs(3));
        assert_eq!(w.try_acquire(t0, 1, &limit), Err(Wait::Until(t0 + Duration::from_secs(7))));
        assert_eq!(w.try_acquire(t0 + Duration::from_secs(7), 1, &limit), Ok(()));
    }

    #[tokio::test]
    async fn an_answer_lets_a_waiting_write_go_once_its_window_passed() {
        let limiter = Limiter::new(RateLimit { intune_writes: 1, window: Duration::from_millis(1) });
        let cx = CallCx::background();
        let first = limiter.acquire(&cx, 1).await.unwrap();
        let waiting = limiter.acquire(&cx, 1);
        tokio::pin!(waiting);
        assert!(futures::poll!(waiting.as_mut()).is_pending(), "the budget is in flight");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(30), waiting).await;
        assert!(matches!(second, Ok(Ok(_))));
    }

    #[tokio::test]
    async fn disabled_limit_never_waits_and_cancel_stops_waiting() {
        let off = Limiter::new(RateLimit { intune_writes: 0, window: Duration::from_secs(20) });
        for _ in 0..1000 {
            assert!(off.acquire(&CallCx::background(), 1).await.is_ok());
        }
        let tight = Limiter::new(RateLimit { intune_writes: 1, window: Duration::from_secs(3600) });
        let cx = CallCx::background();
        drop(tight.acquire(&cx, 1).await);
        cx.cancel.cancel();
        let err = tight.acquire(&cx, 1).await.err();
        assert_eq!(err.map(|e| e.kind), Some(super::super::error::ErrorKind::Cancelled));
    }
}
