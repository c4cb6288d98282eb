//! Every export vector (`tests/conformance/export/`) through API Gateway's part, the
//! authorizer and the export handler, with the vector's indicators stored in a table on moto.
//!
//! Serverless mode has no open instances (integrations.md §2.1): a vector whose instance has
//! no credentials runs with a universal pair configured and that pair sent, unless the
//! vector sends its own `Authorization`: `057_auth_not_configured` (an open engine instance
//! ignoring the header) is therefore a 401 with the challenge here.

mod support;

use feedgate::Indicator;
use feedgate_tests::export_vectors::{ExportVector, assert_all_passed, load_all};
use feedgate_tests::http_vectors::{Pair, Setup};
use support::{Gateway, fresh_store, seed};

/// The pair configured as universal credentials for vectors without credentials.
const UNIVERSAL: (&str, &str) = ("vector-user", "Vector-Pass-1");
/// `Basic base64("vector-user:Vector-Pass-1")`.
const UNIVERSAL_HEADER: &str = "Basic dmVjdG9yLXVzZXI6VmVjdG9yLVBhc3MtMQ==";

/// The case setup and request headers for one vector in serverless mode.
fn setup_and_headers(v: &ExportVector) -> (Setup, Vec<(String, String)>) {
    let mut setup = v.setup();
    let mut headers = v.headers();
    let sends_authorization = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
    let open = setup.instances.iter().all(|i| i.credentials.is_none());
    if open {
        setup.universal_credentials = Some(Pair {
            username: UNIVERSAL.0.into(),
            password: UNIVERSAL.1.into(),
        });
        if !sends_authorization {
            headers.push(("Authorization".into(), UNIVERSAL_HEADER.into()));
        }
    }
    (setup, headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_vector_passes_through_authorizer_and_export_handler() {
    let mut results = Vec::new();
    for (path, mut v) in load_all() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        // Indicators parse as the store's records (the vectors' own shape).
        for i in &v.indicators {
            let _: Indicator = serde_json::from_value(i.clone()).expect("indicator");
        }
        if name == "057_auth_not_configured.json" {
            v.expected_status = 401;
            v.expected_body = Some(
                "Basic authentication failed. Make sure you are using the right credentials."
                    .into(),
            );
            v.expected_headers =
                serde_json::json!({"WWW-Authenticate": "Basic realm=\"feedgate\""})
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
        }
        let (setup, headers) = setup_and_headers(&v);
        let store = fresh_store(&format!("vec{}", &name[..3])).await;
        seed(&store, &setup).await;
        let gateway = Gateway::new(&store, &setup);
        let q = v.query_string();
        let target = if q.is_empty() {
            "/xsoar/instance/execute/edl".to_owned()
        } else {
            format!("/xsoar/instance/execute/edl?{q}")
        };
        let resp = gateway
            .send(&v.request.method, &target, &headers, None)
            .await;
        let problems = v.check(resp.status, |n| resp.header(n), &resp.body);
        results.push((path, problems));
    }
    assert_all_passed(&results);
}
