//! Incidents: appended in order, de-duplicated by a UNIQUE (instance, dedup_id) constraint.

use feedgate::store::{IncidentStore, StoreResult, StoredIncident};

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
            let mut stmt = conn
                .prepare_cached("SELECT seq, body FROM incidents WHERE instance = ?1 ORDER BY seq")
                .store()?;
            let mut rows = stmt.query([&instance]).store()?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().store()? {
                let seq: i64 = row.get(0).store()?;
                let body: &[u8] = row
                    .get_ref(1)
                    .store()?
                    .as_blob()
                    .map_err(|e| crate::error::corrupt(format!("incident {seq}"), e))?;
                out.push(from_json(body, &format!("incident {seq}"))?);
            }
            Ok(out)
        })
        .await
    }
}
