//! The README's quickstart, as a new user runs it: the real `feedgate` binary in demo mode,
//! then the `curl` lines it prints (sent over TCP), checked answer by answer.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Running;
use feedgate_tests::http_client::send;

mod common;

fn start_demo(base: u16) -> (Running, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedgate"))
        .args(["serve", "--demo", "--demo-port", &base.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("feedgate starts");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("demo output");
        let done = line.starts_with("Ctrl-C");
        lines.push(line);
        if done || Instant::now() > deadline {
            break;
        }
    }
    (running, lines)
}

#[tokio::test]
async fn demo_answers_the_curl_lines_it_prints() {
    let base = common::free_ports(3);
    let (_demo, lines) = start_demo(base);
    let curls: Vec<&String> = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("curl"))
        .collect();
    assert_eq!(curls.len(), 5, "demo output: {lines:?}");
    let export: SocketAddr = format!("127.0.0.1:{base}").parse().expect("addr");

    let text = send(export, "GET", "/?n=10", &[], None)
        .await
        .expect("text list");
    assert_eq!(text.status, 200);
    let body = String::from_utf8(text.body).expect("utf8");
    assert_eq!(body.lines().count(), 10, "{body}");
    assert!(body.lines().all(|l| !l.is_empty()));
    assert_eq!(
        text.headers
            .iter()
            .find(|(k, _)| k == "x-edl-origin-size")
            .map(|(_, v)| v.as_str()),
        Some("10000")
    );

    let json = send(export, "GET", "/?v=json&n=3", &[], None)
        .await
        .expect("json list");
    let parsed: serde_json::Value = serde_json::from_slice(&json.body).expect("json body");
    assert_eq!(parsed.as_array().map(Vec::len), Some(3));

    let collapsed = send(export, "GET", "/?tr=2&q=type:IP&n=10", &[], None)
        .await
        .expect("collapsed list");
    let collapsed = String::from_utf8(collapsed.body).expect("utf8");
    assert!(
        collapsed.lines().any(|l| l.contains('/')),
        "CIDRs expected: {collapsed}"
    );

    let hook: SocketAddr = format!("127.0.0.1:{}", base + 1).parse().expect("addr");
    let posted = send(
        hook,
        "POST",
        "/",
        &[],
        Some(br#"{"name":"demo incident"}"#.as_slice()),
    )
    .await
    .expect("webhook");
    assert_eq!(posted.status, 200);
    let created: serde_json::Value = serde_json::from_slice(&posted.body).expect("json");
    assert_eq!(created[0]["name"], "demo incident");

    let lists: SocketAddr = format!("127.0.0.1:{}", base + 2).parse().expect("addr");
    let list = send(lists, "GET", "/blocklist", &[], None)
        .await
        .expect("list");
    assert_eq!(
        String::from_utf8(list.body).expect("utf8"),
        "203.0.113.10\n198.51.100.0/24\nbad.example.com"
    );

    let bad = send(export, "GET", "/?n=abc", &[], None)
        .await
        .expect("bad arg");
    assert_eq!(bad.status, 400);
}

fn feedgate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_feedgate"))
        .args(args)
        .output()
        .expect("feedgate runs")
}

#[tokio::test]
async fn config_import_and_poll_with_admin_commands_under_a_live_engine() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = common::free_ports(3);
    let config = common::write_config(
        dir.path(),
        &format!(
            r#"[universal_credentials]
username = "firewall"
password = "change-me"

[[instance]]
name = "edl"
kind = "export"
port = {base}
[instance.params]
collapse_ips = "To CIDRS"

[[instance]]
name = "pl"
kind = "publish_list"
port = {lists}
[instance.params]
listsToPublish = "blocked"
"#,
            lists = base + 1
        ),
    );
    let config = config.as_str();
    let indicators = dir.path().join("iocs.json");
    std::fs::write(
        &indicators,
        r#"[{"value":"10.0.0.0","type":"IP"},{"value":"10.0.0.1","type":"IP"},
            {"value":"https://evil.example:8443/x","type":"URL"},{"value":42,"type":"IP"}]"#,
    )
    .expect("iocs written");
    let imported = feedgate(&[
        "--config",
        config,
        "indicators",
        "import",
        indicators.to_str().expect("path"),
    ]);
    assert!(imported.status.success(), "{imported:?}");
    assert_eq!(
        String::from_utf8_lossy(&imported.stdout).trim(),
        "added 3, updated 0, rejected 1"
    );

    let (_engine, _out) = common::serve(config, 2, Stdio::null());
    let export: SocketAddr = format!("127.0.0.1:{base}").parse().expect("addr");
    let auth = vec![(
        "Authorization".to_owned(),
        "Basic ZmlyZXdhbGw6Y2hhbmdlLW1l".to_owned(),
    )];
    let denied = send(export, "GET", "/", &[], None).await.expect("answer");
    assert_eq!(denied.status, 401);
    assert_eq!(
        denied.header("www-authenticate"),
        Some("Basic realm=\"feedgate\"")
    );
    let list = send(export, "GET", "/", &auth, None).await.expect("answer");
    assert_eq!(list.status, 200);
    assert_eq!(
        String::from_utf8(list.body).expect("utf8"),
        "evil.example/x\n10.0.0.0/31"
    );

    // Admin commands work on the store while the engine runs, and the engine serves the change
    // from its next request on.
    let deleted = feedgate(&["--config", config, "indicators", "delete", "10.0.0.1"]);
    assert!(deleted.status.success(), "{deleted:?}");
    let list = send(export, "GET", "/", &auth, None).await.expect("answer");
    assert_eq!(
        String::from_utf8(list.body).expect("utf8"),
        "evil.example/x\n10.0.0.0"
    );
    let content = dir.path().join("blocked.txt");
    std::fs::write(&content, "1.2.3.4").expect("list file");
    let put = feedgate(&[
        "--config",
        config,
        "lists",
        "put",
        "blocked",
        content.to_str().expect("path"),
    ]);
    assert!(put.status.success(), "{put:?}");
    let pl: SocketAddr = format!("127.0.0.1:{}", base + 1).parse().expect("addr");
    let published = send(pl, "GET", "/blocked", &auth, None)
        .await
        .expect("answer");
    assert_eq!(published.status, 200);
    assert_eq!(String::from_utf8(published.body).expect("utf8"), "1.2.3.4");
}

#[test]
fn a_bad_config_refuses_to_start_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[[instance]]\nname = \"a b\"\nkind = \"export\"\nport = 1\n",
    )
    .expect("write");
    let out = feedgate(&["--config", config.to_str().expect("path"), "serve"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("try 'a_b'"), "{err}");
    assert_eq!(
        err.trim_end()
            .lines()
            .filter(|l| l.starts_with("feedgate:"))
            .count(),
        1,
        "{err}"
    );
}
