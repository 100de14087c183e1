//! Waiting out Entra/Intune eventual consistency: reads straight after a write may see 404 or
//! stale data for seconds to minutes.

use std::future::Future;
use std::time::Duration;

use super::cx::CallCx;
use super::error::{Error, ErrorKind, Result};
use super::retry::RetryPolicy;

/// After a read that shows the change, the next confirming read comes this soon (or after
/// `interval` if that is shorter): the repeat guards against one replica being ahead of the
/// others, which a second request catches as well after 250 ms as after seconds, while every
/// create waiting a full poll interval for it was the largest delay of an apply.
pub const RECONFIRM_AFTER: Duration = Duration::from_millis(250);

/// Polls `check` every `interval` until it returns `true` `needed_consecutive` times in a row
/// (one confirmation can come from a replica that is ahead of the others; confirmations after
/// the first are [`RECONFIRM_AFTER`] apart). Errors from `check` end the wait; the deadline ends
/// it with a `Timeout` error.
pub async fn wait_until<F, Fut>(
    cx: &CallCx,
    interval: Duration,
    needed_consecutive: u32,
    mut check: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let needed = needed_consecutive.max(1);
    let mut streak = 0;
    loop {
        cx.check()?;
        if cx.run(check()).await?? {
            streak += 1;
            if streak >= needed {
                return Ok(());
            }
        } else {
            streak = 0;
        }
        let pause = pause_after(streak, interval);
        if cx.would_exceed(pause) {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("the change was not confirmed {needed} times in a row before the deadline"),
            ));
        }
        cx.sleep(pause).await?;
    }
}

/// How long to wait before the next read, after `streak` good reads in a row.
fn pause_after(streak: u32, interval: Duration) -> Duration {
    if streak > 0 { interval.min(RECONFIRM_AFTER) } else { interval }
}

/// Runs `op`, retrying with back-off while it fails with not-found, until it succeeds, fails
/// otherwise, or the deadline leaves no room for another try (then the last not-found is
/// returned). For reads right after the object was created.
pub async fn retry_not_found<T, F, Fut>(cx: &CallCx, op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let policy = RetryPolicy {
        max_attempts: u32::MAX,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(10),
    };
    retry_not_found_with(cx, &policy, op).await
}

/// `retry_not_found` with explicit back-off (tests use short delays).
pub async fn retry_not_found_with<T, F, Fut>(cx: &CallCx, policy: &RetryPolicy, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match cx.run(op()).await? {
            Err(e) if e.is_not_found() && attempt < policy.max_attempts => {
                let delay = policy.backoff(attempt);
                if cx.would_exceed(delay) {
                    return Err(e);
                }
                tracing::debug!(attempt, delay_ms = delay.as_millis(), "not found yet, retrying");
                cx.sleep(delay).await?;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn needs_consecutive_confirmations() {
        // true, false, true, true, true -> succeeds on the 5th poll with 3 in a row.
        let answers = [true, false, true, true, true, true];
        let n = AtomicU32::new(0);
        let res = wait_until(&CallCx::background(), Duration::from_millis(1), 3, || async {
            let i = n.fetch_add(1, Ordering::SeqCst);
            Ok(answers[i as usize])
        })
        .await;
        assert!(res.is_ok());
        assert_eq!(n.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn polls_keep_the_interval_confirmations_come_soon() {
        let two = Duration::from_secs(2);
        let table = [
            (0, two, two),
            (1, two, RECONFIRM_AFTER),
            (3, two, RECONFIRM_AFTER),
            (1, Duration::from_millis(1), Duration::from_millis(1)),
        ];
        for (streak, interval, expected) in table {
            assert_eq!(pause_after(streak, interval), expected, "streak {streak}, interval {interval:?}");
        }
    }

    #[tokio::test]
    async fn wait_until_stops_at_deadline_and_on_error() {
        let cx = CallCx::background().with_timeout(Duration::from_millis(50));
        let err = wait_until(&cx, Duration::from_millis(10), 2, || async { Ok(false) }).await.err().unwrap();
        assert_eq!(err.kind, ErrorKind::Timeout);
        let err = wait_until(&CallCx::background(), Duration::from_millis(1), 2, || async {
            Err::<bool, _>(Error::from_response(403, None, b""))
        })
        .await
        .err()
        .unwrap();
        assert!(err.is_forbidden());
    }

    #[tokio::test]
    async fn not_found_is_retried_other_errors_are_not() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let n = AtomicU32::new(0);
        let got = retry_not_found_with(&CallCx::background(), &policy, || async {
            match n.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Err(Error::from_response(404, None, b"")),
                _ => Ok("found"),
            }
        })
        .await;
        assert_eq!(got.unwrap(), "found");
        assert_eq!(n.load(Ordering::SeqCst), 4);

        let n = AtomicU32::new(0);
        let got: Result<()> = retry_not_found_with(&CallCx::background(), &policy, || async {
            n.fetch_add(1, Ordering::SeqCst);
            Err(Error::from_response(400, None, br#"{"error":{"code":"BadRequest","message":"x"}}"#))
        })
        .await;
        assert!(got.unwrap_err().is_bad_request());
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }
}
