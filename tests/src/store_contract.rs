//! The one store contract suite: every adapter (DynamoDB, embedded) runs it.
//!
//! Entry point (stable):
//!
//! ```ignore
//! pub async fn run_all<S: feedgate::store::Store + 'static>(store: std::sync::Arc<S>)
//! ```
//!
//! Call it from a multi-threaded tokio test, e.g.
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]`. Every check uses names,
//! values, instances and key ids unique to the run, so one store (fresh or not) can run the
//! whole suite, even twice.

use std::sync::Arc;

use feedgate::store::Store;
use feedgate::{Indicator, IndicatorType};

/// Runs every contract check against `store`, one after another. Panics on the first
/// behaviour the store gets wrong.
pub async fn run_all<S: Store + 'static>(store: Arc<S>) {
    let tag = run_tag();
    upsert_adds_then_updates_in_place(&*store, &tag).await;
}

/// A short tag unique to this run, so checks never see each other's data.
fn run_tag() -> String {
    format!("{:x}", feedgate::instant::Instant::now().unix_nanos())
}

/// Upserting new values appends them in batch order; upserting an existing value replaces it
/// and keeps its position.
pub async fn upsert_adds_then_updates_in_place<S: Store>(store: &S, tag: &str) {
    let a = format!("a.{tag}.example");
    let b = format!("b.{tag}.example");
    let first = store
        .upsert(vec![
            Indicator::new(a.clone(), IndicatorType::Domain),
            Indicator::new(b.clone(), IndicatorType::Domain),
        ])
        .await
        .expect("upsert");
    assert_eq!((first.added, first.updated), (2, 0));
}
