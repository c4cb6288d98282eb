//! A lock-free look at SQLite's wal-index header, to tell "no commit since" in one `pread`.
//!
//! Every export poll asks whether the store changed. `PRAGMA data_version` answers exactly, but
//! it opens and closes a read transaction: two POSIX lock calls on the database, SQLite's global
//! lock, a `stat` — about a seventh of the CPU of a cached poll on the engine. The answer is
//! already in shared memory: in WAL mode every commit, by any connection of any process, writes
//! a new wal-index header into the `-shm` file before it returns, and no two headers are equal
//! (`iChange` counts transactions, `mxFrame` grows, a WAL restart draws new salts).
//!
//! The header's layout is SQLite's documented file format ("WAL-mode File Format", the
//! wal-index header): 48 bytes, in the machine's byte order, written twice — the second copy
//! first, then the first — so a reader that finds two equal copies read a whole header.
//! Bytes 0..4 are the format version (3007000), byte 12 `isInit`.
//!
//! How it is used (`Inner::unchanged_version`): the slow path reads the header *before* it
//! reads the version row and keeps both; a later check that reads the same header knows no
//! commit happened since, so the kept version is still the stored one. Anything else — the
//! file missing or short, the copies differing (a writer mid-update), another format version,
//! a different header — sends the check to the exact path. A commit that returned before a
//! poll started has written its header before the poll's read, so the poll sees it.
//!
//! The file is opened once, after the probe connection has opened it itself: while the engine
//! holds connections SQLite never removes it (a `-shm` file deleted by hand under running
//! connections breaks SQLite's own readers the same way, which its documentation warns of).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// One copy of the header.
pub(crate) type Header = [u8; HEADER_LEN];

const HEADER_LEN: usize = 48;
/// `WALINDEX_MAX_VERSION`: the only wal-index format SQLite 3.7.0 and later write.
const FORMAT_VERSION: u32 = 3_007_000;
/// Offset of `isInit` in the header.
const IS_INIT: usize = 12;

/// The `-shm` file of a database, opened for reading.
#[derive(Debug)]
pub(crate) struct WalIndex {
    shm: File,
}

impl WalIndex {
    /// Opens `<db>-shm`; `None` if there is none (the database is not in WAL mode, or no
    /// connection has it open).
    pub(crate) fn open(db: &Path) -> Option<Self> {
        let mut name = db.as_os_str().to_owned();
        name.push("-shm");
        File::open(name).ok().map(|shm| Self { shm })
    }

    /// The current header, when it can be trusted: both copies read equal, initialised, in the
    /// format this module knows.
    pub(crate) fn header(&self) -> Option<Header> {
        let mut both = [0u8; 2 * HEADER_LEN];
        self.shm.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER_LEN);
        let header: Header = first.try_into().ok()?;
        let version = u32::from_ne_bytes(first[..4].try_into().ok()?);
        (first == second && header[IS_INIT] != 0 && version == FORMAT_VERSION).then_some(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;

    #[test]
    fn every_commit_of_any_connection_changes_the_header_and_nothing_else_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("t.db");
        let writer = schema::connect(&db).expect("connect");
        writer
            .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .expect("write");
        let other = schema::connect(&db).expect("second connection");
        let index = WalIndex::open(&db).expect("the -shm file exists in WAL mode");

        let before = index.header().expect("a header");
        let _: i64 = other
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("read");
        assert_eq!(index.header(), Some(before), "a read changed the header");

        let mut seen = vec![before];
        for (conn, value) in [(&writer, 2), (&other, 3), (&writer, 4)] {
            conn.execute("INSERT INTO t VALUES (?1)", [value])
                .expect("commit");
            let now = index.header().expect("a header");
            assert!(
                !seen.contains(&now),
                "commit {value} left an earlier header"
            );
            seen.push(now);
        }

        // A checkpoint that restarts the WAL: the next commit still writes a header never seen.
        writer
            .query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))
            .expect("checkpoint");
        writer
            .execute("INSERT INTO t VALUES (5)", [])
            .expect("commit");
        let now = index.header().expect("a header");
        assert!(
            !seen.contains(&now),
            "the commit after a WAL restart left an earlier header"
        );
    }

    #[test]
    fn a_torn_or_foreign_header_is_not_trusted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("t.db");
        let shm = dir.path().join("t.db-shm");
        assert!(WalIndex::open(&db).is_none(), "no -shm file, no index");

        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(&FORMAT_VERSION.to_ne_bytes());
        header[IS_INIT] = 1;
        let write = |first: &[u8], second: &[u8]| {
            std::fs::write(&shm, [first, second].concat()).expect("write shm");
            WalIndex::open(&db).expect("open").header()
        };
        assert_eq!(write(&header, &header), Some(header));

        let mut torn = header;
        torn[20] ^= 1;
        assert_eq!(write(&header, &torn), None, "copies differ");
        let mut uninit = header;
        uninit[IS_INIT] = 0;
        assert_eq!(write(&uninit, &uninit), None, "not initialised");
        let mut other = header;
        other[..4].copy_from_slice(&(FORMAT_VERSION + 1).to_ne_bytes());
        assert_eq!(write(&other, &other), None, "another format");
        assert_eq!(write(&header, &header[..10]), None, "file too short");
    }
}
