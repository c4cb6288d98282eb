//! Reading stored fields: lookups tuned for the small maps indicators carry, and the
//! coercions the tests apply to what they find.

use serde_json::{Map, Value};

use crate::indicator::Indicator;
use crate::instant::Instant;

/// Maps with more fields than this are searched by hash; smaller ones by a length-first scan,
/// which is cheaper than hashing the key and touches less memory.
const SCAN_MAX: usize = 16;

/// A top-level field by exact name.
#[inline]
pub(super) fn top<'a>(ind: &'a Indicator, key: &str) -> Option<&'a Value> {
    get_hinted(ind.fields(), key, &mut 0)
}

/// `map[key]`, trying position `hint` first and updating it: indicators of one store mostly
/// share a field order, so across a scan the hint nearly always hits and the lookup touches
/// one entry instead of every entry before it.
#[inline]
pub(super) fn get_hinted<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    hint: &mut usize,
) -> Option<&'a Value> {
    if let Some((k, v)) = map.iter().nth(*hint)
        && k.as_str() == key
    {
        return Some(v);
    }
    if map.len() > SCAN_MAX {
        return map.get(key);
    }
    let (i, v) = map
        .iter()
        .enumerate()
        .find_map(|(i, (k, v))| (k.as_str() == key).then_some((i, v)))?;
    *hint = i;
    Some(v)
}

/// Exact name first, then any ASCII letter case (field names are ASCII by grammar), in one
/// pass that only reads keys of the right length.
pub(super) fn get_any_case<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() > SCAN_MAX
        && let Some(v) = map.get(key)
    {
        return Some(v);
    }
    let mut loose = None;
    for (k, v) in map {
        if k.len() == key.len() {
            if k.as_str() == key {
                return Some(v);
            }
            if loose.is_none() && k.eq_ignore_ascii_case(key) {
                loose = Some(v);
            }
        }
    }
    loose
}

/// A field outside the table: the top-level field in any case (even null), else custom.
pub(super) fn other<'a>(ind: &'a Indicator, name: &str) -> Option<&'a Value> {
    get_any_case(ind.fields(), name).or_else(|| get_any_case(ind.custom_fields()?, name))
}

pub(super) fn number(v: Option<&Value>) -> Option<f64> {
    match v {
        Some(Value::Number(n)) => n.as_f64(),
        _ => None,
    }
}

pub(super) fn stored_instant(v: Option<&Value>) -> Option<Instant> {
    match v {
        Some(Value::String(s)) => Instant::parse(s),
        _ => None,
    }
}

/// Index into `REPUTATIONS`, or `None` when `score` is not one of 0–3.
pub(super) fn reputation(score: Option<&Value>) -> Option<u16> {
    let score = number(score)?;
    [0.0, 1.0, 2.0, 3.0]
        .iter()
        .position(|&s| s == score)
        .and_then(|i| u16::try_from(i).ok())
}

/// Present and not null, `""` or `[]`.
pub(super) fn filled(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}
