//! URL arguments (§4) and instance parameters (§3), parsed into typed values at the edge.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::export::collapse::CollapseMode;
use crate::export::url::UrlHandling;
use crate::query::Query;

/// The output format of an export (§4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PAN-OS text: one entry per line.
    Text,
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
    /// McAfee Web Gateway list.
    Mwg,
    /// Symantec ProxySG category blocks.
    ProxySg,
}

/// The accepted format names, as listed in the 400 body.
const FORMAT_NAMES: &str = "text, panos, pan-os, PAN-OS (text), csv, json, mwg, McAfee Web Gateway, proxysg, bluecoat, Symantec ProxySG";

impl FromStr for Format {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        const NAMES: [(&str, Format); 11] = [
            ("text", Format::Text),
            ("panos", Format::Text),
            ("pan-os", Format::Text),
            ("PAN-OS (text)", Format::Text),
            ("csv", Format::Csv),
            ("json", Format::Json),
            ("mwg", Format::Mwg),
            ("McAfee Web Gateway", Format::Mwg),
            ("proxysg", Format::ProxySg),
            ("bluecoat", Format::ProxySg),
            ("Symantec ProxySG", Format::ProxySg),
        ];
        NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|(_, f)| *f)
            .ok_or(())
    }
}

/// McAfee Web Gateway list types (`t`), exact lower case.
pub const MWG_TYPES: [&str; 8] = [
    "string",
    "applcontrol",
    "dimension",
    "category",
    "ip",
    "mediatype",
    "number",
    "regex",
];

/// `tr`: whether and how IPs are collapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collapse {
    /// `0`, `Don't Collapse`.
    Off,
    /// `1` (`To Ranges`) or `2` (`To CIDRS`).
    On(CollapseMode),
}

impl FromStr for Collapse {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        if is_digits(s) {
            return match parse_u64(s) {
                Some(0) => Ok(Self::Off),
                Some(1) => Ok(Self::On(CollapseMode::Ranges)),
                Some(2) => Ok(Self::On(CollapseMode::Cidrs)),
                _ => Err(()),
            };
        }
        if s.eq_ignore_ascii_case("Don't Collapse") {
            Ok(Self::Off)
        } else if s.eq_ignore_ascii_case("To Ranges") {
            Ok(Self::On(CollapseMode::Ranges))
        } else if s.eq_ignore_ascii_case("To CIDRS") {
            Ok(Self::On(CollapseMode::Cidrs))
        } else {
            Err(())
        }
    }
}

/// `fi`: the fields exported by JSON and CSV (§4.6, §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldList {
    /// `all`: the whole stored object.
    All,
    /// The listed items, trimmed, blanks removed; never empty (empty means `name,type`).
    Items(Vec<String>),
}

impl FieldList {
    /// Parses a list value per §4.6; an empty list is the default `name,type`.
    pub fn parse(text: &str) -> Self {
        let items = parse_list(text);
        if items.iter().any(|i| i == "all") {
            Self::All
        } else if items.is_empty() {
            Self::default()
        } else {
            Self::Items(items)
        }
    }
}

impl Default for FieldList {
    fn default() -> Self {
        Self::Items(vec!["name".into(), "type".into()])
    }
}

