//! The compiled evaluator: a tree of tests resolved at parse time, evaluated per indicator
//! without allocating.

use serde_json::Value;

use super::fields::{filled, number, other, parse_stored_instant, reputation, stored_instant, top};
use super::pattern::StrMatch;
use crate::indicator::{Indicator, IndicatorType};
use crate::instant::Instant;

/// How a value compares with the stored one: equality (`field:value`) or an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    /// `stored <op> wanted`.
    #[inline]
    fn holds<T: PartialOrd>(self, stored: T, wanted: T) -> bool {
        match self {
            Self::Eq => stored == wanted,
            Self::Gt => stored > wanted,
            Self::Ge => stored >= wanted,
            Self::Lt => stored < wanted,
            Self::Le => stored <= wanted,
        }
    }
}

/// An instant written in a query; relative ones resolve against the evaluation's `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InstantSpec {
    /// RFC 3339 or a date.
    At(Instant),
    /// `now` shifted by this many nanoseconds.
    FromNow(i128),
}

impl InstantSpec {
    #[inline]
    fn resolve(self, now: Instant) -> Instant {
        match self {
            Self::At(at) => at,
            Self::FromNow(offset) => now.add_nanos(offset),
        }
    }
}

/// The value of a comparison on a field outside the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Operand {
    Number(f64),
    Instant(InstantSpec),
}

/// The known types in a fixed order, so a `type:` pattern can be pre-evaluated into a bitmask.
const KNOWN_TYPES: [IndicatorType; 9] = [
    IndicatorType::Ip,
    IndicatorType::Ipv6,
    IndicatorType::Cidr,
    IndicatorType::Ipv6Cidr,
    IndicatorType::Url,
    IndicatorType::Domain,
    IndicatorType::DomainGlob,
    IndicatorType::Email,
    IndicatorType::File,
];

fn known_type_bit(kind: &IndicatorType) -> Option<u16> {
    let index = match kind {
        IndicatorType::Ip => 0,
        IndicatorType::Ipv6 => 1,
        IndicatorType::Cidr => 2,
        IndicatorType::Ipv6Cidr => 3,
        IndicatorType::Url => 4,
        IndicatorType::Domain => 5,
        IndicatorType::DomainGlob => 6,
        IndicatorType::Email => 7,
        IndicatorType::File => 8,
        IndicatorType::Other(_) => return None,
    };
    Some(1 << index)
}

impl Test {
    /// `type:` with `pattern`: the known types are matched once here, into a bitmask.
    pub(super) fn type_matching(pattern: StrMatch) -> Self {
        let known = KNOWN_TYPES
            .iter()
            .filter(|k| pattern.matches(k.as_str()))
            .filter_map(known_type_bit)
            .fold(0, |mask, bit| mask | bit);
        Self::Type {
            known,
            other: pattern,
        }
    }
}

/// `reputation` as derived from `score`.
pub(super) const REPUTATIONS: [&str; 4] = ["Unknown", "Good", "Suspicious", "Bad"];
/// `expirationStatus` values: bit 0 is `active`, bit 1 `expired`.
pub(super) const EXPIRATION_STATUSES: [&str; 2] = ["active", "expired"];

/// Bit `i` set when `pattern` matches `names[i]`.
pub(super) fn mask_of(pattern: &StrMatch, names: &[&str]) -> u16 {
    names
        .iter()
        .enumerate()
        .filter(|(_, name)| pattern.matches(name))
        .fold(0, |mask, (i, _)| mask | (1 << i))
}

/// A field that `field:*` tests for presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FieldSel {
    Value,
    Type,
    Reputation,
    ExpirationStatus,
    /// A table field stored at top level under this exact name.
    Top(&'static str),
    /// A field outside the table: top level in any case, else custom.
    Other(Box<str>),
}

