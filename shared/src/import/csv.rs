//! The CSV import format: a header row naming a `value` column, then one indicator per row.
//!
//! Header names are matched after trimming surrounding whitespace: `value` (ASCII case ignored)
//! is the value, `type` or `indicator_type` (the name this service's own CSV export writes) is
//! the type; every other named column becomes a top-level field holding the cell as a string.
//! Cells are kept exactly as given (not trimmed); an empty cell is taken as "no value here", so
//! its field is left out rather than stored as `""`. A row without a type cell takes
//! `--type`. Columns with an empty header name are ignored; rows whose cells are all empty are
//! skipped like blank lines.

use ::csv::{ByteRecord, ReaderBuilder};
use serde_json::{Map, Value};

use super::{ImportError, Sink};
use crate::indicator::IndicatorRecord;

/// Where the columns that matter are, by position.
#[derive(Debug)]
struct Columns {
    value: usize,
    kind: Option<usize>,
    /// Field columns: position and field name, in header order.
    fields: Vec<(usize, String)>,
    /// Cells in the header row.
    width: usize,
}

impl Columns {
    fn from_header(header: &ByteRecord) -> Result<Self, ImportError> {
        let mut value = None;
        let mut kind = None;
        let mut fields: Vec<(usize, String)> = Vec::new();
        let mut names: Vec<&str> = Vec::with_capacity(header.len());
        for (position, cell) in header.iter().enumerate() {
            let name = std::str::from_utf8(cell)
                .map_err(|_| ImportError::CsvHeaderNotUtf8)?
                .trim();
            if name.is_empty() {
                continue;
            }
            if names.iter().any(|seen| seen.eq_ignore_ascii_case(name)) {
                return Err(ImportError::CsvDuplicateColumn(name.to_owned()));
            }
            names.push(name);
            if name.eq_ignore_ascii_case("value") {
                value = Some(position);
            } else if name.eq_ignore_ascii_case("type")
                || name.eq_ignore_ascii_case("indicator_type")
            {
                if kind.is_some() {
                    return Err(ImportError::CsvDuplicateColumn(name.to_owned()));
                }
                kind = Some(position);
            } else {
                fields.push((position, name.to_owned()));
            }
        }
        let Some(value) = value else {
            return Err(ImportError::CsvNoValueColumn(names.join(",")));
        };
        Ok(Self {
            value,
            kind,
            fields,
            width: header.len(),
        })
    }

    fn row(&self, row: &ByteRecord, default_type: Option<&str>) -> Result<IndicatorRecord, String> {
        if let Some(extra) = row
            .iter()
            .skip(self.width)
            .position(|cell| !cell.is_empty())
        {
            return Err(format!(
                "cell {} is beyond the header's {} columns",
                self.width + extra + 1,
                self.width
            ));
        }
        let value = match cell(row, self.value)? {
            Some(value) => value,
            None => return Err("missing 'value'".to_owned()),
        };
        let kind = match self.kind.map(|kind| cell(row, kind)).transpose()?.flatten() {
            Some(kind) => kind,
            None => match default_type {
                Some(kind) => kind,
                None => return Err("missing 'type' (give --type)".to_owned()),
            },
        };
        let mut fields = Map::new();
        for (position, name) in &self.fields {
            if let Some(text) = cell(row, *position)? {
                fields.insert(name.clone(), Value::String(text.to_owned()));
            }
        }
        Ok(IndicatorRecord {
            value: value.to_owned(),
            kind: kind.to_owned(),
            fields,
            custom_fields: None,
        })
    }
}

/// The cell at `position` as text; `None` when the row is short or the cell empty.
fn cell(row: &ByteRecord, position: usize) -> Result<Option<&str>, String> {
    match row.get(position) {
        None | Some(b"") => Ok(None),
        Some(bytes) => std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|_| format!("cell {} is not UTF-8", position + 1)),
    }
}

fn reader(content: &[u8]) -> ::csv::Reader<&[u8]> {
    // Rows may be short or long: that is a per-row matter, not a reason to stop reading.
    ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(content)
}

pub(super) fn parse_into(
    content: &[u8],
    default_type: Option<&str>,
    out: &mut dyn Sink,
) -> Result<(), ImportError> {
    let mut reader = reader(content);
    let mut row = ByteRecord::new();
    if !read(&mut reader, &mut row)? {
        return Err(ImportError::CsvNoHeader);
    }
    let columns = Columns::from_header(&row)?;
    while read(&mut reader, &mut row)? {
        if row.iter().all(<[u8]>::is_empty) {
            continue;
        }
        let line = row
            .position()
            .and_then(|p| usize::try_from(p.line()).ok())
            .unwrap_or(0);
        match columns.row(&row, default_type) {
            Ok(record) => out.record(record),
            Err(reason) => out.reject(line, reason),
        }
    }
    Ok(())
}

fn read(reader: &mut ::csv::Reader<&[u8]>, row: &mut ByteRecord) -> Result<bool, ImportError> {
    reader
        .read_byte_record(row)
        .map_err(|e| ImportError::Csv(e.to_string()))
}

