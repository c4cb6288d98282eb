//! Imports 1,000,000 sample indicators into a fresh embedded store, then loads them back.
//! Prints import items/s, load seconds and the database size.
//!
//! `cargo bench -p feedgate-store-embedded --bench import_load [-- <count> [<batch>]]`

use std::path::PathBuf;
use std::time::Instant;

use feedgate::store::IndicatorStore;
use feedgate_store_embedded::EmbeddedStore;

// The allocator the `feedgate` binary ships with: measure what runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `cargo bench` passes `--bench`; positional numbers are ours.
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let count = numbers.first().copied().unwrap_or(1_000_000);
    let batch = numbers.get(1).copied().unwrap_or(10_000);
    let loads = numbers.get(2).copied().unwrap_or(3);
    // FEEDGATE_BENCH_DIR keeps the database for a look afterwards.
    let keep = std::env::var_os("FEEDGATE_BENCH_DIR").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("feedgate-bench-{}", std::process::id()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(run(dir.clone(), count, batch, loads));
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

async fn run(dir: PathBuf, count: usize, batch: usize, loads: usize) {
    let indicators = feedgate::sample::indicators(count);
    let store = EmbeddedStore::open(&dir).expect("open store");

    let (started, cpu) = (Instant::now(), feedgate::sample::process_cpu_seconds());
    let mut added = 0;
    for chunk in indicators.chunks(batch.max(1)) {
        added += store.upsert(chunk.to_vec()).await.expect("upsert").added;
    }
    let import = started.elapsed().as_secs_f64();
    let import_cpu = feedgate::sample::process_cpu_seconds() - cpu;
    assert_eq!(added, count as u64);
    println!(
        "import: {count} indicators in {import:.2} s = {:.0} items/s (batches of {batch}; \
         {import_cpu:.2} s CPU)",
        count as f64 / import
    );

    drop(store);
    for round in 1..=loads {
        // A new handle each round: a handle keeps its last load and would hand it back.
        let store = EmbeddedStore::open(&dir).expect("reopen store");
        let (started, cpu, rss) = (
            Instant::now(),
            feedgate::sample::process_cpu_seconds(),
            resident_bytes(),
        );
        let dataset = store.load().await.expect("load");
        let load = started.elapsed().as_secs_f64();
        let load_cpu = feedgate::sample::process_cpu_seconds() - cpu;
        let grown = resident_bytes().saturating_sub(rss);
        assert_eq!(dataset.indicators().len(), count);
        println!(
            "cold load #{round}: {count} indicators in {load:.3} s ({load_cpu:.2} s CPU; \
             resident memory +{:.0} MB)",
            grown as f64 / 1e6
        );
        let started = Instant::now();
        let again = store.load().await.expect("load");
        assert_eq!(again.version(), dataset.version());
        if round == loads {
            println!(
                "load at an unchanged version: {:.6} s",
                started.elapsed().as_secs_f64()
            );
        }
    }

    let size: u64 = ["feedgate.db", "feedgate.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "database size: {:.1} MB ({:.0} bytes/indicator, db + wal)",
        size as f64 / 1e6,
        size as f64 / count as f64
    );
}

/// Resident set size of this process (Linux; 0 elsewhere). Growth during a load is memory the
/// kernel had to hand over (and zero) for it, rather than memory the allocator reused.
fn resident_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
