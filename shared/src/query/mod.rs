//! The `q` language (spec/query.md): selects the indicators an export lists.
//!
//! A query is parsed once into an evaluator tree: field names resolved, patterns case-folded,
//! numbers and instants parsed, and `type:` patterns pre-matched against the known types, so
//! selecting from a large store touches each indicator without allocating. Relative instants
//! (`now-7d`) are kept as offsets and resolved against the `now` given to [`Query::matches`]
//! or [`Query::select`]; parsing never reads the clock.
//!
//! ```
//! use feedgate::instant::Instant;
//! use feedgate::query::Query;
//! use feedgate::{Indicator, IndicatorType};
//!
//! let q = Query::parse("type:IP -value:10.*").expect("valid query");
//! let now = Instant::from_unix_millis(0);
//! assert!(q.matches(&Indicator::new("192.0.2.1", IndicatorType::Ip), now));
//! assert!(!q.matches(&Indicator::new("10.0.0.1", IndicatorType::Ip), now));
//!
//! let err = Query::parse("tags:<=apt28").expect_err("op on a list");
//! assert_eq!(err.to_string(), "field 'tags' cannot be compared with '<=' at position 6");
//! ```

mod chunk;
pub(crate) mod column;
mod eval;
mod fields;
mod lexer;
mod parser;
mod pattern;

use crate::dataset::Dataset;
use crate::indicator::Indicator;
use crate::instant::Instant;

/// A parsed query, ready to evaluate any number of times.
#[derive(Debug, Clone)]
pub struct Query {
    /// The evaluator tree, with the implicit active filter already applied when it is due.
    root: eval::Node,
}

impl Query {
    /// Parses `text`; the empty query (or one of only spaces and tabs) selects every active
    /// indicator.
    ///
    /// # Errors
    /// A [`QueryError`] at the first offending character, as the spec's "Errors" section
    /// places it: syntax errors, an op on a field that cannot be compared, a value that is not
    /// the number or instant its field needs, nesting deeper than 32, or more than 4096
    /// characters.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        parser::parse(text).map(|root| Query { root })
    }

    /// Whether `indicator` is selected at `now`. This includes the implicit
    /// `expirationStatus:active` of the spec's "Expiry" section when the query does not name
    /// `expirationStatus` itself.
    pub fn matches(&self, indicator: &Indicator, now: Instant) -> bool {
        self.root.eval(indicator, now)
    }

    /// Indices (into `indicators`) of the matching indicators, in order.
    ///
    /// Indices are `u32` to halve the memory of large selections; a slice longer than
    /// `u32::MAX` is only scanned up to that index.
    pub fn select(&self, indicators: &[Indicator], now: Instant) -> Vec<u32> {
        select(&self.root.plan(None, now), indicators, now)
    }

    /// [`Query::select`] over the indicators of `dataset`, with the same result. Tests on
    /// table fields that hold few distinct values across the dataset (`score`,
    /// `sourceBrands`, most `tags`) are answered from columns kept with the dataset: one pass
    /// over the indicators per field, made by the second selection that needs the field, after
    /// which such a test costs two bytes per indicator instead of a walk through its fields.
    pub fn select_in(&self, dataset: &Dataset, now: Instant) -> Vec<u32> {
        select(
            &self.root.plan(Some(dataset), now),
            dataset.indicators(),
            now,
        )
    }
}

/// Indices of the indicators that satisfy `plan`, in order, scanned in chunks of 64 with one
/// bit per indicator (see the `chunk` module for why).
fn select(plan: &chunk::Plan<'_>, indicators: &[Indicator], now: Instant) -> Vec<u32> {
    let mut out = Vec::new();
    for (c, chunk) in indicators.chunks(64).enumerate() {
        let alive = u64::MAX >> (64 - chunk.len());
        let mut hits = plan.filter(chunk, c * 64, alive, now);
        while hits != 0 {
            let bit = hits.trailing_zeros() as usize;
            hits &= hits - 1;
            match u32::try_from(c * 64 + bit) {
                Ok(index) => out.push(index),
                Err(_) => return out,
            }
        }
    }
    out
}

/// Why a query was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at position {position}")]
pub struct QueryError {
    /// 1-based character (not byte) position of the offending text (see the spec's "Errors").
    pub position: usize,
    /// What is wrong, in lower case, naming the offending text.
    pub reason: String,
}

