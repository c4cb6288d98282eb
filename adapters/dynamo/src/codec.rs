//! The snapshot chunk format: a compact, LZ4-compressed run of indicators in export order.
//!
//! Layout of a chunk payload: the magic `FGC1`, then an LZ4 block (uncompressed size
//! prepended) of:
//!
//! ```text
//! varint records
//! varint types,  then each type name          (str)
//! varint sets,   then each field set          (str fields JSON, str custom-fields JSON)
//! records × str value                          (values together: they compress together)
//! records × varint type index
//! records × varint field-set index
//! ```
//!
//! `str` is a varint length then UTF-8 bytes. A field set is the pair (fields, custom fields)
//! as compact JSON; the empty string stands for "no fields" / "no custom fields". Feeds repeat
//! the same few field sets across thousands of indicators, so interning them keeps a million
//! indicators near 15 bytes each and lets decoding parse each distinct set once.

use std::collections::HashMap;

use feedgate::indicator::{Indicator, IndicatorType, SharedFields};
use serde_json::{Map, Value};

const MAGIC: &[u8; 4] = b"FGC1";

/// Compressed chunk payloads aim for this size: small enough that a `BatchGetItem` of many
/// chunks stays far below its 16 MB response cap, big enough that a million indicators
/// are a few dozen items.
pub(crate) const TARGET_CHUNK_BYTES: usize = 200 * 1024;
/// Hard cap for one payload. DynamoDB items are at most 400 KB; moto measures a binary
/// attribute by its base64 text (4/3 of the bytes), so the cap leaves room for that and for
/// the item's key and names.
pub(crate) const MAX_CHUNK_BYTES: usize = 280 * 1024;
/// Uncompressed bytes gathered before a chunk is cut; typical feeds compress 3–5×, and a
/// chunk that comes out too big is split again by its measured size.
const RAW_CUT_BYTES: usize = 900 * 1024;

/// A chunk does not decode.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct CodecError(String);

fn bad(what: impl Into<String>) -> CodecError {
    CodecError(what.into())
}

/// An indicator too big to fit a chunk on its own.
#[derive(Debug, thiserror::Error)]
#[error("indicator {value:?} is too large to store: {bytes} bytes compressed")]
pub(crate) struct OversizeIndicator {
    pub(crate) value: String,
    pub(crate) bytes: usize,
}

/// Encodes `records` into one or more chunk payloads, each at most [`MAX_CHUNK_BYTES`],
/// preserving order; each payload comes with the number of records it holds.
pub(crate) fn encode_chunks(
    records: &[Indicator],
) -> Result<Vec<(Vec<u8>, usize)>, OversizeIndicator> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut raw = 0usize;
    for (i, record) in records.iter().enumerate() {
        raw += record.value().len() + 8;
        if raw >= RAW_CUT_BYTES {
            encode_range(&records[start..=i], &mut out)?;
            start = i + 1;
            raw = 0;
        }
    }
    if start < records.len() {
        encode_range(&records[start..], &mut out)?;
    }
    Ok(out)
}

/// Encodes `records` as one payload, or splits them into as many equal parts as the
/// measured size asks for.
fn encode_range(
    records: &[Indicator],
    out: &mut Vec<(Vec<u8>, usize)>,
) -> Result<(), OversizeIndicator> {
    let payload = encode_one(records);
    if payload.len() <= MAX_CHUNK_BYTES {
        out.push((payload, records.len()));
        return Ok(());
    }
    if records.len() == 1 {
        return Err(OversizeIndicator {
            value: records[0].value().to_owned(),
            bytes: payload.len(),
        });
    }
    let parts = payload
        .len()
        .div_ceil(TARGET_CHUNK_BYTES)
        .clamp(2, records.len());
    let per = records.len().div_ceil(parts);
    for part in records.chunks(per) {
        encode_range(part, out)?;
    }
    Ok(())
}

