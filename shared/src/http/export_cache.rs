//! Warm-process caching for exports: the decoded dataset, reloaded only when the store's
//! version changes, and rendered answers keyed by (instance, arguments, version). A poll whose
//! data did not change costs one small version read.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::dataset::Dataset;
use crate::export::args::ExportParams;
use crate::http::export::render_full;
use crate::http::{ApiError, Response};
use crate::instant::Instant;
use crate::store::{IndicatorStore, StoreError};

/// How many rendered answers are kept.
const RENDER_SLOTS: usize = 64;

/// Shared by every export instance of a process.
#[derive(Debug, Default)]
pub struct ExportCache {
    dataset: Mutex<Option<Dataset>>,
    rendered: Mutex<HashMap<(String, String), Cached>>,
}

#[derive(Debug, Clone)]
struct Cached {
    version: u64,
    rendered_at: Instant,
    response: Response,
}

fn unavailable(e: &StoreError) -> ApiError {
    tracing::error!(error = %e, "reading indicators failed");
    ApiError::Unavailable {
        message: "indicator store unavailable; retry later".into(),
        retry_after: 5,
    }
}

impl ExportCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current dataset: one version read, and a full load only when it changed. A store
    /// failure is a 503: a list is never served from a failed read.
    pub async fn dataset<S: IndicatorStore>(&self, store: &S) -> Result<Dataset, ApiError> {
        let version = store.version().await.map_err(|e| unavailable(&e))?;
        if let Some(current) = self.current()
            && current.version() == version.version
        {
            return Ok(current);
        }
        let loaded = store.load().await.map_err(|e| unavailable(&e))?;
        let mut slot = self.dataset.lock().unwrap_or_else(|p| p.into_inner());
        // Another request may have loaded a newer version meanwhile; keep the newest.
        if slot.as_ref().is_none_or(|d| d.version() < loaded.version()) {
            *slot = Some(loaded.clone());
        }
        Ok(loaded)
    }

    fn current(&self) -> Option<Dataset> {
        self.dataset
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The full `200` answer for `query` on `instance` over `dataset` at `now`, reusing an
    /// earlier render when nothing it depends on changed: same data version, no indicator
    /// expired since, and a query that does not mention `now`.
    pub fn response(
        &self,
        instance: &str,
        params: &ExportParams,
        dataset: &Dataset,
        query: &str,
        now: Instant,
    ) -> Result<Response, ApiError> {
        let key = (instance.to_owned(), query.to_owned());
        let cacheable = !mentions_now(query) && !mentions_now(&params.query_text);
        if cacheable {
            let hit = self
                .rendered
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&key)
                .filter(|c| {
                    c.version == dataset.version()
                        && c.rendered_at <= now
                        && !dataset.expires_between(c.rendered_at, now)
                })
                .map(|c| c.response.clone());
            if let Some(response) = hit {
                return Ok(response);
            }
        }
        let response = render_full(params, dataset, query, now)?;
        if cacheable {
            let mut slots = self.rendered.lock().unwrap_or_else(|p| p.into_inner());
            if slots.len() >= RENDER_SLOTS && !slots.contains_key(&key) {
                // Evict the oldest render; polling patterns repeat, so this rarely triggers.
                if let Some(oldest) = slots
                    .iter()
                    .min_by_key(|(_, c)| c.rendered_at)
                    .map(|(k, _)| k.clone())
                {
                    slots.remove(&oldest);
                }
            }
            slots.insert(
                key,
                Cached {
                    version: dataset.version(),
                    rendered_at: now,
                    response: response.clone(),
                },
            );
        }
        Ok(response)
    }
}

/// Whether relative instants may appear: `q` text (raw or encoded) naming `now`.
fn mentions_now(text: &str) -> bool {
    text.to_ascii_lowercase().contains("now")
}
