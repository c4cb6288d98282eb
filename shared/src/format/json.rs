//! JSON (§8): a compact array of one object per entry.

use std::io;

use crate::export::args::ExportRequest;
use crate::format::Selection;
use crate::format::fields::{self, CellValue};

/// Writes the JSON array for the selection window; returns the number of objects.
pub fn write(
    out: &mut Vec<u8>,
    selection: &Selection<'_>,
    req: &ExportRequest<'_>,
) -> io::Result<u64> {
    let columns = fields::columns(&req.fields);
    // Each column's `"key":` (after `{` or `,`), escaped once for the whole list.
    let keys: Vec<Vec<u8>> = columns
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, column)| {
            let mut key = vec![if i == 0 { b'{' } else { b',' }];
            write_str(&mut key, &column.key);
            key.push(b':');
            key
        })
        .collect();
    let mut count = 0u64;
    out.push(b'[');
    for indicator in fields::window(selection, req) {
        if count > 0 {
            out.push(b',');
        }
        let value = fields::exported_value(indicator, req);
        match &columns {
            None => indicator.write_export_json(&value, out)?,
            Some(columns) => {
                for (column, key) in columns.iter().zip(&keys) {
                    out.extend_from_slice(key);
                    match fields::cell(indicator, &value, &column.source) {
                        CellValue::Str(s) => write_str(out, s),
                        CellValue::Json(v) => serde_json::to_writer(&mut *out, v)?,
                        CellValue::Null => out.extend_from_slice(b"null"),
                    }
                }
                if columns.is_empty() {
                    out.push(b'{');
                }
                out.push(b'}');
            }
        }
        count += 1;
    }
    out.push(b']');
    Ok(count)
}

/// A JSON string, byte for byte as `serde_json` writes it; values that need no escaping
/// (nearly all) are copied as they are.
fn write_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn strings_are_written_as_serde_json_writes_them(s in any::<String>()) {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_vec(&s).expect("json"));
        }
    }

    #[test]
    fn escapes_what_needs_escaping() {
        for s in [
            "plain",
            "",
            "q\"uote",
            "back\\slash",
            "tab\t",
            "\u{7f}é\u{1f}",
        ] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).expect("json"), "{s:?}");
        }
    }
}
