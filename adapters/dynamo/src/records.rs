//! Small records: instances and Basic credentials, plus the paginated partition query they
//! (and API keys, incidents) are listed with.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use feedgate::auth::Credential;
use feedgate::store::{CredentialStore, InstanceRecord, InstanceStore, StoreError, StoreResult};

use crate::DynamoStore;
use crate::client::unavailable;
use crate::schema::{self, Item, Reader, SINGLE};

/// Partition holding every instance, sorted by name.
const INSTANCES: &str = "instance";

fn credential_pk(instance: Option<&str>) -> String {
    match instance {
        None => "cred#universal".into(),
        Some(name) => format!("cred#instance#{}", schema::key_part(name)),
    }
}

impl DynamoStore {
    /// Every item of partition `pk` in sort-key order, following `LastEvaluatedKey` across
    /// 1 MB pages. Strongly consistent, so a write is listed as soon as it was acknowledged.
    pub(crate) async fn query_partition(&self, pk: &str) -> StoreResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", schema::s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(out),
            }
        }
    }

    /// One item by key, strongly consistent.
    pub(crate) async fn get_one(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(schema::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(out.item)
    }

    /// Deletes one item; returns it as it was, `None` when there was none.
    pub(crate) async fn delete_one(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(schema::key(pk, sk)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem", e))?;
        Ok(out.attributes.filter(|a| !a.is_empty()))
    }

    /// Puts `item` unconditionally; returns the item it replaced.
    pub(crate) async fn put_one(&self, item: Item) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        Ok(out.attributes.filter(|a| !a.is_empty()))
    }

    async fn put_credential(&self, instance: Option<&str>, c: Credential) -> StoreResult<()> {
        let mut item = schema::key(credential_pk(instance), SINGLE);
        item.insert("username".into(), schema::s(c.username()));
        item.insert("password_hash".into(), schema::s(c.password_hash()));
        self.put_one(item).await.map(drop)
    }

    async fn credential(&self, instance: Option<&str>) -> StoreResult<Option<Credential>> {
        let pk = credential_pk(instance);
        let Some(item) = self.get_one(&pk, SINGLE).await? else {
            return Ok(None);
        };
        let r = Reader::new(&item, &pk);
        Ok(Some(Credential::from_hash(
            r.s("username")?,
            r.s("password_hash")?,
        )))
    }
}

fn instance_from_item(item: &Item) -> StoreResult<InstanceRecord> {
    let name = match item.get(schema::SK) {
        Some(AttributeValue::S(s)) => s.as_str(),
        _ => "instance",
    };
    Reader::new(item, name).json("json")
}

impl InstanceStore for DynamoStore {
    async fn put_instance(&self, instance: InstanceRecord) -> StoreResult<()> {
        // The name is the sort key: DynamoDB refuses empty keys and keys over 1 KB.
        if instance.name.is_empty() || instance.name.len() > 1024 {
            return Err(StoreError::Rejected(format!(
                "instance name {:?} cannot be stored",
                instance.name
            )));
        }
        let mut item = schema::key(INSTANCES, instance.name.as_str());
        item.insert("json".into(), schema::s(schema::to_json(&instance)?));
        self.put_one(item).await.map(drop)
    }

    async fn instance(&self, name: &str) -> StoreResult<Option<InstanceRecord>> {
        if name.is_empty() {
            return Ok(None);
        }
        self.get_one(INSTANCES, name)
            .await?
            .as_ref()
            .map(instance_from_item)
            .transpose()
    }

    async fn instances(&self) -> StoreResult<Vec<InstanceRecord>> {
        self.query_partition(INSTANCES)
            .await?
            .iter()
            .map(instance_from_item)
            .collect()
    }

    async fn delete_instance(&self, name: &str) -> StoreResult<bool> {
        if name.is_empty() {
            return Ok(false);
        }
        Ok(self.delete_one(INSTANCES, name).await?.is_some())
    }
}

impl CredentialStore for DynamoStore {
    async fn set_universal(&self, credential: Credential) -> StoreResult<()> {
        self.put_credential(None, credential).await
    }

    async fn universal(&self) -> StoreResult<Option<Credential>> {
        self.credential(None).await
    }

    async fn set_instance_credential(
        &self,
        instance: &str,
        credential: Credential,
    ) -> StoreResult<()> {
        self.put_credential(Some(instance), credential).await
    }

    async fn instance_credential(&self, instance: &str) -> StoreResult<Option<Credential>> {
        self.credential(Some(instance)).await
    }
}
