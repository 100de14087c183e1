//! When to retry a Graph call and how long to wait first.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Retry limits for one client. Waits are also bounded by each call's deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, including the first.
    pub max_attempts: u32,
    /// First back-off when Graph gives no `Retry-After`; doubled per attempt.
    pub base_delay: Duration,
    /// Upper bound of a computed back-off (a server `Retry-After` is honoured even if longer).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 8, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// Exponential back-off with "full jitter" for `attempt` (1 = after the first failure):
    /// a random duration in `[d/2, d]` where `d = min(base * 2^(attempt-1), max)`, so that
    /// concurrent callers that failed together do not retry together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let d = self.base_delay.saturating_mul(1u32 << exp).min(self.max_delay);
        let half = d / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(if jitter_ms == 0 { 0 } else { rand::random_range(0..=jitter_ms) })
    }

    /// The wait before the next attempt: the server's `Retry-After` if any, else back-off.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        retry_after.unwrap_or_else(|| self.backoff(attempt))
    }
}

/// Statuses worth another attempt. 429 and 503 say "the server did not handle this request",
/// safe for any method; 504 only for idempotent requests (the backend may have acted). 500/502
/// are often transient on Intune but can be permanent, so idempotent requests get only
/// [`SERVER_ERROR_ATTEMPTS`] tries for them.
pub fn is_retryable_status(status: u16, idempotent: bool) -> bool {
    match status {
        429 | 503 => true,
        500 | 502 | 504 => idempotent,
        _ => false,
    }
}

/// Attempts allowed for 500/502 answers.
pub const SERVER_ERROR_ATTEMPTS: u32 = 3;

/// Attempts allowed after an answer with `status`, given the policy's maximum.
pub fn max_attempts_for(status: u16, policy_max: u32) -> u32 {
    if matches!(status, 500 | 502) { policy_max.min(SERVER_ERROR_ATTEMPTS) } else { policy_max }
}

/// `Retry-After` in seconds (Graph never sends the HTTP-date form).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers.get(RETRY_AFTER)?.to_str().ok().and_then(parse_retry_after)
}

/// Parses a `Retry-After` value (seconds); also used for `$batch` inner response headers.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(|s| Duration::from_secs(s.min(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let d1 = p.backoff(1);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&d1), "{d1:?}");
            let d3 = p.backoff(3);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&d3), "{d3:?}");
            let d30 = p.backoff(30);
            assert!((Duration::from_millis(500)..=Duration::from_millis(1000)).contains(&d30), "{d30:?}");
        }
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        let p = RetryPolicy::default();
        assert_eq!(p.delay(3, Some(Duration::from_secs(2))), Duration::from_secs(2));
    }

    #[test]
    fn server_errors_get_fewer_attempts() {
        assert_eq!(max_attempts_for(500, 8), 3);
        assert_eq!(max_attempts_for(502, 2), 2);
        assert_eq!(max_attempts_for(429, 8), 8);
    }

    #[test]
    fn retryable_statuses() {
        let table = [
            (429, true, true),
            (429, false, true),
            (503, false, true),
            (504, true, true),
            (504, false, false),
            (500, true, true),
            (500, false, false),
            (502, true, true),
            (404, true, false),
        ];
        for (status, idempotent, expected) in table {
            assert_eq!(is_retryable_status(status, idempotent), expected, "{status} {idempotent}");
        }
    }
}
