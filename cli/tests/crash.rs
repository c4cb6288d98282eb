//! `kill -9` of the engine during a stream of webhook posts: after the crash, every incident
//! that got a 200 is in the store.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use feedgate_tests::http_client::send;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_incident_survives_kill_9() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = common::free_ports(1);
    let config = common::write_config(
        dir.path(),
        &format!("[[instance]]\nname = \"hook\"\nkind = \"webhook\"\nport = {port}\n"),
    );
    let (mut engine, _out) = common::serve(&config, 1, Stdio::null());

    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let running = Arc::new(AtomicBool::new(true));
    let mut senders = Vec::new();
    for worker in 0..8 {
        let running = Arc::clone(&running);
        senders.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut n = 0u32;
            // Bounded: stops at the crash, or after 5,000 posts per worker at the most.
            while running.load(Ordering::Relaxed) && n < 5_000 {
                let name = format!("w{worker}-{n}");
                let body = format!("{{\"name\":\"{name}\"}}");
                match send(addr, "POST", "/", &[], Some(body.as_bytes())).await {
                    Ok(r) if r.status == 200 => acknowledged.push(name),
                    _ => {}
                }
                n += 1;
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    engine.0.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix
    let _ = engine.0.wait();
    running.store(false, Ordering::Relaxed);
    let mut acknowledged = HashSet::new();
    for s in senders {
        acknowledged.extend(s.await.expect("sender"));
    }
    assert!(
        acknowledged.len() > 10,
        "the engine acknowledged too few posts to test anything"
    );

    let listed = Command::new(env!("CARGO_BIN_EXE_feedgate"))
        .args([
            "--config",
            &config,
            "incidents",
            "list",
            "--instance",
            "hook",
            "--json",
        ])
        .output()
        .expect("incidents list");
    assert!(listed.status.success(), "{listed:?}");
    let stored: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).expect("json");
    let names: HashSet<String> = stored
        .iter()
        .filter_map(|i| i["name"].as_str().map(str::to_owned))
        .collect();
    let lost: Vec<&String> = acknowledged.difference(&names).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged incidents lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
}
