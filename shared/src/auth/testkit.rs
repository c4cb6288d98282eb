//! Test helpers: an in-memory key store with the port's insert-if-absent-or-expired nonce
//! semantics, and a poller for futures that never wait.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::instant::Instant;
use crate::store::{ApiKeyRecord, KeyStore, KeyType, Role, StoreError, StoreResult};

/// Runs a future that completes without waiting (everything in-memory).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// A key record as the conformance cases set them up.
pub fn record(id: &str, kind: KeyType, role: Role) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.to_owned(),
        kind,
        role,
        created_at: "2026-01-01T00:00:00Z".to_owned(),
        created_by: "test".to_owned(),
        expires_at: None,
        revoked: false,
        revoked_at: None,
        comment: String::new(),
    }
}

/// Key records and nonces in memory; `down` makes every call fail as unreachable.
#[derive(Debug, Default)]
pub struct MemKeys {
    pub records: Vec<ApiKeyRecord>,
    /// (id, nonce) → expires_at_s, plus every record_nonce call's arguments.
    pub nonces: Mutex<HashMap<(String, String), i64>>,
    pub calls: Mutex<Vec<(String, String, i64, i64)>>,
    pub down: bool,
    pub nonces_down: bool,
}

impl MemKeys {
    pub fn with(records: Vec<ApiKeyRecord>) -> Self {
        Self {
            records,
            ..Self::default()
        }
    }

    pub fn recorded(&self) -> Vec<(String, String, i64, i64)> {
        self.calls.lock().expect("lock").clone()
    }

    fn unavailable<T>(&self) -> StoreResult<T> {
        Err(StoreError::Unavailable("test store down".to_owned()))
    }
}

impl KeyStore for MemKeys {
    async fn create_key(&self, record: ApiKeyRecord) -> StoreResult<ApiKeyRecord> {
        Ok(record)
    }

    async fn key(&self, id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        if self.down {
            return self.unavailable();
        }
        Ok(self.records.iter().find(|r| r.id == id).cloned())
    }

    async fn keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        Ok(self.records.clone())
    }

    async fn revoke_key(&self, _id: &str, _at: Instant) -> StoreResult<bool> {
        Ok(false)
    }

    async fn record_nonce(
        &self,
        id: &str,
        nonce: &str,
        expires_at_s: i64,
        now_s: i64,
    ) -> StoreResult<bool> {
        if self.down || self.nonces_down {
            return self.unavailable();
        }
        self.calls.lock().expect("lock").push((
            id.to_owned(),
            nonce.to_owned(),
            expires_at_s,
            now_s,
        ));
        let mut nonces = self.nonces.lock().expect("lock");
        let slot = (id.to_owned(), nonce.to_owned());
        match nonces.get(&slot) {
            Some(existing) if *existing >= now_s => Ok(false),
            _ => {
                nonces.insert(slot, expires_at_s);
                Ok(true)
            }
        }
    }
}
