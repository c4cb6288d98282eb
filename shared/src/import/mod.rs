//! Reading indicator files for `feedgate indicators import`: a JSON array of records, CSV with a
//! header row, plain text (one value per line) or a STIX 2.1 bundle, into [`IndicatorRecord`]s.
//!
//! Pure: bytes in, records out; the command does the reading and the storing. Values, types and
//! fields are kept exactly as given — an IP-typed `01.1.1.1` or a value with control characters
//! is imported as it is, because the export rules decide what a list shows. A file that cannot
//! be read as its format at all is an [`ImportError`]; a record that cannot become an indicator
//! is [`Rejected`] with a reason and the rest of the file still imports.
//!
//! Duplicate values within one file are all kept, in file order: the store's upsert makes the
//! last one win, exactly as if the records had been imported one by one.
//!
//! ```
//! use feedgate::import::{self, ImportFormat};
//!
//! let content = b"# blocked today\n1.2.3.4\nevil.example\r\n\nnot a value\n";
//! assert_eq!(import::detect(content), ImportFormat::Text);
//! let parsed = import::parse(content, ImportFormat::Text, None).expect("text always reads");
//! let got: Vec<(&str, &str)> = parsed
//!     .records
//!     .iter()
//!     .map(|r| (r.value.as_str(), r.kind.as_str()))
//!     .collect();
//! assert_eq!(got, [("1.2.3.4", "IP"), ("evil.example", "Domain")]);
//! assert_eq!(parsed.rejected[0].record, 5);
//! ```

mod csv;
mod json;
mod pattern;
mod stix;
mod text;

use std::fmt;
use std::str::FromStr;

use crate::indicator::IndicatorRecord;

pub use text::detect_type;

/// An import file format, as named by `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// A JSON array of `{"value", "type", "fields"?, "custom_fields"?}` objects.
    Json,
    /// CSV with a header row naming a `value` column.
    Csv,
    /// One value per line.
    Text,
    /// A STIX 2.1 bundle of indicator and cyber-observable objects.
    Stix,
}

impl ImportFormat {
    /// The format's name as `--format` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Text => "text",
            Self::Stix => "stix",
        }
    }
}