/// Whether the first row of `content` names a `value` column (format detection).
pub(super) fn header_names_value(content: &[u8]) -> bool {
    let mut row = ByteRecord::new();
    matches!(reader(content).read_byte_record(&mut row), Ok(true))
        && row
            .iter()
            .any(|cell| cell.trim_ascii().eq_ignore_ascii_case(b"value"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{ImportFormat, Parsed, parse as parse_format};
    use serde_json::json;

    fn csv(content: &str, default_type: Option<&str>) -> Result<Parsed, ImportError> {
        parse_format(content.as_bytes(), ImportFormat::Csv, default_type)
    }

    fn records(parsed: &Parsed) -> Value {
        serde_json::to_value(&parsed.records).expect("records serialize")
    }

    fn rejected(parsed: &Parsed) -> Vec<(usize, &str)> {
        parsed
            .rejected
            .iter()
            .map(|r| (r.record, r.reason.as_str()))
            .collect()
    }

    #[test]
    fn reads_rows_with_extra_columns_as_string_fields() {
        let parsed = csv(
            "value,type,tags,score\n\
             1.2.3.4,IP,scanner,3\n\
             evil.example,Domain,,\n\
             \"http://x/y?a=1,2\",URL,\"multi\nline\",\" 7 \"\n",
            None,
        )
        .expect("csv");
        assert_eq!(
            records(&parsed),
            json!([
                {"value": "1.2.3.4", "type": "IP", "fields": {"tags": "scanner", "score": "3"}},
                {"value": "evil.example", "type": "Domain"},
                {"value": "http://x/y?a=1,2", "type": "URL",
                 "fields": {"tags": "multi\nline", "score": " 7 "}}
            ])
        );
        assert!(parsed.rejected.is_empty());
    }

    #[test]
    fn matches_header_names_loosely_but_keeps_cells_as_given() {
        let parsed = csv(
            "\"Tags\", VALUE ,Indicator_Type,,\r\n\
             a, 01.1.1.1 ,ip,ignored,\r\n\
             b,evil\u{1}.example,Domain\r\n",
            None,
        )
        .expect("csv");
        assert_eq!(
            records(&parsed),
            json!([
                {"value": " 01.1.1.1 ", "type": "ip", "fields": {"Tags": "a"}},
                {"value": "evil\u{1}.example", "type": "Domain", "fields": {"Tags": "b"}}
            ])
        );
        assert!(parsed.rejected.is_empty());
    }

    #[test]
    fn rows_without_a_type_take_the_default_type() {
        let content = "value,type\n1.2.3.4,\n5.6.7.8,CIDR\n";
        let parsed = csv(content, Some("IP")).expect("csv");
        assert_eq!(
            records(&parsed),
            json!([
                {"value": "1.2.3.4", "type": "IP"},
                {"value": "5.6.7.8", "type": "CIDR"}
            ])
        );
        let parsed = csv("value\nevil.example\n", Some("Domain")).expect("csv");
        assert_eq!(
            records(&parsed),
            json!([{"value": "evil.example", "type": "Domain"}])
        );
    }

    #[test]
    fn rejects_rows_without_a_value_or_type_by_line_number() {
        // Built from bytes: the last two rows hold bytes that are not UTF-8.
        let mut bytes = b"value,type,note\n\
             1.2.3.4,IP\n\
             ,IP,no value\n\
             5.6.7.8,,no type\n\
             \"quoted\nvalue\",\n\
             \n\
             ,,\n\
             9.9.9.9,IP,ok,,\n\
             9.9.9.9,IP,ok,surplus\n"
            .to_vec();
        bytes.extend_from_slice(b"bad\xFFbyte,IP\n1.1.1.1,IP,\xFE\n");
        let parsed = parse_format(&bytes, ImportFormat::Csv, None).expect("csv");
        assert_eq!(
            rejected(&parsed),
            [
                (3, "missing 'value'"),
                (4, "missing 'type' (give --type)"),
                (5, "missing 'type' (give --type)"),
                (10, "cell 4 is beyond the header's 3 columns"),
                (11, "cell 1 is not UTF-8"),
                (12, "cell 3 is not UTF-8"),
            ]
        );
        assert_eq!(
            records(&parsed),
            json!([
                {"value": "1.2.3.4", "type": "IP"},
                {"value": "9.9.9.9", "type": "IP", "fields": {"note": "ok"}}
            ])
        );
    }

    #[test]
    fn files_without_a_usable_header_are_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "CSV file has no header row"),
            (b"\n\n", "CSV file has no header row"),
            (
                b"ip,type\n1.2.3.4,IP\n",
                "CSV header names no 'value' column: \"ip,type\"",
            ),
            (
                b"value,type,Value\n",
                "CSV header names column 'Value' twice",
            ),
            (
                b"value,type,indicator_type\n",
                "CSV header names column 'indicator_type' twice",
            ),
            (b"value,t\xFFpe\n", "CSV header is not UTF-8"),
        ];
        for (content, want) in cases {
            let got = parse_format(content, ImportFormat::Csv, None)
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(got, Err((*want).to_owned()));
        }
    }

    #[test]
    fn a_header_only_file_imports_nothing() {
        let parsed = csv("value,type\n", None).expect("csv");
        assert!(parsed.records.is_empty() && parsed.rejected.is_empty());
    }
}
