//! The DynamoDB adapter against a real DynamoDB-compatible server (moto, started here):
//! the shared store contract, then what only DynamoDB has: chunked snapshots and lists,
//! optimistic concurrency between separate clients, and a server that stops mid-operation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use feedgate::store::{
    IncidentStore, IndicatorStore, KeyStore, ListStore, StoreError, StoredIncident,
};
use feedgate::{Indicator, IndicatorType};
use feedgate_store_dynamo::{ClientSettings, DynamoStore};
use feedgate_tests::moto::{self, Moto};
use serde_json::{Map, Value, json};

/// A table name unique to this test run.
fn table_name(test: &str) -> String {
    format!(
        "t-{test}-{:x}",
        feedgate::instant::Instant::now().unix_nanos()
    )
}

/// A store on a fresh table of `moto`, through its own client.
async fn fresh_store(moto: &Moto, test: &str) -> DynamoStore {
    let store = DynamoStore::new(
        &ClientSettings::local(moto.endpoint()).client(),
        table_name(test),
    );
    store.create_table_if_missing().await.expect("create table");
    store
}

/// Another store value on the same table: its own client, caches and writer state, as
/// another process or Lambda would have.
fn another_client(moto: &Moto, of: &DynamoStore) -> DynamoStore {
    DynamoStore::new(&ClientSettings::local(moto.endpoint()).client(), of.table())
}

fn with_score(value: &str, score: i64) -> Indicator {
    let mut fields = Map::new();
    fields.insert("score".into(), Value::from(score));
    Indicator::with_fields(value, IndicatorType::Domain, fields, None)
}

fn incident(id: &str, dedup_id: Option<&str>) -> StoredIncident {
    StoredIncident {
        id: id.into(),
        instance: "hook".into(),
        name: "incident".into(),
        kind: None,
        occurred: None,
        created: "2026-01-01T00:00:00.000Z".into(),
        raw_json: Map::new(),
        dedup_id: dedup_id.map(str::to_owned),
    }
}

