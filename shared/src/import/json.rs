//! The JSON import format: an array of `{"value", "type", "fields"?, "custom_fields"?}` objects,
//! the shape of the conformance vectors.
//!
//! The array is read in one pass straight from the slice into [`IndicatorRecord`]s: a record
//! with a problem becomes a reason instead of failing the whole file, and no record is first
//! built as a whole JSON object and then converted. Other keys of a record are ignored, as
//! [`IndicatorRecord`]'s own deserializer ignores them.

use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, Deserialize, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

#[cfg(test)]
use super::Parsed;
use super::{ImportError, Sink, json_kind};
use crate::indicator::IndicatorRecord;

#[cfg(test)]
pub(super) fn parse(content: &[u8]) -> Result<Parsed, ImportError> {
    let mut parsed = Parsed::default();
    parse_into(content, &mut parsed)?;
    Ok(parsed)
}

/// Reads `content`, which must be one JSON array and nothing after it, with `visitor`.
fn read_array<'de, V: Visitor<'de>>(
    content: &'de [u8],
    visitor: V,
) -> Result<V::Value, ImportError> {
    match content.trim_ascii_start().first() {
        Some(b'[') => {}
        Some(b'{') => {
            return Err(ImportError::NotArray(
                "an object (a STIX bundle needs --format stix)",
            ));
        }
        // Either not JSON (say so, with serde_json's position) or a lone scalar.
        _ => {
            return match serde_json::from_slice::<Value>(content) {
                Err(e) => Err(ImportError::Json(e)),
                Ok(value) => Err(ImportError::NotArray(json_kind(&value))),
            };
        }
    }
    let mut de = serde_json::Deserializer::from_slice(content);
    let value = de.deserialize_seq(visitor).map_err(ImportError::Json)?;
    de.end().map_err(ImportError::Json)?;
    Ok(value)
}

/// Checks that `content` is one well-formed JSON array, without building anything, and
/// counts its elements.
pub(super) fn check(content: &[u8]) -> Result<u64, ImportError> {
    read_array(content, Count)
}

/// Counts the elements of an array, skipping over them.
struct Count;

impl<'de> Visitor<'de> for Count {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut count = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            count += 1;
        }
        Ok(count)
    }
}

pub(super) fn parse_into(content: &[u8], out: &mut dyn Sink) -> Result<(), ImportError> {
    read_array(content, Records { out })
}

/// The top-level array, each element handed to `out` as it is read.
struct Records<'s> {
    out: &'s mut dyn Sink,
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut number = 0;
        while let Some(entry) = seq.next_element::<Entry>()? {
            number += 1;
            match entry {
                Entry::Record(record) => self.out.record(record),
                Entry::Rejected(reason) => self.out.reject(number, reason),
            }
        }
        Ok(())
    }
}

