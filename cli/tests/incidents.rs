//! `feedgate incidents list` / `samples` against a live engine: a webhook instance with
//! `store_samples` keeps its newest incidents for the CLI to show; one without keeps none.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;

use common::feedgate;
use feedgate::store::SAMPLE_LIMIT;
use feedgate_tests::http_client::send;
use serde_json::Value;

fn json_names(out: &std::process::Output) -> Vec<String> {
    assert!(out.status.success(), "{out:?}");
    let parsed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("one JSON array");
    parsed
        .iter()
        .map(|i| i["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn samples_show_the_newest_incidents_of_instances_that_store_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = common::free_ports(2);
    let config = common::write_config(
        dir.path(),
        &format!(
            r#"[[instance]]
name = "hook"
kind = "webhook"
port = {base}
[instance.params]
store_samples = true

[[instance]]
name = "quiet"
kind = "webhook"
port = {quiet}
"#,
            quiet = base + 1
        ),
    );
    let config = config.as_str();

    let (_engine, _out) = common::serve(config, 2, Stdio::null());

    let hook: SocketAddr = format!("127.0.0.1:{base}").parse().expect("addr");
    let quiet: SocketAddr = format!("127.0.0.1:{}", base + 1).parse().expect("addr");
    let names: Vec<String> = (0..SAMPLE_LIMIT + 5).map(|n| format!("e{n:02}")).collect();
    // One request of three, then the rest one by one.
    let (first, rest) = names.split_at(3);
    let array: Vec<Value> = first
        .iter()
        .map(|n| serde_json::json!({"name": n}))
        .collect();
    let body = serde_json::to_vec(&array).expect("body");
    let posted = send(hook, "POST", "/", &[], Some(&body))
        .await
        .expect("post");
    assert_eq!(posted.status, 200);
    for name in rest {
        let body = format!(r#"{{"name":"{name}"}}"#);
        let posted = send(hook, "POST", "/", &[], Some(body.as_bytes()))
            .await
            .expect("post");
        assert_eq!(posted.status, 200);
    }
    let posted = send(quiet, "POST", "/", &[], Some(br#"{"name":"q"}"#.as_slice()))
        .await
        .expect("post");
    assert_eq!(posted.status, 200);

    let listed = json_names(&feedgate(
        config,
        &["incidents", "list", "--instance", "hook", "--json"],
    ));
    assert_eq!(listed, names, "every incident is listed, samples or not");
    let samples = feedgate(
        config,
        &["incidents", "samples", "--instance", "hook", "--json"],
    );
    assert_eq!(
        json_names(&samples),
        names[names.len() - SAMPLE_LIMIT..],
        "the newest, oldest first"
    );
    // The stored form (integrations.md §5.9), captured headers included.
    let parsed: Vec<Value> = serde_json::from_slice(&samples.stdout).expect("json");
    let keys: Vec<&str> = parsed[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id", "instance", "name", "type", "occurred", "created", "rawJson", "dedup_id"
        ]
    );
    assert_eq!(parsed[0]["instance"], "hook");
    assert!(parsed[0]["rawJson"]["headers"].is_object());

    let text = feedgate(config, &["incidents", "samples", "--instance", "hook"]);
    assert!(text.status.success(), "{text:?}");
    let lines: Vec<String> = String::from_utf8(text.stdout.clone())
        .expect("utf8")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), SAMPLE_LIMIT);
    assert!(lines[SAMPLE_LIMIT - 1].ends_with(&format!("  {}", names[names.len() - 1])));
    assert!(
        String::from_utf8_lossy(&text.stderr).contains(&format!("{SAMPLE_LIMIT} sample(s)")),
        "{text:?}"
    );

    // Without store_samples: incidents, but no samples.
    assert_eq!(
        json_names(&feedgate(
            config,
            &["incidents", "list", "--instance", "quiet", "--json"]
        )),
        ["q"]
    );
    assert!(
        json_names(&feedgate(
            config,
            &["incidents", "samples", "--instance", "quiet", "--json"]
        ))
        .is_empty()
    );
}
