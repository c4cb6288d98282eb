//! McAfee Web Gateway (§10): `type=<t>`, then `"value" "sources"` per entry.

use std::borrow::Cow;
use std::io::{self, Write};

use serde_json::Value;

use crate::export::args::ExportRequest;
use crate::format::Selection;
use crate::format::fields;
use crate::indicator::Indicator;

/// Writes the MWG list for the selection window; returns the number of entry lines. Writes
/// nothing when no entry survives (the empty-list rule decides the body then).
pub fn write<W: Write>(
    out: &mut W,
    selection: &Selection<'_>,
    req: &ExportRequest<'_>,
) -> io::Result<u64> {
    let mut count = 0u64;
    for indicator in fields::window(selection, req) {
        let value = fields::exported_value(indicator, req);
        let sources = sources(indicator);
        // A quote or control character cannot be represented in an MWG line: drop the entry.
        if !representable(&value) || !representable(&sources) {
            continue;
        }
        if count == 0 {
            write!(out, "type={}", req.mwg_type)?;
        }
        write!(out, "\n\"{value}\" \"{sources}\"")?;
        count += 1;
    }
    Ok(count)
}

fn representable(text: &str) -> bool {
    !text.bytes().any(|b| b == b'"' || b < 0x20)
}

fn sources(indicator: &Indicator) -> Cow<'_, str> {
    let text: Cow<'_, str> = match indicator.field("sourceBrands") {
        Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
        Some(Value::Array(items)) => Cow::Owned(
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => Cow::Borrowed(""),
    };
    if text.is_empty() {
        Cow::Borrowed("from CORTEX XSOAR")
    } else {
        text
    }
}
