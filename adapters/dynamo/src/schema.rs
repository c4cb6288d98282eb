//! Item keys and attribute helpers: the one place that spells the table's key layout.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use feedgate::store::StoreError;
use sha2::{Digest, Sha256};

/// Partition key attribute (S).
pub(crate) const PK: &str = "pk";
/// Sort key attribute (S).
pub(crate) const SK: &str = "sk";
/// TTL attribute (N, Unix seconds): only nonces carry it.
pub(crate) const TTL: &str = "expires_at";
/// Sort key of items that are alone in their partition.
pub(crate) const SINGLE: &str = "_";

/// An item as the SDK sees it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// Key parts longer than this are replaced by their SHA-256: DynamoDB caps a partition key
/// at 2048 bytes and a sort key at 1024, and dedup ids or nonces come from clients.
const MAX_KEY_PART: usize = 512;

/// `text`, or `sha256:<hex>` of it when too long to be part of a key. The prefix keeps a
/// hashed part from colliding with a literal one (literal parts never start with it unless
/// long, and long ones are always hashed).
pub(crate) fn key_part(text: &str) -> String {
    if text.len() <= MAX_KEY_PART && !text.starts_with("sha256:") {
        text.to_owned()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
    }
}

/// The primary key `{pk, sk}`.
pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk.into())),
        (SK.to_owned(), AttributeValue::S(sk.into())),
    ])
}

/// String attribute.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Number attribute.
pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Binary attribute.
pub(crate) fn b(v: impl Into<Vec<u8>>) -> AttributeValue {
    AttributeValue::B(Blob::new(v))
}

/// Reads typed attributes of one stored item, naming the item in every error.
pub(crate) struct Reader<'a> {
    item: &'a Item,
    name: &'a str,
}

impl<'a> Reader<'a> {
    /// A reader over `item`, called `name` in errors.
    pub(crate) fn new(item: &'a Item, name: &'a str) -> Self {
        Self { item, name }
    }

    /// An error about this item.
    pub(crate) fn corrupt(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            key: self.name.to_owned(),
            reason: reason.into(),
        }
    }

    /// A string attribute, `None` when absent.
    pub(crate) fn opt_s(&self, attr: &str) -> Result<Option<&'a str>, StoreError> {
        match self.item.get(attr) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(_) => Err(self.corrupt(format!("attribute {attr} is not a string"))),
        }
    }

    /// A required string attribute.
    pub(crate) fn s(&self, attr: &str) -> Result<&'a str, StoreError> {
        self.opt_s(attr)?
            .ok_or_else(|| self.corrupt(format!("attribute {attr} is missing")))
    }

    /// A required number attribute.
    pub(crate) fn num<T: std::str::FromStr>(&self, attr: &str) -> Result<T, StoreError> {
        match self.item.get(attr) {
            Some(AttributeValue::N(v)) => v
                .parse()
                .map_err(|_| self.corrupt(format!("attribute {attr} is not a valid number"))),
            Some(_) => Err(self.corrupt(format!("attribute {attr} is not a number"))),
            None => Err(self.corrupt(format!("attribute {attr} is missing"))),
        }
    }

    /// A binary attribute, `None` when absent.
    pub(crate) fn opt_b(&self, attr: &str) -> Result<Option<&'a [u8]>, StoreError> {
        match self.item.get(attr) {
            None => Ok(None),
            Some(AttributeValue::B(v)) => Ok(Some(v.as_ref())),
            Some(_) => Err(self.corrupt(format!("attribute {attr} is not binary"))),
        }
    }

    /// A required binary attribute.
    pub(crate) fn b(&self, attr: &str) -> Result<&'a [u8], StoreError> {
        self.opt_b(attr)?
            .ok_or_else(|| self.corrupt(format!("attribute {attr} is missing")))
    }

    /// A boolean attribute, `false` when absent.
    pub(crate) fn flag(&self, attr: &str) -> Result<bool, StoreError> {
        match self.item.get(attr) {
            None => Ok(false),
            Some(AttributeValue::Bool(v)) => Ok(*v),
            Some(_) => Err(self.corrupt(format!("attribute {attr} is not a boolean"))),
        }
    }

    /// A JSON document stored in string attribute `attr`.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, attr: &str) -> Result<T, StoreError> {
        serde_json::from_str(self.s(attr)?)
            .map_err(|e| self.corrupt(format!("attribute {attr} does not decode: {e}")))
    }
}

/// `value` as JSON text for a string attribute.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Rejected(format!("record does not encode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_or_prefixed_key_parts_are_hashed() {
        assert_eq!(key_part("abc"), "abc");
        let long = "x".repeat(600);
        assert!(key_part(&long).starts_with("sha256:"));
        assert_eq!(key_part(&long).len(), 7 + 64);
        assert_ne!(key_part("sha256:abc"), "sha256:abc");
    }
}
