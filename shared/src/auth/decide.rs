//! One request's credential decision (integrations.md §2.2, §3.7): open instance, API key,
//! header token, Basic — in that order — and which §2.5 response each failure gets. The
//! Lambda authorizer and the engine both call [`Authenticator::authenticate`]; no rule is
//! written twice.

use std::fmt;

use crate::auth::apikey::{KeyError, KeyFailure, MasterSecret, role_allows, verify_api_key};
use crate::auth::basic::parse_basic;
use crate::auth::cache::VerifiedCache;
use crate::auth::headers::{self, AUTHORIZATION, XDR_AUTH_ID};
use crate::auth::secret::ct_eq;
use crate::auth::token::{presented_token, token_header_name};
use crate::auth::{Credential, Principal};
use crate::instant::Instant;
use crate::store::{InstanceKind, KeyStore, Role, StoreError};

/// The 503 body when the nonce store (or the key records) cannot be reached.
pub const STORE_UNAVAILABLE_MESSAGE: &str = "authentication store unavailable; retry later";
/// `Retry-After` seconds of that 503.
pub const STORE_UNAVAILABLE_RETRY_AFTER: u32 = 1;

/// Where the check runs; the modes differ on open instances and header tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One self-hosted process: credentials optional, header tokens honoured.
    Engine,
    /// API Gateway + Lambda: credentials mandatory, header tokens never honoured.
    Serverless,
}

/// What the check needs to know about the instance being called.
#[derive(Debug, Clone, Copy)]
pub struct InstanceAuth<'a> {
    /// Serverless or engine.
    pub mode: Mode,
    /// The instance name (part of the verified-credential cache key).
    pub name: &'a str,
    /// Its kind: picks the 401 flavour and the role rule.
    pub kind: InstanceKind,
    /// The instance's own credential (Basic pair or `_header:` token), if configured.
    pub credential: Option<&'a Credential>,
    /// The deployment's universal Basic pair, if configured.
    pub universal: Option<&'a Credential>,
}

/// The credential requests to an instance are checked against (§2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effective<'a> {
    /// Neither instance nor universal credentials.
    None,
    /// A Basic pair: the instance's own, else the universal one.
    Basic(&'a Credential),
    /// The instance's header token; `header` is the header that carries it.
    Token {
        /// The configured credential (`_header:<Name>` and the token's hash).
        credential: &'a Credential,
        /// `<Name>`.
        header: &'a str,
    },
}

impl<'a> InstanceAuth<'a> {
    /// The effective credential: the instance's own if set, else the universal one, else
    /// none. A credential with an empty username counts as not set. Only an instance
    /// credential can be a header token; a universal `_header:` username (refused by the
    /// loader) stays a Basic pair that no client can present.
    pub fn effective(&self) -> Effective<'a> {
        let set = |c: &&Credential| !c.username().is_empty();
        if let Some(own) = self.credential.filter(set) {
            return match token_header_name(own.username()) {
                Some(header) => Effective::Token {
                    credential: own,
                    header,
                },
                None => Effective::Basic(own),
            };
        }
        self.universal
            .filter(set)
            .map_or(Effective::None, Effective::Basic)
    }

    /// Whether everyone is admitted without a look at any header: an engine instance with no
    /// effective credential. Such instances are named in a start-up warning.
    pub fn is_open(&self) -> bool {
        self.mode == Mode::Engine && self.effective() == Effective::None
    }

    /// The header to mask in logs and drop from incidents in header-token mode.
    pub fn token_header(&self) -> Option<&'a str> {
        match self.effective() {
            Effective::Token { header, .. } => Some(header),
            _ => None,
        }
    }
}

/// The process-wide parts of the check, built once and borrowed per request.
pub struct Authenticator<'a, K> {
    /// API-key records and the nonce replay store.
    pub keys: &'a K,
    /// The master secret keys derive from; `None` means API keys are not configured and
    /// every API-key request is a 401.
    pub master: Option<&'a MasterSecret>,
    /// Remembers successful password / token verifications; `None` disables caching.
    pub cache: Option<&'a VerifiedCache>,
}

