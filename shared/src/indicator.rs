//! The indicator record and the dataset an export selects from.

use std::fmt;
use std::hash::BuildHasher;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use compact_str::CompactString;
use hashbrown::HashTable;

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
/// One word, so that the record the export loop walks stays one cache line: an instant is
/// Unix nanoseconds, clamped to what an `i64` holds (years 1678 to 2262: an instant before is
/// expired and one after is not, for every `now` in between), and the three highest values
/// stand for the states without an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expiry(i64);

/// What an [`Expiry`] says.
enum ExpiryState {
    /// Neither `expirationStatus` nor a parseable `expiration`: always active.
    Never,
    /// `expirationStatus` stored explicitly (as XSOAR exports do): `true` when `expired`.
    Explicit(bool),
    /// Expired from this instant on.
    At(Instant),
}

impl Expiry {
    const NEVER: Self = Self(i64::MAX);
    const EXPLICIT_ACTIVE: Self = Self(i64::MAX - 1);
    const EXPLICIT_EXPIRED: Self = Self(i64::MAX - 2);
    /// The latest instant an expiry holds.
    const LATEST: i64 = i64::MAX - 3;

    fn at(instant: Instant) -> Self {
        let nanos = instant
            .unix_nanos()
            .clamp(i128::from(i64::MIN), i128::from(Self::LATEST));
        Self(i64::try_from(nanos).unwrap_or(Self::LATEST))
    }

    fn explicit(expired: bool) -> Self {
        if expired {
            Self::EXPLICIT_EXPIRED
        } else {
            Self::EXPLICIT_ACTIVE
        }
    }

    fn state(self) -> ExpiryState {
        match self {
            Self::NEVER => ExpiryState::Never,
            Self::EXPLICIT_ACTIVE => ExpiryState::Explicit(false),
            Self::EXPLICIT_EXPIRED => ExpiryState::Explicit(true),
            Self(nanos) => ExpiryState::At(Instant::from_unix_nanos(i128::from(nanos))),
        }
    }
}

/// Fields live behind one pointer so the record the export loop walks stays one cache line.
#[derive(Debug, Clone, PartialEq, Default)]
struct Fields {
    fields: Map<String, Value>,
    custom_fields: Option<Map<String, Value>>,
}

/// Fields as given (decoded), or as a store keeps them ([`crate::blob`]) until something
/// reads them. Behind one pointer: a loaded indicator costs its value, this box and its blobs.
#[derive(Debug, Clone)]
struct Extra {
    /// The fields blob (empty: no fields), then the custom-fields blob (empty: none). Both
    /// empty when the indicator was built from maps.
    bytes: Box<[u8]>,
    split: usize,
    decoded: OnceLock<Box<Fields>>,
}

impl Extra {
    fn decoded(fields: Fields) -> Self {
        Self {
            bytes: Box::default(),
            split: 0,
            decoded: OnceLock::from(Box::new(fields)),
        }
    }

    /// Whether the fields are (still) only blobs.
    fn is_encoded(&self) -> bool {
        !self.bytes.is_empty()
    }

    fn fields_blob(&self) -> Option<&[u8]> {
        let blob = &self.bytes[..self.split];
        (!blob.is_empty()).then_some(blob)
    }

    fn custom_blob(&self) -> Option<&[u8]> {
        let blob = &self.bytes[self.split..];
        (!blob.is_empty()).then_some(blob)
    }

    fn fields(&self) -> &Fields {
        self.decoded.get_or_init(|| {
            // Both blobs were validated when the indicator was built, so decoding succeeds.
            let decode = |blob: &[u8]| crate::blob::decode(blob).unwrap_or_default();
            Box::new(Fields {
                fields: self.fields_blob().map(decode).unwrap_or_default(),
                custom_fields: self.custom_blob().map(decode),
            })
        })
    }
}

