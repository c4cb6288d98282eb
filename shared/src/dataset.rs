//! An immutable snapshot of the indicator set, as the export renders from it.

use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};

use hashbrown::HashTable;

use crate::indicator::Indicator;
use crate::instant::Instant;

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
    /// Every expiry instant, sorted; built on first use by render caches.
    expirations: OnceLock<Vec<Instant>>,
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
        let sorted = self.inner.expirations.get_or_init(|| {
            let mut all: Vec<Instant> = self
                .inner
                .indicators
                .iter()
                .filter_map(Indicator::expires_at)
                .collect();
            all.sort_unstable();
            all
        });
        let first_after = sorted.partition_point(|t| *t <= from);
        sorted.get(first_after).is_some_and(|t| *t <= to)
    }

    /// The position of every value, or `None` when two indicators share a value (stores key
    /// indicators by value, so only hand-built datasets can).
    pub fn value_index(&self) -> Option<&ValueIndex> {
        self.inner
            .index
            .get_or_init(|| ValueIndex::build(&self.inner.indicators))
            .as_ref()
    }
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
