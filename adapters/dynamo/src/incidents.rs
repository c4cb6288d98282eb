//! Incidents: written with their dedup markers in `TransactWriteItems`, listed by a query on
//! the instance's partition in creation order.

use std::collections::HashSet;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use feedgate::store::{IncidentStore, StoreError, StoreResult, StoredIncident};

use crate::DynamoStore;
use crate::client::{backoff, unavailable};
use crate::ids;
use crate::schema::{self, Item, Reader, SINGLE};

/// Items per transaction (the service limit).
const MAX_TX_ITEMS: usize = 100;
/// Bytes per transaction, below the service's 4 MB with room for keys and names.
const MAX_TX_BYTES: usize = 3_800_000;
/// Incident JSON up to this size is one item; bigger ones are compressed and cut into parts.
const INLINE_BYTES: usize = 350 * 1024;
/// Size of one part of a big incident (binary: moto measures it as base64, 4/3 bigger).
const PART_BYTES: usize = 280 * 1024;
/// Transactions retried after a conflict with a concurrent one.
const TX_ATTEMPTS: u32 = 10;

fn incident_pk(instance: &str) -> String {
    format!("inc#{}", schema::key_part(instance))
}

fn marker_pk(instance: &str, dedup_id: &str) -> String {
    format!(
        "dedup#{}#{}",
        schema::key_part(instance),
        schema::key_part(dedup_id)
    )
}

/// One incident's items: its own (one, or a head plus parts), and its marker if any.
struct Pending {
    index: usize,
    items: Vec<TransactWriteItem>,
    bytes: usize,
}

fn put(table: &str, item: Item, condition: Option<&str>) -> StoreResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(|e| StoreError::Unavailable(format!("transaction put: {e}")))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The writes for `incident`, keyed under a fresh creation-ordered sort key.
fn pending(index: usize, incident: &StoredIncident, table: &str) -> StoreResult<Pending> {
    let json = schema::to_json(incident)?;
    let pk = incident_pk(&incident.instance);
    let sk = ids::ordered_key();
    let mut items = Vec::new();
    let mut bytes = 0;
    let mut head = schema::key(&pk, &sk);
    if json.len() <= INLINE_BYTES {
        bytes += json.len();
        head.insert("json".into(), schema::s(json));
        items.push(head);
    } else {
        let packed = lz4_flex::block::compress_prepend_size(json.as_bytes());
        let parts: Vec<&[u8]> = packed.chunks(PART_BYTES).collect();
        head.insert("parts".into(), schema::n(parts.len()));
        items.push(head);
        for (n, part) in parts.iter().enumerate() {
            let mut item = schema::key(&pk, format!("{sk}#p{n:03}"));
            item.insert("data".into(), schema::b(part.to_vec()));
            bytes += part.len();
            items.push(item);
        }
    }
    let mut writes = items
        .into_iter()
        .map(|i| put(table, i, None))
        .collect::<StoreResult<Vec<_>>>()?;
    if let Some(dedup_id) = &incident.dedup_id {
        let mut marker = schema::key(marker_pk(&incident.instance, dedup_id), SINGLE);
        marker.insert("incident".into(), schema::s(&incident.id));
        writes.push(put(table, marker, Some("attribute_not_exists(pk)"))?);
    }
    if writes.len() > MAX_TX_ITEMS || bytes > MAX_TX_BYTES {
        return Err(StoreError::Rejected(format!(
            "incident {} is too large to store ({bytes} bytes compressed)",
            incident.id
        )));
    }
    Ok(Pending {
        index,
        items: writes,
        bytes: bytes + 200,
    })
}