/// The expiry and the (unshared) field record of a pair of blobs, checked.
fn encoded_extra(
    fields: Option<&[u8]>,
    custom_fields: Option<&[u8]>,
) -> Result<(Expiry, Option<Extra>), String> {
    let fields = fields.filter(|b| !b.is_empty());
    let custom_fields = custom_fields.filter(|b| !b.is_empty());
    let mut status = None;
    let mut expiration = None;
    if let Some(blob) = fields {
        crate::blob::validate(blob).map_err(|e| format!("fields: {e}"))?;
        // A repeated key decodes to its last value; look up the same way.
        for (key, raw) in crate::blob::entries(blob) {
            match key {
                "expirationStatus" => status = Some(raw.as_str()),
                "expiration" => expiration = Some(raw.as_str()),
                _ => {}
            }
        }
    }
    if let Some(blob) = custom_fields {
        crate::blob::validate(blob).map_err(|e| format!("custom fields: {e}"))?;
    }
    let expiry = derive_expiry(status, expiration.flatten());
    let extra = (fields.is_some() || custom_fields.is_some()).then(|| {
        let (f, c) = (
            fields.unwrap_or_default(),
            custom_fields.unwrap_or_default(),
        );
        let mut bytes = Vec::with_capacity(f.len() + c.len());
        bytes.extend_from_slice(f);
        bytes.extend_from_slice(c);
        Extra {
            bytes: bytes.into_boxed_slice(),
            split: f.len(),
            decoded: OnceLock::new(),
        }
    });
    Ok((expiry, extra))
}

/// Fields and custom fields that many indicators share: one record, kept once. For stores
/// whose snapshot lists each distinct field set once (the DynamoDB chunks): every indicator
/// built with [`Indicator::with_shared_fields`] points at the same record instead of holding
/// a copy of the maps.
#[derive(Debug, Clone)]
pub struct SharedFields {
    extra: Option<Arc<Extra>>,
    expiry: Expiry,
}

impl SharedFields {
    /// The shared record of `fields` and `custom_fields` (none at all: no record).
    pub fn new(fields: Map<String, Value>, custom_fields: Option<Map<String, Value>>) -> Self {
        let expiry = derive_expiry(
            fields.get("expirationStatus").map(|v| v.as_str()),
            fields.get("expiration").and_then(Value::as_str),
        );
        let extra = (!fields.is_empty() || custom_fields.is_some()).then(|| {
            Arc::new(Extra::decoded(Fields {
                fields,
                custom_fields,
            }))
        });
        Self { extra, expiry }
    }
}

/// Builds indicators from store blobs like [`Indicator::from_blobs`], sharing one field record
/// between indicators whose blobs are the same bytes. Feeds repeat a few field sets (source,
/// score, tags) across many indicators: those are checked, kept and decoded once, and a load
/// allocates only the value per indicator. When the blobs turn out to be mostly distinct
/// (per-indicator timestamps), the interner stops looking after a sample and costs nothing.
#[derive(Debug)]
pub struct BlobInterner {
    table: HashTable<(Arc<Extra>, Expiry)>,
    hasher: foldhash::fast::FixedState,
    lookups: u64,
    hits: u64,
    enabled: bool,
}

impl Default for BlobInterner {
    fn default() -> Self {
        Self {
            table: HashTable::new(),
            hasher: foldhash::fast::FixedState::with_seed(0x626c_6f62),
            lookups: 0,
            hits: 0,
            enabled: true,
        }
    }
}

impl BlobInterner {
    /// Lookups after which the interner decides whether sharing pays.
    const SAMPLE: u64 = 4096;
    /// Distinct records kept at most; past this the table would cost more than it saves.
    const MAX_DISTINCT: usize = 1 << 16;

