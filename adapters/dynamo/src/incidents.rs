//! Incidents: written with their dedup markers in `TransactWriteItems`, listed by a query on
//! the instance's partition in creation order.
//!
//! # Sample buffers
//!
//! An instance's buffer lives in partition `sample#<instance>`: a head item (`sk = "_"`) with
//! `samples` L (refs, oldest first) and `version` N, and one item per sample, encoded like an
//! incident (inline `json`, or `parts` N plus LZ4 parts), under a fresh creation-ordered sort
//! key. A ref is that sort key, followed by `/<parts>` for a big sample. The bodies are
//! separate items so 20 incidents of any size (each up to what a transaction takes) fit: the
//! head stays a few kilobytes, far below the 400 KB item limit.
//!
//! An append writes its bodies first (`BatchWriteItem`), then commits with one `UpdateItem`:
//! `SET samples = list_append(samples, :new) ADD version :1`, which DynamoDB applies
//! atomically, so concurrent appends (other processes, other Lambdas) never overwrite one
//! another and need no retry loop. When the list it got back is longer than [`SAMPLE_LIMIT`],
//! the appender trims it to the newest refs with an `UpdateItem` conditioned on the version it
//! created; if another append came in between, that one trims instead. Trimmed bodies are
//! deleted after the trim. A reader takes the newest [`SAMPLE_LIMIT`] refs (a failed trim only
//! leaves extra refs until the next append) and reads their bodies with `BatchGetItem`; a
//! body trimmed away meanwhile makes it read the head again.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Put, ReturnValue, TransactWriteItem, WriteRequest,
};
use feedgate::store::{IncidentStore, SAMPLE_LIMIT, StoreError, StoreResult, StoredIncident};

use crate::DynamoStore;
use crate::batch::{self, put_request};
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
/// Sample-buffer reads retried when the buffer moved on while its bodies were being read.
const SAMPLE_READ_ATTEMPTS: u32 = 5;
/// Sample bodies per `BatchGetItem`: parts are up to 280 KB, so 25 stay far below 16 MB.
const SAMPLE_KEYS_PER_GET: usize = 25;
/// Head attributes of a sample buffer.
const SAMPLES: &str = "samples";
const VERSION: &str = "version";

fn incident_pk(instance: &str) -> String {
    format!("inc#{}", schema::key_part(instance))
}

fn sample_pk(instance: &str) -> String {
    format!("sample#{}", schema::key_part(instance))
}

/// The sort key of part `n` of the incident (or sample) under `sk`.
fn part_sk(sk: &str, n: usize) -> String {
    format!("{sk}#p{n:03}")
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

/// The items storing `incident` under `(pk, sk)`: one with its JSON, or for a big one a head
/// naming the number of parts and the parts (compressed JSON); with the payload bytes.
fn incident_items(
    pk: &str,
    sk: &str,
    incident: &StoredIncident,
) -> StoreResult<(Vec<Item>, usize)> {
    let json = schema::to_json(incident)?;
    let mut items = Vec::new();
    let mut bytes = 0;
    let mut head = schema::key(pk, sk);
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
            let mut item = schema::key(pk, part_sk(sk, n));
            item.insert("data".into(), schema::b(part.to_vec()));
            bytes += part.len();
            items.push(item);
        }
    }
    Ok((items, bytes))
}

/// How many parts follow an incident's head item (0: the JSON is inline).
fn part_count(head: &Item, pk: &str) -> StoreResult<usize> {
    let r = Reader::new(head, pk);
    if r.opt_s("json")?.is_some() {
        Ok(0)
    } else {
        r.num("parts")
    }
}

