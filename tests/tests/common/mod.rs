//! Shared by the engine tests: a real engine running in the test's runtime, started from a
//! parsed configuration on a store, its instances' loopback addresses by name, stopped on
//! request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use feedgate::http::serve::Deployment;
use feedgate_engine::app::Engine;
use feedgate_engine::config::EngineConfig;
use feedgate_store_embedded::EmbeddedStore;

/// A running engine.
pub struct RunningEngine {
    /// Each instance's listen address, by instance name.
    pub addrs: HashMap<String, SocketAddr>,
    /// The engine's deployment (its store, for checking what was stored).
    pub deployment: Arc<Deployment<EmbeddedStore>>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl RunningEngine {
    /// Starts `config` on `store`, listening before this returns.
    pub async fn start(config: &EngineConfig, store: EmbeddedStore) -> Self {
        let engine = Engine::start(config, store).await.expect("engine starts");
        let addrs = engine
            .urls()
            .into_iter()
            .map(|(name, url)| {
                let addr = url
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .parse()
                    .expect("bound address");
                (name, addr)
            })
            .collect();
        let deployment = Arc::clone(engine.deployment());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(engine.run(async {
            let _ = stopped.await;
        }));
        Self {
            addrs,
            deployment,
            stop,
            server,
        }
    }

    /// Shuts the engine down and waits until it has.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}
