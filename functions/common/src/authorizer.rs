//! The API Gateway (REST API) Lambda REQUEST authorizer over the library's credential check
//! (integrations.md §2.6 "Where the check runs"). Attached to every instance route with
//! result caching off (`ReauthorizeEvery: 0`), so each advanced-key nonce is checked once;
//! the verified-credential cache keeps Basic polls cheap.
//!
//! | outcome | authorizer answer | client sees |
//! |---|---|---|
//! | admitted | Allow, context `{principal, role}` | the function's answer |
//! | export: Basic failure (challenge) | error `Unauthorized` | gateway `UNAUTHORIZED`: 401 + `WWW-Authenticate: Basic realm="feedgate"` |
//! | API key with the wrong role | Deny | gateway `ACCESS_DENIED`: 403 |
//! | webhook/publish-list Basic failure, API-key failure, export header-token failure | Allow, context `{denial}` | the function's exact §2.5 401 (no challenge) |
//! | unknown instance, path or method not served | Allow, context `{denial}` | the function's 404 / 405 (§1.4: before credentials) |
//! | key/nonce store unreachable, instance unreadable | error (not `Unauthorized`) | gateway `AUTHORIZER_FAILURE` (500 by default; the template maps it to 503 + `Retry-After: 1`) |
//!
//! Letting some failures through to the function is what makes the §2.5 bytes possible:
//! gateway responses are per API, so a gateway 401 would carry the export challenge on
//! every kind. The function admits nobody without a principal in the context.

use std::time::Duration;

use feedgate::auth::Principal;
use feedgate::auth::apikey::MasterSecret;
use feedgate::auth::cache::{DEFAULT_TTL, VerifiedCache};
use feedgate::auth::decide::Denial;
use feedgate::http::Request;
use feedgate::instant::Instant;
use feedgate::store::Store;
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth::{
    CONTEXT_DENIAL, CONTEXT_PRINCIPAL, CONTEXT_ROLE, Checker, DENIAL_API_KEY, DENIAL_NOT_FOUND,
    DENIAL_ROUTE, DENIAL_TOKEN, DENIAL_UNAUTHORIZED, check_route, role_name,
};
use crate::instances::InstanceCache;
use crate::route::resolve;

/// The principal id of requests let through without a principal.
pub const ANONYMOUS: &str = "anonymous";

/// The authorizer could not (or must not) produce a policy.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerError {
    /// API Gateway answers its `UNAUTHORIZED` gateway response (the message must be exactly
    /// `Unauthorized`).
    #[error("Unauthorized")]
    Unauthorized,
    /// The store could not be read or written: `AUTHORIZER_FAILURE`.
    #[error("authentication store unavailable")]
    StoreUnavailable,
    /// The event is not a REST API REQUEST authorizer event: `AUTHORIZER_FAILURE`.
    #[error("not an API Gateway REQUEST authorizer event: {0}")]
    BadEvent(String),
}

impl From<AuthorizerError> for Diagnostic {
    fn from(e: AuthorizerError) -> Self {
        let error_type = match e {
            AuthorizerError::Unauthorized => "Unauthorized",
            AuthorizerError::StoreUnavailable => "StoreUnavailable",
            AuthorizerError::BadEvent(_) => "BadEvent",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestEvent {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    method_arn: String,
    path: String,
    #[serde(default)]
    http_method: Option<String>,
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    #[serde(default)]
    multi_value_headers: Option<Map<String, Value>>,
    #[serde(default)]
    request_context: Option<EventContext>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventContext {
    #[serde(default)]
    http_method: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
}

/// An IAM policy statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// `execute-api:Invoke`.
    pub action: String,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// The method ARN of the request.
    pub resource: Vec<String>,
}

/// The policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// `2012-10-17`.
    pub version: String,
    /// One statement.
    pub statement: Vec<Statement>,
}

/// The authorizer's answer to API Gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    /// The principal's log form, or [`ANONYMOUS`].
    pub principal_id: String,
    /// Allow or Deny for exactly this method ARN.
    pub policy_document: PolicyDocument,
    /// String values only; API Gateway passes them to the function in
    /// `requestContext.authorizer`.
    pub context: Map<String, Value>,
}

impl AuthorizerResponse {
    fn new(
        principal_id: &str,
        effect: &str,
        method_arn: &str,
        context: Map<String, Value>,
    ) -> Self {
        Self {
            principal_id: principal_id.to_owned(),
            policy_document: PolicyDocument {
                version: "2012-10-17".to_owned(),
                statement: vec![Statement {
                    action: "execute-api:Invoke".to_owned(),
                    effect: effect.to_owned(),
                    resource: vec![method_arn.to_owned()],
                }],
            },
            context,
        }
    }

    fn allow(principal: &Principal, method_arn: &str) -> Self {
        let id = principal.to_string();
        let mut context = Map::new();
        context.insert(CONTEXT_PRINCIPAL.into(), Value::from(id.clone()));
        context.insert(CONTEXT_ROLE.into(), Value::from(role_name(principal)));
        Self::new(&id, "Allow", method_arn, context)
    }

