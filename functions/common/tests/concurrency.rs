//! Webhook posts at once through the handler against moto: every post acknowledged is
//! stored exactly once, and a de-duplication key shared by concurrent posts creates one
//! incident. The posts are spread over several function values, each with its own store
//! client and caches, as concurrent Lambda containers are.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use feedgate::store::{IncidentStore, InstanceKind, InstanceRecord, InstanceStore};
use feedgate_functions::Function;
use feedgate_store_dynamo::DynamoStore;
use serde_json::{Value, json};
use support::{fresh_store, from_proxy_response, same_table};

/// Concurrent containers the posts are spread over.
const CONTAINERS: usize = 8;

/// A REST proxy event posting `body` to `instance`, as admitted by the authorizer.
fn post(instance: &str, body: &str) -> Value {
    json!({
        "resource": format!("/xsoar/instance/execute/{instance}"),
        "path": format!("/xsoar/instance/execute/{instance}"),
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "requestContext": {
            "requestId": "concurrent",
            "stage": "prod",
            "authorizer": {"principalId": "api-key:1", "principal": "api-key:1", "role": "write"}
        },
        "body": STANDARD.encode(body),
        "isBase64Encoded": true
    })
}

async fn webhook(store: &DynamoStore, params: Value) -> Vec<Arc<Function<DynamoStore>>> {
    store
        .put_instance(InstanceRecord {
            name: "hook".into(),
            kind: InstanceKind::Webhook,
            port: None,
            params: params.as_object().cloned().expect("params"),
        })
        .await
        .expect("instance");
    (0..CONTAINERS)
        .map(|_| {
            Arc::new(Function::new(
                InstanceKind::Webhook,
                same_table(store),
                Duration::from_secs(30),
                false,
                None,
            ))
        })
        .collect()
}

/// Sends every body at once, round-robin over the containers, each sender retrying on 503
/// as the spec tells webhook senders to; the created incidents of each answer, in order.
///
/// A 503 means nothing of that post was written (a post of one incident is one
/// transaction), so a retry cannot duplicate: the counts below prove it. A threaded moto
/// answers some concurrent transactions with a 500 (it copies the table for rollback while
/// other threads write), which the handler turns into 503 + `Retry-After`; served one
/// request at a time (`scripts/moto`), it makes the posts queue, and calls that wait past
/// the client's timeouts end the same way.
async fn post_all(
    functions: &[Arc<Function<DynamoStore>>],
    bodies: Vec<String>,
) -> Vec<Vec<Value>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let function = Arc::clone(&functions[i % functions.len()]);
        tasks.spawn(async move {
            for attempt in 0..30u64 {
                let raw = serde_json::to_value(function.handle(post("hook", &body)).await)
                    .expect("response json");
                let resp = from_proxy_response(&raw);
                if resp.status != 503 {
                    return (i, attempt, resp);
                }
                assert!(
                    resp.header("Retry-After").is_some(),
                    "503 without Retry-After"
                );
                tokio::time::sleep(Duration::from_millis(
                    50 + 50 * attempt + (i as u64 % 7) * 10,
                ))
                .await;
            }
            panic!("post {i}: still 503 after 30 attempts");
        });
    }
    let mut answers = vec![Vec::new(); tasks.len()];
    let mut retried = 0;
    while let Some(done) = tasks.join_next().await {
        let (i, attempt, resp) = done.expect("task");
        assert_eq!(
            resp.status,
            200,
            "post {i}: {}",
            String::from_utf8_lossy(&resp.body)
        );
        retried += usize::from(attempt > 0);
        let created: Vec<Value> = serde_json::from_slice(&resp.body).expect("json array");
        answers[i] = created;
    }
    eprintln!(
        "{retried} of {} posts were retried after a 503",
        answers.len()
    );
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_posts_at_once_store_two_thousand_incidents() {
    let store = fresh_store("conc-2000").await;
    let functions = webhook(&store, json!({})).await;
    let bodies = (0..2000)
        .map(|i| format!("{{\"name\":\"post {i}\"}}"))
        .collect();
    let answers = post_all(&functions, bodies).await;
    let ids: HashSet<String> = answers
        .iter()
        .map(|created| {
            assert_eq!(created.len(), 1);
            created[0]["id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 2000, "every answer names its own incident");
    let stored = store.list_incidents("hook").await.expect("incidents");
    assert_eq!(stored.len(), 2000);
    let stored_ids: HashSet<String> = stored.into_iter().map(|i| i.id).collect();
    assert_eq!(
        stored_ids, ids,
        "exactly the acknowledged incidents are stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_dedup_key_posted_a_hundred_times_at_once_creates_one_incident() {
    let store = fresh_store("conc-dedup").await;
    let functions = webhook(&store, json!({"duplication_key": "event_id"})).await;
    let bodies = (0..100)
        .map(|i| format!("{{\"name\":\"copy {i}\",\"event_id\":\"E-1\"}}"))
        .collect();
    let answers = post_all(&functions, bodies).await;
    let created: usize = answers.iter().map(Vec::len).sum();
    assert_eq!(created, 1, "exactly one post created the incident");
    let stored = store.list_incidents("hook").await.expect("incidents");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].dedup_id.as_deref(), Some("event_id:E-1"));
}
