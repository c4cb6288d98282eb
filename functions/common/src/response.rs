//! Lambda proxy responses: the REST API shape (payload 1.0) and the HTTP API v2 shape, the
//! body as a JSON string or base64, and the exact serialized size that counts against
//! Lambda's 6 MB response limit.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use feedgate::http::Response;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::event::Origin;

/// A response body as it travels in the proxy response: a JSON string of the body itself,
/// or of its base64 form (`isBase64Encoded: true`; API Gateway REST needs
/// `binaryMediaTypes` covering the response to decode it). Knows its serialized size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// UTF-8 text: the body, or its base64 form.
    text: Bytes,
    base64: bool,
    serialized_len: usize,
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Checked to be UTF-8 when built.
        s.serialize_str(std::str::from_utf8(&self.text).unwrap_or_default())
    }
}

impl Body {
    /// The empty body.
    pub fn empty() -> Self {
        Self {
            text: Bytes::new(),
            base64: false,
            serialized_len: 2,
        }
    }

    /// The smaller encoding of `bytes`: a JSON string when it is UTF-8 and escaping does
    /// not make it longer than base64 would, else base64. `binary` forces base64 (a
    /// compressed body).
    pub fn choose(bytes: Bytes, binary: bool) -> Self {
        let base64_len = bytes.len().div_ceil(3) * 4;
        if !binary && std::str::from_utf8(&bytes).is_ok() {
            let escaped = escaped_len(&bytes);
            if escaped <= base64_len {
                return Self {
                    text: bytes,
                    base64: false,
                    serialized_len: escaped + 2,
                };
            }
        }
        Self {
            text: Bytes::from(STANDARD.encode(&bytes)),
            base64: true,
            serialized_len: base64_len + 2,
        }
    }

    /// Bytes this body takes in the serialized response, quotes included.
    pub fn serialized_len(&self) -> usize {
        self.serialized_len
    }

    /// Whether it travels base64-encoded.
    pub fn is_base64(&self) -> bool {
        self.base64
    }
}

/// How many encoded bodies [`BodyCache`] keeps.
const BODY_SLOTS: usize = 16;

/// Encoded bodies of `200` answers by ETag, so a warm poll of unchanged data neither scans
/// nor base64-encodes the body again. The ETag names the exact bytes (a gzipped body has the
/// weak form of its identity tag, and compresses deterministically).
#[derive(Debug, Default)]
pub struct BodyCache {
    slots: std::sync::Mutex<std::collections::VecDeque<(String, Body)>>,
}

impl BodyCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoded body of `response`, from the cache when its ETag was seen.
    pub fn body(&self, response: &Response) -> Body {
        let binary = response.header("Content-Encoding").is_some();
        let tag = response
            .header("ETag")
            .filter(|_| response.status == 200 && !response.body.is_empty());
        let Some(tag) = tag else {
            return Body::choose(response.body.clone(), binary);
        };
        let hit = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(k, _)| k == tag)
            .map(|(_, b)| b.clone());
        if let Some(body) = hit {
            return body;
        }
        let body = Body::choose(response.body.clone(), binary);
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= BODY_SLOTS {
            slots.pop_front();
        }
        slots.push_back((tag.to_owned(), body.clone()));
        body
    }
}

/// Length of `text` inside a JSON string as serde_json writes it (quotes excluded).
fn escaped_len(text: &[u8]) -> usize {
    text.iter()
        .map(|&b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// A REST API proxy response (payload 1.0). Headers only in `multiValueHeaders`: API
/// Gateway merges both maps, so setting both would duplicate fields.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestResponse {
    status_code: u16,
    multi_value_headers: Map<String, Value>,
    body: Body,
    is_base64_encoded: bool,
}

/// An HTTP API v2 response; repeated fields joined with `, `. `cookies` is always present
/// (empty): `cargo lambda watch` refuses a response without it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    status_code: u16,
    headers: Map<String, Value>,
    body: Body,
    is_base64_encoded: bool,
    cookies: Vec<String>,
}

/// What a serving function returns to the Lambda runtime.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum LambdaResponse {
    /// To API Gateway REST.
    Rest(RestResponse),
    /// To API Gateway HTTP API / `cargo lambda watch`.
    Http(HttpResponse),
}

impl LambdaResponse {
    /// `response` in the shape `origin` expects. A `Content-Encoding` header marks the body
    /// as binary.
    pub fn new(origin: Origin, response: &Response) -> Self {
        let binary = response.header("Content-Encoding").is_some();
        Self::with_body(
            origin,
            response,
            Body::choose(response.body.clone(), binary),
        )
    }

