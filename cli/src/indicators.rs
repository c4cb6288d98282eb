//! `feedgate indicators import|delete|count`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use feedgate::Indicator;
use feedgate::import::{self, ImportFormat};
use feedgate::indicator::IndicatorRecord;
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
                let summary = import_file(store, &file, forced, kind.as_deref()).await?;
                total.added += summary.added;
                total.updated += summary.updated;
                rejected += summary.rejected;
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

/// What the reading thread hands the writing side, in file order.
enum Read {
    /// How many entries the file holds, when the reader knows.
    Expect(u64),
    /// The next batch: records ready to store, and the records read along with them that
    /// cannot become indicators.
    Batch(Vec<Indicator>, Vec<import::Rejected>),
}

/// The reading side of an import: records converted and gathered into batches, sent on to
/// the store writer. When the writer has stopped (a store error), the rest is dropped.
struct Batches {
    to_writer: tokio::sync::mpsc::Sender<Read>,
    batch: Vec<Indicator>,
    rejected: Vec<import::Rejected>,
}

impl Batches {
    fn send(&mut self, read: Read) {
        // An error means the writer gave up; it reports why.
        let _ = self.to_writer.blocking_send(read);
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() || !self.rejected.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            let rejected = std::mem::take(&mut self.rejected);
            self.send(Read::Batch(batch, rejected));
        }
    }
}

impl import::Sink for Batches {
    fn expect(&mut self, entries: u64) {
        self.send(Read::Expect(entries));
    }

    fn record(&mut self, record: IndicatorRecord) {
        self.batch.push(Indicator::from(record));
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn reject(&mut self, record: usize, reason: String) {
        // Travels with its batch: a file with many rejections must turn neither into one
        // small write per record nor into one message per rejection.
        self.rejected.push(import::Rejected { record, reason });
        if self.rejected.len() >= BATCH {
            self.flush();
        }
    }
}

/// Counts of one file's import.
struct FileSummary {
    added: u64,
    updated: u64,
    rejected: u64,
}

/// Imports one file: a blocking thread reads it and builds batches while this task stores the
/// previous one, so reading and writing overlap and memory holds a few batches, not the file's
/// records. A file that cannot be read as its format at all stores nothing (the reader checks
/// it before the first record); a store error stops the import, and only the batches the
/// store acknowledged were counted.
async fn import_file<S: IndicatorStore>(
    store: &S,
    file: &Path,
    forced: Option<ImportFormat>,
    default_type: Option<&str>,
) -> Result<FileSummary, CommandError> {
    let content = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let format = forced.unwrap_or_else(|| import::detect(&content));
    // Line formats: one record per line at most, a fair length for the progress bar (counted
    // only when there is a bar to show).
    let lines = match format {
        ImportFormat::Csv | ImportFormat::Text if showing_progress() => {
            content.iter().filter(|&&b| b == b'\n').count() as u64
        }
        _ => 0,
    };
    let default_type = default_type.map(str::to_owned);
    let (to_writer, mut from_reader) = tokio::sync::mpsc::channel(2);
    let reader = tokio::task::spawn_blocking(move || {
        let mut batches = Batches {
            to_writer,
            batch: Vec::with_capacity(BATCH),
            rejected: Vec::new(),
        };
        let read = import::parse_into(&content, format, default_type.as_deref(), &mut batches);
        batches.flush();
        read
    });
    let mut progress = progress_bar(lines, file);
    let mut summary = FileSummary {
        added: 0,
        updated: 0,
        rejected: 0,
    };
    while let Some(read) = from_reader.recv().await {
        match read {
            // Before any record: the bar for the counted length replaces the guess.
            Read::Expect(entries) => progress = progress_bar(entries, file),
            Read::Batch(batch, rejected) => {
                if !rejected.is_empty() {
                    progress.suspend(|| {
                        for r in &rejected {
                            eprintln!(
                                "{}: rejected record {}: {}",
                                file.display(),
                                r.record,
                                r.reason
                            );
                        }
                    });
                    summary.rejected += rejected.len() as u64;
                    progress.inc(rejected.len() as u64);
                }
                let n = batch.len() as u64;
                if n > 0 {
                    // Only counted once the store acknowledged the batch as durable.
                    let stored = store.upsert(batch).await?;
                    summary.added += stored.added;
                    summary.updated += stored.updated;
                    progress.inc(n);
                }
            }
        }
    }
    progress.finish_and_clear();
    reader
        .await
        .map_err(|e| format!("{}: reading stopped: {e}", file.display()))?
        .map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(summary)
}

/// Progress is for people: not when stderr is a pipe or a log.
fn showing_progress() -> bool {
    std::io::stderr().is_terminal()
}

fn progress_bar(len: u64, file: &std::path::Path) -> ProgressBar {
    // Not for small files.
    if len < 100_000 || !showing_progress() {
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
