//! The handlers fed real API Gateway event JSON (`tests/data/`): REST API proxy events as
//! production sends them, HTTP API v2 events as `cargo lambda watch` sends them, and REST
//! REQUEST authorizer events; against a table on moto.

mod support;

use std::io::Read;
use std::time::Duration;

use feedgate::auth::Credential;
use feedgate::auth::apikey::MasterSecret;
use feedgate::store::{
    ApiKeyRecord, CredentialStore, IncidentStore, IndicatorStore, InstanceKind, InstanceRecord,
    InstanceStore, KeyStore, KeyType, ListStore, Role,
};
use feedgate::{Indicator, IndicatorType};
use feedgate_functions::authorizer::{ANONYMOUS, AuthorizerError};
use feedgate_functions::{Authorizer, Function};
use feedgate_store_dynamo::{ClientSettings, DynamoStore};
use feedgate_tests::http_client::HttpResponse;
use flate2::read::GzDecoder;
use serde_json::{Value, json};
use support::{fresh_store, from_proxy_response, same_table};

const MASTER: &str = "fixture-master-secret-0123456789abcdef";
const TTL: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = text.replace(
        "${STANDARD_KEY_101}",
        &MasterSecret::new(MASTER).expect("master").key("101"),
    );
    serde_json::from_str(&text).expect("fixture json")
}

fn record(name: &str, kind: InstanceKind, params: Value) -> InstanceRecord {
    InstanceRecord {
        name: name.into(),
        kind,
        port: None,
        params: params.as_object().cloned().expect("params object"),
    }
}

fn key(id: &str, role: Role) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.into(),
        kind: KeyType::Standard,
        role,
        created_at: "2026-01-01T00:00:00Z".into(),
        created_by: "test".into(),
        expires_at: None,
        revoked: false,
        revoked_at: None,
        comment: String::new(),
    }
}

/// The deployment the fixtures talk to: the three instances of the template's example.
async fn deployment(test: &str) -> DynamoStore {
    let store = fresh_store(test).await;
    store
        .put_instance(record(
            "edl_instance_01",
            InstanceKind::Export,
            json!({"format": "PAN-OS (text)"}),
        ))
        .await
        .expect("export instance");
    store
        .put_instance(record(
            "soc_webhook",
            InstanceKind::Webhook,
            json!({"incidentType": "Alert"}),
        ))
        .await
        .expect("webhook instance");
    store
        .put_instance(record(
            "blocklists",
            InstanceKind::PublishList,
            json!({"listsToPublish": "My List, other", "commaToLineBreak": true}),
        ))
        .await
        .expect("publish-list instance");
    let cred = |u: &str, p: &str| Credential::from_password(u, p).expect("hash");
    store
        .set_instance_credential("edl_instance_01", cred("paloalto", "Edl-Pass-1"))
        .await
        .expect("export credential");
    store
        .set_instance_credential("soc_webhook", cred("soc", "Soc-Pass-1"))
        .await
        .expect("webhook credential");
    store
        .set_universal(cred("paloalto", "Edl-Pass-1"))
        .await
        .expect("universal");
    store
        .upsert(vec![
            Indicator::new("1.1.1.1", IndicatorType::Ip),
            Indicator::new("example.com", IndicatorType::Domain),
            Indicator::new("2.2.2.2", IndicatorType::Ip),
        ])
        .await
        .expect("indicators");
    store
        .put_list("My List", "a,\"b,c\",d".as_bytes().to_vec().into())
        .await
        .expect("list");
    store
        .create_key(key("101", Role::Write))
        .await
        .expect("key 101");
    store
        .create_key(key("102", Role::Read))
        .await
        .expect("key 102");
    store
}

fn function(store: &DynamoStore, kind: InstanceKind, local_auth: bool) -> Function<DynamoStore> {
    let master = local_auth.then(|| MasterSecret::new(MASTER).expect("master"));
    Function::new(kind, same_table(store), TTL, local_auth, master)
}

fn authorizer(store: &DynamoStore) -> Authorizer<DynamoStore> {
    Authorizer::new(
        same_table(store),
        Some(MasterSecret::new(MASTER).expect("master")),
        TTL,
    )
}

