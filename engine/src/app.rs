//! From a validated configuration and a store to running listeners.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use feedgate::auth::apikey::MasterSecret;
use feedgate::auth::cache::VerifiedCache;
use feedgate::auth::decide::Mode;
use feedgate::http::export_cache::ExportCache;
use feedgate::http::serve::{Deployment, Instance};
use feedgate::store::Store;

use crate::config::EngineConfig;
use crate::metrics::Metrics;
use crate::server::{self, AdminBound, Bound, Listen, StartError};

/// How long a verified password stays cached (§2.6 allows up to 300 s).
const VERIFIED_TTL: Duration = Duration::from_secs(60);

/// A configured engine with its sockets bound.
#[derive(Debug)]
pub struct Engine<S> {
    deployment: Arc<Deployment<S>>,
    bound: Vec<Bound>,
    admin: Option<AdminBound>,
}

impl<S: Store + 'static> Engine<S> {
    /// Builds the deployment from `config` over `store` and binds every instance's port (and
    /// the admin port when `[admin]` is configured). Open instances are logged as warnings.
    pub async fn start(config: &EngineConfig, store: S) -> Result<Self, StartError> {
        let master = match &config.master_secret {
            None => None,
            Some(secret) => Some(MasterSecret::new(secret).map_err(|e| StartError::Tls {
                instance: "[api_keys]".into(),
                message: e.to_string(),
            })?),
        };
        let deployment = Deployment {
            store,
            mode: Mode::Engine,
            universal: config.universal_credentials.clone(),
            master,
            verified: VerifiedCache::new(VERIFIED_TTL).ok(),
            exports: ExportCache::new(),
        };
        let mut listeners = Vec::with_capacity(config.instances.len());
        for inst in &config.instances {
            let instance = Instance {
                name: inst.name.clone(),
                params: inst.params.clone(),
                credential: inst.credentials.clone(),
            };
            if inst.credentials.is_none() && config.universal_credentials.is_none() {
                tracing::warn!(
                    instance = %inst.name,
                    "instance is OPEN: no instance or universal credentials, anyone who reaches the port may call it"
                );
            }
            listeners.push((
                instance,
                Listen {
                    addr: SocketAddr::new(inst.bind, inst.port),
                    tls: inst.tls.clone(),
                },
            ));
        }
        let metrics = config.admin.map(|_| Arc::new(Metrics::new()));
        let bound = server::bind(listeners, metrics.as_deref()).await?;
        let admin = match (config.admin, metrics) {
            (Some(admin), Some(metrics)) => {
                Some(server::bind_admin(SocketAddr::new(admin.bind, admin.port), metrics).await?)
            }
            _ => None,
        };
        Ok(Self {
            deployment: Arc::new(deployment),
            bound,
            admin,
        })
    }

    /// `(instance, url)` for every listener.
    pub fn urls(&self) -> Vec<(String, String)> {
        self.bound
            .iter()
            .map(|b| (b.name().to_owned(), b.url()))
            .collect()
    }

    /// `http://addr:port/metrics` when the admin listener is configured.
    pub fn admin_url(&self) -> Option<String> {
        self.admin.as_ref().map(AdminBound::url)
    }

    /// The shared deployment (store and caches).
    pub fn deployment(&self) -> &Arc<Deployment<S>> {
        &self.deployment
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        for (name, url) in self.urls() {
            tracing::info!(instance = %name, %url, "listening");
        }
        if let Some(url) = self.admin_url() {
            tracing::info!(%url, "admin listening (Prometheus metrics)");
        }
        server::serve(self.deployment, self.bound, self.admin, shutdown).await;
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
