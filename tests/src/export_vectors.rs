//! The export conformance vectors (`tests/conformance/export/`): their shape, the query
//! string a client sends, and the checks — shared by the library and the Lambda runners.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::http_vectors::{Pair, Setup, SetupInstance};

/// One vector file.
#[derive(Debug, Clone, Deserialize)]
pub struct ExportVector {
    /// Unique name.
    pub name: String,
    /// XSOAR instance parameters (`credentials` included when set).
    pub instance_params: Map<String, Value>,
    /// The request.
    pub request: VectorRequest,
    /// Stored indicators, `{value, type, fields?, custom_fields?}`.
    pub indicators: Vec<Value>,
    /// Status.
    pub expected_status: u16,
    /// Full `Content-Type`, or null.
    pub expected_content_type: Option<String>,
    /// Body, or null for query errors (position in `notes`).
    pub expected_body: Option<String>,
    /// `exact` or `json`.
    pub body_compare: String,
    /// Headers with exact values.
    pub expected_headers: Map<String, Value>,
    /// Remarks (query-error positions).
    #[serde(default)]
    pub notes: Option<String>,
}

/// A vector's request.
#[derive(Debug, Clone, Deserialize)]
pub struct VectorRequest {
    /// Method.
    pub method: String,
    /// Path relative to the instance root.
    pub path: String,
    /// Decoded query arguments; an empty value is a bare name.
    pub query: Map<String, Value>,
    /// Headers.
    pub headers: Map<String, Value>,
}

/// Every vector, sorted by file name; new files are picked up without code changes.
pub fn load_all() -> Vec<(PathBuf, ExportVector)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/export");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read vector");
            let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, v)
        })
        .collect()
}

/// Fails, listing every vector with its problems, unless all passed; `results` holds each
/// vector's path and what its check found.
pub fn assert_all_passed(results: &[(PathBuf, Vec<String>)]) {
    assert!(
        results.len() >= 200,
        "expected the whole vector set, found {}",
        results.len()
    );
    let failures: Vec<String> = results
        .iter()
        .filter(|(_, problems)| !problems.is_empty())
        .map(|(path, problems)| {
            format!(
                "{}:\n  {}",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                problems.join("\n  ")
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

impl ExportVector {
    /// The vector as a deployment: one export instance `edl` with the vector's parameters and
    /// its credentials (when set), and the vector's indicators stored. No universal pair.
    pub fn setup(&self) -> Setup {
        let mut params = self.instance_params.clone();
        let credentials = params.remove("credentials").map(|c| Pair {
            username: c["identifier"].as_str().expect("identifier").to_owned(),
            password: c["password"].as_str().expect("password").to_owned(),
        });
        Setup {
            universal_credentials: None,
            instances: vec![SetupInstance {
                name: "edl".into(),
                kind: "export".into(),
                params,
                credentials,
            }],
            lists: Map::new(),
            indicators: self.indicators.clone(),
            master_secret: None,
            api_keys: Vec::new(),
        }
    }

    /// The query string as a client sends it; an empty value is a bare name (`?sp`).
    pub fn query_string(&self) -> String {
        let mut parts = Vec::new();
        for (k, val) in &self.request.query {
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

    /// The request headers as name/value pairs.
    pub fn headers(&self) -> Vec<(String, String)> {
        self.request
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("header").to_owned()))
            .collect()
    }

    /// Checks a response (status, header lookup, body); returns what differs.
    pub fn check<'a>(
        &self,
        status: u16,
        header: impl Fn(&str) -> Option<&'a str>,
        body: &[u8],
    ) -> Vec<String> {
        let mut problems = Vec::new();
        let text = String::from_utf8_lossy(body).into_owned();
        if status != self.expected_status {
            problems.push(format!(
                "status {status} != {} (body {text:?})",
                self.expected_status
            ));
        }
        if let Some(ct) = &self.expected_content_type
            && header("Content-Type") != Some(ct.as_str())
        {
            problems.push(format!(
                "content-type {:?} != {ct:?}",
                header("Content-Type")
            ));
        }
        match (&self.expected_body, self.body_compare.as_str()) {
            (Some(want), "exact") if text != *want => {
                problems.push(format!("body\n  got:  {text:?}\n  want: {want:?}"));
            }
            (Some(want), "json") => {
                let got: Result<Value, _> = serde_json::from_str(&text);
                let want: Value = serde_json::from_str(want).expect("expected json");
                if got.as_ref().ok() != Some(&want) {
                    problems.push(format!("json body\n  got:  {text}\n  want: {want}"));
                }
            }
            (None, _) => {
                // Query errors give the position in `notes`; the reason wording is free.
                let notes = self.notes.as_deref().unwrap_or_default();
                let position = notes
                    .split("Expected error position: ")
                    .nth(1)
                    .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                    .expect("a body-less vector names the error position in its notes");
                if !text.starts_with("invalid argument 'q': ")
                    || !text.ends_with(&format!(" at position {position}"))
                {
                    problems.push(format!(
                        "query error body {text:?}, want position {position}"
                    ));
                }
            }
            _ => {}
        }
        for (name, want) in &self.expected_headers {
            let want = want.as_str().expect("header value");
            if header(name) != Some(want) {
                problems.push(format!("header {name}: {:?} != {want:?}", header(name)));
            }
        }
        if status == 200 && header("ETag") != Some(feedgate::http::etag::etag(body).as_str()) {
            problems.push("ETag is not the SHA-1 of the body".into());
        }
        problems
    }
}
