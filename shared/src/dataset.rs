//! An immutable snapshot of the indicator set, as the export renders from it.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, OnceLock};

use hashbrown::HashTable;

use crate::indicator::Indicator;
use crate::instant::Instant;
use crate::query::column::FieldColumn;

/// One field's column: how many selections asked for it, and the column, built once by the
/// first selection that gets to use it.
#[derive(Debug, Default)]
struct ColumnSlot {
    asked: u32,
    column: Arc<OnceLock<Option<Arc<FieldColumn>>>>,
}

/// The indicator set in export order, with the version it was read at. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Dataset {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    indicators: Box<[Indicator]>,
    version: u64,
    modified: Instant,
    /// Sum of the value lengths: sizes output buffers without a pass over the records.
    value_bytes: usize,
    /// Built on first use: renders that deduplicate lines need it, JSON ones do not.
    index: OnceLock<Option<ValueIndex>>,
    /// Query field columns by field name.
    columns: Mutex<HashMap<&'static str, ColumnSlot>>,
    /// Built on first use by render caches and selections.
    expirations: OnceLock<Expirations>,
}

impl Dataset {
    /// A dataset of `indicators` (in export order) at `version`, last changed at `modified`.
    pub fn new(indicators: impl Into<Box<[Indicator]>>, version: u64, modified: Instant) -> Self {
        let indicators: Box<[Indicator]> = indicators.into();
        let value_bytes = indicators.iter().map(|i| i.value().len()).sum();
        Self {
            inner: Arc::new(Inner {
                value_bytes,
                indicators,
                version,
                modified,
                index: OnceLock::new(),
                columns: Mutex::new(HashMap::new()),
                expirations: OnceLock::new(),
            }),
        }
    }

    /// The indicators in export order.
    pub fn indicators(&self) -> &[Indicator] {
        &self.inner.indicators
    }

    /// The dataset version; it changes on every write.
    pub fn version(&self) -> u64 {
        self.inner.version
    }

    /// When the data last changed.
    pub fn modified(&self) -> Instant {
        self.inner.modified
    }

    /// Total bytes of all values.
    pub fn value_bytes(&self) -> usize {
        self.inner.value_bytes
    }

    /// Whether some indicator expires in `(from, to]`: a list rendered at `from` may differ
    /// at `to` even though the data version did not change.
    pub fn expires_between(&self, from: Instant, to: Instant) -> bool {
        let sorted = &self.expirations().sorted;
        let first_after = sorted.partition_point(|t| *t <= from);
        sorted.get(first_after).is_some_and(|t| *t <= to)
    }

    /// Whether every indicator is active at `now`: none has an `expirationStatus` of
    /// `expired`, and none has an expiry instant at or before `now`. Lets a selection answer
    /// the implicit active-only filter without reading each indicator.
    pub fn none_expired_at(&self, now: Instant) -> bool {
        let expirations = self.expirations();
        !expirations.explicitly_expired && expirations.sorted.first().is_none_or(|t| *t > now)
    }

    fn expirations(&self) -> &Expirations {
        self.inner.expirations.get_or_init(|| {
            let mut sorted = Vec::new();
            let mut explicitly_expired = false;
            for indicator in &self.inner.indicators {
                match indicator.expires_at() {
                    Some(at) => sorted.push(at),
                    // Without an expiry instant, the status alone decides, whatever the time.
                    None => {
                        explicitly_expired |= indicator.is_expired(Instant::from_unix_millis(0))
                    }
                }
            }
            sorted.sort_unstable();
            Expirations {
                sorted,
                explicitly_expired,
            }
        })
    }

    /// The position of every value, or `None` when two indicators share a value (stores key
    /// indicators by value, so only hand-built datasets can).
    pub fn value_index(&self) -> Option<&ValueIndex> {
        self.inner
            .index
            .get_or_init(|| ValueIndex::build(&self.inner.indicators))
            .as_ref()
    }

    /// The query column of the top-level field `key`, or `None` when the field holds too many
    /// distinct values or this is the first selection that asks. A column costs a pass over
    /// every indicator, which pays off from the second selection on the same data; a dataset
    /// selected from once (a store whose data changes between every two requests) never pays
    /// for it. Keys are the fixed field names of the query language, so the set of columns
    /// stays small.
    pub(crate) fn field_column(&self, key: &'static str) -> Option<Arc<FieldColumn>> {
        let cell = {
            let mut columns = self.inner.columns.lock().unwrap_or_else(|p| p.into_inner());
            let slot = columns.entry(key).or_default();
            slot.asked = slot.asked.saturating_add(1);
            if slot.asked < 2 {
                return None;
            }
            Arc::clone(&slot.column)
        };
        // Built outside the map's lock: a selection on another field need not wait.
        cell.get_or_init(|| FieldColumn::build(&self.inner.indicators, key).map(Arc::new))
            .clone()
    }
}

/// What decides, for any instant, whether a dataset has expired indicators.
#[derive(Debug)]
struct Expirations {
    /// Every expiry instant, sorted.
    sorted: Vec<Instant>,
    /// Whether some indicator is expired by its `expirationStatus`.
    explicitly_expired: bool,
}

