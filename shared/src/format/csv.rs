//! CSV (§9): a header row, then one RFC 4180 row per entry with every cell quoted.

use std::borrow::Cow;
use std::io::{self, Write};

use serde_json::{Map, Value};

use crate::export::args::ExportRequest;
use crate::format::Selection;
use crate::format::fields::{self, CellValue};
use crate::indicator::{Indicator, IndicatorType};

/// Writes the CSV rows for the selection window; returns the number of rows (header
/// excluded). Nothing at all is written when there are no rows.
pub fn write<W: Write>(
    out: &mut W,
    selection: &Selection<'_>,
    req: &ExportRequest<'_>,
) -> io::Result<u64> {
    // Values with C0 characters would break the row structure for naive consumers: dropped.
    let entries = entries(selection, req).filter(|(_, value)| !value.bytes().any(|b| b < 0x20));
    match fields::columns(&req.fields) {
        Some(columns) => {
            let mut rows = 0u64;
            for (indicator, value) in entries {
                if rows == 0 {
                    let header: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
                    out.write_all(header.join(",").as_bytes())?;
                }
                out.write_all(b"\n")?;
                for (i, column) in columns.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    write_cell(out, fields::cell(indicator, &value, &column.source))?;
                }
                rows += 1;
            }
            Ok(rows)
        }
        None => {
            // `all`: the header is the union of every entry's keys, so collect first.
            let objects: Vec<Map<String, Value>> = entries
                .map(|(indicator, value)| fields::whole_object(indicator, &value))
                .collect();
            let mut header: Vec<&str> = Vec::new();
            for object in &objects {
                for key in object.keys() {
                    if !header.contains(&key.as_str()) {
                        header.push(key);
                    }
                }
            }
            if objects.is_empty() {
                return Ok(0);
            }
            out.write_all(header.join(",").as_bytes())?;
            for object in &objects {
                out.write_all(b"\n")?;
                for (i, key) in header.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    let cell = object.get(*key).map_or(CellValue::Null, CellValue::Json);
                    write_cell(out, cell)?;
                }
            }
            Ok(objects.len() as u64)
        }
    }
}

/// The entries of §8 with their exported values: what [`fields::window`] and
/// [`fields::exported_value`] give, with the values read from the dataset's value buffer
/// (one pass through memory) rather than from each indicator (a cache miss each).
fn entries<'a>(
    selection: &Selection<'a>,
    req: &ExportRequest<'_>,
) -> impl Iterator<Item = (&'a Indicator, Cow<'a, str>)> + 'a {
    let start = usize::try_from(req.offset).unwrap_or(usize::MAX);
    let take = usize::try_from(req.limit).unwrap_or(usize::MAX);
    let values = selection.dataset().values();
    let url = req.url;
    selection
        .iter_positions()
        .skip(start)
        .take(take)
        .map(move |(position, indicator)| {
            let value = values
                .and_then(|v| v.get(position))
                .unwrap_or_else(|| indicator.value());
            (indicator, value)
        })
        .filter(|(_, value)| !value.is_empty())
        .map(move |(indicator, value)| {
            let exported = if *indicator.kind() == IndicatorType::Url {
                url.apply(value)
            } else {
                Cow::Borrowed(value)
            };
            (indicator, exported)
        })
}

/// One quoted cell: strings as is, null empty, booleans and numbers as JSON text, lists and
/// objects as compact JSON; `"` doubled.
fn write_cell<W: Write>(out: &mut W, cell: CellValue<'_>) -> io::Result<()> {
    let owned;
    let text: &str = match cell {
        CellValue::Str(s) => s,
        CellValue::Json(Value::String(s)) => s,
        CellValue::Null | CellValue::Json(Value::Null) => "",
        CellValue::Json(Value::Bool(true)) => "true",
        CellValue::Json(Value::Bool(false)) => "false",
        CellValue::Json(other) => {
            owned = serde_json::to_string(other).map_err(io::Error::other)?;
            &owned
        }
    };
    out.write_all(b"\"")?;
    let mut rest = text.as_bytes();
    while let Some(pos) = rest.iter().position(|&b| b == b'"') {
        out.write_all(&rest[..=pos])?;
        out.write_all(b"\"")?;
        rest = &rest[pos + 1..];
    }
    out.write_all(rest)?;
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;
    use crate::export::args::ExportParams;
    use crate::instant::Instant;
    use proptest::prelude::*;

    proptest! {
        /// The entries read through the value buffer are the entries of §8 as the JSON
        /// format reads them.
        #[test]
        fn entries_are_the_shared_window_and_values(
            values in prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "", "a.com", "https://a.com:8080/x", "1.1.1.1", "x\u{1}y", "hxxp://b",
                    ]),
                    prop::sample::select(vec![
                        IndicatorType::Url, IndicatorType::Domain, IndicatorType::Ip,
                    ]),
                ),
                0..20,
            ),
            positions in prop::collection::vec(0u32..24, 0..24),
            query in prop::sample::select(vec!["", "s=2", "n=3", "s=1&n=4", "pr=0&sp=0"]),
        ) {
            let indicators: Vec<Indicator> = values
                .iter()
                .map(|(v, t)| Indicator::new(*v, t.clone()))
                .collect();
            let dataset = Dataset::new(indicators, 1, Instant::from_unix_millis(0));
            let params = ExportParams::default();
            let req = ExportRequest::parse(&params, query).expect("valid args");
            let selection = Selection::new(&dataset, &positions);
            let ours: Vec<(*const Indicator, String)> = entries(&selection, &req)
                .map(|(i, v)| (std::ptr::from_ref(i), v.into_owned()))
                .collect();
            let shared: Vec<(*const Indicator, String)> = fields::window(&selection, &req)
                .map(|i| (std::ptr::from_ref(i), fields::exported_value(i, &req).into_owned()))
                .collect();
            prop_assert_eq!(ours, shared);
        }
    }
}
