//! Every vector in `tests/conformance/export/` through the real request path
//! (`feedgate::http::gate::serve_export`). New vector files are picked up without code changes.

use feedgate::auth::Credential;
use feedgate::export::args::ExportParams;
use feedgate::http::Request;
use feedgate::http::gate::{ExportInstance, serve_export};
use feedgate::instant::Instant;
use feedgate::{Dataset, Indicator};
use feedgate_tests::export_vectors::{ExportVector, assert_all_passed, load_all};

fn instance(v: &ExportVector) -> ExportInstance {
    let mut params = v.instance_params.clone();
    let credentials = params.remove("credentials").map(|c| {
        let user = c["identifier"].as_str().expect("identifier");
        let password = c["password"].as_str().expect("password");
        Credential::from_password(user, password).expect("hash")
    });
    ExportInstance {
        name: v.name.clone(),
        params: ExportParams::from_params(&params).expect("valid instance params"),
        credentials,
    }
}

fn request(v: &ExportVector) -> Request {
    Request {
        method: v.request.method.clone(),
        path: v.request.path.clone(),
        query: v.query_string(),
        headers: v.headers(),
        body: Default::default(),
    }
}

#[test]
fn every_export_vector_passes_through_the_request_path() {
    let results: Vec<_> = load_all()
        .into_iter()
        .map(|(path, v)| {
            let indicators: Vec<Indicator> = v
                .indicators
                .iter()
                .map(|i| serde_json::from_value(i.clone()).expect("indicator"))
                .collect();
            let dataset = Dataset::new(indicators, 1, Instant::from_unix_millis(0));
            let resp = serve_export(&instance(&v), None, &dataset, &request(&v), Instant::now());
            (
                path,
                v.check(resp.status, |name| resp.header(name), &resp.body),
            )
        })
        .collect();
    assert_all_passed(&results);
}
