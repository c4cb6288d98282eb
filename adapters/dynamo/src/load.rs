//! The whole-set load: the meta item, then every chunk fetched in parallel and decoded as
//! soon as its batch arrives, so decoding overlaps the network.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use feedgate::instant::Instant;
use feedgate::store::{StoreError, StoreResult};
use feedgate::{Dataset, Indicator};
use tokio::task::JoinSet;

use crate::DynamoStore;
use crate::batch;
use crate::client::backoff;
use crate::codec;
use crate::schema::{self, SINGLE};
use crate::snapshot::{
    ChunkRef, MAX_CHUNKS_PER_GET, PARALLEL_READS, chunk_from_item, chunk_pk, lock,
};

/// Loads retried after the set changed under them.
const LOAD_ATTEMPTS: u32 = 8;

type Decoded = StoreResult<Vec<(String, Vec<Indicator>)>>;

fn decode_named(named: Vec<(String, Bytes)>) -> Decoded {
    named
        .into_iter()
        .map(|(id, payload)| {
            let records = codec::decode(&payload).map_err(|e| StoreError::Corrupt {
                key: chunk_pk(&id),
                reason: e.to_string(),
            })?;
            Ok((id, records))
        })
        .collect()
}

impl DynamoStore {
    /// The whole set in export order, from the cache when the version did not move.
    pub(crate) async fn load_dataset(&self) -> StoreResult<Dataset> {
        for attempt in 0..LOAD_ATTEMPTS {
            let Some(meta) = self.read_meta().await? else {
                return Ok(Dataset::new(Vec::new(), 0, Instant::from_unix_millis(0)));
            };
            if let Some(d) = lock(&self.cache.dataset).as_ref()
                && d.version() == meta.version
            {
                return Ok(d.clone());
            }
            let Some(indicators) = self.fetch_decoded(&meta.chunks).await? else {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            };
            if indicators.len() as u64 != meta.count {
                return Err(StoreError::Corrupt {
                    key: "indicators meta".into(),
                    reason: format!(
                        "count {} but the chunks hold {}",
                        meta.count,
                        indicators.len()
                    ),
                });
            }
            let dataset = Dataset::new(
                indicators,
                meta.version,
                Instant::from_unix_millis(meta.modified_ms),
            );
            let old = lock(&self.cache.dataset).replace(dataset.clone());
            // Freeing a million indicators takes a good fraction of a second: not on an async
            // worker thread.
            if let Some(old) = old {
                tokio::task::spawn_blocking(move || drop(old));
            }
            self.cache.retain(&meta.chunks);
            return Ok(dataset);
        }
        Err(StoreError::Unavailable(
            "indicator snapshot kept changing during the load; retry".into(),
        ))
    }

    /// Every chunk's indicators concatenated in manifest order; `None` when a chunk no
    /// longer exists (the manifest was replaced meanwhile).
    async fn fetch_decoded(&self, chunks: &[ChunkRef]) -> StoreResult<Option<Vec<Indicator>>> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut tasks: JoinSet<Decoded> = JoinSet::new();
        let cached: Vec<(String, Bytes)> = {
            let raw = lock(&self.cache.raw);
            chunks
                .iter()
                .filter_map(|c| raw.get(&c.id).map(|p| (c.id.clone(), p.clone())))
                .collect()
        };
        let have: HashSet<String> = cached.iter().map(|(id, _)| id.clone()).collect();
        let per_task = cached.len().div_ceil(threads * 2).max(1);
        for group in cached.chunks(per_task) {
            let group = group.to_vec();
            tasks.spawn_blocking(move || decode_named(group));
        }
        let mut decoded: HashMap<String, Vec<Indicator>> = HashMap::new();
        // Eventually consistent first (half the price); a chunk written a moment ago may not
        // be visible that way yet, so the stragglers get a consistent read.
        for consistent in [false, true] {
            let missing: Vec<&ChunkRef> = chunks
                .iter()
                .filter(|c| !have.contains(&c.id) && !decoded.contains_key(&c.id))
                .collect();
            let per_request = missing
                .len()
                .div_ceil(PARALLEL_READS)
                .clamp(1, MAX_CHUNKS_PER_GET);
            for group in missing.chunks(per_request) {
                let keys = group
                    .iter()
                    .map(|c| schema::key(chunk_pk(&c.id), SINGLE))
                    .collect();
                let (store, table) = (self.clone(), self.table.clone());
                tasks.spawn(async move {
                    let items = batch::get_group(&store.client, &table, keys, consistent).await?;
                    let mut named = Vec::with_capacity(items.len());
                    for item in &items {
                        let (id, payload) = chunk_from_item(item)?;
                        store.cache.insert(id.clone(), payload.clone());
                        named.push((id, payload));
                    }
                    tokio::task::spawn_blocking(move || decode_named(named))
                        .await
                        .map_err(|e| StoreError::Unavailable(format!("decode task: {e}")))?
                });
            }
            while let Some(joined) = tasks.join_next().await {
                let parts =
                    joined.map_err(|e| StoreError::Unavailable(format!("load task: {e}")))??;
                decoded.extend(parts);
            }
        }
        let total = chunks.iter().map(|c| c.count as usize).sum();
        let mut all = Vec::with_capacity(total);
        for c in chunks {
            match decoded.remove(&c.id) {
                Some(records) => all.extend(records),
                None => return Ok(None),
            }
        }
        Ok(Some(all))
    }
}
