//! CSV (§9): a header row, then one RFC 4180 row per entry with every cell quoted.

use std::io::{self, Write};

use serde_json::{Map, Value};

use crate::export::args::ExportRequest;
use crate::format::Selection;
use crate::format::fields::{self, CellValue};

/// Writes the CSV rows for the selection window; returns the number of rows (header
/// excluded). Nothing at all is written when there are no rows.
pub fn write<W: Write>(
    out: &mut W,
    selection: &Selection<'_>,
    req: &ExportRequest<'_>,
) -> io::Result<u64> {
    // Values with C0 characters would break the row structure for naive consumers: dropped.
    let entries = fields::window(selection, req)
        .map(|indicator| (indicator, fields::exported_value(indicator, req)))
        .filter(|(_, value)| !value.bytes().any(|b| b < 0x20));
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
