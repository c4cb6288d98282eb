//! moto in server mode as a child process: the real DynamoDB-compatible server the DynamoDB
//! tests and benchmarks run against.
//!
//! [`Moto::start`] installs moto with pip when it is missing (through `scripts/moto`), starts
//! `moto_server` on a free port and waits until it answers. It never skips: when the server
//! cannot start, it panics saying why. The server is killed when the value is dropped, and
//! exits by itself when the test process ends (the script watches its parent), so a
//! process-wide server from [`shared`] does not outlive the test binary.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the server may take to answer after start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
    log: PathBuf,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/moto")
}

/// Installs moto once per process; the outcome is remembered.
fn install() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let out = Command::new("bash")
                .arg(script())
                .arg("install")
                .output()
                .map_err(|e| format!("cannot run scripts/moto: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "scripts/moto install failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        })
        .clone()
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free local port: {e}"))
}

/// Whether an HTTP server answers on `port`.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(
        &(Ipv4Addr::LOCALHOST, port).into(),
        Duration::from_millis(500),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

impl Moto {
    /// Starts a fresh server (empty state) on a free port.
    ///
    /// # Panics
    /// When moto cannot be installed or started; the message says why.
    pub fn start() -> Self {
        match Self::try_start() {
            Ok(moto) => moto,
            Err(why) => panic!("moto server could not start: {why}"),
        }
    }

    fn try_start() -> Result<Self, String> {
        install()?;
        let mut last = String::new();
        // A port found free can be taken before moto binds it: try a few.
        for _ in 0..3 {
            let port = free_port()?;
            let log = std::env::temp_dir()
                .join(format!("feedgate-moto-{}-{port}.log", std::process::id()));
            let log_file = File::create(&log).map_err(|e| format!("log file: {e}"))?;
            let log_err = log_file.try_clone().map_err(|e| format!("log file: {e}"))?;
            let child = Command::new("bash")
                .arg(script())
                .arg("run")
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(log_file)
                .stderr(log_err)
                .spawn()
                .map_err(|e| format!("cannot run scripts/moto: {e}"))?;
            let mut moto = Self { child, port, log };
            match moto.wait_until_answering() {
                Ok(()) => return Ok(moto),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn wait_until_answering(&mut self) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "moto_server exited with {status} during start-up: {}",
                    self.log_text()
                ));
            }
            if answers(self.port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "moto_server did not answer on port {} within {START_TIMEOUT:?}: {}",
            self.port,
            self.log_text()
        ))
    }

    fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Freezes the server (SIGSTOP): connections hang as with a dead host.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a paused server (SIGCONT); it carries on with what it had received.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// Kills the server now; its data is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(sig)
            .arg(self.child.id().to_string())
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "kill {sig} {} failed",
            self.child.id()
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // A paused server ignores SIGTERM until resumed; SIGKILL works either way.
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// One server for the whole test process (tests use fresh tables on it). Never dropped: it
/// exits with the process.
pub fn shared() -> &'static Moto {
    static SHARED: OnceLock<Moto> = OnceLock::new();
    SHARED.get_or_init(Moto::start)
}
