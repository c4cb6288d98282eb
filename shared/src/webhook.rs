//! Generic Webhook (integrations.md §5): request body → incidents. Pure: the handler stores
//! what this builds.

use serde_json::{Map, Value};

use crate::export::args::ParamError;
use crate::instant::Instant;
use crate::store::StoredIncident;

/// Default maximum body: 1 MiB.
pub const DEFAULT_MAX_BODY: u64 = 1_048_576;
/// The most a serverless deployment accepts (API Gateway and Lambda payload limits).
pub const SERVERLESS_MAX_BODY: u64 = 4_194_304;
/// Name of incidents whose body names none.
pub const DEFAULT_NAME: &str = "Generic webhook triggered incident";

/// Headers never stored with an incident, whatever authentication path was used.
const CREDENTIAL_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "x-xdr-auth-id",
    "x-xdr-nonce",
    "x-xdr-timestamp",
];

/// Validated webhook parameters (§5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookParams {
    /// `incidentType`: the type of incidents whose body has none.
    pub incident_type: Option<String>,
    /// `store_samples`.
    pub store_samples: bool,
    /// `duplication_key`: paths tried in order.
    pub duplication_keys: Vec<String>,
    /// Mirroring fields merged into rawJson.
    pub mirror: Option<Mirror>,
    /// `max_body_size` in bytes.
    pub max_body_size: u64,
}

/// Mirroring settings merged into every incident's rawJson.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// `In`, `Out` or `Both`.
    pub direction: &'static str,
    /// `mirror_tags`, trimmed.
    pub tags: String,
    /// `mirror_instance`, trimmed.
    pub instance: String,
}

impl Default for WebhookParams {
    fn default() -> Self {
        Self {
            incident_type: None,
            store_samples: false,
            duplication_keys: Vec::new(),
            mirror: None,
            max_body_size: DEFAULT_MAX_BODY,
        }
    }
}

impl WebhookParams {
    /// Reads XSOAR-named parameters; `serverless` caps `max_body_size`. Unknown names are
    /// refused.
    pub fn from_params(params: &Map<String, Value>, serverless: bool) -> Result<Self, ParamError> {
        let mut out = Self::default();
        let (mut direction, mut tags, mut instance) =
            ("None".to_owned(), String::new(), String::new());
        for (name, value) in params {
            let err = |reason: &str| ParamError {
                name: name.clone(),
                reason: reason.to_owned(),
            };
            let text = || match value {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Null => Ok(String::new()),
                _ => Err(err("expected a string")),
            };
            match name.as_str() {
                "incidentType" => {
                    let t = text()?;
                    out.incident_type = (!t.is_empty()).then_some(t);
                }
                "store_samples" => {
                    out.store_samples = match value {
                        Value::Bool(b) => *b,
                        _ => crate::export::args::parse_bool(&text()?)
                            .ok_or_else(|| err("expected a boolean"))?,
                    };
                }
                "duplication_key" => {
                    out.duplication_keys = text()?
                        .split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                "mirror_direction" => direction = text()?,
                "mirror_tags" => tags = text()?,
                "mirror_instance" => instance = text()?,
                "max_body_size" => {
                    let size = crate::export::args::parse_u64(&text()?)
                        .filter(|n| *n > 0)
                        .ok_or_else(|| err("expected a positive integer (bytes)"))?;
                    if serverless && size > SERVERLESS_MAX_BODY {
                        return Err(err(&format!(
                            "at most {SERVERLESS_MAX_BODY} bytes in serverless mode"
                        )));
                    }
                    out.max_body_size = size;
                }
                "credentials" | "longRunningPort" | "certificate" | "key" | "longRunning" => {}
                _ => return Err(err("unknown parameter for a webhook instance")),
            }
        }
        let direction = match direction.as_str() {
            "None" | "" => None,
            "Incoming" => Some("In"),
            "Outgoing" => Some("Out"),
            "Incoming And Outgoing" => Some("Both"),
            _ => {
                return Err(ParamError {
                    name: "mirror_direction".into(),
                    reason: "expected None, Incoming, Outgoing or Incoming And Outgoing".into(),
                });
            }
        };
        out.mirror = direction.map(|direction| Mirror {
            direction,
            tags: tags.trim().to_owned(),
            instance: instance.trim().to_owned(),
        });
        Ok(out)
    }
}

/// Why a body was refused (400). `Display` is the exact response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Empty, not UTF-8, or not JSON.
    #[error("invalid JSON body: {0}")]
    InvalidJson(String),
    /// A scalar at the top level.
    #[error("invalid body: expected a JSON object or an array of objects")]
    NotObjectOrArray,
    /// Something about one element of an array body.
    #[error("element {index}: {error}")]
    Element {
        /// Zero-based position.
        index: usize,
        /// What is wrong with it.
        error: Box<WebhookError>,
    },
    /// An array element that is not an object.
    #[error("expected a JSON object")]
    NotObject,
    /// `rawJson` / `raw_json` present but not an object.
    #[error("invalid {0}: expected a JSON object")]
    RawNotObject(&'static str),
    /// `name`, `type` or `occurred` present but not a string.
    #[error("invalid field '{0}': expected a string")]
    FieldNotString(&'static str),
}

/// Everything needed to build incidents from one request.
#[derive(Debug)]
pub struct Delivery<'a> {
    /// The instance name.
    pub instance: &'a str,
    /// Its parameters.
    pub params: &'a WebhookParams,
    /// Request headers in received order.
    pub headers: &'a [(String, String)],
    /// The header-token header of the instance (removed from the captured headers).
    pub token_header: Option<&'a str>,
    /// Server time.
    pub now: Instant,
}

/// Parses a body into incidents in body order (§5.2, §5.3). All-or-nothing: any invalid
/// element rejects the whole request. `new_id` gives each incident its id.
pub fn build_incidents(
    body: &[u8],
    delivery: &Delivery<'_>,
    mut new_id: impl FnMut() -> String,
) -> Result<Vec<StoredIncident>, WebhookError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| WebhookError::InvalidJson(format!("body is not UTF-8: {e}")))?;
    let parsed: Value =
        serde_json::from_str(text).map_err(|e| WebhookError::InvalidJson(e.to_string()))?;
    let headers = Value::Object(capture_headers(delivery.headers, delivery.token_header));
    let created = delivery.now.to_rfc3339_millis();
    let one =
        |object: Map<String, Value>, id: String| incident(object, delivery, &headers, &created, id);
    match parsed {
        Value::Object(object) => Ok(vec![one(object, new_id())?]),
        Value::Array(items) => {
            // Validate every element before building any, so nothing is half-accepted.
            let mut objects = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                let element = |error| WebhookError::Element {
                    index,
                    error: Box::new(error),
                };
                match item {
                    Value::Object(object) => {
                        validate(&object).map_err(element)?;
                        objects.push(object);
                    }
                    _ => return Err(element(WebhookError::NotObject)),
                }
            }
            objects
                .into_iter()
                .map(|object| one(object, new_id()))
                .collect()
        }
        _ => Err(WebhookError::NotObjectOrArray),
    }
}

