//! The whole-set load: every indicator in export order, read at one version.
//!
//! Decoding (JSON fields, one allocation per value) costs more than SQLite's scan, so big sets
//! are read in seq ranges by several threads, each on its own connection. Connections cannot
//! share a snapshot, but every indicator write bumps the version in the same transaction: when
//! every range read the same version, they all read the same data. Otherwise (a write landed
//! in between) the load starts over.

use std::num::NonZeroUsize;

use feedgate::store::{DataVersion, StoreError, StoreResult};
use feedgate::{Dataset, Indicator};
use rusqlite::Connection;

use crate::Inner;
use crate::error::SqlResultExt;
use crate::indicators::{decode, read_version};

/// Below this many rows one thread is faster than starting more.
const PARALLEL_FROM_ROWS: i64 = 50_000;
/// Threads beyond this gain nothing: the scan itself is serial per connection.
const MAX_THREADS: usize = 8;
/// Parallel attempts before falling back to one connection (which cannot conflict).
const ATTEMPTS: usize = 3;

pub(crate) fn load(inner: &Inner) -> StoreResult<Dataset> {
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(MAX_THREADS);
    let mut conn = inner.take_reader()?;
    let result = load_with(inner, &mut conn, threads);
    inner.give_back(conn);
    result
}

fn load_with(inner: &Inner, conn: &mut Connection, threads: usize) -> StoreResult<Dataset> {
    for _ in 0..ATTEMPTS {
        let tx = conn.transaction().store()?;
        let version = read_version(&tx)?;
        let (low, high): (i64, i64) = tx
            .query_row(
                "SELECT coalesce(min(seq), 1), coalesce(max(seq), 0) FROM indicators",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .store()?;
        let span = high.saturating_sub(low).saturating_add(1).max(0);
        if threads <= 1 || span < PARALLEL_FROM_ROWS {
            let indicators = scan(&tx, i64::MIN, i64::MAX)?;
            tx.commit().store()?;
            return Ok(dataset(indicators, version));
        }
        let ranges = split(low, high, threads);
        let parts = std::thread::scope(|s| {
            let others: Vec<_> = ranges[1..]
                .iter()
                .map(|&(from, to)| s.spawn(move || scan_at(inner, version, from, to)))
                .collect();
            let first = scan(&tx, ranges[0].0, ranges[0].1).map(Some);
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
            return Ok(dataset(parts.concat(), version));
        }
    }
    // Writes keep landing between the range reads: one snapshot on one connection.
    let tx = conn.transaction().store()?;
    let version = read_version(&tx)?;
    let indicators = scan(&tx, i64::MIN, i64::MAX)?;
    tx.commit().store()?;
    Ok(dataset(indicators, version))
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
    let mut stmt = conn
        .prepare_cached(
            "SELECT value, type, fields, custom FROM indicators
             WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
        )
        .store()?;
    let mut rows = stmt.query((from, to)).store()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().store()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
