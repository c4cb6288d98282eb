//! The handler behind `export`, `webhook` and `publish-list`: an API Gateway event in, a
//! proxy response out, always (an `Err` would become API Gateway's generic 502).
//!
//! Order (integrations.md §1.4): resolve the instance from the path (404) → the kind's path
//! and method rules (404 / 405) → the authorizer's principal from the request context, else
//! 401 (fail closed) → webhook `Content-Length` limit (413) → the library's handler → gzip
//! when accepted → Lambda's response limit (413).
//!
//! # Large lists: 413, not streaming
//! Lambda's buffered response is limited to 6 MB (API Gateway's to 10 MB). A list whose
//! response would not fit is answered 413 with a message saying how to page with `s`/`n`
//! and that gzip helps, rather than streamed:
//! - the export answer carries an ETag, `X-EDL-Size` and 304 handling over the whole body,
//!   all known only once it is rendered: a streamed answer would still be rendered (and held)
//!   whole first, so streaming saves nothing but the limit;
//! - what polls these lists are firewalls whose own caps (tens to a few hundred thousand
//!   entries per list) are far below 6 MB of text, and gzip (level 1) shrinks lists about
//!   five-fold, so with `Accept-Encoding: gzip` the limit is ~30 MB of list text;
//! - REST API response streaming needs a different integration (`InvokeWithResponseStream`)
//!   and gives up the integration's buffered error handling; one code path for engine and
//!   Lambda is worth more.
//!
//! The check is on the exact size of the serialized response (JSON escaping or base64
//! included), so the boundary is where Lambda's is.

use std::time::Duration;

use bytes::Bytes;
use feedgate::auth::apikey::MasterSecret;
use feedgate::auth::cache::{DEFAULT_TTL, VerifiedCache};
use feedgate::http::export_cache::ExportCache;
use feedgate::http::serve::{Deployment, KindParams};
use feedgate::http::webhook::check_body_size;
use feedgate::http::{ApiError, Request, Response};
use feedgate::instant::Instant;
use feedgate::store::{InstanceKind, Store};
use serde_json::Value;

use crate::auth::{Checker, check_route, fail_closed, from_context};
use crate::event::{Incoming, Origin, parse_event};
use crate::gzip::GzipCache;
use crate::instances::{InstanceCache, Loaded};
use crate::response::{BodyCache, LambdaResponse};
use crate::route::{NOT_FOUND, resolve};

/// Lambda's limit on a synchronous response payload (6 MB).
pub const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

/// The warm state of one serving function.
#[derive(Debug)]
pub struct Function<S> {
    kind: InstanceKind,
    deployment: Deployment<S>,
    instances: InstanceCache,
    checker: Option<Checker>,
    gzip: GzipCache,
    bodies: BodyCache,
    response_limit: usize,
}

/// Who and what a request reached, for the access log.
#[derive(Default)]
struct Seen {
    instance: Option<String>,
    principal: Option<String>,
}

impl<S: Store> Function<S> {
    /// The function serving instances of `kind` from `store`. `local_auth` makes HTTP API
    /// events (local `cargo lambda watch` only) run the credential check in-process, with
    /// `master` for API keys; REST API events always need the authorizer's principal.
    pub fn new(
        kind: InstanceKind,
        store: S,
        instance_ttl: Duration,
        local_auth: bool,
        master: Option<MasterSecret>,
    ) -> Self {
        let checker = local_auth.then(|| Checker {
            master,
            verified: VerifiedCache::new(DEFAULT_TTL).ok(),
        });
        Self {
            kind,
            deployment: Deployment {
                store,
                mode: feedgate::auth::decide::Mode::Serverless,
                universal: None,
                master: None,
                verified: None,
                exports: ExportCache::new(),
            },
            instances: InstanceCache::new(instance_ttl),
            checker,
            gzip: GzipCache::new(),
            bodies: BodyCache::new(),
            response_limit: LAMBDA_RESPONSE_LIMIT,
        }
    }

    /// The same function with another response limit (tests of the boundary).
    #[must_use]
    pub fn with_response_limit(mut self, limit: usize) -> Self {
        self.response_limit = limit;
        self
    }

    /// The kind of instances served.
    pub fn kind(&self) -> InstanceKind {
        self.kind
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.deployment.store
    }

    /// Answers one API Gateway event at the current time.
    pub async fn handle(&self, event: Value) -> LambdaResponse {
        self.handle_at(event, Instant::now()).await
    }