/// A list argument (§4.6): a JSON array of strings, or comma-separated items; items trimmed
/// of spaces, empty items dropped.
///
/// ```
/// use feedgate::export::args::parse_list;
/// assert_eq!(parse_list(" a, ,b "), vec!["a", "b"]);
/// assert_eq!(parse_list(r#"["x,y", 3]"#), vec!["x,y"]);
/// ```
pub fn parse_list(text: &str) -> Vec<String> {
    let raw: Vec<String> = if text.starts_with('[') && text.ends_with(']') {
        match serde_json::from_str::<Vec<Value>>(text) {
            Ok(items) => items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
            Err(_) => text.split(',').map(str::to_owned).collect(),
        }
    } else {
        text.split(',').map(str::to_owned).collect()
    };
    raw.into_iter()
        .map(|s| s.trim_matches(' ').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A rejected URL argument. Its `Display` is the exact 400 body of §4.7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// `n`, `s` or `mc` is not a non-negative integer.
    Integer {
        /// The argument name.
        name: &'static str,
        /// The received value.
        got: String,
    },
    /// A flag is not a boolean.
    Boolean {
        /// The argument name.
        name: &'static str,
        /// The received value.
        got: String,
    },
    /// Unknown `v`.
    Format(String),
    /// Unknown `t`.
    MwgType(String),
    /// Bad `tr`.
    Collapse(String),
    /// `q` does not parse.
    Query(crate::query::QueryError),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let got = |s: &str| serde_json::to_string(s).unwrap_or_default();
        match self {
            Self::Integer { name, got: g } => write!(
                f,
                "invalid argument '{name}': expected a non-negative integer, got {}",
                got(g)
            ),
            Self::Boolean { name, got: g } => write!(
                f,
                "invalid argument '{name}': expected a boolean (empty, 1, true, yes, on, 0, false, no, off), got {}",
                got(g)
            ),
            Self::Format(g) => write!(
                f,
                "invalid argument 'v': unknown format {}; accepted: {FORMAT_NAMES}",
                got(g)
            ),
            Self::MwgType(g) => write!(
                f,
                "invalid argument 't': unknown McAfee Web Gateway type {}; accepted: {}",
                got(g),
                MWG_TYPES.join(", ")
            ),
            Self::Collapse(g) => write!(
                f,
                "invalid argument 'tr': expected 0, 1, 2, Don't Collapse, To Ranges or To CIDRS, got {}",
                got(g)
            ),
            Self::Query(e) => write!(f, "invalid argument 'q': {e}"),
        }
    }
}

impl std::error::Error for ArgError {}

