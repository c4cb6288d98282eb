//! The webhook handler: an authenticated `POST /` → stored incidents → the created ones.

use serde_json::{Map, Value};

use crate::http::{ApiError, Request, Response};
use crate::instant::Instant;
use crate::store::IncidentStore;
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
    let listed: Vec<Value> = incidents
        .iter()
        .zip(created.iter().chain(std::iter::repeat(&false)))
        .filter(|(_, created)| **created)
        .map(|(incident, _)| {
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
    Ok(Response::new(200, "application/json", body))
}
