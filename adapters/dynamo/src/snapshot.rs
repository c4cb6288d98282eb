//! The indicator snapshot: a meta item naming immutable chunk items, and the whole-set load.
//!
//! The meta item (`pk = "indicators"`, `sk = "meta"`) holds the dataset version, the
//! modification time, the indicator count and the manifest: chunk ids in export order with
//! their record counts and sizes. Chunk items (`pk = "chunk#<id>"`) hold one compressed
//! payload each ([`crate::codec`]) and are never modified: a write puts new chunks under fresh
//! ids and then swaps the manifest with a conditional put on the version. A reader therefore
//! sees either the old or the new set, whole; a chunk that vanished under it (replaced and
//! deleted by a concurrent writer) sends it back to the meta item.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use feedgate::Dataset;
use feedgate::instant::Instant;
use feedgate::store::{DataVersion, StoreResult};
use serde::{Deserialize, Serialize};

use crate::DynamoStore;
use crate::batch;
use crate::client::unavailable;
use crate::schema::{self, Item, Reader, SINGLE};

/// Partition key of the meta item.
pub(crate) const META_PK: &str = "indicators";
/// Sort key of the meta item.
pub(crate) const META_SK: &str = "meta";
/// Payload attribute of a chunk item.
const DATA: &str = "data";
/// Chunk reads in flight at once, aimed for when cutting the chunk list into batches.
pub(crate) const PARALLEL_READS: usize = 16;
/// Most chunks in one `BatchGetItem`: 40 × 330 KB stays under its 16 MB response cap.
pub(crate) const MAX_CHUNKS_PER_GET: usize = 40;

/// One chunk as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChunkRef {
    /// Chunk id; the item is `chunk#<id>`.
    #[serde(rename = "i")]
    pub(crate) id: String,
    /// Indicators in it.
    #[serde(rename = "n")]
    pub(crate) count: u32,
    /// Payload size in bytes.
    #[serde(rename = "b")]
    pub(crate) bytes: u32,
}

/// The meta item, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Meta {
    /// 0 before the first write.
    pub(crate) version: u64,
    /// Milliseconds since the epoch.
    pub(crate) modified_ms: i64,
    /// Indicators in the set.
    pub(crate) count: u64,
    /// Chunks in export order.
    pub(crate) chunks: Vec<ChunkRef>,
}

impl Meta {
    /// As the port reports it.
    pub(crate) fn data_version(&self) -> DataVersion {
        DataVersion {
            version: self.version,
            modified: Instant::from_unix_millis(self.modified_ms),
        }
    }

    /// The item that stores this meta.
    pub(crate) fn to_item(&self) -> StoreResult<Item> {
        let mut item = schema::key(META_PK, META_SK);
        item.insert("version".into(), schema::n(self.version));
        item.insert("modified_ms".into(), schema::n(self.modified_ms));
        item.insert("count".into(), schema::n(self.count));
        item.insert("chunks".into(), schema::s(schema::to_json(&self.chunks)?));
        Ok(item)
    }

    fn from_item(item: &Item) -> StoreResult<Self> {
        let r = Reader::new(item, "indicators meta");
        Ok(Self {
            version: r.num("version")?,
            modified_ms: r.num("modified_ms")?,
            count: r.num("count")?,
            chunks: r.json("chunks")?,
        })
    }
}

/// The partition key of chunk `id`.
pub(crate) fn chunk_pk(id: &str) -> String {
    format!("chunk#{id}")
}

/// The item that stores chunk `id`.
pub(crate) fn chunk_item(id: &str, payload: &[u8]) -> Item {
    let mut item = schema::key(chunk_pk(id), SINGLE);
    item.insert(DATA.into(), schema::b(payload));
    item
}

/// Decoded state shared by the reads and writes of one store value.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    /// Compressed payloads by chunk id: chunks never change, so a payload fetched once is
    /// good for as long as a manifest names it.
    pub(crate) raw: Mutex<HashMap<String, Bytes>>,
    /// The last dataset loaded, for polls whose version did not move.
    pub(crate) dataset: Mutex<Option<Dataset>>,
}

impl Cache {
    /// Keeps only the payloads `chunks` names.
    pub(crate) fn retain(&self, chunks: &[ChunkRef]) {
        let keep: HashSet<&str> = chunks.iter().map(|c| c.id.as_str()).collect();
        lock(&self.raw).retain(|id, _| keep.contains(id.as_str()));
    }

    /// Remembers payloads this process just wrote.
    pub(crate) fn insert(&self, id: String, payload: Bytes) {
        lock(&self.raw).insert(id, payload);
    }
}

/// A poisoned lock only means another thread panicked while holding it; the maps stay valid.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl DynamoStore {
    /// The meta item, read strongly consistent; `None` before the first write.
    pub(crate) async fn read_meta(&self) -> StoreResult<Option<Meta>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(schema::key(META_PK, META_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        out.item.as_ref().map(Meta::from_item).transpose()
    }

    /// The payloads of `chunks` in manifest order, from the cache or the table; `None` when
    /// some chunk no longer exists (the manifest was replaced meanwhile).
    pub(crate) async fn payloads(&self, chunks: &[ChunkRef]) -> StoreResult<Option<Vec<Bytes>>> {
        let mut found: HashMap<String, Bytes> = {
            let raw = lock(&self.cache.raw);
            chunks
                .iter()
                .filter_map(|c| raw.get(&c.id).map(|p| (c.id.clone(), p.clone())))
                .collect()
        };
        // Eventually consistent first (half the price); a chunk written a moment ago may not
        // be visible that way yet, so the stragglers get a consistent read.
        for consistent in [false, true] {
            let missing: Vec<&ChunkRef> = chunks
                .iter()
                .filter(|c| !found.contains_key(&c.id))
                .collect();
            if missing.is_empty() {
                break;
            }
            let per_request = missing
                .len()
                .div_ceil(PARALLEL_READS)
                .clamp(1, MAX_CHUNKS_PER_GET);
            let keys = missing
                .iter()
                .map(|c| schema::key(chunk_pk(&c.id), SINGLE))
                .collect();
            let items =
                batch::get(&self.client, &self.table, keys, per_request, consistent).await?;
            let mut raw = lock(&self.cache.raw);
            for item in items {
                let (id, payload) = chunk_from_item(&item)?;
                raw.insert(id.clone(), payload.clone());
                found.insert(id, payload);
            }
        }
        let mut out = Vec::with_capacity(chunks.len());
        for c in chunks {
            match found.remove(&c.id) {
                Some(p) => out.push(p),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }
}

/// A chunk item's id and payload.
pub(crate) fn chunk_from_item(item: &Item) -> StoreResult<(String, Bytes)> {
    let r = Reader::new(item, "snapshot chunk");
    let pk = r.s(schema::PK)?;
    let id = pk
        .strip_prefix("chunk#")
        .ok_or_else(|| r.corrupt(format!("unexpected key {pk}")))?;
    Ok((id.to_owned(), Bytes::copy_from_slice(r.b(DATA)?)))
}

/// The condition that makes a manifest swap safe: nobody committed since `expected` was read.
pub(crate) fn swap_condition(
    expected: Option<&Meta>,
) -> (String, Option<(String, AttributeValue)>) {
    match expected {
        None => ("attribute_not_exists(pk)".into(), None),
        Some(meta) => (
            // `#v` because expression names are checked against DynamoDB's reserved words.
            "#v = :expected".into(),
            Some((":expected".into(), schema::n(meta.version))),
        ),
    }
}
