//! Every HTTP conformance case of mode `serverless` or `both` through API Gateway's part
//! (route table, authorizer, gateway responses; see `support`) and the real handlers,
//! against a table on moto. Steps share state, as in the engine runner.

mod support;

use feedgate::store::IncidentStore;
use feedgate_tests::http_vectors::{Case, check_response, json_matches, load_cases};
use serde_json::Value;
use support::{Gateway, fresh_store, now_ms, seed};

async fn run_case(case: &Case) -> Vec<String> {
    let store = fresh_store(&case.name.replace('_', "-")).await;
    seed(&store, &case.setup).await;
    let gateway = Gateway::new(&store, &case.setup);
    let mut problems = Vec::new();
    let mut prev_etag: Option<String> = None;
    for (i, step) in case.steps.iter().enumerate() {
        let request = &step.request;
        let target = match &request.instance {
            Some(name) if request.path == "/" => {
                format!(
                    "/xsoar/instance/execute/{name}{}",
                    query_of(&request.target())
                )
            }
            Some(name) => format!("/xsoar/instance/execute/{name}{}", request.target()),
            None => request.target(),
        };
        let headers = request.headers(&case.setup, now_ms(), prev_etag.as_deref());
        let body = request.body_bytes();
        let resp = gateway
            .send(&request.method, &target, &headers, body.as_deref())
            .await;
        for p in check_response(&step.expect, &resp) {
            problems.push(format!("step {i}: {p}"));
        }
        if let Some(stored) = step.expect.get("stored_incidents") {
            let instance = request
                .instance
                .clone()
                .or_else(|| case.setup.instances.first().map(|i| i.name.clone()))
                .expect("an instance");
            let list = store.list_incidents(&instance).await.expect("incidents");
            let list = serde_json::to_value(&list).expect("json");
            let count = stored["count"].as_u64().expect("count");
            if list.as_array().map(Vec::len) != Some(count as usize) {
                problems.push(format!("step {i}: stored {list} but want {count}"));
            } else if let Some(patterns) = stored.get("match").and_then(Value::as_array) {
                for (j, pattern) in patterns.iter().enumerate() {
                    if !json_matches(pattern, list.get(j), false) {
                        problems.push(format!("step {i}: incident {j} {} !~ {pattern}", list[j]));
                    }
                }
            }
        }
        prev_etag = resp.header("etag").map(str::to_owned);
    }
    problems
}

/// `?query` of a `path?query` target, or nothing.
fn query_of(target: &str) -> String {
    target
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_serverless_case_passes_through_gateway_authorizer_and_function() {
    let cases = load_cases();
    let mut failures = Vec::new();
    let mut ran = 0;
    for (path, case) in &cases {
        if case.mode == "engine" {
            continue;
        }
        ran += 1;
        let problems = run_case(case).await;
        if !problems.is_empty() {
            failures.push(format!(
                "{}:\n  {}",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                problems.join("\n  ")
            ));
        }
    }
    assert!(ran >= 50, "ran only {ran} cases");
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
