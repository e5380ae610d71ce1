//! Readiness: one answer for `grpc.health.v1` and `/readyz`.
//!
//! The node is ready when the gateway says so (every trust domain the
//! policies need is fresh, policies loaded) and it is not draining. The
//! gRPC health status is re-evaluated every `interval` and published only
//! on change, so `Watch` streams see transitions, not ticks.

use super::gateway::Gateway;
use super::pb::bridge_server::BridgeServer;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tonic::server::NamedService;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// The service name `grpc.health.v1` reports besides the overall `""`.
pub const BRIDGE_SERVICE: &str = <BridgeServer<()> as NamedService>::NAME;
/// Default re-evaluation period of the gRPC health status.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// Whether the node serves.
pub struct Readiness {
    gateway: Arc<dyn Gateway>,
    draining: AtomicBool,
}

impl Readiness {
    pub fn new(gateway: Arc<dyn Gateway>) -> Self {
        Readiness { gateway, draining: AtomicBool::new(false) }
    }

    pub fn is_ready(&self) -> bool {
        !self.draining.load(Ordering::Acquire) && self.gateway.ready()
    }

    /// From now on the node reports not ready (shutdown has begun).
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn gateway(&self) -> &Arc<dyn Gateway> {
        &self.gateway
    }
}

/// Sets the gRPC health status of the node and of the Bridge service.
pub async fn publish(reporter: &HealthReporter, ready: bool) {
    let status = if ready { ServingStatus::Serving } else { ServingStatus::NotServing };
    for name in ["", BRIDGE_SERVICE] {
        reporter.set_service_status(name, status).await;
    }
}

/// Keeps the published status current; `last` is what was published.
pub async fn track(reporter: HealthReporter, readiness: Arc<Readiness>, interval: Duration, mut last: bool) {
    loop {
        tokio::time::sleep(interval).await;
        let now = readiness.is_ready();
        if now != last {
            publish(&reporter, now).await;
            last = now;
        }
    }
}
