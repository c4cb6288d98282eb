//! `feedgate creds hash|set-universal|set-instance`: Basic credentials, stored only as slow
//! salted hashes. Passwords are read from stdin, never from the command line.

use std::io::BufRead;

use feedgate::auth::Credential;
use feedgate::auth::secret::hash_secret;
use feedgate::store::CredentialStore;

use crate::{CommandError, GlobalOptions, open, with_store};

/// Manage credentials.
#[derive(Debug, Clone, clap::Args)]
pub struct CredsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CredsCommand,
}

/// Credential commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CredsCommand {
    /// Read a password on stdin and print its hash (for `password_hash` in the config).
    Hash,
    /// Set the universal credentials in the store (password on stdin).
    SetUniversal {
        /// Username.
        #[arg(long)]
        username: String,
    },
    /// Set an instance's credentials in the store (password on stdin).
    SetInstance {
        /// Instance name.
        name: String,
        /// Username.
        #[arg(long)]
        username: String,
    },
}

fn read_password() -> Result<String, CommandError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err("empty password on stdin".into());
    }
    Ok(password)
}

fn check_username(username: &str, universal: bool) -> Result<(), CommandError> {
    if username.is_empty() || username.contains(':') {
        return Err("username must be non-empty and contain no ':'".into());
    }
    if username.starts_with("_header:") {
        return Err(if universal {
            "universal credentials are always a Basic pair; '_header:' is per instance".into()
        } else {
            "header tokens are honoured by engines only; configure them in the engine config file"
                .into()
        });
    }
    Ok(())
}

/// Runs `creds`.
pub fn run(global: &GlobalOptions, args: CredsArgs) -> Result<(), CommandError> {
    if let CredsCommand::Hash = args.command {
        println!("{}", hash_secret(&read_password()?)?);
        return Ok(());
    }
    let config = open::config(global)?;
    open::runtime()?.block_on(async {
        let opened = open::store(config.as_ref()).await?;
        with_store!(opened, |store| set(&store, args.command).await)
    })
}

async fn set<S: CredentialStore>(store: &S, command: CredsCommand) -> Result<(), CommandError> {
    match command {
        CredsCommand::Hash => Ok(()),
        CredsCommand::SetUniversal { username } => {
            check_username(&username, true)?;
            let credential = Credential::from_password(username, &read_password()?)?;
            store.set_universal(credential).await?;
            println!("universal credentials set");
            Ok(())
        }
        CredsCommand::SetInstance { name, username } => {
            check_username(&username, false)?;
            if !feedgate::store::valid_instance_name(&name) {
                return Err(format!("invalid instance name {name:?}").into());
            }
            let credential = Credential::from_password(username, &read_password()?)?;
            store.set_instance_credential(&name, credential).await?;
            println!("credentials of instance '{name}' set");
            Ok(())
        }
    }
}
