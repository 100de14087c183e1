//! go-plugin's `GRPCBroker`. Terraform opens the stream on every connection but never
//! brokers extra connections for providers, so we read and ignore what arrives and keep
//! the stream open until the client closes it or the plugin shuts down.

use std::pin::Pin;

use futures::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use tfproto::plugin::ConnInfo;
use tfproto::plugin::grpc_broker_server::GrpcBroker;

use super::stdio::silent_until;

/// The broker service.
#[derive(Debug, Clone)]
pub struct Broker {
    shutdown: CancellationToken,
}

impl Broker {
    /// Streams end when `shutdown` is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl GrpcBroker for Broker {
    type StartStreamStream = Pin<Box<dyn Stream<Item = Result<ConnInfo, Status>> + Send>>;

    async fn start_stream(
        &self,
        request: Request<Streaming<ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let done = self.shutdown.child_token();
        let client_gone = done.clone();
        tokio::spawn(async move {
            while let Ok(Some(info)) = inbound.message().await {
                tracing::debug!(service_id = info.service_id, "ignoring broker connection info");
            }
            client_gone.cancel();
        });
        Ok(Response::new(silent_until(done)))
    }
}
