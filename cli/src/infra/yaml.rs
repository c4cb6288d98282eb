//! A small block-style YAML writer for JSON values.
//!
//! `serde_yaml` writes strings such as `2012-10-17`, `yes` or `on` unquoted: YAML 1.2 readers
//! get strings back, but the YAML 1.1 readers that CloudFormation tooling uses (PyYAML) get a
//! date or a boolean, and an IAM policy `Version` that is a date is invalid. This writer
//! quotes every string that is not plainly safe, so both readings agree.

use std::fmt::Write;

use serde_json::{Map, Value};

/// `value` as a YAML document (block style, two-space indent, insertion order kept).
///
/// ```
/// use serde_json::json;
/// use feedgate_cli::infra::yaml::to_string;
/// let doc = to_string(&json!({"Version": "2012-10-17", "Action": ["s3:GetObject"], "On": "yes"}));
/// assert_eq!(doc, "Version: '2012-10-17'\nAction:\n  - s3:GetObject\n'On': 'yes'\n");
/// ```
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_list(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &Map<String, Value>, indent: usize) {
    for (key, value) in map {
        pad(out, indent);
        out.push_str(&string(key));
        out.push(':');
        write_value(out, value, indent);
    }
}

fn write_list(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            // A map's first key goes on the dash line; the rest align under it.
            Value::Object(map) if !map.is_empty() => {
                let mut first = true;
                for (key, value) in map {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        pad(out, indent + 2);
                    }
                    out.push_str(&string(key));
                    out.push(':');
                    write_value(out, value, indent + 2);
                }
            }
            other => write_value(out, other, indent),
        }
    }
}

/// Writes what follows `key:` or `-`: a scalar on the same line, a collection below.
fn write_value(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_list(out, items, indent + 2);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A string scalar: plain when no YAML 1.1 or 1.2 reader can take it for anything else,
/// single-quoted when printable, double-quoted with escapes otherwise.
fn string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else if s
        .chars()
        .all(|c| c == ' ' || (!c.is_control() && c != '\u{feff}'))
    {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        let mut quoted = String::with_capacity(s.len() + 2);
        quoted.push('"');
        for c in s.chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                '\n' => quoted.push_str("\\n"),
                '\t' => quoted.push_str("\\t"),
                c if c.is_control() || c == '\u{feff}' => {
                    let _ = write!(quoted, "\\u{:04x}", u32::from(c));
                }
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    }
}

/// Plain only for a conservative alphabet, starting with a letter or `/` (so never a number,
/// date, time, indicator or tag), and never a YAML 1.1 boolean or null word.
fn is_plain_safe(s: &str) -> bool {
    const RESERVED: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "infinity",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ':'))
        && !s.ends_with(':')
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ambiguous_strings_are_quoted() {
        let cases = [
            ("2010-09-09", "'2010-09-09'"),
            ("Yes", "'Yes'"),
            ("off", "'off'"),
            ("N", "'N'"),
            ("1:20", "'1:20'"),
            ("1_000", "'1_000'"),
            ("401", "'401'"),
            ("", "''"),
            ("a: b", "'a: b'"),
            ("it's", "'it''s'"),
            ("#x", "'#x'"),
            ("key:", "'key:'"),
            ("line\nbreak", "\"line\\nbreak\""),
            ("Basic realm=\"feedgate\"", "'Basic realm=\"feedgate\"'"),
        ];
        for (raw, want) in cases {
            assert_eq!(string(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn plain_words_stay_plain() {
        for raw in [
            "AWS::Serverless-2016-10-31",
            "Fn::GetAtt",
            "/xsoar/instance/execute/a.b-c_d",
            "provided.al2023",
        ] {
            assert_eq!(string(raw), raw);
        }
        assert_eq!(string("/x/{proxy+}"), "'/x/{proxy+}'");
    }

    #[test]
    fn output_reads_back_as_the_same_value() {
        let value = json!({
            "a": {"b": [1, "two", {"c": null, "d": [true, {}], "e": []}], "f": "2012-10-17"},
            "list": [["nested"], {"k": "v", "w": {"x": "y"}}],
            "empty": {},
            "text": "multi\nline \"quoted\" \\ back\u{1}",
        });
        let text = to_string(&value);
        let back: Value = serde_yaml::from_str(&text).expect("valid YAML");
        assert_eq!(back, value, "{text}");
    }

    #[test]
    fn maps_in_lists_align_under_the_dash() {
        let text = to_string(&json!({"skip": [{"id": "X", "comment": "why"}]}));
        assert_eq!(text, "skip:\n  - id: X\n    comment: why\n");
    }
}
