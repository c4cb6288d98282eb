//! A compact binary form of indicator fields (`serde_json` maps), read on every whole-set load.
//!
//! Stores keep fields in this form, and a loaded [`Indicator`](crate::Indicator) keeps the
//! bytes as they came: a blob is checked once ([`validate`], no allocation) and decoded into
//! maps only when something reads the fields (a query on them, `fi`, CSV/JSON). The text
//! formats never do, so a load allocates three times per indicator instead of once per map,
//! array and string.
//!
//! Why not JSON text: a load decodes a million maps, and the time goes into parsing and into
//! allocations. This form carries every length up front, so the decoder allocates each map,
//! array and string once at its exact size (JSON decoding grows them, leaving spare capacity
//! that a million indicators turn into hundreds of megabytes) and never scans for quotes or
//! escapes. Values round-trip exactly: key order, integers vs floats, nesting.
//!
//! Layout: a format byte ([`FORMAT`]), then a map. Map: count, then (key, value) pairs.
//! Key and string: length, then UTF-8 bytes. Value: a tag byte, then its payload. Counts and
//! lengths are LEB128 varints.

use std::io::{self, Write};

use serde_json::{Map, Number, Value};

/// The first byte of every encoded blob; a new layout gets a new byte.
const FORMAT: u8 = 1;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const UINT: u8 = 3;
const NEG_INT: u8 = 4;
const FLOAT: u8 = 5;
const STRING: u8 = 6;
const ARRAY: u8 = 7;
const OBJECT: u8 = 8;

/// Nesting deeper than this is refused on decode, so a damaged blob cannot overflow the stack.
const MAX_DEPTH: usize = 128;

/// Appends the encoding of `map` to `out`. Fails only for a number that is neither an integer
/// nor a finite float, which `serde_json` does not produce without `arbitrary_precision`.
pub fn encode(map: &Map<String, Value>, out: &mut Vec<u8>) -> Result<(), String> {
    out.push(FORMAT);
    encode_map(map, out)
}

fn encode_map(map: &Map<String, Value>, out: &mut Vec<u8>) -> Result<(), String> {
    varint(map.len() as u64, out);
    for (key, value) in map {
        bytes(key.as_bytes(), out);
        encode_value(value, out)?;
    }
    Ok(())
}

fn encode_value(value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    match value {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(UINT);
                varint(u, out);
            } else if let Some(i) = n.as_i64() {
                out.push(NEG_INT);
                // Negative: store the magnitude minus one, so i64::MIN fits.
                varint(!(i as u64), out);
            } else if let Some(f) = n.as_f64() {
                out.push(FLOAT);
                out.extend_from_slice(&f.to_le_bytes());
            } else {
                return Err(format!("number {n} has no binary form"));
            }
        }
        Value::String(s) => {
            out.push(STRING);
            bytes(s.as_bytes(), out);
        }
        Value::Array(items) => {
            out.push(ARRAY);
            varint(items.len() as u64, out);
            for item in items {
                encode_value(item, out)?;
            }
        }
        Value::Object(map) => {
            out.push(OBJECT);
            encode_map(map, out)?;
        }
    }
    Ok(())
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn bytes(b: &[u8], out: &mut Vec<u8>) {
    varint(b.len() as u64, out);
    out.extend_from_slice(b);
}

/// Decodes a blob written by [`encode`]. Any damage (truncation, bad UTF-8, unknown tags,
/// trailing bytes) is an error, never a panic.
pub fn decode(blob: &[u8]) -> Result<Map<String, Value>, String> {
    let mut reader = Reader { rest: blob };
    match reader.byte()? {
        FORMAT => {}
        other => return Err(format!("unknown fields format {other}")),
    }
    let map = reader.map(0)?;
    if reader.rest.is_empty() {
        Ok(map)
    } else {
        Err(format!("{} trailing bytes", reader.rest.len()))
    }
}

/// Checks that `blob` is a whole, well-formed encoding (as [`decode`] would accept) without
/// allocating.
pub fn validate(blob: &[u8]) -> Result<(), String> {
    let mut reader = Reader { rest: blob };
    match reader.byte()? {
        FORMAT => {}
        other => return Err(format!("unknown fields format {other}")),
    }
    let n = reader.count()?;
    for _ in 0..n {
        reader.str()?;
        reader.skip_value(1)?;
    }
    if reader.rest.is_empty() {
        Ok(())
    } else {
        Err(format!("{} trailing bytes", reader.rest.len()))
    }
}

/// The top-level entries of a blob in stored order, without decoding them. Stops early on a
/// damaged blob; call [`validate`] first to know it is whole.
pub fn entries(blob: &[u8]) -> Entries<'_> {
    let mut reader = Reader { rest: blob };
    let left = match reader.byte() {
        Ok(FORMAT) => reader.count().unwrap_or(0),
        _ => 0,
    };
    Entries { reader, left }
}

