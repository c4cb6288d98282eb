//! Indicators: bulk upsert/delete, lookups, the version, and the whole-set load.

use feedgate::indicator::BlobInterner;
use feedgate::instant::Instant;
use feedgate::store::{DataVersion, IndicatorStore, StoreError, StoreResult, UpsertSummary};
use feedgate::{Dataset, Indicator, IndicatorType};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde_json::{Map, Value};

use crate::EmbeddedStore;
use crate::error::{SqlResultExt, corrupt};
use crate::schema::{DATA_MODIFIED, DATA_VERSION, now_nanos};

/// Insert first: imports mostly add. DO NOTHING (not DO UPDATE ... RETURNING, which buffers
/// its result in a temporary b-tree per row) tells by its change count whether the value is new.
const INSERT: &str = "INSERT INTO indicators (value, type, fields, custom) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (value) DO NOTHING";
/// The update keeps the row, and with it the seq: the export position.
const UPDATE: &str = "UPDATE indicators SET type = ?2, fields = ?3, custom = ?4 WHERE value = ?1";

impl IndicatorStore for EmbeddedStore {
    async fn upsert(&self, batch: Vec<Indicator>) -> StoreResult<UpsertSummary> {
        if batch.is_empty() {
            return Ok(UpsertSummary::default());
        }
        self.write(move |conn| upsert_batch(conn, &batch)).await
    }

    async fn delete(&self, values: Vec<String>) -> StoreResult<u64> {
        if values.is_empty() {
            return Ok(0);
        }
        self.write(move |conn| {
            let tx = begin_write(conn)?;
            let mut deleted = 0u64;
            {
                let mut stmt = tx
                    .prepare_cached("DELETE FROM indicators WHERE value = ?1")
                    .store()?;
                for value in &values {
                    deleted += stmt.execute([value]).store()? as u64;
                }
            }
            // Deleting nothing changes nothing: keep the version, and with it every cache.
            if deleted > 0 {
                bump_version(&tx)?;
            }
            tx.commit().store()?;
            Ok(deleted)
        })
        .await
    }

    async fn get(&self, value: &str) -> StoreResult<Option<Indicator>> {
        let value = value.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT value, type, fields, custom FROM indicators WHERE value = ?1",
                )
                .store()?;
            stmt.query_row([&value], |row| Ok(decode(row)))
                .optional()
                .store()?
                .transpose()
        })
        .await
    }

    async fn count(&self) -> StoreResult<u64> {
        self.read(|conn| {
            let n: i64 = conn
                .query_row("SELECT count(*) FROM indicators", [], |r| r.get(0))
                .store()?;
            Ok(n.unsigned_abs())
        })
        .await
    }

    /// Every export poll asks: answered on the calling thread while no connection has
    /// committed since the last read (see the crate doc), else read on the blocking pool.
    async fn version(&self) -> StoreResult<DataVersion> {
        let slot = match self.inner.unchanged_version() {
            Ok(version) => return Ok(version),
            Err(slot) => slot,
        };
        let inner = std::sync::Arc::clone(&self.inner);
        crate::run_blocking(move || inner.read_version(slot)).await
    }

    async fn load(&self) -> StoreResult<Dataset> {
        let store = self.clone();
        crate::run_blocking(move || crate::load::load(&store.inner)).await
    }
}

/// Opens a write transaction. `IMMEDIATE` takes the write lock up front (waiting for it with the
/// busy timeout), so the transaction cannot fail half-way because another process wrote first.
pub(crate) fn begin_write(conn: &mut Connection) -> StoreResult<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .store()
}

fn upsert_batch(conn: &mut Connection, batch: &[Indicator]) -> StoreResult<UpsertSummary> {
    let tx = begin_write(conn)?;
    let mut summary = UpsertSummary::default();
    {
        let mut insert = tx.prepare_cached(INSERT).store()?;
        let mut update = tx.prepare_cached(UPDATE).store()?;
        let mut fields_buf = Vec::new();
        let mut custom_buf = Vec::new();
        for indicator in batch {
            // An indicator read from a store still holds its blobs: write them back as they are.
            let (fields, custom) = match indicator.blobs() {
                Some(blobs) => blobs,
                None => (
                    encode_fields(indicator.fields(), &mut fields_buf)?,
                    match indicator.custom_fields() {
                        Some(custom) => Some(encode_map(custom, &mut custom_buf)?),
                        None => None,
                    },
                ),
            };
            let row = (indicator.value(), indicator.kind().as_str(), fields, custom);
            if insert.execute(row).store()? == 1 {
                summary.added += 1;
            } else {
                update.execute(row).store()?;
                summary.updated += 1;
            }
        }
    }
    bump_version(&tx)?;
    tx.commit().store()?;
    Ok(summary)
}

