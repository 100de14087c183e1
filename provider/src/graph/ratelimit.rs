//! Client-side pacing of Intune writes.
//!
//! Intune allows 100 writes (POST/PUT/PATCH/DELETE) per 20 s per app per tenant; beyond that it
//! answers 429 for everyone using the app. One `GraphClient` talks to one tenant, so a sliding
//! window per client keeps us under the budget instead of relying on 429s.

use std::collections::VecDeque;
use std::time::Duration;

use reqwest::Method;
use tokio::sync::Mutex;
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
    /// 90 per 20 s: a margin under Intune's documented 100 for other tools using the same app.
    fn default() -> Self {
        Self { intune_writes: 90, window: Duration::from_secs(20) }
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
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Self {
        Self { window: Mutex::new(Window::default()), limit }
    }

    /// Waits until `n` more writes fit in the window and records them. `n` above the budget is
    /// clamped (a single `$batch` of 20 must still go through).
    pub async fn acquire(&self, cx: &CallCx, n: u32) -> Result<()> {
        if self.limit.intune_writes == 0 || n == 0 {
            return Ok(());
        }
        let n = n.min(self.limit.intune_writes);
        loop {
            let wait_until = {
                let mut w = self.window.lock().await;
                match w.try_acquire(Instant::now(), n, &self.limit) {
                    Ok(()) => return Ok(()),
                    Err(until) => until,
                }
            };
            tracing::debug!(wait_ms = %wait_until.saturating_duration_since(Instant::now()).as_millis(), "pacing Intune writes");
            cx.sleep(wait_until.saturating_duration_since(Instant::now())).await?;
        }
    }
}

/// Times of the writes inside the current window, oldest first.
#[derive(Debug, Default)]
struct Window {
    sent: VecDeque<Instant>,
}

impl Window {
    /// Records `n` writes at `now` if they fit, else says when the oldest needed slot frees up.
    fn try_acquire(&mut self, now: Instant, n: u32, limit: &RateLimit) -> Result<(), Instant> {
        while self.sent.front().is_some_and(|t| now.saturating_duration_since(*t) >= limit.window) {
            self.sent.pop_front();
        }
        let budget = usize::try_from(limit.intune_writes).unwrap_or(usize::MAX);
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if self.sent.len() + n <= budget {
            self.sent.extend(std::iter::repeat_n(now, n));
            return Ok(());
        }
        // The (len + n - budget)-th oldest entry must leave the window first.
        let idx = self.sent.len() + n - budget - 1;
        let freed_at = self.sent.get(idx).map_or(now, |t| *t + limit.window);
        Err(freed_at)
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
    fn window_admits_budget_then_waits_for_oldest() {
        let limit = RateLimit { intune_writes: 3, window: Duration::from_secs(20) };
        let mut w = Window::default();
        let t0 = Instant::now();
        assert!(w.try_acquire(t0, 1, &limit).is_ok());
        assert!(w.try_acquire(t0 + Duration::from_secs(5), 2, &limit).is_ok());
        // Full: the next slot frees when the write at t0 leaves the window.
        assert_eq!(w.try_acquire(t0 + Duration::from_secs(6), 1, &limit), Err(t0 + Duration::from_secs(20)));
        // Two slots need the t0+5 writes to leave too.
        assert_eq!(w.try_acquire(t0 + Duration::from_secs(6), 2, &limit), Err(t0 + Duration::from_secs(25)));
        assert!(w.try_acquire(t0 + Duration::from_secs(20), 1, &limit).is_ok());
        assert_eq!(w.sent.len(), 3);
    }

    #[tokio::test]
    async fn disabled_limit_never_waits_and_cancel_stops_waiting() {
        let off = Limiter::new(RateLimit { intune_writes: 0, window: Duration::from_secs(20) });
        for _ in 0..1000 {
            assert!(off.acquire(&CallCx::background(), 1).await.is_ok());
        }
        let tight = Limiter::new(RateLimit { intune_writes: 1, window: Duration::from_secs(3600) });
        let cx = CallCx::background();
        assert!(tight.acquire(&cx, 1).await.is_ok());
        cx.cancel.cancel();
        let err = tight.acquire(&cx, 1).await.err();
        assert_eq!(err.map(|e| e.kind), Some(super::super::error::ErrorKind::Cancelled));
    }
}
