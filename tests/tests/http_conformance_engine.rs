//! Every HTTP conformance case of mode `engine` or `both`, and every export vector, against
//! the real engine: a fresh embedded store, the configuration written as TOML and loaded by
//! the engine's own loader, listeners on free loopback ports, requests over TCP.

mod common;

use std::collections::HashMap;

use common::RunningEngine;
use feedgate::store::IncidentStore;
use feedgate_engine::config::EngineConfig;
use feedgate_store_embedded::EmbeddedStore;
use feedgate_tests::export_vectors::{ExportVector, assert_all_passed, load_all};
use feedgate_tests::http_client::send;
use feedgate_tests::http_vectors::{
    Case, Setup, check_response, json_matches, load_cases, seed_data,
};
use serde_json::{Map, Value, json};

fn config_toml(s: &Setup) -> String {
    let mut root = Map::new();
    if let Some(u) = &s.universal_credentials {
        root.insert(
            "universal_credentials".into(),
            json!({"username": u.username, "password": u.password}),
        );
    }
    if let Some(secret) = &s.master_secret {
        root.insert("api_keys".into(), json!({"master_secret": secret}));
    }
    let instances: Vec<Value> = s
        .instances
        .iter()
        .map(|i| {
            let mut inst = json!({"name": i.name, "kind": i.kind, "port": 0, "params": i.params});
            if let Some(c) = &i.credentials {
                inst["credentials"] = json!({"username": c.username, "password": c.password});
            }
            inst
        })
        .collect();
    root.insert("instance".into(), Value::Array(instances));
    toml::to_string(&Value::Object(root)).expect("case setup as toml")
}

/// A running engine over a fresh store seeded with `setup`, configured from its TOML.
struct Running {
    engine: RunningEngine,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start(setup: &Setup, origin: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open store");
        seed_data(&store, setup).await;
        let config = EngineConfig::parse(
            &config_toml(setup),
            origin,
            &HashMap::<String, String>::new(),
        )
        .expect("config loads");
        let engine = RunningEngine::start(&config, store).await;
        Self { engine, _dir: dir }
    }

    async fn stop(self) {
        self.engine.stop().await;
    }
}

async fn run_case(case: &Case) -> Vec<String> {
    let running = Running::start(&case.setup, &case.name).await;
    let (addrs, deployment) = (&running.engine.addrs, &running.engine.deployment);
    let mut problems = Vec::new();
    let mut prev_etag: Option<String> = None;
    for (i, step) in case.steps.iter().enumerate() {
        let Some(instance) = &step.request.instance else {
            problems.push(format!("step {i}: raw paths are serverless-only"));
            continue;
        };
        let now_ms = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis(),
        )
        .expect("ms");
        let headers = step
            .request
            .headers(&case.setup, now_ms, prev_etag.as_deref());
        let body = step.request.body_bytes();
        let resp = send(
            addrs[instance],
            &step.request.method,
            &step.request.target(),
            &headers,
            body.as_deref(),
        )
        .await
        .expect("request answered");
        for p in check_response(&step.expect, &resp) {
            problems.push(format!("step {i}: {p}"));
        }
        if let Some(stored) = step.expect.get("stored_incidents") {
            let list = deployment
                .store
                .list_incidents(instance)
                .await
                .expect("list incidents");
            let list = serde_json::to_value(&list).expect("incidents as json");
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
    running.stop().await;
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_engine_case_passes_over_http() {
    let cases = load_cases();
    assert!(
        cases.len() >= 50,
        "expected the whole case set, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut ran = 0;
    for (path, case) in &cases {
        if case.mode == "serverless" {
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

/// One export vector through the engine: its indicators imported into the store, its instance
/// parameters (and credentials) in the TOML file, its request over HTTP.
async fn run_vector(v: &ExportVector) -> Vec<String> {
    let running = Running::start(&v.setup(), &v.name).await;
    let q = v.query_string();
    let target = if q.is_empty() {
        v.request.path.clone()
    } else {
        format!("{}?{q}", v.request.path)
    };
    let resp = send(
        running.engine.addrs["edl"],
        &v.request.method,
        &target,
        &v.headers(),
        None,
    )
    .await
    .expect("request answered");
    let problems = v.check(resp.status, |n| resp.header(n), &resp.body);
    running.stop().await;
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_vector_passes_through_the_engine_over_http() {
    let mut results = Vec::new();
    for (path, v) in load_all() {
        let problems = run_vector(&v).await;
        results.push((path, problems));
    }
    assert_all_passed(&results);
}
