//! One request through a deployment (integrations.md §1.4): route and method, authenticate,
//! authorise, then the integration. The engine and the Lambda functions both go through
//! here; no rule is written twice.

use serde_json::{Map, Value};

use crate::auth::Credential;
use crate::auth::Principal;
use crate::auth::apikey::MasterSecret;
use crate::auth::cache::VerifiedCache;
use crate::auth::decide::{Authenticator, InstanceAuth, Mode};
use crate::export::args::{ExportParams, ParamError};
use crate::http::export_cache::ExportCache;
use crate::http::{ApiError, Request, Response, export, publish, webhook};
use crate::instant::Instant;
use crate::lists::PublishListParams;
use crate::store::{InstanceKind, Store};
use crate::webhook::WebhookParams;

/// Kind-specific validated parameters.
#[derive(Debug, Clone)]
pub enum KindParams {
    /// Export instance.
    Export(Box<ExportParams>),
    /// Webhook instance.
    Webhook(WebhookParams),
    /// Publish-list instance.
    PublishList(PublishListParams),
}

impl KindParams {
    /// Validates XSOAR-named parameters for `kind`.
    pub fn parse(
        kind: InstanceKind,
        params: &Map<String, Value>,
        mode: Mode,
    ) -> Result<Self, ParamError> {
        Ok(match kind {
            InstanceKind::Export => Self::Export(Box::new(ExportParams::from_params(params)?)),
            InstanceKind::Webhook => Self::Webhook(WebhookParams::from_params(
                params,
                mode == Mode::Serverless,
            )?),
            InstanceKind::PublishList => Self::PublishList(PublishListParams::from_params(params)?),
        })
    }

    /// The kind.
    pub fn kind(&self) -> InstanceKind {
        match self {
            Self::Export(_) => InstanceKind::Export,
            Self::Webhook(_) => InstanceKind::Webhook,
            Self::PublishList(_) => InstanceKind::PublishList,
        }
    }
}

/// An instance as requests need it.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Name.
    pub name: String,
    /// Validated parameters.
    pub params: KindParams,
    /// Its own credential (Basic pair or `_header:<Name>` token).
    pub credential: Option<Credential>,
}

/// Everything shared by the instances of one process.
#[derive(Debug)]
pub struct Deployment<S> {
    /// The store.
    pub store: S,
    /// Engine or serverless.
    pub mode: Mode,
    /// Universal Basic credential.
    pub universal: Option<Credential>,
    /// API-key master secret.
    pub master: Option<MasterSecret>,
    /// Verified-credential cache.
    pub verified: Option<VerifiedCache>,
    /// Export dataset and render cache.
    pub exports: ExportCache,
}

impl<S: Store> Deployment<S> {
    fn instance_auth<'a>(&'a self, instance: &'a Instance) -> InstanceAuth<'a> {
        InstanceAuth {
            mode: self.mode,
            name: &instance.name,
            kind: instance.params.kind(),
            credential: instance.credential.as_ref(),
            universal: self.universal.as_ref(),
        }
    }

    /// The header that carries the instance's token, in header-token mode.
    pub fn token_header<'a>(&'a self, instance: &'a Instance) -> Option<&'a str> {
        self.instance_auth(instance).token_header()
    }

    /// Steps 2–4 of §1.4: path and method, credentials, role. Looks at no body.
    pub async fn admit(
        &self,
        instance: &Instance,
        request: &Request,
        now: Instant,
    ) -> Result<Principal, ApiError> {
        match instance.params.kind() {
            InstanceKind::Export => export::check_route(request)?,
            InstanceKind::Webhook => webhook::check_route(request)?,
            InstanceKind::PublishList => publish::check_route(request)?,
        }
        let authenticator = Authenticator {
            keys: &self.store,
            master: self.master.as_ref(),
            cache: self.verified.as_ref(),
        };
        authenticator
            .authenticate(
                &self.instance_auth(instance),
                &request.method,
                &request.headers,
                now,
            )
            .await
            .map_err(|denial| {
                if denial.is_server_error() {
                    tracing::error!(instance = %instance.name, error = %denial, "authentication store failed");
                } else {
                    tracing::debug!(instance = %instance.name, reason = %denial, "request not admitted");
                }
                ApiError::from(denial)
            })
    }

    /// Steps 5–6 for an admitted request whose body has been read.
    pub async fn handle(&self, instance: &Instance, request: &Request, now: Instant) -> Response {
        let result = match &instance.params {
            KindParams::Export(params) => self.export(instance, params, request, now).await,
            KindParams::Webhook(params) => {
                webhook::handle(
                    &self.store,
                    &instance.name,
                    params,
                    request,
                    self.token_header(instance),
                    now,
                )
                .await
            }
            KindParams::PublishList(params) => publish::handle(&self.store, params, request).await,
        };
        result.unwrap_or_else(ApiError::into_response)
    }

    async fn export(
        &self,
        instance: &Instance,
        params: &ExportParams,
        request: &Request,
        now: Instant,
    ) -> Result<Response, ApiError> {
        let dataset = self.exports.dataset(&self.store).await?;
        let full = self
            .exports
            .response(&instance.name, params, &dataset, &request.query, now)?;
        Ok(export::finish(&full, request))
    }

    /// The whole request, for front ends that already hold the body.
    pub async fn serve(&self, instance: &Instance, request: &Request, now: Instant) -> Response {
        match self.admit(instance, request, now).await {
            Ok(_) => self.handle(instance, request, now).await,
            Err(e) => e.into_response(),
        }
    }
}
