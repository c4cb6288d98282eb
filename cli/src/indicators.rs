//! `feedgate indicators import|delete|count`.

use std::io::IsTerminal;
use std::path::PathBuf;

use feedgate::Indicator;
use feedgate::import::{self, ImportFormat};
use feedgate::store::{IndicatorStore, UpsertSummary};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{CommandError, GlobalOptions, open, with_store};

/// Indicators in the store.
#[derive(Debug, Clone, clap::Args)]
pub struct IndicatorsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: IndicatorsCommand,
}

/// Indicator commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum IndicatorsCommand {
    /// Import files (JSON array, CSV with a header, plain text, or a STIX 2.1 bundle).
    Import {
        /// Files to import, in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The files' format; chosen from the content when absent.
        #[arg(long, value_parser = ["json", "csv", "text", "stix"])]
        format: Option<String>,
        /// Indicator type for plain-text values (detected when absent).
        #[arg(long = "type")]
        kind: Option<String>,
    },
    /// Delete indicators by value.
    Delete {
        /// Values.
        #[arg(required = true)]
        values: Vec<String>,
    },
    /// Print the number of stored indicators.
    Count,
}

/// Records per store write: big enough to amortise a transaction, small enough to show
/// progress and to bound memory.
const BATCH: usize = 50_000;

/// Runs `indicators`.
pub fn run(global: &GlobalOptions, args: IndicatorsArgs) -> Result<(), CommandError> {
    let config = open::config(global)?;
    open::runtime()?.block_on(async {
        let opened = open::store(config.as_ref()).await?;
        with_store!(opened, |store| indicators(&store, args.command).await)
    })
}

async fn indicators<S: IndicatorStore>(
    store: &S,
    command: IndicatorsCommand,
) -> Result<(), CommandError> {
    match command {
        IndicatorsCommand::Import {
            files,
            format,
            kind,
        } => {
            let forced: Option<ImportFormat> = match format {
                None => None,
                Some(f) => Some(f.parse().map_err(|_| format!("unknown format {f:?}"))?),
            };
            let mut total = UpsertSummary::default();
            let mut rejected = 0u64;
            for file in files {
                let content =
                    std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                let format = forced.unwrap_or_else(|| import::detect(&content));
                let parsed = import::parse(&content, format, kind.as_deref())
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                for r in &parsed.rejected {
                    eprintln!(
                        "{}: rejected record {}: {}",
                        file.display(),
                        r.record,
                        r.reason
                    );
                }
                rejected += parsed.rejected.len() as u64;
                let progress = progress_bar(parsed.records.len() as u64, &file);
                let mut records = parsed.records.into_iter().map(Indicator::from).peekable();
                while records.peek().is_some() {
                    let batch: Vec<Indicator> = records.by_ref().take(BATCH).collect();
                    let n = batch.len() as u64;
                    // Only counted once the store acknowledged the batch as durable.
                    let summary = store.upsert(batch).await?;
                    total.added += summary.added;
                    total.updated += summary.updated;
                    progress.inc(n);
                }
                progress.finish_and_clear();
            }
            println!(
                "added {}, updated {}, rejected {}",
                total.added, total.updated, rejected
            );
        }
        IndicatorsCommand::Delete { values } => {
            let deleted = store.delete(values).await?;
            println!("deleted {deleted}");
        }
        IndicatorsCommand::Count => println!("{}", store.count().await?),
    }
    Ok(())
}

fn progress_bar(len: u64, file: &std::path::Path) -> ProgressBar {
    // Progress only for people: not when stderr is a pipe or a log, and not for small files.
    if len < 100_000 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style);
    }
    bar.set_message(file.display().to_string());
    bar
}