fn validate(object: &Map<String, Value>) -> Result<(), WebhookError> {
    for field in ["name", "type", "occurred"] {
        if let Some(v) = object.get(field)
            && !v.is_null()
            && !v.is_string()
        {
            return Err(WebhookError::FieldNotString(field));
        }
    }
    raw_source(object).map(|_| ())
}

/// `rawJson` if present and not null, else `raw_json` likewise, else `None` (whole object).
fn raw_source(object: &Map<String, Value>) -> Result<Option<&Map<String, Value>>, WebhookError> {
    for key in ["rawJson", "raw_json"] {
        match object.get(key) {
            None | Some(Value::Null) => continue,
            Some(Value::Object(raw)) => return Ok(Some(raw)),
            Some(_) => return Err(WebhookError::RawNotObject(key)),
        }
    }
    Ok(None)
}

fn incident(
    object: Map<String, Value>,
    delivery: &Delivery<'_>,
    headers: &Value,
    created: &str,
    id: String,
) -> Result<StoredIncident, WebhookError> {
    validate(&object)?;
    let mut raw = match raw_source(&object)? {
        Some(raw) => raw.clone(),
        None => object.clone(),
    };
    if let Some(mirror) = &delivery.params.mirror {
        raw.insert("mirror_direction".into(), Value::from(mirror.direction));
        raw.insert("mirror_tags".into(), Value::from(mirror.tags.clone()));
        raw.insert(
            "mirror_instance".into(),
            Value::from(mirror.instance.clone()),
        );
    }
    raw.insert("headers".into(), headers.clone());
    let dedup_id = dedup_id(&raw, &delivery.params.duplication_keys);
    let text = |field: &str| object.get(field).and_then(Value::as_str).map(str::to_owned);
    Ok(StoredIncident {
        id,
        instance: delivery.instance.to_owned(),
        name: text("name").unwrap_or_else(|| DEFAULT_NAME.to_owned()),
        kind: text("type").or_else(|| delivery.params.incident_type.clone()),
        occurred: text("occurred"),
        created: created.to_owned(),
        raw_json: raw,
        dedup_id,
    })
}

/// Every request header, names lower-cased, repeats joined with `, `, minus credentials.
pub fn capture_headers(
    headers: &[(String, String)],
    token_header: Option<&str>,
) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if CREDENTIAL_HEADERS.contains(&name.as_str())
            || token_header.is_some_and(|t| t.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        match out.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            _ => {
                out.insert(name, Value::String(value.clone()));
            }
        }
    }
    out
}

/// The de-duplication id (§5.5): the first path with a non-null value gives `<path>:<value>`.
///
/// ```
/// use serde_json::json;
/// let raw = json!({"headers": {"x-delivery-id": "d-1"}, "n": 5});
/// let raw = raw.as_object().unwrap();
/// let keys = ["missing".to_owned(), "headers.x-delivery-id".to_owned()];
/// assert_eq!(feedgate::webhook::dedup_id(raw, &keys).as_deref(), Some("headers.x-delivery-id:d-1"));
/// assert_eq!(feedgate::webhook::dedup_id(raw, &["n".to_owned()]).as_deref(), Some("n:5"));
/// ```
pub fn dedup_id(raw: &Map<String, Value>, keys: &[String]) -> Option<String> {
    keys.iter().find_map(|path| {
        let value = raw.get(path).or_else(|| {
            let mut parts = path.split('.');
            let first = raw.get(parts.next()?)?;
            parts.try_fold(first, |v, part| v.as_object()?.get(part))
        })?;
        match value {
            Value::Null => None,
            Value::String(s) => Some(format!("{path}:{s}")),
            other => Some(format!("{path}:{other}")),
        }
    })
}

