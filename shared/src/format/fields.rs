//! Entries and fields shared by JSON and CSV (§8, §9).

use std::borrow::Cow;

use serde_json::Value;

use crate::export::args::{ExportRequest, FieldList};
use crate::format::Selection;
use crate::indicator::{Indicator, IndicatorType};

/// What a column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The (URL-handled) indicator value; key `value`.
    Value,
    /// The indicator type; key `indicator_type`.
    Type,
    /// A top-level field, else a custom field, else null.
    Field(String),
}

/// One exported key: its JSON key, its CSV header text and where its value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The JSON object key.
    pub key: String,
    /// The CSV header text: the item as written, `value` written `name`.
    pub header: String,
    /// The value's source.
    pub source: Source,
}

/// The columns of a field list, repeated keys kept once at their first position; `None` for
/// `all`.
pub fn columns(list: &FieldList) -> Option<Vec<Column>> {
    let FieldList::Items(items) = list else {
        return None;
    };
    let mut out: Vec<Column> = Vec::with_capacity(items.len());
    for item in items {
        let (key, source) = match item.as_str() {
            "name" | "value" => ("value".to_owned(), Source::Value),
            "type" | "indicator_type" => ("indicator_type".to_owned(), Source::Type),
            other => (other.to_owned(), Source::Field(other.to_owned())),
        };
        if out.iter().any(|c| c.key == key) {
            continue;
        }
        let header = if item == "value" { "name" } else { item }.to_owned();
        out.push(Column {
            key,
            header,
            source,
        });
    }
    Some(out)
}

/// The indicators at positions `[s, s+n)` of the selection with a non-empty value.
pub fn window<'a>(
    selection: &Selection<'a>,
    req: &ExportRequest<'_>,
) -> impl Iterator<Item = &'a Indicator> + 'a {
    let start = usize::try_from(req.offset).unwrap_or(usize::MAX);
    let take = usize::try_from(req.limit).unwrap_or(usize::MAX);
    selection
        .iter()
        .skip(start)
        .take(take)
        .filter(|i| !i.value().is_empty())
}

/// The exported value: `URL`-typed values go through the URL handler (§8).
pub fn exported_value<'a>(indicator: &'a Indicator, req: &ExportRequest<'_>) -> Cow<'a, str> {
    if *indicator.kind() == IndicatorType::Url {
        req.url.apply(indicator.value())
    } else {
        Cow::Borrowed(indicator.value())
    }
}

/// A column's value for one indicator.
pub fn cell<'a>(indicator: &'a Indicator, value: &'a str, source: &Source) -> CellValue<'a> {
    match source {
        Source::Value => CellValue::Str(value),
        Source::Type => CellValue::Str(indicator.kind().as_str()),
        Source::Field(name) => match indicator.lookup(name) {
            Some(v) => CellValue::Json(v),
            None => CellValue::Null,
        },
    }
}

/// A borrowed cell value.
#[derive(Debug, Clone, Copy)]
pub enum CellValue<'a> {
    /// A string.
    Str(&'a str),
    /// A stored JSON value.
    Json(&'a Value),
    /// Missing.
    Null,
}

/// The whole stored object (`fi=all`) with the exported value.
pub fn whole_object(indicator: &Indicator, value: &str) -> serde_json::Map<String, Value> {
    let mut object = indicator.to_export_object();
    if value != indicator.value() {
        object.insert("value".into(), Value::String(value.to_owned()));
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_value_are_one_key_written_as_name() {
        let cols = columns(&FieldList::Items(vec![
            "value".into(),
            "name".into(),
            "type".into(),
            "score".into(),
            "indicator_type".into(),
        ]))
        .expect("items");
        let headers: Vec<&str> = cols.iter().map(|c| c.header.as_str()).collect();
        let keys: Vec<&str> = cols.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(headers, ["name", "type", "score"]);
        assert_eq!(keys, ["value", "indicator_type", "score"]);
    }
}
