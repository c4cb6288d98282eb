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
        Some(Value::String(s)) => parse_stored_instant(s),
        _ => None,
    }
}

/// `Instant::parse`, with a fast path for the form stores hold nearly always
/// (`2025-12-01T10:00:00Z`, optionally with a fraction): an instant field compared across a
/// large store would otherwise spend most of its time in the general RFC 3339 parser. The
/// fast path accepts a strict subset of what `Instant::parse` accepts, with the same result,
/// and hands everything else to it.
pub(super) fn parse_stored_instant(text: &str) -> Option<Instant> {
    utc_seconds_form(text).or_else(|| Instant::parse(text))
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` with year 1000–9999 and every field in range, else `None`.
fn utc_seconds_form(text: &str) -> Option<Instant> {
    let b = text.as_bytes();
    if b.len() < 20 || b.last() != Some(&b'Z') {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(at, sep)| b.get(at) != Some(&sep)) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let nanos = match b.get(19..b.len() - 1)? {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            let value = num(20, frac.len())?;
            value * 10i64.pow(9 - u32::try_from(frac.len()).ok()?)
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if year < 1000 || day < 1 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(Instant::from_unix_nanos(
        i128::from(seconds) * 1_000_000_000 + i128::from(nanos),
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fast_instant_form_agrees_with_the_general_parser() {
        let cases = [
            "2025-12-01T10:00:00Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59.999999999Z",
            "2001-02-29T00:00:00Z",
            "2024-12-31T23:59:60Z",
            "2025-06-01T24:00:00Z",
            "2025-06-01T00:00:00.Z",
            "2025-06-01T00:00:00.1234567891Z",
            "2025-06-01t00:00:00z",
            "2025-06-01T00:00:00+02:00",
            "0999-01-01T00:00:00Z",
        ];
        for text in cases {
            assert_eq!(parse_stored_instant(text), Instant::parse(text), "{text}");
            if let Some(fast) = utc_seconds_form(text) {
                assert_eq!(Some(fast), Instant::parse(text), "{text}");
            }
        }
        assert!(utc_seconds_form("2025-12-01T10:00:00.5Z").is_some());
    }

    proptest! {
        #[test]
        fn fast_instant_form_never_disagrees(
            text in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{1,10})?Z"
        ) {
            if let Some(fast) = utc_seconds_form(&text) {
                prop_assert_eq!(Some(fast), Instant::parse(&text));
            }
        }
    }
}
