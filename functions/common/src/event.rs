//! API Gateway proxy events in (the responses are in [`crate::response`]).
//!
//! Two event shapes arrive: REST API proxy events (payload 1.0; what production sends) and
//! HTTP API v2 events (what `cargo lambda watch` sends). They are parsed here rather than
//! through `lambda_http`, because its conversion loses what the spec needs:
//! - REST `multiValueHeaders` are overwritten by the single-value `headers` map, so a repeated
//!   field keeps only its last value (§5.4 joins repeated fields in received order);
//! - the REST query string is rebuilt from an unordered map, and the stage is prefixed to the
//!   path;
//! - a malformed `Host` header panics inside its URL builder.
//!
//! Paths stay percent-encoded as API Gateway REST delivers them; REST query values arrive
//! decoded and are re-encoded in their received order (first occurrence counts in the
//! export arguments, so order matters).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Which API Gateway flavour sent the event; the response goes back in the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// REST API proxy integration (payload format 1.0).
    Rest,
    /// HTTP API (payload format 2.0), also used by `cargo lambda watch`.
    Http,
}

/// One request as the function needs it.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The event shape.
    pub origin: Origin,
    /// Method in upper case.
    pub method: String,
    /// The whole request path, percent-encoded (`/xsoar/instance/execute/<name>/...`).
    pub path: String,
    /// The query string without `?`, percent-encoded.
    pub query: String,
    /// Header fields in received order, repeated fields kept.
    pub headers: Vec<(String, String)>,
    /// The body, base64-decoded when the gateway encoded it.
    pub body: Bytes,
    /// `requestContext.authorizer` of a REST event: what the authorizer passed on.
    pub authorizer: Option<Map<String, Value>>,
    /// API Gateway's request id (for the log).
    pub request_id: String,
}

