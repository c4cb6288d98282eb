//! The webhook handler: an authenticated `POST /` → stored incidents → the created ones (and,
//! with `store_samples`, the same incidents appended to the instance's sample buffer).

use serde_json::{Map, Value};

use crate::http::{ApiError, Request, Response};
use crate::instant::Instant;
use crate::store::{IncidentStore, StoredIncident};
use crate::webhook::{Delivery, WebhookParams, build_incidents, new_incident_id};

/// Methods served by a webhook instance.
pub const WEBHOOK_ALLOW: &str = "POST";

/// Path and method rules for webhook instances (integrations.md §1.3).
pub fn check_route(request: &Request) -> Result<(), ApiError> {
    if request.path != "/" {
        return Err(ApiError::NotFound("Not Found"));
    }
    if request.method == "POST" {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed(WEBHOOK_ALLOW))
    }
}

/// The 413 for a body over the limit. Front ends call this with `Content-Length` before
/// reading a body, and the handler checks the body actually read.
pub fn check_body_size(length: u64, params: &WebhookParams) -> Result<(), ApiError> {
    if length > params.max_body_size {
        Err(ApiError::PayloadTooLarge(format!(
            "request body too large: limit is {} bytes",
            params.max_body_size
        )))
    } else {
        Ok(())
    }
}

fn store_unavailable() -> ApiError {
    ApiError::Unavailable {
        message: "incident store unavailable; retry later".into(),
        retry_after: 5,
    }
}