impl fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--format` value that names no import format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown import format '{0}'; accepted: json, csv, text, stix")]
pub struct UnknownFormat(pub String);

impl FromStr for ImportFormat {
    type Err = UnknownFormat;

    /// `json`, `csv`, `text` or `stix`, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Json, Self::Csv, Self::Text, Self::Stix]
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// A record that could not become an indicator; the rest of the file still imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based: the line number for text and CSV (the line a CSV row starts on), the position
    /// in the array for JSON, the position in `objects` for a STIX bundle.
    pub record: usize,
    /// Why, in lower case, naming the offending key or value.
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {}: {}", self.record, self.reason)
    }
}

/// What one file holds: the indicators in file order and the records rejected.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The indicators, in file order (duplicates kept; the store's upsert makes the last win).
    pub records: Vec<IndicatorRecord>,
    /// The records that could not become indicators, in file order.
    pub rejected: Vec<Rejected>,
}

/// Where a reader puts what it reads, in file order, as it reads it: [`parse_into`] hands
/// records on while the file is still being read, so a large import need not hold them all.
pub trait Sink {
    /// How many records (and rejections) the file holds, when the reader knows before the
    /// first one (a JSON array, counted while it is checked). For progress displays.
    fn expect(&mut self, _entries: u64) {}
    /// The next indicator record.
    fn record(&mut self, record: IndicatorRecord);
    /// Record (or line) `record` could not become an indicator, for `reason`.
    fn reject(&mut self, record: usize, reason: String);
}

impl Sink for Parsed {
    fn record(&mut self, record: IndicatorRecord) {
        self.records.push(record);
    }

    fn reject(&mut self, record: usize, reason: String) {
        self.rejected.push(Rejected { record, reason });
    }
}

/// A file that cannot be read as the format at all. Problems with single records are
/// [`Rejected`] instead.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not JSON, or JSON that breaks off; serde_json's message names the line and column.
    #[error("not valid JSON: {0}")]
    Json(serde_json::Error),
    /// JSON, but not the array of records `--format json` takes.
    #[error("expected a JSON array of records, found {0}")]
    NotArray(&'static str),
    /// JSON, but not a STIX bundle object.
    #[error("not a STIX bundle: {0}")]
    NotBundle(String),
    /// A CSV file without even a header row.
    #[error("CSV file has no header row")]
    CsvNoHeader,
    /// A CSV header that names no `value` column.
    #[error("CSV header names no 'value' column: {0:?}")]
    CsvNoValueColumn(String),
    /// A CSV header that names a column twice, so a cell could not be told apart.
    #[error("CSV header names column '{0}' twice")]
    CsvDuplicateColumn(String),
    /// A CSV header that is not UTF-8.
    #[error("CSV header is not UTF-8")]
    CsvHeaderNotUtf8,
    /// The CSV reader failed (it reads from memory, so this is not expected).
    #[error("not valid CSV: {0}")]
    Csv(String),
}

/// Chooses the format from the content: a JSON array is [`ImportFormat::Json`], a JSON object
/// [`ImportFormat::Stix`] (a bundle is the only object import takes, so the STIX reader is the
/// one that can say what is wrong with any other), a first row naming a `value` column
/// [`ImportFormat::Csv`], anything else [`ImportFormat::Text`].
///
/// ```
/// use feedgate::import::{detect, ImportFormat};
///
/// assert_eq!(detect(br#"[{"value": "1.2.3.4", "type": "IP"}]"#), ImportFormat::Json);
/// assert_eq!(detect(br#"{"type": "bundle", "objects": []}"#), ImportFormat::Stix);
/// assert_eq!(detect(b"value,type,tags\n1.2.3.4,IP,scanner\n"), ImportFormat::Csv);
/// assert_eq!(detect(b"1.2.3.4\n"), ImportFormat::Text);
/// ```
pub fn detect(content: &[u8]) -> ImportFormat {
    let content = strip_bom(content);
    match content.trim_ascii_start().first() {
        Some(b'[') => ImportFormat::Json,
        Some(b'{') => ImportFormat::Stix,
        _ if csv::header_names_value(content) => ImportFormat::Csv,
        _ => ImportFormat::Text,
    }
}

/// Reads `content` as `format`.
///
/// `default_type` is `--type`: the type of every text line (instead of [`detect_type`]), and of
/// every CSV row without a type (no `type` column, or an empty cell). JSON and STIX carry their
/// own types and ignore it. An empty `default_type` counts as none. A leading UTF-8 byte order
/// mark is skipped in every format.
///
/// Errors only when the file cannot be read as `format` at all (JSON that is not an array, a
/// STIX file that is not a bundle, a CSV header without `value`); every per-record problem is
/// in [`Parsed::rejected`].
pub fn parse(
    content: &[u8],
    format: ImportFormat,
    default_type: Option<&str>,
) -> Result<Parsed, ImportError> {
    let mut parsed = Parsed::default();
    read(content, format, default_type, &mut parsed)?;
    Ok(parsed)
}

/// Reads `content` as `format` like [`parse`], handing each record and each rejection to `out`
/// as soon as it is read, in file order. Whatever could fail late is checked before the first
/// record is handed on (JSON that breaks off at the end is refused before anything reaches
/// `out`; a CSV header, a STIX bundle's shape are read first anyway): an error means `out`
/// got no record. JSON arrays are counted during that check and the count given to
/// [`Sink::expect`].
pub fn parse_into(
    content: &[u8],
    format: ImportFormat,
    default_type: Option<&str>,
    out: &mut dyn Sink,
) -> Result<(), ImportError> {
    if format == ImportFormat::Json {
        out.expect(json::check(strip_bom(content))?);
    }
    read(content, format, default_type, out)
}