impl<K> fmt::Debug for Authenticator<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("master", &self.master)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl<K: KeyStore> Authenticator<'_, K> {
    /// Decides one request to `instance` (§2.2): an open engine instance is admitted without
    /// a look at any header; any `x-xdr-auth-id` field selects API-key verification, whose
    /// failure is final; otherwise the header token or Basic pair of the effective
    /// credential. `method` is the request method in upper case (already routed, §1.3);
    /// `fields` the request's header fields; `now` the clock for the advanced-key window,
    /// key expiry and the cache.
    ///
    /// The password hash is slow by design; a miss in the cache costs tens of
    /// milliseconds of CPU inside this future.
    pub async fn authenticate(
        &self,
        instance: &InstanceAuth<'_>,
        method: &str,
        fields: &[(String, String)],
        now: Instant,
    ) -> Result<Principal, Denial> {
        let effective = instance.effective();
        if instance.mode == Mode::Engine && effective == Effective::None {
            return Ok(Principal::Open);
        }
        if headers::present(fields, XDR_AUTH_ID) {
            let key = verify_api_key(self.keys, self.master, fields, now)
                .await
                .map_err(|e| match e {
                    KeyError::Unauthorized(failure) => Denial::ApiKey(failure),
                    KeyError::StoreUnavailable(cause) => Denial::StoreUnavailable(cause),
                })?;
            if !role_allows(key.role, instance.kind, method) {
                return Err(Denial::Forbidden {
                    id: key.id,
                    role: key.role,
                });
            }
            return Ok(Principal::ApiKey {
                id: key.id,
                role: key.role,
            });
        }
        let checked = match effective {
            Effective::None => Err(CredentialFailure::NoCredential),
            Effective::Token { .. } if instance.mode == Mode::Serverless => {
                Err(CredentialFailure::TokenNotHonoured)
            }
            Effective::Token { credential, header } => {
                self.check_token(instance.name, credential, header, fields, now)
            }
            Effective::Basic(credential) => {
                self.check_basic(instance.name, credential, fields, now)
            }
        };
        checked.map_err(|failure| Denial::credentials(instance.kind, effective, failure))
    }

    fn check_basic(
        &self,
        instance: &str,
        credential: &Credential,
        fields: &[(String, String)],
        now: Instant,
    ) -> Result<Principal, CredentialFailure> {
        let header = headers::single(fields, AUTHORIZATION)
            .ok_or(CredentialFailure::MissingAuthorization)?;
        let presented = parse_basic(header).ok_or(CredentialFailure::MalformedBasic)?;
        if self.verify(
            instance,
            credential,
            &presented.username,
            &presented.password,
            now,
        ) {
            Ok(Principal::Basic(presented.username))
        } else {
            Err(CredentialFailure::WrongPair)
        }
    }

    fn check_token(
        &self,
        instance: &str,
        credential: &Credential,
        header: &str,
        fields: &[(String, String)],
        now: Instant,
    ) -> Result<Principal, CredentialFailure> {
        let token = presented_token(header, fields).ok_or(CredentialFailure::MissingToken)?;
        // The configured username is the "presented" one: the header is the whole credential.
        if self.verify(instance, credential, credential.username(), token, now) {
            Ok(Principal::Token)
        } else {
            Err(CredentialFailure::WrongToken)
        }
    }

    /// Username and secret against `credential`, through the cache. A hit skips only the
    /// slow hash: the username is still compared, since it can change without the hash.
    fn verify(
        &self,
        instance: &str,
        credential: &Credential,
        username: &str,
        secret: &str,
        now: Instant,
    ) -> bool {
        let Some(cache) = self.cache else {
            return credential.verify(username, secret);
        };
        let key = cache.entry_key(instance, credential.password_hash(), username, secret);
        if cache.contains(&key, now) {
            return ct_eq(username.as_bytes(), credential.username().as_bytes())
                && !credential.username().is_empty();
        }
        let ok = credential.verify(username, secret);
        if ok {
            cache.insert(key, now);
        }
        ok
    }
}

