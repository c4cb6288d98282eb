//! 10,000 concurrent webhook posts through the engine over HTTP: exactly 10,000 incidents,
//! each acknowledged one stored; and one dedup key repeated many times creates one incident.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use common::RunningEngine;
use feedgate::store::IncidentStore;
use feedgate_engine::config::EngineConfig;
use feedgate_store_embedded::EmbeddedStore;
use feedgate_tests::http_client::send;

const CONFIG: &str = r#"
[[instance]]
name = "hook"
kind = "webhook"
port = 0

[[instance]]
name = "dedup"
kind = "webhook"
port = 0
[instance.params]
duplication_key = "event_id"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_posts_make_ten_thousand_incidents() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("store");
    let config =
        EngineConfig::parse(CONFIG, "load", &HashMap::<String, String>::new()).expect("config");
    let running = RunningEngine::start(&config, store).await;
    let (addrs, deployment) = (&running.addrs, &running.deployment);

    // All posts are issued at once; a semaphore only caps open sockets (file descriptors).
    let open = Arc::new(tokio::sync::Semaphore::new(256));
    let hook = addrs["hook"];
    let mut tasks = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        let open = Arc::clone(&open);
        tasks.push(tokio::spawn(async move {
            let _permit = open.acquire().await.expect("semaphore");
            let body = format!("{{\"name\":\"n{i}\"}}");
            let resp = send(hook, "POST", "/", &[], Some(body.as_bytes())).await;
            (i, resp.map(|r| r.status))
        }));
    }
    let mut acknowledged = HashSet::new();
    for t in tasks {
        let (i, status) = t.await.expect("task");
        assert_eq!(status.expect("answered"), 200, "post {i}");
        acknowledged.insert(format!("n{i}"));
    }
    let stored = deployment.store.list_incidents("hook").await.expect("list");
    assert_eq!(stored.len(), 10_000);
    let names: HashSet<String> = stored.iter().map(|i| i.name.clone()).collect();
    assert_eq!(names, acknowledged);
    let ids: HashSet<&str> = stored.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), 10_000, "ids are unique");

    let dedup = addrs["dedup"];
    let mut tasks = Vec::new();
    for _ in 0..100 {
        tasks.push(tokio::spawn(async move {
            send(
                dedup,
                "POST",
                "/",
                &[],
                Some(br#"{"name":"x","event_id":"e-1"}"#.as_slice()),
            )
            .await
            .map(|r| r.status)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task").expect("answered"), 200);
    }
    let stored = deployment
        .store
        .list_incidents("dedup")
        .await
        .expect("list");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].dedup_id.as_deref(), Some("event_id:e-1"));

    running.stop().await;
}