impl DynamoStore {
    /// Writes `group` in one transaction, dropping incidents whose marker already exists.
    async fn write_group(&self, mut group: Vec<Pending>, created: &mut [bool]) -> StoreResult<()> {
        for attempt in 0..TX_ATTEMPTS {
            if group.is_empty() {
                return Ok(());
            }
            let items: Vec<TransactWriteItem> =
                group.iter().flat_map(|p| p.items.iter().cloned()).collect();
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            let err = match result {
                Ok(_) => {
                    for p in &group {
                        created[p.index] = true;
                    }
                    return Ok(());
                }
                Err(err) => err,
            };
            let reasons = match &err {
                SdkError::ServiceError(service) => match service.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => {
                        c.cancellation_reasons().to_vec()
                    }
                    _ => return Err(unavailable("TransactWriteItems", err)),
                },
                _ => return Err(unavailable("TransactWriteItems", err)),
            };
            // Reasons come one per item, in request order: map them back to incidents.
            let mut duplicate = HashSet::new();
            let mut offset = 0;
            for (g, p) in group.iter().enumerate() {
                let span = offset..offset + p.items.len();
                offset += p.items.len();
                if reasons
                    .get(span)
                    .unwrap_or_default()
                    .iter()
                    .any(|r| r.code() == Some("ConditionalCheckFailed"))
                {
                    duplicate.insert(g);
                }
            }
            if duplicate.is_empty() {
                // Cancelled for another reason (a concurrent transaction on the same marker,
                // throttling): try again after a pause.
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            let mut g = 0;
            group.retain(|_| {
                g += 1;
                !duplicate.contains(&(g - 1))
            });
        }
        Err(StoreError::Unavailable(
            "incident transaction kept being cancelled; retry".into(),
        ))
    }
}

impl IncidentStore for DynamoStore {
    async fn create_incidents(&self, incidents: Vec<StoredIncident>) -> StoreResult<Vec<bool>> {
        let mut created = vec![false; incidents.len()];
        // A later copy of a dedup id in the same request is skipped like a stored one (and one
        // transaction may not touch the same marker twice).
        let mut seen = HashSet::new();
        let mut groups: Vec<Vec<Pending>> = Vec::new();
        let (mut items, mut bytes) = (0, 0);
        for (i, incident) in incidents.iter().enumerate() {
            if let Some(d) = &incident.dedup_id
                && !seen.insert((incident.instance.as_str(), d.as_str()))
            {
                continue;
            }
            let p = pending(i, incident, &self.table)?;
            let fits = items + p.items.len() <= MAX_TX_ITEMS && bytes + p.bytes <= MAX_TX_BYTES;
            if groups.is_empty() || !fits {
                groups.push(Vec::new());
                (items, bytes) = (0, 0);
            }
            items += p.items.len();
            bytes += p.bytes;
            if let Some(g) = groups.last_mut() {
                g.push(p);
            }
        }
        // Body order: a failure leaves earlier groups written and later ones not.
        for group in groups {
            self.write_group(group, &mut created).await?;
        }
        Ok(created)
    }

    async fn list_incidents(&self, instance: &str) -> StoreResult<Vec<StoredIncident>> {
        let pk = incident_pk(instance);
        let items = self.query_partition(&pk).await?;
        let mut out = Vec::new();
        let mut it = items.iter().peekable();
        while let Some(item) = it.next() {
            let r = Reader::new(item, &pk);
            if r.opt_s("json")?.is_some() {
                out.push(r.json("json")?);
                continue;
            }
            let parts: usize = r.num("parts")?;
            let mut packed = Vec::new();
            for _ in 0..parts {
                let part = it
                    .next()
                    .ok_or_else(|| r.corrupt("incident part missing"))?;
                packed.extend_from_slice(Reader::new(part, &pk).b("data")?);
            }
            let json = lz4_flex::block::decompress_size_prepended(&packed)
                .map_err(|e| r.corrupt(format!("incident does not decompress: {e}")))?;
            out.push(
                serde_json::from_slice(&json)
                    .map_err(|e| r.corrupt(format!("incident does not decode: {e}")))?,
            );
        }
        Ok(out)
    }
}