    /// Answers one API Gateway event at `now`.
    pub async fn handle_at(&self, event: Value, now: Instant) -> LambdaResponse {
        let started = std::time::Instant::now();
        let incoming = match parse_event(event) {
            Ok(incoming) => incoming,
            Err(e) => {
                tracing::warn!(error = %e, "event refused");
                let response = ApiError::InvalidArgument(e.to_string()).into_response();
                return LambdaResponse::new(Origin::Rest, &response);
            }
        };
        let (response, seen) = self.respond(&incoming, now).await;
        let response = self
            .gzip
            .apply(response, &incoming.method, &incoming.headers);
        let out = self.within_limit(incoming.origin, &response);
        tracing::info!(
            target: "feedgate::access",
            instance = seen.instance.as_deref().unwrap_or("-"),
            method = %incoming.method,
            path = %incoming.path,
            status = out.status(),
            bytes = response.body.len(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            principal = seen.principal.as_deref().unwrap_or("-"),
            request_id = %incoming.request_id,
            "request"
        );
        out
    }

    async fn respond(&self, incoming: &Incoming, now: Instant) -> (Response, Seen) {
        let mut seen = Seen::default();
        let response = self
            .admitted(incoming, now, &mut seen)
            .await
            .unwrap_or_else(ApiError::into_response);
        (response, seen)
    }

    async fn admitted(
        &self,
        incoming: &Incoming,
        now: Instant,
        seen: &mut Seen,
    ) -> Result<Response, ApiError> {
        let route = resolve(&incoming.path)?;
        let loaded = self.instance(route.instance).await?;
        seen.instance = Some(loaded.instance.name.clone());
        let mut request = Request {
            method: incoming.method.clone(),
            path: route.path,
            query: incoming.query.clone(),
            headers: incoming.headers.clone(),
            body: Bytes::new(),
        };
        check_route(self.kind, &request)?;
        seen.principal = Some(self.principal(incoming, &loaded, &request, now).await?);
        if let KindParams::Webhook(params) = &loaded.instance.params
            && let Some(length) = request
                .header("content-length")
                .and_then(|v| v.trim().parse::<u64>().ok())
        {
            check_body_size(length, params)?;
        }
        request.body = incoming.body.clone();
        Ok(self
            .deployment
            .handle(&loaded.instance, &request, now)
            .await)
    }

    /// The instance of this function's kind named `name`; 404 for none, 503 when the store
    /// cannot be read.
    async fn instance(&self, name: &str) -> Result<Loaded, ApiError> {
        let loaded = self
            .instances
            .load(&self.deployment.store, name)
            .await
            .map_err(|e| {
                tracing::error!(instance = name, error = %e, "loading the instance failed");
                e.to_api_error()
            })?
            .ok_or(NOT_FOUND)?;
        if loaded.instance.params.kind() != self.kind {
            tracing::error!(
                instance = name,
                kind = ?loaded.instance.params.kind(),
                function = ?self.kind,
                "route sends this instance to the wrong function"
            );
            return Err(NOT_FOUND);
        }
        Ok(loaded)
    }

    /// Who is calling: the authorizer's principal (REST), or the in-process check for local
    /// HTTP API events when enabled; otherwise 401.
    async fn principal(
        &self,
        incoming: &Incoming,
        loaded: &Loaded,
        request: &Request,
        now: Instant,
    ) -> Result<String, ApiError> {
        match (incoming.origin, &self.checker) {
            (Origin::Rest, _) => from_context(incoming.authorizer.as_ref(), self.kind),
            (Origin::Http, Some(checker)) => checker
                .authenticate(&self.deployment.store, loaded, request, now)
                .await
                .map(|p| p.to_string())
                .map_err(|denial| {
                    if denial.is_server_error() {
                        tracing::error!(error = %denial, "authentication store failed");
                    } else {
                        tracing::debug!(reason = %denial, "request not admitted");
                    }
                    ApiError::from(denial)
                }),
            (Origin::Http, None) => {
                tracing::warn!("HTTP API event without local authentication: refused");
                Err(fail_closed(self.kind))
            }
        }
    }

    /// The proxy response, or a 413 when it would exceed the response limit.
    fn within_limit(&self, origin: Origin, response: &Response) -> LambdaResponse {
        let out = LambdaResponse::with_body(origin, response, self.bodies.body(response));
        let size = out.payload_len();
        if size <= self.response_limit {
            return out;
        }
        let gzipped = response.header("Content-Encoding").is_some();
        tracing::warn!(
            size,
            limit = self.response_limit,
            gzipped,
            "response over the Lambda limit"
        );
        let error = too_large(self.kind, size, self.response_limit, gzipped);
        LambdaResponse::new(origin, &error.into_response())
    }
}

/// The 413 for an answer of `size` bytes over `limit`: how to page, and gzip if unused.
pub fn too_large(kind: InstanceKind, size: usize, limit: usize, gzipped: bool) -> ApiError {
    let gzip = if gzipped {
        ""
    } else {
        ", or send Accept-Encoding: gzip"
    };
    let message = match kind {
        InstanceKind::Export => format!(
            "list too large for one response: {size} bytes, the limit is {limit}; \
             page with s and n (for example ?n=50000&s=0, then ?n=50000&s=50000){gzip}"
        ),
        InstanceKind::Webhook | InstanceKind::PublishList => {
            format!("response too large: {size} bytes, the limit is {limit}{gzip}")
        }
    };
    ApiError::PayloadTooLarge(message)
}