    /// `response` in the shape `origin` expects, its body already encoded as `body`.
    pub fn with_body(origin: Origin, response: &Response, body: Body) -> Self {
        let is_base64_encoded = body.is_base64();
        match origin {
            Origin::Rest => {
                let mut headers = Map::new();
                for (name, value) in &response.headers {
                    match headers
                        .entry((*name).to_owned())
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        Value::Array(values) => values.push(Value::from(value.as_str())),
                        other => *other = Value::Array(vec![Value::from(value.as_str())]),
                    }
                }
                Self::Rest(RestResponse {
                    status_code: response.status,
                    multi_value_headers: headers,
                    body,
                    is_base64_encoded,
                })
            }
            Origin::Http => {
                let mut headers = Map::new();
                for (name, value) in &response.headers {
                    let joined = match headers.get(*name).and_then(Value::as_str) {
                        Some(before) => format!("{before}, {value}"),
                        None => value.clone(),
                    };
                    headers.insert((*name).to_owned(), Value::from(joined));
                }
                Self::Http(HttpResponse {
                    status_code: response.status,
                    headers,
                    body,
                    is_base64_encoded,
                    cookies: Vec::new(),
                })
            }
        }
    }

    /// The size of the serialized response: what counts against Lambda's 6 MB limit.
    pub fn payload_len(&self) -> usize {
        let (body, without_body) = match self {
            Self::Rest(r) => (&r.body, serde_json::to_vec(&r.clone_without_body())),
            Self::Http(r) => (&r.body, serde_json::to_vec(&r.clone_without_body())),
        };
        // The empty body serialized as `""` (2 bytes) is replaced by the real one.
        without_body.map_or(usize::MAX, |v| {
            v.len()
                .saturating_sub(2)
                .saturating_add(body.serialized_len())
        })
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::Rest(r) => r.status_code,
            Self::Http(r) => r.status_code,
        }
    }
}

impl RestResponse {
    fn clone_without_body(&self) -> Self {
        Self {
            status_code: self.status_code,
            multi_value_headers: self.multi_value_headers.clone(),
            body: Body::empty(),
            is_base64_encoded: self.is_base64_encoded,
        }
    }
}

impl HttpResponse {
    fn clone_without_body(&self) -> Self {
        Self {
            status_code: self.status_code,
            headers: self.headers.clone(),
            body: Body::empty(),
            is_base64_encoded: self.is_base64_encoded,
            cookies: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn rest_responses_use_multi_value_headers_only() {
        let response = Response::new(200, "text/plain", "a\nb")
            .with_header("Vary", "Accept-Encoding")
            .with_header("Vary", "Origin");
        let value =
            serde_json::to_value(LambdaResponse::new(Origin::Rest, &response)).expect("serializes");
        assert_eq!(
            value,
            json!({
                "statusCode": 200,
                "multiValueHeaders": {
                    "Content-Type": ["text/plain"],
                    "Vary": ["Accept-Encoding", "Origin"]
                },
                "body": "a\nb",
                "isBase64Encoded": false
            })
        );
    }

    #[test]
    fn http_responses_join_repeated_headers() {
        let response = Response::new(200, "text/plain", "x")
            .with_header("Vary", "A")
            .with_header("Vary", "B");
        let value =
            serde_json::to_value(LambdaResponse::new(Origin::Http, &response)).expect("serializes");
        assert_eq!(value["headers"]["Vary"], "A, B");
    }

    #[test]
    fn compressed_and_non_utf8_bodies_are_sent_as_base64() {
        let gz = Response::new(200, "text/plain", vec![0x1f, 0x8b, 0x08])
            .with_header("Content-Encoding", "gzip");
        let value = serde_json::to_value(LambdaResponse::new(Origin::Rest, &gz)).expect("json");
        assert_eq!(value["isBase64Encoded"], true);
        assert_eq!(value["body"], "H4sI");
        let raw = Response::new(200, "application/octet-stream", vec![0xff, 0xfe]);
        let value = serde_json::to_value(LambdaResponse::new(Origin::Rest, &raw)).expect("json");
        assert_eq!(value["isBase64Encoded"], true);
    }

    #[test]
    fn text_heavy_in_escapes_goes_base64_when_that_is_smaller() {
        let control = Response::new(200, "text/plain", vec![1u8; 30]);
        let r = LambdaResponse::new(Origin::Rest, &control);
        let value = serde_json::to_value(&r).expect("json");
        assert_eq!(value["isBase64Encoded"], true);
    }

    #[test]
    fn encoded_bodies_of_tagged_answers_are_reused() {
        let cache = BodyCache::new();
        let response =
            Response::new(200, "text/plain", "1.1.1.1\n".repeat(100)).with_header("ETag", "\"t\"");
        let first = cache.body(&response);
        let second = cache.body(&response);
        assert_eq!(first.text.as_ptr(), second.text.as_ptr());
        // A HEAD answer shares the tag but has no body: never taken from the cache.
        let head = Response::new(200, "text/plain", "").with_header("ETag", "\"t\"");
        assert_eq!(cache.body(&head).serialized_len(), 2);
    }

    #[test]
    fn payload_length_is_exactly_the_serialized_length() {
        for body in [
            "plain".as_bytes().to_vec(),
            b"quote\" back\\ nl\n tab\t cr\r ctl\x01 \xc3\xa9".to_vec(),
            vec![0xff; 10],
            Vec::new(),
        ] {
            for origin in [Origin::Rest, Origin::Http] {
                let response =
                    Response::new(200, "text/plain", body.clone()).with_header("ETag", "\"x\"");
                let r = LambdaResponse::new(origin, &response);
                let bytes = serde_json::to_vec(&r).expect("json");
                assert_eq!(r.payload_len(), bytes.len(), "{body:?} {origin:?}");
            }
        }
    }
}
