//! Helpers the binary's integration tests share.

use std::ffi::OsStr;
use std::process::{Command, Output};

/// Runs the `feedgate` binary with `--config <config>` and `args`, to completion.
pub fn feedgate(config: impl AsRef<OsStr>, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedgate"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("feedgate runs")
}
