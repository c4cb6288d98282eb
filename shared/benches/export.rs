//! Export throughput over 1,000,000 generated indicators (issue: export core targets).
//! Run: `cargo bench -p feedgate --bench export`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use feedgate::export::args::ExportParams;
use feedgate::http::Request;
use feedgate::http::export::handle;
use feedgate::instant::Instant;
use feedgate::query::Query;
use feedgate::{Dataset, sample};

// The allocator the engine and the `export` function ship with: measure what runs. A render
// allocates its output buffer afresh; glibc's malloc hands blocks this large back to the
// kernel after each render and faults them in again for the next.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const COUNT: usize = 1_000_000;

fn request(query: &str) -> Request {
    Request {
        method: "GET".into(),
        path: "/".into(),
        query: query.into(),
        ..Request::default()
    }
}

fn exports(c: &mut Criterion) {
    let dataset = Dataset::new(sample::indicators(COUNT), 1, Instant::now());
    let params = ExportParams::default();
    let now = Instant::now();
    let mut group = c.benchmark_group("export_1m");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for (name, query) in [
        ("text", "n=2000000"),
        ("text_tr2_cidrs", "n=2000000&tr=2"),
        ("text_tr1_ranges", "n=2000000&tr=1"),
        ("csv", "n=2000000&v=csv"),
        ("json", "n=2000000&v=json"),
        ("text_default_n2500", ""),
    ] {
        let req = request(query);
        group.bench_function(name, |b| {
            b.iter(|| {
                let resp = handle(&params, &dataset, &req, now).expect("export");
                black_box(resp.body.len())
            })
        });
    }
    let query =
        Query::parse(r#"type:IP and sourceBrands:"AWS Feed" and score:>=2"#).expect("query");
    // As exports select: over the dataset, whose field columns the first run builds.
    group.bench_function("query_three_clauses", |b| {
        b.iter(|| black_box(query.select_in(&dataset, now).len()))
    });
    // The second selection over a freshly loaded set: the one that builds the field columns
    // (the first reads the records; later ones read the columns, as measured above).
    let indicators = dataset.indicators().to_vec();
    group.bench_function("query_second_selection", |b| {
        b.iter_batched(
            || {
                let fresh = Dataset::new(indicators.clone(), 2, Instant::now());
                black_box(query.select_in(&fresh, now).len());
                fresh
            },
            |fresh| black_box(query.select_in(&fresh, now).len()),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, exports);
criterion_main!(benches);