/// Builds, stores and lists the incidents of an authenticated request. A 200 is only
/// returned after every listed incident is durably stored; any store failure is a 503.
/// With `store_samples` on, the created incidents are then appended to the instance's sample
/// buffer (awaited, so a Lambda is not frozen mid-write); a failure there is logged and the
/// answer is the same 200.
pub async fn handle<S: IncidentStore>(
    store: &S,
    instance: &str,
    params: &WebhookParams,
    request: &Request,
    token_header: Option<&str>,
    now: Instant,
) -> Result<Response, ApiError> {
    check_body_size(request.body.len() as u64, params)?;
    let delivery = Delivery {
        instance,
        params,
        headers: &request.headers,
        token_header,
        now,
    };
    let incidents = build_incidents(&request.body, &delivery, new_incident_id)
        .map_err(|e| ApiError::InvalidArgument(e.to_string()))?;
    let created = if incidents.is_empty() {
        Vec::new()
    } else {
        store
            .create_incidents(incidents.clone())
            .await
            .map_err(|e| {
                tracing::error!(instance, error = %e, "storing incidents failed");
                store_unavailable()
            })?
    };
    let created: Vec<StoredIncident> = incidents
        .into_iter()
        .zip(created.into_iter().chain(std::iter::repeat(false)))
        .filter_map(|(incident, created)| created.then_some(incident))
        .collect();
    let listed: Vec<Value> = created
        .iter()
        .map(|incident| {
            let mut object = Map::new();
            object.insert("id".into(), Value::from(incident.id.clone()));
            object.insert("name".into(), Value::from(incident.name.clone()));
            object.insert("type".into(), incident.kind.clone().into());
            object.insert("occurred".into(), incident.occurred.clone().into());
            object.insert("created".into(), Value::from(incident.created.clone()));
            Value::Object(object)
        })
        .collect();
    let body = serde_json::to_vec(&listed).map_err(|_| store_unavailable())?;
    if params.store_samples && !created.is_empty() {
        // Samples are for mapping, not delivery: the incidents are stored, so the answer
        // stays 200 whatever happens here (§5.6). The error names no header, body or secret.
        if let Err(e) = store.append_samples(instance, created).await {
            tracing::warn!(instance, error = %e, "storing webhook samples failed");
        }
    }
    Ok(Response::new(200, "application/json", body))
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    use serde_json::json;

    use super::*;
    use crate::store::{StoreError, StoreResult};

    /// Runs a future that never waits (the store below is in memory).
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    /// Incidents with the port's dedup rule, and every `append_samples` call as made.
    #[derive(Default)]
    struct MemIncidents {
        incidents: Mutex<Vec<StoredIncident>>,
        appends: Mutex<Vec<(String, Vec<StoredIncident>)>>,
        samples_down: bool,
    }

    impl IncidentStore for MemIncidents {
        async fn create_incidents(&self, incidents: Vec<StoredIncident>) -> StoreResult<Vec<bool>> {
            let mut stored = self.incidents.lock().expect("lock");
            Ok(incidents
                .into_iter()
                .map(|i| {
                    let duplicate = i.dedup_id.is_some()
                        && stored
                            .iter()
                            .any(|s| s.instance == i.instance && s.dedup_id == i.dedup_id);
                    if !duplicate {
                        stored.push(i);
                    }
                    !duplicate
                })
                .collect())
        }

        async fn list_incidents(&self, instance: &str) -> StoreResult<Vec<StoredIncident>> {
            let stored = self.incidents.lock().expect("lock");
            Ok(stored
                .iter()
                .filter(|i| i.instance == instance)
                .cloned()
                .collect())
        }

        async fn append_samples(
            &self,
            instance: &str,
            samples: Vec<StoredIncident>,
        ) -> StoreResult<()> {
            if self.samples_down {
                return Err(StoreError::Unavailable("sample store down".into()));
            }
            self.appends
                .lock()
                .expect("lock")
                .push((instance.to_owned(), samples));
            Ok(())
        }

        async fn samples(&self, instance: &str) -> StoreResult<Vec<StoredIncident>> {
            let appends = self.appends.lock().expect("lock");
            Ok(appends
                .iter()
                .filter(|(i, _)| i == instance)
                .flat_map(|(_, s)| s.iter().cloned())
                .collect())
        }
    }

    fn params(store_samples: bool) -> WebhookParams {
        WebhookParams {
            store_samples,
            duplication_keys: vec!["event".into()],
            ..WebhookParams::default()
        }
    }

    fn post(store: &MemIncidents, params: &WebhookParams, body: &str) -> Response {
        let request = Request {
            method: "POST".into(),
            path: "/".into(),
            headers: vec![("X-Source".into(), "test".into())],
            body: body.to_owned().into(),
            ..Request::default()
        };
        let now = Instant::from_unix_millis(1_700_000_000_000);
        block_on(handle(store, "hook", params, &request, None, now))
            .unwrap_or_else(ApiError::into_response)
    }

    fn listed_ids(response: &Response) -> Vec<String> {
        let listed: Vec<Value> = serde_json::from_slice(&response.body).expect("json");
        listed
            .iter()
            .map(|i| i["id"].as_str().expect("id").to_owned())
            .collect()
    }

    #[test]
    fn with_store_samples_the_created_incidents_are_appended_as_stored() {
        let store = MemIncidents::default();
        let p = params(true);
        let first = post(&store, &p, r#"[{"name":"a","event":1},{"name":"b"}]"#);
        assert_eq!(first.status, 200);
        // One duplicate (skipped, not a sample) and one new incident.
        let second = post(&store, &p, r#"[{"name":"dup","event":1},{"name":"c"}]"#);
        assert_eq!(listed_ids(&second).len(), 1);

        let stored = block_on(store.list_incidents("hook")).expect("list");
        let appends = store.appends.lock().expect("lock").clone();
        assert_eq!(appends.len(), 2, "one append per request");
        assert!(appends.iter().all(|(instance, _)| instance == "hook"));
        assert_eq!(appends[0].1, stored[..2], "stored form, body order");
        assert_eq!(appends[1].1, stored[2..]);
        assert_eq!(
            listed_ids(&first),
            appends[0]
                .1
                .iter()
                .map(|i| i.id.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(appends[1].1[0].name, "c");
        assert_eq!(
            appends[1].1[0].raw_json["headers"],
            json!({"x-source": "test"})
        );
    }

    #[test]
    fn without_store_samples_nothing_is_appended() {
        let store = MemIncidents::default();
        let response = post(&store, &params(false), r#"[{"name":"a"},{"name":"b"}]"#);
        assert_eq!(response.status, 200);
        assert_eq!(listed_ids(&response).len(), 2);
        assert_eq!(
            block_on(store.list_incidents("hook")).expect("list").len(),
            2
        );
        assert!(store.appends.lock().expect("lock").is_empty());

        // Turned on, then off again: the buffer keeps what it had.
        post(&store, &params(true), r#"{"name":"kept"}"#);
        let before = block_on(store.samples("hook")).expect("samples");
        assert_eq!(before.len(), 1);
        post(&store, &params(false), r#"{"name":"not kept"}"#);
        assert_eq!(block_on(store.samples("hook")).expect("samples"), before);
    }

    #[test]
    fn nothing_is_appended_when_nothing_was_created_or_the_body_is_refused() {
        let store = MemIncidents::default();
        let p = params(true);
        assert_eq!(post(&store, &p, r#"{"event":7}"#).status, 200);
        assert_eq!(post(&store, &p, r#"{"event":7}"#).body.as_ref(), b"[]");
        assert_eq!(post(&store, &p, "[]").body.as_ref(), b"[]");
        assert_eq!(post(&store, &p, r#"{"name":5}"#).status, 400);
        assert_eq!(store.appends.lock().expect("lock").len(), 1);
    }

    #[test]
    fn a_sample_failure_leaves_the_response_unchanged() {
        let store = MemIncidents {
            samples_down: true,
            ..MemIncidents::default()
        };
        let response = post(&store, &params(true), r#"[{"name":"a"},{"name":"b"}]"#);
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let stored = block_on(store.list_incidents("hook")).expect("list");
        assert_eq!(
            listed_ids(&response),
            stored.iter().map(|i| i.id.clone()).collect::<Vec<_>>()
        );
    }
}
