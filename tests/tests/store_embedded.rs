//! The store contract suite against the embedded (SQLite) adapter.

use std::sync::Arc;

use feedgate_store_embedded::EmbeddedStore;
use feedgate_tests::store_contract;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_store_passes_the_contract_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    store_contract::run_all(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_store_passes_the_suite_twice_and_after_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    store_contract::run_all(Arc::clone(&store)).await;
    drop(store);
    let reopened = Arc::new(EmbeddedStore::open(dir.path()).expect("reopen"));
    store_contract::run_all(reopened).await;
}
