//! JSON (§8): a compact array of one object per entry.

use std::io::{self, Write};

use serde_json::Value;

use crate::export::args::ExportRequest;
use crate::format::Selection;
use crate::format::fields::{self, CellValue};

/// Writes the JSON array for the selection window; returns the number of objects.
pub fn write<W: Write>(
    out: &mut W,
    selection: &Selection<'_>,
    req: &ExportRequest<'_>,
) -> io::Result<u64> {
    let columns = fields::columns(&req.fields);
    let mut count = 0u64;
    out.write_all(b"[")?;
    for indicator in fields::window(selection, req) {
        if count > 0 {
            out.write_all(b",")?;
        }
        let value = fields::exported_value(indicator, req);
        match &columns {
            None => indicator.write_export_json(&value, out)?,
            Some(columns) => {
                out.write_all(b"{")?;
                for (i, column) in columns.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut *out, &column.key)?;
                    out.write_all(b":")?;
                    match fields::cell(indicator, &value, &column.source) {
                        CellValue::Str(s) => serde_json::to_writer(&mut *out, s)?,
                        CellValue::Json(v) => serde_json::to_writer(&mut *out, v)?,
                        CellValue::Null => serde_json::to_writer(&mut *out, &Value::Null)?,
                    }
                }
                out.write_all(b"}")?;
            }
        }
        count += 1;
    }
    out.write_all(b"]")?;
    Ok(count)
}