/// One leaf test.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Test {
    /// `field:*`.
    Present(FieldSel),
    Value(StrMatch),
    /// Known types pre-matched into `known`; custom types matched at evaluation.
    Type {
        known: u16,
        other: StrMatch,
    },
    /// `sourceBrands` or `tags`: any element matches.
    List(&'static str, StrMatch),
    Score(Cmp, f64),
    /// Bit `i` for `REPUTATIONS[i]`.
    Reputation(u16),
    /// Bit 0 `active`, bit 1 `expired`.
    ExpirationStatus(u16),
    /// A table instant field stored at top level under this exact name.
    Instant(&'static str, Cmp, InstantSpec),
    /// A field outside the table compared with an op.
    OtherCmp(Box<str>, Cmp, Operand),
    /// A field outside the table without op: strings by pattern, numbers when `number` is set.
    OtherEq(Box<str>, StrMatch, Option<f64>),
}

impl Test {
    /// A rough cost, so cheap tests run first inside AND and OR (evaluation is pure, so the
    /// order does not change the result).
    fn cost(&self) -> u32 {
        match self {
            Self::ExpirationStatus(_) => 1,
            Self::Type { .. } => 2,
            Self::Value(_) => 3,
            Self::Present(FieldSel::Value | FieldSel::Type | FieldSel::ExpirationStatus) => 1,
            Self::Score(..) | Self::Reputation(_) | Self::Present(_) => 5,
            Self::List(..) => 6,
            Self::OtherEq(..) | Self::OtherCmp(..) => 8,
            Self::Instant(..) => 12,
        }
    }

    /// The top-level key a test reads, for the tests that read exactly one.
    pub(super) fn top_key(&self) -> Option<&'static str> {
        match self {
            Self::Present(FieldSel::Top(key)) | Self::List(key, _) | Self::Instant(key, ..) => {
                Some(key)
            }
            Self::Score(..) | Self::Reputation(_) | Self::Present(FieldSel::Reputation) => {
                Some("score")
            }
            _ => None,
        }
    }

    /// A test with a `top_key`, given what that key holds.
    pub(super) fn on_top(&self, stored: Option<&Value>, now: Instant) -> bool {
        match self {
            Self::Present(FieldSel::Reputation) => reputation(stored).is_some(),
            Self::Present(_) => filled(stored),
            Self::List(_, p) => match stored {
                Some(Value::Array(items)) => items
                    .iter()
                    .any(|v| matches!(v, Value::String(s) if p.matches(s))),
                // A single string where a list is expected is read as a one-element list.
                Some(Value::String(s)) => p.matches(s),
                _ => false,
            },
            Self::Score(cmp, wanted) => number(stored).is_some_and(|n| cmp.holds(n, *wanted)),
            Self::Reputation(mask) => reputation(stored).is_some_and(|i| mask & (1 << i) != 0),
            Self::Instant(_, cmp, wanted) => {
                stored_instant(stored).is_some_and(|at| cmp.holds(at, wanted.resolve(now)))
            }
            _ => false,
        }
    }

    pub(super) fn eval(&self, ind: &Indicator, now: Instant) -> bool {
        if let Some(key) = self.top_key() {
            return self.on_top(top(ind, key), now);
        }
        match self {
            Self::Present(sel) => present(sel, ind),
            Self::Value(p) => p.matches(ind.value()),
            Self::Type { known, other } => match known_type_bit(ind.kind()) {
                Some(bit) => known & bit != 0,
                None => other.matches(ind.kind().as_str()),
            },
            Self::ExpirationStatus(mask) => mask & (1 << u16::from(ind.is_expired(now))) != 0,
            Self::OtherCmp(name, cmp, operand) => {
                any_element(other(ind, name), |v| compare(v, *cmp, *operand, now))
            }
            Self::OtherEq(name, p, num) => any_element(other(ind, name), |v| match v {
                Value::String(s) => p.matches(s),
                Value::Number(n) => num.is_some_and(|want| n.as_f64() == Some(want)),
                Value::Bool(b) => p.matches(if *b { "true" } else { "false" }),
                _ => false,
            }),
            Self::List(..) | Self::Score(..) | Self::Reputation(_) | Self::Instant(..) => false,
        }
    }
}

/// The compiled query tree.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    /// The empty query.
    All,
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Test(Test),
}

impl Node {
    /// AND of `nodes`, flattened and ordered cheapest first.
    pub(super) fn and(nodes: Vec<Node>) -> Node {
        Self::group(nodes, true)
    }

    /// OR of `nodes`, flattened and ordered cheapest first.
    pub(super) fn or(nodes: Vec<Node>) -> Node {
        Self::group(nodes, false)
    }

