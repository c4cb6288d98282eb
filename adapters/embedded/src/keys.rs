//! API-key metadata (ids from a counter, never reused) and the nonce replay store.

use std::sync::atomic::{AtomicU64, Ordering};

use feedgate::instant::Instant;
use feedgate::store::{ApiKeyRecord, KeyStore, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension};

use crate::EmbeddedStore;
use crate::error::SqlResultExt;
use crate::indicators::begin_write;
use crate::records::{from_json, to_json};
use crate::schema::KEY_COUNTER;

/// Expired nonces are swept after this many insertions (per process), so the table stays
/// about as big as the live window without a sweep on every request.
const NONCE_SWEEP_EVERY: u64 = 1024;

static NONCES_SINCE_SWEEP: AtomicU64 = AtomicU64::new(0);

impl KeyStore for EmbeddedStore {
    async fn create_key(&self, mut record: ApiKeyRecord) -> StoreResult<ApiKeyRecord> {
        let explicit = if record.id.is_empty() {
            None
        } else {
            Some(parse_id(&record.id)?)
        };
        self.write(move |conn| {
            let tx = begin_write(conn)?;
            let id = match explicit {
                Some(id) => {
                    if exists(&tx, id)? {
                        return Err(StoreError::Rejected(format!(
                            "api key id {id} was already used"
                        )));
                    }
                    id
                }
                None => allocate(&tx)?,
            };
            record.id = id.to_string();
            tx.execute(
                "INSERT INTO api_keys (id, body) VALUES (?1, ?2)",
                (id, to_json(&record)?),
            )
            .store()?;
            tx.commit().store()?;
            Ok(record)
        })
        .await
    }

    async fn key(&self, id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let Ok(id) = parse_id(id) else {
            return Ok(None);
        };
        self.read(move |conn| read_key(conn, id)).await
    }

    async fn keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, body FROM api_keys ORDER BY id")
                .store()?;
            let mut rows = stmt.query([]).store()?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().store()? {
                let id: i64 = row.get(0).store()?;
                let body: Vec<u8> = row.get(1).store()?;
                out.push(from_json(&body, &format!("api key {id}"))?);
            }
            Ok(out)
        })
        .await
    }

    async fn revoke_key(&self, id: &str, at: Instant) -> StoreResult<bool> {
        let Ok(id) = parse_id(id) else {
            return Ok(false);
        };
        self.write(move |conn| {
            let tx = begin_write(conn)?;
            let Some(mut record) = read_key(&tx, id)? else {
                return Ok(false);
            };
            // Revoking twice keeps the first revocation time.
            if !record.revoked {
                record.revoked = true;
                record.revoked_at = Some(at.to_rfc3339_millis());
                tx.execute(
                    "UPDATE api_keys SET body = ?2 WHERE id = ?1",
                    (id, to_json(&record)?),
                )
                .store()?;
            }
            tx.commit().store()?;
            Ok(true)
        })
        .await
    }

    async fn record_nonce(
        &self,
        id: &str,
        nonce: &str,
        expires_at_s: i64,
        now_s: i64,
    ) -> StoreResult<bool> {
        let (id, nonce) = (id.to_owned(), nonce.to_owned());
        self.write(move |conn| {
            // One statement, so insert-if-absent-or-expired is atomic: the update only happens
            // when the stored record is dead, and changes() tells which case we were in.
            let changed = conn
                .prepare_cached(
                    "INSERT INTO nonces (key_id, nonce, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
                     WHERE nonces.expires_at < ?4",
                )
                .store()?
                .execute((&id, &nonce, expires_at_s, now_s))
                .store()?;
            if NONCES_SINCE_SWEEP
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(NONCE_SWEEP_EVERY)
            {
                conn.execute("DELETE FROM nonces WHERE expires_at < ?1", [now_s])
                    .store()?;
            }
            Ok(changed == 1)
        })
        .await
    }
}

/// Ids are canonical decimal numbers, stored as integers so `keys()` lists them in numeric
/// order. Anything else (`007`, `-1`, `x`) is refused rather than stored as a second spelling
/// of an id.
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

fn exists(conn: &Connection, id: i64) -> StoreResult<bool> {
    conn.query_row("SELECT 1 FROM api_keys WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .store()
        .map(|found| found.is_some())
}

/// The next unused id above the counter. Explicitly created ids may sit above the counter;
/// they are skipped, never handed out again.
fn allocate(conn: &Connection) -> StoreResult<i64> {
    let mut id: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE name = ?1",
            [KEY_COUNTER],
            |r| r.get(0),
        )
        .store()?;
    loop {
        id = id
            .checked_add(1)
            .ok_or_else(|| StoreError::Rejected("api key ids are exhausted".into()))?;
        if !exists(conn, id)? {
            break;
        }
    }
    conn.execute(
        "UPDATE meta SET value = ?2 WHERE name = ?1",
        (KEY_COUNTER, id),
    )
    .store()?;
    Ok(id)
}

fn read_key(conn: &Connection, id: i64) -> StoreResult<Option<ApiKeyRecord>> {
    let body = conn
        .query_row("SELECT body FROM api_keys WHERE id = ?1", [id], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .optional()
        .store()?;
    body.map(|b| from_json(&b, &format!("api key {id}")))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_canonical_decimal_ids() {
        for good in ["0", "1", "42", "9223372036854775807"] {
            assert!(parse_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "007",
            "-1",
            "+1",
            "1.0",
            " 1",
            "x",
            "9223372036854775808",
        ] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }
}