impl QueryError {
    fn new(position: usize, reason: String) -> Self {
        Self { position, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn now() -> Instant {
        Instant::parse("2026-01-01T00:00:00Z").expect("fixed now")
    }

    fn ind(v: Value) -> Indicator {
        serde_json::from_value(v).expect("indicator json")
    }

    /// The store of the conformance vectors 139–146, plus a few extra shapes.
    fn store() -> Vec<Indicator> {
        [
            json!({"value":"198.51.100.7","type":"IP","fields":{"sourceBrands":["AWS Feed"],"tags":["scanner","tor"],"score":3}}),
            json!({"value":"198.51.100.70","type":"IP","fields":{"sourceBrands":["Blocklist.de"],"tags":["scanner"],"score":2}}),
            json!({"value":"2001:db8::7","type":"IPv6","fields":{"sourceBrands":["AWS Feed","Office 365"],"score":1}}),
            json!({"value":"203.0.113.0/24","type":"CIDR","fields":{"sourceBrands":["Office 365"],"tags":["allowlisted"],"score":0}}),
            json!({"value":"evil.example.org","type":"Domain","fields":{"sourceBrands":["AlienVault OTX"],"tags":["phishing","apt29"],"score":3,"lastSeen":"2025-12-30T00:00:00Z"}}),
            json!({"value":"www.example.com","type":"Domain","fields":{"sourceBrands":["AlienVault OTX","AWS Feed"],"tags":["Allowlisted"],"score":1,"lastSeen":"2025-06-01"}}),
            json!({"value":"orange","type":"Domain","fields":{"confidence":80,"region":null},"custom_fields":{"region":"emea","feed.name":"x"}}),
            json!({"value":"a*b.example","type":"Domain","fields":{"expiration":"2025-01-01T00:00:00Z","Region":"APAC"}}),
            json!({"value":"d41d8cd98f00b204e9800998ecf8427e","type":"File","fields":{"tags":["apt28"],"score":3}}),
        ]
        .into_iter()
        .map(ind)
        .collect()
    }

    fn selected(q: &str) -> Vec<String> {
        let store = store();
        let query = Query::parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
        query
            .select(&store, now())
            .into_iter()
            .filter_map(|i| store.get(i as usize))
            .map(|i| i.value().to_owned())
            .collect()
    }

    fn check(cases: &[(&str, &[&str])]) {
        for (q, want) in cases {
            assert_eq!(selected(q), *want, "query {q:?}");
        }
    }

    const IP7: &str = "198.51.100.7";
    const IP70: &str = "198.51.100.70";
    const V6: &str = "2001:db8::7";
    const NET: &str = "203.0.113.0/24";
    const EVIL: &str = "evil.example.org";
    const WWW: &str = "www.example.com";
    const ORANGE: &str = "orange";
    const HASH: &str = "d41d8cd98f00b204e9800998ecf8427e";

    #[test]
    fn or_binds_weaker_than_and_and_not_binds_tightest() {
        check(&[
            ("type:File or type:Domain score:1", &[WWW, HASH]),
            ("type:Domain score:1 or type:File", &[WWW, HASH]),
            ("-score:3 type:IP", &[IP70]),
            ("type:IP && tags:tor || type:File", &[IP7, HASH]),
            (
                "(type:IP or type:IPv6) and (score:3 or source:\"office 365\")",
                &[IP7, V6],
            ),
            ("-(type:IP or type:Domain)", &[V6, NET, HASH]),
        ]);
    }

    #[test]
    fn accepts_every_not_form() {
        check(&[
            ("type:Domain NOT tags:allowlisted", &[EVIL, ORANGE]),
            ("type:Domain not tags:allowlisted", &[EVIL, ORANGE]),
            ("type:Domain -tags:allowlisted", &[EVIL, ORANGE]),
            ("type:Domain !tags:allowlisted", &[EVIL, ORANGE]),
            ("type:Domain !(tags:allowlisted)", &[EVIL, ORANGE]),
            ("type:Domain not(tags:allowlisted)", &[EVIL, ORANGE]),
            ("type:Domain -\"www.example.com\"", &[EVIL, ORANGE]),
        ]);
    }

    #[test]
    fn keywords_are_whole_words_only() {
        check(&[
            ("orange", &[ORANGE]),
            ("ORANGE or notable", &[ORANGE]),
            ("\"orange\"", &[ORANGE]),
            ("-orange type:Domain", &[EVIL, WWW]),
        ]);
    }

    #[test]
    fn matches_escapes_and_wildcards() {
        check(&[
            ("value:198.51.100.?", &[IP7]),
            ("value:198.51.100.7*", &[IP7, IP70]),
            ("tags:APT*", &[EVIL, HASH]),
            ("value:*.example.*", &[EVIL, WWW]),
            ("type:IP*", &[IP7, IP70, V6]),
            ("\"*example.org\"", &[EVIL]),
        ]);
        let store = vec![
            ind(json!({"value":"a*b","type":"Domain"})),
            ind(json!({"value":"axb","type":"Domain"})),
            ind(json!({"value":"a?b","type":"Domain"})),
            ind(json!({"value":"a\\b","type":"Domain"})),
        ];
        for (q, want) in [
            (r"a\*b", vec![0]),
            (r"a\?b", vec![2]),
            (r"a?b", vec![0, 1, 2, 3]),
            (r"a\\b", vec![3]),
            (r#""a\\b""#, vec![3]),
            (r#""a\*b""#, vec![0]),
        ] {
            let query = Query::parse(q).expect("valid");
            assert_eq!(query.select(&store, now()), want, "{q:?}");
        }
    }

    #[test]
    fn field_star_means_present_and_not_empty() {
        check(&[
            ("tags:*", &[IP7, IP70, NET, EVIL, WWW, HASH]),
            ("-sourceBrands:* -tags:*", &[ORANGE]),
            ("reputation:* -type:IP*", &[NET, EVIL, WWW, HASH]),
            ("region:*", &[]),
            ("-lastSeen:* type:Domain", &[ORANGE]),
            ("confidence:* or feed.name:*", &[ORANGE]),
            ("value:* type:File", &[HASH]),
        ]);
    }

    #[test]
    fn list_fields_match_any_element() {
        check(&[
            (
                "sourceBrands:\"Office 365\" sourceBrands:\"AWS Feed\"",
                &[V6],
            ),
            ("tag:TOR", &[IP7]),
            ("sourceBrand:aws*", &[IP7, V6, WWW]),
        ]);
    }

    #[test]
    fn compares_numbers_and_instants() {
        check(&[
            ("score:>=2", &[IP7, IP70, EVIL, HASH]),
            ("score:>1 score:<=2", &[IP70]),
            ("score:0", &[NET]),
            ("score:3.0 type:File", &[HASH]),
            ("score:<0", &[]),
            ("verdict:good or reputation:UNKNOWN", &[V6, NET, WWW]),
            ("lastSeen:>=now-7d", &[EVIL]),
            ("lastSeen:<2025-12-01", &[WWW]),
            ("lastSeen:>2025-06-01T02:00:00+02:00", &[EVIL]),
            ("lastSeen:2025-06-01T00:00:00Z", &[WWW]),
            ("confidence:>=50", &[ORANGE]),
            ("confidence:80 or confidence:8*", &[ORANGE]),
        ]);
    }

    #[test]
    fn other_fields_prefer_top_level_in_any_case() {
        // `orange` has a top-level null `region`, which hides its custom `emea`.
        check(&[
            ("region:emea", &[]),
            ("REGION:apac expirationStatus:*", &["a*b.example"]),
            ("Feed.Name:X", &[ORANGE]),
        ]);
    }

    #[test]
    fn expiry_filter_applies_unless_expiration_status_is_named() {
        check(&[
            ("", &[IP7, IP70, V6, NET, EVIL, WWW, ORANGE, HASH]),
            (" \t ", &[IP7, IP70, V6, NET, EVIL, WWW, ORANGE, HASH]),
            ("expirationStatus:expired", &["a*b.example"]),
            ("-EXPIRATIONSTATUS:active", &["a*b.example"]),
            ("expirationStatus:* value:a*", &["a*b.example"]),
            ("value:a*", &[]),
        ]);
    }

    fn error(q: &str) -> (usize, String) {
        let e = Query::parse(q).expect_err(q);
        (e.position, e.reason)
    }

    #[test]
    fn reports_each_error_kind_at_its_position() {
        let deep33 = format!("{}a{}", "(".repeat(33), ")".repeat(33));
        let long = "a".repeat(4097);
        let cases: Vec<(&str, usize, &str)> = vec![
            ("(type:IP or type:Domain", 1, "unclosed '('"),
            ("((type:IP) or type:Domain", 1, "unclosed '('"),
            ("a (b (c)", 3, "unclosed '('"),
            ("type:IP and", 12, "unexpected end of query"),
            ("type:IP or or type:Domain", 12, "unexpected 'or'"),
            ("AND a", 1, "unexpected 'AND'"),
            ("a || && b", 6, "unexpected '&&'"),
            ("not", 4, "unexpected end of query"),
            ("not not a", 5, "unexpected 'not'"),
            ("()", 2, "unexpected ')'"),
            ("a)", 2, "unexpected ')'"),
            ("\"\":evil.example.org", 3, "missing field name before ':'"),
            (":evil.example.org", 1, "missing field name before ':'"),
            ("é 1abc:x", 3, "invalid field name '1abc'"),
            ("tags:\"known \\\"bad\\\"", 6, "unterminated quoted value"),
            (
                "tags:<=apt28",
                6,
                "field 'tags' cannot be compared with '<='",
            ),
            (
                "reputation:>=Good",
                12,
                "field 'reputation' cannot be compared with '>='",
            ),
            ("Value:>a", 7, "field 'Value' cannot be compared with '>'"),
            (
                "lastSeen:>=2001-02-29",
                12,
                "expected an instant for 'lastSeen', got '2001-02-29'",
            ),
            (
                "score:three",
                7,
                "expected a number for 'score', got 'three'",
            ),
            ("score:2*", 7, "expected a number for 'score', got '2*'"),
            (
                "firstSeen:2001*",
                11,
                "expected an instant for 'firstSeen', got '2001*'",
            ),
            ("score:>\"x\"", 8, "expected a number for 'score', got 'x'"),
            (
                "conf:>high",
                7,
                "expected a number or an instant for 'conf', got 'high'",
            ),
            ("score:>= 2", 9, "missing value after 'score:>='"),
            ("ü score:", 9, "missing value after 'score:'"),
            (&deep33, 33, "nested deeper than 32 levels"),
            (&long, 4097, "query longer than 4096 characters"),
            (
                "score:x tags:<y",
                7,
                "expected a number for 'score', got 'x'",
            ),
        ];
        for (q, pos, reason) in cases {
            assert_eq!(error(q), (pos, reason.to_owned()), "query {q:?}");
        }
    }

    #[test]
    fn counts_positions_in_characters() {
        assert_eq!(error("ää score:>x").0, 11);
        assert_eq!(error("ää ööö:>x").0, 4);
        assert_eq!(error("\"ß\" or").0, 7);
        let e = Query::parse("𝒜 (").expect_err("ends early");
        assert_eq!(e.to_string(), "unexpected end of query at position 4");
    }

    #[test]
    fn accepts_the_limits_exactly() {
        let deep32 = format!("{}type:Domain{}", "(".repeat(32), ")".repeat(32));
        assert!(Query::parse(&deep32).is_ok());
        assert!(Query::parse(&"é".repeat(4096)).is_ok());
        assert_eq!(error(&"é".repeat(4097)).0, 4097);
    }

    #[test]
    fn queries_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Query>();
        shareable::<QueryError>();
    }

    #[test]
    fn rejects_op_on_list_field() {
        assert_eq!(error("tag:>x").0, 5);
    }

    #[test]
    fn resolves_relative_instants_at_evaluation() {
        let q = Query::parse("lastSeen:>now-1h").expect("valid");
        let i = ind(json!({"value":"x","type":"IP","fields":{"lastSeen":"2026-01-01T00:00:00Z"}}));
        assert!(q.matches(&i, now()));
        assert!(!q.matches(&i, now().add_nanos(3_600_000_000_000)));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn sample() -> Vec<Indicator> {
        [
            json!({"value":"198.51.100.7","type":"IP","fields":{"sourceBrands":["AWS Feed"],"tags":["tor"],"score":3,"lastSeen":"2025-01-01"}}),
            json!({"value":"Straße","type":"Custom","fields":{"tags":"x","score":"high","n":[1,"2",null]},"custom_fields":{"k":{"a":1}}}),
            json!({"value":"","type":"","fields":{"expiration":"2001-01-01T00:00:00Z","expirationStatus":7}}),
        ]
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect()
    }

    fn query_text() -> impl Strategy<Value = String> {
        let atoms = prop::sample::select(vec![
            "(",
            ")",
            "\"",
            "\\",
            ":",
            "-",
            "!",
            "*",
            "?",
            " ",
            "\t",
            "and",
            "OR",
            "not",
            "&&",
            "||",
            ">=",
            "<",
            "score",
            "tags",
            "value",
            "x",
            "é",
            "ß",
            "𝒜",
            "now-7d",
            "2001-01-01",
            "1.5",
            "expirationStatus",
            "type",
        ]);
        prop_oneof![
            ".*",
            prop::collection::vec(atoms, 0..24).prop_map(|v| v.concat()),
        ]
    }

    /// 200 indicators with fields in varying order, some missing or oddly typed, so chunked
    /// selection meets hint misses, short maps and chunk boundaries.
    fn varied(n: usize) -> Vec<Indicator> {
        const TAGS: [&str; 3] = ["tor", "Straße", "apt29"];
        let keys = [
            "sourceBrands",
            "tags",
            "score",
            "lastSeen",
            "region",
            "expiration",
        ];
        (0..n)
            .map(|i| {
                let mut fields = serde_json::Map::new();
                for k in 0..keys.len() {
                    let key = keys[(k + i / 7) % keys.len()];
                    if (i + k) % 5 == 0 {
                        continue;
                    }
                    let v = match key {
                        "sourceBrands" if i % 9 == 0 => json!("AWS Feed"),
                        "sourceBrands" => {
                            json!([if i % 2 == 0 { "AWS Feed" } else { "x" }, "Office 365"])
                        }
                        "tags" => json!([TAGS[i % 3]]),
                        "score" if i % 11 == 0 => json!("2"),
                        "score" => json!(i % 5),
                        "lastSeen" => json!(format!("2025-12-{:02}T00:00:00Z", 1 + i % 28)),
                        "region" => json!(["emea", "APAC"][i % 2]),
                        _ => json!(["2025-06-01", "2099-01-01"][i % 2]),
                    };
                    fields.insert(key.to_owned(), v);
                }
                let kind = ["IP", "Domain", "ip", "URL"][i % 4];
                let record =
                    json!({"value": format!("v{i}.example"), "type": kind, "fields": fields});
                serde_json::from_value(record).expect("indicator")
            })
            .collect()
    }

    /// A field's value, or no field: numbers in several representations, strings that look
    /// like numbers and instants, lists, objects in either key order, null.
    fn field_value() -> impl Strategy<Value = Option<Value>> {
        prop::sample::select(vec![
            None,
            Some(json!(null)),
            Some(json!(0)),
            Some(json!(0.0)),
            Some(json!(-0.0)),
            Some(json!(2)),
            Some(json!(2.0)),
            Some(json!(-2)),
            Some(json!(3)),
            Some(json!(u64::MAX)),
            Some(json!("2")),
            Some(json!("AWS Feed")),
            Some(json!("aws feed")),
            Some(json!("tor")),
            Some(json!(true)),
            Some(json!([])),
            Some(json!(["AWS Feed"])),
            Some(json!(["x", "AWS Feed"])),
            Some(json!(["tor", 1, null])),
            Some(json!({"a": 1, "b": 2})),
            Some(json!({"b": 2, "a": 1})),
            Some(json!("2025-12-20T00:00:00Z")),
            Some(json!("2025-12-31")),
            Some(json!("2027-01-01T00:00:00.5Z")),
            Some(json!("expired")),
            Some(json!("EXPIRED")),
            Some(json!("active")),
        ])
    }

    fn column_query() -> impl Strategy<Value = String> {
        let terms = prop::sample::select(vec![
            "score:>=2",
            "score:2",
            "score:<0",
            "score:*",
            "reputation:bad",
            "reputation:unknown",
            "reputation:*",
            "sourceBrands:\"AWS Feed\"",
            "sourceBrands:aws*",
            "sourceBrands:*",
            "tags:tor",
            "tags:*",
            "lastSeen:>now-20d",
            "lastSeen:<2026-06-01",
            "lastSeen:*",
            "value:v1*",
            "expirationStatus:expired",
            "expirationStatus:active",
            "(-expirationStatus:act*)",
            "expirationStatus:*",
            "expiration:<now",
        ]);
        let joins = prop::sample::select(vec![" ", " or ", " and -", " || !"]);
        (terms.clone(), prop::collection::vec((joins, terms), 0..4)).prop_map(|(first, rest)| {
            let mut q = first.to_owned();
            for (join, term) in rest {
                q.push_str(join);
                q.push_str(term);
            }
            q
        })
    }

    fn selection_query() -> impl Strategy<Value = String> {
        let terms = prop::sample::select(vec![
            "type:IP",
            "type:ip*",
            "sourceBrands:\"AWS Feed\"",
            "source:aws*",
            "tags:tor",
            "tags:STRASSE",
            "tags:straße",
            "score:>=2",
            "score:1",
            "reputation:bad",
            "reputation:*",
            "lastSeen:>now-20d",
            "lastSeen:*",
            "region:emea",
            "Region:*",
            "expirationStatus:expired",
            "value:v1*",
            "value:*7.example",
            "expiration:<now",
        ]);
        let joins = prop::sample::select(vec![" ", " or ", " and -", " || !", ") or (", " "]);
        prop::collection::vec((terms, joins), 1..6).prop_map(|parts| {
            let mut q = String::from("(");
            let mut open = 1;
            for (i, (term, join)) in parts.iter().enumerate() {
                if i > 0 {
                    q.push_str(join);
                    if join.contains('(') {
                        open += 1;
                    }
                    if join.contains(')') {
                        open -= 1;
                    }
                }
                q.push_str(term);
            }
            q.push_str(&")".repeat(open));
            q
        })
    }

    proptest! {
        #[test]
        fn select_agrees_with_matches(q in selection_query()) {
            let data = varied(200);
            let now = Instant::parse("2026-01-01T00:00:00Z").expect("now");
            let query = Query::parse(&q).expect("generated queries are valid");
            let one_by_one: Vec<u32> = (0..200u32)
                .filter(|&i| query.matches(&data[i as usize], now))
                .collect();
            prop_assert_eq!(&query.select(&data, now), &one_by_one);
            // Over a dataset: the first selection reads the indicators, the second builds the
            // columns, the third reuses them.
            let dataset = Dataset::new(data, 1, now);
            for _ in 0..3 {
                prop_assert_eq!(&query.select_in(&dataset, now), &one_by_one);
            }
        }

        #[test]
        fn column_selection_agrees_with_matches_on_any_field_values(
            rows in prop::collection::vec(prop::collection::vec(field_value(), 6), 0..150),
            q in column_query(),
            dataset_first in any::<bool>(),
        ) {
            let keys = ["score", "tags", "sourceBrands", "lastSeen", "expiration", "expirationStatus"];
            let data: Vec<Indicator> = rows
                .into_iter()
                .enumerate()
                .map(|(i, values)| {
                    let fields: serde_json::Map<String, serde_json::Value> = keys
                        .iter()
                        .zip(values)
                        .filter_map(|(k, v)| v.map(|v| ((*k).to_owned(), v)))
                        .collect();
                    Indicator::with_fields(format!("v{i}"), crate::IndicatorType::Ip, fields, None)
                })
                .collect();
            let now = Instant::parse("2026-01-01T00:00:00Z").expect("now");
            let query = Query::parse(&q).expect("generated queries are valid");
            let one_by_one: Vec<u32> = (0..data.len() as u32)
                .filter(|&i| query.matches(&data[i as usize], now))
                .collect();
            let dataset = Dataset::new(data, 1, now);
            if dataset_first {
                prop_assert_eq!(&query.select_in(&dataset, now), &one_by_one);
            }
            prop_assert_eq!(&query.select(dataset.indicators(), now), &one_by_one);
            for _ in 0..3 {
                prop_assert_eq!(&query.select_in(&dataset, now), &one_by_one);
            }
        }

        #[test]
        fn parse_and_matches_never_panic(text in query_text()) {
            if let Ok(q) = Query::parse(&text) {
                let now = Instant::from_unix_millis(1_700_000_000_000);
                let sample = sample();
                for i in &sample {
                    let _ = q.matches(i, now);
                }
                let _ = q.select(&sample, now);
            }
        }

        #[test]
        fn error_positions_stay_within_the_query(text in query_text()) {
            if let Err(e) = Query::parse(&text) {
                prop_assert!(e.position >= 1);
                prop_assert!(e.position <= text.chars().count().max(4096) + 1);
            }
        }
    }
}