    fn group(nodes: Vec<Node>, is_and: bool) -> Node {
        let mut flat = Vec::with_capacity(nodes.len());
        for node in nodes {
            match node {
                Node::And(inner) if is_and => flat.extend(inner.into_vec()),
                Node::Or(inner) if !is_and => flat.extend(inner.into_vec()),
                Node::All if is_and => {}
                other => flat.push(other),
            }
        }
        flat.sort_by_key(Node::cost);
        match flat.len() {
            0 => Node::All,
            1 => flat.pop().unwrap_or(Node::All),
            _ if is_and => Node::And(flat.into_boxed_slice()),
            _ => Node::Or(flat.into_boxed_slice()),
        }
    }

    fn cost(&self) -> u32 {
        match self {
            Self::All => 0,
            Self::Test(t) => t.cost(),
            Self::Not(inner) => inner.cost(),
            Self::And(nodes) | Self::Or(nodes) => {
                nodes.iter().map(Node::cost).fold(0, u32::saturating_add)
            }
        }
    }

    /// Whether `ind` satisfies the tree at `now`.
    pub(super) fn eval(&self, ind: &Indicator, now: Instant) -> bool {
        match self {
            Self::All => true,
            Self::And(nodes) => nodes.iter().all(|n| n.eval(ind, now)),
            Self::Or(nodes) => nodes.iter().any(|n| n.eval(ind, now)),
            Self::Not(inner) => !inner.eval(ind, now),
            Self::Test(t) => t.eval(ind, now),
        }
    }
}

fn present(sel: &FieldSel, ind: &Indicator) -> bool {
    match sel {
        FieldSel::Value => !ind.value().is_empty(),
        FieldSel::Type => !ind.kind().as_str().is_empty(),
        FieldSel::ExpirationStatus => true,
        // Read through `Test::top_key` instead.
        FieldSel::Reputation | FieldSel::Top(_) => false,
        FieldSel::Other(name) => filled(other(ind, name)),
    }
}

/// Applies `test` to a scalar, or to each element of an array.
fn any_element(v: Option<&Value>, test: impl Fn(&Value) -> bool) -> bool {
    match v {
        Some(Value::Array(items)) => items.iter().any(test),
        Some(v) => test(v),
        None => false,
    }
}

/// A stored number compares with a number, a stored RFC 3339 or date string with an instant.
fn compare(v: &Value, cmp: Cmp, operand: Operand, now: Instant) -> bool {
    match (v, operand) {
        (Value::Number(n), Operand::Number(want)) => n.as_f64().is_some_and(|n| cmp.holds(n, want)),
        (Value::String(s), Operand::Instant(want)) => {
            parse_stored_instant(s).is_some_and(|at| cmp.holds(at, want.resolve(now)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::pattern::Piece;

    fn pat(s: &str) -> StrMatch {
        let pieces: Vec<Piece> = s
            .chars()
            .map(|c| if c == '*' { Piece::Star } else { Piece::Lit(c) })
            .collect();
        StrMatch::compile(&pieces)
    }

    #[test]
    fn type_patterns_preevaluate_known_types() {
        let t = Test::type_matching(pat("ip*"));
        let now = Instant::from_unix_nanos(0);
        let ind = |k: IndicatorType| Indicator::new("x", k);
        assert!(t.eval(&ind(IndicatorType::Ip), now));
        assert!(t.eval(&ind(IndicatorType::Ipv6Cidr), now));
        assert!(!t.eval(&ind(IndicatorType::Cidr), now));
        assert!(t.eval(&ind(IndicatorType::Other("iPhone".into())), now));
        assert!(!t.eval(&ind(IndicatorType::Other("Host".into())), now));
    }

    #[test]
    fn groups_flatten_and_order_cheapest_first() {
        let expensive = Node::Test(Test::Instant("firstSeen", Cmp::Eq, InstantSpec::FromNow(0)));
        let cheap = Node::Test(Test::ExpirationStatus(1));
        let inner = Node::and(vec![expensive.clone(), Node::All]);
        let node = Node::and(vec![inner, cheap.clone()]);
        assert_eq!(node, Node::And(vec![cheap, expensive].into_boxed_slice()));
    }
}
