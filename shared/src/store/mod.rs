//! Store ports: small traits named for what callers need. The DynamoDB adapter
//! (`feedgate-store-dynamo`) and the embedded adapter (`feedgate-store-embedded`) implement
//! them and pass one shared contract suite.
//!
//! Every method is a future that is `Send`, so handlers can be spawned on a multi-threaded
//! runtime; adapters that block (SQLite) move the work off the async threads themselves.

use std::future::Future;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth::Credential;
use crate::dataset::Dataset;
use crate::indicator::Indicator;
use crate::instant::Instant;

/// A store operation failed. The HTTP layer turns `Unavailable` into 503 + `Retry-After`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached, or throttled us past the retry budget. Nothing the
    /// failing call was asked to write may be assumed written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record in the store does not decode: data corruption or a newer writer.
    #[error("corrupt record {key}: {reason}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The caller asked for something the store refuses (a reused API-key id, an oversize list).
    #[error("{0}")]
    Rejected(String),
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// The dataset version: changes on every indicator write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataVersion {
    /// Monotonic counter.
    pub version: u64,
    /// When it last changed.
    pub modified: Instant,
}

/// What a bulk upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpsertSummary {
    /// New values (appended to the export order).
    pub added: u64,
    /// Existing values replaced in place (export position kept).
    pub updated: u64,
}

/// Indicators: bulk writes, lookups, and the whole set in export order.
pub trait IndicatorStore: Send + Sync {
    /// Inserts or replaces by value. New values go to the end of the export order, in batch
    /// order; existing values keep their position (last write wins). Only returns `Ok` once
    /// every indicator of the batch is durably stored.
    fn upsert(
        &self,
        batch: Vec<Indicator>,
    ) -> impl Future<Output = StoreResult<UpsertSummary>> + Send;
    /// Deletes by value; returns how many existed.
    fn delete(&self, values: Vec<String>) -> impl Future<Output = StoreResult<u64>> + Send;
    /// One indicator by exact value.
    fn get(&self, value: &str) -> impl Future<Output = StoreResult<Option<Indicator>>> + Send;
    /// Number of stored indicators.
    fn count(&self) -> impl Future<Output = StoreResult<u64>> + Send;
    /// The current dataset version: one small read.
    fn version(&self) -> impl Future<Output = StoreResult<DataVersion>> + Send;
    /// The whole set in export order, with the version it was read at.
    fn load(&self) -> impl Future<Output = StoreResult<Dataset>> + Send;
}

/// Named text lists for the Publish List integration.
pub trait ListStore: Send + Sync {
    /// Creates or replaces a list.
    fn put_list(&self, name: &str, content: Bytes) -> impl Future<Output = StoreResult<()>> + Send;
    /// A list's content.
    fn get_list(&self, name: &str) -> impl Future<Output = StoreResult<Option<Bytes>>> + Send;
    /// Deletes a list; returns whether it existed.
    fn delete_list(&self, name: &str) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// An incident as stored (integrations.md §5.9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredIncident {
    /// Opaque, unique, time-ordered id.
    pub id: String,
    /// The webhook instance.
    pub instance: String,
    /// Incident name.
    pub name: String,
    /// Incident type, or null.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// As sent, not validated.
    pub occurred: Option<String>,
    /// Server time, RFC 3339 UTC with milliseconds.
    pub created: String,
    /// The raw object.
    #[serde(rename = "rawJson")]
    pub raw_json: Map<String, Value>,
    /// `<path>:<value>` when a de-duplication path matched.
    pub dedup_id: Option<String>,
}

/// How many samples an instance's buffer keeps: the newest ones (integrations.md §5.6).
pub const SAMPLE_LIMIT: usize = 20;

