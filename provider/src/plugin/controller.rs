//! go-plugin's `GRPCController`: Terraform calls `Shutdown` when it is done with us.

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use tfproto::plugin::Empty;
use tfproto::plugin::grpc_controller_server::GrpcController;

/// Answers `Shutdown` and then lets the server stop gracefully.
#[derive(Debug, Clone)]
pub struct Controller {
    shutdown: CancellationToken,
}

impl Controller {
    /// `shutdown` is the token the serve loop stops on.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("shutdown requested by Terraform");
        self.shutdown.cancel();
        Ok(Response::new(Empty {}))
    }
}
