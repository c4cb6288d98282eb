//! Peak heap used while rendering the PAN-OS text list of 1,000,000 indicators, compared
//! with the size of the body. Run: `cargo bench -p feedgate --bench memory`.
//!
//! Each case is rendered twice from the same dataset. The first render of a dataset also
//! builds what the dataset keeps for every later render at the same version (the value
//! index that deduplication looks values up in); it is printed as `first`. Every later poll
//! of the same data pays only the render itself, printed as `render`.

use feedgate::export::args::ExportParams;
use feedgate::http::Request;
use feedgate::http::export::handle;
use feedgate::instant::Instant;
use feedgate::{Dataset, sample};
use peak_alloc::PeakAlloc;

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

fn main() {
    let dataset = Dataset::new(sample::indicators(1_000_000), 1, Instant::now());
    let params = ExportParams::default();
    for (name, query) in [("text", "n=2000000"), ("text_tr2_cidrs", "n=2000000&tr=2")] {
        let req = Request {
            method: "GET".into(),
            path: "/".into(),
            query: query.into(),
            ..Request::default()
        };
        for pass in ["first", "render"] {
            let before = PEAK.current_usage();
            PEAK.reset_peak_usage();
            let resp = handle(&params, &dataset, &req, Instant::now()).expect("export");
            let peak = PEAK.peak_usage().saturating_sub(before);
            let body = resp.body.len();
            println!(
                "{name} ({pass}): body {:.1} MB, peak extra heap {:.1} MB, ratio {:.2}x",
                body as f64 / 1e6,
                peak as f64 / 1e6,
                peak as f64 / body.max(1) as f64
            );
        }
    }
}