    fn pass_on(denial: &str, method_arn: &str) -> Self {
        let mut context = Map::new();
        context.insert(CONTEXT_DENIAL.into(), Value::from(denial));
        Self::new(ANONYMOUS, "Allow", method_arn, context)
    }

    fn deny(principal_id: &str, method_arn: &str) -> Self {
        Self::new(principal_id, "Deny", method_arn, Map::new())
    }

    /// `Allow` or `Deny`.
    pub fn effect(&self) -> &str {
        self.policy_document
            .statement
            .first()
            .map_or("Deny", |s| s.effect.as_str())
    }
}

/// The authorizer's warm state: store, master secret, caches.
#[derive(Debug)]
pub struct Authorizer<S> {
    store: S,
    checker: Checker,
    instances: InstanceCache,
}

impl<S: Store> Authorizer<S> {
    /// An authorizer over `store`, deriving API keys from `master`, caching instance
    /// configuration for `instance_ttl` and verified Basic credentials for 60 s.
    pub fn new(store: S, master: Option<MasterSecret>, instance_ttl: Duration) -> Self {
        let verified = VerifiedCache::new(DEFAULT_TTL)
            .inspect_err(|e| tracing::warn!(error = %e, "verified-credential cache disabled"))
            .ok();
        Self {
            store,
            checker: Checker { master, verified },
            instances: InstanceCache::new(instance_ttl),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Decides one REQUEST authorizer event at the current time.
    pub async fn authorize(&self, event: Value) -> Result<AuthorizerResponse, AuthorizerError> {
        self.authorize_at(event, Instant::now()).await
    }

    /// Decides one REQUEST authorizer event at `now`.
    pub async fn authorize_at(
        &self,
        event: Value,
        now: Instant,
    ) -> Result<AuthorizerResponse, AuthorizerError> {
        let event: RequestEvent =
            serde_json::from_value(event).map_err(|e| AuthorizerError::BadEvent(e.to_string()))?;
        if event.kind.as_deref().is_some_and(|k| k != "REQUEST") {
            return Err(AuthorizerError::BadEvent(format!(
                "authorizer type {:?}; configure a REQUEST authorizer",
                event.kind
            )));
        }
        let (context_method, request_id) = match event.request_context {
            Some(c) => (c.http_method, c.request_id.unwrap_or_default()),
            None => (None, String::new()),
        };
        let method = event
            .http_method
            .or(context_method)
            .ok_or_else(|| AuthorizerError::BadEvent("no httpMethod".into()))?
            .to_ascii_uppercase();
        let arn = event.method_arn.as_str();
        let Ok(route) = resolve(&event.path) else {
            return Ok(AuthorizerResponse::pass_on(DENIAL_NOT_FOUND, arn));
        };
        let loaded = match self.instances.load(&self.store, route.instance).await {
            Ok(Some(loaded)) => loaded,
            Ok(None) => return Ok(AuthorizerResponse::pass_on(DENIAL_NOT_FOUND, arn)),
            Err(e) => {
                tracing::error!(instance = route.instance, request_id, error = %e, "loading the instance failed");
                return Err(AuthorizerError::StoreUnavailable);
            }
        };
        let request = Request {
            method,
            path: route.path,
            query: String::new(),
            headers: crate::event::header_pairs(
                event.multi_value_headers.as_ref(),
                event.headers.as_ref(),
            ),
            body: bytes::Bytes::new(),
        };
        let kind = loaded.instance.params.kind();
        if check_route(kind, &request).is_err() {
            return Ok(AuthorizerResponse::pass_on(DENIAL_ROUTE, arn));
        }
        let decision = self
            .checker
            .authenticate(&self.store, &loaded, &request, now)
            .await;
        let instance = route.instance;
        match decision {
            Ok(principal) => {
                tracing::info!(instance, request_id, %principal, "allow");
                Ok(AuthorizerResponse::allow(&principal, arn))
            }
            Err(denial) => {
                if denial.is_server_error() {
                    tracing::error!(instance, request_id, error = %denial, "authentication store failed");
                } else {
                    tracing::info!(instance, request_id, reason = %denial, "refused");
                }
                match denial {
                    Denial::ExportChallenge(_) => Err(AuthorizerError::Unauthorized),
                    Denial::ExportNoChallenge(_) => {
                        Ok(AuthorizerResponse::pass_on(DENIAL_TOKEN, arn))
                    }
                    Denial::Unauthorized(_) => {
                        Ok(AuthorizerResponse::pass_on(DENIAL_UNAUTHORIZED, arn))
                    }
                    Denial::ApiKey(_) => Ok(AuthorizerResponse::pass_on(DENIAL_API_KEY, arn)),
                    Denial::Forbidden { id, .. } => {
                        Ok(AuthorizerResponse::deny(&format!("api-key:{id}"), arn))
                    }
                    Denial::StoreUnavailable(_) => Err(AuthorizerError::StoreUnavailable),
                }
            }
        }
    }
}