/// Iterator over the top-level `(key, value)` pairs of a blob.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    reader: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a str, Raw<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let entry = (|| {
            let key = self.reader.str()?;
            let start = self.reader.rest;
            self.reader.skip_value(1)?;
            let len = start.len() - self.reader.rest.len();
            Ok::<_, String>((
                key,
                Raw {
                    bytes: &start[..len],
                },
            ))
        })();
        if entry.is_err() {
            self.left = 0;
        }
        entry.ok()
    }
}

/// One encoded value, borrowed from its blob.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a> {
    bytes: &'a [u8],
}

impl<'a> Raw<'a> {
    /// The string, when the value is one.
    pub fn as_str(&self) -> Option<&'a str> {
        let mut reader = Reader { rest: self.bytes };
        match reader.byte() {
            Ok(STRING) => reader.str().ok(),
            _ => None,
        }
    }

    /// The decoded value (`Null` for a damaged one, which a validated blob never has).
    pub fn to_value(&self) -> Value {
        Reader { rest: self.bytes }.value(1).unwrap_or(Value::Null)
    }

    /// Writes the value as compact JSON, byte for byte what `serde_json` writes for the
    /// decoded value.
    pub fn write_json<W: Write>(&self, out: &mut W) -> io::Result<()> {
        let mut reader = Reader { rest: self.bytes };
        reader.write_json(out, 1).map_err(io::Error::other)
    }
}

/// Writes a whole blob as a compact JSON object, as `serde_json` writes the decoded map.
pub fn write_json_object<W: Write>(blob: &[u8], out: &mut W) -> io::Result<()> {
    let mut reader = Reader { rest: blob };
    match reader.byte() {
        Ok(FORMAT) => reader.write_json_map(out, 1).map_err(io::Error::other),
        _ => Err(io::Error::other("unknown fields format")),
    }
}

/// Why writing JSON from a blob stopped.
#[derive(Debug)]
enum WriteError {
    Blob(String),
    Io(io::Error),
}

impl From<String> for WriteError {
    fn from(e: String) -> Self {
        Self::Blob(e)
    }
}

impl From<&str> for WriteError {
    fn from(e: &str) -> Self {
        Self::Blob(e.to_owned())
    }
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<serde_json::Error> for WriteError {
    fn from(e: serde_json::Error) -> Self {
        Self::Io(e.into())
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Blob(e) => write!(f, "damaged fields: {e}"),
            Self::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for WriteError {}

#[derive(Debug, Clone)]
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let (&b, rest) = self.rest.split_first().ok_or("truncated")?;
        self.rest = rest;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.rest.len() {
            return Err("truncated".into());
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("varint too long".into())
    }

    /// A count of items still to come; each needs at least one byte, which bounds the
    /// allocation a damaged count can ask for.
    fn count(&mut self) -> Result<usize, String> {
        let n = self.varint()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.rest.len() => Ok(n),
            _ => Err(format!("count {n} exceeds the blob")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.str().map(str::to_owned)
    }

    fn str(&mut self) -> Result<&'a str, String> {
        let n = self.count()?;
        let b = self.take(n)?;
        std::str::from_utf8(b).map_err(|e| format!("bad utf-8: {e}"))
    }

    fn skip_value(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("nesting too deep".into());
        }
        match self.byte()? {
            NULL | FALSE | TRUE => {}
            UINT | NEG_INT => {
                self.varint()?;
            }
            FLOAT => {
                let raw: [u8; 8] = self.take(8)?.try_into().map_err(|_| "truncated")?;
                if !f64::from_le_bytes(raw).is_finite() {
                    return Err("non-finite float".into());
                }
            }
            STRING => {
                self.str()?;
            }
            ARRAY => {
                let n = self.count()?;
                for _ in 0..n {
                    self.skip_value(depth + 1)?;
                }
            }
            OBJECT => {
                let n = self.count()?;
                for _ in 0..n {
                    self.str()?;
                    self.skip_value(depth + 1)?;
                }
            }
            tag => return Err(format!("unknown value tag {tag}")),
        }
        Ok(())
    }

    fn write_json<W: Write>(&mut self, out: &mut W, depth: usize) -> Result<(), WriteError> {
        if depth > MAX_DEPTH {
            return Err(WriteError::Blob("nesting too deep".into()));
        }
        match self.byte()? {
            NULL => out.write_all(b"null")?,
            FALSE => out.write_all(b"false")?,
            TRUE => out.write_all(b"true")?,
            UINT => serde_json::to_writer(&mut *out, &self.varint()?)?,
            NEG_INT => serde_json::to_writer(&mut *out, &(!self.varint()? as i64))?,
            FLOAT => {
                let raw: [u8; 8] = self.take(8)?.try_into().map_err(|_| "truncated")?;
                let n = Number::from_f64(f64::from_le_bytes(raw)).ok_or("non-finite float")?;
                serde_json::to_writer(&mut *out, &n)?;
            }
            STRING => serde_json::to_writer(&mut *out, self.str()?)?,
            ARRAY => {
                let n = self.count()?;
                out.write_all(b"[")?;
                for i in 0..n {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    self.write_json(out, depth + 1)?;
                }
                out.write_all(b"]")?;
            }
            OBJECT => self.write_json_map(out, depth + 1)?,
            tag => return Err(WriteError::Blob(format!("unknown value tag {tag}"))),
        }
        Ok(())
    }

    fn write_json_map<W: Write>(&mut self, out: &mut W, depth: usize) -> Result<(), WriteError> {
        let n = self.count()?;
        out.write_all(b"{")?;
        for i in 0..n {
            if i > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, self.str()?)?;
            out.write_all(b":")?;
            self.write_json(out, depth)?;
        }
        out.write_all(b"}")?;
        Ok(())
    }

