//! The whole-set load: every indicator in export order, read at one version.
//!
//! Decoding costs about as much as SQLite's scan, so big sets are read in seq ranges by
//! several threads, each on its own
//! connection. Connections cannot share a snapshot, but every indicator write bumps the version
//! in the same transaction: when every range read the same version, they all read the same
//! data. Otherwise (a write landed in between) the load starts over.
//!
//! The first range's vector is sized for the whole set and the other ranges are moved into it,
//! so the records are not copied once more into a new vector at the end. On two cores both are
//! used (1M indicators: the first load of a process 0.48-0.51 s against 0.60 s on one thread,
//! later loads 0.24-0.39 s against 0.38-0.53 s, now that a record needs no allocation of its
//! own for most values; with a copy of the maps per record it did not pay); from four cores
//! on, half of them, leaving the rest to the process's request threads.
//!
//! A load at the version of the previous load returns the previous set (shared, not copied).

use std::num::NonZeroUsize;
use std::sync::PoisonError;

use feedgate::indicator::BlobInterner;
use feedgate::store::{DataVersion, StoreError, StoreResult};
use feedgate::{Dataset, Indicator};
use rusqlite::Connection;

use crate::Inner;
use crate::error::SqlResultExt;
use crate::indicators::{decode_shared, read_version};

/// Below this many rows one thread is faster than starting more.
const PARALLEL_FROM_ROWS: i64 = 50_000;
/// Threads beyond this gain little: every thread competes for the same allocator.
const MAX_THREADS: usize = 4;
/// Parallel attempts before falling back to one connection (which cannot conflict).
const ATTEMPTS: usize = 3;

pub(crate) fn load(inner: &Inner) -> StoreResult<Dataset> {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = match cores {
        0 | 1 => 1,
        2 | 3 => 2,
        _ => (cores / 2).min(MAX_THREADS),
    };
    let mut conn = inner.take_reader()?;
    let result = load_with(inner, &mut conn, threads);
    inner.give_back(conn);
    result
}

fn load_with(inner: &Inner, conn: &mut Connection, threads: usize) -> StoreResult<Dataset> {
    let dataset = load_fresh(inner, conn, threads)?;
    let version = DataVersion {
        version: dataset.version(),
        modified: dataset.modified(),
    };
    *inner.loaded.lock().unwrap_or_else(PoisonError::into_inner) = Some((version, dataset.clone()));
    Ok(dataset)
}

fn cached(inner: &Inner, version: DataVersion) -> Option<Dataset> {
    match &*inner.loaded.lock().unwrap_or_else(PoisonError::into_inner) {
        Some((at, dataset)) if *at == version => Some(dataset.clone()),
        _ => None,
    }
}

fn load_fresh(inner: &Inner, conn: &mut Connection, threads: usize) -> StoreResult<Dataset> {
    for _ in 0..ATTEMPTS {
        let tx = conn.transaction().store()?;
        let version = read_version(&tx)?;
        if let Some(dataset) = cached(inner, version) {
            return Ok(dataset);
        }
        let (low, high) = bounds(&tx)?;
        let span = high.saturating_sub(low).saturating_add(1).max(0);
        if threads <= 1 || span < PARALLEL_FROM_ROWS {
            let indicators = scan(&tx, low, high)?;
            tx.commit().store()?;
            return Ok(dataset(indicators, version));
        }
        let ranges = split(low, high, threads);
        let parts = std::thread::scope(|s| {
            let others: Vec<_> = ranges[1..]
                .iter()
                .map(|&(from, to)| s.spawn(move || scan_at(inner, version, from, to)))
                .collect();
            // The first range's vector has room for every range: the others are moved in
            // after, instead of all of them being copied into a new one.
            let room = Vec::with_capacity(dense_len(low, high));
            let first = scan_into(&tx, ranges[0].0, ranges[0].1, room).map(Some);
            let mut parts = vec![first];
            for handle in others {
                parts.push(handle.join().unwrap_or_else(|_| {
                    Err(StoreError::Unavailable("load thread panicked".into()))
                }));
            }
            parts
        });
        tx.commit().store()?;
        let parts: StoreResult<Vec<Option<Vec<Indicator>>>> = parts.into_iter().collect();
        if let Some(parts) = parts?.into_iter().collect::<Option<Vec<_>>>() {
            let mut parts = parts.into_iter();
            let mut all = parts.next().unwrap_or_default();
            for part in parts {
                all.extend(part);
            }
            return Ok(dataset(all, version));
        }
    }
    // Writes keep landing between the range reads: one snapshot on one connection.
    let tx = conn.transaction().store()?;
    let version = read_version(&tx)?;
    let (low, high) = bounds(&tx)?;
    let indicators = scan(&tx, low, high)?;
    tx.commit().store()?;
    Ok(dataset(indicators, version))
}

