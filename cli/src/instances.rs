//! `feedgate instances put|list|delete`: the instance configurations a serverless deployment
//! reads from its table (the engine reads its own from the config file).

use std::path::PathBuf;

use feedgate::auth::decide::Mode;
use feedgate::http::serve::KindParams;
use feedgate::store::{InstanceKind, InstanceRecord, InstanceStore};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{CommandError, GlobalOptions, open, with_store};

/// Instance configurations in the store.
#[derive(Debug, Clone, clap::Args)]
pub struct InstancesArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: InstancesCommand,
}

/// Instance commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum InstancesCommand {
    /// Store every `[[instance]]` of a TOML file (the shape of infra/instances.toml and of
    /// the engine config), parameters validated as serverless instances.
    Put {
        /// The file.
        file: PathBuf,
    },
    /// List stored instances.
    List,
    /// Delete a stored instance.
    Delete {
        /// Instance name.
        name: String,
    },
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    instance: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    kind: InstanceKind,
    port: Option<u16>,
    #[serde(default)]
    params: toml::Table,
}

/// Runs `instances`.
pub fn run(global: &GlobalOptions, args: InstancesArgs) -> Result<(), CommandError> {
    let config = open::config(global)?;
    open::runtime()?.block_on(async {
        let opened = open::store(config.as_ref()).await?;
        with_store!(opened, |store| instances(&store, args.command).await)
    })
}

fn records(file: &std::path::Path) -> Result<Vec<InstanceRecord>, CommandError> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let parsed: File = toml::from_str(&text).map_err(|e| {
        format!(
            "{}: {}",
            file.display(),
            e.to_string().trim_end().replace('\n', " ")
        )
    })?;
    let mut out = Vec::with_capacity(parsed.instance.len());
    for entry in parsed.instance {
        if !feedgate::store::valid_instance_name(&entry.name) {
            return Err(format!("instance {:?}: invalid name", entry.name).into());
        }
        let params: Map<String, Value> = serde_json::to_value(&entry.params)?
            .as_object()
            .cloned()
            .unwrap_or_default();
        KindParams::parse(entry.kind, &params, Mode::Serverless)
            .map_err(|e| format!("instance '{}': params.{}: {}", entry.name, e.name, e.reason))?;
        out.push(InstanceRecord {
            name: entry.name,
            kind: entry.kind,
            port: entry.port,
            params,
        });
    }
    Ok(out)
}

async fn instances<S: InstanceStore>(
    store: &S,
    command: InstancesCommand,
) -> Result<(), CommandError> {
    match command {
        InstancesCommand::Put { file } => {
            // Validate the whole file before writing any of it.
            let records = records(&file)?;
            let n = records.len();
            for record in records {
                store.put_instance(record).await?;
            }
            println!("{n} instance(s) stored");
        }
        InstancesCommand::List => {
            for i in store.instances().await? {
                println!("{}\t{:?}\t{}", i.name, i.kind, Value::Object(i.params));
            }
        }
        InstancesCommand::Delete { name } => {
            if !store.delete_instance(&name).await? {
                return Err(format!("no instance named '{name}'").into());
            }
            println!("instance '{name}' deleted");
        }
    }
    Ok(())
}