/// Booleans per §4.5: empty, `1`, `true`, `yes`, `on` / `0`, `false`, `no`, `off`, any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: [&str; 5] = ["", "1", "true", "yes", "on"];
    const FALSE: [&str; 4] = ["0", "false", "no", "off"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if FALSE.iter().any(|t| t.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Integers per §4.3: ASCII digits only, leading zeros allowed, fits u64.
pub fn parse_u64(s: &str) -> Option<u64> {
    if is_digits(s) { s.parse().ok() } else { None }
}

/// `cache_refresh_rate` (§12.4): `<number> <unit>` to seconds.
pub fn parse_refresh_rate(s: &str) -> Option<u64> {
    let mut parts = s.split_whitespace();
    let number: u64 = parse_u64(parts.next()?)?;
    let unit = parts.next()?.to_ascii_lowercase();
    if parts.next().is_some() {
        return None;
    }
    let unit = unit.strip_suffix('s').unwrap_or(&unit);
    let seconds = match unit {
        "second" => 1,
        "minute" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        "week" => 604_800,
        "month" => 30 * 86_400,
        "year" => 365 * 86_400,
        _ => return None,
    };
    number.checked_mul(seconds)
}

/// The export parameters of an instance (§3), validated once at configuration time.
#[derive(Debug, Clone)]
pub struct ExportParams {
    /// `indicators_query`, parsed.
    pub query: Query,
    /// `indicators_query` as written.
    pub query_text: String,
    /// `format`.
    pub format: Format,
    /// `edl_size`.
    pub edl_size: u64,
    /// `url_port_stripping`.
    pub strip_port: bool,
    /// `url_protocol_stripping`.
    pub strip_protocol: bool,
    /// `url_truncate`.
    pub truncate: bool,
    /// `drop_invalids`.
    pub drop_invalids: bool,
    /// `collapse_ips`.
    pub collapse: Collapse,
    /// `maximum_cidr_size`.
    pub max_cidr_size: u64,
    /// `no_wildcard_tld`.
    pub no_wildcard_tld: bool,
    /// `mwg_type`.
    pub mwg_type: String,
    /// `category_default`.
    pub category_default: String,
    /// `category_attribute`.
    pub category_attribute: String,
    /// `csv_text`.
    pub csv_text: bool,
    /// `add_comment_if_empty`.
    pub comment_if_empty: bool,
    /// `fields_filter`.
    pub fields_filter: String,
    /// `enforce_ascii`.
    pub enforce_ascii: bool,
    /// `prepend_string`, with `\n` sequences already turned into LF.
    pub prepend: String,
    /// `append_string`, likewise.
    pub append: String,
    /// `cache_refresh_rate` in seconds.
    pub cache_max_age: u64,
}

impl Default for ExportParams {
    fn default() -> Self {
        Self {
            query: Query::parse("").unwrap_or_else(|_| unreachable_empty_query()),
            query_text: String::new(),
            format: Format::Text,
            edl_size: 2500,
            strip_port: true,
            strip_protocol: true,
            truncate: false,
            drop_invalids: false,
            collapse: Collapse::Off,
            max_cidr_size: 8,
            no_wildcard_tld: false,
            mwg_type: "string".into(),
            category_default: "bc_category".into(),
            category_attribute: String::new(),
            csv_text: false,
            comment_if_empty: true,
            fields_filter: String::new(),
            enforce_ascii: false,
            prepend: String::new(),
            append: String::new(),
            cache_max_age: 1800,
        }
    }
}

#[allow(clippy::panic)]
fn unreachable_empty_query() -> Query {
    // The empty query is the grammar's first production; failing to parse it is a bug.
    panic!("the empty query must parse")
}

/// A bad instance parameter: a configuration error, never a request error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid export parameter '{name}': {reason}")]
pub struct ParamError {
    /// The parameter name.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

/// Parameters common to every instance kind, and XSOAR export parameters that mean nothing
/// here: accepted and ignored.
const IGNORED_PARAMS: [&str; 13] = [
    "credentials",
    "longRunningPort",
    "certificate",
    "key",
    "longRunning",
    "use_legacy_query",
    "on_demand",
    "page_size",
    "hsts_header",
    "extensive_logging",
    "nginx_global_directives",
    "nginx_server_conf",
    "timeout",
];

impl ExportParams {
    /// Reads XSOAR-named parameters. Booleans may be JSON booleans or boolean strings; numbers
    /// may be JSON numbers or decimal strings. Unknown names are refused.
    pub fn from_params(params: &Map<String, Value>) -> Result<Self, ParamError> {
        let mut out = Self::default();
        for (name, value) in params {
            let err = |reason: &str| ParamError {
                name: name.clone(),
                reason: reason.to_owned(),
            };
            let flag = || param_bool(value).ok_or_else(|| err("expected a boolean"));
            let text = || param_text(value).ok_or_else(|| err("expected a string"));
            match name.as_str() {
                "indicators_query" => {
                    let q = text()?;
                    out.query = Query::parse(&q).map_err(|e| err(&e.to_string()))?;
                    out.query_text = q;
                }
                "format" => {
                    out.format = text()?
                        .parse()
                        .map_err(|()| err(&format!("unknown format; accepted: {FORMAT_NAMES}")))?;
                }
                "edl_size" => {
                    let t = text()?;
                    out.edl_size = if t.is_empty() {
                        10_000
                    } else {
                        parse_u64(&t).ok_or_else(|| err("expected a non-negative integer"))?
                    };
                }
                "maximum_cidr_size" => {
                    out.max_cidr_size = parse_u64(&text()?)
                        .ok_or_else(|| err("expected a non-negative integer"))?;
                }
                "url_port_stripping" => out.strip_port = flag()?,
                "url_protocol_stripping" => out.strip_protocol = flag()?,
                "url_truncate" => out.truncate = flag()?,
                "drop_invalids" => out.drop_invalids = flag()?,
                "no_wildcard_tld" => out.no_wildcard_tld = flag()?,
                "csv_text" => out.csv_text = flag()?,
                "add_comment_if_empty" => out.comment_if_empty = flag()?,
                "enforce_ascii" => out.enforce_ascii = flag()?,
                "collapse_ips" => {
                    out.collapse = text()?
                        .parse()
                        .map_err(|()| err("expected Don't Collapse, To Ranges or To CIDRS"))?;
                }
                "mwg_type" => {
                    let t = text()?;
                    if !MWG_TYPES.contains(&t.as_str()) {
                        return Err(err(&format!("accepted: {}", MWG_TYPES.join(", "))));
                    }
                    out.mwg_type = t;
                }
                "category_default" => out.category_default = text()?,
                "category_attribute" => out.category_attribute = text()?,
                "fields_filter" => out.fields_filter = text()?,
                "prepend_string" => out.prepend = text()?.replace("\\n", "\n"),
                "append_string" => out.append = text()?.replace("\\n", "\n"),
                "cache_refresh_rate" => {
                    out.cache_max_age = parse_refresh_rate(&text()?)
                        .ok_or_else(|| err("expected '<number> <unit>', e.g. '30 minutes'"))?;
                }
                other if IGNORED_PARAMS.contains(&other) => {}
                _ => return Err(err("unknown parameter for an export instance")),
            }
        }
        Ok(out)
    }
}

fn param_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        _ => None,
    }
}

fn param_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Where the query comes from: the instance (shared, parsed once) or the request's `q`.
#[derive(Debug, Clone)]
pub enum QuerySource<'a> {
    /// `indicators_query`.
    Instance(&'a Query),
    /// The request's `q`.
    Request(Query),
}

impl QuerySource<'_> {
    /// The effective query.
    pub fn query(&self) -> &Query {
        match self {
            Self::Instance(q) => q,
            Self::Request(q) => q,
        }
    }
}

