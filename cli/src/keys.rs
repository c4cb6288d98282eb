//! `feedgate keys create|list|revoke`: XDR-style API keys. Records hold no key material; a
//! key is derived from the master secret and shown once, at creation.

use feedgate::auth::apikey::MasterSecret;
use feedgate::instant::Instant;
use feedgate::store::{ApiKeyRecord, KeyStore, KeyType, Role};

use crate::{CommandError, GlobalOptions, open, with_store};

/// Manage API keys.
#[derive(Debug, Clone, clap::Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// Key commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (once).
    Create {
        /// read (export, lists), write (webhook) or admin (everything).
        #[arg(long, value_parser = ["read", "write", "admin"])]
        role: String,
        /// standard (key in Authorization) or advanced (nonce + timestamp digest).
        #[arg(long = "type", default_value = "standard", value_parser = ["standard", "advanced"])]
        kind: String,
        /// Expiry, any RFC 3339 instant (a past one creates an expired key).
        #[arg(long)]
        expires: Option<String>,
        /// Ask for this id (refused if it was ever used).
        #[arg(long)]
        id: Option<String>,
        /// Free text.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// List keys (revoked ones included).
    List,
    /// Revoke a key.
    Revoke {
        /// Key id.
        id: String,
    },
}

/// Runs `keys`.
pub fn run(global: &GlobalOptions, args: KeysArgs) -> Result<(), CommandError> {
    let config = open::config(global)?;
    let master = config.as_ref().and_then(|c| c.master_secret.clone());
    open::runtime()?.block_on(async {
        let opened = open::store(config.as_ref()).await?;
        with_store!(opened, |store| keys(
            &store,
            master.as_deref(),
            args.command
        )
        .await)
    })
}

async fn keys<S: KeyStore>(
    store: &S,
    master: Option<&str>,
    command: KeysCommand,
) -> Result<(), CommandError> {
    match command {
        KeysCommand::Create {
            role,
            kind,
            expires,
            id,
            comment,
        } => {
            let master = master.ok_or(
                "no API-key master secret: configure [api_keys] master_secret_env in the config file",
            )?;
            let master = MasterSecret::new(master)?;
            let expires_at = match expires {
                None => None,
                Some(text) => {
                    let at = Instant::parse(&text)
                        .filter(|_| text.len() > 10)
                        .ok_or_else(|| format!("--expires: not an RFC 3339 instant: {text:?}"))?;
                    if at <= Instant::now() {
                        eprintln!(
                            "warning: --expires {text} is in the past; the key is already expired"
                        );
                    }
                    Some(at.to_rfc3339_millis())
                }
            };
            let record = ApiKeyRecord {
                id: id.unwrap_or_default(),
                kind: if kind == "advanced" {
                    KeyType::Advanced
                } else {
                    KeyType::Standard
                },
                role: match role.as_str() {
                    "read" => Role::Read,
                    "write" => Role::Write,
                    _ => Role::Admin,
                },
                created_at: Instant::now().to_rfc3339_millis(),
                created_by: "cli".into(),
                expires_at,
                revoked: false,
                revoked_at: None,
                comment,
            };
            let created = store.create_key(record).await?;
            println!("id: {}", created.id);
            println!("key: {}", master.key(&created.id));
            eprintln!("the key is shown once; store it now");
        }
        KeysCommand::List => {
            for k in store.keys().await? {
                println!(
                    "{}\t{:?}\t{:?}\texpires={}\t{}",
                    k.id,
                    k.kind,
                    k.role,
                    k.expires_at.as_deref().unwrap_or("never"),
                    if k.revoked { "revoked" } else { "active" }
                );
            }
        }
        KeysCommand::Revoke { id } => {
            if !store.revoke_key(&id, Instant::now()).await? {
                return Err(format!("no key with id {id}").into());
            }
            println!("key {id} revoked");
        }
    }
    Ok(())
}
