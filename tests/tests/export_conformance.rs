//! Every vector in `tests/conformance/export/` through the real request path
//! (`feedgate::http::gate::serve_export`). New vector files are picked up without code changes.

use std::path::{Path, PathBuf};

use feedgate::auth::Credential;
use feedgate::export::args::ExportParams;
use feedgate::http::gate::{ExportInstance, serve_export};
use feedgate::http::{Request, Response};
use feedgate::instant::Instant;
use feedgate::{Dataset, Indicator};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Deserialize)]
struct Vector {
    name: String,
    instance_params: Map<String, Value>,
    request: VectorRequest,
    indicators: Vec<Indicator>,
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
    path: String,
    query: Map<String, Value>,
    headers: Map<String, Value>,
}

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/export")
}

fn load(path: &Path) -> Vector {
    let text = std::fs::read_to_string(path).expect("read vector");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn instance(v: &Vector) -> ExportInstance {
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

fn request(v: &Vector) -> Request {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut bare = Vec::new();
    for (k, val) in &v.request.query {
        let val = val.as_str().expect("query values are strings");
        if val.is_empty() {
            bare.push(k.clone());
        } else {
            query.append_pair(k, val);
        }
    }
    let mut query = query.finish();
    for k in bare {
        // An empty value means the argument is present without a value (`?sp`).
        let encoded: String = form_urlencoded::byte_serialize(k.as_bytes()).collect();
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&encoded);
    }
    Request {
        method: v.request.method.clone(),
        path: v.request.path.clone(),
        query,
        headers: v
            .request
            .headers
            .iter()
            .map(|(k, val)| (k.clone(), val.as_str().expect("header").to_owned()))
            .collect(),
        body: Default::default(),
    }
}

/// Checks one vector; returns the list of mismatches.
fn check(v: &Vector, resp: &Response) -> Vec<String> {
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
            // Query errors give the position in `notes`; the reason wording is free.
            let notes = v.notes.as_deref().unwrap_or_default();
            let position = notes
                .split("Expected error position: ")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .expect("a body-less vector names the error position in its notes");
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
    if resp.status == 200 {
        let tag = feedgate::http::etag::etag(&resp.body);
        if resp.header("ETag") != Some(tag.as_str()) {
            problems.push("ETag is not the SHA-1 of the body".into());
        }
    }
    problems
}

#[test]
fn every_export_vector_passes_through_the_request_path() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .expect("vector dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 200,
        "expected the whole vector set, found {}",
        paths.len()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let v = load(path);
        let dataset = Dataset::new(v.indicators.clone(), 1, Instant::from_unix_millis(0));
        let resp = serve_export(&instance(&v), None, &dataset, &request(&v), Instant::now());
        let problems = check(&v, &resp);
        if !problems.is_empty() {
            failures.push(format!(
                "{}:\n  {}",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                problems.join("\n  ")
            ));
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
