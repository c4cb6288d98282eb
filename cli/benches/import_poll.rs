//! Engine end to end with 1,000,000 indicators: `feedgate indicators import` of a JSON file,
//! then `feedgate serve` and the first poll of the whole list, then a second poll.
//!
//! `cargo bench -p feedgate-cli --bench import_poll [-- <count>]`
//! (`FEEDGATE_BENCH_DIR=dir` keeps the sample file, the config and the store there.)
//!
//! Runs the real binary, as an operator would: the import is timed from process start to exit,
//! the first poll from the moment the engine printed its URL to the last byte of the body
//! (the engine loads the set from the store on that first request).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let bin = env!("CARGO_BIN_EXE_feedgate");
    // FEEDGATE_BENCH_DIR keeps the sample file, the config and the store for a look afterwards.
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = match std::env::var_os("FEEDGATE_BENCH_DIR") {
        Some(keep) => {
            let keep = std::path::PathBuf::from(keep);
            let _ = std::fs::remove_dir_all(&keep);
            std::fs::create_dir_all(&keep).expect("create FEEDGATE_BENCH_DIR");
            keep
        }
        None => temp.path().to_owned(),
    };

    let file = dir.join("indicators.json");
    let json = serde_json::to_vec(&feedgate::sample::indicators(count)).expect("sample JSON");
    std::fs::write(&file, &json).expect("write sample file");
    let config = dir.join("feedgate.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nkind = \"embedded\"\npath = {:?}\n\n\
             [[instance]]\nname = \"bench\"\nkind = \"export\"\nport = 0\n\
             [instance.params]\nedl_size = \"{count}\"\n",
            dir.join("store")
        ),
    )
    .expect("write config");
    println!(
        "{count} indicators, JSON file {:.1} MB; {} cores",
        json.len() as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let started = Instant::now();
    let out = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .args(["indicators", "import"])
        .arg(&file)
        .output()
        .expect("run feedgate indicators import");
    let import = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "import: {import:.2} s = {:.0} indicators/s ({})",
        count as f64 / import,
        String::from_utf8_lossy(&out.stdout).trim()
    );

    let mut server = Server::start(bin, &config);
    let url = server.url();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    for poll in ["first poll", "second poll"] {
        let started = Instant::now();
        let (status, body) = get(&addr, &format!("/?n={count}"));
        let took = started.elapsed().as_secs_f64();
        assert_eq!(status, 200, "poll answered {status}");
        let lines = body.iter().filter(|&&b| b == b'\n').count() + 1;
        println!(
            "{poll}: {took:.3} s, {lines} lines, {:.1} MB",
            body.len() as f64 / 1e6
        );
    }
    server.stop();
}

/// A running `feedgate serve`, stopped on drop.
struct Server {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Server {
    fn start(bin: &str, config: &std::path::Path) -> Self {
        let mut child = Command::new(bin)
            .arg("--config")
            .arg(config)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start feedgate serve");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Self { child, stdout }
    }

    /// The URL the engine prints for the instance once it listens.
    fn url(&mut self) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .stdout
                .read_line(&mut line)
                .expect("read engine output");
            assert!(n > 0, "the engine exited before it listened");
            if let Some(url) = line.trim().strip_prefix("bench: ") {
                return url.to_owned();
            }
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One HTTP/1.1 GET with `Connection: close`: status and body.
fn get(addr: &str, target: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connect to the engine");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let chunked = head
        .lines()
        .any(|l| l.eq_ignore_ascii_case("transfer-encoding: chunked"));
    let body = raw[split + 4..].to_vec();
    (status, if chunked { dechunk(&body) } else { body })
}

/// The payload of a chunked body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&raw[..eol])
                .split(';')
                .next()
                .unwrap_or("")
                .trim(),
            16,
        )
        .expect("chunk size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
    out
}
