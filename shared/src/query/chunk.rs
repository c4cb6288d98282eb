//! Chunked selection: the tree is evaluated over 64 indicators at a time, one test across
//! the whole chunk before the next. Selection over a large store is bound by memory latency
//! (each indicator's fields sit behind several pointers), and running one step for many
//! indicators in a row lets the CPU keep many of those cache misses in flight at once.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::column::FieldColumn;
use super::eval::{Node, Test};
use super::fields::get_hinted;
use crate::dataset::Dataset;
use crate::indicator::Indicator;
use crate::instant::Instant;

/// The tree as one selection runs it: like [`Node`], except that a test on a field the
/// dataset has a column for is answered from the column.
#[derive(Debug)]
pub(super) enum Plan<'q> {
    All,
    And(Vec<Plan<'q>>),
    Or(Vec<Plan<'q>>),
    Not(Box<Plan<'q>>),
    Test(&'q Test),
    /// A test with the same result for every indicator of the dataset.
    Const(bool),
    /// A test on a field with a column: `pass[id]` is its result for the column's id `id`.
    Column {
        column: Arc<FieldColumn>,
        pass: Box<[bool]>,
    },
}

impl Node {
    /// The plan of this tree for one selection at `now`, over `dataset` when given: tests on
    /// fields with a column are evaluated once per distinct value here, and within AND and
    /// OR they run first (evaluation is pure, so the order does not change the result).
    pub(super) fn plan<'q>(&'q self, dataset: Option<&Dataset>, now: Instant) -> Plan<'q> {
        let group = |nodes: &'q [Node]| -> Vec<Plan<'q>> {
            let mut plans: Vec<Plan<'q>> = nodes.iter().map(|n| n.plan(dataset, now)).collect();
            plans.sort_by_key(|p| !matches!(p, Plan::Column { .. } | Plan::Const(_)));
            plans
        };
        match self {
            Self::All => Plan::All,
            Self::And(nodes) => Plan::And(group(nodes)),
            Self::Or(nodes) => Plan::Or(group(nodes)),
            Self::Not(inner) => Plan::Not(Box::new(inner.plan(dataset, now))),
            // Every indicator is active, so the status test is decided without reading any.
            Self::Test(Test::ExpirationStatus(mask))
                if dataset.is_some_and(|d| d.none_expired_at(now)) =>
            {
                Plan::Const(mask & 1 != 0)
            }
            Self::Test(t) => {
                let column = dataset
                    .zip(t.top_key())
                    .and_then(|(d, key)| d.field_column(key));
                match column {
                    Some(column) => {
                        let absent = t.on_top(None, now);
                        let pass = std::iter::once(absent)
                            .chain(column.distinct().iter().map(|v| t.on_top(Some(v), now)))
                            .collect();
                        Plan::Column { column, pass }
                    }
                    None => Plan::Test(t),
                }
            }
        }
    }
}

impl Plan<'_> {
    /// Of the indicators of `chunk` (at most 64, starting at index `base` of the scanned
    /// slice) whose bits are set in `alive`, those that satisfy the tree. Evaluating one test
    /// across many indicators keeps each loop iteration independent of the previous one, so
    /// the CPU overlaps the cache misses of several indicators' field lookups instead of
    /// waiting for each in turn.
    pub(super) fn filter(&self, chunk: &[Indicator], base: usize, alive: u64, now: Instant) -> u64 {
        match self {
            Self::All => alive,
            Self::And(plans) => plans.iter().fold(alive, |alive, p| {
                if alive == 0 {
                    0
                } else {
                    p.filter(chunk, base, alive, now)
                }
            }),
            Self::Or(plans) => {
                let mut undecided = alive;
                let mut selected = 0;
                for p in plans {
                    if undecided == 0 {
                        break;
                    }
                    let hits = p.filter(chunk, base, undecided, now);
                    selected |= hits;
                    undecided &= !hits;
                }
                selected
            }
            Self::Not(inner) => alive & !inner.filter(chunk, base, alive, now),
            Self::Test(t) => t.filter(chunk, alive, now),
            Self::Const(pass) => {
                if *pass {
                    alive
                } else {
                    0
                }
            }
            Self::Column { column, pass } => {
                let ids = column
                    .ids()
                    .get(base..base + chunk.len())
                    .unwrap_or_default();
                let mut hits = 0u64;
                for (i, &id) in ids.iter().enumerate() {
                    let ok = pass.get(usize::from(id)).copied().unwrap_or(false);
                    hits |= u64::from(ok) << i;
                }
                alive & hits
            }
        }
    }
}