/// Why a Basic pair or header token did not authenticate. For the log only: the client gets
/// the same 401 whatever the reason. Holds no presented value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialFailure {
    /// Serverless instance with neither instance nor universal credentials.
    #[error("no credential configured")]
    NoCredential,
    /// `Authorization` missing or repeated.
    #[error("authorization header missing or repeated")]
    MissingAuthorization,
    /// Not a well-formed Basic value (scheme, base64, UTF-8, `:`, length).
    #[error("malformed basic credentials")]
    MalformedBasic,
    /// Wrong username or password.
    #[error("wrong username or password")]
    WrongPair,
    /// Header-token instance in serverless mode: tokens are never honoured there.
    #[error("header token not honoured in serverless mode")]
    TokenNotHonoured,
    /// The token header missing or repeated.
    #[error("token header missing or repeated")]
    MissingToken,
    /// The token header has the wrong value.
    #[error("wrong token")]
    WrongToken,
}

/// A request not admitted, named by the §2.5 response it gets. The http layer maps each
/// variant to exactly one `ApiError`.
#[derive(Debug, thiserror::Error)]
pub enum Denial {
    /// 401 of the export service with `WWW-Authenticate: Basic realm="feedgate"` (effective
    /// credential Basic or none).
    #[error("basic authentication failed: {0}")]
    ExportChallenge(CredentialFailure),
    /// 401 of the export service without `WWW-Authenticate` (effective credential is a
    /// header token).
    #[error("token authentication failed: {0}")]
    ExportNoChallenge(CredentialFailure),
    /// 401 `Authorization failed.` of webhook and publish_list.
    #[error("authorization failed: {0}")]
    Unauthorized(CredentialFailure),
    /// 401 with the API-key JSON body.
    #[error("api key unauthorized: {0}")]
    ApiKey(KeyFailure),
    /// 403: the key authenticated but its role may not call this route.
    #[error("api key {id} with role {role:?} forbidden here")]
    Forbidden {
        /// Key id (not secret).
        id: String,
        /// Its role.
        role: Role,
    },
    /// 503 [`STORE_UNAVAILABLE_MESSAGE`] with `Retry-After: 1`.
    #[error("authentication store unavailable")]
    StoreUnavailable(#[source] StoreError),
}

impl Denial {
    /// The 401 of a failed Basic or token check on an instance of `kind` (§2.5).
    fn credentials(
        kind: InstanceKind,
        effective: Effective<'_>,
        failure: CredentialFailure,
    ) -> Self {
        match (kind, effective) {
            (InstanceKind::Export, Effective::Token { .. }) => Self::ExportNoChallenge(failure),
            (InstanceKind::Export, _) => Self::ExportChallenge(failure),
            (InstanceKind::Webhook | InstanceKind::PublishList, _) => Self::Unauthorized(failure),
        }
    }

