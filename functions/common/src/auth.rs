//! The credential check as the functions run it, composed only of library pieces: the
//! kind's route rules (§1.3, before any credential is looked at), then
//! [`Authenticator::authenticate`] in serverless mode. The authorizer runs it for every
//! production request; the serving functions run it only for local HTTP API events when
//! `FEEDGATE_LOCAL_AUTH=engine`.
//!
//! The authorizer hands its outcome to the function in the request context
//! (`requestContext.authorizer`): [`CONTEXT_PRINCIPAL`] and [`CONTEXT_ROLE`] on success,
//! [`CONTEXT_DENIAL`] for the outcomes the function must answer itself. API Gateway gateway
//! responses are per API, not per route, so only the export challenge (401 with
//! `WWW-Authenticate`) and the API-key role refusal (403) can be gateway responses; the other
//! 401 flavours of §2.5 (webhook/publish-list `Authorization failed.` without a challenge,
//! the API-key JSON body) and the 404/405 that §1.4 puts before authentication are answered
//! by the function with the exact bytes of the spec.

use feedgate::auth::Principal;
use feedgate::auth::apikey::MasterSecret;
use feedgate::auth::cache::VerifiedCache;
use feedgate::auth::decide::{Authenticator, Denial, InstanceAuth, Mode};
use feedgate::http::{ApiError, Request, export, publish, webhook};
use feedgate::instant::Instant;
use feedgate::store::{InstanceKind, KeyStore, Role};
use serde_json::{Map, Value};

use crate::instances::Loaded;

/// Context key: the principal's log form (`basic:<user>`, `api-key:<id>`).
pub const CONTEXT_PRINCIPAL: &str = "principal";
/// Context key: the API key's role (`read`, `write`, `admin`), or `none` for Basic.
pub const CONTEXT_ROLE: &str = "role";
/// Context key: why the request was let through without a principal (values below).
pub const CONTEXT_DENIAL: &str = "denial";

/// No such instance (any more): the function answers 404.
pub const DENIAL_NOT_FOUND: &str = "not_found";
/// Path or method not served by the instance: the function answers 404 / 405.
pub const DENIAL_ROUTE: &str = "route";
/// Basic failure on a webhook or publish-list instance: 401 `Authorization failed.`.
pub const DENIAL_UNAUTHORIZED: &str = "unauthorized";
/// Header-token instance on an export route (never honoured in serverless mode): 401
/// without a challenge.
pub const DENIAL_TOKEN: &str = "token";
/// API-key failure: 401 with the API-key JSON body.
pub const DENIAL_API_KEY: &str = "api_key";

/// The kind's path and method rules (§1.3).
pub fn check_route(kind: InstanceKind, request: &Request) -> Result<(), ApiError> {
    match kind {
        InstanceKind::Export => export::check_route(request),
        InstanceKind::Webhook => webhook::check_route(request),
        InstanceKind::PublishList => publish::check_route(request),
    }
}

/// The process-wide parts of the check.
#[derive(Debug)]
pub struct Checker {
    /// API-key master secret; `None`: API keys are not configured.
    pub master: Option<MasterSecret>,
    /// Successful Basic verifications, remembered briefly (§2.6).
    pub verified: Option<VerifiedCache>,
}

impl Checker {
    /// Authenticates `request` (already routed) for `loaded` in serverless mode and checks
    /// the API key's role.
    pub async fn authenticate<K: KeyStore>(
        &self,
        keys: &K,
        loaded: &Loaded,
        request: &Request,
        now: Instant,
    ) -> Result<Principal, Denial> {
        let instance = &loaded.instance;
        let auth = InstanceAuth {
            mode: Mode::Serverless,
            name: &instance.name,
            kind: instance.params.kind(),
            credential: instance.credential.as_ref(),
            universal: loaded.universal.as_ref(),
        };
        Authenticator {
            keys,
            master: self.master.as_ref(),
            cache: self.verified.as_ref(),
        }
        .authenticate(&auth, &request.method, &request.headers, now)
        .await
    }
}

/// The role's context value.
pub fn role_name(principal: &Principal) -> &'static str {
    match principal {
        Principal::ApiKey { role, .. } => match role {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        },
        _ => "none",
    }
}

/// The 401 a request without an authorizer principal gets (fail closed): the kind's Basic
/// failure, with the challenge on export.
pub fn fail_closed(kind: InstanceKind) -> ApiError {
    match kind {
        InstanceKind::Export => ApiError::ExportUnauthorized,
        InstanceKind::Webhook | InstanceKind::PublishList => ApiError::Unauthorized,
    }
}

/// What the authorizer's context says about a request that passed the function's own
/// route checks: the principal's log form, or the error to answer. Anything but a
/// non-empty principal or a known denial fails closed.
pub fn from_context(
    context: Option<&Map<String, Value>>,
    kind: InstanceKind,
) -> Result<String, ApiError> {
    let field = |name| context.and_then(|c| c.get(name)).and_then(Value::as_str);
    if let Some(principal) = field(CONTEXT_PRINCIPAL).filter(|p| !p.is_empty()) {
        return Ok(principal.to_owned());
    }
    Err(match field(CONTEXT_DENIAL) {
        Some(DENIAL_UNAUTHORIZED) => ApiError::Unauthorized,
        Some(DENIAL_API_KEY) => ApiError::ApiKeyUnauthorized,
        Some(DENIAL_TOKEN) => ApiError::ExportUnauthorizedNoChallenge,
        _ => fail_closed(kind),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn context(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn a_principal_in_the_context_admits() {
        let c = context(json!({"principalId": "basic:u", "principal": "basic:u", "role": "none"}));
        assert_eq!(
            from_context(Some(&c), InstanceKind::Webhook),
            Ok("basic:u".to_owned())
        );
    }

    #[test]
    fn no_context_fails_closed_with_the_kinds_401() {
        assert_eq!(
            from_context(None, InstanceKind::Export),
            Err(ApiError::ExportUnauthorized)
        );
        assert_eq!(
            from_context(None, InstanceKind::PublishList),
            Err(ApiError::Unauthorized)
        );
        let empty = context(json!({"principalId": "x", "principal": ""}));
        assert_eq!(
            from_context(Some(&empty), InstanceKind::Webhook),
            Err(ApiError::Unauthorized)
        );
    }

    #[test]
    fn denials_map_to_the_spec_responses() {
        let table = [
            (DENIAL_UNAUTHORIZED, ApiError::Unauthorized),
            (DENIAL_API_KEY, ApiError::ApiKeyUnauthorized),
            (DENIAL_TOKEN, ApiError::ExportUnauthorizedNoChallenge),
            // Route and instance outcomes were re-checked by the function and passed there:
            // the authorizer saw something else, so nobody is admitted.
            (DENIAL_ROUTE, ApiError::ExportUnauthorized),
            (DENIAL_NOT_FOUND, ApiError::ExportUnauthorized),
            ("made-up", ApiError::ExportUnauthorized),
        ];
        for (denial, want) in table {
            let c = context(json!({"principalId": "anonymous", "denial": denial}));
            assert_eq!(
                from_context(Some(&c), InstanceKind::Export),
                Err(want),
                "{denial}"
            );
        }
    }

    #[test]
    fn roles_are_lowercase_words() {
        let key = |role| Principal::ApiKey {
            id: "1".into(),
            role,
        };
        assert_eq!(role_name(&key(Role::Read)), "read");
        assert_eq!(role_name(&key(Role::Write)), "write");
        assert_eq!(role_name(&key(Role::Admin)), "admin");
        assert_eq!(role_name(&Principal::Basic("u".into())), "none");
    }
}
