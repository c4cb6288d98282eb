//! A compact binary form of indicator fields (`serde_json` maps), read on every whole-set load.
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
pub(crate) fn encode(map: &Map<String, Value>, out: &mut Vec<u8>) -> Result<(), String> {
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
pub(crate) fn decode(blob: &[u8]) -> Result<Map<String, Value>, String> {
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
        let n = self.count()?;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|e| format!("bad utf-8: {e}"))
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
    }
}
