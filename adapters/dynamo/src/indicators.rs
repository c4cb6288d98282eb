//! Indicator writes: optimistic, whole-batch commits of new snapshot chunks.
//!
//! A write reads the meta item, rewrites only the chunks it touches (the ones holding updated
//! or deleted values, and the tail chunk that new values are appended to), puts the new chunks
//! under fresh ids, then swaps the manifest with a put conditioned on the version it read.
//! Losing that race means another writer committed first: the new chunks are deleted and the
//! write starts again from the fresh meta, so concurrent writers never lose each other's
//! updates and a batch is visible whole or not at all. Old chunks are deleted after a
//! successful swap (readers that still wanted them go back to the meta item).
//!
//! To know which chunk holds a value without reading them all per batch, the writer keeps a
//! value → chunk index for the version it last saw; it is rebuilt (from cached payloads, and
//! only the chunks not seen before are fetched) when another writer moved the version.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use bytes::Bytes;
use feedgate::Indicator;
use feedgate::instant::Instant;
use feedgate::store::{StoreError, StoreResult, UpsertSummary};

use crate::DynamoStore;
use crate::batch::{self, put_request};
use crate::client::{backoff, unavailable};
use crate::codec::{self, TARGET_CHUNK_BYTES};
use crate::ids;
use crate::rewrite::{NewChunk, rebuild};
use crate::schema::{self, SINGLE};
use crate::snapshot::{ChunkRef, Meta, chunk_item, chunk_pk, swap_condition};

/// Commits retried after losing the race to another writer.
const WRITE_ATTEMPTS: u32 = 30;

/// What a writer knows about the committed set.
#[derive(Debug, Default)]
pub(crate) struct WriterState {
    /// The meta item this index matches; `None` when the table has none yet.
    meta: Option<Meta>,
    /// Value → id of the chunk holding it.
    index: HashMap<Box<str>, Arc<str>>,
}

/// A change to the set.
enum Edit {
    Upsert(Vec<Indicator>),
    Delete(Vec<String>),
}

/// The new chunks and manifest a commit would install.
struct Plan {
    meta: Meta,
    new_chunks: Vec<NewChunk>,
    replaced: Vec<String>,
    removed_values: Vec<String>,
    summary: UpsertSummary,
    deleted: u64,
}

/// Why a plan could not be made from the state at hand.
enum Stale {
    /// A chunk the state names is gone: another writer committed.
    Moved,
    /// A real failure.
    Error(StoreError),
}

impl From<StoreError> for Stale {
    fn from(e: StoreError) -> Self {
        Self::Error(e)
    }
}

impl DynamoStore {
    /// Upserts `batch` (see [`feedgate::store::IndicatorStore::upsert`]).
    pub(crate) async fn upsert_indicators(
        &self,
        batch: Vec<Indicator>,
    ) -> StoreResult<UpsertSummary> {
        if batch.is_empty() {
            return Ok(UpsertSummary::default());
        }
        Ok(self.apply(Edit::Upsert(batch)).await?.0)
    }

    /// Deletes `values`; returns how many existed.
    pub(crate) async fn delete_indicators(&self, values: Vec<String>) -> StoreResult<u64> {
        if values.is_empty() {
            return Ok(0);
        }
        Ok(self.apply(Edit::Delete(values)).await?.1)
    }