/// An incident from its head item and its parts in order.
fn decode_incident(head: &Item, parts: &[&Item], pk: &str) -> StoreResult<StoredIncident> {
    let r = Reader::new(head, pk);
    if r.opt_s("json")?.is_some() {
        return r.json("json");
    }
    let mut packed = Vec::new();
    for part in parts {
        packed.extend_from_slice(Reader::new(part, pk).b("data")?);
    }
    let json = lz4_flex::block::decompress_size_prepended(&packed)
        .map_err(|e| r.corrupt(format!("incident does not decompress: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| r.corrupt(format!("incident does not decode: {e}")))
}

/// The writes for `incident`, keyed under a fresh creation-ordered sort key.
fn pending(index: usize, incident: &StoredIncident, table: &str) -> StoreResult<Pending> {
    let pk = incident_pk(&incident.instance);
    let (items, bytes) = incident_items(&pk, &ids::ordered_key(), incident)?;
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
        let mut it = items.iter();
        while let Some(head) = it.next() {
            let count = part_count(head, &pk)?;
            let parts: Vec<&Item> = it.by_ref().take(count).collect();
            if parts.len() < count {
                return Err(Reader::new(head, &pk).corrupt("incident part missing"));
            }
            out.push(decode_incident(head, &parts, &pk)?);
        }
        Ok(out)
    }

    async fn append_samples(
        &self,
        instance: &str,
        samples: Vec<StoredIncident>,
    ) -> StoreResult<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let pk = sample_pk(instance);
        // Older ones of a longer call would be trimmed at once.
        let skip = samples.len().saturating_sub(SAMPLE_LIMIT);
        let mut puts = Vec::new();
        let mut refs = Vec::new();
        for sample in &samples[skip..] {
            let sk = ids::ordered_key();
            let (items, _) = incident_items(&pk, &sk, sample)?;
            refs.push(sample_ref(&sk, items.len() - 1));
            for item in items {
                puts.push(put_request(item)?);
            }
        }
        if let Err(e) = batch::write(&self.client, &self.table, puts).await {
            self.delete_samples(&pk, &refs).await;
            return Err(e);
        }
        let appended = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(schema::key(&pk, SINGLE)))
            .update_expression("SET #s = list_append(if_not_exists(#s, :empty), :new) ADD #v :one")
            .expression_attribute_names("#s", SAMPLES)
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(
                ":new",
                AttributeValue::L(refs.iter().map(schema::s).collect()),
            )
            .expression_attribute_values(":one", schema::n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let head = match appended {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) => {
                // Possibly applied after all (a timeout): a ref left without its body is
                // skipped by readers.
                self.delete_samples(&pk, &refs).await;
                return Err(unavailable("UpdateItem (samples)", e));
            }
        };
        // Committed. Trimming is housekeeping: a failure leaves extra refs that readers ignore
        // and the next append trims.
        if let Err(e) = self.trim_samples(&pk, &head).await {
            tracing::warn!(buffer = %pk, error = %e, "could not trim a sample buffer");
        }
        Ok(())
    }

    async fn samples(&self, instance: &str) -> StoreResult<Vec<StoredIncident>> {
        let pk = sample_pk(instance);
        let mut head = self.get_one(&pk, SINGLE).await?;
        for attempt in 0..SAMPLE_READ_ATTEMPTS {
            let Some(item) = &head else {
                return Ok(Vec::new());
            };
            let (version, refs) = read_head(item, &pk)?;
            let newest = refs[refs.len().saturating_sub(SAMPLE_LIMIT)..]
                .iter()
                .map(|r| parse_ref(r, &pk))
                .collect::<StoreResult<Vec<_>>>()?;
            let keys = newest
                .iter()
                .flat_map(|(sk, parts)| {
                    std::iter::once(schema::key(&pk, *sk))
                        .chain((0..*parts).map(|n| schema::key(&pk, part_sk(sk, n))))
                })
                .collect();
            let items =
                batch::get(&self.client, &self.table, keys, SAMPLE_KEYS_PER_GET, true).await?;
            let mut by_sk = HashMap::with_capacity(items.len());
            for item in &items {
                by_sk.insert(Reader::new(item, &pk).s(schema::SK)?, item);
            }
            let mut out = Vec::with_capacity(newest.len());
            let mut missing = 0;
            for (sk, parts) in &newest {
                let head = by_sk.get(sk);
                let parts: Option<Vec<&Item>> = (0..*parts)
                    .map(|n| by_sk.get(part_sk(sk, n).as_str()).copied())
                    .collect();
                match (head, parts) {
                    (Some(head), Some(parts)) => out.push(decode_incident(head, &parts, &pk)?),
                    _ => missing += 1,
                }
            }
            if missing == 0 {
                return Ok(out);
            }
            // A later append trimmed bodies away while we read them (the version moved on),
            // or an append that failed left refs without bodies (it did not): only trims at a
            // later version delete bodies among the newest refs of this one.
            let again = self.get_one(&pk, SINGLE).await?;
            let moved = match &again {
                Some(a) => read_head(a, &pk)?.0 != version,
                None => true,
            };
            if !moved {
                tracing::warn!(buffer = %pk, missing, "sample refs without bodies skipped");
                return Ok(out);
            }
            head = again;
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(StoreError::Unavailable(format!(
            "sample buffer of {instance:?} kept changing while being read; retry"
        )))
    }
}

/// A sample's ref in the head's list: its sort key, and `/<parts>` when it has parts.
fn sample_ref(sk: &str, parts: usize) -> String {
    if parts == 0 {
        sk.to_owned()
    } else {
        format!("{sk}/{parts}")
    }
}

/// `(sort key, parts)` of a ref.
fn parse_ref<'a>(r: &'a str, pk: &str) -> StoreResult<(&'a str, usize)> {
    match r.split_once('/') {
        None => Ok((r, 0)),
        Some((sk, parts)) => parts
            .parse()
            .map(|p| (sk, p))
            .map_err(|_| StoreError::Corrupt {
                key: pk.to_owned(),
                reason: format!("bad sample ref {r:?}"),
            }),
    }
}