async fn call(function: &Function<DynamoStore>, event: Value) -> (Value, HttpResponse) {
    let raw = serde_json::to_value(function.handle(event).await).expect("response json");
    let http = from_proxy_response(&raw);
    (raw, http)
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .expect("gzip body");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_export_event_with_a_principal_gets_the_csv_list_gzipped() {
    let store = deployment("rest-export").await;
    let export = function(&store, InstanceKind::Export, false);
    let (raw, resp) = call(&export, fixture("rest_export_get.json")).await;
    assert_eq!(resp.status, 200, "{raw}");
    assert_eq!(raw["isBase64Encoded"], true);
    assert!(raw["multiValueHeaders"].is_object());
    assert_eq!(resp.header("Content-Encoding"), Some("gzip"));
    assert_eq!(resp.header("Vary"), Some("Accept-Encoding"));
    assert!(resp.header("ETag").is_some_and(|t| t.starts_with("W/\"")));
    assert_eq!(resp.header("X-EDL-Size"), Some("3"));
    let csv = gunzip(&resp.body);
    assert!(
        csv.contains("1.1.1.1") && csv.contains("example.com"),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_export_event_without_authorizer_context_fails_closed_with_the_challenge() {
    let store = deployment("rest-no-auth").await;
    let export = function(&store, InstanceKind::Export, false);
    let (_, resp) = call(&export, fixture("rest_export_get_no_authorizer.json")).await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.header("WWW-Authenticate"),
        Some("Basic realm=\"feedgate\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_export_event_with_if_none_match_gets_304_without_a_body() {
    let store = deployment("rest-304").await;
    let export = function(&store, InstanceKind::Export, false);
    let (_, first) = call(&export, fixture("rest_export_get.json")).await;
    let tag = first.header("ETag").expect("etag").to_owned();
    let mut event = fixture("rest_export_get.json");
    event["multiValueHeaders"]["If-None-Match"] = json!([tag]);
    let (_, second) = call(&export, event).await;
    assert_eq!(second.status, 304);
    assert!(second.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_webhook_event_stores_the_incident_with_repeated_headers_joined() {
    let store = deployment("rest-webhook").await;
    let webhook = function(&store, InstanceKind::Webhook, false);
    let (raw, resp) = call(&webhook, fixture("rest_webhook_post.json")).await;
    assert_eq!(resp.status, 200, "{raw}");
    let body: Value = serde_json::from_slice(&resp.body).expect("json body");
    assert_eq!(body[0]["name"], "Suspicious login");
    assert_eq!(body[0]["type"], "Access");
    let stored = store
        .list_incidents("soc_webhook")
        .await
        .expect("incidents");
    assert_eq!(stored.len(), 1);
    let headers = &stored[0].raw_json["headers"];
    assert_eq!(headers["x-delivery"], "first, second");
    assert_eq!(headers["x-forwarded-for"], "198.51.100.20, 130.176.0.10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denial_passed_on_by_the_authorizer_gets_the_webhook_401_without_a_challenge() {
    let store = deployment("rest-denied").await;
    let webhook = function(&store, InstanceKind::Webhook, false);
    let (_, resp) = call(&webhook, fixture("rest_webhook_post_denied.json")).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("WWW-Authenticate"), None);
    assert_eq!(resp.body, b"Authorization failed.");
    assert!(
        store
            .list_incidents("soc_webhook")
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_publish_list_event_serves_the_percent_decoded_list_name() {
    let store = deployment("rest-list").await;
    let lists = function(&store, InstanceKind::PublishList, false);
    let (raw, resp) = call(&lists, fixture("rest_publish_list_get.json")).await;
    assert_eq!(resp.status, 200, "{raw}");
    assert_eq!(resp.header("Content-Encoding"), Some("gzip"));
    assert_eq!(gunzip(&resp.body), "a\nb,c\nd");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_misrouted_instance_is_404_not_found() {
    let store = deployment("rest-unknown").await;
    let export = function(&store, InstanceKind::Export, false);
    let mut event = fixture("rest_export_get.json");
    event["path"] = json!("/xsoar/instance/execute/Edl_Instance_01");
    let (_, resp) = call(&export, event).await;
    assert_eq!(
        (resp.status, resp.body.as_slice()),
        (404, &b"Not Found"[..])
    );
    assert_eq!(
        resp.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    // The webhook's route pointed at the export function: refused, not served.
    let mut event = fixture("rest_export_get.json");
    event["path"] = json!("/xsoar/instance/execute/soc_webhook");
    let (_, resp) = call(&export, event).await;
    assert_eq!(resp.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_v2_events_are_refused_without_local_auth() {
    let store = deployment("v2-refused").await;
    let export = function(&store, InstanceKind::Export, false);
    let (raw, resp) = call(&export, fixture("http_v2_export_get.json")).await;
    assert_eq!(resp.status, 401);
    assert!(raw["headers"].is_object(), "HTTP API response shape: {raw}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_v2_events_are_checked_in_process_with_local_auth() {
    let store = deployment("v2-local").await;
    let export = function(&store, InstanceKind::Export, true);
    let (raw, resp) = call(&export, fixture("http_v2_export_get.json")).await;
    assert_eq!(resp.status, 200, "{raw}");
    assert_eq!(resp.body, b"1.1.1.1\nexample.com");
    let mut wrong = fixture("http_v2_export_get.json");
    wrong["headers"]["authorization"] = json!("Basic cGFsb2FsdG86d3Jvbmc=");
    let (_, resp) = call(&export, wrong).await;
    assert_eq!(resp.status, 401);

    let webhook = function(&store, InstanceKind::Webhook, true);
    let (raw, resp) = call(&webhook, fixture("http_v2_webhook_post.json")).await;
    assert_eq!(resp.status, 200, "{raw}");
    let stored = store
        .list_incidents("soc_webhook")
        .await
        .expect("incidents");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].kind.as_deref(), Some("Alert"));
    let headers = &stored[0].raw_json["headers"];
    assert_eq!(headers["cookie"], "session=abc; theme=dark");
    assert!(headers.get("authorization").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_be_reached_is_503_with_retry_after() {
    let mut settings = ClientSettings::local("http://127.0.0.1:9");
    settings.max_attempts = 1;
    let dead = DynamoStore::new(&settings.client(), "nowhere");
    let export = Function::new(InstanceKind::Export, dead, TTL, false, None);
    let (_, resp) = call(&export, fixture("rest_export_get.json")).await;
    assert_eq!(resp.status, 503);
    assert!(resp.header("Retry-After").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizer_allows_valid_basic_with_the_principal_in_the_context() {
    let store = deployment("authz-basic").await;
    let policy = authorizer(&store)
        .authorize(fixture("authorizer_request_basic.json"))
        .await
        .expect("a policy");
    assert_eq!(policy.effect(), "Allow");
    assert_eq!(policy.principal_id, "basic:paloalto");
    assert_eq!(policy.context["principal"], "basic:paloalto");
    assert_eq!(policy.context["role"], "none");
    let statement = &policy.policy_document.statement[0];
    assert_eq!(statement.action, "execute-api:Invoke");
    assert_eq!(
        statement.resource,
        vec![
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/xsoar/instance/execute/edl_instance_01"
        ]
    );
    let json = serde_json::to_value(&policy).expect("json");
    assert!(json["policyDocument"]["Statement"][0]["Effect"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizer_answers_unauthorized_for_a_repeated_authorization_on_export() {
    let store = deployment("authz-repeat").await;
    let err = authorizer(&store)
        .authorize(fixture("authorizer_request_repeated_authorization.json"))
        .await
        .expect_err("refused");
    assert!(matches!(err, AuthorizerError::Unauthorized));
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_message, "Unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizer_allows_a_write_key_on_the_webhook_and_denies_a_read_key() {
    let store = deployment("authz-keys").await;
    let authorizer = authorizer(&store);
    let policy = authorizer
        .authorize(fixture("authorizer_request_api_key.json"))
        .await
        .expect("a policy");
    assert_eq!(policy.effect(), "Allow");
    assert_eq!(policy.context["principal"], "api-key:101");
    assert_eq!(policy.context["role"], "write");

    let mut read = fixture("authorizer_request_api_key.json");
    read["multiValueHeaders"]["x-xdr-auth-id"] = json!(["102"]);
    read["multiValueHeaders"]["Authorization"] =
        json!([MasterSecret::new(MASTER).expect("master").key("102")]);
    let policy = authorizer.authorize(read).await.expect("a policy");
    assert_eq!(policy.effect(), "Deny");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizer_passes_webhook_and_api_key_failures_to_the_function() {
    let store = deployment("authz-pass").await;
    let authorizer = authorizer(&store);
    let mut wrong_key = fixture("authorizer_request_api_key.json");
    wrong_key["multiValueHeaders"]["Authorization"] = json!(["0".repeat(64)]);
    let policy = authorizer.authorize(wrong_key).await.expect("a policy");
    assert_eq!(policy.effect(), "Allow");
    assert_eq!(policy.principal_id, ANONYMOUS);
    assert_eq!(policy.context["denial"], "api_key");
    assert!(policy.context.get("principal").is_none());

    let mut basic = fixture("authorizer_request_api_key.json");
    let fields = basic["multiValueHeaders"].as_object_mut().expect("map");
    fields.remove("x-xdr-auth-id");
    fields.insert("Authorization".into(), json!(["Basic c29jOndyb25n"]));
    let policy = authorizer.authorize(basic).await.expect("a policy");
    assert_eq!(policy.context["denial"], "unauthorized");

    let mut get = fixture("authorizer_request_api_key.json");
    get["httpMethod"] = json!("GET");
    let policy = authorizer.authorize(get).await.expect("a policy");
    assert_eq!(policy.context["denial"], "route");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizer_fails_without_unauthorized_when_the_store_is_unreachable() {
    let mut settings = ClientSettings::local("http://127.0.0.1:9");
    settings.max_attempts = 1;
    let dead = DynamoStore::new(&settings.client(), "nowhere");
    let err = Authorizer::new(dead, None, TTL)
        .authorize(fixture("authorizer_request_basic.json"))
        .await
        .expect_err("no policy");
    assert!(matches!(err, AuthorizerError::StoreUnavailable));
    assert_ne!(
        lambda_runtime::Diagnostic::from(err).error_message,
        "Unauthorized"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizer_refuses_an_event_that_is_not_a_request_authorizer_event() {
    let store = deployment("authz-bad").await;
    let mut token = fixture("authorizer_request_basic.json");
    token["type"] = json!("TOKEN");
    let err = authorizer(&store)
        .authorize(token)
        .await
        .expect_err("refused");
    assert!(matches!(err, AuthorizerError::BadEvent(_)));
}

/// A `MakeWriter` collecting everything logged into one buffer.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn logs_never_hold_passwords_keys_or_authorization_values() {
    let store = deployment("logs").await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let authorizer = authorizer(&store);
    let key = MasterSecret::new(MASTER).expect("master").key("101");
    // Succeeding and failing checks, with Basic pairs and an API key.
    let _ = authorizer
        .authorize(fixture("authorizer_request_basic.json"))
        .await;
    let _ = authorizer
        .authorize(fixture("authorizer_request_api_key.json"))
        .await;
    let mut wrong = fixture("authorizer_request_basic.json");
    wrong["multiValueHeaders"]["Authorization"] = json!(["Basic cGFsb2FsdG86V3JvbmctUGFzcy05"]);
    let _ = authorizer.authorize(wrong).await;
    let export = function(&store, InstanceKind::Export, true);
    let _ = call(&export, fixture("http_v2_export_get.json")).await;
    let mut bad = fixture("http_v2_export_get.json");
    bad["headers"]["authorization"] = json!("Basic cGFsb2FsdG86V3JvbmctUGFzcy05");
    let _ = call(&export, bad).await;

    let logs = String::from_utf8(captured.0.lock().expect("logs").clone()).expect("utf-8");
    assert!(logs.contains("allow") && logs.contains("refused"), "{logs}");
    for secret in [
        "Edl-Pass-1",
        "Wrong-Pass-9",
        "cGFsb2FsdG86RWRsLVBhc3MtMQ",
        "cGFsb2FsdG86V3JvbmctUGFzcy05",
        key.as_str(),
        MASTER,
    ] {
        assert!(!logs.contains(secret), "{secret} logged:\n{logs}");
    }
}
