//! Batched reads and writes within the service limits (100 keys per `BatchGetItem`, 25
//! requests per `BatchWriteItem`), in parallel, retrying unprocessed items with backoff.
//! The SDK retries throttled and failed calls; a batch call can still succeed while leaving
//! some items unprocessed, and those are ours to retry. Running out of retries is an error:
//! a batch never reports success for items it did not write.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeysAndAttributes, PutRequest, WriteRequest};
use feedgate::store::{StoreError, StoreResult};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{backoff, unavailable};
use crate::schema::{self, Item};

/// Most keys in one `BatchGetItem`.
pub(crate) const MAX_GET_KEYS: usize = 100;
/// Most requests in one `BatchWriteItem`.
pub(crate) const MAX_WRITE_REQUESTS: usize = 25;
/// Rounds of retrying unprocessed items before giving up.
const MAX_ROUNDS: u32 = 10;
/// Batch calls in flight at once.
const CONCURRENCY: usize = 16;

/// Gets `keys` with `per_request` keys per call (at most 100; fewer keeps each response under
/// the 16 MB cap and spreads big items over parallel calls). Missing items are simply absent
/// from the result.
pub(crate) async fn get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    per_request: usize,
    consistent: bool,
) -> StoreResult<Vec<Item>> {
    let per_request = per_request.clamp(1, MAX_GET_KEYS);
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    for group in chunked(keys, per_request) {
        let (client, table, limit) = (client.clone(), table.to_owned(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            get_group(&client, &table, group, consistent).await
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let items = joined.map_err(|e| StoreError::Unavailable(format!("batch get task: {e}")))?;
        out.extend(items?);
    }
    Ok(out)
}

pub(crate) async fn get_group(
    client: &Client,
    table: &str,
    mut keys: Vec<Item>,
    consistent: bool,
) -> StoreResult<Vec<Item>> {
    let mut out = Vec::with_capacity(keys.len());
    for round in 0..MAX_ROUNDS {
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(consistent)
            .build()
            .map_err(|e| StoreError::Unavailable(format!("batch get request: {e}")))?;
        let response = client
            .batch_get_item()
            .request_items(table, request)
            .send()
            .await
            .map_err(|e| unavailable("BatchGetItem", e))?;
        if let Some(mut items) = response.responses {
            out.extend(items.remove(table).unwrap_or_default());
        }
        keys = response
            .unprocessed_keys
            .and_then(|mut u| u.remove(table))
            .map(|k| k.keys)
            .unwrap_or_default();
        if keys.is_empty() {
            return Ok(out);
        }
        tokio::time::sleep(backoff(round)).await;
    }
    Err(StoreError::Unavailable(format!(
        "dynamodb BatchGetItem: {} keys still unprocessed after {MAX_ROUNDS} rounds",
        keys.len()
    )))
}

/// Writes every request (puts and deletes), 25 per call, several calls in parallel. `Ok` only
/// when every request was processed.
pub(crate) async fn write(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> StoreResult<()> {
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    for group in chunked(requests, MAX_WRITE_REQUESTS) {
        let (client, table, limit) = (client.clone(), table.to_owned(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            write_group(&client, &table, group).await
        });
    }
    let mut first_error = None;
    // Wait for every call even after a failure, so nothing is still writing when we return.
    while let Some(joined) = tasks.join_next().await {
        let result = joined
            .map_err(|e| StoreError::Unavailable(format!("batch write task: {e}")))
            .and_then(|r| r);
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

async fn write_group(
    client: &Client,
    table: &str,
    mut requests: Vec<WriteRequest>,
) -> StoreResult<()> {
    for round in 0..MAX_ROUNDS {
        let response = client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .map_err(|e| unavailable("BatchWriteItem", e))?;
        requests = response
            .unprocessed_items
            .and_then(|mut u| u.remove(table))
            .unwrap_or_default();
        if requests.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(backoff(round)).await;
    }
    Err(StoreError::Unavailable(format!(
        "dynamodb BatchWriteItem: {} writes still unprocessed after {MAX_ROUNDS} rounds",
        requests.len()
    )))
}

/// A `PutRequest` for `item`.
pub(crate) fn put_request(item: schema::Item) -> StoreResult<WriteRequest> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| StoreError::Unavailable(format!("put request: {e}")))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// `items` cut into groups of at most `size`, in order.
fn chunked<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut out = Vec::with_capacity(items.len().div_ceil(size.max(1)));
    let mut it = items.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(size.max(1)).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_order_and_respect_the_size() {
        let groups = chunked((0..53).collect(), 25);
        assert_eq!(groups.iter().map(Vec::len).collect::<Vec<_>>(), [25, 25, 3]);
        assert_eq!(groups.concat(), (0..53).collect::<Vec<_>>());
        assert!(chunked(Vec::<u8>::new(), 25).is_empty());
    }
}