/// `(version, refs oldest first)` of a buffer's head item.
fn read_head<'a>(item: &'a Item, pk: &str) -> StoreResult<(u64, Vec<&'a str>)> {
    let r = Reader::new(item, pk);
    let version = r.num(VERSION)?;
    let refs = match item.get(SAMPLES) {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::S(s) => Ok(s.as_str()),
                _ => Err(r.corrupt("a sample ref is not a string")),
            })
            .collect::<StoreResult<Vec<_>>>()?,
        None => Vec::new(),
        Some(_) => return Err(r.corrupt(format!("attribute {SAMPLES} is not a list"))),
    };
    Ok((version, refs))
}

impl DynamoStore {
    /// Trims the buffer whose head an append returned to the newest [`SAMPLE_LIMIT`] refs,
    /// unless another append changed it since (that one trims), then deletes the trimmed
    /// bodies.
    async fn trim_samples(&self, pk: &str, head: &Item) -> StoreResult<()> {
        let (version, refs) = read_head(head, pk)?;
        let Some(cut) = refs.len().checked_sub(SAMPLE_LIMIT).filter(|&c| c > 0) else {
            return Ok(());
        };
        let kept = refs[cut..].iter().map(|r| schema::s(*r)).collect();
        let trimmed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(schema::key(pk, SINGLE)))
            .update_expression("SET #s = :kept")
            .condition_expression("#v = :version")
            .expression_attribute_names("#s", SAMPLES)
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":kept", AttributeValue::L(kept))
            .expression_attribute_values(":version", schema::n(version))
            .send()
            .await;
        match trimmed {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                return Ok(());
            }
            Err(e) => return Err(unavailable("UpdateItem (trim samples)", e)),
        }
        let gone: Vec<String> = refs[..cut].iter().map(|r| (*r).to_owned()).collect();
        self.delete_samples(pk, &gone).await;
        Ok(())
    }

    /// Deletes the bodies of `refs`; garbage if it fails (no ref reaches them), so only logged.
    async fn delete_samples(&self, pk: &str, refs: &[String]) {
        let mut requests = Vec::new();
        for r in refs {
            let Ok((sk, parts)) = parse_ref(r, pk) else {
                continue;
            };
            let sks = std::iter::once(sk.to_owned()).chain((0..parts).map(|n| part_sk(sk, n)));
            for sk in sks {
                let key = schema::key(pk, sk);
                if let Ok(delete) = DeleteRequest::builder().set_key(Some(key)).build() {
                    requests.push(WriteRequest::builder().delete_request(delete).build());
                }
            }
        }
        if let Err(e) = batch::write(&self.client, &self.table, requests).await {
            tracing::warn!(buffer = %pk, error = %e, "could not delete sample bodies");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use feedgate_tests::moto;
    use serde_json::Map;

    use super::*;
    use crate::ClientSettings;

    fn sample(instance: &str, name: &str) -> StoredIncident {
        StoredIncident {
            id: name.to_owned(),
            instance: instance.to_owned(),
            name: name.to_owned(),
            kind: None,
            occurred: None,
            created: "2026-01-31T10:00:00.000Z".into(),
            raw_json: Map::new(),
            dedup_id: None,
        }
    }

    /// A store with its own client (as another process or Lambda has) on `table`.
    fn client(table: &str) -> DynamoStore {
        DynamoStore::new(
            &ClientSettings::local(moto::shared().endpoint()).client(),
            table,
        )
    }

    async fn fresh(test: &str) -> DynamoStore {
        let table = format!(
            "t-{test}-{:x}",
            feedgate::instant::Instant::now().unix_nanos()
        );
        let store = client(&table);
        store.create_table_if_missing().await.expect("create table");
        store
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn separate_clients_appending_at_once_keep_the_newest_and_leave_no_garbage() {
        let store = fresh("samples-clients").await;
        let (clients, per_client) = (4, 8);
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let store = Arc::new(client(store.table()));
                tokio::spawn(async move {
                    for n in 0..per_client {
                        let one = sample("hook", &format!("c{c}-{n}"));
                        store
                            .append_samples("hook", vec![one])
                            .await
                            .expect("append");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        let kept = store.samples("hook").await.expect("read");
        let distinct: HashSet<&str> = kept.iter().map(|s| s.name.as_str()).collect();
        assert_eq!((kept.len(), distinct.len()), (SAMPLE_LIMIT, SAMPLE_LIMIT));
        // The head lists exactly the kept samples and every trimmed body is gone.
        let pk = sample_pk("hook");
        let items = store.query_partition(&pk).await.expect("partition");
        assert_eq!(items.len(), 1 + SAMPLE_LIMIT, "head + one item per sample");
        let head = store
            .get_one(&pk, SINGLE)
            .await
            .expect("head")
            .expect("head");
        let (version, refs) = read_head(&head, &pk).expect("decode head");
        assert_eq!(refs.len(), SAMPLE_LIMIT);
        assert_eq!(version, clients * per_client);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refs_left_without_bodies_are_skipped_and_big_bodies_are_deleted_when_trimmed() {
        let store = fresh("samples-dangling").await;
        let names = |v: &[StoredIncident]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let mut big = sample("hook", "big");
        big.raw_json.insert(
            "noise".into(),
            serde_json::Value::String(
                (0..400_000u32)
                    .map(|i| char::from(b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8 % 26))
                    .collect(),
            ),
        );
        store
            .append_samples("hook", vec![sample("hook", "a"), big])
            .await
            .expect("append");
        let pk = sample_pk("hook");
        let items = store.query_partition(&pk).await.expect("partition");
        assert!(items.len() > 3, "head, two samples and the big one's parts");
        // What an append that failed after its commit may leave: a ref whose body is gone.
        store
            .client
            .update_item()
            .table_name(store.table())
            .set_key(Some(schema::key(&pk, SINGLE)))
            .update_expression("SET #s = list_append(#s, :new)")
            .expression_attribute_names("#s", SAMPLES)
            .expression_attribute_values(
                ":new",
                AttributeValue::L(vec![schema::s(ids::ordered_key())]),
            )
            .send()
            .await
            .expect("dangling ref");
        assert_eq!(
            names(&store.samples("hook").await.expect("read")),
            ["a", "big"]
        );

        let later: Vec<StoredIncident> = (0..SAMPLE_LIMIT)
            .map(|n| sample("hook", &format!("later{n:02}")))
            .collect();
        store
            .append_samples("hook", later.clone())
            .await
            .expect("append");
        assert_eq!(store.samples("hook").await.expect("read"), later);
        let items = store.query_partition(&pk).await.expect("partition");
        assert_eq!(
            items.len(),
            1 + SAMPLE_LIMIT,
            "the big sample's parts are gone"
        );
    }
}
