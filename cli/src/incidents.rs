//! `feedgate incidents list` / `samples`: what the webhooks stored.

use feedgate::store::{IncidentStore, SAMPLE_LIMIT, StoredIncident};

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
    /// Show an instance's sample buffer (the newest incidents kept with `store_samples`),
    /// oldest first.
    Samples {
        /// The webhook instance.
        #[arg(long)]
        instance: String,
        /// One JSON array of the samples in the stored incident form.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `incidents`.
pub fn run(global: &GlobalOptions, args: IncidentsArgs) -> Result<(), CommandError> {
    let config = open::config(global)?;
    open::runtime()?.block_on(async {
        let opened = open::store(config.as_ref()).await?;
        match args.command {
            IncidentsCommand::List { instance, json } => {
                let incidents = with_store!(opened, |store| store.list_incidents(&instance).await)?;
                print(&incidents, json)?;
                if !json {
                    eprintln!("{} incident(s)", incidents.len());
                }
            }
            IncidentsCommand::Samples { instance, json } => {
                let samples = with_store!(opened, |store| store.samples(&instance).await)?;
                print(&samples, json)?;
                if !json {
                    eprintln!(
                        "{} sample(s), oldest first (the newest {SAMPLE_LIMIT} are kept)",
                        samples.len()
                    );
                }
            }
        }
        Ok(())
    })
}

/// One JSON array, or one line per incident: id, created, type, name.
fn print(incidents: &[StoredIncident], json: bool) -> Result<(), CommandError> {
    if json {
        println!("{}", serde_json::to_string(incidents)?);
    } else {
        for i in incidents {
            println!(
                "{}  {}  {}  {}",
                i.id,
                i.created,
                i.kind.as_deref().unwrap_or("-"),
                i.name
            );
        }
    }
    Ok(())
}