/// A validated export request: every argument resolved against the instance parameters.
#[derive(Debug, Clone)]
pub struct ExportRequest<'a> {
    /// `n`.
    pub limit: u64,
    /// `s`.
    pub offset: u64,
    /// `v`.
    pub format: Format,
    /// `q`.
    pub query: QuerySource<'a>,
    /// `t` (meaningful for MWG only).
    pub mwg_type: String,
    /// `sp`, `pr`, `ut`.
    pub url: UrlHandling,
    /// `di`.
    pub drop_invalids: bool,
    /// `tr`.
    pub collapse: Collapse,
    /// `mc`.
    pub max_cidr_size: u64,
    /// `nt`.
    pub no_wildcard_tld: bool,
    /// `tx`.
    pub csv_text: bool,
    /// `ce`.
    pub comment_if_empty: bool,
    /// `fi`.
    pub fields: FieldList,
    /// `cd`.
    pub category_default: String,
    /// `ca`.
    pub categories: Vec<String>,
    /// `enforce_ascii` (instance only).
    pub enforce_ascii: bool,
    /// `prepend_string` (instance only).
    pub prepend: &'a str,
    /// `append_string` (instance only).
    pub append: &'a str,
}

impl<'a> ExportRequest<'a> {
    /// Parses a raw query string (`a=1&b`) against the instance parameters, checking the
    /// arguments in the order of §4.7 and reporting the first failure.
    pub fn parse(params: &'a ExportParams, query_string: &str) -> Result<Self, ArgError> {
        let args = Args::decode(query_string);
        let int = |name: &'static str, default: u64| -> Result<u64, ArgError> {
            match args.get(name) {
                None => Ok(default),
                Some(v) => parse_u64(v).ok_or_else(|| ArgError::Integer {
                    name,
                    got: v.to_owned(),
                }),
            }
        };
        let flag = |name: &'static str, default: bool| -> Result<bool, ArgError> {
            match args.get(name) {
                None => Ok(default),
                Some(v) => parse_bool(v).ok_or_else(|| ArgError::Boolean {
                    name,
                    got: v.to_owned(),
                }),
            }
        };
        let limit = int("n", params.edl_size)?;
        let offset = int("s", 0)?;
        let format = match args.get("v") {
            None => params.format,
            Some(v) => v.parse().map_err(|()| ArgError::Format(v.to_owned()))?,
        };
        let mwg_type = match args.get("t") {
            Some(t) if format == Format::Mwg => {
                if !MWG_TYPES.contains(&t) {
                    return Err(ArgError::MwgType(t.to_owned()));
                }
                t.to_owned()
            }
            _ => params.mwg_type.clone(),
        };
        let collapse = match args.get("tr") {
            None => params.collapse,
            Some(v) => v.parse().map_err(|()| ArgError::Collapse(v.to_owned()))?,
        };
        let max_cidr_size = int("mc", params.max_cidr_size)?;
        let strip_port = flag("sp", params.strip_port)?;
        let strip_protocol = flag("pr", params.strip_protocol)?;
        let drop_invalids = flag("di", params.drop_invalids)?;
        let csv_text = flag("tx", params.csv_text)?;
        let comment_if_empty = flag("ce", params.comment_if_empty)?;
        let truncate = flag("ut", params.truncate)?;
        let no_wildcard_tld = flag("nt", params.no_wildcard_tld)?;
        let query = match args.get("q") {
            None => QuerySource::Instance(&params.query),
            Some(q) => QuerySource::Request(Query::parse(q).map_err(ArgError::Query)?),
        };
        let fields = FieldList::parse(args.get("fi").unwrap_or(&params.fields_filter));
        let category_default = args
            .get("cd")
            .unwrap_or(&params.category_default)
            .to_owned();
        let categories = parse_list(args.get("ca").unwrap_or(&params.category_attribute));
        Ok(Self {
            limit,
            offset,
            format,
            query,
            mwg_type,
            url: UrlHandling {
                strip_protocol,
                strip_port,
                truncate,
            },
            drop_invalids,
            collapse,
            max_cidr_size,
            no_wildcard_tld,
            csv_text,
            comment_if_empty,
            fields,
            category_default,
            categories,
            enforce_ascii: params.enforce_ascii,
            prepend: &params.prepend,
            append: &params.append,
        })
    }
}

