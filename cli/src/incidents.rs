//! `feedgate incidents list`: what the webhooks stored.

use feedgate::store::IncidentStore;

use crate::{CommandError, GlobalOptions, open, with_store};

/// Inspect incidents created by webhook instances.
#[derive(Debug, Clone, clap::Args)]
pub struct IncidentsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: IncidentsCommand,
}

/// Incident commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum IncidentsCommand {
    /// List an instance's incidents in creation order.
    List {
        /// The webhook instance.
        #[arg(long)]
        instance: String,
        /// One JSON array of the stored incidents.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `incidents`.
pub fn run(global: &GlobalOptions, args: IncidentsArgs) -> Result<(), CommandError> {
    let config = open::config(global)?;
    let IncidentsCommand::List { instance, json } = args.command;
    open::runtime()?.block_on(async {
        let opened = open::store(config.as_ref()).await?;
        let incidents = with_store!(opened, |store| store.list_incidents(&instance).await)?;
        if json {
            println!("{}", serde_json::to_string(&incidents)?);
        } else {
            for i in &incidents {
                println!(
                    "{}  {}  {}  {}",
                    i.id,
                    i.created,
                    i.kind.as_deref().unwrap_or("-"),
                    i.name
                );
            }
            eprintln!("{} incident(s)", incidents.len());
        }
        Ok(())
    })
}
