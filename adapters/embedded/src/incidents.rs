//! Incidents: appended in order, de-duplicated by a UNIQUE (instance, dedup_id) constraint.
//! Sample buffers: rows of the `samples` table, trimmed to the newest [`SAMPLE_LIMIT`] per
//! instance in the transaction that appends.

use feedgate::store::{IncidentStore, SAMPLE_LIMIT, StoreResult, StoredIncident};
use rusqlite::{Connection, Params};

use crate::EmbeddedStore;
use crate::error::SqlResultExt;
use crate::indicators::begin_write;
use crate::records::{from_json, to_json};

impl IncidentStore for EmbeddedStore {
    /// One transaction per call: either every created incident is stored or none is (on error),
    /// so a retried call never half-duplicates a webhook delivery.
    async fn create_incidents(&self, incidents: Vec<StoredIncident>) -> StoreResult<Vec<bool>> {
        let bodies = incidents
            .iter()
            .map(to_json)
            .collect::<StoreResult<Vec<_>>>()?;
        self.write(move |conn| {
            let tx = begin_write(conn)?;
            let mut created = Vec::with_capacity(incidents.len());
            {
                // NULL dedup ids never conflict (SQL NULLs are distinct), so incidents without
                // one are always created.
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO incidents (instance, dedup_id, body) VALUES (?1, ?2, ?3)
                         ON CONFLICT (instance, dedup_id) DO NOTHING",
                    )
                    .store()?;
                for (incident, body) in incidents.iter().zip(&bodies) {
                    let changed = stmt
                        .execute((&incident.instance, &incident.dedup_id, body))
                        .store()?;
                    created.push(changed == 1);
                }
            }
            tx.commit().store()?;
            Ok(created)
        })
        .await
    }

    async fn list_incidents(&self, instance: &str) -> StoreResult<Vec<StoredIncident>> {
        let instance = instance.to_owned();
        self.read(move |conn| {
            bodies(
                conn,
                "SELECT seq, body FROM incidents WHERE instance = ?1 ORDER BY seq",
                [&instance],
                "incident",
            )
        })
        .await
    }

    /// One transaction: the rows go in (only the newest [`SAMPLE_LIMIT`] of a longer call), then
    /// the instance's older rows beyond the limit go out. The write lock serialises appends
    /// from every connection and process, so none is lost.
    async fn append_samples(
        &self,
        instance: &str,
        samples: Vec<StoredIncident>,
    ) -> StoreResult<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let skip = samples.len().saturating_sub(SAMPLE_LIMIT);
        let bodies = samples[skip..]
            .iter()
            .map(to_json)
            .collect::<StoreResult<Vec<_>>>()?;
        let instance = instance.to_owned();
        self.write(move |conn| {
            let tx = begin_write(conn)?;
            {
                let mut insert = tx
                    .prepare_cached("INSERT INTO samples (instance, body) VALUES (?1, ?2)")
                    .store()?;
                for body in &bodies {
                    insert.execute((&instance, body)).store()?;
                }
                tx.prepare_cached(
                    "DELETE FROM samples WHERE instance = ?1 AND seq < (
                         SELECT min(seq) FROM (
                             SELECT seq FROM samples WHERE instance = ?1
                             ORDER BY seq DESC LIMIT ?2))",
                )
                .store()?
                .execute((&instance, SAMPLE_LIMIT as i64))
                .store()?;
            }
            tx.commit().store()?;
            Ok(())
        })
        .await
    }

    async fn samples(&self, instance: &str) -> StoreResult<Vec<StoredIncident>> {
        let instance = instance.to_owned();
        self.read(move |conn| {
            // Trimmed on every append, so at most SAMPLE_LIMIT rows; the LIMIT only guards
            // against rows written some other way.
            bodies(
                conn,
                "SELECT seq, body FROM (
                     SELECT seq, body FROM samples WHERE instance = ?1
                     ORDER BY seq DESC LIMIT ?2)
                 ORDER BY seq",
                (&instance, SAMPLE_LIMIT as i64),
                "sample",
            )
        })
        .await
    }
}

/// Decodes the `(seq, body)` rows `sql` selects with `params`, in the order selected; `what`
/// names a record in errors.
fn bodies(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    what: &str,
) -> StoreResult<Vec<StoredIncident>> {
    let mut stmt = conn.prepare_cached(sql).store()?;
    let mut rows = stmt.query(params).store()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().store()? {
        let seq: i64 = row.get(0).store()?;
        let key = format!("{what} {seq}");
        let body: &[u8] = row
            .get_ref(1)
            .store()?
            .as_blob()
            .map_err(|e| crate::error::corrupt(&key, e))?;
        out.push(from_json(body, &key)?);
    }
    Ok(out)
}
