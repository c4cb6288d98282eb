//! `feedgate store init`: create the DynamoDB table when missing (a no-op for the embedded
//! store, which creates itself).

use crate::open::Opened;
use crate::{CommandError, GlobalOptions, open};

/// Store maintenance.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// Store commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum StoreCommand {
    /// Create the table(s) when missing.
    Init,
}

/// Runs `store`.
pub fn run(global: &GlobalOptions, args: StoreArgs) -> Result<(), CommandError> {
    let StoreCommand::Init = args.command;
    let config = open::config(global)?;
    open::runtime()?.block_on(async {
        match open::store(config.as_ref()).await? {
            Opened::Embedded(_) => println!("embedded store ready"),
            Opened::Dynamo(store) => {
                let created = store.create_table_if_missing().await?;
                println!(
                    "table {} {}",
                    store.table(),
                    if created { "created" } else { "already exists" }
                );
            }
        }
        Ok(())
    })
}