impl Test {
    /// `eval` over the `alive` indicators of a chunk. Field lookups run first as a separate
    /// tight loop: its iterations are independent, so the CPU keeps several indicators' cache
    /// misses in flight instead of waiting for each lookup before the next.
    fn filter(&self, chunk: &[Indicator], alive: u64, now: Instant) -> u64 {
        let mut out = alive;
        if let Some(key) = self.top_key() {
            let stored = lookup_chunk(chunk, alive, key);
            for i in Bits(alive) {
                if !self.on_top(stored.get(i).copied().flatten(), now) {
                    out &= !(1u64 << i);
                }
            }
            return out;
        }
        for i in Bits(alive) {
            if !chunk.get(i).is_some_and(|ind| self.eval(ind, now)) {
                out &= !(1u64 << i);
            }
        }
        out
    }
}

/// The set bits of a mask, lowest first.
#[derive(Debug)]
struct Bits(u64);

impl Iterator for Bits {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let i = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(i)
    }
}

/// `top(ind, key)` for the `alive` indicators of a chunk, as a pipeline of short loops, one
/// per pointer hop (map, entry at the hinted position, key text). Each loop's iterations are
/// independent, so the CPU keeps the cache misses of many indicators in flight at once
/// rather than walking one indicator's pointer chain at a time; that chain, not computation,
/// is what selection over a large store spends its time on.
fn lookup_chunk<'a>(chunk: &'a [Indicator], alive: u64, key: &str) -> [Option<&'a Value>; 64] {
    let mut stored: [Option<&Value>; 64] = [None; 64];
    let mut maps: [Option<&Map<String, Value>>; 64] = [None; 64];
    let mut hint = usize::MAX;
    // Reading something from each hop is what brings it into cache; `black_box` keeps the
    // otherwise unused reads.
    let mut touched = 0usize;
    for i in Bits(alive) {
        if let (Some(slot), Some(ind)) = (maps.get_mut(i), chunk.get(i)) {
            let map = ind.fields();
            touched ^= map.len();
            *slot = Some(map);
        }
    }
    let mut entries: [Option<(&String, &Value)>; 64] = [None; 64];
    for i in Bits(alive) {
        let Some(map) = maps.get(i).copied().flatten() else {
            continue;
        };
        if hint == usize::MAX {
            // The first indicator of the chunk finds where `key` sits; the rest try there.
            hint = 0;
            if let Some(slot) = stored.get_mut(i) {
                *slot = get_hinted(map, key, &mut hint);
            }
            continue;
        }
        let entry = map.iter().nth(hint);
        touched ^= entry.map_or(0, |(k, _)| k.len());
        if let Some(slot) = entries.get_mut(i) {
            *slot = entry;
        }
    }
    std::hint::black_box(touched);
    for i in Bits(alive) {
        let found = match (
            entries.get(i).copied().flatten(),
            maps.get(i).copied().flatten(),
        ) {
            (Some((k, v)), _) if k.as_str() == key => Some(v),
            (Some(_), Some(map)) => get_hinted(map, key, &mut hint),
            // No hinted entry was read for this one: either the chunk's first, whose value
            // is already stored, or a map too short for the hint.
            (None, Some(map)) => match stored.get(i).copied().flatten() {
                Some(v) => Some(v),
                None => get_hinted(map, key, &mut hint),
            },
            (_, None) => None,
        };
        if let Some(slot) = stored.get_mut(i) {
            *slot = found;
        }
    }
    stored
}