    /// Whether this is the server's fault (logged as a 5xx with its cause).
    pub fn is_server_error(&self) -> bool {
        matches!(self, Self::StoreUnavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;
    use std::time::Duration;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::auth::apikey::advanced_digest;
    use crate::auth::testkit::{MemKeys, block_on, record};
    use crate::store::KeyType;

    use InstanceKind::{Export, PublishList, Webhook};
    use Mode::{Engine, Serverless};

    const NOW_MS: i64 = 1_700_000_000_000;
    const NOW: Instant = Instant::from_unix_millis(NOW_MS);

    struct Creds {
        universal: Credential,
        hook: Credential,
        colon: Credential,
        token: Credential,
    }

    /// Hashed once: each hash costs tens of milliseconds.
    static CREDS: LazyLock<Creds> = LazyLock::new(|| {
        let make = |u: &str, p: &str| Credential::from_password(u, p).expect("hash");
        Creds {
            universal: make("fg-universal", "Univ-Pass-1"),
            hook: make("hook-user", "Hook-Pass-1"),
            colon: make("colon-user", "pa:ss:word"),
            token: make("_header:X-Token", "s3cr3t-token"),
        }
    });

    static MASTER: LazyLock<MasterSecret> = LazyLock::new(|| {
        MasterSecret::new("fg-conformance-master-secret-2026-0001").expect("long enough")
    });

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
    }

    fn keys() -> MemKeys {
        MemKeys::with(vec![
            record("101", KeyType::Standard, Role::Read),
            record("103", KeyType::Advanced, Role::Write),
            record("110", KeyType::Standard, Role::Read),
            record("111", KeyType::Standard, Role::Admin),
        ])
    }

    fn standard_key(id: &str) -> Vec<(String, String)> {
        vec![
            ("x-xdr-auth-id".into(), id.into()),
            ("Authorization".into(), MASTER.key(id)),
        ]
    }

    struct Case {
        name: &'static str,
        mode: Mode,
        kind: InstanceKind,
        own: Option<&'static Credential>,
        universal: bool,
        method: &'static str,
        headers: Vec<(String, String)>,
        /// The principal's log form, or the denial's `Debug`.
        expect: &'static str,
    }

    fn case(name: &'static str, mode: Mode, kind: InstanceKind) -> Case {
        let method = if kind == Webhook { "POST" } else { "GET" };
        Case {
            name,
            mode,
            kind,
            own: None,
            universal: false,
            method,
            headers: Vec::new(),
            expect: "",
        }
    }

    impl Case {
        fn own(mut self, credential: &'static Credential) -> Self {
            self.own = Some(credential);
            self
        }
        fn universal(mut self) -> Self {
            self.universal = true;
            self
        }
        fn header(mut self, name: &str, value: impl Into<String>) -> Self {
            self.headers.push((name.to_owned(), value.into()));
            self
        }
        fn headers(mut self, fields: Vec<(String, String)>) -> Self {
            self.headers.extend(fields);
            self
        }
        fn expect(mut self, outcome: &'static str) -> Self {
            self.expect = outcome;
            self
        }
    }

    fn run(case: &Case, store: &MemKeys, cache: Option<&VerifiedCache>) -> String {
        let instance = InstanceAuth {
            mode: case.mode,
            name: "inst",
            kind: case.kind,
            credential: case.own,
            universal: case.universal.then_some(&CREDS.universal),
        };
        let auth = Authenticator {
            keys: store,
            master: Some(&*MASTER),
            cache,
        };
        match block_on(auth.authenticate(&instance, case.method, &case.headers, NOW)) {
            Ok(principal) => principal.to_string(),
            Err(denial) => format!("{denial:?}"),
        }
    }

    #[test]
    fn decides_basic_and_token_requests_per_the_precedence_rules() {
        let c = &*CREDS;
        let univ = basic("fg-universal", "Univ-Pass-1");
        let cases = [
            case("universal pair opens export", Serverless, Export)
                .universal()
                .header("Authorization", &univ)
                .expect("basic:fg-universal"),
            case(
                "universal pair opens webhook in engine mode",
                Engine,
                Webhook,
            )
            .universal()
            .header("Authorization", &univ)
            .expect("basic:fg-universal"),
            case("instance pair wins", Serverless, Webhook)
                .own(&c.hook)
                .universal()
                .header("Authorization", basic("hook-user", "Hook-Pass-1"))
                .expect("basic:hook-user"),
            case(
                "universal pair fails where the instance has its own",
                Engine,
                Webhook,
            )
            .own(&c.hook)
            .universal()
            .header("Authorization", &univ)
            .expect("Unauthorized(WrongPair)"),
            case("no header on publish list", Serverless, PublishList)
                .own(&c.hook)
                .expect("Unauthorized(MissingAuthorization)"),
            case(
                "serverless with no credentials rejects webhook",
                Serverless,
                Webhook,
            )
            .header("Authorization", basic("anyone", "anything"))
            .expect("Unauthorized(NoCredential)"),
            case(
                "serverless with no credentials challenges on export",
                Serverless,
                Export,
            )
            .expect("ExportChallenge(NoCredential)"),
            case("engine with no credentials is open", Engine, Webhook).expect("open"),
            case(
                "open engine instance ignores every credential header",
                Engine,
                Export,
            )
            .header("Authorization", "Basic !!!")
            .header("x-xdr-auth-id", "not-an-id")
            .expect("open"),
            case("password may hold colons", Engine, Webhook)
                .own(&c.colon)
                .header("Authorization", "Basic Y29sb24tdXNlcjpwYTpzczp3b3Jk")
                .expect("basic:colon-user"),
            case("password cut at a colon fails", Engine, Webhook)
                .own(&c.colon)
                .header("Authorization", "Basic Y29sb24tdXNlcjpwYQ==")
                .expect("Unauthorized(WrongPair)"),
            case("scheme in lower case", Serverless, PublishList)
                .own(&c.hook)
                .header("Authorization", "basic aG9vay11c2VyOkhvb2stUGFzcy0x")
                .expect("basic:hook-user"),
            case("bad base64", Serverless, Webhook)
                .own(&c.hook)
                .header("Authorization", "Basic !!notbase64!!")
                .expect("Unauthorized(MalformedBasic)"),
            case("empty username", Serverless, Webhook)
                .own(&c.hook)
                .header("Authorization", "Basic Okhvb2stUGFzcy0x")
                .expect("Unauthorized(WrongPair)"),
            case("wrong password on export challenges", Engine, Export)
                .own(&c.hook)
                .header("Authorization", basic("hook-user", "Hook-Pass-2"))
                .expect("ExportChallenge(WrongPair)"),
            case("bearer is not basic", Serverless, PublishList)
                .own(&c.hook)
                .header("Authorization", "Bearer Hook-Pass-1")
                .expect("Unauthorized(MalformedBasic)"),
            case("a bare token is not basic", Serverless, PublishList)
                .own(&c.hook)
                .header("Authorization", "aG9vay11c2VyOkhvb2stUGFzcy0x")
                .expect("Unauthorized(MalformedBasic)"),
            case("two authorization fields", Engine, Export)
                .own(&c.hook)
                .header("Authorization", basic("hook-user", "Hook-Pass-1"))
                .header("authorization", basic("hook-user", "Hook-Pass-1"))
                .expect("ExportChallenge(MissingAuthorization)"),
            case("header token in engine mode", Engine, Webhook)
                .own(&c.token)
                .header("x-token", " s3cr3t-token ")
                .expect("token"),
            case("header token is case-sensitive", Engine, Webhook)
                .own(&c.token)
                .header("X-Token", "s3cr3t-tokeN")
                .expect("Unauthorized(WrongToken)"),
            case("header token missing", Engine, Webhook)
                .own(&c.token)
                .expect("Unauthorized(MissingToken)"),
            case("header token repeated", Engine, Webhook)
                .own(&c.token)
                .header("X-Token", "s3cr3t-token")
                .header("X-Token", "s3cr3t-token")
                .expect("Unauthorized(MissingToken)"),
            case("basic is refused on a token instance", Engine, Webhook)
                .own(&c.token)
                .universal()
                .header("Authorization", &univ)
                .expect("Unauthorized(MissingToken)"),
            case("token failure on export has no challenge", Engine, Export)
                .own(&c.token)
                .expect("ExportNoChallenge(MissingToken)"),
            case(
                "serverless never honours a header token",
                Serverless,
                Webhook,
            )
            .own(&c.token)
            .header("X-Token", "s3cr3t-token")
            .expect("Unauthorized(TokenNotHonoured)"),
            case(
                "serverless token instance refuses the universal pair",
                Serverless,
                Export,
            )
            .own(&c.token)
            .universal()
            .header("Authorization", &univ)
            .expect("ExportNoChallenge(TokenNotHonoured)"),
        ];
        let store = keys();
        for case in &cases {
            assert_eq!(run(case, &store, None), case.expect, "{}", case.name);
        }
    }

    #[test]
    fn decides_api_key_requests_before_basic_and_roles_after_authentication() {
        let c = &*CREDS;
        let univ = basic("fg-universal", "Univ-Pass-1");
        let ts = NOW_MS.to_string();
        let digest = hex::encode(advanced_digest(&MASTER.key("103"), "adv-nonce", &ts));
        let advanced = vec![
            ("X-XDR-Auth-Id".to_owned(), "103".to_owned()),
            ("x-xdr-nonce".to_owned(), "adv-nonce".to_owned()),
            ("x-xdr-timestamp".to_owned(), ts),
            ("Authorization".to_owned(), digest.to_uppercase()),
        ];
        let cases = [
            case("standard read key on export", Serverless, Export)
                .universal()
                .headers(standard_key("101"))
                .expect("api-key:101"),
            case(
                "api key on an instance without basic credentials",
                Serverless,
                PublishList,
            )
            .headers(standard_key("101"))
            .expect("api-key:101"),
            case(
                "api key on a token instance in engine mode",
                Engine,
                PublishList,
            )
            .own(&c.token)
            .headers(standard_key("101"))
            .expect("api-key:101"),
            case("advanced write key on webhook", Engine, Webhook)
                .universal()
                .headers(advanced)
                .expect("api-key:103"),
            case("read key on webhook is forbidden", Serverless, Webhook)
                .universal()
                .headers(standard_key("110"))
                .expect(r#"Forbidden { id: "110", role: Read }"#),
            case(
                "an advanced key sent like a standard one fails",
                Engine,
                Export,
            )
            .universal()
            .header("x-xdr-auth-id", "103")
            .header("Authorization", MASTER.key("103"))
            .expect("ApiKey(MalformedNonce)"),
            case(
                "wrong key is 401 before any role check",
                Serverless,
                Webhook,
            )
            .universal()
            .header("x-xdr-auth-id", "110")
            .header(
                "Authorization",
                "e626a8da42a42878e7940ee1444eab5e2478183bf0d3603d7e111ab4feadf4dd",
            )
            .expect("ApiKey(WrongKey)"),
            case("admin key on webhook", Serverless, Webhook)
                .headers(standard_key("111"))
                .expect("api-key:111"),
            case("admin key on publish list", Engine, PublishList)
                .universal()
                .headers(standard_key("111"))
                .expect("api-key:111"),
            case(
                "empty key id still selects api keys, no basic fallback",
                Serverless,
                Export,
            )
            .universal()
            .header("x-xdr-auth-id", "")
            .header("Authorization", &univ)
            .expect("ApiKey(MalformedId)"),
        ];
        let store = keys();
        for case in &cases {
            assert_eq!(run(case, &store, None), case.expect, "{}", case.name);
        }
    }

    #[test]
    fn forbids_a_valid_key_whose_role_does_not_fit_the_route() {
        let store = MemKeys::with(vec![record("120", KeyType::Standard, Role::Write)]);
        let request = case("write key on export", Serverless, Export).headers(standard_key("120"));
        assert_eq!(
            run(&request, &store, None),
            r#"Forbidden { id: "120", role: Write }"#
        );
    }

    #[test]
    fn an_unreachable_nonce_store_is_a_server_error() {
        let mut store = keys();
        store.nonces_down = true;
        let ts = NOW_MS.to_string();
        let digest = hex::encode(advanced_digest(&MASTER.key("103"), "n", &ts));
        let request = case("store down", Serverless, Webhook)
            .header("x-xdr-auth-id", "103")
            .header("x-xdr-nonce", "n")
            .header("x-xdr-timestamp", ts)
            .header("Authorization", digest);
        let instance = InstanceAuth {
            mode: Serverless,
            name: "hook",
            kind: Webhook,
            credential: None,
            universal: None,
        };
        let auth = Authenticator {
            keys: &store,
            master: Some(&*MASTER),
            cache: None,
        };
        let denial = block_on(auth.authenticate(&instance, "POST", &request.headers, NOW))
            .expect_err("not admitted");
        assert!(matches!(denial, Denial::StoreUnavailable(_)) && denial.is_server_error());
    }

    #[test]
    fn an_empty_instance_username_counts_as_not_set() {
        let empty = Credential::from_hash("", "$argon2id$unused");
        let instance = InstanceAuth {
            mode: Engine,
            name: "edl",
            kind: Export,
            credential: Some(&empty),
            universal: Some(&CREDS.universal),
        };
        assert_eq!(instance.effective(), Effective::Basic(&CREDS.universal));
        let alone = InstanceAuth {
            universal: None,
            ..instance
        };
        assert!(alone.is_open());
        assert_eq!(alone.token_header(), None);
        let token = InstanceAuth {
            credential: Some(&CREDS.token),
            ..instance
        };
        assert_eq!(token.token_header(), Some("X-Token"));
    }

    #[test]
    fn the_cache_remembers_successes_only() {
        let store = keys();
        let cache = VerifiedCache::new(Duration::from_secs(60)).expect("cache");
        let good = case("good", Engine, Webhook)
            .own(&CREDS.hook)
            .header("Authorization", basic("hook-user", "Hook-Pass-1"));
        let bad = case("bad", Engine, Webhook)
            .own(&CREDS.hook)
            .header("Authorization", basic("hook-user", "Hook-Pass-2"));
        assert_eq!(run(&bad, &store, Some(&cache)), "Unauthorized(WrongPair)");
        assert!(cache.is_empty(), "failures are not cached");
        assert_eq!(run(&good, &store, Some(&cache)), "basic:hook-user");
        assert_eq!(cache.len(), 1);
        assert_eq!(run(&bad, &store, Some(&cache)), "Unauthorized(WrongPair)");
        let token = case("token", Engine, Webhook)
            .own(&CREDS.token)
            .header("X-Token", "s3cr3t-token");
        assert_eq!(run(&token, &store, Some(&cache)), "token");
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn a_cache_hit_skips_the_hash_but_not_the_username() {
        // A PHC that can never verify: only a cache hit can admit against it.
        static UNVERIFIABLE: LazyLock<Credential> =
            LazyLock::new(|| Credential::from_hash("user", "not-a-phc"));
        static RENAMED: LazyLock<Credential> =
            LazyLock::new(|| Credential::from_hash("other", "not-a-phc"));
        let store = keys();
        let cache = VerifiedCache::new(Duration::from_secs(60)).expect("cache");
        let request = |own: &'static Credential| {
            case("cached", Engine, Webhook)
                .own(own)
                .header("Authorization", basic("user", "pw"))
        };
        assert_eq!(
            run(&request(&UNVERIFIABLE), &store, Some(&cache)),
            "Unauthorized(WrongPair)"
        );
        cache.insert(cache.entry_key("inst", "not-a-phc", "user", "pw"), NOW);
        assert_eq!(
            run(&request(&UNVERIFIABLE), &store, Some(&cache)),
            "basic:user"
        );
        assert_eq!(
            run(&request(&RENAMED), &store, Some(&cache)),
            "Unauthorized(WrongPair)"
        );
    }

    #[test]
    fn denials_and_principals_never_show_a_presented_secret() {
        let store = keys();
        let cases = [
            case("wrong pair", Engine, Export)
                .own(&CREDS.hook)
                .header("Authorization", basic("hook-user", "Secret-Guess-1")),
            case("token", Engine, Webhook)
                .own(&CREDS.token)
                .header("X-Token", "Secret-Guess-1"),
            case("api key", Engine, Webhook)
                .universal()
                .header("x-xdr-auth-id", "110")
                .header("Authorization", "Secret-Guess-1"),
        ];
        for case in &cases {
            let shown = run(case, &store, None);
            assert!(!shown.contains("Secret-Guess"), "{}: {shown}", case.name);
        }
        let principal = Principal::ApiKey {
            id: "111".into(),
            role: Role::Admin,
        };
        assert_eq!(principal.to_string(), "api-key:111");
        assert!(!format!("{principal:?}").contains(&MASTER.key("111")));
    }
}
