//! Field columns: what every indicator of a dataset stores under one top-level field, as
//! small ids of the distinct values, kept with the dataset.
//!
//! Selecting from a large store spends nearly all its time walking each indicator's field map
//! (a few dependent cache misses per indicator and test). Fields such as `score`,
//! `sourceBrands` or `tags` hold few distinct values across a store, and a test on such a
//! field is a pure function of the stored value (relative instants resolve against one `now`
//! per selection), so [`Query::select_in`] evaluates each test once per distinct value and
//! then reads two bytes per indicator. A field with too many distinct values (timestamps,
//! say) gets no column and is read from the indicators as before. The dataset builds a
//! column the second time a selection asks for it ([`Dataset::field_column`]).
//!
//! [`Dataset::field_column`]: crate::dataset::Dataset::field_column
//!
//! [`Query::select_in`]: super::Query::select_in

use std::hash::{BuildHasher, Hasher};

use hashbrown::HashTable;
use serde_json::Value;

use super::fields::get_hinted;
use crate::indicator::Indicator;

/// Most distinct values a column holds; a field with more gets no column. Small in tests, so
/// that they exercise fields on both sides of the limit.
pub(crate) const MAX_DISTINCT: usize = if cfg!(test) { 8 } else { 4096 };

/// The values one top-level field holds across a dataset.
#[derive(Debug)]
pub(crate) struct FieldColumn {
    /// Per indicator: 0 when it has no such field, else 1 + an index into `distinct`.
    ids: Box<[u16]>,
    /// The distinct values. Equal values may appear more than once (`0.0` and `-0.0`, say);
    /// what matters is that one id never stands for two different values.
    distinct: Box<[Value]>,
}

impl FieldColumn {
    /// The column of `key` over `indicators`, or `None` when the field holds more than
    /// [`MAX_DISTINCT`] distinct values.
    pub(crate) fn build(indicators: &[Indicator], key: &str) -> Option<Self> {
        let hasher = foldhash::fast::FixedState::with_seed(0x636f_6c75_6d6e);
        let hash = |v: &Value| {
            let mut h = hasher.build_hasher();
            hash_value(v, &mut h);
            h.finish()
        };
        let mut table: HashTable<u16> = HashTable::new();
        let mut distinct: Vec<&Value> = Vec::new();
        let mut ids = Vec::with_capacity(indicators.len());
        let mut hint = 0;
        for indicator in indicators {
            let Some(value) = get_hinted(indicator.fields(), key, &mut hint) else {
                ids.push(0);
                continue;
            };
            let h = hash(value);
            let id = match table.find(h, |&id| distinct[usize::from(id) - 1] == value) {
                Some(&id) => id,
                None => {
                    if distinct.len() >= MAX_DISTINCT {
                        return None;
                    }
                    distinct.push(value);
                    let id = u16::try_from(distinct.len()).ok()?;
                    table.insert_unique(h, id, |&id| hash(distinct[usize::from(id) - 1]));
                    id
                }
            };
            ids.push(id);
        }
        Some(Self {
            ids: ids.into_boxed_slice(),
            distinct: distinct.into_iter().cloned().collect(),
        })
    }

    /// Per indicator: 0 for no field, else 1 + an index into [`FieldColumn::distinct`].
    pub(crate) fn ids(&self) -> &[u16] {
        &self.ids
    }

    /// The distinct values.
    pub(crate) fn distinct(&self) -> &[Value] {
        &self.distinct
    }
}

/// A hash that agrees with `Value`'s equality: equal values hash alike. Objects, equal in any
/// key order, hash by length only; they are rare in the fields that get columns.
fn hash_value(value: &Value, h: &mut impl Hasher) {
    match value {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => {
            h.write_u8(1);
            h.write_u8(u8::from(*b));
        }
        Value::Number(n) => {
            h.write_u8(2);
            // `Number`s are equal when they have the same representation and value; hashing
            // the value of either integer form or the float's bits never separates equal ones
            // except `0.0` and `-0.0`, which then get two ids (harmless).
            if let Some(u) = n.as_u64() {
                h.write_u64(u);
            } else if let Some(i) = n.as_i64() {
                h.write_i64(i);
            } else {
                h.write_u64(n.as_f64().map_or(0, f64::to_bits));
            }
        }
        Value::String(s) => {
            h.write_u8(3);
            h.write(s.as_bytes());
            h.write_u8(0xff);
        }
        Value::Array(items) => {
            h.write_u8(4);
            h.write_usize(items.len());
            for item in items {
                hash_value(item, h);
            }
        }
        Value::Object(map) => {
            h.write_u8(5);
            h.write_usize(map.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ind(fields: Value) -> Indicator {
        serde_json::from_value(json!({"value": "v", "type": "IP", "fields": fields}))
            .expect("indicator")
    }

    #[test]
    fn gives_equal_values_one_id_and_absent_fields_zero() {
        let data = [
            ind(json!({"score": 2, "tags": ["a", "b"]})),
            ind(json!({"tags": ["a", "b"], "score": 2})),
            ind(json!({"score": 2.0})),
            ind(json!({})),
            ind(json!({"score": null, "o": {"a": 1, "b": 2}})),
            ind(json!({"o": {"b": 2, "a": 1}})),
        ];
        let score = FieldColumn::build(&data, "score").expect("few values");
        assert_eq!(score.ids(), [1, 1, 2, 0, 3, 0]);
        assert_eq!(score.distinct(), [json!(2), json!(2.0), Value::Null]);
        let tags = FieldColumn::build(&data, "tags").expect("few values");
        assert_eq!(tags.ids(), [1, 1, 0, 0, 0, 0]);
        let objects = FieldColumn::build(&data, "o").expect("few values");
        assert_eq!(objects.ids(), [0, 0, 0, 0, 1, 1]);
    }

    #[test]
    fn refuses_fields_with_too_many_distinct_values() {
        let data: Vec<Indicator> = (0..=MAX_DISTINCT)
            .map(|i| ind(json!({"n": i, "few": i % 2})))
            .collect();
        assert!(FieldColumn::build(&data, "n").is_none());
        assert!(FieldColumn::build(&data[..MAX_DISTINCT], "n").is_some());
        assert_eq!(
            FieldColumn::build(&data, "few").map(|c| c.distinct().len()),
            Some(2)
        );
    }
}