/// Incidents, with de-duplication enforced by the store (a conditional write, never a capped
/// list), and each webhook instance's sample buffer.
pub trait IncidentStore: Send + Sync {
    /// Stores incidents in order. An incident whose `dedup_id` was already stored for its
    /// instance is skipped. Returns, per incident, whether it was created. `Ok` only once every
    /// created incident is durable.
    fn create_incidents(
        &self,
        incidents: Vec<StoredIncident>,
    ) -> impl Future<Output = StoreResult<Vec<bool>>> + Send;
    /// An instance's incidents in creation order.
    fn list_incidents(
        &self,
        instance: &str,
    ) -> impl Future<Output = StoreResult<Vec<StoredIncident>>> + Send;
    /// Appends `samples` (in order) to `instance`'s sample buffer and drops all but the newest
    /// [`SAMPLE_LIMIT`]. Appends are atomic with respect to each other: concurrent calls (from
    /// any process) lose nothing but what the cap drops, and one call's samples stay together
    /// in order. An empty `samples` does nothing.
    fn append_samples(
        &self,
        instance: &str,
        samples: Vec<StoredIncident>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `instance`'s sample buffer, oldest first (newest last, as `list_incidents`): at most
    /// [`SAMPLE_LIMIT`] incidents, exactly as appended.
    fn samples(
        &self,
        instance: &str,
    ) -> impl Future<Output = StoreResult<Vec<StoredIncident>>> + Send;
}

/// Universal and per-instance Basic credentials (hashes only).
pub trait CredentialStore: Send + Sync {
    /// Sets the universal credential.
    fn set_universal(&self, credential: Credential)
    -> impl Future<Output = StoreResult<()>> + Send;
    /// The universal credential.
    fn universal(&self) -> impl Future<Output = StoreResult<Option<Credential>>> + Send;
    /// Sets an instance's credential.
    fn set_instance_credential(
        &self,
        instance: &str,
        credential: Credential,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// An instance's credential.
    fn instance_credential(
        &self,
        instance: &str,
    ) -> impl Future<Output = StoreResult<Option<Credential>>> + Send;
}

/// API key type (integrations.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// The key itself in `Authorization`.
    Standard,
    /// A nonce + timestamp digest in `Authorization`.
    Advanced,
}

/// API key role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Export and publish-list.
    Read,
    /// Webhook.
    Write,
    /// Everything.
    Admin,
}

/// API key metadata. Holds no key material and no hash of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Canonical decimal id.
    pub id: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: KeyType,
    /// Role.
    pub role: Role,
    /// RFC 3339.
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
    /// RFC 3339 UTC; dead from this instant on.
    pub expires_at: Option<String>,
    /// Revoked keys stay as tombstones so ids are never reused.
    pub revoked: bool,
    /// When it was revoked.
    pub revoked_at: Option<String>,
    /// Free text.
    pub comment: String,
}

/// API key metadata and the nonce replay store.
pub trait KeyStore: Send + Sync {
    /// Stores a new record. With `record.id` empty, allocates the next id from a counter
    /// (conditional write); with an explicit id, refuses (`Rejected`) any id ever used.
    fn create_key(
        &self,
        record: ApiKeyRecord,
    ) -> impl Future<Output = StoreResult<ApiKeyRecord>> + Send;
    /// A record by id.
    fn key(&self, id: &str) -> impl Future<Output = StoreResult<Option<ApiKeyRecord>>> + Send;
    /// Every record, revoked ones included, by id.
    fn keys(&self) -> impl Future<Output = StoreResult<Vec<ApiKeyRecord>>> + Send;
    /// Marks a key revoked; returns whether it existed.
    fn revoke_key(&self, id: &str, at: Instant) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records `nonce` for key `id` unless a live record exists: inserts when absent or when
    /// the existing record's `expires_at` is before `now_s`. Returns `false` for a replay.
    fn record_nonce(
        &self,
        id: &str,
        nonce: &str,
        expires_at_s: i64,
        now_s: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// An instance's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceKind {
    /// Generic Export Indicators Service.
    Export,
    /// Generic Webhook.
    Webhook,
    /// Publish List.
    PublishList,
}

/// A configured instance as stored (serverless deployments read their instances from here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`.
    pub name: String,
    /// Kind.
    pub kind: InstanceKind,
    /// Engine listen port (unused in serverless mode).
    pub port: Option<u16>,
    /// XSOAR-named parameters, as given.
    pub params: Map<String, Value>,
}

/// Whether `name` is a valid instance name: `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$` (a leading
/// `.` would allow `.`/`..`, which clients normalise away).
///
/// ```
/// use feedgate::store::valid_instance_name;
/// assert!(valid_instance_name("edl_instance_01"));
/// assert!(!valid_instance_name("my edl"));
/// assert!(!valid_instance_name(".hidden"));
/// ```
pub fn valid_instance_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Instance configurations.
pub trait InstanceStore: Send + Sync {
    /// Creates or replaces an instance.
    fn put_instance(
        &self,
        instance: InstanceRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// One instance by name.
    fn instance(
        &self,
        name: &str,
    ) -> impl Future<Output = StoreResult<Option<InstanceRecord>>> + Send;
    /// Every instance, by name.
    fn instances(&self) -> impl Future<Output = StoreResult<Vec<InstanceRecord>>> + Send;
    /// Deletes an instance; returns whether it existed.
    fn delete_instance(&self, name: &str) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// Everything a deployment stores, for adapters that implement every port.
pub trait Store:
    IndicatorStore + ListStore + IncidentStore + CredentialStore + KeyStore + InstanceStore
{
}

impl<T> Store for T where
    T: IndicatorStore + ListStore + IncidentStore + CredentialStore + KeyStore + InstanceStore
{
}
