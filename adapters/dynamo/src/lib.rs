//! feedgate's DynamoDB store adapter: every store port on one table.
//!
//! # Table design
//!
//! One table (name from configuration, `feedgate` by default), billed per request, with a
//! string partition key `pk`, a string sort key `sk`, no secondary index, and TTL on the
//! number attribute `expires_at`. A sort key lets the collections that are listed (an
//! instance's incidents in creation order, the instances, the API keys, a big list's chunks)
//! be read with one paginated `Query` on one partition instead of a `Scan`; every other
//! record is alone in its partition with `sk = "_"`. Nothing needs a GSI: every read is by
//! key or by partition.
//!
//! | record | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | indicator meta | `indicators` | `meta` | `version` N, `modified_ms` N, `count` N, `chunks` S (JSON manifest: id, count, bytes per chunk, in export order) |
//! | indicator chunk | `chunk#<token>.<n>` | `_` | `data` B: ≤ 280 KB LZ4 payload of indicators in export order |
//! | list (small) | `list#<name>` | `_` | `size` N, `data` B (content ≤ 280 KB inline) |
//! | list (big) | `list#<name>` | `_` | `size` N, `gen` S, `parts` N |
//! | list part | `list#<name>` | `part#<gen>#<nnnnn>` | `data` B (280 KB) |
//! | incident | `inc#<instance>` | `<ms:13>.<seq:6>.<random:16>` | `json` S (≤ 350 KB), or `parts` N |
//! | incident part | `inc#<instance>` | `<incident sk>#p<nnn>` | `data` B: 280 KB of the LZ4-compressed JSON |
//! | dedup marker | `dedup#<instance>#<dedup id>` | `_` | `incident` S |
//! | sample buffer head | `sample#<instance>` | `_` | `samples` L (refs, oldest first), `version` N |
//! | sample (and parts) | `sample#<instance>` | as an incident's | as an incident's |
//! | universal credential | `cred#universal` | `_` | `username` S, `password_hash` S |
//! | instance credential | `cred#instance#<name>` | `_` | `username` S, `password_hash` S |
//! | instance | `instance` | `<name>` | `json` S |
//! | API key | `apikey` | `<id:020>` | `json` S, `revoked` BOOL, `revoked_at` S |
//! | API key counter | `apikey#counter` | `_` | `next_id` N |
//! | nonce | `nonce#<id>#<nonce>` | `_` | `expires_at` N (TTL) |
//!
//! Key parts longer than 512 bytes (dedup ids, nonces, list names come from outside) are
//! replaced by `sha256:<hex>` so keys stay under DynamoDB's limits.
//!
//! ## Indicators
//!
//! A firewall poll must not read a million items, so indicators are not stored one item each.
//! The set lives in a chunked snapshot: immutable chunk items of LZ4-compressed records in
//! export order (values, type and field-set columns; repeated field sets interned), named
//! by a manifest in the meta item. A load is one consistent `GetItem`
//! of the meta item plus parallel `BatchGetItem`s of the chunks (a warm process fetches only
//! chunks it has not seen); a poll whose version did not move costs the meta read alone.
//!
//! A write rewrites only the chunks it touches (chunks holding updated or deleted values,
//! and the tail chunk new values join), puts them under fresh ids, and then swaps the meta
//! item with `PutItem` conditioned on the version it started from. A batch is therefore
//! visible whole or not at all, an interrupted write is never acknowledged, and concurrent
//! writers (several processes, or Lambdas) serialise on the condition: the loser deletes its
//! chunks and retries from the new version, so no update is lost and every value has one
//! position. Replaced chunks are deleted after the swap; a reader that still wanted one
//! starts again from the meta item. Export order is the chunk order, so positions need no
//! sequence numbers: updates rewrite a value in place, new values append to the tail.
//!
//! ## Other records
//!
//! - Incidents: `TransactWriteItems` of the incident and its dedup marker (condition
//!   `attribute_not_exists(pk)`), up to 100 items and 4 MB per transaction; a cancelled
//!   transaction's reasons say which markers existed, those incidents are dropped and the
//!   rest written again. Big incidents are split into parts in the same transaction.
//! - Sample buffers: per-sample items, committed by an atomic `list_append` on the head and
//!   trimmed to the newest 20 under a version condition (see `incidents.rs`).
//! - API key ids come from `UpdateItem ADD next :1` on the counter; the record is put with
//!   `attribute_not_exists(pk)` so an id is never reused (explicit ids included).
//! - Nonces: one `PutItem` with `attribute_not_exists(pk) OR expires_at < :now`; a failed
//!   condition is a replay, any other failure is [`StoreError::Unavailable`].
//! - Lists of any size (a 64 MiB sanity cap): inline when small, else parts under a fresh
//!   generation, then the head item is swapped and the old generation deleted.
//!
//! Limits respected everywhere: 25 requests per `BatchWriteItem`, 100 keys per
//! `BatchGetItem` (fewer for big chunks, to stay under 16 MB), items under 400 KB, paginated
//! queries. Unprocessed items are retried with backoff; throttling and network errors are
//! retried by the SDK and then surface as [`StoreError::Unavailable`].

