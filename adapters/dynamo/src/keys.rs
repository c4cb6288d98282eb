//! API-key metadata (ids from a conditional counter, never reused) and the nonce replay store.

use aws_sdk_dynamodb::types::ReturnValue;
use feedgate::instant::Instant;
use feedgate::store::{ApiKeyRecord, KeyStore, StoreError, StoreResult};

use crate::DynamoStore;
use crate::client::unavailable;
use crate::schema::{self, Item, Reader, SINGLE};

/// Partition of every key record, sorted by zero-padded id.
const KEYS: &str = "apikey";
/// The id counter.
const COUNTER: &str = "apikey#counter";
/// Ids allocated before giving up (each refused one was taken by an explicit id).
const MAX_ALLOCATIONS: u32 = 64;

/// Canonical decimal ids only (`0`, `42`; not `007`, `-1`, `x`), as the embedded store: a
/// second spelling of an id would dodge the never-reuse rule.
fn parse_id(text: &str) -> StoreResult<i64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    match text.parse::<i64>() {
        Ok(id) if canonical => Ok(id),
        _ => Err(StoreError::Rejected(format!(
            "api key id {text:?} is not a canonical decimal number"
        ))),
    }
}

/// The sort key of id `id`: zero-padded so the partition sorts numerically.
fn key_sk(id: i64) -> String {
    format!("{id:020}")
}

fn record_from_item(item: &Item) -> StoreResult<ApiKeyRecord> {
    let r = Reader::new(item, "api key");
    let mut record: ApiKeyRecord = r.json("json")?;
    // Revocation is an in-place update of these two attributes, so they win over the JSON.
    if r.flag("revoked")? {
        record.revoked = true;
        record.revoked_at = r.opt_s("revoked_at")?.map(str::to_owned);
    }
    Ok(record)
}

impl DynamoStore {
    /// Puts `record` under `id` unless any record ever held that id. `Ok(false)`: taken.
    async fn put_new_key(&self, id: i64, record: &mut ApiKeyRecord) -> StoreResult<bool> {
        record.id = id.to_string();
        let mut item = schema::key(KEYS, key_sk(id));
        item.insert("json".into(), schema::s(schema::to_json(&*record)?));
        if record.revoked {
            item.insert(
                "revoked".into(),
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            );
            if let Some(at) = &record.revoked_at {
                item.insert("revoked_at".into(), schema::s(at));
            }
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable("PutItem (api key)", e)),
        }
    }

    /// The next id from the counter: an atomic `ADD`, so two creators never get the same one.
    async fn next_id(&self) -> StoreResult<i64> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(schema::key(COUNTER, SINGLE)))
            .update_expression("ADD next_id :one")
            .expression_attribute_values(":one", schema::n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| unavailable("UpdateItem (api key counter)", e))?;
        let attrs = out.attributes.unwrap_or_default();
        Reader::new(&attrs, COUNTER).num("next_id")
    }
}

impl KeyStore for DynamoStore {
    async fn create_key(&self, mut record: ApiKeyRecord) -> StoreResult<ApiKeyRecord> {
        if !record.id.is_empty() {
            let id = parse_id(&record.id)?;
            if !self.put_new_key(id, &mut record).await? {
                return Err(StoreError::Rejected(format!(
                    "api key id {id} was already used"
                )));
            }
            return Ok(record);
        }
        // An id the counter hands out may have been taken by an explicit id: skip it.
        for _ in 0..MAX_ALLOCATIONS {
            let id = self.next_id().await?;
            if self.put_new_key(id, &mut record).await? {
                return Ok(record);
            }
        }
        Err(StoreError::Unavailable(
            "could not allocate an unused api key id".into(),
        ))
    }

    async fn key(&self, id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let Ok(id) = parse_id(id) else {
            return Ok(None);
        };
        self.get_one(KEYS, &key_sk(id))
            .await?
            .as_ref()
            .map(record_from_item)
            .transpose()
    }

    async fn keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        self.query_partition(KEYS)
            .await?
            .iter()
            .map(record_from_item)
            .collect()
    }

    async fn revoke_key(&self, id: &str, at: Instant) -> StoreResult<bool> {
        let Ok(id) = parse_id(id) else {
            return Ok(false);
        };
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(schema::key(KEYS, key_sk(id))))
            // Revoking twice keeps the first revocation time.
            .update_expression("SET revoked = :yes, revoked_at = if_not_exists(revoked_at, :at)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(
                ":yes",
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            )
            .expression_attribute_values(":at", schema::s(at.to_rfc3339_millis()))
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable("UpdateItem (revoke api key)", e)),
        }
    }

    async fn record_nonce(
        &self,
        id: &str,
        nonce: &str,
        expires_at_s: i64,
        now_s: i64,
    ) -> StoreResult<bool> {
        let pk = format!("nonce#{}#{}", schema::key_part(id), schema::key_part(nonce));
        let mut item = schema::key(pk, SINGLE);
        item.insert(schema::TTL.into(), schema::n(expires_at_s));
        // One conditional put: DynamoDB's TTL deletes lazily, so an expired record may still
        // be there and must count as absent.
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", schema::n(now_s))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable("PutItem (nonce)", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_canonical_decimal_ids() {
        for good in ["0", "1", "42", "9223372036854775807"] {
            assert!(parse_id(good).is_ok(), "{good}");
        }
        for bad in ["", "007", "-1", "x", "1.0", "9223372036854775808"] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sort_keys_order_ids_numerically() {
        assert!(key_sk(9) < key_sk(10));
        assert!(key_sk(99) < key_sk(100));
    }
}
