//! The STIX 2.1 import format: a bundle whose `indicator` objects (with STIX patterns) and
//! cyber-observable objects become indicators.
//!
//! - `indicator`: each comparison of its `pattern` (see [`super::pattern`]) is one indicator.
//!   A `pattern_type` other than `stix` is refused.
//! - `ipv4-addr` / `ipv6-addr` (a `/` makes it `CIDR` / `IPv6CIDR`), `domain-name` (`*.` makes
//!   it `DomainGlob`), `url`, `email-addr`: the `value` is the indicator.
//! - `file`: each of its `hashes` is one `File` indicator.
//! - Every other object (identities, relationships, malware, marking definitions, ...) is not
//!   an indicator and is skipped without a rejection.
//!
//! Metadata becomes top-level fields, copied as given and only when present: `id` → `stix_id`,
//! `labels` → `tags`, `created` → `firstSeen`, `modified` → `modified`, `valid_until` →
//! `expiration` (so the export rules expire it).

use serde_json::{Map, Value};

#[cfg(test)]
use super::Parsed;
use super::pattern::{self, kind_for, sco_kind};
use super::{ImportError, Sink, json_kind};
use crate::indicator::IndicatorRecord;

/// STIX property → field name, in the order the fields are stored.
const METADATA: [(&str, &str); 5] = [
    ("id", "stix_id"),
    ("labels", "tags"),
    ("created", "firstSeen"),
    ("modified", "modified"),
    ("valid_until", "expiration"),
];

#[cfg(test)]
pub(super) fn parse(content: &[u8]) -> Result<Parsed, ImportError> {
    let mut parsed = Parsed::default();
    parse_into(content, &mut parsed)?;
    Ok(parsed)
}

pub(super) fn parse_into(content: &[u8], out: &mut dyn Sink) -> Result<(), ImportError> {
    let bundle: Value = serde_json::from_slice(content).map_err(ImportError::Json)?;
    let Value::Object(mut bundle) = bundle else {
        return Err(ImportError::NotBundle(format!(
            "expected an object, found {}",
            json_kind(&bundle)
        )));
    };
    match bundle.get("type") {
        Some(Value::String(kind)) if kind == "bundle" => {}
        Some(other) => {
            return Err(ImportError::NotBundle(format!(
                "'type' is {other}, not \"bundle\""
            )));
        }
        None => return Err(ImportError::NotBundle("missing 'type'".to_owned())),
    }
    let objects = match bundle.remove("objects") {
        // STIX 2.1 makes `objects` optional: an empty bundle imports nothing.
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(objects)) => objects,
        Some(other) => {
            return Err(ImportError::NotBundle(format!(
                "'objects' is not an array (found {})",
                json_kind(&other)
            )));
        }
    };
    let mut records = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        let number = index + 1;
        let Value::Object(object) = object else {
            out.reject(
                number,
                format!("not an object (found {})", json_kind(object)),
            );
            continue;
        };
        let result = read_object(object, &mut records);
        records.drain(..).for_each(|r| out.record(r));
        if let Err(reason) = result {
            let reason = match object.get("id") {
                Some(Value::String(id)) => format!("{id}: {reason}"),
                _ => reason,
            };
            out.reject(number, reason);
        }
    }
    Ok(())
}

/// Appends the indicators `object` holds (none for objects that are not indicators).
fn read_object(
    object: &Map<String, Value>,
    records: &mut Vec<IndicatorRecord>,
) -> Result<(), String> {
    let kind = match object.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(other) => {
            return Err(format!(
                "missing string 'type' (found {})",
                json_kind(other)
            ));
        }
        None => return Err("missing string 'type'".to_owned()),
    };
    let found: Vec<(&'static str, String)> = match kind {
        "indicator" => indicator(object)?,
        "file" => file_hashes(object)?,
        other => match sco_kind(other) {
            Some(base) => {
                let value = non_empty_string(object, "value")?;
                vec![(kind_for(base, value), value.to_owned())]
            }
            None => return Ok(()),
        },
    };
    let fields = metadata(object);
    records.extend(found.into_iter().map(|(kind, value)| IndicatorRecord {
        value,
        kind: kind.to_owned(),
        fields: fields.clone(),
        custom_fields: None,
    }));
    Ok(())
}

fn indicator(object: &Map<String, Value>) -> Result<Vec<(&'static str, String)>, String> {
    // STIX 2.0 indicators have no `pattern_type`; their patterns are STIX patterns.
    match object.get("pattern_type") {
        None => {}
        Some(Value::String(t)) if t == "stix" => {}
        Some(other) => {
            return Err(format!(
                "pattern_type {other} is not supported; only \"stix\""
            ));
        }
    }
    let pattern = non_empty_string(object, "pattern")?;
    let comparisons =
        pattern::parse(pattern).map_err(|e| format!("pattern not understood: {e}"))?;
    Ok(comparisons.into_iter().map(|c| (c.kind, c.value)).collect())
}