    /// A new interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// As [`Indicator::from_blobs`], sharing the field record with earlier indicators that
    /// had the same blobs.
    pub fn indicator(
        &mut self,
        value: &str,
        kind: IndicatorType,
        fields: Option<&[u8]>,
        custom_fields: Option<&[u8]>,
    ) -> Result<Indicator, String> {
        let fields = fields.filter(|b| !b.is_empty());
        let custom_fields = custom_fields.filter(|b| !b.is_empty());
        if !self.enabled || (fields.is_none() && custom_fields.is_none()) {
            return Indicator::from_blobs(value, kind, fields, custom_fields);
        }
        let (f, c) = (
            fields.unwrap_or_default(),
            custom_fields.unwrap_or_default(),
        );
        let hash = self.hasher.hash_one((f, c));
        self.lookups += 1;
        let found = self.table.find(hash, |(e, _)| {
            e.split == f.len() && &e.bytes[..e.split] == f && &e.bytes[e.split..] == c
        });
        let (extra, expiry) = match found {
            Some((extra, expiry)) => {
                self.hits += 1;
                (Arc::clone(extra), *expiry)
            }
            None => {
                let (expiry, extra) = encoded_extra(fields, custom_fields)?;
                let Some(extra) = extra.map(Arc::new) else {
                    return Indicator::from_blobs(value, kind, None, None);
                };
                if self.table.len() < Self::MAX_DISTINCT {
                    let hasher = &self.hasher;
                    self.table
                        .insert_unique(hash, (Arc::clone(&extra), expiry), |(e, _)| {
                            hasher.hash_one((&e.bytes[..e.split], &e.bytes[e.split..]))
                        });
                }
                (extra, expiry)
            }
        };
        if self.lookups == Self::SAMPLE && self.hits * 2 < self.lookups {
            // Mostly distinct: sharing would not pay for the lookups.
            self.enabled = false;
            self.table = HashTable::new();
        }
        Ok(Indicator {
            value: CompactString::new(value),
            kind,
            expiry,
            extra: Some(extra),
        })
    }
}

fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// The fields blob and the custom-fields blob of an indicator (`None`: none).
pub type Blobs<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// One stored indicator: value, type, top-level fields (in stored order) and custom fields.
///
/// Values, types and fields are kept exactly as given; the export rules decide what a list
/// shows.
#[derive(Debug, Clone)]
pub struct Indicator {
    /// Inline up to 24 bytes (addresses, networks, most domains): no allocation of its own,
    /// and read in the same cache line as the rest of the record.
    value: CompactString,
    kind: IndicatorType,
    expiry: Expiry,
    /// `None` when the indicator has neither fields nor custom fields. Shared between
    /// indicators whose stored fields are the same bytes (see [`BlobInterner`]).
    extra: Option<Arc<Extra>>,
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
        let SharedFields { extra, expiry } = SharedFields::new(fields, custom_fields);
        Self {
            value: CompactString::from(value.into()),
            kind,
            expiry,
            extra,
        }
    }

    /// An indicator whose fields are the record `shared`, shared with every other indicator
    /// built from it.
    pub fn with_shared_fields(value: &str, kind: IndicatorType, shared: &SharedFields) -> Self {
        Self {
            value: CompactString::new(value),
            kind,
            expiry: shared.expiry,
            extra: shared.extra.clone(),
        }
    }

    /// An indicator whose fields and custom fields are blobs in the form of [`crate::blob`]
    /// (`None`: no fields, no custom fields), as a store keeps them. The blobs are checked
    /// now and decoded on first use; export formats that need no fields never decode them.
    pub fn from_blobs(
        value: &str,
        kind: IndicatorType,
        fields: Option<&[u8]>,
        custom_fields: Option<&[u8]>,
    ) -> Result<Self, String> {
        let (expiry, extra) = encoded_extra(fields, custom_fields)?;
        Ok(Self {
            value: CompactString::new(value),
            kind,
            expiry,
            extra: extra.map(Arc::new),
        })
    }

    /// The fields and custom fields in the form of [`crate::blob`], when the indicator holds
    /// them that way (it was loaded from a store): a store can write them back unchanged.
    pub fn blobs(&self) -> Option<Blobs<'_>> {
        match &self.extra {
            Some(e) if e.is_encoded() => Some((e.fields_blob(), e.custom_blob())),
            Some(_) => None,
            None => Some((None, None)),
        }
    }

    /// Writes the `fi=all` object of [`Indicator::to_export_object`] as compact JSON, with
    /// `value` in place of the stored value; byte for byte what `serde_json` writes for the
    /// object, without building it.
    pub fn write_export_json<W: std::io::Write>(
        &self,
        value: &str,
        out: &mut W,
    ) -> std::io::Result<()> {
        out.write_all(b"{\"value\":")?;
        serde_json::to_writer(&mut *out, value)?;
        out.write_all(b",\"indicator_type\":")?;
        serde_json::to_writer(&mut *out, self.kind.as_str())?;
        let mut custom_written = false;
        match &self.extra {
            None => {}
            Some(e) if e.is_encoded() && e.decoded.get().is_none() => {
                let custom = e.custom_blob();
                if let Some(blob) = e.fields_blob() {
                    let mut seen_custom = false;
                    for (key, raw) in crate::blob::entries(blob) {
                        if key == "value" || key == "indicator_type" {
                            continue;
                        }
                        out.write_all(b",")?;
                        serde_json::to_writer(&mut *out, key)?;
                        out.write_all(b":")?;
                        match (key, custom) {
                            // `CustomFields` replaces a field of that name in place.
                            ("CustomFields", Some(c)) if !seen_custom => {
                                seen_custom = true;
                                crate::blob::write_json_object(c, out)?;
                                custom_written = true;
                            }
                            _ => raw.write_json(out)?,
                        }
                    }
                }
                if let (Some(c), false) = (custom, custom_written) {
                    out.write_all(b",\"CustomFields\":")?;
                    crate::blob::write_json_object(c, out)?;
                }
                return out.write_all(b"}");
            }
            Some(extra) => {
                let fields = extra.fields();
                let custom = fields.custom_fields.as_ref();
                for (key, field) in &fields.fields {
                    if key == "value" || key == "indicator_type" {
                        continue;
                    }
                    out.write_all(b",")?;
                    serde_json::to_writer(&mut *out, key)?;
                    out.write_all(b":")?;
                    match (key.as_str(), custom) {
                        ("CustomFields", Some(c)) => {
                            serde_json::to_writer(&mut *out, c)?;
                            custom_written = true;
                        }
                        _ => serde_json::to_writer(&mut *out, field)?,
                    }
                }
                if let (Some(c), false) = (custom, custom_written) {
                    out.write_all(b",\"CustomFields\":")?;
                    serde_json::to_writer(&mut *out, c)?;
                }
            }
        }
        out.write_all(b"}")
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
            Some(extra) => &extra.fields().fields,
            None => empty_map(),
        }
    }

    /// Custom fields, when the indicator has them.
    pub fn custom_fields(&self) -> Option<&Map<String, Value>> {
        self.extra
            .as_ref()
            .and_then(|e| e.fields().custom_fields.as_ref())
    }

    /// A top-level field by exact name.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.extra
            .as_ref()
            .and_then(|e| e.fields().fields.get(name))
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
        match self.expiry.state() {
            ExpiryState::Never => false,
            ExpiryState::Explicit(expired) => expired,
            ExpiryState::At(at) => at <= now,
        }
    }

    /// The instant this indicator expires at, when that is what decides its status (no
    /// explicit `expirationStatus`).
    pub fn expires_at(&self) -> Option<Instant> {
        match self.expiry.state() {
            ExpiryState::At(at) => Some(at),
            ExpiryState::Never | ExpiryState::Explicit(_) => None,
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

/// Expiry from `expirationStatus` (present: `Some`, with its text when it is a string) and
/// `expiration` (when a string).
fn derive_expiry(status: Option<Option<&str>>, expiration: Option<&str>) -> Expiry {
    if let Some(status) = status {
        return Expiry::explicit(status.is_some_and(|s| s.eq_ignore_ascii_case("expired")));
    }
    match expiration {
        Some(s) => Instant::parse(s).map_or(Expiry::NEVER, Expiry::at),
        None => Expiry::NEVER,
    }
}

impl PartialEq for Indicator {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
            && self.kind == other.kind
            && self.expiry == other.expiry
            && self.fields() == other.fields()
            && self.custom_fields() == other.custom_fields()
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
    fn expiry_instants_hold_at_the_edges_of_what_an_expiry_stores() {
        let now = Instant::parse("2026-01-01T00:00:00Z").expect("now");
        let at = |s: &str| ind(json!({"value":"a","type":"IP","fields":{"expiration":s}}));
        // Beyond the years an i64 of nanoseconds spans: clamped, with the same answer.
        assert!(at("0001-01-01T00:00:00Z").is_expired(now));
        assert!(!at("9999-12-31T23:59:59Z").is_expired(now));
        assert!(
            at("9999-12-31T23:59:59Z")
                .expires_at()
                .is_some_and(|t| t > now)
        );
        // Expired from the instant itself on, to the nanosecond.
        let edge = at("2026-01-01T00:00:00.000000001Z");
        assert!(!edge.is_expired(now));
        assert!(edge.is_expired(Instant::from_unix_nanos(now.unix_nanos() + 1)));
        assert!(at("2026-01-01T00:00:00Z").is_expired(now));
        // States without an instant are not instants, whatever the clock.
        let explicit = ind(json!({"value":"a","type":"IP","fields":{"expirationStatus":"active"}}));
        assert_eq!(explicit.expires_at(), None);
        assert!(!explicit.is_expired(Instant::from_unix_nanos(i128::from(i64::MAX))));
        assert_eq!(Indicator::new("a", IndicatorType::Ip).expires_at(), None);
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

    /// Every way of writing the `fi=all` object agrees with `serde_json` on the built object.
    fn assert_export_json(i: &Indicator, value: &str) {
        let mut object = i.to_export_object();
        object.insert("value".into(), Value::String(value.to_owned()));
        let expected = serde_json::to_string(&object).expect("json");
        let mut written = Vec::new();
        i.write_export_json(value, &mut written).expect("writes");
        assert_eq!(String::from_utf8(written).expect("utf-8"), expected);
    }

    fn encoded(i: &Indicator) -> Indicator {
        let blob = |m: &Map<String, Value>| {
            let mut out = Vec::new();
            crate::blob::encode(m, &mut out).expect("encodes");
            out
        };
        let fields = (!i.fields().is_empty()).then(|| blob(i.fields()));
        let custom = i.custom_fields().map(blob);
        Indicator::from_blobs(
            i.value(),
            i.kind().clone(),
            fields.as_deref(),
            custom.as_deref(),
        )
        .expect("valid blobs")
    }

    #[test]
    fn blob_backed_indicators_read_and_write_like_decoded_ones() {
        let cases = [
            json!({"value":"x","type":"Custom","fields":{"b":1,"a":null,"value":"no","indicator_type":"no"},"custom_fields":{"c":[1]}}),
            json!({"value":"y","type":"IP","fields":{"CustomFields":1,"score":2.5},"custom_fields":{"c":"\u{0}\"é"}}),
            json!({"value":"z","type":"URL","fields":{"CustomFields":{"keep":true}}}),
            json!({"value":"w","type":"IP","custom_fields":{}}),
            json!({"value":"v","type":"IP"}),
            json!({"value":"u","type":"IP","fields":{"expirationStatus":"EXPIRED","expiration":"2099-01-01T00:00:00Z"}}),
            json!({"value":"t","type":"IP","fields":{"expiration":"2001-01-01T00:00:00Z"}}),
            json!({"value":"s","type":"IP","fields":{"expirationStatus":7,"expiration":"2001-01-01T00:00:00Z"}}),
        ];
        let now = Instant::parse("2026-01-01T00:00:00Z").expect("now");
        for case in cases {
            let decoded = ind(case);
            let blobbed = encoded(&decoded);
            assert_eq!(blobbed, decoded);
            assert_eq!(
                blobbed.is_expired(now),
                decoded.is_expired(now),
                "{decoded:?}"
            );
            assert_eq!(blobbed.expires_at(), decoded.expires_at());
            assert!(blobbed.blobs().is_some());
            for value in [decoded.value(), "other"] {
                assert_export_json(&decoded, value);
                // Straight from the blobs, then again once they were decoded.
                let fresh = encoded(&decoded);
                assert_export_json(&fresh, value);
                let _ = fresh.fields();
                assert_export_json(&fresh, value);
            }
            assert_eq!(blobbed.lookup("c"), decoded.lookup("c"));
        }
        assert!(Indicator::from_blobs("a", IndicatorType::Ip, Some(&[1, 1]), None).is_err());
        assert!(Indicator::from_blobs("a", IndicatorType::Ip, None, Some(&[9])).is_err());
    }

    #[test]
    fn the_interner_shares_repeated_blobs_and_gives_the_same_indicators() {
        let blob = |v: Value| {
            let Value::Object(m) = v else { unreachable!() };
            let mut out = Vec::new();
            crate::blob::encode(&m, &mut out).expect("encodes");
            out
        };
        let common = blob(json!({"sourceBrands":["OTX"],"score":2}));
        let custom = blob(json!({"c":1}));
        let expiring = blob(json!({"expiration":"2001-01-01T00:00:00Z"}));
        let mut interner = BlobInterner::new();
        let rows: Vec<Blobs<'_>> = vec![
            (Some(&common), None),
            (Some(&common), None),
            (Some(&common), Some(&custom)),
            (None, Some(&custom)),
            (Some(&expiring), None),
            (Some(&expiring), None),
            (None, None),
            (Some(&[]), Some(&[])),
        ];
        let now = Instant::parse("2026-01-01T00:00:00Z").expect("now");
        let built: Vec<Indicator> = rows
            .iter()
            .enumerate()
            .map(|(i, (f, c))| {
                let shared = interner
                    .indicator(&format!("v{i}"), IndicatorType::Ip, *f, *c)
                    .expect("valid");
                let alone = Indicator::from_blobs(&format!("v{i}"), IndicatorType::Ip, *f, *c)
                    .expect("valid");
                assert_eq!(shared, alone);
                assert_eq!(shared.is_expired(now), alone.is_expired(now));
                assert_eq!(shared.blobs(), alone.blobs());
                shared
            })
            .collect();
        let same = |a: &Indicator, b: &Indicator| match (&a.extra, &b.extra) {
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            _ => false,
        };
        assert!(same(&built[0], &built[1]));
        assert!(!same(&built[1], &built[2]), "custom fields differ");
        assert!(!same(&built[2], &built[3]), "the split differs");
        assert!(same(&built[4], &built[5]) && built[5].is_expired(now));
        assert!(built[6].extra.is_none() && built[7].extra.is_none());
        assert!(
            interner
                .indicator("bad", IndicatorType::Ip, Some(&[1, 1]), None)
                .is_err()
        );
    }

    #[test]
    fn the_interner_stops_sharing_when_blobs_are_distinct() {
        let mut interner = BlobInterner::new();
        for i in 0..BlobInterner::SAMPLE + 10 {
            let mut m = Map::new();
            m.insert("firstSeen".into(), Value::from(i));
            let mut blob = Vec::new();
            crate::blob::encode(&m, &mut blob).expect("encodes");
            let ind = interner
                .indicator("v", IndicatorType::Ip, Some(&blob), None)
                .expect("valid");
            assert_eq!(ind.field("firstSeen"), Some(&Value::from(i)));
        }
        assert!(!interner.enabled && interner.table.is_empty());
    }

    #[test]
    fn indicators_built_from_shared_fields_share_one_record() {
        let mut fields = Map::new();
        fields.insert("score".into(), Value::from(3));
        fields.insert("expirationStatus".into(), Value::from("expired"));
        let shared = SharedFields::new(fields.clone(), None);
        let a = Indicator::with_shared_fields("a", IndicatorType::Ip, &shared);
        let b = Indicator::with_shared_fields("b", IndicatorType::Domain, &shared);
        let own = Indicator::with_fields("a", IndicatorType::Ip, fields, None);
        assert_eq!(a, own);
        assert_eq!(b.field("score"), Some(&Value::from(3)));
        assert!(
            a.is_expired(Instant::from_unix_millis(0))
                && b.is_expired(Instant::from_unix_millis(0))
        );
        assert!(std::ptr::eq(a.fields(), b.fields()), "one record");
        let none = SharedFields::new(Map::new(), None);
        assert_eq!(
            Indicator::with_shared_fields("c", IndicatorType::Ip, &none),
            Indicator::new("c", IndicatorType::Ip)
        );
    }

    #[test]
    fn the_record_stays_one_cache_line() {
        assert!(std::mem::size_of::<Indicator>() <= 64);
    }

    #[test]
    fn values_of_every_length_are_kept_exactly() {
        // Short values live in the record, longer ones on the heap: both read back as given.
        for len in [0, 1, 15, 23, 24, 25, 64, 300] {
            let value: String = "ab🦀".chars().cycle().take(len).collect();
            let mut fields = Map::new();
            fields.insert("score".into(), Value::from(len));
            let mut blob = Vec::new();
            crate::blob::encode(&fields, &mut blob).expect("encode");
            for i in [
                Indicator::new(value.clone(), IndicatorType::Url),
                Indicator::from_blobs(&value, IndicatorType::Url, Some(&blob), None)
                    .expect("blobs"),
                BlobInterner::new()
                    .indicator(&value, IndicatorType::Url, Some(&blob), None)
                    .expect("blobs"),
            ] {
                assert_eq!(i.value(), value, "{len}");
            }
        }
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
