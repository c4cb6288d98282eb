//! The embedded store's version check answers from a held connection while nothing was
//! committed (`PRAGMA data_version`); these tests hold it to the contract that matters: a
//! write committed through another handle (other connections, as another process would use)
//! is seen by the very next version read and the very next export poll.

use std::collections::HashMap;
use std::net::SocketAddr;

use feedgate::store::IndicatorStore;
use feedgate::{Indicator, IndicatorType};
use feedgate_engine::app::Engine;
use feedgate_engine::config::EngineConfig;
use feedgate_store_embedded::EmbeddedStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn ip(value: &str) -> Indicator {
    Indicator::new(value, IndicatorType::Ip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_by_another_handle_is_seen_by_the_next_version_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = EmbeddedStore::open(dir.path()).expect("open");
    let admin = EmbeddedStore::open(dir.path()).expect("open again");
    let start = server.version().await.expect("version");
    // Reads change nothing, however often.
    for _ in 0..3 {
        assert_eq!(server.version().await.expect("version"), start);
    }
    for i in 0..200u32 {
        let before = server.version().await.expect("version");
        if i % 3 == 2 {
            let gone = admin
                .delete(vec![format!("10.0.{}.{}", (i - 1) / 256, (i - 1) % 256)])
                .await
                .expect("delete");
            assert_eq!(gone, 1);
        } else {
            admin
                .upsert(vec![ip(&format!("10.0.{}.{}", i / 256, i % 256))])
                .await
                .expect("upsert");
        }
        let after = server.version().await.expect("version");
        assert_eq!(after, admin.version().await.expect("version"), "write {i}");
        assert!(after.version > before.version, "write {i} not seen");
        // A commit that does not touch indicators leaves the version where it was.
        if i % 50 == 0 {
            assert_eq!(
                admin.delete(vec!["absent".into()]).await.expect("delete"),
                0
            );
            assert_eq!(server.version().await.expect("version"), after);
        }
    }
}

async fn get(addr: SocketAddr, target: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("utf-8");
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    let (_, body) = text.split_once("\r\n\r\n").expect("head");
    body.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_serves_another_handles_commit_from_the_next_poll() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let admin = EmbeddedStore::open(dir.path()).expect("open again");
    admin.upsert(vec![ip("192.0.2.1")]).await.expect("seed");
    let config = EngineConfig::parse(
        "[[instance]]\nname = \"edl\"\nkind = \"export\"\nport = 0\n",
        "probe.toml",
        &HashMap::<String, String>::new(),
    )
    .expect("config");
    let engine = Engine::start(&config, store).await.expect("start");
    let url = engine.urls()[0].1.clone();
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(engine.run(async {
        let _ = stopped.await;
    }));
    let mut expected = vec!["192.0.2.1".to_owned()];
    assert_eq!(get(addr, "/").await, expected.join("\n"));
    for i in 2..40u32 {
        // Cached polls in between: the answer must not stick.
        assert_eq!(get(addr, "/").await, expected.join("\n"));
        let value = format!("192.0.2.{i}");
        admin.upsert(vec![ip(&value)]).await.expect("upsert");
        expected.push(value);
        assert_eq!(get(addr, "/").await, expected.join("\n"), "after write {i}");
        if i % 4 == 0 {
            let dropped = expected.remove(0);
            admin.delete(vec![dropped]).await.expect("delete");
            assert_eq!(
                get(addr, "/").await,
                expected.join("\n"),
                "after delete {i}"
            );
        }
    }
    let _ = stop.send(());
    server.await.expect("stops");
}