/// Empty fields are stored as NULL: many feeds carry none, and NULL costs one byte.
fn encode_fields<'b>(
    fields: &Map<String, Value>,
    buf: &'b mut Vec<u8>,
) -> StoreResult<Option<&'b [u8]>> {
    if fields.is_empty() {
        return Ok(None);
    }
    encode_map(fields, buf).map(Some)
}

fn encode_map<'b>(map: &Map<String, Value>, buf: &'b mut Vec<u8>) -> StoreResult<&'b [u8]> {
    buf.clear();
    feedgate::blob::encode(map, buf)
        .map_err(|e| StoreError::Rejected(format!("fields do not encode: {e}")))?;
    Ok(buf.as_slice())
}

/// Bumps the dataset version and its modified time, in the caller's transaction. The time never
/// goes back, even when the clock does (or another process's clock is ahead): it feeds
/// `Last-Modified`.
pub(crate) fn bump_version(tx: &Transaction<'_>) -> StoreResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "UPDATE meta SET value = CASE name WHEN ?1 THEN value + 1 ELSE max(value, ?3) END
             WHERE name IN (?1, ?2)",
        )
        .store()?;
    stmt.execute((DATA_VERSION, DATA_MODIFIED, now_nanos()))
        .store()?;
    Ok(())
}

/// The dataset version as stored.
pub(crate) fn read_version(conn: &Connection) -> StoreResult<DataVersion> {
    let mut stmt = conn
        .prepare_cached("SELECT name, value FROM meta WHERE name IN (?1, ?2)")
        .store()?;
    let mut rows = stmt.query((DATA_VERSION, DATA_MODIFIED)).store()?;
    let (mut version, mut modified) = (None, None);
    while let Some(row) = rows.next().store()? {
        let name: String = row.get(0).store()?;
        let value: i64 = row.get(1).store()?;
        if name == DATA_VERSION {
            version = Some(value);
        } else {
            modified = Some(value);
        }
    }
    match (version, modified) {
        (Some(version), Some(modified)) => Ok(DataVersion {
            version: u64::try_from(version).map_err(|_| corrupt(DATA_VERSION, "negative"))?,
            modified: Instant::from_unix_nanos(i128::from(modified)),
        }),
        _ => Err(corrupt("meta", "dataset version rows are missing")),
    }
}

/// Decodes a `(value, type, fields, custom)` row. The field blobs are checked here and
/// decoded only when something reads them.
pub(crate) fn decode(row: &Row<'_>) -> StoreResult<Indicator> {
    decode_shared(row, &mut BlobInterner::new())
}

/// Like [`decode`], sharing field records between rows with the same blobs (a whole-set load).
pub(crate) fn decode_shared(row: &Row<'_>, interner: &mut BlobInterner) -> StoreResult<Indicator> {
    let value = text(row.get_ref(0).store()?, "indicator value")?;
    let kind = text(row.get_ref(1).store()?, value)?;
    let kind = match kind.parse::<IndicatorType>() {
        Ok(kind) => kind,
        Err(never) => match never {},
    };
    let fields = blob(row.get_ref(2).store()?, value)?;
    let custom = blob(row.get_ref(3).store()?, value)?;
    interner
        .indicator(value, kind, fields, custom)
        .map_err(|e| corrupt(value, e))
}

fn blob<'a>(v: ValueRef<'a>, key: &str) -> StoreResult<Option<&'a [u8]>> {
    match v {
        ValueRef::Null => Ok(None),
        v => v.as_blob().map(Some).map_err(|e| corrupt(key, e)),
    }
}

fn text<'a>(v: ValueRef<'a>, key: &str) -> StoreResult<&'a str> {
    v.as_str().map_err(|e| corrupt(key, e))
}