/// Decoded `application/x-www-form-urlencoded` pairs; the first occurrence of a name counts.
#[derive(Debug, Default)]
struct Args(Vec<(String, String)>);

impl Args {
    fn decode(query_string: &str) -> Self {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(query_string.as_bytes()) {
            if !out.iter().any(|(name, _)| *name == k) {
                out.push((k.into_owned(), v.into_owned()));
            }
        }
        Self(out)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_every_spelling_in_any_case() {
        for t in ["", "1", "true", "TRUE", "Yes", "on", "ON"] {
            assert_eq!(parse_bool(t), Some(true), "{t:?}");
        }
        for f in ["0", "false", "False", "no", "NO", "off"] {
            assert_eq!(parse_bool(f), Some(false), "{f:?}");
        }
        for bad in ["maybe", "2", " true", "y", "perhaps"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn integers_are_digits_only_and_fit_u64() {
        let table = [
            ("0", Some(0)),
            ("002", Some(2)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("+5", None),
            ("-1", None),
            (" 5", None),
            ("5_000", None),
            ("", None),
            ("1.0", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_u64(text), want, "{text:?}");
        }
    }

    #[test]
    fn format_names_match_in_any_case() {
        for (name, f) in [
            ("PAN-OS (text)", Format::Text),
            ("pan-OS", Format::Text),
            ("TEXT", Format::Text),
            ("Csv", Format::Csv),
            ("json", Format::Json),
            ("mcafee web gateway", Format::Mwg),
            ("BlueCoat", Format::ProxySg),
            ("symantec proxysg", Format::ProxySg),
        ] {
            assert_eq!(name.parse::<Format>(), Ok(f), "{name}");
        }
        assert!("mcafee".parse::<Format>().is_err());
        assert!("".parse::<Format>().is_err());
    }

    #[test]
    fn collapse_accepts_numbers_and_names() {
        assert_eq!("0".parse(), Ok(Collapse::Off));
        assert_eq!("02".parse(), Ok(Collapse::On(CollapseMode::Cidrs)));
        assert_eq!("to ranges".parse(), Ok(Collapse::On(CollapseMode::Ranges)));
        assert_eq!("TO CIDRS".parse(), Ok(Collapse::On(CollapseMode::Cidrs)));
        assert!("3".parse::<Collapse>().is_err());
        assert!("ranges".parse::<Collapse>().is_err());
    }

    #[test]
    fn refresh_rates_convert_to_seconds() {
        for (text, want) in [
            ("30 minutes", Some(1800)),
            ("1 hour", Some(3600)),
            ("2 days", Some(172_800)),
            ("1 Month", Some(2_592_000)),
            ("1 year", Some(31_536_000)),
            ("5 SECONDS", Some(5)),
            ("soon", None),
            ("5 fortnights", None),
        ] {
            assert_eq!(parse_refresh_rate(text), want, "{text}");
        }
    }

    #[test]
    fn field_lists_fall_back_to_name_type_when_empty() {
        assert_eq!(FieldList::parse(""), FieldList::default());
        assert_eq!(FieldList::parse(" , "), FieldList::default());
        assert_eq!(FieldList::parse("value,all"), FieldList::All);
        assert_eq!(
            FieldList::parse("[\"a\", 1, \"b\"]"),
            FieldList::Items(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn first_failing_argument_in_spec_order_is_reported() {
        let params = ExportParams::default();
        let err = ExportRequest::parse(&params, "v=xml&n=abc").expect_err("bad n");
        assert_eq!(
            err.to_string(),
            "invalid argument 'n': expected a non-negative integer, got \"abc\""
        );
        let err = ExportRequest::parse(&params, "nt=maybe&sp=x").expect_err("bad sp");
        assert!(err.to_string().starts_with("invalid argument 'sp'"));
    }

    #[test]
    fn t_is_validated_only_for_mwg() {
        let params = ExportParams::default();
        assert!(ExportRequest::parse(&params, "v=json&t=IP").is_ok());
        assert_eq!(
            ExportRequest::parse(&params, "v=mwg&t=IP")
                .expect_err("mwg t")
                .to_string(),
            "invalid argument 't': unknown McAfee Web Gateway type \"IP\"; accepted: string, applcontrol, dimension, category, ip, mediatype, number, regex"
        );
    }

    #[test]
    fn got_value_is_written_as_a_json_string() {
        let params = ExportParams::default();
        let err = ExportRequest::parse(&params, "n=a%22b%5C%09").expect_err("bad n");
        assert_eq!(
            err.to_string(),
            "invalid argument 'n': expected a non-negative integer, got \"a\\\"b\\\\\\t\""
        );
    }

    #[test]
    fn repeated_arguments_keep_the_first() {
        let params = ExportParams::default();
        let req = ExportRequest::parse(&params, "n=1&n=x").expect("first n counts");
        assert_eq!(req.limit, 1);
    }

    #[test]
    fn unknown_instance_parameters_are_refused() {
        let mut map = Map::new();
        map.insert("edl_sise".into(), Value::String("5".into()));
        let err = ExportParams::from_params(&map).expect_err("typo");
        assert_eq!(err.name, "edl_sise");
        map.clear();
        map.insert("use_legacy_query".into(), Value::Bool(true));
        map.insert("edl_size".into(), Value::String(String::new()));
        let p = ExportParams::from_params(&map).expect("ignored + empty size");
        assert_eq!(p.edl_size, 10_000);
    }
}
