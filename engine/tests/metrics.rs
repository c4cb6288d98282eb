//! The admin port end to end: an engine with `[admin]` on free loopback ports, a few requests
//! of known outcome to two instances, then `GET /metrics` parsed and every counter checked to
//! have moved by exactly what was sent.

use std::collections::HashMap;
use std::net::SocketAddr;

use feedgate::sample;
use feedgate::store::IndicatorStore;
use feedgate_engine::app::Engine;
use feedgate_engine::config::EngineConfig;
use feedgate_store_embedded::EmbeddedStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONFIG: &str = r#"
[[instance]]
name = "edl"
kind = "export"
port = 0
[instance.params]
edl_size = "100"

[[instance]]
name = "locked"
kind = "export"
port = 0
[instance.credentials]
username = "fw-user"
password = "s3cret-pw"

[admin]
port = 0
"#;

/// One HTTP/1.1 exchange on a fresh connection: status, headers (lower-case names), body.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

async fn send(addr: SocketAddr, method: &str, target: &str, extra: &[(&str, &str)]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head");
    let head = String::from_utf8(raw[..split].to_vec()).expect("ascii head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..eol]).expect("hex").trim(), 16)
            .expect("chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

/// `name{labels}` → value, from Prometheus text; fails on a line that is not a comment or a
/// well-formed sample.
fn parse_exposition(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line:?}")),
        };
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "duplicate series {series}"
        );
    }
    samples
}

fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}");
    let mut out = String::from("Basic ");
    for chunk in input.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .expect("address in url")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_exactly_what_was_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    store.upsert(sample::indicators(20)).await.expect("seed");
    let config = EngineConfig::parse(CONFIG, "metrics.toml", &HashMap::<String, String>::new())
        .expect("config loads");
    let engine = Engine::start(&config, store).await.expect("engine starts");
    let urls: HashMap<String, SocketAddr> = engine
        .urls()
        .into_iter()
        .map(|(name, url)| (name, addr_of(&url)))
        .collect();
    let admin_url = engine.admin_url().expect("admin configured");
    assert!(admin_url.starts_with("http://127.0.0.1:"), "{admin_url}");
    assert!(admin_url.ends_with("/metrics"), "{admin_url}");
    let admin = addr_of(&admin_url);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(engine.run(async {
        let _ = stopped.await;
    }));

    // Before any request: the instances' series exist at zero, the build is named.
    let scrape = send(admin, "GET", "/metrics", &[]).await;
    assert_eq!(scrape.status, 200);
    assert_eq!(
        scrape.headers.get("content-type").map(String::as_str),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let before = parse_exposition(std::str::from_utf8(&scrape.body).expect("utf-8"));
    assert_eq!(
        before.get(&format!(
            "feedgate_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        Some(&1.0)
    );
    assert_eq!(before.get("feedgate_store_errors_total"), Some(&0.0));
    assert_eq!(
        before.get("feedgate_http_response_bytes_total{instance=\"edl\"}"),
        Some(&0.0)
    );
    assert!(
        !before
            .keys()
            .any(|k| k.starts_with("feedgate_http_requests_total"))
    );

    let (edl, locked) = (urls["edl"], urls["locked"]);
    let right = basic("fw-user", "s3cret-pw");
    let wrong = basic("fw-user", "not-it");
    let answers = [
        ("edl", send(edl, "GET", "/?n=3", &[]).await),
        ("edl", send(edl, "GET", "/?n=5&v=json", &[]).await),
        ("edl", send(edl, "GET", "/?n=abc", &[]).await),
        ("edl", send(edl, "GET", "/missing", &[]).await),
        (
            "edl",
            send(edl, "POST", "/", &[("Content-Length", "0")]).await,
        ),
        ("locked", send(locked, "GET", "/?n=2", &[]).await),
        (
            "locked",
            send(locked, "GET", "/?n=2", &[("Authorization", &wrong)]).await,
        ),
        (
            "locked",
            send(locked, "GET", "/?n=2", &[("Authorization", &right)]).await,
        ),
    ];
    let statuses: Vec<(&str, u16)> = answers.iter().map(|(i, a)| (*i, a.status)).collect();
    assert_eq!(
        statuses,
        [
            ("edl", 200),
            ("edl", 200),
            ("edl", 400),
            ("edl", 404),
            ("edl", 405),
            ("locked", 401),
            ("locked", 401),
            ("locked", 200)
        ]
    );
    let last_edl_size: f64 = answers[1].1.headers["x-edl-size"].parse().expect("size");
    assert_eq!(last_edl_size, 5.0);

    // The admin port answers nothing but /metrics.
    assert_eq!(send(admin, "GET", "/", &[]).await.status, 404);
    assert_eq!(send(admin, "GET", "/metrics/x", &[]).await.status, 404);
    let post = send(admin, "POST", "/metrics", &[("Content-Length", "0")]).await;
    assert_eq!(post.status, 405);
    assert_eq!(
        post.headers.get("allow").map(String::as_str),
        Some("GET, HEAD")
    );

    let scrape = send(admin, "GET", "/metrics?x=1", &[]).await;
    assert_eq!(scrape.status, 200);
    let text = String::from_utf8(scrape.body).expect("utf-8");
    let after = parse_exposition(&text);
    let value = |series: &str| {
        *after
            .get(series)
            .unwrap_or_else(|| panic!("{series} missing from:\n{text}"))
    };
    let requests = |instance: &str, status: u16| {
        value(&format!(
            "feedgate_http_requests_total{{instance=\"{instance}\",status=\"{status}\"}}"
        ))
    };
    assert_eq!(requests("edl", 200), 2.0);
    assert_eq!(requests("edl", 400), 1.0);
    assert_eq!(requests("edl", 404), 1.0);
    assert_eq!(requests("edl", 405), 1.0);
    assert_eq!(requests("locked", 401), 2.0);
    assert_eq!(requests("locked", 200), 1.0);
    let request_series = after
        .keys()
        .filter(|k| k.starts_with("feedgate_http_requests_total"))
        .count();
    assert_eq!(request_series, 6, "no other status was counted:\n{text}");
    for instance in ["edl", "locked"] {
        let sent: usize = answers
            .iter()
            .filter(|(i, _)| *i == instance)
            .map(|(_, a)| a.body.len())
            .sum();
        let count = answers.iter().filter(|(i, _)| *i == instance).count();
        assert_eq!(
            value(&format!(
                "feedgate_http_response_bytes_total{{instance=\"{instance}\"}}"
            )),
            sent as f64,
            "{instance}"
        );
        assert_eq!(
            value(&format!(
                "feedgate_http_request_duration_seconds_count{{instance=\"{instance}\"}}"
            )),
            count as f64
        );
        assert_eq!(
            value(&format!(
                "feedgate_http_request_duration_seconds_bucket{{instance=\"{instance}\",le=\"+Inf\"}}"
            )),
            count as f64
        );
    }
    assert_eq!(
        value("feedgate_export_indicators{instance=\"edl\"}"),
        last_edl_size
    );
    assert_eq!(
        value("feedgate_export_indicators{instance=\"locked\"}"),
        2.0
    );
    assert_eq!(value("feedgate_store_errors_total"), 0.0);
    // Nothing a client sent reaches a label.
    for secret in ["fw-user", "s3cret", "not-it", "n=abc", "v=json", "missing"] {
        assert!(!text.contains(secret), "{secret:?} in the exposition");
    }
    // Scrapes are not requests of an instance.
    let again = send(admin, "GET", "/metrics", &[]).await;
    let again = parse_exposition(std::str::from_utf8(&again.body).expect("utf-8"));
    for (series, v) in &after {
        if series.starts_with("feedgate_http_") {
            assert_eq!(again.get(series), Some(v), "{series} moved on a scrape");
        }
    }

    let _ = stop.send(());
    server.await.expect("engine stops");
}

#[tokio::test]
async fn without_admin_nothing_listens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    let text = CONFIG.replace("[admin]\nport = 0\n", "");
    let config = EngineConfig::parse(&text, "metrics.toml", &HashMap::<String, String>::new())
        .expect("config loads");
    assert!(config.admin.is_none());
    let engine = Engine::start(&config, store).await.expect("engine starts");
    assert_eq!(engine.admin_url(), None);
    assert_eq!(engine.urls().len(), 2);
}

#[tokio::test]
async fn an_admin_port_in_use_refuses_to_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    let text = CONFIG.replace("[admin]\nport = 0", &format!("[admin]\nport = {port}"));
    let config = EngineConfig::parse(&text, "metrics.toml", &HashMap::<String, String>::new())
        .expect("config loads");
    let err = Engine::start(&config, store)
        .await
        .expect_err("port in use")
        .to_string();
    assert!(
        err.starts_with("admin.port: cannot listen on 127.0.0.1:"),
        "{err}"
    );
}
