//! `StopProvider`: Terraform asks us to abandon in-flight work (e.g. the user pressed
//! Ctrl-C). Every request runs under a child of the current token; a stop cancels that
//! token and installs a fresh one, so later requests run normally and the server keeps
//! serving (as terraform-plugin-go does).

use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

/// The token that the next requests are cancelled through.
#[derive(Debug, Default)]
pub struct StopSignal {
    current: Mutex<CancellationToken>,
}

impl StopSignal {
    /// A signal whose first token is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token for one request: cancelled by the next [`StopSignal::stop`].
    pub fn request_token(&self) -> CancellationToken {
        self.current.lock().unwrap_or_else(PoisonError::into_inner).child_token()
    }

    /// Cancel every request started so far; requests started afterwards are unaffected.
    pub fn stop(&self) {
        let previous = std::mem::take(&mut *self.current.lock().unwrap_or_else(PoisonError::into_inner));
        previous.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_cancels_earlier_requests_only() {
        let signal = StopSignal::new();
        let before = signal.request_token();
        signal.stop();
        let after = signal.request_token();
        assert!(before.is_cancelled());
        assert!(!after.is_cancelled());
        signal.stop();
        assert!(after.is_cancelled());
    }
}
