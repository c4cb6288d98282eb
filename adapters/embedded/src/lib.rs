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
//! The one exception is the version check every export poll makes. Read connections (one per
//! core, so the async worker threads do not queue on one lock) are held as probes: the version
//! last read is still the stored one while SQLite's wal-index header in shared memory is
//! unchanged (one `pread`, no lock; see [`walindex`]) or, failing that, while `PRAGMA
//! data_version` is (a lock call, never waiting: its busy timeout is zero). Both change whenever
//! any connection of any process commits. The check runs on the calling thread; only when the
//! store changed — or the check would have to wait — is the version row read, on the blocking
//! pool. A commit that returned before a poll started is therefore always seen by that poll.
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
mod walindex;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use feedgate::Dataset;
use feedgate::store::{DataVersion, StoreError, StoreResult};
use rusqlite::Connection;

use crate::error::SqlResultExt;
use crate::walindex::WalIndex;

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
    /// The version probes (see the crate doc): one slot per core, opened on first use, so the
    /// async worker threads do not queue on one connection's lock.
    probes: Box<[Mutex<Option<Probe>>]>,
}

/// A read connection kept for the version check (`PRAGMA data_version`, and the wal-index header
/// beside it), with what it last read.
#[derive(Debug)]
struct Probe {
    /// Busy timeout zero: a check that would wait fails instead, and the caller takes the
    /// blocking path.
    conn: Connection,
    /// The database's wal-index, read without locks (see [`walindex`]); opened once the probe
    /// has read through SQLite.
    wal: Option<WalIndex>,
    /// What the last exact read found.
    seen: Option<Seen>,
}

/// The version read through SQLite, with the wal-index header and `data_version` taken before
/// it: while either is unchanged, no connection has committed since, and `version` is current.
#[derive(Debug)]
struct Seen {
    header: Option<walindex::Header>,
    data_version: i64,
    version: DataVersion,
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
        let slots = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_PROBES));
        Ok(Self {
            inner: Arc::new(Inner {
                file,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                loaded: Mutex::new(None),
                probes: (0..slots).map(|_| Mutex::new(None)).collect(),
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
    /// The version last read, if no connection has committed since, on the calling thread:
    /// the wal-index header unchanged (one `pread`), or else `PRAGMA data_version` unchanged.
    /// `Err(slot)` means "read it, with [`Inner::read_version`] on that probe slot".
    ///
    /// The calling thread uses its own slot; when another thread holds it, any free one.
    fn unchanged_version(&self) -> Result<DataVersion, usize> {
        let own = thread_slot() % self.probes.len();
        let (slot, mut probe) = (0..self.probes.len())
            .map(|i| (own + i) % self.probes.len())
            .find_map(|i| Some((i, self.probes[i].try_lock().ok()?)))
            .unwrap_or_else(|| {
                let probe = self.probes[own]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                (own, probe)
            });
        let Some(Probe {
            conn,
            wal,
            seen: Some(seen),
        }) = probe.as_mut()
        else {
            return Err(slot);
        };
        let header = wal.as_ref().and_then(WalIndex::header);
        if header.is_some() && header == seen.header {
            return Ok(seen.version);
        }
        match data_version(conn) {
            Ok(now) if now == seen.data_version => {
                // No commit since `seen`, so none before `header` was read either.
                seen.header = header;
                Ok(seen.version)
            }
            _ => Err(slot),
        }
    }

    /// Reads the version row (blocking): on probe `slot`'s connection (opened if need be),
    /// remembering it with the wal-index header and `data_version` taken before it; through a
    /// pooled reader, which may wait for locks, when the probe would have to wait.
    fn read_version(&self, slot: usize) -> StoreResult<DataVersion> {
        let mut probe = self.probes[slot % self.probes.len()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if probe.is_none() {
            let conn = schema::connect(&self.file)?;
            conn.busy_timeout(Duration::ZERO).store()?;
            *probe = Some(Probe {
                conn,
                wal: None,
                seen: None,
            });
        }
        if let Some(probe) = probe.as_mut() {
            let header = probe.wal.as_ref().and_then(WalIndex::header);
            let probed = data_version(&probe.conn)
                .store()
                .and_then(|seen| Ok((seen, indicators::read_version(&probe.conn)?)));
            if probe.wal.is_none() {
                probe.wal = WalIndex::open(&self.file);
            }
            if let Ok((data_version, version)) = probed {
                probe.seen = Some(Seen {
                    header,
                    data_version,
                    version,
                });
                return Ok(version);
            }
            probe.seen = None;
        }
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

/// Probe slots at most, however many cores.
const MAX_PROBES: usize = 8;

/// A small number fixed for the calling thread: threads started one after another get
/// consecutive numbers, so a runtime's worker threads spread over the probe slots.
fn thread_slot() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    SLOT.with(|slot| *slot)
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
