//! `feedgate serve`: every configured instance on its port; `--demo` for a first look.

use std::future::Future;

use feedgate::sample;
use feedgate::store::{IndicatorStore, ListStore, Store};
use feedgate_engine::app::{Engine, shutdown_signal};
use feedgate_engine::config::{EngineConfig, ProcessEnv};
use feedgate_store_embedded::EmbeddedStore;

use crate::open;
use crate::{CommandError, GlobalOptions, with_store};

/// Start the engine: every configured instance on its own port.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// No configuration needed: a temporary embedded store with sample indicators and one
    /// instance of each kind; prints the `curl` lines to try.
    #[arg(long)]
    pub demo: bool,
    /// With --demo: the export instance's port; webhook and publish list take the next two.
    #[arg(long, default_value_t = 8001, requires = "demo")]
    pub demo_port: u16,
}

/// Runs `serve`.
pub fn run(global: &GlobalOptions, args: ServeArgs) -> Result<(), CommandError> {
    init_logging();
    let rt = open::runtime()?;
    rt.block_on(async {
        if args.demo {
            demo(args.demo_port, shutdown_signal()).await
        } else {
            let path = global.config_path()?;
            let config = EngineConfig::load(&path, &ProcessEnv)?;
            if config.instances.is_empty() {
                return Err(format!("{}: no [[instance]] configured", path.display()).into());
            }
            for warning in &config.warnings {
                tracing::warn!("{warning}");
            }
            let opened = open::store(Some(&config)).await?;
            with_store!(opened, |store| serve(&config, store, shutdown_signal())
                .await)
        }
    })
}

async fn serve<S: Store + 'static>(
    config: &EngineConfig,
    store: S,
    shutdown: impl Future<Output = ()>,
) -> Result<(), CommandError> {
    let engine = Engine::start(config, store).await?;
    for (name, url) in engine.urls() {
        println!("{name}: {url}");
    }
    if let Some(url) = engine.admin_url() {
        // Not an instance line: instance names cannot contain spaces or parentheses.
        println!("admin (metrics): {url}");
    }
    engine.run(shutdown).await;
    Ok(())
}

/// Log lines on stderr; `RUST_LOG` overrides the default `info`. Colours only on a terminal:
/// escape codes do not belong in a log file (and cost a little on every access line). Lines
/// are written directly: a writer thread with a queue, and later a buffer written every 50 ms
/// by a flusher thread, were measured (`scripts/bench-engine`, interleaved runs) to save no
/// CPU per request within this machine's noise, and both lose the last lines on a crash.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// The demo list published by the publish-list instance.
const DEMO_LIST: &str = "203.0.113.10,198.51.100.0/24,bad.example.com";

/// The demo configuration: three open instances on loopback.
pub fn demo_config(port: u16) -> String {
    format!(
        r#"
[[instance]]
name = "demo_export"
kind = "export"
port = {port}
[instance.params]
edl_size = "10000"

[[instance]]
name = "demo_webhook"
kind = "webhook"
port = {webhook}

[[instance]]
name = "demo_lists"
kind = "publish_list"
port = {lists}
[instance.params]
listsToPublish = "blocklist"
commaToLineBreak = true
"#,
        webhook = port.wrapping_add(1),
        lists = port.wrapping_add(2)
    )
}

/// Runs the demo until `shutdown`.
pub async fn demo(port: u16, shutdown: impl Future<Output = ()>) -> Result<(), CommandError> {
    let dir = tempfile::tempdir()?;
    let store = EmbeddedStore::open(dir.path())?;
    store.upsert(sample::indicators(10_000)).await?;
    store
        .put_list("blocklist", DEMO_LIST.as_bytes().to_vec().into())
        .await?;
    let config = EngineConfig::parse(&demo_config(port), "demo", &ProcessEnv)?;
    let engine = Engine::start(&config, store).await?;
    let host = format!("127.0.0.1:{port}");
    println!(
        "feedgate demo: 10000 sample indicators in a temporary store ({})",
        dir.path().display()
    );
    println!("try:");
    println!("  curl -s 'http://{host}/?n=10'");
    println!("  curl -s 'http://{host}/?v=json&n=3'");
    println!("  curl -s 'http://{host}/?tr=2&q=type:IP&n=10'");
    println!(
        "  curl -s -X POST -d '{{\"name\":\"demo incident\"}}' http://127.0.0.1:{}/",
        port.wrapping_add(1)
    );
    println!(
        "  curl -s http://127.0.0.1:{}/blocklist",
        port.wrapping_add(2)
    );
    println!("Ctrl-C stops the demo and removes its store.");
    engine.run(shutdown).await;
    drop(dir);
    Ok(())
}
