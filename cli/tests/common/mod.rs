//! Helpers the binary's integration tests share.

// Each test file compiles its own copy of this module and uses a part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Lines};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};

/// Runs the `feedgate` binary with `--config <config>` and `args`, to completion.
pub fn feedgate(config: impl AsRef<OsStr>, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedgate"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("feedgate runs")
}

/// Writes `<dir>/feedgate.toml`: an embedded store in `<dir>/data`, then `rest` (instances,
/// credentials, ...). Returns the file's path.
pub fn write_config(dir: &Path, rest: &str) -> String {
    let config = dir.join("feedgate.toml");
    let store = format!("[store]\npath = \"{}\"\n\n", dir.join("data").display());
    std::fs::write(&config, store + rest).expect("config written");
    config.to_str().expect("utf8 path").to_owned()
}

/// A running engine, killed (SIGKILL) when dropped if it is still running.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `feedgate` with `args` (stdout piped, stderr as given) and returns it once it has
/// printed `lines` lines, with the rest of its stdout (kept open: the engine may print more).
pub fn start(
    args: &[&str],
    lines: usize,
    stderr: Stdio,
) -> (Running, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedgate"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("feedgate starts");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut out = BufReader::new(stdout).lines();
    for _ in 0..lines {
        out.next().expect("a line per instance").expect("utf8");
    }
    (running, out)
}

/// `feedgate --config <config> serve`, returned once each of its `instances` printed its URL.
pub fn serve(
    config: &str,
    instances: usize,
    stderr: Stdio,
) -> (Running, Lines<BufReader<ChildStdout>>) {
    start(&["--config", config, "serve"], instances, stderr)
}

/// `n` consecutive free ports on loopback; the first is returned.
pub fn free_ports(n: u16) -> u16 {
    for _ in 0..50 {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind probe");
        let base = probe.local_addr().expect("addr").port();
        drop(probe);
        if base < 65_000 && (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no {n} consecutive free ports");
}
