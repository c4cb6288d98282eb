//! The indicator record and the dataset an export selects from.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::instant::Instant;

/// An indicator type. Case-sensitive: `IP` and `ip` are different types (the second is custom).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndicatorType {
    /// `IP`: an IPv4 address (or anything stored under that type).
    Ip,
    /// `IPv6`.
    Ipv6,
    /// `CIDR`: an IPv4 network.
    Cidr,
    /// `IPv6CIDR`.
    Ipv6Cidr,
    /// `URL`.
    Url,
    /// `Domain`.
    Domain,
    /// `DomainGlob`.
    DomainGlob,
    /// `Email`.
    Email,
    /// `File`.
    File,
    /// Any other (custom) type, kept verbatim.
    Other(Box<str>),
}

impl IndicatorType {
    /// The type's name as stored and exported.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ip => "IP",
            Self::Ipv6 => "IPv6",
            Self::Cidr => "CIDR",
            Self::Ipv6Cidr => "IPv6CIDR",
            Self::Url => "URL",
            Self::Domain => "Domain",
            Self::DomainGlob => "DomainGlob",
            Self::Email => "Email",
            Self::File => "File",
            Self::Other(name) => name,
        }
    }

    /// `IP`, `IPv6`, `CIDR` and `IPv6CIDR` are the IP types; their values are never rewritten.
    pub fn is_ip(&self) -> bool {
        matches!(self, Self::Ip | Self::Ipv6 | Self::Cidr | Self::Ipv6Cidr)
    }
}

impl FromStr for IndicatorType {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "IP" => Self::Ip,
            "IPv6" => Self::Ipv6,
            "CIDR" => Self::Cidr,
            "IPv6CIDR" => Self::Ipv6Cidr,
            "URL" => Self::Url,
            "Domain" => Self::Domain,
            "DomainGlob" => Self::DomainGlob,
            "Email" => Self::Email,
            "File" => Self::File,
            other => Self::Other(other.into()),
        })
    }
}

impl fmt::Display for IndicatorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Expiry as derived once from the stored fields, so selection does not look it up per poll.
/// Kept small and inline: selection reads it for every indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// Neither `expirationStatus` nor a parseable `expiration`: always active.
    Never,
    /// `expirationStatus` stored explicitly (as XSOAR exports do): `true` when `expired`.
    Explicit(bool),
    /// Expired from this instant on (Unix seconds and nanoseconds, UTC).
    At(i64, u32),
}

impl Expiry {
    fn at(instant: Instant) -> Self {
        let nanos = instant.unix_nanos();
        let secs = nanos.div_euclid(1_000_000_000);
        let frac = nanos.rem_euclid(1_000_000_000) as u32;
        match i64::try_from(secs) {
            Ok(secs) => Self::At(secs, frac),
            Err(_) => Self::Never,
        }
    }
}

/// Fields live behind one pointer so the record the export loop walks stays one cache line.
#[derive(Debug, Clone, PartialEq, Default)]
struct Extra {
    fields: Map<String, Value>,
    custom_fields: Option<Map<String, Value>>,
}

fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// One stored indicator: value, type, top-level fields (in stored order) and custom fields.
///
/// Values, types and fields are kept exactly as given; the export rules decide what a list
/// shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    value: Box<str>,
    kind: IndicatorType,
    expiry: Expiry,
    /// `None` when the indicator has neither fields nor custom fields.
    extra: Option<Box<Extra>>,
}

impl Indicator {
    /// An indicator with no fields.
    pub fn new(value: impl Into<String>, kind: IndicatorType) -> Self {
        Self::with_fields(value, kind, Map::new(), None)
    }

    /// An indicator with top-level fields and optional custom fields.
    pub fn with_fields(
        value: impl Into<String>,
        kind: IndicatorType,
        fields: Map<String, Value>,
        custom_fields: Option<Map<String, Value>>,
    ) -> Self {
        let expiry = derive_expiry(&fields);
        let extra = (!fields.is_empty() || custom_fields.is_some()).then(|| {
            Box::new(Extra {
                fields,
                custom_fields,
            })
        });
        Self {
            value: value.into().into_boxed_str(),
            kind,
            expiry,
            extra,
        }
    }

    /// The indicator value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The indicator type.
    pub fn kind(&self) -> &IndicatorType {
        &self.kind
    }

    /// Top-level fields in stored order (`sourceBrands`, `tags`, `score`, ...).
    pub fn fields(&self) -> &Map<String, Value> {
        match &self.extra {
            Some(extra) => &extra.fields,
            None => empty_map(),
        }
    }

    /// Custom fields, when the indicator has them.
    pub fn custom_fields(&self) -> Option<&Map<String, Value>> {
        self.extra.as_ref().and_then(|e| e.custom_fields.as_ref())
    }