/// One payload for `records`, whatever its size.
pub(crate) fn encode_one(records: &[Indicator]) -> Vec<u8> {
    let mut types: Vec<&str> = Vec::new();
    let mut type_ids: HashMap<&str, usize> = HashMap::new();
    let mut sets: Vec<(String, String)> = Vec::new();
    let mut set_ids: HashMap<(String, String), usize> = HashMap::new();
    let mut type_col = Vec::with_capacity(records.len());
    let mut set_col = Vec::with_capacity(records.len());
    let mut values = Vec::with_capacity(records.len() * 24);
    for record in records {
        let kind = record.kind().as_str();
        let next = type_ids.len();
        let t = *type_ids.entry(kind).or_insert_with(|| {
            types.push(kind);
            next
        });
        put_varint(&mut type_col, t as u64);
        let set = field_set(record);
        let s = match set_ids.get(&set) {
            Some(&s) => s,
            None => {
                let s = sets.len();
                sets.push(set.clone());
                set_ids.insert(set, s);
                s
            }
        };
        put_varint(&mut set_col, s as u64);
        put_str(&mut values, record.value());
    }
    let mut raw = Vec::with_capacity(values.len() + type_col.len() + set_col.len() + 256);
    put_varint(&mut raw, records.len() as u64);
    put_varint(&mut raw, types.len() as u64);
    for t in &types {
        put_str(&mut raw, t);
    }
    put_varint(&mut raw, sets.len() as u64);
    for (fields, custom) in &sets {
        put_str(&mut raw, fields);
        put_str(&mut raw, custom);
    }
    raw.extend_from_slice(&values);
    raw.extend_from_slice(&type_col);
    raw.extend_from_slice(&set_col);
    let mut payload = MAGIC.to_vec();
    payload.extend_from_slice(&lz4_flex::block::compress_prepend_size(&raw));
    payload
}

/// The (fields, custom fields) pair as compact JSON; empty strings for absent parts.
fn field_set(record: &Indicator) -> (String, String) {
    let fields = if record.fields().is_empty() {
        String::new()
    } else {
        // A `Map<String, Value>` always serializes.
        serde_json::to_string(record.fields()).unwrap_or_default()
    };
    let custom = match record.custom_fields() {
        Some(c) => serde_json::to_string(c).unwrap_or_default(),
        None => String::new(),
    };
    (fields, custom)
}

/// The decompressed body, checked for the magic.
fn open(payload: &[u8]) -> Result<Vec<u8>, CodecError> {
    let body = payload
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("not a snapshot chunk (bad magic)"))?;
    lz4_flex::block::decompress_size_prepended(body)
        .map_err(|e| bad(format!("chunk does not decompress: {e}")))
}

/// The header shared by both decoders.
struct Header<'a> {
    records: usize,
    types: Vec<&'a str>,
    sets: Vec<(&'a str, &'a str)>,
}

fn header<'a>(r: &mut Reader<'a>) -> Result<Header<'a>, CodecError> {
    let records = r.len()?;
    let n_types = r.len()?;
    let mut types = Vec::with_capacity(n_types.min(1024));
    for _ in 0..n_types {
        types.push(r.str()?);
    }
    let n_sets = r.len()?;
    let mut sets = Vec::with_capacity(n_sets.min(records));
    for _ in 0..n_sets {
        sets.push((r.str()?, r.str()?));
    }
    Ok(Header {
        records,
        types,
        sets,
    })
}

/// Only the values, in order: what a writer needs to index a chunk.
pub(crate) fn decode_values(payload: &[u8]) -> Result<Vec<Box<str>>, CodecError> {
    let raw = open(payload)?;
    let mut r = Reader::new(&raw);
    let h = header(&mut r)?;
    let mut out = Vec::with_capacity(h.records);
    for _ in 0..h.records {
        out.push(Box::from(r.str()?));
    }
    Ok(out)
}

/// Every indicator of a chunk, in order.
pub(crate) fn decode(payload: &[u8]) -> Result<Vec<Indicator>, CodecError> {
    let raw = open(payload)?;
    let mut r = Reader::new(&raw);
    let h = header(&mut r)?;
    let mut values = Vec::with_capacity(h.records);
    for _ in 0..h.records {
        values.push(r.str()?);
    }
    let mut type_col = Vec::with_capacity(h.records);
    for _ in 0..h.records {
        let t = r.len()?;
        if t >= h.types.len() {
            return Err(bad(format!("type index {t} out of range")));
        }
        type_col.push(t);
    }
    let mut set_col = Vec::with_capacity(h.records);
    for _ in 0..h.records {
        let s = r.len()?;
        if s >= h.sets.len() {
            return Err(bad(format!("field set index {s} out of range")));
        }
        set_col.push(s);
    }
    if !r.is_empty() {
        return Err(bad("trailing bytes after the records"));
    }
    let kinds: Vec<IndicatorType> = h
        .types
        .iter()
        .map(|t| match t.parse() {
            Ok(kind) => kind,
            Err(never) => match never {},
        })
        .collect();
    // Each distinct set is parsed once and shared by every indicator that uses it.
    let mut shared = Vec::with_capacity(h.sets.len());
    for (fields, custom) in &h.sets {
        shared.push(SharedFields::new(
            parse_map(fields)?,
            parse_optional_map(custom)?,
        ));
    }
    let mut out = Vec::with_capacity(h.records);
    for ((value, t), s) in values.into_iter().zip(type_col).zip(set_col) {
        out.push(Indicator::with_shared_fields(
            value,
            kinds[t].clone(),
            &shared[s],
        ));
    }
    Ok(out)
}