//!
//! # Use
//!
//! ```no_run
//! use feedgate::store::IndicatorStore;
//! use feedgate_store_dynamo::DynamoStore;
//!
//! # async fn demo() -> Result<(), feedgate::store::StoreError> {
//! // Region, credentials and AWS_ENDPOINT_URL_DYNAMODB come from the environment.
//! let store = DynamoStore::from_env("feedgate").await;
//! store.create_table_if_missing().await?;
//! let set = store.load().await?; // meta item + parallel chunk reads
//! println!("{} indicators at version {}", set.indicators().len(), set.version());
//! # Ok(())
//! # }
//! ```

mod batch;
pub mod client;
mod codec;
mod ids;
mod incidents;
mod indicators;
mod keys;
mod lists;
mod load;
mod records;
mod rewrite;
mod schema;
mod snapshot;
mod table;

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use feedgate::Dataset;
use feedgate::Indicator;
use feedgate::store::{DataVersion, IndicatorStore, StoreResult, UpsertSummary};

pub use client::{ClientSettings, Metrics};
pub use lists::MAX_LIST_BYTES;

/// The default table name.
pub const DEFAULT_TABLE: &str = "feedgate";

/// The DynamoDB store: cheap to clone, clones share the client, caches and metrics.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    metrics: Arc<Metrics>,
    cache: Arc<snapshot::Cache>,
    writer: Arc<tokio::sync::Mutex<Option<indicators::WriterState>>>,
}

impl DynamoStore {
    /// A store on `table` through `client` (which gets a request-counting interceptor).
    pub fn new(client: &Client, table: impl Into<String>) -> Self {
        let metrics = Arc::new(Metrics::default());
        Self {
            client: client::instrument(client, metrics.clone()),
            table: table.into(),
            metrics,
            cache: Arc::default(),
            writer: Arc::default(),
        }
    }

    /// A store on `table` configured from the standard AWS environment (region,
    /// credentials chain, `AWS_ENDPOINT_URL_DYNAMODB` for a local server).
    ///
    /// Calls get bounded time (3 s to connect, 10 s per attempt, 30 s with retries) so an
    /// unreachable table becomes [`feedgate::store::StoreError::Unavailable`] well inside a
    /// Lambda's timeout instead of the gateway answering for us.
    pub async fn from_env(table: impl Into<String>) -> Self {
        let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .operation_attempt_timeout(std::time::Duration::from_secs(10))
            .operation_timeout(std::time::Duration::from_secs(30))
            .build();
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts)
            .load()
            .await;
        Self::new(&Client::new(&conf), table)
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Requests made and bytes read by this store (and its clones) so far.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The committed snapshot's shape: one consistent read of the meta item.
    pub async fn snapshot_stats(&self) -> StoreResult<SnapshotStats> {
        let meta = self.read_meta().await?.unwrap_or_default();
        Ok(SnapshotStats {
            version: meta.version,
            indicators: meta.count,
            chunks: meta.chunks.len(),
            bytes: meta.chunks.iter().map(|c| u64::from(c.bytes)).sum(),
        })
    }
}

/// The shape of the indicator snapshot (for `store stats` output, tests and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Dataset version.
    pub version: u64,
    /// Indicators in the set.
    pub indicators: u64,
    /// Chunk items.
    pub chunks: usize,
    /// Compressed bytes over all chunks: what a cold load reads (before base64).
    pub bytes: u64,
}

impl IndicatorStore for DynamoStore {
    async fn upsert(&self, batch: Vec<Indicator>) -> StoreResult<UpsertSummary> {
        self.upsert_indicators(batch).await
    }

    async fn delete(&self, values: Vec<String>) -> StoreResult<u64> {
        self.delete_indicators(values).await
    }

    /// Served from the whole-set load (cached per version): the set has no per-value items.
    async fn get(&self, value: &str) -> StoreResult<Option<Indicator>> {
        let dataset = self.load_dataset().await?;
        let found = dataset
            .value_index()
            .and_then(|index| index.position(dataset.indicators(), value))
            .and_then(|p| dataset.indicators().get(p as usize).cloned());
        Ok(found)
    }

    async fn count(&self) -> StoreResult<u64> {
        Ok(self.read_meta().await?.map_or(0, |m| m.count))
    }

    async fn version(&self) -> StoreResult<DataVersion> {
        Ok(self.read_meta().await?.unwrap_or_default().data_version())
    }

    async fn load(&self) -> StoreResult<Dataset> {
        self.load_dataset().await
    }
}
