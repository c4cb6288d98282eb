//! The HTTP conformance cases (`tests/conformance/http/`): their shape, placeholder
//! substitution and the checks, shared by the engine and serverless runners.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::http_client::HttpResponse;

/// One case file.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// Unique name.
    pub name: String,
    /// `engine`, `serverless` or `both`.
    pub mode: String,
    /// Deployment setup.
    pub setup: Setup,
    /// Requests and expectations.
    pub steps: Vec<Step>,
}

/// The deployment a case starts from.
#[derive(Debug, Clone, Deserialize)]
pub struct Setup {
    /// Universal Basic pair.
    pub universal_credentials: Option<Pair>,
    /// Instances.
    pub instances: Vec<SetupInstance>,
    /// Stored lists.
    #[serde(default)]
    pub lists: Map<String, Value>,
    /// Stored indicators.
    #[serde(default)]
    pub indicators: Vec<Value>,
    /// API-key master secret.
    pub master_secret: Option<String>,
    /// API key records.
    #[serde(default)]
    pub api_keys: Vec<SetupKey>,
}

/// A username and password.
#[derive(Debug, Clone, Deserialize)]
pub struct Pair {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// An instance of a case.
#[derive(Debug, Clone, Deserialize)]
pub struct SetupInstance {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// XSOAR parameters.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Its own credentials.
    pub credentials: Option<Pair>,
}

/// An API key of a case.
#[derive(Debug, Clone, Deserialize)]
pub struct SetupKey {
    /// Id.
    pub id: String,
    /// `standard` or `advanced`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Role.
    pub role: String,
    /// Expiry.
    pub expires_at: Option<String>,
    /// Revoked.
    #[serde(default)]
    pub revoked: bool,
    /// The key the implementation must accept (runner side only).
    pub derived_key: String,
}

/// One request and what must come back.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    /// The request.
    pub request: StepRequest,
    /// The expectations.
    pub expect: Map<String, Value>,
}

/// A request of a step.
#[derive(Debug, Clone, Deserialize)]
pub struct StepRequest {
    /// Method.
    pub method: String,
    /// Instance name, or null for a raw path.
    pub instance: Option<String>,
    /// Integration path, already percent-encoded.
    pub path: String,
    /// Query arguments in order.
    #[serde(default)]
    pub query: Map<String, Value>,
    /// Headers (may hold placeholders).
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// Body text.
    pub body: Option<String>,
    /// Repeated body.
    pub body_repeat: Option<BodyRepeat>,
}

/// `{"prefix"?, "text", "times", "suffix"?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct BodyRepeat {
    /// Before.
    #[serde(default)]
    pub prefix: String,
    /// Repeated text.
    pub text: String,
    /// How often.
    pub times: usize,
    /// After.
    #[serde(default)]
    pub suffix: String,
}

impl StepRequest {
    /// The body bytes, if any.
    pub fn body_bytes(&self) -> Option<Vec<u8>> {
        if let Some(r) = &self.body_repeat {
            return Some(
                format!("{}{}{}", r.prefix, r.text.repeat(r.times), r.suffix).into_bytes(),
            );
        }
        self.body.as_ref().map(|b| b.clone().into_bytes())
    }

    /// `path?query` with the query values percent-encoded in order.
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            query.append_pair(k, v.as_str().unwrap_or_default());
        }
        format!("{}?{}", self.path, query.finish())
    }

    /// Headers with placeholders substituted (`now_ms` taken once per step).
    pub fn headers(
        &self,
        setup: &Setup,
        now_ms: i64,
        prev_etag: Option<&str>,
    ) -> Vec<(String, String)> {
        let time = |v: &str| -> String {
            let mut out = v.to_owned();
            while let Some(start) = out.find("${NOW_MS") {
                let Some(end) = out[start..].find('}').map(|e| start + e) else {
                    break;
                };
                let inner = &out[start + 8..end];
                let offset: i64 = if inner.is_empty() {
                    0
                } else {
                    inner.parse().unwrap_or(0)
                };
                out.replace_range(start..=end, &(now_ms + offset).to_string());
            }
            out
        };
        let mut pairs: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), time(v.as_str().unwrap_or_default())))
            .collect();
        let get = |pairs: &[(String, String)], name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let id = get(&pairs, "x-xdr-auth-id");
        let nonce = get(&pairs, "x-xdr-nonce");
        let ts = get(&pairs, "x-xdr-timestamp");
        let digest = setup.api_keys.iter().find(|k| k.id == id).map(|k| {
            hex::encode(Sha256::digest(
                format!("{}{}{}", k.derived_key, nonce, ts).as_bytes(),
            ))
        });
        for (_, v) in pairs.iter_mut() {
            if let Some(d) = &digest {
                *v = v.replace("${XDR_AUTH_UPPER}", &d.to_uppercase());
                *v = v.replace("${XDR_AUTH}", d);
            }
            if let Some(tag) = prev_etag {
                *v = v.replace("${PREV_ETAG}", tag);
            }
        }
        pairs
    }
}