/// The lowest and highest seq (`(1, 0)` when empty): reads two rows of the table's b-tree.
fn bounds(conn: &Connection) -> StoreResult<(i64, i64)> {
    conn.query_row(
        "SELECT coalesce(min(seq), 1), coalesce(max(seq), 0) FROM indicators",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .store()
}

fn dataset(indicators: Vec<Indicator>, version: DataVersion) -> Dataset {
    Dataset::new(indicators, version.version, version.modified)
}

/// `threads` contiguous, inclusive seq ranges covering `low..=high`.
fn split(low: i64, high: i64, threads: usize) -> Vec<(i64, i64)> {
    let n = i64::try_from(threads).unwrap_or(1).max(1);
    let step = ((high - low + 1) + n - 1) / n;
    (0..n)
        .map(|i| {
            let from = low + i * step;
            let to = if i == n - 1 { high } else { from + step - 1 };
            (from, to)
        })
        .collect()
}

/// Scans a range on a fresh read transaction; `None` when the data is at another version.
fn scan_at(
    inner: &Inner,
    version: DataVersion,
    from: i64,
    to: i64,
) -> StoreResult<Option<Vec<Indicator>>> {
    let mut conn = inner.take_reader()?;
    let result = (|| {
        let tx = conn.transaction().store()?;
        if read_version(&tx)? != version {
            return Ok(None);
        }
        let indicators = scan(&tx, from, to)?;
        tx.commit().store()?;
        Ok(Some(indicators))
    })();
    inner.give_back(conn);
    result
}

fn scan(conn: &Connection, from: i64, to: i64) -> StoreResult<Vec<Indicator>> {
    scan_into(conn, from, to, Vec::with_capacity(dense_len(from, to)))
}

/// Rows in seqs `from..=to` if none was deleted: a good first guess for a vector's capacity
/// (seqs are dense unless values were deleted), capped.
fn dense_len(from: i64, to: i64) -> usize {
    let rows = to.saturating_sub(from).saturating_add(1).max(0);
    usize::try_from(rows).unwrap_or(0).min(1 << 24)
}

/// The indicators of seqs `from..=to`, appended to `out`.
fn scan_into(
    conn: &Connection,
    from: i64,
    to: i64,
    mut out: Vec<Indicator>,
) -> StoreResult<Vec<Indicator>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT value, type, fields, custom FROM indicators
             WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
        )
        .store()?;
    let mut rows = stmt.query((from, to)).store()?;
    let mut interner = BlobInterner::new();
    while let Some(row) = rows.next().store()? {
        out.push(decode_shared(row, &mut interner)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedStore;
    use feedgate::IndicatorType;
    use feedgate::store::IndicatorStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_ranges_load_the_same_set_as_one_scan() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let rows = PARALLEL_FROM_ROWS as usize + 1_001;
        let indicators: Vec<Indicator> = (0..rows)
            .map(|i| Indicator::new(format!("v{}", rows - i), IndicatorType::Domain))
            .collect();
        store.upsert(indicators.clone()).await.expect("upsert");
        // Gaps in seq, as deletes leave them: ranges must not lose or repeat rows around them.
        let gone: Vec<String> = (0..rows)
            .step_by(7)
            .map(|i| format!("v{}", rows - i))
            .collect();
        store.delete(gone).await.expect("delete");
        let expected: Vec<Indicator> = (0..rows)
            .filter(|i| i % 7 != 0)
            .map(|i| indicators[i].clone())
            .collect();

        let inner = std::sync::Arc::clone(&store.inner);
        let loaded = tokio::task::spawn_blocking(move || {
            let mut conn = inner.take_reader().expect("reader");
            let single = load_fresh(&inner, &mut conn, 1).expect("one thread");
            let parallel = load_fresh(&inner, &mut conn, 3).expect("three threads");
            (single, parallel)
        })
        .await
        .expect("task");
        assert_eq!(loaded.0.indicators(), &expected[..]);
        assert_eq!(loaded.1.indicators(), &expected[..]);
        assert_eq!(loaded.0.version(), loaded.1.version());
    }

    #[test]
    fn splits_cover_the_range_without_overlap() {
        assert_eq!(split(1, 10, 3), vec![(1, 4), (5, 8), (9, 10)]);
        assert_eq!(split(5, 5, 2), vec![(5, 5), (6, 5)]);
        assert_eq!(
            split(1, 1_000_000, 2),
            vec![(1, 500_000), (500_001, 1_000_000)]
        );
    }
}