    fn map(&mut self, depth: usize) -> Result<Map<String, Value>, String> {
        let n = self.count()?;
        let mut map = Map::with_capacity(n);
        for _ in 0..n {
            let key = self.string()?;
            let value = self.value(depth + 1)?;
            map.insert(key, value);
        }
        Ok(map)
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("nesting too deep".into());
        }
        Ok(match self.byte()? {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            UINT => Value::Number(self.varint()?.into()),
            NEG_INT => Value::Number((!self.varint()? as i64).into()),
            FLOAT => {
                let raw: [u8; 8] = self.take(8)?.try_into().map_err(|_| "truncated")?;
                let f = f64::from_le_bytes(raw);
                Value::Number(Number::from_f64(f).ok_or("non-finite float")?)
            }
            STRING => Value::String(self.string()?),
            ARRAY => {
                let n = self.count()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            OBJECT => Value::Object(self.map(depth + 1)?),
            tag => return Err(format!("unknown value tag {tag}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(value: Value) {
        let Value::Object(map) = value else {
            panic!("test input must be an object");
        };
        let mut blob = Vec::new();
        encode(&map, &mut blob).expect("encodes");
        let back = decode(&blob).expect("decodes");
        assert_eq!(back, map);
        validate(&blob).expect("valid");
        // Written straight from the blob, JSON is what serde_json writes for the map.
        let mut json = Vec::new();
        write_json_object(&blob, &mut json).expect("writes");
        assert_eq!(
            String::from_utf8(json).expect("utf-8"),
            serde_json::to_string(&map).expect("json")
        );
        let listed: Vec<(String, Value)> = entries(&blob)
            .map(|(k, v)| (k.to_owned(), v.to_value()))
            .collect();
        let expected: Vec<(String, Value)> =
            map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(listed, expected);
        for (key, raw) in entries(&blob) {
            assert_eq!(raw.as_str(), map[key].as_str());
            let mut one = Vec::new();
            raw.write_json(&mut one).expect("writes");
            assert_eq!(one, serde_json::to_vec(&map[key]).expect("json"));
        }
        // Same key order, and numbers keep their kind (1 vs 1.0) through text as well.
        assert_eq!(
            serde_json::to_string(&back).expect("json"),
            serde_json::to_string(&map).expect("json")
        );
    }

    #[test]
    fn round_trips_every_kind_of_value_in_order() {
        round_trip(json!({
            "z": null, "a": true, "m": false, "u": 0, "big": u64::MAX, "neg": -1,
            "min": i64::MIN, "f": 1.0, "pi": -3.25e-300, "s": "", "uni": "ünï\u{0}\"\\",
            "arr": [1, "two", [3], {"four": 4}], "obj": {"b": 1, "a": {"deep": []}}, "e": {}
        }));
        round_trip(json!({}));
    }

    #[test]
    fn rejects_damaged_blobs_without_panicking() {
        let mut blob = Vec::new();
        let Value::Object(map) = json!({"key": ["value", 12345678, {"x": 1.5}]}) else {
            unreachable!()
        };
        encode(&map, &mut blob).expect("encodes");
        for cut in 0..blob.len() {
            assert!(decode(&blob[..cut]).is_err(), "prefix of {cut} bytes");
            assert!(validate(&blob[..cut]).is_err(), "prefix of {cut} bytes");
            assert!(write_json_object(&blob[..cut], &mut Vec::new()).is_err());
        }
        let mut trailing = blob.clone();
        trailing.push(0);
        assert!(decode(&trailing).is_err());
        assert!(decode(&[2, 0]).is_err(), "unknown format");
        assert!(decode(&[FORMAT, 1, 1, b'k', 99]).is_err(), "unknown tag");
        assert!(
            decode(&[FORMAT, 1, 1, 0xff, NULL]).is_err(),
            "bad utf-8 key"
        );
        assert!(
            decode(&[FORMAT, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err(),
            "huge count"
        );
        let mut deep = vec![FORMAT, 1, 1, b'k'];
        deep.extend(std::iter::repeat_n([ARRAY, 1], 1000).flatten());
        deep.push(NULL);
        assert!(decode(&deep).is_err(), "deep nesting");
        assert!(validate(&deep).is_err(), "deep nesting");
        for bad in [
            &trailing[..],
            &[2, 0],
            &[FORMAT, 1, 1, b'k', 99],
            &[FORMAT, 1, 1, 0xff, NULL],
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        let nan = f64::NAN.to_le_bytes();
        let mut with_nan = vec![FORMAT, 1, 1, b'k', FLOAT];
        with_nan.extend_from_slice(&nan);
        assert!(validate(&with_nan).is_err() && decode(&with_nan).is_err());
    }
}