fn values(store_set: &feedgate::Dataset) -> Vec<&str> {
    store_set
        .indicators()
        .iter()
        .map(Indicator::value)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_the_store_contract() {
    let store = fresh_store(moto::shared(), "contract").await;
    feedgate_tests::store_contract::run_all(Arc::new(store.clone())).await;
    // The contract promises it can run twice on one store.
    feedgate_tests::store_contract::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creating_the_table_twice_is_harmless() {
    let store = fresh_store(moto::shared(), "twice").await;
    assert!(
        !store
            .create_table_if_missing()
            .await
            .expect("second create")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keeps_a_big_set_in_many_chunks_and_edits_only_in_place() {
    let moto = moto::shared();
    let store = fresh_store(moto, "chunks").await;
    let sample = feedgate::sample::indicators(150_000);
    for batch in sample.chunks(50_000) {
        let s = store.upsert(batch.to_vec()).await.expect("upsert");
        assert_eq!((s.added, s.updated), (batch.len() as u64, 0));
    }
    let stats = store.snapshot_stats().await.expect("stats");
    assert_eq!(stats.indicators, 150_000);
    assert!(stats.chunks > 3, "expected several chunks, got {stats:?}");

    // A cold client reads the same set, in insertion order.
    let cold = another_client(moto, &store);
    let loaded = cold.load().await.expect("load");
    assert_eq!(loaded.indicators(), &sample[..]);

    // Update one value deep inside, delete another, append a new one.
    let middle = sample[75_000].value().to_owned();
    let gone = sample[10].value().to_owned();
    let s = store
        .upsert(vec![with_score(&middle, 99), with_score("new.example", 1)])
        .await
        .expect("edit");
    assert_eq!((s.added, s.updated), (1, 1));
    assert_eq!(
        store
            .delete(vec![gone.clone(), "absent".into()])
            .await
            .expect("delete"),
        1
    );

    let after = cold.load().await.expect("reload");
    assert_eq!(after.indicators().len(), 150_000);
    assert_eq!(after.indicators()[74_999].value(), middle, "position kept");
    assert_eq!(after.indicators()[74_999].field("score"), Some(&json!(99)));
    assert_eq!(
        after.indicators().last().map(Indicator::value),
        Some("new.example")
    );
    assert!(!values(&after).contains(&gone.as_str()));
    assert_eq!(
        cold.get(&middle).await.expect("get"),
        Some(with_score(&middle, 99))
    );
    let edited = store.snapshot_stats().await.expect("stats");
    assert_eq!(edited.version, stats.version + 2);
    assert!(edited.chunks <= stats.chunks + 2, "{edited:?} vs {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_separate_clients_lose_no_update() {
    let moto = moto::shared();
    let store = fresh_store(moto, "writers").await;
    let writers = 4;
    let batches = 5;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let client = another_client(moto, &store);
        tasks.push(tokio::spawn(async move {
            for b in 0..batches {
                let batch = (0..20)
                    .map(|i| with_score(&format!("w{w}.b{b}.i{i}.example"), 1))
                    .chain([with_score("shared.example", w)])
                    .collect();
                client.upsert(batch).await.expect("concurrent upsert");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let set = store.load().await.expect("load");
    let vals = values(&set);
    assert_eq!(set.indicators().len(), writers as usize * batches * 20 + 1);
    assert_eq!(vals.iter().filter(|v| **v == "shared.example").count(), 1);
    // Each writer's values appear in the order it wrote them.
    for w in 0..writers {
        let mine: Vec<&&str> = vals
            .iter()
            .filter(|v| v.starts_with(&format!("w{w}.")))
            .collect();
        let expected: Vec<String> = (0..batches)
            .flat_map(|b| (0..20).map(move |i| format!("w{w}.b{b}.i{i}.example")))
            .collect();
        assert_eq!(mine.len(), expected.len());
        assert!(mine.iter().zip(&expected).all(|(a, b)| **a == b.as_str()));
    }
    assert_eq!(
        store.snapshot_stats().await.expect("stats").version,
        (writers as u64) * 5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_dedup_id_creates_one_incident_across_concurrent_clients() {
    let moto = moto::shared();
    let store = fresh_store(moto, "dedup").await;
    let mut tasks = Vec::new();
    for n in 0..6 {
        let client = another_client(moto, &store);
        tasks.push(tokio::spawn(async move {
            let one = incident(&format!("id-{n}"), Some("x:1"));
            client.create_incidents(vec![one]).await.expect("create")
        }));
    }
    let mut created = 0;
    for t in tasks {
        created += t.await.expect("task").iter().filter(|c| **c).count();
    }
    assert_eq!(created, 1);
    assert_eq!(store.list_incidents("hook").await.expect("list").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stores_lists_and_incidents_bigger_than_an_item() {
    let store = fresh_store(moto::shared(), "big").await;
    let big: Bytes = (0..4 * 1024 * 1024)
        .map(|i| b"abcdefghij\n"[i % 11])
        .collect::<Vec<u8>>()
        .into();
    store.put_list("big", big.clone()).await.expect("put 4 MiB");
    assert_eq!(store.get_list("big").await.expect("get"), Some(big.clone()));
    store
        .put_list("big", Bytes::from_static(b"small"))
        .await
        .expect("replace");
    assert_eq!(
        store.get_list("big").await.expect("get"),
        Some(Bytes::from_static(b"small"))
    );
    let too_big = Bytes::from(vec![b'x'; feedgate_store_dynamo::MAX_LIST_BYTES + 1]);
    assert!(matches!(
        store.put_list("huge", too_big).await,
        Err(StoreError::Rejected(_))
    ));

    let mut raw = Map::new();
    let blob: String = (0..2_000_000)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    raw.insert("blob".into(), Value::String(blob));
    let incident = StoredIncident {
        id: "big-1".into(),
        instance: "hook".into(),
        name: "big".into(),
        kind: Some("t".into()),
        occurred: None,
        created: "2026-01-01T00:00:00.000Z".into(),
        raw_json: raw,
        dedup_id: None,
    };
    let small = StoredIncident {
        id: "small-2".into(),
        raw_json: Map::new(),
        ..incident.clone()
    };
    let created = store
        .create_incidents(vec![incident.clone(), small.clone()])
        .await
        .expect("create");
    assert_eq!(created, [true, true]);
    assert_eq!(
        store.list_incidents("hook").await.expect("list"),
        [incident, small]
    );
}

/// Short timeouts so a frozen server fails calls in seconds.
fn impatient(moto: &Moto, table: &str) -> DynamoStore {
    let settings = ClientSettings {
        connect_timeout: Duration::from_millis(500),
        attempt_timeout: Duration::from_secs(2),
        operation_timeout: Duration::from_secs(5),
        max_attempts: 2,
        ..ClientSettings::local(moto.endpoint())
    };
    DynamoStore::new(&settings.client(), table)
}

fn batch(prefix: &str, n: usize) -> Vec<Indicator> {
    (0..n)
        .map(|i| with_score(&format!("{prefix}{i}.example"), 2))
        .collect()
}

fn assert_unavailable<T: std::fmt::Debug>(what: &str, r: Result<T, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::Unavailable(_))),
        "{what}: expected Unavailable, got {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_stopped_mid_write_fails_with_unavailable_and_loses_nothing_acknowledged() {
    let moto = Moto::start();
    let setup = fresh_store(&moto, "pause").await;
    let store = impatient(&moto, setup.table());
    let a = batch("a", 20_000);
    store.upsert(a.clone()).await.expect("first batch while up");

    let b = batch("b", 60_000);
    let writer = store.clone();
    let pending_b = tokio::spawn({
        let b = b.clone();
        async move { writer.upsert(b).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    moto.pause();
    let started = Instant::now();
    let c = batch("c", 10);
    let result_c = store.upsert(c.clone()).await;
    let result_b = pending_b.await.expect("task");
    assert_unavailable("upsert while frozen", result_c);
    assert_unavailable("version while frozen", store.version().await);
    assert_unavailable(
        "nonce while frozen",
        store.record_nonce("1", "n", 10, 1).await,
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "failed too slowly"
    );
    if let Err(e) = &result_b {
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    }
    moto.resume();

    // What was acknowledged is there; every batch is there whole or not at all (a request
    // the frozen server had already received may still commit after it thaws).
    let fresh = another_client(&moto, &setup);
    let set = fresh.load().await.expect("load after resume");
    let vals: std::collections::HashSet<&str> = values(&set).into_iter().collect();
    let present = |b: &[Indicator]| b.iter().filter(|i| vals.contains(i.value())).count();
    assert_eq!(present(&a), a.len(), "acknowledged batch lost");
    if result_b.is_ok() {
        assert_eq!(present(&b), b.len(), "acknowledged batch lost");
    }
    assert!([0, b.len()].contains(&present(&b)), "batch b partly stored");
    assert!([0, c.len()].contains(&present(&c)), "batch c partly stored");
    assert_eq!(
        fresh.count().await.expect("count"),
        set.indicators().len() as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_fails_every_port_with_unavailable() {
    let mut moto = Moto::start();
    let setup = fresh_store(&moto, "kill").await;
    let store = impatient(&moto, setup.table());
    store.upsert(batch("k", 10)).await.expect("write while up");
    moto.kill();
    assert_unavailable("upsert", store.upsert(batch("z", 10)).await);
    assert_unavailable("load", store.load().await);
    assert_unavailable(
        "put_list",
        store.put_list("l", Bytes::from_static(b"x")).await,
    );
    assert_unavailable(
        "create_incidents",
        store.create_incidents(vec![incident("k-1", None)]).await,
    );
    assert_unavailable("record_nonce", store.record_nonce("1", "n", 10, 1).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replayed_nonce_is_refused_until_it_expires() {
    let store = fresh_store(moto::shared(), "nonce").await;
    assert!(
        store
            .record_nonce("7", "n-1", 1_600, 1_000)
            .await
            .expect("first")
    );
    assert!(
        !store
            .record_nonce("7", "n-1", 1_700, 1_100)
            .await
            .expect("replay")
    );
    assert!(
        store
            .record_nonce("8", "n-1", 1_700, 1_100)
            .await
            .expect("other key")
    );
    // DynamoDB's TTL deletes late (moto never): the condition itself admits an expired one.
    assert!(
        store
            .record_nonce("7", "n-1", 2_600, 1_601)
            .await
            .expect("after expiry")
    );
    let long = "x".repeat(5_000);
    assert!(
        store
            .record_nonce("7", &long, 1_600, 1_000)
            .await
            .expect("long nonce")
    );
    assert!(
        !store
            .record_nonce("7", &long, 1_600, 1_000)
            .await
            .expect("long replay")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_many_incidents_in_order_across_transactions() {
    let store = fresh_store(moto::shared(), "many").await;
    // 60 with dedup ids (two items each) and 60 without: more than one transaction.
    let batch: Vec<StoredIncident> = (0..120)
        .map(|i| {
            let dedup = (i % 2 == 0).then(|| format!("d:{}", i / 4));
            incident(&format!("i{i:03}"), dedup.as_deref())
        })
        .collect();
    let created = store.create_incidents(batch.clone()).await.expect("create");
    // Ids d:0, d:1, ... each appear twice (i = 4k and 4k+2): the second copy is skipped.
    let expected: Vec<bool> = (0..120).map(|i| i % 4 != 2).collect();
    assert_eq!(created, expected);
    let listed = store.list_incidents("hook").await.expect("list");
    let kept: Vec<&StoredIncident> = batch
        .iter()
        .zip(&expected)
        .filter(|(_, c)| **c)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(listed.iter().collect::<Vec<_>>(), kept);
    // A second request with the same ids creates nothing with a dedup id.
    let again = store.create_incidents(batch).await.expect("again");
    assert_eq!(again.iter().filter(|c| **c).count(), 60);
}
