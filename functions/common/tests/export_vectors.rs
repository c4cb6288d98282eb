//! Every export vector (`tests/conformance/export/`) through API Gateway's part, the
//! authorizer and the export handler, with the vector's indicators stored in a table on moto.
//!
//! Serverless mode has no open instances (integrations.md §2.1): a vector whose instance has
//! no credentials runs with a universal pair configured and that pair sent, unless the
//! vector sends its own `Authorization`: `057_auth_not_configured` (an open engine instance
//! ignoring the header) is therefore a 401 with the challenge here.

mod support;

use std::path::{Path, PathBuf};

use feedgate::Indicator;
use feedgate::http::etag::etag;
use feedgate_tests::http_client::HttpResponse;
use feedgate_tests::http_vectors::{Pair, Setup, SetupInstance};
use serde::Deserialize;
use serde_json::{Map, Value};
use support::{Gateway, fresh_store, seed};

/// The pair configured as universal credentials for vectors without credentials.
const UNIVERSAL: (&str, &str) = ("vector-user", "Vector-Pass-1");
/// `Basic base64("vector-user:Vector-Pass-1")`.
const UNIVERSAL_HEADER: &str = "Basic dmVjdG9yLXVzZXI6VmVjdG9yLVBhc3MtMQ==";

#[derive(Debug, Deserialize)]
struct Vector {
    instance_params: Map<String, Value>,
    request: VectorRequest,
    indicators: Vec<Value>,
    expected_status: u16,
    expected_content_type: Option<String>,
    expected_body: Option<String>,
    body_compare: String,
    expected_headers: Map<String, Value>,
    #[serde(default)]
    notes: Option<String>,
}

#[derive(Debug, Deserialize)]
struct VectorRequest {
    method: String,
    query: Map<String, Value>,
    headers: Map<String, Value>,
}

fn vectors() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/export");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("vector dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
}

/// The query string as a client sends it; an empty value is a bare name (`?sp`).
fn query(v: &Vector) -> String {
    let mut parts = Vec::new();
    for (k, val) in &v.request.query {
        let val = val.as_str().expect("query values are strings");
        let key: String = form_urlencoded::byte_serialize(k.as_bytes()).collect();
        if val.is_empty() {
            parts.push(key);
        } else {
            let val: String = form_urlencoded::byte_serialize(val.as_bytes()).collect();
            parts.push(format!("{key}={val}"));
        }
    }
    parts.join("&")
}

/// The case setup and request headers for one vector in serverless mode.
fn setup_and_headers(v: &Vector) -> (Setup, Vec<(String, String)>) {
    let mut params = v.instance_params.clone();
    let credentials = params.remove("credentials").map(|c| Pair {
        username: c["identifier"].as_str().expect("identifier").to_owned(),
        password: c["password"].as_str().expect("password").to_owned(),
    });
    let mut headers: Vec<(String, String)> = v
        .request
        .headers
        .iter()
        .map(|(k, val)| (k.clone(), val.as_str().expect("header").to_owned()))
        .collect();
    let sends_authorization = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
    let universal = credentials.is_none().then(|| Pair {
        username: UNIVERSAL.0.into(),
        password: UNIVERSAL.1.into(),
    });
    if credentials.is_none() && !sends_authorization {
        headers.push(("Authorization".into(), UNIVERSAL_HEADER.into()));
    }
    let setup = Setup {
        universal_credentials: universal,
        instances: vec![SetupInstance {
            name: "edl".into(),
            kind: "export".into(),
            params,
            credentials,
        }],
        lists: Map::new(),
        indicators: v.indicators.clone(),
        master_secret: None,
        api_keys: Vec::new(),
    };
    (setup, headers)
}

fn check(v: &Vector, resp: &HttpResponse) -> Vec<String> {
    let mut problems = Vec::new();
    let body = String::from_utf8_lossy(&resp.body).into_owned();
    if resp.status != v.expected_status {
        problems.push(format!(
            "status {} != {} (body {body:?})",
            resp.status, v.expected_status
        ));
    }
    if let Some(ct) = &v.expected_content_type
        && resp.header("Content-Type") != Some(ct.as_str())
    {
        problems.push(format!(
            "content-type {:?} != {ct:?}",
            resp.header("Content-Type")
        ));
    }
    match (&v.expected_body, v.body_compare.as_str()) {
        (Some(want), "exact") if body != *want => {
            problems.push(format!("body\n  got:  {body:?}\n  want: {want:?}"));
        }
        (Some(want), "json") => {
            let got: Result<Value, _> = serde_json::from_str(&body);
            let want: Value = serde_json::from_str(want).expect("expected json");
            if got.as_ref().ok() != Some(&want) {
                problems.push(format!("json body\n  got:  {body}\n  want: {want}"));
            }
        }
        (None, _) => {
            let notes = v.notes.as_deref().unwrap_or_default();
            let position = notes
                .split("Expected error position: ")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .expect("a body-less vector names the error position");
            if !body.starts_with("invalid argument 'q': ")
                || !body.ends_with(&format!(" at position {position}"))
            {
                problems.push(format!(
                    "query error body {body:?}, want position {position}"
                ));
            }
        }
        _ => {}
    }
    for (name, want) in &v.expected_headers {
        let want = want.as_str().expect("header value");
        if resp.header(name) != Some(want) {
            problems.push(format!(
                "header {name}: {:?} != {want:?}",
                resp.header(name)
            ));
        }
    }
    if resp.status == 200 && resp.header("ETag") != Some(etag(&resp.body).as_str()) {
        problems.push("ETag is not the SHA-1 of the body".into());
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_vector_passes_through_authorizer_and_export_handler() {
    let paths = vectors();
    assert!(
        paths.len() >= 200,
        "expected the whole vector set, found {}",
        paths.len()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let text = std::fs::read_to_string(path).expect("read vector");
        let mut v: Vector = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
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
        let q = query(&v);
        let target = if q.is_empty() {
            "/xsoar/instance/execute/edl".to_owned()
        } else {
            format!("/xsoar/instance/execute/edl?{q}")
        };
        let resp = gateway
            .send(&v.request.method, &target, &headers, None)
            .await;
        let problems = check(&v, &resp);
        if !problems.is_empty() {
            failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}