fn read(
    content: &[u8],
    format: ImportFormat,
    default_type: Option<&str>,
    out: &mut dyn Sink,
) -> Result<(), ImportError> {
    let content = strip_bom(content);
    let default_type = default_type.filter(|t| !t.is_empty());
    match format {
        ImportFormat::Json => json::parse_into(content, out),
        ImportFormat::Csv => csv::parse_into(content, default_type, out),
        ImportFormat::Text => {
            text::parse_into(content, default_type, out);
            Ok(())
        }
        ImportFormat::Stix => stix::parse_into(content, out),
    }
}

fn strip_bom(content: &[u8]) -> &[u8] {
    content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content)
}

/// How a JSON value is named in reasons: "found a number".
fn json_kind(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn format_names_round_trip_and_ignore_case() {
        for format in [
            ImportFormat::Json,
            ImportFormat::Csv,
            ImportFormat::Text,
            ImportFormat::Stix,
        ] {
            assert_eq!(format.to_string().parse::<ImportFormat>(), Ok(format));
        }
        assert_eq!("JSON".parse::<ImportFormat>(), Ok(ImportFormat::Json));
        assert_eq!(
            "xml".parse::<ImportFormat>().map_err(|e| e.to_string()),
            Err("unknown import format 'xml'; accepted: json, csv, text, stix".to_owned())
        );
    }

    #[test]
    fn detects_the_format_from_the_content() {
        let cases: &[(&[u8], ImportFormat)] = &[
            (b"[]", ImportFormat::Json),
            (b"  \n\t[{\"value\": \"x\"}]", ImportFormat::Json),
            (b"\xEF\xBB\xBF[]", ImportFormat::Json),
            (
                b"{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": []}",
                ImportFormat::Stix,
            ),
            (
                b"\n{\"objects\": [], \"type\": \"bundle\"}",
                ImportFormat::Stix,
            ),
            (b"value,type\n1.2.3.4,IP\n", ImportFormat::Csv),
            (b"value\n1.2.3.4\n", ImportFormat::Csv),
            (
                b"\xEF\xBB\xBFValue,Type\r\n1.2.3.4,IP\r\n",
                ImportFormat::Csv,
            ),
            (b"tags, value ,type\nx,1.2.3.4,IP\n", ImportFormat::Csv),
            (b"\"value\",\"indicator_type\"\n", ImportFormat::Csv),
            (b"\n\nvalue,type\n", ImportFormat::Csv),
            (b"1.2.3.4\nevil.example\n", ImportFormat::Text),
            (b"# value list\n1.2.3.4\n", ImportFormat::Text),
            (b"values,type\n", ImportFormat::Text),
            (b"1.2.3.4,IP\n", ImportFormat::Text),
            (b"", ImportFormat::Text),
            (b"\xFF\xFE", ImportFormat::Text),
        ];
        for (content, want) in cases {
            assert_eq!(
                detect(content),
                *want,
                "{:?}",
                String::from_utf8_lossy(content)
            );
        }
    }

    /// Collects what `parse_into` hands on, in order, with what it was told to expect.
    #[derive(Default)]
    struct Events {
        expected: Option<u64>,
        seen: Vec<String>,
    }

    impl Sink for Events {
        fn expect(&mut self, entries: u64) {
            self.expected = Some(entries);
        }
        fn record(&mut self, record: IndicatorRecord) {
            self.seen.push(format!("record {}", record.value));
        }
        fn reject(&mut self, record: usize, reason: String) {
            self.seen.push(format!("reject {record}: {reason}"));
        }
    }

    #[test]
    fn parse_into_hands_on_what_parse_collects_in_file_order() {
        let cases: &[(&[u8], ImportFormat, Option<u64>)] = &[
            (
                br#"[{"value":"a.com","type":"Domain"}, 7, {"value":"1.2.3.4","type":"IP"}]"#,
                ImportFormat::Json,
                Some(3),
            ),
            (
                b"value,type\na.com,Domain\n,IP\n1.2.3.4,IP\n",
                ImportFormat::Csv,
                None,
            ),
            (b"a.com\n\xFF\n1.2.3.4\n", ImportFormat::Text, None),
        ];
        for (content, format, expected) in cases {
            let parsed = parse(content, *format, None).expect("parses");
            let mut events = Events::default();
            parse_into(content, *format, None, &mut events).expect("parses");
            assert_eq!(events.expected, *expected, "{format}");
            let records: Vec<String> = parsed
                .records
                .iter()
                .map(|r| format!("record {}", r.value))
                .collect();
            let handed: Vec<&String> = events
                .seen
                .iter()
                .filter(|e| e.starts_with("record"))
                .collect();
            assert_eq!(handed, records.iter().collect::<Vec<_>>(), "{format}");
            assert_eq!(
                events.seen.len(),
                parsed.records.len() + parsed.rejected.len(),
                "{format}"
            );
            // Rejections come where they are in the file: between the two records.
            assert!(
                events.seen[1].starts_with("reject"),
                "{format}: {:?}",
                events.seen
            );
        }
    }

    #[test]
    fn parse_into_hands_on_nothing_from_json_that_breaks_off() {
        let content = br#"[{"value":"a.com","type":"Domain"}, {"value":"b.com","#;
        let mut events = Events::default();
        let err = parse_into(content, ImportFormat::Json, None, &mut events).expect_err("broken");
        assert!(matches!(err, ImportError::Json(_)), "{err}");
        assert!(
            events.seen.is_empty() && events.expected.is_none(),
            "{:?}",
            events.seen
        );
        let err = parse_into(b"{}", ImportFormat::Json, None, &mut events).expect_err("object");
        assert!(matches!(err, ImportError::NotArray(_)), "{err}");
        assert!(events.seen.is_empty());
    }

    #[test]
    fn parses_each_format_after_a_byte_order_mark() {
        let cases: &[(&[u8], ImportFormat)] = &[
            (
                b"\xEF\xBB\xBF[{\"value\": \"1.2.3.4\", \"type\": \"IP\"}]",
                ImportFormat::Json,
            ),
            (b"\xEF\xBB\xBFvalue,type\n1.2.3.4,IP\n", ImportFormat::Csv),
            (b"\xEF\xBB\xBF1.2.3.4\n", ImportFormat::Text),
            (
                b"\xEF\xBB\xBF{\"type\": \"bundle\", \"objects\": [{\"type\": \"ipv4-addr\", \"value\": \"1.2.3.4\"}]}",
                ImportFormat::Stix,
            ),
        ];
        for (content, format) in cases {
            let parsed = parse(content, *format, None).expect("parses");
            let got: Vec<(&str, &str)> = parsed
                .records
                .iter()
                .map(|r| (r.value.as_str(), r.kind.as_str()))
                .collect();
            assert_eq!(got, [("1.2.3.4", "IP")], "{format}");
            assert!(parsed.rejected.is_empty(), "{format}");
        }
    }

    #[test]
    fn an_empty_default_type_counts_as_none() {
        let parsed = parse(b"whatever\n", ImportFormat::Text, Some("")).expect("text");
        assert!(parsed.records.is_empty());
        assert_eq!(parsed.rejected.len(), 1);
    }

    #[test]
    fn rejected_displays_its_record_number() {
        let rejected = Rejected {
            record: 3,
            reason: "missing string 'type'".into(),
        };
        assert_eq!(rejected.to_string(), "record 3: missing string 'type'");
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_bytes(
            content in proptest::collection::vec(any::<u8>(), 0..512),
            default_type in proptest::option::of("[A-Za-z]{0,6}"),
        ) {
            let _ = detect(&content);
            for format in [
                ImportFormat::Json,
                ImportFormat::Csv,
                ImportFormat::Text,
                ImportFormat::Stix,
            ] {
                let _ = parse(&content, format, default_type.as_deref());
            }
        }

        #[test]
        fn detected_format_parses_text_like_content_without_panicking(
            content in "[a-z0-9.,:/\\[\\]{}\"' \n\r#*@-]{0,256}",
        ) {
            let bytes = content.as_bytes();
            let _ = parse(bytes, detect(bytes), None);
        }
    }
}