/// One array element: a record, or why it is not one.
enum Entry {
    Record(IndicatorRecord),
    Rejected(String),
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl EntryVisitor {
    fn not_an_object<E>(found: &str) -> Result<Entry, E> {
        Ok(Entry::Rejected(format!("not an object (found {found})")))
    }
}

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record object")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Entry, E> {
        Self::not_an_object("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Entry, E> {
        Self::not_an_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Entry, E> {
        Self::not_an_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Entry, E> {
        Self::not_an_object("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Entry, E> {
        Self::not_an_object("a string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Entry, E> {
        Self::not_an_object("null")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::not_an_object("an array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let mut value = Slot::default();
        let mut kind = Slot::default();
        let mut fields = Slot::default();
        let mut custom_fields = Slot::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Value => value.fill(map.next_value()?),
                Key::Type => kind.fill(map.next_value()?),
                Key::Fields => fields.fill(map.next_value()?),
                Key::CustomFields => custom_fields.fill(map.next_value()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let mut reasons = Vec::new();
        let value = value.string("value", &mut reasons);
        let kind = kind.string("type", &mut reasons);
        let fields = fields.object("fields", &mut reasons);
        let custom_fields = custom_fields.object("custom_fields", &mut reasons);
        Ok(match (value, kind, fields, custom_fields) {
            (Some(value), Some(kind), Some(fields), Some(custom_fields)) if reasons.is_empty() => {
                Entry::Record(IndicatorRecord {
                    value,
                    kind,
                    fields: fields.unwrap_or_default(),
                    custom_fields,
                })
            }
            _ => Entry::Rejected(reasons.join("; ")),
        })
    }
}

/// A known key's value as read, or that the key came twice.
#[derive(Default)]
enum Slot {
    #[default]
    Absent,
    Present(Value),
    Duplicate,
}

impl Slot {
    // A repeated key is ambiguous: which one did the author mean? Rejected rather than guessed.
    fn fill(&mut self, value: Value) {
        *self = match self {
            Self::Absent => Self::Present(value),
            Self::Present(_) | Self::Duplicate => Self::Duplicate,
        };
    }

    /// A non-empty string (an empty value or type could not be a store key).
    fn string(self, key: &str, reasons: &mut Vec<String>) -> Option<String> {
        match self {
            Self::Present(Value::String(s)) if !s.is_empty() => return Some(s),
            Self::Present(Value::String(_)) => reasons.push(format!("empty '{key}'")),
            Self::Present(other) => reasons.push(format!(
                "missing string '{key}' (found {})",
                json_kind(&other)
            )),
            Self::Absent => reasons.push(format!("missing string '{key}'")),
            Self::Duplicate => reasons.push(format!("duplicate key '{key}'")),
        }
        None
    }

    /// `Some(None)` when absent or null, `Some(Some(map))` for an object, `None` (with a
    /// reason) for anything else.
    fn object(self, key: &str, reasons: &mut Vec<String>) -> Option<Option<Map<String, Value>>> {
        match self {
            Self::Absent | Self::Present(Value::Null) => Some(None),
            Self::Present(Value::Object(map)) => Some(Some(map)),
            Self::Present(other) => {
                reasons.push(format!(
                    "'{key}' is not an object (found {})",
                    json_kind(&other)
                ));
                None
            }
            Self::Duplicate => {
                reasons.push(format!("duplicate key '{key}'"));
                None
            }
        }
    }
}

/// A record key, matched without allocating.
enum Key {
    Value,
    Type,
    Fields,
    CustomFields,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "value" => Key::Value,
            "type" => Key::Type,
            "fields" => Key::Fields,
            "custom_fields" => Key::CustomFields,
            _ => Key::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_ok(content: &str) -> Parsed {
        parse(content.as_bytes()).expect("a JSON array")
    }

    fn record(value: &str, kind: &str) -> IndicatorRecord {
        IndicatorRecord {
            value: value.into(),
            kind: kind.into(),
            fields: Map::new(),
            custom_fields: None,
        }
    }

    fn as_json(records: &[IndicatorRecord]) -> Value {
        serde_json::to_value(records).expect("records serialize")
    }

    #[test]
    fn reads_records_with_fields_and_custom_fields_in_order() {
        let parsed = parse_ok(
            r#"[
              {"value": "1.2.3.4", "type": "IP",
               "fields": {"tags": ["a", "b"], "score": 3, "expiration": "2030-01-01T00:00:00Z"},
               "custom_fields": {"zeta": 1, "alpha": {"x": null}}},
              {"value": "evil.example", "type": "Domain"},
              {"type": "URL", "value": "http://x/y", "fields": null, "custom_fields": null}
            ]"#,
        );
        assert!(parsed.rejected.is_empty());
        assert_eq!(
            as_json(&parsed.records),
            json!([
                {"value": "1.2.3.4", "type": "IP",
                 "fields": {"tags": ["a", "b"], "score": 3, "expiration": "2030-01-01T00:00:00Z"},
                 "custom_fields": {"zeta": 1, "alpha": {"x": null}}},
                {"value": "evil.example", "type": "Domain"},
                {"value": "http://x/y", "type": "URL"}
            ])
        );
        // preserve_order: fields keep the file's order, not sorted.
        let keys: Vec<&str> = parsed.records[0]
            .fields
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["tags", "score", "expiration"]);
    }

    #[test]
    fn keeps_values_types_and_fields_exactly_as_given() {
        let parsed = parse_ok(
            r#"[
              {"value": "01.1.1.1", "type": "IP"},
              {"value": "evil\u0001.example\u001f", "type": "Domain"},
              {"value": " padded ", "type": "ip"},
              {"value": "line\r\nbreak", "type": "Custom Type", "fields": {"": "\u0000"}},
              {"value": "1.2.3.4", "type": "IP"},
              {"value": "1.2.3.4", "type": "CIDR"}
            ]"#,
        );
        assert!(parsed.rejected.is_empty());
        assert_eq!(
            as_json(&parsed.records),
            as_json(&[
                record("01.1.1.1", "IP"),
                record("evil\u{1}.example\u{1f}", "Domain"),
                record(" padded ", "ip"),
                IndicatorRecord {
                    fields: Map::from_iter([("".to_owned(), json!("\u{0}"))]),
                    ..record("line\r\nbreak", "Custom Type")
                },
                // Duplicates are all kept: the store's upsert makes the last one win.
                record("1.2.3.4", "IP"),
                record("1.2.3.4", "CIDR"),
            ])
        );
    }

    #[test]
    fn rejects_records_without_a_string_value_and_type_with_one_based_numbers() {
        let parsed = parse_ok(
            r#"[
              {"value": "ok.example", "type": "Domain"},
              {"value": "1.2.3.4"},
              {"type": "IP"},
              {"value": 1234, "type": "IP"},
              {"value": "1.2.3.4", "type": null},
              {"value": "", "type": "IP"},
              {"value": "1.2.3.4", "type": ""},
              {},
              "1.2.3.4",
              ["1.2.3.4", "IP"],
              null,
              7,
              true,
              {"value": "1.2.3.4", "type": "IP", "fields": "tags"},
              {"value": "1.2.3.4", "type": "IP", "custom_fields": []},
              {"value": "1.2.3.4", "type": "IP", "value": "5.6.7.8"},
              {"value": "1.2.3.4", "type": "IP", "fields": {}, "fields": {}},
              {"value": "last.example", "type": "Domain", "extra": [1, {"a": 2}]}
            ]"#,
        );
        let rejected: Vec<(usize, &str)> = parsed
            .rejected
            .iter()
            .map(|r| (r.record, r.reason.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [
                (2, "missing string 'type'"),
                (3, "missing string 'value'"),
                (4, "missing string 'value' (found a number)"),
                (5, "missing string 'type' (found null)"),
                (6, "empty 'value'"),
                (7, "empty 'type'"),
                (8, "missing string 'value'; missing string 'type'"),
                (9, "not an object (found a string)"),
                (10, "not an object (found an array)"),
                (11, "not an object (found null)"),
                (12, "not an object (found a number)"),
                (13, "not an object (found a boolean)"),
                (14, "'fields' is not an object (found a string)"),
                (15, "'custom_fields' is not an object (found an array)"),
                (16, "duplicate key 'value'"),
                (17, "duplicate key 'fields'"),
            ]
        );
        assert_eq!(
            as_json(&parsed.records),
            as_json(&[
                record("ok.example", "Domain"),
                record("last.example", "Domain")
            ])
        );
    }

    #[test]
    fn an_empty_array_imports_nothing() {
        let parsed = parse_ok(" [ ] \n");
        assert!(parsed.records.is_empty() && parsed.rejected.is_empty());
    }

    #[test]
    fn files_that_are_not_a_json_array_are_errors_naming_the_problem() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"type": "bundle", "objects": []}"#,
                "expected a JSON array of records, found an object (a STIX bundle needs --format stix)",
            ),
            (
                "\"1.2.3.4\"",
                "expected a JSON array of records, found a string",
            ),
            ("42", "expected a JSON array of records, found a number"),
            (
                "",
                "not valid JSON: EOF while parsing a value at line 1 column 0",
            ),
            (
                "1.2.3.4\n",
                "not valid JSON: trailing characters at line 1 column 4",
            ),
            (
                r#"[{"value": "1.2.3.4", "type": "IP"},"#,
                "not valid JSON: EOF while parsing a value at line 1 column 36",
            ),
            (
                r#"[{"value": "1.2.3.4", "type": "IP"}] []"#,
                "not valid JSON: trailing characters at line 1 column 38",
            ),
            (
                "[{\"value\": \"a\u{1}b\", \"type\": \"IP\"}]",
                "not valid JSON: control character (\\u0000-\\u001F) found while parsing a string at line 1 column 14",
            ),
            (
                "[{\"value\": 1e999, \"type\": \"IP\"}]",
                "not valid JSON: number out of range at line 1 column 16",
            ),
        ];
        for (content, want) in cases {
            let got = parse(content.as_bytes())
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(got, Err((*want).to_owned()), "{content:?}");
        }
    }

    #[test]
    fn a_record_shaped_like_the_conformance_vectors_round_trips() {
        let records = vec![
            IndicatorRecord {
                value: "https://a.example/x?y=1".into(),
                kind: "URL".into(),
                fields: Map::from_iter([("sourceBrands".to_owned(), json!(["X"]))]),
                custom_fields: Some(Map::from_iter([("c".to_owned(), json!(1.5))])),
            },
            record("::1", "IPv6"),
        ];
        let text = serde_json::to_string(&records).expect("serializes");
        let parsed = parse_ok(&text);
        assert_eq!(as_json(&parsed.records), as_json(&records));
    }
}
