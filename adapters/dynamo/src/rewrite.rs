//! Re-encoding the chunks a write touches: pure CPU work, run on the blocking pool.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use feedgate::Indicator;
use feedgate::store::{StoreError, StoreResult};

use crate::codec;
use crate::snapshot::{ChunkRef, chunk_pk};

/// A chunk a commit adds.
pub(crate) struct NewChunk {
    pub(crate) id: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) values: Vec<Box<str>>,
}

/// The new manifest and chunks: touched chunks are decoded, edited and re-encoded; runs of
/// adjacent touched chunks are encoded together, so small neighbours merge; new values go
/// after the tail.
pub(crate) fn rebuild(
    chunks: &[ChunkRef],
    mut touched: BTreeMap<usize, HashMap<String, Option<Indicator>>>,
    payloads: Vec<Bytes>,
    appends: Vec<Indicator>,
    tail: Option<usize>,
    token: &str,
) -> StoreResult<(Vec<ChunkRef>, Vec<NewChunk>)> {
    let mut decoded: HashMap<usize, Vec<Indicator>> = HashMap::new();
    for ((&pos, edits), payload) in touched.iter_mut().zip(payloads) {
        let mut records = codec::decode(&payload).map_err(|e| StoreError::Corrupt {
            key: chunk_pk(&chunks[pos].id),
            reason: e.to_string(),
        })?;
        records.retain_mut(|r| match edits.remove(r.value()) {
            None => true,
            Some(Some(replacement)) => {
                *r = replacement;
                true
            }
            Some(None) => false,
        });
        if !edits.is_empty() {
            // The index named this chunk for a value it does not hold.
            return Err(StoreError::Corrupt {
                key: chunk_pk(&chunks[pos].id),
                reason: "chunk does not hold a value the manifest index places in it".into(),
            });
        }
        decoded.insert(pos, records);
    }
    let mut manifest = Vec::new();
    let mut new_chunks = Vec::new();
    let mut run: Vec<Indicator> = Vec::new();
    let mut appends = Some(appends);
    let mut flush = |run: &mut Vec<Indicator>, manifest: &mut Vec<ChunkRef>| {
        let encoded = codec::encode_chunks(run).map_err(|e| StoreError::Rejected(e.to_string()))?;
        let mut start = 0;
        for (payload, count) in encoded {
            let id = format!("{token}.{}", new_chunks.len());
            let values = run[start..start + count]
                .iter()
                .map(|r| Box::from(r.value()))
                .collect();
            start += count;
            manifest.push(ChunkRef {
                id: id.clone(),
                count: u32::try_from(count).unwrap_or(u32::MAX),
                bytes: u32::try_from(payload.len()).unwrap_or(u32::MAX),
            });
            new_chunks.push(NewChunk {
                id,
                payload,
                values,
            });
        }
        run.clear();
        Ok::<_, StoreError>(())
    };
    for (pos, chunk) in chunks.iter().enumerate() {
        match decoded.remove(&pos) {
            Some(records) => {
                run.extend(records);
                if Some(pos) == tail {
                    run.extend(appends.take().unwrap_or_default());
                }
            }
            None => {
                flush(&mut run, &mut manifest)?;
                manifest.push(chunk.clone());
            }
        }
    }
    run.extend(appends.take().unwrap_or_default());
    flush(&mut run, &mut manifest)?;
    Ok((manifest, new_chunks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedgate::IndicatorType;

    fn ind(v: &str) -> Indicator {
        Indicator::new(v, IndicatorType::Domain)
    }

    fn chunk(id: &str, values: &[&str]) -> (ChunkRef, Bytes) {
        let records: Vec<Indicator> = values.iter().map(|v| ind(v)).collect();
        let payload = codec::encode_one(&records);
        let r = ChunkRef {
            id: id.into(),
            count: values.len() as u32,
            bytes: payload.len() as u32,
        };
        (r, Bytes::from(payload))
    }

    fn all_values(
        manifest: &[ChunkRef],
        new: &[NewChunk],
        old: &[(ChunkRef, Bytes)],
    ) -> Vec<String> {
        let mut out = Vec::new();
        for c in manifest {
            let payload = new
                .iter()
                .find(|n| n.id == c.id)
                .map(|n| Bytes::from(n.payload.clone()))
                .or_else(|| {
                    old.iter()
                        .find(|(r, _)| r.id == c.id)
                        .map(|(_, p)| p.clone())
                })
                .expect("chunk exists");
            out.extend(
                codec::decode_values(&payload)
                    .expect("decode")
                    .iter()
                    .map(|v| v.to_string()),
            );
        }
        out
    }

    #[test]
    fn edits_touched_chunks_in_place_merges_neighbours_and_appends_after_the_tail() {
        let old = vec![
            chunk("a", &["1", "2"]),
            chunk("b", &["3", "4"]),
            chunk("c", &["5"]),
        ];
        let refs: Vec<ChunkRef> = old.iter().map(|(r, _)| r.clone()).collect();
        let mut touched = BTreeMap::new();
        touched.insert(0, HashMap::from([("2".to_string(), None)]));
        touched.insert(1, HashMap::from([("3".to_string(), Some(ind("3")))]));
        touched.insert(2, HashMap::new());
        let payloads = vec![old[0].1.clone(), old[1].1.clone(), old[2].1.clone()];
        let (manifest, new) =
            rebuild(&refs, touched, payloads, vec![ind("6")], Some(2), "t").expect("rebuild");
        assert_eq!(all_values(&manifest, &new, &old), ["1", "3", "4", "5", "6"]);
        assert_eq!(
            manifest.len(),
            1,
            "small touched neighbours merge into one chunk"
        );
        assert_eq!(manifest[0].count, 5);
    }

    #[test]
    fn keeps_untouched_chunks_and_refuses_a_value_the_chunk_lacks() {
        let old = vec![chunk("a", &["1"]), chunk("b", &["2"])];
        let refs: Vec<ChunkRef> = old.iter().map(|(r, _)| r.clone()).collect();
        let (manifest, new) =
            rebuild(&refs, BTreeMap::new(), vec![], vec![ind("3")], Some(1), "t").expect("append");
        assert_eq!(manifest[..2], refs[..]);
        assert_eq!(all_values(&manifest, &new, &old), ["1", "2", "3"]);

        let mut touched = BTreeMap::new();
        touched.insert(0, HashMap::from([("zz".to_string(), None)]));
        let err = rebuild(&refs, touched, vec![old[0].1.clone()], vec![], Some(1), "t");
        assert!(matches!(err, Err(StoreError::Corrupt { .. })));
    }
}
