//! Published lists: inline in one item when small, else parts under a generation that the
//! head item names (swapped in one put, old parts deleted after).

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use bytes::{Bytes, BytesMut};
use feedgate::store::{ListStore, StoreError, StoreResult};

use crate::DynamoStore;
use crate::batch::{self, put_request};
use crate::client::backoff;
use crate::ids;
use crate::schema::{self, Item, Reader, SINGLE};

/// The largest list the store accepts: a sanity cap far above the 4 MiB publish-list rule
/// (integrations.md §6.2), which the admin commands enforce; the port takes any size.
pub const MAX_LIST_BYTES: usize = 64 * 1024 * 1024;
/// Content up to this size lives in the head item; bigger content is cut into parts of it
/// (under 400 KB even as moto measures binary attributes: by their base64 text).
const PART_BYTES: usize = 280 * 1024;
/// Reads retried when the list was replaced while its parts were being read.
const READ_ATTEMPTS: u32 = 5;

fn list_pk(name: &str) -> String {
    format!("list#{}", schema::key_part(name))
}

fn part_sk(gen_id: &str, n: usize) -> String {
    format!("part#{gen_id}#{n:05}")
}

/// Where a list's content is.
enum Head {
    Inline(Bytes),
    Parts { gen_id: String, parts: usize },
}

fn head_from_item(item: &Item, pk: &str) -> StoreResult<Head> {
    let r = Reader::new(item, pk);
    if let Some(gen_id) = r.opt_s("gen")? {
        return Ok(Head::Parts {
            gen_id: gen_id.to_owned(),
            parts: r.num("parts")?,
        });
    }
    Ok(Head::Inline(Bytes::copy_from_slice(
        r.opt_b("data")?.unwrap_or_default(),
    )))
}

impl DynamoStore {
    /// Deletes the parts an old head named; garbage if it fails, so only logged.
    async fn delete_parts(&self, pk: &str, old: Option<Item>) {
        let Some(Ok(Head::Parts { gen_id, parts })) = old.map(|o| head_from_item(&o, pk)) else {
            return;
        };
        let requests = (0..parts)
            .filter_map(|n| {
                let key = schema::key(pk, part_sk(&gen_id, n));
                let delete = DeleteRequest::builder().set_key(Some(key)).build().ok()?;
                Some(WriteRequest::builder().delete_request(delete).build())
            })
            .collect();
        if let Err(e) = batch::write(&self.client, &self.table, requests).await {
            tracing::warn!(error = %e, list = pk, "could not delete replaced list parts");
        }
    }
}

impl ListStore for DynamoStore {
    async fn put_list(&self, name: &str, content: Bytes) -> StoreResult<()> {
        if content.len() > MAX_LIST_BYTES {
            return Err(StoreError::Rejected(format!(
                "list {name:?} is {} bytes; the limit is {MAX_LIST_BYTES}",
                content.len()
            )));
        }
        let pk = list_pk(name);
        let mut head = schema::key(&pk, SINGLE);
        head.insert("size".into(), schema::n(content.len()));
        if content.len() <= PART_BYTES {
            if !content.is_empty() {
                head.insert("data".into(), schema::b(content.to_vec()));
            }
        } else {
            let gen_id = ids::token();
            let mut puts = Vec::new();
            for (n, part) in content.chunks(PART_BYTES).enumerate() {
                let mut item = schema::key(&pk, part_sk(&gen_id, n));
                item.insert("data".into(), schema::b(part.to_vec()));
                puts.push(put_request(item)?);
            }
            let parts = puts.len();
            if let Err(e) = batch::write(&self.client, &self.table, puts).await {
                let orphan = Head::Parts { gen_id, parts };
                self.delete_parts(&pk, Some(head_item(&pk, orphan))).await;
                return Err(e);
            }
            head.insert("gen".into(), schema::s(gen_id));
            head.insert("parts".into(), schema::n(parts));
        }
        // The head swap is the commit; the parts it replaced are unreachable from now on.
        let old = self.put_one(head).await?;
        self.delete_parts(&pk, old).await;
        Ok(())
    }

    async fn get_list(&self, name: &str) -> StoreResult<Option<Bytes>> {
        let pk = list_pk(name);
        for attempt in 0..READ_ATTEMPTS {
            let Some(item) = self.get_one(&pk, SINGLE).await? else {
                return Ok(None);
            };
            let (gen_id, parts) = match head_from_item(&item, &pk)? {
                Head::Inline(data) => return Ok(Some(data)),
                Head::Parts { gen_id, parts } => (gen_id, parts),
            };
            let keys = (0..parts)
                .map(|n| schema::key(&pk, part_sk(&gen_id, n)))
                .collect();
            let items = batch::get(&self.client, &self.table, keys, 25, true).await?;
            let mut found: Vec<Option<Bytes>> = vec![None; parts];
            for item in &items {
                let r = Reader::new(item, &pk);
                let sk = r.s(schema::SK)?;
                let n: usize = sk
                    .rsplit('#')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n < parts)
                    .ok_or_else(|| r.corrupt(format!("unexpected part key {sk}")))?;
                found[n] = Some(Bytes::copy_from_slice(r.b("data")?));
            }
            if found.iter().all(Option::is_some) {
                let mut out = BytesMut::new();
                for part in found.into_iter().flatten() {
                    out.extend_from_slice(&part);
                }
                return Ok(Some(out.freeze()));
            }
            // A part is gone: the list was replaced while we read it.
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(StoreError::Unavailable(format!(
            "list {name:?} kept changing while being read; retry"
        )))
    }

    async fn delete_list(&self, name: &str) -> StoreResult<bool> {
        let pk = list_pk(name);
        let old = self.delete_one(&pk, SINGLE).await?;
        let existed = old.is_some();
        self.delete_parts(&pk, old).await;
        Ok(existed)
    }
}

/// A head item naming `head`'s parts (used to clean up parts that were never committed).
fn head_item(pk: &str, head: Head) -> Item {
    let mut item = schema::key(pk, SINGLE);
    if let Head::Parts { gen_id, parts } = head {
        item.insert("gen".into(), schema::s(gen_id));
        item.insert("parts".into(), schema::n(parts));
    }
    item
}
