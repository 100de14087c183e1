//! Ctrl-C (SIGINT) as a stream of events. The handler is installed when [`Interrupts`]
//! is created, not when it is first polled, so no interrupt between startup and the
//! handshake line can slip through and kill the process.

use std::io;

/// Interrupts delivered to this process.
#[derive(Debug)]
pub struct Interrupts {
    #[cfg(unix)]
    inner: tokio::signal::unix::Signal,
    #[cfg(windows)]
    inner: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    /// Install the handler; from now on an interrupt no longer terminates the process.
    pub fn install() -> io::Result<Self> {
        #[cfg(unix)]
        let inner = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        #[cfg(windows)]
        let inner = tokio::signal::windows::ctrl_c()?;
        Ok(Self { inner })
    }

    /// Wait for the next interrupt; `None` once no more can be received.
    pub async fn next(&mut self) -> Option<()> {
        self.inner.recv().await
    }
}
