//! `feedgate lists put|get|delete`: the named lists the Publish List integration serves.

use std::io::Write;
use std::path::PathBuf;

use feedgate::lists::MAX_LIST_BYTES;
use feedgate::store::ListStore;

use crate::{CommandError, GlobalOptions, open, with_store};

/// Manage published lists.
#[derive(Debug, Clone, clap::Args)]
pub struct ListsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ListsCommand,
}

/// List commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ListsCommand {
    /// Create or replace a list from a file (`-` reads stdin).
    Put {
        /// List name.
        name: String,
        /// File with the content.
        file: PathBuf,
    },
    /// Print a list's content.
    Get {
        /// List name.
        name: String,
    },
    /// Delete a list.
    Delete {
        /// List name.
        name: String,
    },
}

/// Runs `lists`.
pub fn run(global: &GlobalOptions, args: ListsArgs) -> Result<(), CommandError> {
    let config = open::config(global)?;
    open::runtime()?.block_on(async {
        let opened = open::store(config.as_ref()).await?;
        with_store!(opened, |store| lists(&store, args.command).await)
    })
}

async fn lists<S: ListStore>(store: &S, command: ListsCommand) -> Result<(), CommandError> {
    match command {
        ListsCommand::Put { name, file } => {
            if name.is_empty() {
                return Err("list name must not be empty".into());
            }
            let content = if file.as_os_str() == "-" {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
                buf
            } else {
                std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?
            };
            if content.len() > MAX_LIST_BYTES {
                return Err(format!(
                    "{}: {} bytes; a list holds at most {MAX_LIST_BYTES} bytes",
                    file.display(),
                    content.len()
                )
                .into());
            }
            let size = content.len();
            store.put_list(&name, content.into()).await?;
            println!("list '{name}' stored ({size} bytes)");
        }
        ListsCommand::Get { name } => match store.get_list(&name).await? {
            Some(content) => std::io::stdout().write_all(&content)?,
            None => return Err(format!("no list named '{name}'").into()),
        },
        ListsCommand::Delete { name } => {
            if !store.delete_list(&name).await? {
                return Err(format!("no list named '{name}'").into());
            }
            println!("list '{name}' deleted");
        }
    }
    Ok(())
}
