//! Instance configuration in a warm container: the instance record, its credential and the
//! universal credential, read from the store together and kept for a short TTL, so a
//! firewall polling every few seconds costs no configuration reads while a changed
//! credential or parameter is seen within the TTL. Unknown names are remembered too (a
//! flood of requests for a deleted instance does not become a flood of reads).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use feedgate::auth::Credential;
use feedgate::auth::decide::Mode;
use feedgate::http::ApiError;
use feedgate::http::serve::{Instance, KindParams};
use feedgate::store::{CredentialStore, InstanceStore, StoreError};

/// Entries kept at most; past it the cache starts over (names come from configured routes,
/// so this is far above what a deployment has).
const CAPACITY: usize = 1024;

/// An instance ready to serve, with the universal credential read at the same time.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The instance with validated parameters.
    pub instance: Arc<Instance>,
    /// The deployment's universal credential.
    pub universal: Option<Credential>,
}

/// Why an instance could not be loaded. Both are the server's fault: 503, logged.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The store could not be read.
    #[error("reading the instance failed: {0}")]
    Store(#[from] StoreError),
    /// The stored parameters do not validate (written by something other than the CLI).
    #[error("instance {name} has invalid parameters: {reason}")]
    Invalid {
        /// The instance.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

impl LoadError {
    /// The 503 the client gets.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::Unavailable {
            message: "instance configuration unavailable; retry later".into(),
            retry_after: 5,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    at: std::time::Instant,
    loaded: Option<Loaded>,
}

/// Loaded instances by name, each for at most the TTL.
#[derive(Debug)]
pub struct InstanceCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl InstanceCache {
    /// A cache keeping entries for `ttl` (zero: every request reads the store).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The instance `name`, from the cache or the store; `None` when no such instance is
    /// stored.
    pub async fn load<S>(&self, store: &S, name: &str) -> Result<Option<Loaded>, LoadError>
    where
        S: InstanceStore + CredentialStore,
    {
        let cached = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .filter(|e| e.at.elapsed() < self.ttl)
            .map(|e| e.loaded.clone());
        if let Some(loaded) = cached {
            return Ok(loaded);
        }
        let (record, credential, universal) = tokio::join!(
            store.instance(name),
            store.instance_credential(name),
            store.universal()
        );
        let loaded = match record? {
            None => None,
            Some(record) => {
                let params = KindParams::parse(record.kind, &record.params, Mode::Serverless)
                    .map_err(|e| LoadError::Invalid {
                        name: name.to_owned(),
                        reason: format!("{}: {}", e.name, e.reason),
                    })?;
                Some(Loaded {
                    instance: Arc::new(Instance {
                        name: record.name,
                        params,
                        credential: credential?,
                    }),
                    universal: universal?,
                })
            }
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(
            name.to_owned(),
            Entry {
                at: std::time::Instant::now(),
                loaded: loaded.clone(),
            },
        );
        Ok(loaded)
    }
}