fn parse_map(text: &str) -> Result<Map<String, Value>, CodecError> {
    if text.is_empty() {
        return Ok(Map::new());
    }
    serde_json::from_str(text).map_err(|e| bad(format!("field set does not parse: {e}")))
}

fn parse_optional_map(text: &str) -> Result<Option<Map<String, Value>>, CodecError> {
    if text.is_empty() {
        return Ok(None);
    }
    parse_map(text).map(Some)
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A cursor over a decompressed body; every read is bounds-checked.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err(bad("varint too long"))
    }

    /// A count or index: bounded by the body size, so corrupt input cannot ask for a huge
    /// allocation.
    fn len(&mut self) -> Result<usize, CodecError> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.buf.len())
            .ok_or_else(|| bad(format!("length {n} exceeds the chunk")))
    }

    fn str(&mut self) -> Result<&'a str, CodecError> {
        let len = self.len()?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| bad("truncated string"))?;
        let s = std::str::from_utf8(&self.buf[self.pos..end])
            .map_err(|_| bad("string is not UTF-8"))?;
        self.pos = end;
        Ok(s)
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
    fn round_trips_values_types_fields_and_custom_fields_in_order() {
        let records = vec![
            ind(json!({"value":"1.1.1.1","type":"IP","fields":{"score":3,"tags":["a"]}})),
            ind(json!({"value":"ex.com","type":"Domain"})),
            ind(json!({"value":"x","type":"custom kind","custom_fields":{"k":{"n":null}}})),
            ind(json!({"value":"1.1.1.2","type":"IP","fields":{"score":3,"tags":["a"]}})),
            ind(json!({"value":"é/ü","type":"URL","fields":{"z":1,"a":2}})),
        ];
        let payloads = encode_chunks(&records).expect("encode");
        assert_eq!(payloads.len(), 1);
        let back = decode(&payloads[0].0).expect("decode");
        assert_eq!(back, records);
        let keys: Vec<&String> = back[4].fields().keys().collect();
        assert_eq!(keys, ["z", "a"], "field order is kept");
        let values = decode_values(&payloads[0].0).expect("values");
        assert_eq!(values[2].as_ref(), "x");
    }

    #[test]
    fn splits_big_runs_into_chunks_under_the_cap() {
        let records = feedgate::sample::indicators(120_000);
        let payloads = encode_chunks(&records).expect("encode");
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for (p, n) in &payloads {
            assert!(p.len() <= MAX_CHUNK_BYTES, "{} bytes", p.len());
            let part = decode(p).expect("decode");
            assert_eq!(part.len(), *n);
            back.extend(part);
        }
        assert_eq!(back, records);
    }

    #[test]
    fn refuses_an_indicator_bigger_than_a_chunk() {
        // Incompressible text: a chunk cannot shrink it below the cap.
        let mut x = 0x1234_5678_u64;
        let noise: String = (0..600_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'!' + (x % 90) as u8)
            })
            .collect();
        let mut fields = Map::new();
        fields.insert("blob".into(), Value::String(noise));
        let big = Indicator::with_fields("v", IndicatorType::Ip, fields, None);
        let err = encode_chunks(&[big]).expect_err("too big");
        assert_eq!(err.value, "v");
    }

    #[test]
    fn rejects_damaged_payloads_without_panicking() {
        let payload = encode_one(&[Indicator::new("a", IndicatorType::Ip)]);
        assert!(decode(b"nope").is_err());
        for cut in 0..payload.len() {
            let _ = decode(&payload[..cut]);
        }
        let mut flipped = payload.clone();
        for i in 4..flipped.len() {
            flipped[i] ^= 0x5a;
            let _ = decode(&flipped);
            flipped[i] ^= 0x5a;
        }
    }
}
