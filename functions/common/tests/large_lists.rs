//! Lists near and over Lambda's 6 MB response limit: the exact boundary (a response of
//! exactly the limit is sent, one byte more is a 413 that says how to page), and a real
//! list of more than 6 MB of text, refused plain, served gzipped or paged.

mod support;

use std::io::Read;
use std::time::Duration;

use feedgate::store::{IndicatorStore, InstanceKind, InstanceRecord, InstanceStore};
use feedgate::{Indicator, IndicatorType};
use feedgate_functions::Function;
use feedgate_functions::handler::LAMBDA_RESPONSE_LIMIT;
use feedgate_store_dynamo::DynamoStore;
use flate2::read::GzDecoder;
use serde_json::{Value, json};
use support::{fresh_store, from_proxy_response, same_table};

/// A REST proxy event for `GET /xsoar/instance/execute/edl?<query>`, admitted.
fn get(query: &[(&str, &str)], gzip: bool) -> Value {
    let mut headers = json!({"Host": ["a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"]});
    if gzip {
        headers["Accept-Encoding"] = json!(["gzip"]);
    }
    let mut multi = serde_json::Map::new();
    for (k, v) in query {
        multi.insert((*k).to_owned(), json!([v]));
    }
    json!({
        "resource": "/xsoar/instance/execute/edl",
        "path": "/xsoar/instance/execute/edl",
        "httpMethod": "GET",
        "multiValueHeaders": headers,
        "multiValueQueryStringParameters": if multi.is_empty() { Value::Null } else { Value::Object(multi) },
        "requestContext": {
            "requestId": "large",
            "authorizer": {"principalId": "basic:fw", "principal": "basic:fw", "role": "none"}
        },
        "body": null,
        "isBase64Encoded": false
    })
}

async fn export_with(count: u32, test: &str) -> DynamoStore {
    let store = fresh_store(test).await;
    store
        .put_instance(InstanceRecord {
            name: "edl".into(),
            kind: InstanceKind::Export,
            port: None,
            params: json!({"edl_size": "1000000"})
                .as_object()
                .cloned()
                .expect("params"),
        })
        .await
        .expect("instance");
    let batch: Vec<Indicator> = (0..count)
        .map(|i| {
            let [_, b, c, d] = i.to_be_bytes();
            Indicator::new(format!("10.{b}.{c}.{d}"), IndicatorType::Ip)
        })
        .collect();
    for chunk in batch.chunks(100_000) {
        store.upsert(chunk.to_vec()).await.expect("indicators");
    }
    store
}

fn function(store: &DynamoStore, limit: usize) -> Function<DynamoStore> {
    Function::new(
        InstanceKind::Export,
        same_table(store),
        Duration::from_secs(30),
        false,
        None,
    )
    .with_response_limit(limit)
}

async fn call(
    function: &Function<DynamoStore>,
    event: Value,
) -> (usize, feedgate_tests::http_client::HttpResponse) {
    let raw = serde_json::to_vec(&function.handle(event).await).expect("response json");
    let value: Value = serde_json::from_slice(&raw).expect("json");
    (raw.len(), from_proxy_response(&value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_of_exactly_the_limit_is_sent_and_one_byte_more_is_413() {
    let store = export_with(5_000, "limit-exact").await;
    let (size, whole) = call(&function(&store, usize::MAX), get(&[], false)).await;
    assert_eq!(whole.status, 200);

    let (at_limit, resp) = call(&function(&store, size), get(&[], false)).await;
    assert_eq!((resp.status, at_limit), (200, size));

    let (_, resp) = call(&function(&store, size - 1), get(&[], false)).await;
    assert_eq!(resp.status, 413);
    assert_eq!(
        resp.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    let message = String::from_utf8(resp.body).expect("text");
    assert!(
        message.contains(&format!("{size} bytes, the limit is {}", size - 1)),
        "{message}"
    );
    assert!(message.contains("page with s and n"), "{message}");
    assert!(message.contains("Accept-Encoding: gzip"), "{message}");

    // The same limit passes gzipped (five thousand addresses compress far below it).
    let (_, resp) = call(&function(&store, size - 1), get(&[], true)).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Content-Encoding"), Some("gzip"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_over_six_megabytes_is_413_plain_and_served_gzipped_or_paged() {
    let count = 560_000;
    let store = export_with(count, "limit-6mb").await;
    let export = function(&store, LAMBDA_RESPONSE_LIMIT);

    let (_, plain) = call(&export, get(&[], false)).await;
    assert_eq!(
        plain.status,
        413,
        "{}",
        String::from_utf8_lossy(&plain.body)
    );
    assert!(String::from_utf8_lossy(&plain.body).contains("?n=50000&s=0"));

    let (size, gzipped) = call(&export, get(&[], true)).await;
    assert_eq!(gzipped.status, 200);
    assert!(size <= LAMBDA_RESPONSE_LIMIT);
    let mut text = String::new();
    GzDecoder::new(gzipped.body.as_slice())
        .read_to_string(&mut text)
        .expect("gzip");
    assert!(
        text.len() > LAMBDA_RESPONSE_LIMIT,
        "the list itself is over 6 MB"
    );
    assert_eq!(text.lines().count(), count as usize);

    let (_, page) = call(&export, get(&[("n", "250000"), ("s", "250000")], false)).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("X-EDL-Size"), Some("250000"));
}
