//! `erp projector`: Kafka → MySQL/MariaDB (employee read model) and MongoDB (approval
//! views), changes out on Redis for the notifiers; instances share each projection's
//! partitions through a consumer group (`projector.*`). Lag on `/api/projections`, `/metrics`;
//! `/readyz` answers 200 while its read model stores and Redis answer.

use crate::settings::{Role, Settings};
use crate::wiring;
use command_api::Application;
use infra::telemetry::Operations;

/// A built projector role, listening, projections not yet started.
#[allow(missing_debug_implementations)]
pub struct ProjectorRole {
    projector: projector::Projector,
    app: Application,
}

impl ProjectorRole {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let mut projector = wiring::distributed_projector(settings, true).await?;
        match settings.projector_group() {
            Some(group) => {
                tracing::info!(%group, "projections shared with the other projector instances of this group");
                projector = projector.shared(group);
            }
            None => tracing::info!("projections not shared: this instance projects every partition"),
        }
        let ready = projector.clone();
        let operations =
            wiring::projector_operations(Operations::new(), &projector).check("read_model_and_bus", move || {
                let projector = ready.clone();
                async move { projector.ready().await }
            });
        let app = wiring::listen(
            settings.bind_for(Role::Projector),
            wiring::projection_routes(projector.clone()).merge(operations.router()),
            "projector",
        )
        .await?;
        Ok(Self { projector, app })
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let projections = self.projector.spawn_all(stop);
        tracing::info!(
            port = self.app.port(),
            "projector running; lag at /api/projections and /metrics"
        );
        self.app.run_until_stopped(wiring::shutdown_signal()).await?;
        let _ = stop_tx.send(true);
        // Each projection finishes its batch and leaves its group, so the other instances take
        // this one's partitions now rather than when its sessions time out.
        let left = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            futures::future::join_all(projections),
        )
        .await;
        if left.is_err() {
            tracing::warn!("projections did not stop within 10 s; exiting anyway");
        }
        Ok(())
    }
}
