//! The per-call context: cancellation and deadline, threaded through every wait and request.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::error::{Error, ErrorKind, Result};

/// Cancellation and deadline of one Graph operation (a resource builds it from its own context).
#[derive(Clone, Debug, Default)]
pub struct CallCx {
    /// Cancelled when Terraform stops the provider or the operation is abandoned.
    pub cancel: CancellationToken,
    /// No request is started, and no wait extends, beyond this instant.
    pub deadline: Option<Instant>,
    /// Reads of this call sit on a write's critical path (inside create/update/delete): the
    /// read coalescer sends them after a short pause instead of its usual quiet window. See
    /// [`CallCx::on_write_path`].
    pub write_path: bool,
}

impl CallCx {
    /// A context with the given token and deadline.
    pub fn new(cancel: CancellationToken, deadline: Option<Instant>) -> Self {
        Self { cancel, deadline, write_path: false }
    }

    /// The same context for the reads of a create, update or delete: those run one after the
    /// other with the writes, on the apply's critical path, where the coalescer's quiet window
    /// (waiting for reads of other resources to join) costs more than the round trips it saves.
    /// Reads issued together still share a `$batch`.
    #[must_use]
    pub fn on_write_path(mut self) -> Self {
        self.write_path = true;
        self
    }

    /// Never cancelled, no deadline (tests, one-off tools).
    pub fn background() -> Self {
        Self::default()
    }

    /// A copy whose deadline is at most `timeout` from now.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        let candidate = Instant::now() + timeout;
        let deadline = Some(self.deadline.map_or(candidate, |d| d.min(candidate)));
        Self { cancel: self.cancel.clone(), deadline, write_path: self.write_path }
    }

    /// Time left before the deadline (`None` = unbounded).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Fails if the call is cancelled or past its deadline.
    pub fn check(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(Error::new(ErrorKind::Cancelled, "cancelled before completion"));
        }
        if self.remaining().is_some_and(|r| r.is_zero()) {
            return Err(Error::new(ErrorKind::Timeout, "deadline reached"));
        }
        Ok(())
    }

    /// True if waiting `d` would end after the deadline.
    pub fn would_exceed(&self, d: Duration) -> bool {
        self.remaining().is_some_and(|r| d > r)
    }

    /// Sleeps `d`, returning early with an error on cancellation or when the deadline comes first.
    pub async fn sleep(&self, d: Duration) -> Result<()> {
        self.run(tokio::time::sleep(d)).await
    }

    /// Runs `fut` unless cancellation or the deadline comes first.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output> {
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(Error::new(ErrorKind::Cancelled, "cancelled before completion")),
            () = deadline => Err(Error::new(ErrorKind::Timeout, "deadline reached")),
            out = fut => Ok(out),
        }
    }
}

impl CallCx {
    /// Runs `fut`, a write that is being handed to Graph, to its answer even if the call is
    /// cancelled meanwhile: Graph completes a write whose client hung up, and only the answer
    /// tells the caller what it made (a new object's id), so abandoning it would orphan the
    /// object. Cancellation bounds the remaining wait to `grace`; the deadline still applies.
    /// Errors: `Timeout` at the deadline, `Cancelled` when the grace ran out.
    pub async fn run_write<F: Future>(&self, fut: F, grace: Duration) -> Result<F::Output> {
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::pin!(fut, deadline);
        tokio::select! {
            biased;
            () = &mut deadline => return Err(Error::new(ErrorKind::Timeout, "deadline reached")),
            out = &mut fut => return Ok(out),
            () = self.cancel.cancelled() => {}
        }
        tracing::debug!(
            grace_ms = grace.as_millis(),
            "cancelled while a write was in flight: waiting for its answer"
        );
        tokio::select! {
            biased;
            () = &mut deadline => Err(Error::new(ErrorKind::Timeout, "deadline reached")),
            out = &mut fut => Ok(out),
            () = tokio::time::sleep(grace) => {
                Err(Error::new(ErrorKind::Cancelled, "cancelled; the answer to a write did not come in time"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancellation_interrupts_sleep() {
        let cx = CallCx::background();
        cx.cancel.cancel();
        let err = cx.sleep(Duration::from_secs(3600)).await.err();
        assert_eq!(err.map(|e| e.kind), Some(ErrorKind::Cancelled));
    }

    #[tokio::test]
    async fn a_write_in_flight_outlives_cancellation_for_the_grace_only() {
        let cx = CallCx::background();
        let answered = {
            let cx = cx.clone();
            async move {
                cx.cancel.cancel();
                tokio::time::sleep(Duration::from_millis(50)).await;
                "answer"
            }
        };
        let got = cx.run_write(answered, Duration::from_secs(30)).await;
        assert_eq!(got.ok(), Some("answer"), "the answer that came within the grace is returned");

        let cx = CallCx::background();
        cx.cancel.cancel();
        let started = Instant::now();
        let never = cx.run_write(std::future::pending::<()>(), Duration::from_millis(100)).await;
        assert_eq!(never.err().map(|e| e.kind), Some(ErrorKind::Cancelled));
        assert!(started.elapsed() < Duration::from_secs(10), "bounded by the grace");

        let cx = CallCx::new(CancellationToken::new(), Some(Instant::now() + Duration::from_millis(50)));
        cx.cancel.cancel();
        let late = cx.run_write(std::future::pending::<()>(), Duration::from_secs(3600)).await;
        assert_eq!(late.err().map(|e| e.kind), Some(ErrorKind::Timeout), "the deadline still applies");
    }

    #[tokio::test]
    async fn past_deadline_fails_checks() {
        let cx = CallCx::new(CancellationToken::new(), Some(Instant::now()));
        assert_eq!(cx.check().err().map(|e| e.kind), Some(ErrorKind::Timeout));
        let err = cx.sleep(Duration::from_secs(3600)).await.err();
        assert_eq!(err.map(|e| e.kind), Some(ErrorKind::Timeout));
        assert!(
            CallCx::background().with_timeout(Duration::from_secs(60)).would_exceed(Duration::from_secs(61))
        );
    }
}