/// Value → position lookup over a dataset whose values are distinct.
#[derive(Debug)]
pub struct ValueIndex {
    table: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl ValueIndex {
    fn build(indicators: &[Indicator]) -> Option<Self> {
        let hasher = foldhash::fast::FixedState::with_seed(0x7661_6c75_6573);
        let mut table = HashTable::with_capacity(indicators.len());
        for (pos, indicator) in indicators.iter().enumerate() {
            let pos = u32::try_from(pos).ok()?;
            let value = indicator.value();
            let hash = hasher.hash_one(value);
            if table
                .find(hash, |&p: &u32| indicators[p as usize].value() == value)
                .is_some()
            {
                return None;
            }
            table.insert_unique(hash, pos, |&p| {
                hasher.hash_one(indicators[p as usize].value())
            });
        }
        Some(Self { table, hasher })
    }

    /// The position of the indicator whose value is `value`.
    pub fn position(&self, indicators: &[Indicator], value: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(value);
        self.table
            .find(hash, |&p| {
                indicators
                    .get(p as usize)
                    .is_some_and(|i| i.value() == value)
            })
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::IndicatorType;

    #[test]
    fn tells_whether_an_expiry_falls_in_a_window() {
        let mut fields = serde_json::Map::new();
        fields.insert("expiration".into(), "2030-01-01T00:00:00Z".into());
        let d = Dataset::new(
            vec![Indicator::with_fields("a", IndicatorType::Ip, fields, None)],
            1,
            Instant::from_unix_millis(0),
        );
        let at = Instant::parse("2030-01-01T00:00:00Z").expect("instant");
        assert!(d.expires_between(at.add_nanos(-1), at));
        assert!(!d.expires_between(at, at.add_nanos(1_000)));
        assert!(!d.expires_between(Instant::from_unix_millis(0), at.add_nanos(-1)));
    }

    #[test]
    fn tells_whether_every_indicator_is_active() {
        let at = Instant::parse("2030-01-01T00:00:00Z").expect("instant");
        let with = |key: &str, value: &str| {
            let mut fields = serde_json::Map::new();
            fields.insert(key.into(), value.into());
            Indicator::with_fields("a", IndicatorType::Ip, fields, None)
        };
        let data = |extra: Indicator| {
            Dataset::new(
                vec![Indicator::new("x", IndicatorType::Ip), extra],
                1,
                Instant::from_unix_millis(0),
            )
        };
        let expiring = data(with("expiration", "2030-01-01T00:00:00Z"));
        assert!(expiring.none_expired_at(at.add_nanos(-1)));
        assert!(!expiring.none_expired_at(at));
        let expired = data(with("expirationStatus", "Expired"));
        assert!(!expired.none_expired_at(Instant::from_unix_millis(0)));
        let active = data(with("expirationStatus", "active"));
        assert!(active.none_expired_at(at));
    }

    #[test]
    fn builds_a_field_column_the_second_time_it_is_asked_for() {
        let d = Dataset::new(
            (0..100)
                .map(|i| {
                    let mut fields = serde_json::Map::new();
                    fields.insert("score".into(), (i % 4).into());
                    fields.insert(
                        "lastSeen".into(),
                        format!("2025-01-01T00:00:{i:02}Z").into(),
                    );
                    Indicator::with_fields(format!("v{i}"), IndicatorType::Ip, fields, None)
                })
                .collect::<Vec<_>>(),
            1,
            Instant::from_unix_millis(0),
        );
        assert!(d.field_column("score").is_none());
        let score = d.field_column("score").expect("second ask builds");
        assert_eq!(score.ids().len(), 100);
        assert_eq!(score.distinct().len(), 4);
        let again = d.field_column("score").expect("kept");
        assert!(Arc::ptr_eq(&score, &again));
        // Too many distinct values: never a column.
        assert!(d.field_column("lastSeen").is_none());
        assert!(d.field_column("lastSeen").is_none());
        assert!(d.field_column("lastSeen").is_none());
    }

    proptest::proptest! {
        #[test]
        fn index_finds_every_value_and_only_those(
            mut values in proptest::collection::vec("[ab.]{0,7}", 0..400),
            probes in proptest::collection::vec("[ab.]{0,7}", 0..50),
            repeat in proptest::option::of(0usize..400),
        ) {
            let mut seen = std::collections::HashSet::new();
            values.retain(|v| seen.insert(v.clone()));
            if let Some(r) = repeat.filter(|&r| r < values.len()) {
                values.push(values[r].clone());
            }
            let d = Dataset::new(
                values
                    .iter()
                    .map(|v| Indicator::new(v.as_str(), IndicatorType::Url))
                    .collect::<Vec<_>>(),
                1,
                Instant::from_unix_millis(0),
            );
            let distinct: std::collections::HashSet<&str> =
                values.iter().map(String::as_str).collect();
            let Some(index) = d.value_index() else {
                proptest::prop_assert!(distinct.len() < values.len());
                return Ok(());
            };
            proptest::prop_assert_eq!(distinct.len(), values.len());
            for (p, v) in values.iter().enumerate() {
                proptest::prop_assert_eq!(index.position(d.indicators(), v), Some(p as u32));
            }
            for probe in &probes {
                let want = values.iter().position(|v| v == probe).map(|p| p as u32);
                proptest::prop_assert_eq!(index.position(d.indicators(), probe), want);
            }
        }
    }

    #[test]
    fn indexes_distinct_values_and_refuses_repeats() {
        let d = Dataset::new(
            vec![
                Indicator::new("a", IndicatorType::Ip),
                Indicator::new("b", IndicatorType::Url),
            ],
            1,
            Instant::from_unix_millis(0),
        );
        let index = d.value_index().expect("distinct");
        assert_eq!(index.position(d.indicators(), "b"), Some(1));
        assert_eq!(index.position(d.indicators(), "c"), None);
        assert!(!d.expires_between(Instant::from_unix_millis(0), Instant::now()));
        let dup = Dataset::new(
            vec![
                Indicator::new("a", IndicatorType::Ip),
                Indicator::new("a", IndicatorType::Url),
            ],
            1,
            Instant::from_unix_millis(0),
        );
        assert!(dup.value_index().is_none());
    }
}