/// Every case file, sorted.
pub fn load_cases() -> Vec<(PathBuf, Case)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/http");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
            let case: Case =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, case)
        })
        .collect()
}

/// Checks a response against a step's expectations; returns what differs.
pub fn check_response(expect: &Map<String, Value>, resp: &HttpResponse) -> Vec<String> {
    let mut problems = Vec::new();
    let body = String::from_utf8_lossy(&resp.body).into_owned();
    if let Some(status) = expect.get("status").and_then(Value::as_u64)
        && u64::from(resp.status) != status
    {
        problems.push(format!(
            "status {} != {status} (body {body:?})",
            resp.status
        ));
    }
    if let Some(ct) = expect.get("content_type").and_then(Value::as_str) {
        let norm = |s: &str| {
            s.split(';')
                .map(|p| p.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        };
        if resp.header("content-type").map(norm) != Some(norm(ct)) {
            problems.push(format!(
                "content-type {:?} != {ct:?}",
                resp.header("content-type")
            ));
        }
    }
    if let Some(headers) = expect.get("headers").and_then(Value::as_object) {
        for (name, want) in headers {
            let got = resp.header(name);
            let ok = match want {
                Value::Null => got.is_none(),
                Value::String(s) if s == "${ANY}" => got.is_some(),
                Value::String(s) => got == Some(s.as_str()),
                _ => false,
            };
            if !ok {
                problems.push(format!("header {name}: {got:?} vs {want}"));
            }
        }
    }
    if let Some(want) = expect.get("body").and_then(Value::as_str)
        && body != want
    {
        problems.push(format!("body {body:?} != {want:?}"));
    }
    if let Some(want) = expect.get("body_json") {
        match serde_json::from_str::<Value>(&body) {
            Ok(got) if json_matches(want, Some(&got), true) => {}
            _ => problems.push(format!("json body {body} does not match {want}")),
        }
    }
    match expect.get("body_contains") {
        Some(Value::String(s)) if !body.contains(s.as_str()) => {
            problems.push(format!("body {body:?} lacks {s:?}"));
        }
        Some(Value::Array(items)) => {
            for s in items.iter().filter_map(Value::as_str) {
                if !body.contains(s) {
                    problems.push(format!("body {body:?} lacks {s:?}"));
                }
            }
        }
        _ => {}
    }
    problems
}

/// `${ANY}` / `${ABSENT}` aware matching. `exact_keys`: objects must have exactly the listed
/// keys (body_json); otherwise listed keys are a subset pattern (stored incidents).
pub fn json_matches(want: &Value, got: Option<&Value>, exact_keys: bool) -> bool {
    match want {
        Value::String(s) if s == "${ANY}" => got.is_some(),
        Value::String(s) if s == "${ABSENT}" => got.is_none(),
        Value::Object(w) => {
            let Some(Value::Object(g)) = got else {
                return false;
            };
            if exact_keys && w.len() != g.len() {
                return false;
            }
            w.iter().all(|(k, v)| json_matches(v, g.get(k), exact_keys))
        }
        Value::Array(w) => {
            let Some(Value::Array(g)) = got else {
                return false;
            };
            w.len() == g.len()
                && w.iter()
                    .zip(g)
                    .all(|(a, b)| json_matches(a, Some(b), exact_keys))
        }
        other => got == Some(other),
    }
}

/// Stores a case's data — indicators, lists and API-key records (revoked ones revoked) — in
/// any store. Instances and credentials are the caller's: the engine takes them from its
/// configuration file, serverless deployments from the store.
pub async fn seed_data<S: feedgate::store::Store>(store: &S, setup: &Setup) {
    use feedgate::store::{ApiKeyRecord, KeyType, Role};
    if !setup.indicators.is_empty() {
        let batch: Vec<feedgate::Indicator> = setup
            .indicators
            .iter()
            .map(|v| serde_json::from_value(v.clone()).expect("indicator"))
            .collect();
        store.upsert(batch).await.expect("seed indicators");
    }
    for (name, content) in &setup.lists {
        let text = content.as_str().expect("list content is text").to_owned();
        store
            .put_list(name, text.into_bytes().into())
            .await
            .expect("seed list");
    }
    for k in &setup.api_keys {
        let record = ApiKeyRecord {
            id: k.id.clone(),
            kind: if k.kind == "advanced" {
                KeyType::Advanced
            } else {
                KeyType::Standard
            },
            role: match k.role.as_str() {
                "read" => Role::Read,
                "write" => Role::Write,
                _ => Role::Admin,
            },
            created_at: "2026-01-01T00:00:00Z".into(),
            created_by: "conformance".into(),
            expires_at: k.expires_at.clone(),
            revoked: false,
            revoked_at: None,
            comment: String::new(),
        };
        store.create_key(record).await.expect("seed key");
        if k.revoked {
            store
                .revoke_key(&k.id, feedgate::instant::Instant::now())
                .await
                .expect("revoke key");
        }
    }
}
