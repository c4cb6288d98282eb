//! Symantec ProxySG (§11.1): `define category <name>` blocks of values.

use std::io::{self, Write};

use serde_json::Value;

use crate::export::args::ExportRequest;
use crate::format::Selection;
use crate::indicator::{Indicator, IndicatorType};

/// Writes the ProxySG blocks for the selection window; returns the number of value lines.
/// Writes nothing when no value survives.
pub fn write<W: Write>(
    out: &mut W,
    selection: &Selection<'_>,
    req: &ExportRequest<'_>,
) -> io::Result<u64> {
    let start = usize::try_from(req.offset).unwrap_or(usize::MAX);
    let take = usize::try_from(req.limit).unwrap_or(usize::MAX);
    // Categories in order of first use, each with its values.
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    let mut count = 0u64;
    for indicator in selection.iter().skip(start).take(take) {
        if !matches!(
            indicator.kind(),
            IndicatorType::Ip
                | IndicatorType::Url
                | IndicatorType::Domain
                | IndicatorType::DomainGlob
        ) || indicator.value().is_empty()
        {
            continue;
        }
        let value = req.url.apply(indicator.value());
        let categories = categories(indicator, req);
        if has_control(&value)
            || categories
                .iter()
                .any(|c| *c != req.category_default && has_control(c))
        {
            continue;
        }
        for category in categories {
            let at = match blocks.iter().position(|(name, _)| *name == category) {
                Some(at) => at,
                None => {
                    blocks.push((category, Vec::new()));
                    blocks.len() - 1
                }
            };
            blocks[at].1.push(value.clone().into_owned());
            count += 1;
        }
    }
    for (i, (name, values)) in blocks.iter().enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
        }
        writeln!(out, "define category {name}")?;
        for value in values {
            out.write_all(value.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.write_all(b"end")?;
    }
    Ok(count)
}

/// The categories an indicator is written under (§11.1).
fn categories(indicator: &Indicator, req: &ExportRequest<'_>) -> Vec<String> {
    let listed = |c: &str| req.categories.is_empty() || req.categories.iter().any(|l| l == c);
    let fallback = || vec![req.category_default.clone()];
    match indicator.custom_field("proxysgcategory") {
        Some(Value::String(s)) if !s.is_empty() => {
            if listed(s) {
                vec![s.clone()]
            } else {
                fallback()
            }
        }
        Some(Value::Array(items)) => {
            let mut out: Vec<String> = Vec::new();
            for item in items {
                if let Value::String(s) = item
                    && !s.is_empty()
                    && listed(s)
                    && !out.contains(s)
                {
                    out.push(s.clone());
                }
            }
            if out.is_empty() { fallback() } else { out }
        }
        _ => fallback(),
    }
}

fn has_control(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20)
}
