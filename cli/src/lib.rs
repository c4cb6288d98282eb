//! The `feedgate` command tree (spec/engine.md). The binary (`main.rs`) only parses and
//! reports; everything else lives here so integration tests can drive it.
//!
//! # Adding a command group
//!
//! One file per group (`serve.rs`, `indicators.rs`, `lists.rs`, `incidents.rs`, `creds.rs`,
//! `keys.rs`, `store.rs`), shaped like [`infra`]:
//!
//! 1. In `src/<group>.rs`, a `#[derive(clap::Args)] pub struct <Group>Args` (holding a
//!    `#[command(subcommand)]` enum when the group has subcommands), the group's own error
//!    type, and `pub fn run(global: &GlobalOptions, args: <Group>Args) -> Result<(), <Error>>`.
//!    A group that needs async I/O builds its Tokio runtime inside its `run`.
//! 2. Here: `pub mod <group>;`, one [`Command`] variant whose doc comment is the group's
//!    `--help` line, and one arm in [`run`].
//!
//! Read the configuration file through [`GlobalOptions::config_path`], so `--config`,
//! `./feedgate.toml` and `FEEDGATE_CONFIG` are resolved the same way by every command.

use clap::{Parser, Subcommand};

pub mod creds;
pub mod global;
pub mod incidents;
pub mod indicators;
pub mod infra;
pub mod instances;
pub mod keys;
pub mod lists;
pub mod open;
pub mod serve;
pub mod storecmd;

pub use global::GlobalOptions;

/// Any command's failure, shown to the user as one line on stderr.
pub type CommandError = Box<dyn std::error::Error + Send + Sync>;

/// feedgate: serve security data over HTTPS like XSOAR's long-running integrations, and
/// administer its store and deployment.
#[derive(Debug, Parser)]
#[command(name = "feedgate", version)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the engine: every configured instance on its own port (--demo: no config needed).
    Serve(serve::ServeArgs),
    /// Indicators: import files, delete, count.
    Indicators(indicators::IndicatorsArgs),
    /// Publish-list lists: put, get, delete.
    Lists(lists::ListsArgs),
    /// Incidents created by webhooks.
    Incidents(incidents::IncidentsArgs),
    /// Basic credentials: hash a password, set universal or per-instance credentials.
    Creds(creds::CredsArgs),
    /// XDR-style API keys: create, list, revoke.
    Keys(keys::KeysArgs),
    /// Instance configurations stored for serverless deployments.
    Instances(instances::InstancesArgs),
    /// Store maintenance (create the DynamoDB table).
    Store(storecmd::StoreArgs),
    /// Infrastructure as code for serverless (AWS) deployments.
    Infra(infra::InfraArgs),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.global, args)?,
        Command::Indicators(args) => indicators::run(&cli.global, args)?,
        Command::Lists(args) => lists::run(&cli.global, args)?,
        Command::Incidents(args) => incidents::run(&cli.global, args)?,
        Command::Creds(args) => creds::run(&cli.global, args)?,
        Command::Keys(args) => keys::run(&cli.global, args)?,
        Command::Instances(args) => instances::run(&cli.global, args)?,
        Command::Store(args) => storecmd::run(&cli.global, args)?,
        Command::Infra(args) => infra::run(&cli.global, args)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn config_is_accepted_after_the_subcommand_too() {
        let cli = Cli::try_parse_from([
            "feedgate",
            "infra",
            "render",
            "--instances",
            "i.toml",
            "--out",
            "t.yaml",
            "--config",
            "x.toml",
        ])
        .expect("parses");
        assert_eq!(
            cli.global.config.as_deref(),
            Some(std::path::Path::new("x.toml"))
        );
    }
}
