//! Import and load 1,000,000 indicators through a local moto server.
//!
//! `cargo bench -p feedgate-store-dynamo --bench load [-- COUNT [BATCH]]`
//!
//! Starts moto (installing it when missing), imports the sample set in batches, then loads
//! it cold through a fresh client (nothing cached) and again warm, printing items/s,
//! requests, bytes read (HTTP response bodies) and seconds.

use std::time::{Duration, Instant};

use feedgate::store::IndicatorStore;
use feedgate_store_dynamo::{ClientSettings, DynamoStore};
use feedgate_tests::moto::Moto;

// The allocator the `export` function and the engine ship with: measure what runs. A cold
// load decodes a million records into fresh memory; glibc's malloc measured 2.6-3.2 s for
// the first load of a process here, mimalloc 1.7-1.8 s.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn settings(endpoint: String) -> ClientSettings {
    // Generous: moto is a single Python process and big batches take it a while.
    ClientSettings {
        attempt_timeout: Duration::from_secs(60),
        operation_timeout: Duration::from_secs(180),
        ..ClientSettings::local(endpoint)
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

async fn run(count: usize, batch: usize) {
    let moto = Moto::start();
    let table = "feedgate-bench";
    let writer = DynamoStore::new(&settings(moto.endpoint()).client(), table);
    writer
        .create_table_if_missing()
        .await
        .expect("create table");

    let indicators = feedgate::sample::indicators(count);
    let (req0, bytes0) = (writer.metrics().requests(), writer.metrics().bytes_read());
    let started = Instant::now();
    for part in indicators.chunks(batch) {
        writer.upsert(part.to_vec()).await.expect("import batch");
    }
    let import = started.elapsed();
    let stats = writer.snapshot_stats().await.expect("stats");
    println!(
        "import: {count} indicators in batches of {batch}: {:.2} s, {:.0} items/s, {} requests, {:.1} MB read",
        import.as_secs_f64(),
        count as f64 / import.as_secs_f64(),
        writer.metrics().requests() - req0,
        mb(writer.metrics().bytes_read() - bytes0),
    );
    println!(
        "snapshot: version {}, {} indicators, {} chunks, {:.1} MB compressed ({:.1} bytes/indicator)",
        stats.version,
        stats.indicators,
        stats.chunks,
        mb(stats.bytes),
        stats.bytes as f64 / stats.indicators.max(1) as f64,
    );

    for round in 0..3 {
        // A fresh client and store value: nothing cached, as a cold Lambda.
        let reader = DynamoStore::new(&settings(moto.endpoint()).client(), table);
        let started = Instant::now();
        let cpu = feedgate::sample::process_cpu_seconds();
        let set = reader.load().await.expect("cold load");
        let cold = started.elapsed();
        let cpu = feedgate::sample::process_cpu_seconds() - cpu;
        assert_eq!(set.indicators().len(), count, "load returned the whole set");
        println!(
            "cold load #{round}: {:.3} s ({cpu:.2} s CPU), {} requests, {:.1} MB read",
            cold.as_secs_f64(),
            reader.metrics().requests(),
            mb(reader.metrics().bytes_read()),
        );
        let (req, bytes) = (reader.metrics().requests(), reader.metrics().bytes_read());
        let started = Instant::now();
        let again = reader.load().await.expect("warm load");
        println!(
            "warm load (version unchanged): {:.4} s, {} requests, {:.4} MB read, same set: {}",
            started.elapsed().as_secs_f64(),
            reader.metrics().requests() - req,
            mb(reader.metrics().bytes_read() - bytes),
            again.version() == set.version() && again.indicators().len() == count,
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; numbers are ours.
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let count = args.first().copied().unwrap_or(1_000_000);
    let batch = args.get(1).copied().unwrap_or(100_000);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(run(count, batch));
}