fn file_hashes(object: &Map<String, Value>) -> Result<Vec<(&'static str, String)>, String> {
    let hashes = match object.get("hashes") {
        Some(Value::Object(hashes)) => hashes,
        _ => return Err("file without 'hashes'".to_owned()),
    };
    let mut found = Vec::with_capacity(hashes.len());
    for (algorithm, hash) in hashes {
        match hash {
            Value::String(hash) if !hash.is_empty() => found.push(("File", hash.clone())),
            _ => return Err(format!("hash '{algorithm}' is not a non-empty string")),
        }
    }
    if found.is_empty() {
        return Err("file without 'hashes'".to_owned());
    }
    Ok(found)
}

fn non_empty_string<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match object.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(format!("empty '{key}'")),
        Some(other) => Err(format!(
            "missing string '{key}' (found {})",
            json_kind(other)
        )),
        None => Err(format!("missing string '{key}'")),
    }
}

fn metadata(object: &Map<String, Value>) -> Map<String, Value> {
    METADATA
        .iter()
        .filter_map(|(property, field)| {
            object
                .get(*property)
                .map(|value| ((*field).to_owned(), value.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{ImportFormat, parse as parse_format};
    use proptest::prelude::*;
    use serde_json::json;

    fn stix(bundle: &Value) -> Parsed {
        let bytes = serde_json::to_vec(bundle).expect("serializes");
        parse_format(&bytes, ImportFormat::Stix, None).expect("a bundle")
    }

    fn records(parsed: &Parsed) -> Value {
        serde_json::to_value(&parsed.records).expect("records serialize")
    }

    #[test]
    fn reads_indicator_patterns_and_observables_with_their_metadata() {
        let parsed = stix(&json!({
            "type": "bundle",
            "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "objects": [
                {"type": "identity", "spec_version": "2.1", "id": "identity--1",
                 "name": "ACME CERT", "identity_class": "organization"},
                {"type": "indicator", "spec_version": "2.1", "id": "indicator--1",
                 "created": "2026-01-02T03:04:05.000Z", "modified": "2026-01-03T00:00:00.000Z",
                 "name": "C2 server", "indicator_types": ["malicious-activity"],
                 "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
                 "valid_from": "2026-01-02T03:04:05Z", "valid_until": "2026-02-01T00:00:00Z",
                 "labels": ["c2", "apt"]},
                {"type": "indicator", "spec_version": "2.1", "id": "indicator--2",
                 "created": "2026-01-04T00:00:00Z", "modified": "2026-01-04T00:00:00Z",
                 "pattern": "[domain-name:value = 'evil.example' OR url:value = 'http://evil.example/x'] OR [file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
                 "pattern_type": "stix", "valid_from": "2026-01-04T00:00:00Z"},
                {"type": "relationship", "id": "relationship--1",
                 "relationship_type": "indicates", "source_ref": "indicator--1",
                 "target_ref": "malware--1"},
                {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--1",
                 "value": "203.0.113.0/24"},
                {"type": "ipv6-addr", "id": "ipv6-addr--1", "value": "2001:db8::1"},
                {"type": "domain-name", "id": "domain-name--1", "value": "*.evil.example"},
                {"type": "url", "id": "url--1", "value": "https://evil.example/login"},
                {"type": "email-addr", "id": "email-addr--1", "value": "ceo@evil.example"},
                {"type": "file", "id": "file--1",
                 "hashes": {"MD5": "d41d8cd98f00b204e9800998ecf8427e",
                            "SHA-1": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}},
                {"type": "ipv4-addr", "value": "01.1.1.1"},
                {"type": "domain-name", "value": "evil\u{1}.example"}
            ]
        }));
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let meta1 = json!({
            "stix_id": "indicator--1", "tags": ["c2", "apt"],
            "firstSeen": "2026-01-02T03:04:05.000Z", "modified": "2026-01-03T00:00:00.000Z",
            "expiration": "2026-02-01T00:00:00Z"
        });
        let meta2 = json!({
            "stix_id": "indicator--2", "firstSeen": "2026-01-04T00:00:00Z",
            "modified": "2026-01-04T00:00:00Z"
        });
        assert_eq!(
            records(&parsed),
            json!([
                {"value": "198.51.100.7", "type": "IP", "fields": meta1},
                {"value": "evil.example", "type": "Domain", "fields": meta2},
                {"value": "http://evil.example/x", "type": "URL", "fields": meta2},
                {"value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                 "type": "File", "fields": meta2},
                {"value": "203.0.113.0/24", "type": "CIDR", "fields": {"stix_id": "ipv4-addr--1"}},
                {"value": "2001:db8::1", "type": "IPv6", "fields": {"stix_id": "ipv6-addr--1"}},
                {"value": "*.evil.example", "type": "DomainGlob",
                 "fields": {"stix_id": "domain-name--1"}},
                {"value": "https://evil.example/login", "type": "URL",
                 "fields": {"stix_id": "url--1"}},
                {"value": "ceo@evil.example", "type": "Email",
                 "fields": {"stix_id": "email-addr--1"}},
                {"value": "d41d8cd98f00b204e9800998ecf8427e", "type": "File",
                 "fields": {"stix_id": "file--1"}},
                {"value": "da39a3ee5e6b4b0d3255bfef95601890afd80709", "type": "File",
                 "fields": {"stix_id": "file--1"}},
                {"value": "01.1.1.1", "type": "IP"},
                {"value": "evil\u{1}.example", "type": "Domain"}
            ])
        );
        // Field order is the documented mapping order, whatever the object's order.
        let keys: Vec<&str> = parsed.records[0]
            .fields
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["stix_id", "tags", "firstSeen", "modified", "expiration"]
        );
    }

    #[test]
    fn rejects_objects_it_cannot_read_by_position_in_objects() {
        let parsed = stix(&json!({
            "type": "bundle",
            "objects": [
                {"type": "indicator", "id": "indicator--a",
                 "pattern": "[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8']",
                 "pattern_type": "stix"},
                {"type": "indicator", "id": "indicator--b",
                 "pattern": "alert tcp any any -> any any", "pattern_type": "snort"},
                {"type": "indicator", "id": "indicator--c", "pattern_type": "stix"},
                {"type": "ipv4-addr", "id": "ipv4-addr--d"},
                {"type": "url", "value": ""},
                {"type": "file", "id": "file--f", "name": "a.exe"},
                {"type": "file", "hashes": {"MD5": 5}},
                "indicator--h",
                {"id": "x--i"},
                {"type": "indicator", "pattern": "[url:value = 'ok']"},
                {"type": "indicator", "pattern": "[process:name = 'evil.exe']"}
            ]
        }));
        let rejected: Vec<(usize, &str)> = parsed
            .rejected
            .iter()
            .map(|r| (r.record, r.reason.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [
                (
                    1,
                    "indicator--a: pattern not understood: AND joins comparisons; only OR is supported"
                ),
                (
                    2,
                    "indicator--b: pattern_type \"snort\" is not supported; only \"stix\""
                ),
                (3, "indicator--c: missing string 'pattern'"),
                (4, "ipv4-addr--d: missing string 'value'"),
                (5, "empty 'value'"),
                (6, "file--f: file without 'hashes'"),
                (7, "hash 'MD5' is not a non-empty string"),
                (8, "not an object (found a string)"),
                (9, "x--i: missing string 'type'"),
                (
                    11,
                    "pattern not understood: object path 'process:name' is not supported"
                ),
            ]
        );
        assert_eq!(records(&parsed), json!([{"value": "ok", "type": "URL"}]));
    }

    #[test]
    fn files_that_are_not_a_bundle_are_errors_naming_the_problem() {
        let cases: &[(&str, &str)] = &[
            (
                "[]",
                "not a STIX bundle: expected an object, found an array",
            ),
            (
                r#"{"type": "report", "objects": []}"#,
                "not a STIX bundle: 'type' is \"report\", not \"bundle\"",
            ),
            (r#"{"objects": []}"#, "not a STIX bundle: missing 'type'"),
            (
                r#"{"type": "bundle", "objects": {}}"#,
                "not a STIX bundle: 'objects' is not an array (found an object)",
            ),
            (
                r#"{"type": "bundle", "objects": ["#,
                "not valid JSON: EOF while parsing a list at line 1 column 31",
            ),
            (
                "1.2.3.4",
                "not valid JSON: trailing characters at line 1 column 4",
            ),
        ];
        for (content, want) in cases {
            let got = parse(content.as_bytes())
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(got, Err((*want).to_owned()), "{content}");
        }
    }

    #[test]
    fn a_bundle_without_objects_imports_nothing() {
        let parsed = stix(&json!({"type": "bundle", "id": "bundle--1"}));
        assert!(parsed.records.is_empty() && parsed.rejected.is_empty());
    }

    proptest! {
        #[test]
        fn any_pattern_in_a_bundle_is_read_or_rejected_without_panicking(
            pattern in "[\\[\\]() 'a-z0-9:.=!\\\\-]{0,60}|\\[(ipv4-addr|url|file):(value|hashes\\.'MD5') = '[a-z0-9. ]{0,8}'( (OR|AND) url:value = 'x')?\\]",
        ) {
            let parsed = stix(&json!({
                "type": "bundle",
                "objects": [{"type": "indicator", "pattern": pattern}]
            }));
            prop_assert!(parsed.records.is_empty() != parsed.rejected.is_empty());
        }
    }
}