    async fn apply(&self, edit: Edit) -> StoreResult<(UpsertSummary, u64)> {
        // One writer per store value at a time: in-process writers would only race each
        // other on the meta item.
        let mut state = self.writer.lock().await;
        for attempt in 0..WRITE_ATTEMPTS {
            let current = self.read_meta().await?;
            if !self.sync(&mut state, current).await? {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            let st = state.get_or_insert_with(WriterState::default);
            let plan = match self.plan(st, &edit).await {
                Ok(Some(plan)) => plan,
                Ok(None) => return Ok((UpsertSummary::default(), 0)),
                Err(Stale::Moved) => {
                    *state = None;
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(Stale::Error(e)) => return Err(e),
            };
            let puts = plan
                .new_chunks
                .iter()
                .map(|c| put_request(chunk_item(&c.id, &c.payload)))
                .collect::<StoreResult<Vec<_>>>()?;
            if let Err(e) = batch::write(&self.client, &self.table, puts).await {
                // Report now; tidying up the chunks that did get written may take as long as
                // the failure did, so it runs on its own.
                let store = self.clone();
                let ids: Vec<String> = plan.new_chunks.iter().map(|c| c.id.clone()).collect();
                tokio::spawn(async move { store.delete_chunks(ids).await });
                return Err(e);
            }
            match self.swap(st.meta.as_ref(), &plan.meta).await {
                Ok(true) => {
                    let result = (plan.summary, plan.deleted);
                    let replaced = self.install(st, plan);
                    self.delete_chunks(replaced).await;
                    return Ok(result);
                }
                Ok(false) => {
                    self.delete_chunks(plan.new_chunks.iter().map(|c| c.id.clone()))
                        .await;
                    *state = None;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(e) => {
                    // The swap may or may not have happened: keep every chunk, forget the
                    // state, and report the write as failed (not acknowledged).
                    *state = None;
                    return Err(e);
                }
            }
        }
        Err(StoreError::Unavailable(format!(
            "indicator write lost the race to other writers {WRITE_ATTEMPTS} times; retry"
        )))
    }

    /// Brings `state` to `current`. `false` when a chunk vanished meanwhile.
    async fn sync(
        &self,
        state: &mut Option<WriterState>,
        current: Option<Meta>,
    ) -> StoreResult<bool> {
        if let Some(st) = state.as_ref()
            && st.meta.as_ref().map(|m| m.version) == current.as_ref().map(|m| m.version)
        {
            return Ok(true);
        }
        *state = None;
        let Some(meta) = current else {
            *state = Some(WriterState::default());
            return Ok(true);
        };
        let Some(payloads) = self.payloads(&meta.chunks).await? else {
            return Ok(false);
        };
        let chunks = meta.chunks.clone();
        let index = tokio::task::spawn_blocking(move || {
            let mut index = HashMap::with_capacity(chunks.iter().map(|c| c.count as usize).sum());
            for (c, payload) in chunks.iter().zip(payloads) {
                let id: Arc<str> = Arc::from(c.id.as_str());
                let values = codec::decode_values(&payload).map_err(|e| StoreError::Corrupt {
                    key: chunk_pk(&c.id),
                    reason: e.to_string(),
                })?;
                for v in values {
                    index.insert(v, id.clone());
                }
            }
            Ok::<_, StoreError>(index)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("index task: {e}")))??;
        self.cache.retain(&meta.chunks);
        *state = Some(WriterState {
            meta: Some(meta),
            index,
        });
        Ok(true)
    }

    /// The commit `edit` needs on top of `st`; `None` when it changes nothing.
    async fn plan(&self, st: &WriterState, edit: &Edit) -> Result<Option<Plan>, Stale> {
        let old = st.meta.clone().unwrap_or_default();
        let position: HashMap<&str, usize> = old
            .chunks
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        let locate = |value: &str| -> Result<Option<usize>, Stale> {
            match st.index.get(value) {
                None => Ok(None),
                Some(id) => position
                    .get(id.as_ref())
                    .copied()
                    .map(Some)
                    .ok_or(Stale::Moved),
            }
        };
        // Per touched chunk: replacements by value (None = delete).
        let mut touched: BTreeMap<usize, HashMap<String, Option<Indicator>>> = BTreeMap::new();
        let mut appends: Vec<Indicator> = Vec::new();
        let mut summary = UpsertSummary::default();
        let mut deleted = 0u64;
        let mut removed_values = Vec::new();
        match edit {
            Edit::Upsert(batch) => {
                // A value new to the set is added once; later copies in the batch update it.
                let mut appended: HashMap<&str, usize> = HashMap::new();
                for ind in batch {
                    if let Some(&at) = appended.get(ind.value()) {
                        appends[at] = ind.clone();
                        summary.updated += 1;
                    } else if let Some(pos) = locate(ind.value())? {
                        touched
                            .entry(pos)
                            .or_default()
                            .insert(ind.value().to_owned(), Some(ind.clone()));
                        summary.updated += 1;
                    } else {
                        appended.insert(ind.value(), appends.len());
                        appends.push(ind.clone());
                        summary.added += 1;
                    }
                }
            }
            Edit::Delete(values) => {
                let distinct: HashSet<&String> = values.iter().collect();
                for value in distinct {
                    if let Some(pos) = locate(value)? {
                        touched.entry(pos).or_default().insert(value.clone(), None);
                        removed_values.push(value.clone());
                        deleted += 1;
                    }
                }
                if deleted == 0 {
                    return Ok(None);
                }
            }
        }
        // New values join the tail chunk while it has room, so small imports do not leave
        // a trail of tiny chunks.
        if !appends.is_empty()
            && let Some(last) = old.chunks.len().checked_sub(1)
            && (old.chunks[last].bytes as usize) < TARGET_CHUNK_BYTES
        {
            touched.entry(last).or_default();
        }
        let refs: Vec<ChunkRef> = touched.keys().map(|&p| old.chunks[p].clone()).collect();
        let payloads = self.payloads(&refs).await?.ok_or(Stale::Moved)?;
        let token = ids::token();
        let chunks = old.chunks.clone();
        let tail = old.chunks.len().checked_sub(1);
        let (manifest, new_chunks) = tokio::task::spawn_blocking(move || {
            rebuild(&chunks, touched, payloads, appends, tail, &token)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("encode task: {e}")))??;
        let replaced = refs.into_iter().map(|c| c.id).collect();
        let count = manifest.iter().map(|c| u64::from(c.count)).sum();
        Ok(Some(Plan {
            meta: Meta {
                version: old.version + 1,
                modified_ms: (Instant::now().unix_nanos() / 1_000_000) as i64,
                count,
                chunks: manifest,
            },
            new_chunks,
            replaced,
            removed_values,
            summary,
            deleted,
        }))
    }

    /// Puts `next` if the meta item still is `expected`. `Ok(false)`: someone else committed.
    async fn swap(&self, expected: Option<&Meta>, next: &Meta) -> StoreResult<bool> {
        let (condition, value) = swap_condition(expected);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(next.to_item()?))
            .condition_expression(condition);
        if let Some((name, v)) = value {
            put = put
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(name, v);
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable("PutItem (indicators meta)", e)),
        }
    }

    /// Makes `st` describe the committed `plan`; returns the chunk ids it replaced.
    fn install(&self, st: &mut WriterState, plan: Plan) -> Vec<String> {
        for value in &plan.removed_values {
            st.index.remove(value.as_str());
        }
        for chunk in plan.new_chunks {
            let id: Arc<str> = Arc::from(chunk.id.as_str());
            for v in chunk.values {
                st.index.insert(v, id.clone());
            }
            self.cache.insert(chunk.id, Bytes::from(chunk.payload));
        }
        self.cache.retain(&plan.meta.chunks);
        st.meta = Some(plan.meta);
        plan.replaced
    }

    /// Deletes chunk items nobody needs any more. Failures only leave garbage behind (no
    /// manifest names these chunks), so they are logged, not returned.
    async fn delete_chunks(&self, ids: impl IntoIterator<Item = String>) {
        let requests: Vec<WriteRequest> = ids
            .into_iter()
            .filter_map(|id| {
                let key = schema::key(chunk_pk(&id), SINGLE);
                let delete = DeleteRequest::builder().set_key(Some(key)).build().ok()?;
                Some(WriteRequest::builder().delete_request(delete).build())
            })
            .collect();
        if requests.is_empty() {
            return;
        }
        if let Err(e) = batch::write(&self.client, &self.table, requests).await {
            tracing::warn!(error = %e, "could not delete unused snapshot chunks");
        }
    }
}
