//! feedgate store adapter for the engine: an embedded SQLite database.
//!
//! # Why SQLite (and not redb)
//!
//! The admin commands (`feedgate lists put`, `feedgate import`, `feedgate keys create`, ...)
//! must work while `feedgate serve` runs on the same store, from another process
//! (spec/engine.md). SQLite in WAL mode lets several processes open one database: readers never
//! block, writers take turns on the write lock (we wait for it with a busy timeout). redb opens a
//! database in one process only, so every command would have to go through the running engine.
//!
//! # Durability
//!
//! WAL mode with `synchronous=FULL`: a commit returns only after the WAL is fsynced, so every
//! write the store acknowledged survives a crash of the process *and* a power loss. With
//! `synchronous=NORMAL` WAL mode stays consistent but may lose the last commits on power loss,
//! which would break "what was reported imported is there after restart".
//!
//! # Layout
//!
//! One file, `<dir>/feedgate.db` (plus SQLite's `-wal`/`-shm` side files). Indicators keep an
//! `INTEGER PRIMARY KEY` sequence assigned on first insert: it is the export order, and a
//! whole-set load is a scan of the table in rowid order. Fields are stored in a compact binary
//! form (`feedgate::blob`), kept as loaded until something reads them: decoding them was most of a
//! load. Every indicator write bumps a
//! version counter in the same transaction; a load at an unchanged version returns the set the
//! handle loaded last. Other records are small rows or JSON bodies.
//!
//! Acknowledged means committed: `upsert` returns `Ok` after its batch's transaction (one per
//! call) is durable, and a crash in the middle of a batch leaves none of it. Incidents of one
//! `create_incidents` call commit together too.
//!
//! All SQLite calls block, so each store call runs on tokio's blocking pool: writes through one
//! connection behind a mutex (SQLite allows one writer at a time anyway), reads through a small
//! pool of read connections that WAL lets run alongside the writer. Several processes may open
//! one store; each waits up to a busy timeout for the write lock, then fails `Unavailable`.
//!
//! The one exception is the version check every export poll makes: a read connection is held
//! for `PRAGMA data_version`, which SQLite changes whenever another connection of any process
//! commits. While it is unchanged the version last read is still the stored one, and the check
//! (a shared-memory read and a lock call, microseconds, never waiting: its busy timeout is
//! zero) runs on the calling thread. Only when it changed — or the check would have to wait —
//! is the version row read, on the blocking pool. A commit that returned before a poll started
//! is therefore always seen by that poll.
//!
//! # Errors
//!
//! A locked database (past the busy timeout), I/O errors and a full disk are
//! `StoreError::Unavailable`; a damaged file or a record that does not decode is `Corrupt`; an
//! API-key id that is not canonical decimal or already used, or a value over SQLite's 1 GB
//! limit, is `Rejected`.

mod error;
mod incidents;
mod indicators;
mod keys;
mod load;
mod records;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use feedgate::Dataset;
use feedgate::store::{DataVersion, StoreError, StoreResult};
use rusqlite::Connection;

use crate::error::SqlResultExt;

pub use schema::SCHEMA_VERSION;

/// The database file's name inside the store directory.
pub const DB_FILE: &str = "feedgate.db";

/// Read connections kept for reuse; more can be open at once, the rest are closed after use.
const MAX_IDLE_READERS: usize = 8;

/// The embedded store: a SQLite database in WAL mode. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// The last loaded set. Every indicator write changes the version in its transaction (in
    /// any process), so a load that finds the same version can hand this out without reading
    /// a row.
    loaded: Mutex<Option<(DataVersion, Dataset)>>,
    /// The version probe (see the crate doc).
    probe: Mutex<Probe>,
}

/// A read connection kept for `PRAGMA data_version`, with the version it last read.
#[derive(Debug)]
struct Probe {
    /// Busy timeout zero: a check that would wait fails instead, and the caller takes the
    /// blocking path.
    conn: Connection,
    /// `(data_version, version)`, the version read after that `data_version`.
    seen: Option<(i64, DataVersion)>,
}

impl EmbeddedStore {
    /// Opens the store in directory `dir`, creating the directory, the database and its schema
    /// when missing (and migrating an older schema). Safe to call from several processes at
    /// once. Fails with `Corrupt` when the file is not a feedgate database or was written by a
    /// newer version, and with `Unavailable` when it cannot be opened.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create store directory {}: {e}",
                dir.display()
            ))
        })?;
        let file = dir.join(DB_FILE);
        let mut writer = schema::connect(&file)?;
        schema::tune_writer(&writer)?;
        schema::migrate(&mut writer)?;
        let probe = schema::connect(&file)?;
        probe.busy_timeout(Duration::ZERO).store()?;
        Ok(Self {
            inner: Arc::new(Inner {
                file,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                loaded: Mutex::new(None),
                probe: Mutex::new(Probe {
                    conn: probe,
                    seen: None,
                }),
            }),
        })
    }

    /// The database file.
    pub fn file(&self) -> &Path {
        &self.inner.file
    }

    /// Runs `f` with the write connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            // A panic while the lock was held rolled its transaction back (Transaction's drop),
            // so the connection is still usable.
            let mut conn = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await
    }

    /// Runs `f` with a read connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let mut conn = inner.take_reader()?;
            let result = f(&mut conn);
            inner.give_back(conn);
            result
        })
        .await
    }
}

impl Inner {
    /// The version last read, if no connection has committed since: one `PRAGMA
    /// data_version` on the probe connection, on the calling thread. `None` means "read it".
    fn unchanged_version(&self) -> Option<DataVersion> {
        let probe = self.probe.lock().unwrap_or_else(PoisonError::into_inner);
        let (seen, version) = probe.seen?;
        let now = data_version(&probe.conn).ok()?;
        (now == seen).then_some(version)
    }

    /// Reads the version row (blocking): on the probe connection, remembering it with the
    /// `data_version` taken before it; through a pooled reader, which may wait for locks,
    /// when the probe would have to wait.
    fn read_version(&self) -> StoreResult<DataVersion> {
        let mut probe = self.probe.lock().unwrap_or_else(PoisonError::into_inner);
        let probed = data_version(&probe.conn)
            .store()
            .and_then(|seen| Ok((seen, indicators::read_version(&probe.conn)?)));
        if let Ok((seen, version)) = probed {
            probe.seen = Some((seen, version));
            return Ok(version);
        }
        probe.seen = None;
        drop(probe);
        let conn = self.take_reader()?;
        let result = indicators::read_version(&conn);
        self.give_back(conn);
        result
    }

    fn take_reader(&self) -> StoreResult<Connection> {
        let idle = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => schema::connect(&self.file),
        }
    }

    fn give_back(&self, conn: Connection) {
        // A reader is only returned between transactions; an open one would pin an old
        // snapshot and keep the WAL from being checkpointed.
        if !conn.is_autocommit() {
            return;
        }
        let mut idle = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}

/// SQLite's count of commits by other connections, as seen by `conn`.
fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA data_version")?
        .query_row([], |row| row.get(0))
}

/// Moves blocking SQLite work off the async threads.
async fn run_blocking<T, F>(f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
}
