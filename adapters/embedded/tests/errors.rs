//! What the store reports when the file is not what it expects.

use feedgate::store::{IndicatorStore, StoreError};
use feedgate::{Indicator, IndicatorType};
use feedgate_store_embedded::{DB_FILE, EmbeddedStore, SCHEMA_VERSION};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

#[test]
fn a_file_that_is_not_a_database_is_corrupt() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(DB_FILE), vec![b'x'; 8192]).expect("write junk");
    let result = EmbeddedStore::open(dir.path());
    assert!(
        matches!(result, Err(StoreError::Corrupt { .. })),
        "{result:?}"
    );
}

#[test]
fn a_schema_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(EmbeddedStore::open(dir.path()).expect("create"));
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("sqlite");
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .expect("bump schema");
    drop(conn);
    let result = EmbeddedStore::open(dir.path());
    assert!(
        matches!(result, Err(StoreError::Corrupt { .. })),
        "{result:?}"
    );
}

#[test]
fn damaged_fields_are_reported_as_corrupt_not_panics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let rt = runtime();
    let mut fields = serde_json::Map::new();
    fields.insert("tags".into(), serde_json::json!(["a", "b"]));
    rt.block_on(store.upsert(vec![Indicator::with_fields(
        "1.2.3.4",
        IndicatorType::Ip,
        fields,
        None,
    )]))
    .expect("upsert");
    let conn = rusqlite::Connection::open(store.file()).expect("sqlite");
    conn.execute("UPDATE indicators SET fields = x'01ff'", [])
        .expect("damage the row");
    drop(conn);

    let got = rt.block_on(store.get("1.2.3.4"));
    assert!(
        matches!(&got, Err(StoreError::Corrupt { key, .. }) if key == "1.2.3.4"),
        "{got:?}"
    );
    let loaded = rt.block_on(store.load());
    assert!(
        matches!(loaded, Err(StoreError::Corrupt { .. })),
        "{loaded:?}"
    );
}

#[test]
fn opening_creates_missing_directories() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("a").join("b");
    let store = EmbeddedStore::open(&nested).expect("open");
    assert_eq!(store.file(), nested.join(DB_FILE));
    assert!(store.file().exists());
}
