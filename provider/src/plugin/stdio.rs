//! go-plugin's `GRPCStdio`. We never write to stdout/stderr outside logging (which
//! go-plugin already reads from stderr), so the stream carries nothing; it stays open
//! until the plugin shuts down, as the client expects.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use tfproto::plugin::StdioData;
use tfproto::plugin::grpc_stdio_server::GrpcStdio;

/// The stdio service.
#[derive(Debug, Clone)]
pub struct Stdio {
    shutdown: CancellationToken,
}

impl Stdio {
    /// The stream ends when `shutdown` is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { shutdown }
    }
}

/// A stream that yields nothing and ends when `until` is cancelled.
pub(super) fn silent_until<T: Send + 'static>(
    until: CancellationToken,
) -> Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>> {
    Box::pin(futures::stream::once(until.cancelled_owned()).filter_map(|()| async { None }))
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = Pin<Box<dyn Stream<Item = Result<StdioData, Status>> + Send>>;

    async fn stream_stdio(&self, _request: Request<()>) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(silent_until(self.shutdown.clone())))
    }
}
