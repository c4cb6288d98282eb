//! The export function's request path in a warm container (issue 5 targets): a poll of
//! unchanged data (one version read, the cached render, the proxy response), the 304 path,
//! and the first render of a 100k list (dataset already loaded, nothing rendered for these
//! arguments), plus that render gzipped.
//!
//! The store is the embedded adapter on a local file, so the version read costs
//! microseconds: the numbers are handler time without the DynamoDB round trip (one
//! `GetItem`, a few milliseconds in AWS). Run: `cargo bench -p feedgate-functions`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use feedgate::sample;
use feedgate::store::{IndicatorStore, InstanceKind, InstanceRecord, InstanceStore};
use feedgate_functions::Function;
use feedgate_store_embedded::EmbeddedStore;
use serde_json::{Value, json};

const COUNT: usize = 100_000;

fn event(query: &str, headers: Value) -> Value {
    json!({
        "resource": "/xsoar/instance/execute/edl",
        "path": "/xsoar/instance/execute/edl",
        "httpMethod": "GET",
        "multiValueHeaders": headers,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": if query.is_empty() {
            Value::Null
        } else {
            json!({"n": [query]})
        },
        "requestContext": {
            "requestId": "bench",
            "authorizer": {"principalId": "basic:fw", "principal": "basic:fw", "role": "none"}
        },
        "body": null,
        "isBase64Encoded": false
    })
}

fn polls(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("store");
    let function = runtime.block_on(async {
        store
            .put_instance(InstanceRecord {
                name: "edl".into(),
                kind: InstanceKind::Export,
                port: None,
                params: json!({"edl_size": "100000"})
                    .as_object()
                    .cloned()
                    .expect("params"),
            })
            .await
            .expect("instance");
        store
            .upsert(sample::indicators(COUNT))
            .await
            .expect("indicators");
        Function::new(
            InstanceKind::Export,
            store,
            Duration::from_secs(300),
            false,
            None,
        )
    });
    let warm = event("", json!({"Host": ["bench"]}));
    let first = runtime.block_on(function.handle(warm.clone()));
    let first = serde_json::to_value(&first).expect("json");
    assert_eq!(first["statusCode"], 200);
    let tag = first["multiValueHeaders"]["ETag"][0]
        .as_str()
        .expect("etag")
        .to_owned();
    let body_len = first["body"].as_str().map_or(0, str::len);
    eprintln!("100k list: {body_len} bytes of text");

    let mut group = c.benchmark_group("export_function_100k");
    group.sample_size(30);
    group.bench_function("warm_poll_unchanged", |b| {
        b.iter(|| black_box(runtime.block_on(function.handle(warm.clone()))));
    });
    let conditional = event("", json!({"Host": ["bench"], "If-None-Match": [tag]}));
    group.bench_function("poll_304", |b| {
        b.iter(|| black_box(runtime.block_on(function.handle(conditional.clone()))));
    });
    let gzip_warm = event("", json!({"Host": ["bench"], "Accept-Encoding": ["gzip"]}));
    let _ = runtime.block_on(function.handle(gzip_warm.clone()));
    group.bench_function("warm_poll_unchanged_gzip", |b| {
        b.iter(|| black_box(runtime.block_on(function.handle(gzip_warm.clone()))));
    });
    // A new `n` above the list size: the same 100k lines, a new cache key, so a new render.
    let n = AtomicU64::new(200_000);
    group.sample_size(20);
    group.bench_function("first_render", |b| {
        b.iter(|| {
            let query = n.fetch_add(1, Ordering::Relaxed).to_string();
            black_box(runtime.block_on(function.handle(event(&query, json!({"Host": ["bench"]})))))
        });
    });
    group.bench_function("first_render_gzip", |b| {
        b.iter(|| {
            let query = n.fetch_add(1, Ordering::Relaxed).to_string();
            let headers = json!({"Host": ["bench"], "Accept-Encoding": ["gzip"]});
            black_box(runtime.block_on(function.handle(event(&query, headers))))
        });
    });
    group.finish();
}

criterion_group!(benches, polls);
criterion_main!(benches);
