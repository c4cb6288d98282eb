//! The one store contract suite: every adapter (DynamoDB, embedded) runs it.
//!
//! Entry point (stable):
//!
//! ```ignore
//! pub async fn run_all<S: feedgate::store::Store + 'static>(store: std::sync::Arc<S>)
//! ```
//!
//! Call it from a multi-threaded tokio test, e.g.
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]`. Every check uses values,
//! list names, instances and key ids unique to the run, and asserts on its own records only
//! (positions relative to each other, counts as differences), so one store — fresh or already
//! used, even by an earlier run of the suite — can run the whole suite. The checks run one
//! after another: the version and count checks assume no other writer touches the store
//! meanwhile.
//!
//! The checks are public so an adapter's test can run one alone while debugging it.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use feedgate::auth::Credential;
use feedgate::instant::Instant;
use feedgate::store::{
    ApiKeyRecord, InstanceKind, InstanceRecord, KeyType, Role, SAMPLE_LIMIT, Store, StoreError,
    StoredIncident,
};
use feedgate::{Indicator, IndicatorType};
use serde_json::{Map, Value, json};

/// Runs every contract check against `store`, one after another. Panics on the first
/// behaviour the store gets wrong.
pub async fn run_all<S: Store + 'static>(store: Arc<S>) {
    let tag = run_tag();
    let s = &*store;
    upsert_adds_then_updates_in_place(s, &tag).await;
    upsert_counts_repeats_within_a_batch_once(s, &tag).await;
    indicators_round_trip_exactly(s, &tag).await;
    version_changes_on_every_write_and_not_on_reads(s, &tag).await;
    load_returns_export_order_and_its_version(s, &tag).await;
    get_count_and_delete_agree(s, &tag).await;
    concurrent_upserts_of_one_value_keep_one_position(Arc::clone(&store), &tag).await;
    incidents_are_listed_in_creation_order(s, &tag).await;
    duplicate_dedup_ids_are_skipped_within_and_across_calls(s, &tag).await;
    dedup_ids_are_per_instance(s, &tag).await;
    concurrent_creates_with_one_dedup_id_create_exactly_one(Arc::clone(&store), &tag).await;
    samples_keep_the_newest_in_order(s, &tag).await;
    big_samples_round_trip_and_are_trimmed(s, &tag).await;
    sample_buffers_are_per_instance(s, &tag).await;
    concurrent_sample_appends_lose_nothing_beyond_the_cap(Arc::clone(&store), &tag).await;
    nonces_are_recorded_once_until_they_expire(s, &tag).await;
    concurrent_nonce_records_accept_exactly_one(Arc::clone(&store), &tag).await;
    key_ids_are_allocated_increasing_and_never_reused(s).await;
    revoked_keys_stay_listed_as_tombstones(s).await;
    credentials_are_set_and_replaced(s, &tag).await;
    lists_are_put_replaced_and_deleted(s, &tag).await;
    lists_of_several_megabytes_round_trip(s, &tag).await;
    instances_are_put_listed_by_name_and_deleted(s, &tag).await;
}

/// A short tag unique to this run, so checks never see each other's data.
fn run_tag() -> String {
    format!("{:x}", Instant::now().unix_nanos())
}

fn domain(name: &str) -> Indicator {
    Indicator::new(name, IndicatorType::Domain)
}

fn with_field(value: &str, key: &str, field: Value) -> Indicator {
    let mut fields = Map::new();
    fields.insert(key.into(), field);
    Indicator::with_fields(value, IndicatorType::Domain, fields, None)
}

/// Values of `dataset` that start with `prefix`, in the order the dataset holds them.
fn values_with_prefix(dataset: &feedgate::Dataset, prefix: &str) -> Vec<String> {
    dataset
        .indicators()
        .iter()
        .filter(|i| i.value().starts_with(prefix))
        .map(|i| i.value().to_owned())
        .collect()
}

/// Upserting new values appends them in batch order; upserting an existing value replaces it
/// and keeps its position.
pub async fn upsert_adds_then_updates_in_place<S: Store>(store: &S, tag: &str) {
    let p = format!("order.{tag}.");
    let (a, b, c) = (format!("{p}a"), format!("{p}b"), format!("{p}c"));
    let first = store
        .upsert(vec![domain(&b), domain(&a)])
        .await
        .expect("first upsert");
    assert_eq!((first.added, first.updated), (2, 0), "two new values");

    let second = store
        .upsert(vec![
            with_field(&c, "n", json!(1)),
            with_field(&b, "n", json!(2)),
        ])
        .await
        .expect("second upsert");
    assert_eq!(
        (second.added, second.updated),
        (1, 1),
        "one new, one replaced"
    );

    let loaded = store.load().await.expect("load");
    assert_eq!(
        values_with_prefix(&loaded, &p),
        [b.clone(), a, c],
        "b keeps first place"
    );
    let updated = store.get(&b).await.expect("get").expect("b stored");
    assert_eq!(updated, with_field(&b, "n", json!(2)), "last write wins");
}

/// A value repeated inside one batch is one indicator: added once, then updated, and the last
/// occurrence wins.
pub async fn upsert_counts_repeats_within_a_batch_once<S: Store>(store: &S, tag: &str) {
    let v = format!("repeat.{tag}.example");
    let summary = store
        .upsert(vec![
            with_field(&v, "n", json!(1)),
            with_field(&v, "n", json!(2)),
        ])
        .await
        .expect("upsert");
    assert_eq!((summary.added, summary.updated), (1, 1));
    let got = store.get(&v).await.expect("get").expect("stored");
    assert_eq!(got.field("n"), Some(&json!(2)));
}

/// Values, types, fields (in order, with nested values, integers and floats) and custom
/// fields come back exactly as stored; nothing is normalised.
pub async fn indicators_round_trip_exactly<S: Store>(store: &S, tag: &str) {
    let records = json!([
        {"value": format!("01.1.1.1 exact {tag}"), "type": "IP"},
        {"value": format!("  ünïcödé\t{tag}/路径?q=1&x=%20"), "type": "URL",
         "fields": {"z": 1, "a": 1.0, "tags": ["x", {"deep": [null, true, -7]}], "empty": {}},
         "custom_fields": {"Score": -1.5e300, "s": ""}},
        {"value": format!("custom-type {tag}"), "type": "my type", "custom_fields": {}},
        {"value": format!("expires {tag}"), "type": "Domain",
         "fields": {"expiration": "2001-01-01T00:00:00Z"}},
    ]);
    let indicators: Vec<Indicator> = serde_json::from_value(records).expect("records");
    store.upsert(indicators.clone()).await.expect("upsert");
    for indicator in &indicators {
        let got = store
            .get(indicator.value())
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("{:?} stored", indicator.value()));
        assert_eq!(&got, indicator);
        assert_eq!(
            serde_json::to_string(&got).expect("json"),
            serde_json::to_string(indicator).expect("json"),
            "same key order and number kinds"
        );
    }
    let loaded = store.load().await.expect("load");
    for indicator in &indicators {
        let found = loaded
            .indicators()
            .iter()
            .find(|i| i.value() == indicator.value());
        assert_eq!(found, Some(indicator), "load decodes like get");
    }
    assert!(
        store
            .get(&format!("absent {tag}"))
            .await
            .expect("get")
            .is_none()
    );
}

/// Every upsert and every delete that removes something moves the version forward (and its
/// modified time never back); reads leave it alone.
pub async fn version_changes_on_every_write_and_not_on_reads<S: Store>(store: &S, tag: &str) {
    let v = format!("version.{tag}.example");
    let start = store.version().await.expect("version");

    store.upsert(vec![domain(&v)]).await.expect("add");
    let added = store.version().await.expect("version");
    assert!(added.version > start.version, "an add moves the version");
    assert!(added.modified >= start.modified);

    store
        .upsert(vec![with_field(&v, "n", json!(1))])
        .await
        .expect("update");
    let updated = store.version().await.expect("version");
    assert!(
        updated.version > added.version,
        "an update moves the version"
    );

    store.get(&v).await.expect("get");
    store.count().await.expect("count");
    let loaded = store.load().await.expect("load");
    assert_eq!(
        store.version().await.expect("version"),
        updated,
        "reads keep it"
    );
    assert_eq!(loaded.version(), updated.version);

    assert_eq!(store.delete(vec![v.clone()]).await.expect("delete"), 1);
    let deleted = store.version().await.expect("version");
    assert!(
        deleted.version > updated.version,
        "a delete moves the version"
    );
    assert!(deleted.modified >= updated.modified);
}

/// `load` returns every indicator in the order values were first stored, with the version
/// and modified time `version` reports.
pub async fn load_returns_export_order_and_its_version<S: Store>(store: &S, tag: &str) {
    let p = format!("load.{tag}.");
    let values: Vec<String> = (0..250).map(|i| format!("{p}{:03}", 249 - i)).collect();
    for chunk in values.chunks(100) {
        store
            .upsert(chunk.iter().map(|v| domain(v)).collect())
            .await
            .expect("upsert");
    }
    // Updating some in between must not move them.
    store
        .upsert(vec![
            with_field(&values[200], "x", json!(1)),
            domain(&values[3]),
        ])
        .await
        .expect("update");
    let version = store.version().await.expect("version");
    let loaded = store.load().await.expect("load");
    assert_eq!(values_with_prefix(&loaded, &p), values);
    assert_eq!(loaded.version(), version.version);
    assert_eq!(loaded.modified(), version.modified);
    let all: HashSet<&str> = loaded.indicators().iter().map(Indicator::value).collect();
    assert_eq!(all.len(), loaded.indicators().len(), "no value twice");
    assert_eq!(
        loaded.indicators().len() as u64,
        store.count().await.expect("count")
    );
}

/// `count` follows adds and deletes; `delete` reports how many of the given values existed
/// and a deleted value is gone from `get` and `load`; a value stored again after a delete is
/// new and goes to the end.
pub async fn get_count_and_delete_agree<S: Store>(store: &S, tag: &str) {
    let p = format!("delete.{tag}.");
    let (a, b, c) = (format!("{p}a"), format!("{p}b"), format!("{p}c"));
    let before = store.count().await.expect("count");
    store
        .upsert(vec![domain(&a), domain(&b), domain(&c)])
        .await
        .expect("upsert");
    assert_eq!(store.count().await.expect("count"), before + 3);

    let gone = store
        .delete(vec![a.clone(), format!("{p}never"), c.clone()])
        .await
        .expect("delete");
    assert_eq!(gone, 2, "only existing values count");
    assert_eq!(store.count().await.expect("count"), before + 1);
    assert!(store.get(&a).await.expect("get").is_none());
    assert!(store.get(&b).await.expect("get").is_some());

    let summary = store.upsert(vec![domain(&a)]).await.expect("re-add");
    assert_eq!((summary.added, summary.updated), (1, 0));
    let loaded = store.load().await.expect("load");
    assert_eq!(values_with_prefix(&loaded, &p), [b, a]);
}

/// Several tasks upserting the same new value at once store it once, at one position, and
/// one of the written versions wins whole.
pub async fn concurrent_upserts_of_one_value_keep_one_position<S: Store + 'static>(
    store: Arc<S>,
    tag: &str,
) {
    let p = format!("race.{tag}.");
    let (first, contested, last) = (format!("{p}0"), format!("{p}1"), format!("{p}2"));
    store.upsert(vec![domain(&first)]).await.expect("upsert");
    let before = store.count().await.expect("count");
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = Arc::clone(&store);
            let value = contested.clone();
            tokio::spawn(async move {
                let mut fields = Map::new();
                fields.insert("writer".into(), json!(n));
                fields.insert("same".into(), json!(n));
                let indicator = Indicator::with_fields(value, IndicatorType::Url, fields, None);
                store.upsert(vec![indicator]).await.expect("upsert")
            })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        let summary = task.await.expect("task");
        added += summary.added;
        assert_eq!(summary.added + summary.updated, 1);
    }
    assert_eq!(added, 1, "exactly one writer added the value");
    assert_eq!(store.count().await.expect("count"), before + 1);
    store.upsert(vec![domain(&last)]).await.expect("upsert");

    let loaded = store.load().await.expect("load");
    assert_eq!(
        values_with_prefix(&loaded, &p),
        [first, contested.clone(), last]
    );
    let winner = store.get(&contested).await.expect("get").expect("stored");
    let writer = winner
        .field("writer")
        .and_then(Value::as_u64)
        .expect("writer");
    assert!(writer < 8);
    assert_eq!(
        winner.field("same"),
        Some(&json!(writer)),
        "one write wins whole"
    );
}

fn incident(instance: &str, name: &str, dedup: Option<&str>) -> StoredIncident {
    let mut raw = Map::new();
    raw.insert("name".into(), json!(name));
    raw.insert("nested".into(), json!({"b": [1, 2.5], "a": null}));
    StoredIncident {
        id: format!("{instance}-{name}"),
        instance: instance.to_owned(),
        name: name.to_owned(),
        kind: Some("Phishing".into()),
        occurred: Some("not validated".into()),
        created: "2026-01-31T10:00:00.000Z".into(),
        raw_json: raw,
        dedup_id: dedup.map(str::to_owned),
    }
}

/// Incidents come back exactly as stored, per instance, in creation order across calls.
pub async fn incidents_are_listed_in_creation_order<S: Store>(store: &S, tag: &str) {
    let instance = format!("hook-{tag}");
    let other = format!("hook-{tag}-other");
    let first = vec![incident(&instance, "b", None), incident(&other, "x", None)];
    assert_eq!(
        store.create_incidents(first.clone()).await.expect("create"),
        [true, true]
    );
    let mut second = incident(&instance, "a", None);
    second.kind = None;
    second.occurred = None;
    assert_eq!(
        store
            .create_incidents(vec![second.clone()])
            .await
            .expect("create"),
        [true]
    );
    let listed = store.list_incidents(&instance).await.expect("list");
    assert_eq!(listed, [first[0].clone(), second]);
    assert_eq!(
        store.list_incidents(&other).await.expect("list"),
        [first[1].clone()]
    );
    assert!(
        store
            .list_incidents(&format!("hook-{tag}-none"))
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .create_incidents(Vec::new())
            .await
            .expect("empty")
            .is_empty()
    );
}

/// A dedup id already stored for the instance — earlier in the same call or in an earlier
/// call — is skipped (`false`); incidents without one are never skipped.
pub async fn duplicate_dedup_ids_are_skipped_within_and_across_calls<S: Store>(
    store: &S,
    tag: &str,
) {
    let instance = format!("dedup-{tag}");
    let created = store
        .create_incidents(vec![
            incident(&instance, "1", Some("id:1")),
            incident(&instance, "2", Some("id:1")),
            incident(&instance, "3", None),
            incident(&instance, "4", None),
            incident(&instance, "5", Some("id:2")),
        ])
        .await
        .expect("create");
    assert_eq!(created, [true, false, true, true, true]);
    let again = store
        .create_incidents(vec![
            incident(&instance, "6", Some("id:2")),
            incident(&instance, "7", Some("id:3")),
        ])
        .await
        .expect("create");
    assert_eq!(again, [false, true]);
    let names: Vec<String> = store
        .list_incidents(&instance)
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["1", "3", "4", "5", "7"]);
}

/// The same dedup id in two instances is two incidents.
pub async fn dedup_ids_are_per_instance<S: Store>(store: &S, tag: &str) {
    let (a, b) = (format!("per-{tag}-a"), format!("per-{tag}-b"));
    let created = store
        .create_incidents(vec![
            incident(&a, "1", Some("id:1")),
            incident(&b, "1", Some("id:1")),
        ])
        .await
        .expect("create");
    assert_eq!(created, [true, true]);
    assert_eq!(store.list_incidents(&a).await.expect("list").len(), 1);
    assert_eq!(store.list_incidents(&b).await.expect("list").len(), 1);
}

/// Many deliveries of one deduplicated event at once create exactly one incident.
pub async fn concurrent_creates_with_one_dedup_id_create_exactly_one<S: Store + 'static>(
    store: Arc<S>,
    tag: &str,
) {
    let instance = format!("race-{tag}");
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = Arc::clone(&store);
            let one = incident(&instance, &n.to_string(), Some("id:same"));
            tokio::spawn(async move { store.create_incidents(vec![one]).await.expect("create") })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        created += task.await.expect("task").iter().filter(|c| **c).count();
    }
    assert_eq!(created, 1);
    assert_eq!(
        store.list_incidents(&instance).await.expect("list").len(),
        1
    );
}

/// Names of `incidents`, in order.
fn names(incidents: &[StoredIncident]) -> Vec<String> {
    incidents.iter().map(|i| i.name.clone()).collect()
}

/// An instance's sample buffer holds the newest [`SAMPLE_LIMIT`] appended incidents, oldest
/// first, exactly as appended; a call with more than the limit keeps its newest ones; an empty
/// call changes nothing.
pub async fn samples_keep_the_newest_in_order<S: Store>(store: &S, tag: &str) {
    let instance = format!("samples-{tag}");
    assert!(store.samples(&instance).await.expect("empty").is_empty());
    let sample = |n: usize| incident(&instance, &format!("s{n:03}"), None);
    let first: Vec<StoredIncident> = (0..3).map(sample).collect();
    store
        .append_samples(&instance, first.clone())
        .await
        .expect("append");
    assert_eq!(store.samples(&instance).await.expect("read"), first);

    let mut appended = first;
    for n in 3..SAMPLE_LIMIT + 5 {
        store
            .append_samples(&instance, vec![sample(n)])
            .await
            .expect("append");
        appended.push(sample(n));
    }
    let newest = appended[appended.len() - SAMPLE_LIMIT..].to_vec();
    assert_eq!(store.samples(&instance).await.expect("read"), newest);

    store
        .append_samples(&instance, Vec::new())
        .await
        .expect("empty append");
    assert_eq!(store.samples(&instance).await.expect("read"), newest);

    let long: Vec<StoredIncident> = (100..100 + SAMPLE_LIMIT + 3).map(sample).collect();
    store
        .append_samples(&instance, long.clone())
        .await
        .expect("long append");
    assert_eq!(
        store.samples(&instance).await.expect("read"),
        long[3..].to_vec()
    );
}

/// A sample far bigger than a DynamoDB item (and hardly compressible) comes back whole, and
/// is trimmed like any other.
pub async fn big_samples_round_trip_and_are_trimmed<S: Store>(store: &S, tag: &str) {
    let instance = format!("samples-big-{tag}");
    let mut big = incident(&instance, "big", None);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: String = (0..900_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"0123456789abcdef"[(x % 16) as usize])
        })
        .collect();
    big.raw_json.insert("noise".into(), json!(noise));
    let small = incident(&instance, "small", None);
    store
        .append_samples(&instance, vec![small.clone(), big.clone()])
        .await
        .expect("append big");
    assert_eq!(
        store.samples(&instance).await.expect("read"),
        [small, big.clone()]
    );
    let later: Vec<StoredIncident> = (0..SAMPLE_LIMIT)
        .map(|n| incident(&instance, &format!("later{n:02}"), None))
        .collect();
    for chunk in later.chunks(7) {
        store
            .append_samples(&instance, chunk.to_vec())
            .await
            .expect("append");
    }
    assert_eq!(store.samples(&instance).await.expect("read"), later);
}

/// Each instance has its own buffer: appends to one never show in, or trim, another.
pub async fn sample_buffers_are_per_instance<S: Store>(store: &S, tag: &str) {
    let (a, b) = (format!("samples-{tag}-a"), format!("samples-{tag}-b"));
    let one = |instance: &str, name: &str| vec![incident(instance, name, None)];
    store.append_samples(&a, one(&a, "a1")).await.expect("a1");
    store.append_samples(&b, one(&b, "b1")).await.expect("b1");
    store.append_samples(&a, one(&a, "a2")).await.expect("a2");
    assert_eq!(names(&store.samples(&a).await.expect("a")), ["a1", "a2"]);
    assert_eq!(names(&store.samples(&b).await.expect("b")), ["b1"]);
    for n in 0..SAMPLE_LIMIT {
        store
            .append_samples(&a, one(&a, &format!("a-more{n}")))
            .await
            .expect("more");
    }
    assert_eq!(names(&store.samples(&b).await.expect("b")), ["b1"]);
    assert!(
        store
            .samples(&format!("samples-{tag}-none"))
            .await
            .expect("none")
            .is_empty()
    );
    // Samples are not incidents: the incident list of the instance is untouched.
    assert!(store.list_incidents(&a).await.expect("list").is_empty());
}

/// One append as a task saw it: what it appended and when the call ran.
struct TimedAppend {
    task: usize,
    name: String,
    start: std::time::Instant,
    end: std::time::Instant,
}

/// `tasks` tasks each append `per_task` single samples one after another, all at once.
async fn append_concurrently<S: Store + 'static>(
    store: &Arc<S>,
    instance: &str,
    tasks: usize,
    per_task: usize,
) -> Vec<TimedAppend> {
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let store = Arc::clone(store);
            let instance = instance.to_owned();
            tokio::spawn(async move {
                let mut done = Vec::new();
                for n in 0..per_task {
                    let name = format!("t{task:02}-{n}");
                    let start = std::time::Instant::now();
                    store
                        .append_samples(&instance, vec![incident(&instance, &name, None)])
                        .await
                        .expect("append");
                    let end = std::time::Instant::now();
                    done.push(TimedAppend {
                        task,
                        name,
                        start,
                        end,
                    });
                }
                done
            })
        })
        .collect();
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.expect("task"));
    }
    all
}

/// Concurrent appends (tasks sharing one store, as one process's requests do) lose nothing
/// but what the cap drops: as many as the cap all stay; beyond it exactly the newest
/// [`SAMPLE_LIMIT`] stay, each once, every task's in its order, and nothing kept is older
/// than something dropped (in real time: no dropped append started after a kept one ended).
pub async fn concurrent_sample_appends_lose_nothing_beyond_the_cap<S: Store + 'static>(
    store: Arc<S>,
    tag: &str,
) {
    assert_eq!(
        SAMPLE_LIMIT % 5,
        0,
        "the first round fills the buffer exactly"
    );
    let full = format!("samples-race-{tag}-full");
    let appended = append_concurrently(&store, &full, 5, SAMPLE_LIMIT / 5).await;
    let kept = names(&store.samples(&full).await.expect("read"));
    let mut expected: Vec<String> = appended.iter().map(|a| a.name.clone()).collect();
    let mut sorted = kept.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "appends up to the cap are all kept");

    let over = format!("samples-race-{tag}-over");
    let (tasks, per_task) = (10, 3);
    assert!(tasks * per_task > SAMPLE_LIMIT);
    let appended = append_concurrently(&store, &over, tasks, per_task).await;
    let kept = names(&store.samples(&over).await.expect("read"));
    assert_eq!(kept.len(), SAMPLE_LIMIT, "{kept:?}");
    assert_eq!(
        kept.iter().collect::<HashSet<_>>().len(),
        SAMPLE_LIMIT,
        "no duplicates: {kept:?}"
    );
    let position = |name: &str| kept.iter().position(|k| k == name);
    for task in 0..tasks {
        // A task's appends are sequential: what stays of them is a suffix, in order.
        let mine: Vec<&TimedAppend> = appended.iter().filter(|a| a.task == task).collect();
        let positions: Vec<Option<usize>> = mine.iter().map(|a| position(&a.name)).collect();
        let first_kept = positions
            .iter()
            .position(Option::is_some)
            .unwrap_or(per_task);
        assert!(
            positions[first_kept..].iter().all(Option::is_some),
            "task {task}: a later append was dropped but an earlier kept: {kept:?}"
        );
        let kept_positions: Vec<usize> = positions.iter().flatten().copied().collect();
        assert!(
            kept_positions.windows(2).all(|w| w[0] < w[1]),
            "task {task} out of order: {kept:?}"
        );
    }
    for k in appended.iter().filter(|a| position(&a.name).is_some()) {
        for d in appended.iter().filter(|a| position(&a.name).is_none()) {
            assert!(
                d.start <= k.end,
                "{} was dropped though it started after {} (kept) ended",
                d.name,
                k.name
            );
        }
        for later in appended.iter().filter(|a| a.start > k.end) {
            if let (Some(pk), Some(pl)) = (position(&k.name), position(&later.name)) {
                assert!(pk < pl, "{} listed after {}", k.name, later.name);
            }
        }
    }
}

/// A nonce is accepted once per key while its record lives (up to and including
/// `expires_at`), independently per key, and again once the record has expired.
pub async fn nonces_are_recorded_once_until_they_expire<S: Store>(store: &S, tag: &str) {
    let (key, other) = (format!("k{tag}"), format!("k{tag}x"));
    let now = 1_800_000_000;
    assert!(
        store
            .record_nonce(&key, "n1", now + 300, now)
            .await
            .expect("first")
    );
    assert!(
        !store
            .record_nonce(&key, "n1", now + 300, now)
            .await
            .expect("replay")
    );
    assert!(
        !store
            .record_nonce(&key, "n1", now + 600, now + 300)
            .await
            .expect("replay at expiry")
    );
    assert!(
        store
            .record_nonce(&other, "n1", now + 300, now)
            .await
            .expect("other key")
    );
    assert!(
        store
            .record_nonce(&key, "n2", now + 300, now)
            .await
            .expect("other nonce")
    );
    assert!(
        store
            .record_nonce(&key, "n1", now + 900, now + 301)
            .await
            .expect("after expiry")
    );
    assert!(
        !store
            .record_nonce(&key, "n1", now + 900, now + 302)
            .await
            .expect("renewed record is live")
    );
}

/// Many requests replaying one nonce at once: exactly one is accepted.
pub async fn concurrent_nonce_records_accept_exactly_one<S: Store + 'static>(
    store: Arc<S>,
    tag: &str,
) {
    let key = format!("race{tag}");
    let now = 1_800_000_000;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let key = key.clone();
            tokio::spawn(async move {
                store
                    .record_nonce(&key, "same", now + 300, now)
                    .await
                    .expect("nonce")
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.expect("task"));
    }
    assert_eq!(accepted, 1);
}

fn key_record(id: &str, comment: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.to_owned(),
        kind: KeyType::Advanced,
        role: Role::Read,
        created_at: "2026-01-31T10:00:00.000Z".into(),
        created_by: "contract".into(),
        expires_at: Some("2027-01-31T10:00:00.000Z".into()),
        revoked: false,
        revoked_at: None,
        comment: comment.to_owned(),
    }
}

fn id_number(record: &ApiKeyRecord) -> u64 {
    record.id.parse().expect("canonical decimal id")
}

/// Empty ids are allocated increasing canonical decimal ids; an explicit id is refused when
/// it was ever used; allocation skips explicitly created ids.
pub async fn key_ids_are_allocated_increasing_and_never_reused<S: Store>(store: &S) {
    let first = store.create_key(key_record("", "a")).await.expect("create");
    let second = store.create_key(key_record("", "b")).await.expect("create");
    let (a, b) = (id_number(&first), id_number(&second));
    assert!(b > a, "{b} after {a}");
    assert_eq!(first.id, a.to_string(), "canonical decimal");
    assert_eq!(first.comment, "a");
    assert_eq!(
        store.key(&first.id).await.expect("key"),
        Some(first.clone())
    );

    let refused = store.create_key(key_record(&first.id, "again")).await;
    assert!(
        matches!(refused, Err(StoreError::Rejected(_))),
        "{refused:?}"
    );
    assert_eq!(
        store.key(&first.id).await.expect("key"),
        Some(first),
        "not replaced"
    );

    // An explicit id just above the counter: the next allocation must step over it.
    let explicit_id = (b + 1).to_string();
    let explicit = store
        .create_key(key_record(&explicit_id, "explicit"))
        .await
        .expect("explicit id");
    assert_eq!(explicit.id, explicit_id);
    let third = store.create_key(key_record("", "c")).await.expect("create");
    assert!(id_number(&third) > b + 1, "{} reuses an id", third.id);
    assert!(
        store
            .key(&(b + 1_000_000).to_string())
            .await
            .expect("key")
            .is_none()
    );
}

/// A revoked key keeps its record (and its id, which stays refused); `keys` lists every
/// record, revoked ones included, in numeric id order.
pub async fn revoked_keys_stay_listed_as_tombstones<S: Store>(store: &S) {
    let key = store
        .create_key(key_record("", "to revoke"))
        .await
        .expect("create");
    let at = Instant::parse("2026-02-01T00:00:00Z").expect("instant");
    assert!(store.revoke_key(&key.id, at).await.expect("revoke"));
    let revoked = store.key(&key.id).await.expect("key").expect("tombstone");
    assert!(revoked.revoked);
    assert!(revoked.revoked_at.is_some());
    assert_eq!(revoked.comment, "to revoke");

    let reuse = store.create_key(key_record(&key.id, "reuse")).await;
    assert!(matches!(reuse, Err(StoreError::Rejected(_))), "{reuse:?}");
    let absent = (id_number(&key) + 1_000_000).to_string();
    assert!(!store.revoke_key(&absent, at).await.expect("revoke absent"));

    let keys = store.keys().await.expect("keys");
    assert!(keys.iter().any(|k| k.id == key.id && k.revoked));
    let ids: Vec<u64> = keys.iter().map(id_number).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(ids, sorted, "listed once each, in numeric order");
}

/// The universal credential and per-instance credentials are stored apart and replaced on set.
pub async fn credentials_are_set_and_replaced<S: Store>(store: &S, tag: &str) {
    let instance = format!("creds-{tag}");
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    assert!(
        store
            .instance_credential(&instance)
            .await
            .expect("get")
            .is_none()
    );
    store
        .set_universal(Credential::from_hash(format!("u-{tag}"), hash))
        .await
        .expect("set universal");
    store
        .set_instance_credential(&instance, Credential::from_hash("inst", format!("{hash}1")))
        .await
        .expect("set instance");
    let universal = store.universal().await.expect("get").expect("set");
    assert_eq!(universal.username(), format!("u-{tag}"));
    assert_eq!(universal.password_hash(), hash);
    let own = store
        .instance_credential(&instance)
        .await
        .expect("get")
        .expect("set");
    assert_eq!(
        (own.username(), own.password_hash()),
        ("inst", &*format!("{hash}1"))
    );

    store
        .set_instance_credential(&instance, Credential::from_hash("inst2", hash))
        .await
        .expect("replace");
    let replaced = store
        .instance_credential(&instance)
        .await
        .expect("get")
        .expect("set");
    assert_eq!(replaced.username(), "inst2");
    assert_eq!(
        store
            .universal()
            .await
            .expect("get")
            .expect("set")
            .username(),
        format!("u-{tag}"),
        "instance writes leave the universal one alone"
    );
}

/// Lists hold any bytes (including none), are replaced whole, and deleted once.
pub async fn lists_are_put_replaced_and_deleted<S: Store>(store: &S, tag: &str) {
    let name = format!("list-{tag}");
    assert!(store.get_list(&name).await.expect("get").is_none());
    let first = Bytes::from_static(b"1.1.1.1\n2.2.2.2\n\xff\x00 not utf-8\n");
    store.put_list(&name, first.clone()).await.expect("put");
    assert_eq!(store.get_list(&name).await.expect("get"), Some(first));
    store
        .put_list(&name, Bytes::from_static(b"short"))
        .await
        .expect("replace");
    assert_eq!(
        store.get_list(&name).await.expect("get").as_deref(),
        Some(&b"short"[..])
    );
    let empty = format!("list-{tag}-empty");
    store
        .put_list(&empty, Bytes::new())
        .await
        .expect("put empty");
    assert_eq!(
        store.get_list(&empty).await.expect("get"),
        Some(Bytes::new())
    );

    assert!(store.delete_list(&name).await.expect("delete"));
    assert!(!store.delete_list(&name).await.expect("delete again"));
    assert!(store.get_list(&name).await.expect("get").is_none());
    assert!(store.delete_list(&empty).await.expect("delete"));
}

/// A 5 MiB list (far over DynamoDB's 400 KB item limit) round-trips byte for byte, and a
/// smaller list replacing it leaves nothing of it behind.
pub async fn lists_of_several_megabytes_round_trip<S: Store>(store: &S, tag: &str) {
    let name = format!("big-{tag}");
    let big: Vec<u8> = (0..5 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let big = Bytes::from(big);
    store.put_list(&name, big.clone()).await.expect("put big");
    let got = store.get_list(&name).await.expect("get").expect("stored");
    assert_eq!(got.len(), big.len());
    assert!(got == big, "same bytes");

    let small = Bytes::from_static(b"after");
    store.put_list(&name, small.clone()).await.expect("replace");
    assert_eq!(store.get_list(&name).await.expect("get"), Some(small));
    assert!(store.delete_list(&name).await.expect("delete"));
}

fn instance(name: &str, kind: InstanceKind, port: Option<u16>) -> InstanceRecord {
    let Value::Object(params) = json!({"longRunningPort": port, "indicators_query": "type:IP",
        "nested": {"b": 1, "a": [true]}})
    else {
        unreachable!("literal object")
    };
    InstanceRecord {
        name: name.to_owned(),
        kind,
        port,
        params,
    }
}

/// Instances are stored exactly, replaced on put, listed by name, and deleted once.
pub async fn instances_are_put_listed_by_name_and_deleted<S: Store>(store: &S, tag: &str) {
    let (b, a) = (format!("inst-{tag}-b"), format!("inst-{tag}-a"));
    store
        .put_instance(instance(&b, InstanceKind::Export, Some(7000)))
        .await
        .expect("put");
    store
        .put_instance(instance(&a, InstanceKind::Webhook, None))
        .await
        .expect("put");
    let replaced = instance(&b, InstanceKind::PublishList, Some(7001));
    store.put_instance(replaced.clone()).await.expect("replace");
    assert_eq!(store.instance(&b).await.expect("get"), Some(replaced));

    let all = store.instances().await.expect("list");
    let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "by name");
    let ours: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.starts_with(&format!("inst-{tag}-")))
        .collect();
    assert_eq!(ours, [a.as_str(), b.as_str()]);

    assert!(store.delete_instance(&a).await.expect("delete"));
    assert!(!store.delete_instance(&a).await.expect("delete again"));
    assert!(store.instance(&a).await.expect("get").is_none());
    assert!(store.delete_instance(&b).await.expect("delete"));
}