    /// A top-level field by exact name.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.extra.as_ref().and_then(|e| e.fields.get(name))
    }

    /// A custom field by exact name.
    pub fn custom_field(&self, name: &str) -> Option<&Value> {
        self.custom_fields().and_then(|c| c.get(name))
    }

    /// Export lookup (`fi`): the top-level field whatever its value, else the custom field.
    pub fn lookup(&self, name: &str) -> Option<&Value> {
        self.field(name).or_else(|| self.custom_field(name))
    }

    /// Whether the indicator is expired at `now`: an explicit `expirationStatus` wins, else
    /// an `expiration` instant at or before `now` expires it.
    pub fn is_expired(&self, now: Instant) -> bool {
        match self.expiry {
            Expiry::Never => false,
            Expiry::Explicit(expired) => expired,
            Expiry::At(secs, nanos) => {
                Instant::from_unix_nanos(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
                    <= now
            }
        }
    }

    /// The instant this indicator expires at, when that is what decides its status (no
    /// explicit `expirationStatus`).
    pub fn expires_at(&self) -> Option<Instant> {
        match self.expiry {
            Expiry::At(secs, nanos) => Some(Instant::from_unix_nanos(
                i128::from(secs) * 1_000_000_000 + i128::from(nanos),
            )),
            _ => None,
        }
    }

    /// `active` or `expired`, as the query field `expirationStatus` sees it.
    pub fn expiration_status(&self, now: Instant) -> &'static str {
        if self.is_expired(now) {
            "expired"
        } else {
            "active"
        }
    }

    /// The whole stored object as exported with `fi=all`: `value`, `indicator_type`, the
    /// top-level fields in stored order, then `CustomFields` when present.
    pub fn to_export_object(&self) -> Map<String, Value> {
        let fields = self.fields();
        let mut out = Map::with_capacity(fields.len() + 3);
        out.insert("value".into(), Value::String(self.value.to_string()));
        out.insert(
            "indicator_type".into(),
            Value::String(self.kind.as_str().to_owned()),
        );
        for (k, v) in fields {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if let Some(custom) = self.custom_fields() {
            out.insert("CustomFields".into(), Value::Object(custom.clone()));
        }
        out
    }
}

fn derive_expiry(fields: &Map<String, Value>) -> Expiry {
    if let Some(status) = fields.get("expirationStatus") {
        return match status {
            Value::String(s) => Expiry::Explicit(s.eq_ignore_ascii_case("expired")),
            _ => Expiry::Explicit(false),
        };
    }
    match fields.get("expiration") {
        Some(Value::String(s)) => Instant::parse(s).map_or(Expiry::Never, Expiry::at),
        _ => Expiry::Never,
    }
}

/// The interchange shape of an indicator: `{"value", "type", "fields"?, "custom_fields"?}`,
/// used by the importer, the conformance vectors and the stores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndicatorRecord {
    /// The value.
    pub value: String,
    /// The type name.
    #[serde(rename = "type")]
    pub kind: String,
    /// Top-level fields.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub fields: Map<String, Value>,
    /// Custom fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Map<String, Value>>,
}

impl From<IndicatorRecord> for Indicator {
    fn from(r: IndicatorRecord) -> Self {
        let kind = match r.kind.parse() {
            Ok(kind) => kind,
            Err(never) => match never {},
        };
        Indicator::with_fields(r.value, kind, r.fields, r.custom_fields)
    }
}

impl From<&Indicator> for IndicatorRecord {
    fn from(i: &Indicator) -> Self {
        Self {
            value: i.value.to_string(),
            kind: i.kind.as_str().to_owned(),
            fields: i.fields().clone(),
            custom_fields: i.custom_fields().cloned(),
        }
    }
}

impl Serialize for Indicator {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        IndicatorRecord::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Indicator {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IndicatorRecord::deserialize(d).map(Indicator::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ind(v: Value) -> Indicator {
        serde_json::from_value(v).expect("indicator json")
    }

    #[test]
    fn explicit_expiration_status_wins_over_instant() {
        let now = Instant::parse("2026-01-01T00:00:00Z").expect("now");
        let a = ind(
            json!({"value":"a","type":"IP","fields":{"expiration":"2001-01-01T00:00:00Z","expirationStatus":"active"}}),
        );
        let b = ind(
            json!({"value":"b","type":"IP","fields":{"expiration":"2099-01-01T00:00:00Z","expirationStatus":"expired"}}),
        );
        let c =
            ind(json!({"value":"c","type":"IP","fields":{"expiration":"2001-01-01T00:00:00Z"}}));
        let d = ind(json!({"value":"d","type":"IP","fields":{"expiration":"soon"}}));
        assert!(!a.is_expired(now));
        assert!(b.is_expired(now));
        assert!(c.is_expired(now));
        assert!(!d.is_expired(now));
    }

    #[test]
    fn expires_at_the_instant_itself() {
        let at = Instant::parse("2026-01-01T00:00:00Z").expect("at");
        let i =
            ind(json!({"value":"a","type":"IP","fields":{"expiration":"2026-01-01T00:00:00Z"}}));
        assert!(i.is_expired(at));
        assert!(!i.is_expired(at.add_nanos(-1)));
    }

    #[test]
    fn export_object_keeps_stored_order_and_custom_fields() {
        let i = ind(
            json!({"value":"x","type":"Custom","fields":{"b":1,"a":null},"custom_fields":{"c":[1]}}),
        );
        let text = serde_json::to_string(&i.to_export_object()).expect("json");
        assert_eq!(
            text,
            r#"{"value":"x","indicator_type":"Custom","b":1,"a":null,"CustomFields":{"c":[1]}}"#
        );
    }

    #[test]
    fn the_record_stays_one_cache_line() {
        assert!(std::mem::size_of::<Indicator>() <= 64);
    }

    #[test]
    fn lookup_prefers_top_level_even_when_falsy() {
        let i =
            ind(json!({"value":"x","type":"IP","fields":{"n":0},"custom_fields":{"n":5,"m":6}}));
        assert_eq!(i.lookup("n"), Some(&json!(0)));
        assert_eq!(i.lookup("m"), Some(&json!(6)));
        assert_eq!(i.lookup("z"), None);
    }
}