/// A new time-ordered incident id (UUIDv7).
pub fn new_incident_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(body: &str, params: &WebhookParams) -> Result<Vec<StoredIncident>, WebhookError> {
        let headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Authorization".to_owned(), "Basic eDp5".to_owned()),
            ("X-Multi".to_owned(), "a".to_owned()),
            ("x-multi".to_owned(), "b".to_owned()),
            ("X-Token".to_owned(), "secret".to_owned()),
        ];
        let delivery = Delivery {
            instance: "hook",
            params,
            headers: &headers,
            token_header: Some("x-token"),
            now: Instant::from_unix_millis(1_700_000_000_123),
        };
        let mut n = 0;
        build_incidents(body.as_bytes(), &delivery, || {
            n += 1;
            format!("id-{n}")
        })
    }

    #[test]
    fn rejects_bad_bodies_with_the_spec_messages() {
        let p = WebhookParams::default();
        let msg = |b: &str| build(b, &p).expect_err("bad body").to_string();
        assert!(msg("{not json").starts_with("invalid JSON body: "));
        assert!(msg("").starts_with("invalid JSON body: "));
        assert_eq!(
            msg("5"),
            "invalid body: expected a JSON object or an array of objects"
        );
        assert_eq!(msg("[{}, 3]"), "element 1: expected a JSON object");
        assert_eq!(
            msg(r#"{"rawJson": 3}"#),
            "invalid rawJson: expected a JSON object"
        );
        assert_eq!(
            msg(r#"[{"raw_json": "x"}]"#),
            "element 0: invalid raw_json: expected a JSON object"
        );
        assert_eq!(
            msg(r#"{"name": 5}"#),
            "invalid field 'name': expected a string"
        );
    }

    #[test]
    fn builds_incidents_with_defaults_raw_and_captured_headers() {
        let p = WebhookParams {
            incident_type: Some("Phishing".into()),
            ..WebhookParams::default()
        };
        let out = build(
            r#"[{"name":"a","rawJson":{"k":1}}, {"type":"T","occurred":"x"}, {}]"#,
            &p,
        )
        .expect("valid");
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].name, "a");
        assert_eq!(out[0].kind.as_deref(), Some("Phishing"));
        assert_eq!(out[0].raw_json["k"], json!(1));
        assert!(out[0].raw_json.get("name").is_none());
        assert_eq!(out[1].name, DEFAULT_NAME);
        assert_eq!(out[1].kind.as_deref(), Some("T"));
        assert_eq!(out[1].occurred.as_deref(), Some("x"));
        assert_eq!(out[1].raw_json["type"], json!("T"));
        assert_eq!(out[2].created, "2023-11-14T22:13:20.123Z");
        let headers = out[2].raw_json["headers"].as_object().expect("headers");
        assert_eq!(headers["x-multi"], json!("a, b"));
        assert_eq!(headers["content-type"], json!("application/json"));
        assert!(headers.get("authorization").is_none());
        assert!(headers.get("x-token").is_none());
    }

    #[test]
    fn empty_raw_json_object_is_used_as_is() {
        let out = build(r#"{"name":"n","rawJson":{}}"#, &WebhookParams::default()).expect("ok");
        assert_eq!(
            out[0].raw_json.len(),
            1,
            "only the captured headers were added"
        );
    }

    #[test]
    fn mirroring_and_dedup_read_the_final_raw_object() {
        let mut map = Map::new();
        map.insert("mirror_direction".into(), json!("Incoming And Outgoing"));
        map.insert("mirror_tags".into(), json!(" t1 "));
        map.insert("duplication_key".into(), json!(" , headers.content-type"));
        let p = WebhookParams::from_params(&map, false).expect("params");
        let out = build(r#"{"a":1}"#, &p).expect("ok");
        assert_eq!(out[0].raw_json["mirror_direction"], json!("Both"));
        assert_eq!(out[0].raw_json["mirror_tags"], json!("t1"));
        assert_eq!(
            out[0].dedup_id.as_deref(),
            Some("headers.content-type:application/json")
        );
    }

    #[test]
    fn serverless_caps_the_body_limit() {
        let mut map = Map::new();
        map.insert("max_body_size".into(), json!("5000000"));
        assert!(WebhookParams::from_params(&map, true).is_err());
        assert_eq!(
            WebhookParams::from_params(&map, false)
                .expect("engine")
                .max_body_size,
            5_000_000
        );
        map.clear();
        map.insert("incidentTyp".into(), json!("x"));
        assert!(WebhookParams::from_params(&map, false).is_err());
    }
}