/// The event is not an API Gateway proxy event this function understands.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The JSON does not have the expected fields.
    #[error("not an API Gateway proxy event: {0}")]
    Shape(#[from] serde_json::Error),
    /// `isBase64Encoded` with a body that is not base64.
    #[error("request body is marked base64 but does not decode")]
    Base64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestEvent {
    http_method: String,
    path: String,
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    #[serde(default)]
    multi_value_headers: Option<Map<String, Value>>,
    #[serde(default)]
    query_string_parameters: Option<Map<String, Value>>,
    #[serde(default)]
    multi_value_query_string_parameters: Option<Map<String, Value>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: Option<bool>,
    #[serde(default)]
    request_context: Option<RestContext>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestContext {
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    authorizer: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HttpEvent {
    #[serde(default)]
    raw_path: Option<String>,
    #[serde(default)]
    raw_query_string: Option<String>,
    #[serde(default)]
    cookies: Option<Vec<String>>,
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: Option<bool>,
    request_context: HttpContext,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HttpContext {
    http: HttpInfo,
    #[serde(default)]
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct HttpInfo {
    method: String,
}

/// What is percent-encoded when a decoded REST query is rebuilt: everything but the
/// unreserved characters, so any `application/x-www-form-urlencoded` parser gets the
/// values back exactly.
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Parses a REST API proxy event or an HTTP API v2 event.
pub fn parse_event(event: Value) -> Result<Incoming, EventError> {
    if event.get("version").and_then(Value::as_str) == Some("2.0") {
        parse_http(serde_json::from_value(event)?)
    } else {
        parse_rest(serde_json::from_value(event)?)
    }
}

fn decode_body(body: Option<String>, base64: Option<bool>) -> Result<Bytes, EventError> {
    match body {
        None => Ok(Bytes::new()),
        Some(text) if base64 == Some(true) => STANDARD
            .decode(text.as_bytes())
            .map(Bytes::from)
            .map_err(|_| EventError::Base64),
        Some(text) => Ok(Bytes::from(text)),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Name/value pairs of a (multi-)value map, values in order.
fn pairs(map: Option<&Map<String, Value>>) -> Vec<(String, String)> {
    map.into_iter()
        .flatten()
        .flat_map(|(name, values)| strings(values).into_iter().map(|v| (name.clone(), v)))
        .collect()
}

/// A non-empty map, else `None`: API Gateway sends `null` or `{}` for "none".
fn non_empty(map: Option<&Map<String, Value>>) -> Option<&Map<String, Value>> {
    map.filter(|m| !m.is_empty())
}

/// Header fields of a REST event (proxy or REQUEST authorizer): every value of
/// `multiValueHeaders` in order, or `headers` when the multi-value map is missing.
pub fn header_pairs(
    multi: Option<&Map<String, Value>>,
    single: Option<&Map<String, Value>>,
) -> Vec<(String, String)> {
    pairs(non_empty(multi).or(single))
}

fn parse_rest(event: RestEvent) -> Result<Incoming, EventError> {
    let headers = header_pairs(event.multi_value_headers.as_ref(), event.headers.as_ref());
    let query = encode_query(&pairs(
        non_empty(event.multi_value_query_string_parameters.as_ref())
            .or(event.query_string_parameters.as_ref()),
    ));
    let (request_id, authorizer) = match event.request_context {
        Some(c) => (c.request_id.unwrap_or_default(), c.authorizer),
        None => (String::new(), None),
    };
    Ok(Incoming {
        origin: Origin::Rest,
        method: event.http_method.to_ascii_uppercase(),
        path: event.path,
        query,
        headers,
        body: decode_body(event.body, event.is_base64_encoded)?,
        authorizer,
        request_id,
    })
}

fn parse_http(event: HttpEvent) -> Result<Incoming, EventError> {
    let mut headers = pairs(event.headers.as_ref());
    // HTTP API moves cookies out of the headers; §5.4 rebuilds the field from the list.
    if let Some(cookies) = event.cookies.filter(|c| !c.is_empty())
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("cookie"))
    {
        headers.push(("cookie".into(), cookies.join("; ")));
    }
    Ok(Incoming {
        origin: Origin::Http,
        method: event.request_context.http.method.to_ascii_uppercase(),
        path: event.raw_path.unwrap_or_else(|| "/".into()),
        query: event.raw_query_string.unwrap_or_default(),
        headers,
        body: decode_body(event.body, event.is_base64_encoded)?,
        authorizer: None,
        request_id: event.request_context.request_id.unwrap_or_default(),
    })
}

/// Decoded query pairs back to a query string, in order; an empty value is written as a
/// bare name (API Gateway cannot tell `?sp` from `?sp=`, and the parser treats them alike).
///
/// ```
/// use feedgate_functions::event::encode_query;
///
/// let pairs = [("q".to_owned(), "type:IP & x".to_owned()), ("sp".to_owned(), String::new())];
/// assert_eq!(encode_query(&pairs), "q=type%3AIP%20%26%20x&sp");
/// ```
pub fn encode_query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(name, QUERY_ENCODE));
        if !value.is_empty() {
            out.push('=');
            out.extend(utf8_percent_encode(value, QUERY_ENCODE));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn rest_events_keep_repeated_headers_in_order() {
        let event = json!({
            "httpMethod": "post",
            "path": "/xsoar/instance/execute/hook",
            "headers": {"X-Dup": "b", "Host": "h"},
            "multiValueHeaders": {"X-Dup": ["a", "b"], "Host": ["h"]},
            "queryStringParameters": null,
            "multiValueQueryStringParameters": null,
            "body": null,
            "isBase64Encoded": false,
            "requestContext": {"requestId": "r-1"}
        });
        let incoming = parse_event(event).expect("parses");
        assert_eq!(incoming.method, "POST");
        assert_eq!(
            incoming.headers,
            vec![
                ("X-Dup".to_owned(), "a".to_owned()),
                ("X-Dup".to_owned(), "b".to_owned()),
                ("Host".to_owned(), "h".to_owned())
            ]
        );
        assert!(incoming.body.is_empty());
        assert_eq!(incoming.request_id, "r-1");
        assert!(incoming.authorizer.is_none());
    }

    #[test]
    fn rest_query_values_are_reencoded_in_received_order() {
        let event = json!({
            "httpMethod": "GET",
            "path": "/instance/execute/edl",
            "queryStringParameters": {"v": "csv", "q": "a b"},
            "multiValueQueryStringParameters": {"v": ["csv", "text"], "q": ["a b"], "sp": [""]},
        });
        let incoming = parse_event(event).expect("parses");
        assert_eq!(incoming.query, "v=csv&v=text&q=a%20b&sp");
        let decoded: Vec<(String, String)> = form_urlencoded::parse(incoming.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(decoded[2], ("q".into(), "a b".into()));
    }

    #[test]
    fn base64_bodies_are_decoded_and_bad_base64_is_an_error() {
        let mut event = json!({
            "httpMethod": "POST", "path": "/", "body": "eyJhIjoxfQ==", "isBase64Encoded": true
        });
        assert_eq!(
            parse_event(event.clone()).expect("ok").body,
            &b"{\"a\":1}"[..]
        );
        event["body"] = json!("not base64!");
        assert!(matches!(parse_event(event), Err(EventError::Base64)));
    }

    #[test]
    fn http_v2_events_rebuild_the_cookie_header() {
        let event = json!({
            "version": "2.0",
            "rawPath": "/instance/execute/hook",
            "rawQueryString": "a=1&a=2",
            "cookies": ["c1=v1", "c2=v2"],
            "headers": {"content-type": "application/json"},
            "requestContext": {"http": {"method": "POST"}, "requestId": "id"},
            "body": "{}",
            "isBase64Encoded": false
        });
        let incoming = parse_event(event).expect("parses");
        assert_eq!(incoming.origin, Origin::Http);
        assert_eq!(incoming.query, "a=1&a=2");
        assert!(
            incoming
                .headers
                .contains(&("cookie".to_owned(), "c1=v1; c2=v2".to_owned()))
        );
    }

    #[test]
    fn events_without_a_method_are_refused() {
        assert!(parse_event(json!({"path": "/"})).is_err());
        assert!(parse_event(json!({"version": "2.0", "rawPath": "/"})).is_err());
    }
}
