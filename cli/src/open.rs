//! The store a command works on: the one the configuration names (embedded by default).

use std::path::Path;

use feedgate::store::StoreError;
use feedgate_engine::config::{EngineConfig, ProcessEnv, StoreConfig};
use feedgate_store_dynamo::DynamoStore;
use feedgate_store_embedded::EmbeddedStore;

use crate::GlobalOptions;

/// An opened store of either kind.
#[derive(Debug)]
pub enum Opened {
    /// The embedded database.
    Embedded(EmbeddedStore),
    /// A DynamoDB table.
    Dynamo(DynamoStore),
}

/// Runs `$body` with `$s` bound to the opened store, whatever its kind.
#[macro_export]
macro_rules! with_store {
    ($opened:expr, |$s:ident| $body:expr) => {
        match $opened {
            $crate::open::Opened::Embedded($s) => $body,
            $crate::open::Opened::Dynamo($s) => $body,
        }
    };
}

/// The configuration, when a file is found. Admin commands work without one (embedded store
/// in `./feedgate-data`).
pub fn config(global: &GlobalOptions) -> Result<Option<EngineConfig>, crate::CommandError> {
    match global.config_path() {
        Ok(path) => Ok(Some(EngineConfig::load(&path, &ProcessEnv)?)),
        Err(_) if global.config.is_none() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Opens the store the configuration names.
pub async fn store(config: Option<&EngineConfig>) -> Result<Opened, StoreError> {
    let store = config.map_or_else(
        || StoreConfig::Embedded {
            path: "./feedgate-data".into(),
        },
        |c| c.store.clone(),
    );
    open(&store).await
}

/// Opens a store from its configuration.
pub async fn open(store: &StoreConfig) -> Result<Opened, StoreError> {
    match store {
        StoreConfig::Embedded { path } => {
            let path: &Path = path;
            Ok(Opened::Embedded(EmbeddedStore::open(path)?))
        }
        StoreConfig::DynamoDb { table, region } => {
            if let Some(region) = region
                && std::env::var("AWS_REGION").map_or(true, |r| r != *region)
            {
                return Err(StoreError::Rejected(format!(
                    "store.region = {region:?} but AWS_REGION is {:?}: the AWS environment decides the region; set AWS_REGION={region}",
                    std::env::var("AWS_REGION").unwrap_or_default()
                )));
            }
            Ok(Opened::Dynamo(DynamoStore::from_env(table.clone()).await))
        }
    }
}

/// A multi-threaded runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, std::io::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
