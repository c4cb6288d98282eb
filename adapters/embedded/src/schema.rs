//! Connection settings and schema migrations (tracked in SQLite's `user_version`).

use std::path::Path;
use std::time::Duration;

use feedgate::instant::Instant;
use feedgate::store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{SqlResultExt, corrupt};

/// The schema version this build writes. Older databases are migrated on open; newer ones
/// are refused, since this build cannot know what a newer writer stores.
pub const SCHEMA_VERSION: i64 = 2;

/// How long a call waits for another connection or process to release the write lock before
/// the call fails as `Unavailable`. An import batch commits in well under this.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Each migration takes the schema from its index to the next version: `MIGRATIONS[0]` creates
/// version 1, `MIGRATIONS[1]` takes 1 to 2, and so on. Never edit a released one; append.
const MIGRATIONS: [&str; 2] = [
    r"
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
-- seq is the rowid: new rows get max(seq)+1, so first-insert order is export order, and an
-- upsert that updates keeps the row (and its position).
CREATE TABLE indicators (
    seq    INTEGER PRIMARY KEY,
    value  TEXT NOT NULL UNIQUE,
    type   TEXT NOT NULL,
    fields BLOB,
    custom BLOB
);
CREATE TABLE incidents (
    seq      INTEGER PRIMARY KEY,
    instance TEXT NOT NULL,
    dedup_id TEXT,
    body     BLOB NOT NULL,
    UNIQUE (instance, dedup_id)
);
CREATE INDEX incidents_by_instance ON incidents (instance, seq);
CREATE TABLE lists (
    name    TEXT PRIMARY KEY,
    content BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE credentials (
    scope    TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    hash     TEXT NOT NULL
) WITHOUT ROWID;
-- Revoked keys stay as rows: an id is never handed out twice.
CREATE TABLE api_keys (
    id   INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE nonces (
    key_id     TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_by_expiry ON nonces (expires_at);
CREATE TABLE instances (
    name TEXT PRIMARY KEY,
    body BLOB NOT NULL
) WITHOUT ROWID;
",
    // 2: webhook sample buffers (integrations.md §5.6). seq is the rowid, so append order; an
    // append trims its instance to the newest SAMPLE_LIMIT rows in the same transaction, and
    // never deletes the newest row, so seq keeps growing.
    r"
CREATE TABLE samples (
    seq      INTEGER PRIMARY KEY,
    instance TEXT NOT NULL,
    body     BLOB NOT NULL
);
CREATE INDEX samples_by_instance ON samples (instance, seq);
",
];

/// `meta` row names.
pub(crate) const DATA_VERSION: &str = "data_version";
pub(crate) const DATA_MODIFIED: &str = "data_modified_ns";
pub(crate) const KEY_COUNTER: &str = "key_counter";

/// Opens one connection with the settings every connection needs.
pub(crate) fn connect(file: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", file.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT).store()?;
    // WAL is a property of the file (set once, kept); synchronous is per connection (FULL: see
    // the crate doc).
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .store()?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!(
            "{} cannot use WAL mode (got {mode}); is it on a network file system?",
            file.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL").store()?;
    // Reads map the database file instead of copying every page into the page cache: the
    // whole-set load reads all of it. WAL pages are still read from the WAL.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES).store()?;
    Ok(conn)
}

/// How much of the database file a connection maps (SQLite's `mmap_size`).
const MMAP_BYTES: i64 = 1 << 30;

/// Settings for the one write connection: its page cache holds the value index, which every
/// imported value updates at a random place.
pub(crate) fn tune_writer(conn: &Connection) -> StoreResult<()> {
    conn.pragma_update(None, "cache_size", -65_536).store()
}

/// Brings the schema to [`SCHEMA_VERSION`]. Runs in one write transaction, so two processes
/// opening a new store at once do not both create it.
pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Brings the schema to `target` (tests build older stores with it).
fn migrate_to(conn: &mut Connection, target: i64) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .store()?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .store()?;
    if found > SCHEMA_VERSION {
        return Err(corrupt(
            "schema",
            format!("schema version {found} is newer than this build supports ({SCHEMA_VERSION})"),
        ));
    }
    let start = usize::try_from(found).map_err(|_| corrupt("schema", "negative version"))?;
    let end = usize::try_from(target).map_err(|_| corrupt("schema", "negative version"))?;
    for (from, sql) in MIGRATIONS.iter().enumerate().take(end).skip(start) {
        tx.execute_batch(sql).store()?;
        if from == 0 {
            let now = now_nanos();
            tx.execute(
                "INSERT INTO meta (name, value) VALUES (?1, 0), (?2, ?3), (?4, 0)",
                (DATA_VERSION, DATA_MODIFIED, now, KEY_COUNTER),
            )
            .store()?;
        }
    }
    if found < target {
        tx.pragma_update(None, "user_version", target).store()?;
    }
    tx.commit().store()
}

/// Now as nanoseconds since the epoch, as stored in `meta`.
pub(crate) fn now_nanos() -> i64 {
    i64::try_from(Instant::now().unix_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use feedgate::store::{IncidentStore, SAMPLE_LIMIT, StoredIncident};

    use super::*;
    use crate::{DB_FILE, EmbeddedStore};

    fn incident(name: &str) -> StoredIncident {
        StoredIncident {
            id: name.to_owned(),
            instance: "hook".into(),
            name: name.to_owned(),
            kind: None,
            occurred: None,
            created: "2026-01-31T10:00:00.000Z".into(),
            raw_json: serde_json::Map::new(),
            dedup_id: Some(format!("id:{name}")),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_version_1_store_migrates_to_the_sample_table_keeping_its_data() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join(DB_FILE);
        {
            // A store as the build before sample buffers left it, with one incident.
            let mut conn = connect(&file).expect("connect");
            migrate_to(&mut conn, 1).expect("version 1");
            let body = serde_json::to_vec(&incident("old")).expect("json");
            conn.execute(
                "INSERT INTO incidents (instance, dedup_id, body) VALUES ('hook', 'id:old', ?1)",
                [body],
            )
            .expect("incident");
            let tables: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'samples'",
                    [],
                    |r| r.get(0),
                )
                .expect("tables");
            assert_eq!(tables, 0);
        }
        let store = EmbeddedStore::open(dir.path()).expect("open migrates");
        let conn = connect(&file).expect("connect");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(
            store.list_incidents("hook").await.expect("list"),
            [incident("old")]
        );
        // The old dedup marker still holds.
        let again = store
            .create_incidents(vec![incident("old"), incident("new")])
            .await
            .expect("create");
        assert_eq!(again, [false, true]);
        let samples: Vec<StoredIncident> = (0..SAMPLE_LIMIT + 1)
            .map(|n| incident(&format!("s{n}")))
            .collect();
        store
            .append_samples("hook", samples.clone())
            .await
            .expect("append");
        assert_eq!(store.samples("hook").await.expect("read"), samples[1..]);
        drop(store);
        // Opening a current store again changes nothing.
        let store = EmbeddedStore::open(dir.path()).expect("reopen");
        assert_eq!(store.samples("hook").await.expect("read"), samples[1..]);
    }
}
