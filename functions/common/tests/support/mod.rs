//! Test support: a fresh table on the shared moto server, seeding from the conformance
//! case setup, and [`Gateway`]: API Gateway's part of a request, in front of the real
//! authorizer and function handlers.
//!
//! The gateway does what the deployed REST API does: one route pair per instance and
//! prefix (others get the `MISSING_AUTHENTICATION_TOKEN` gateway response), the REQUEST
//! authorizer first (its `Unauthorized` error, Deny policy and other errors become the
//! `UNAUTHORIZED`, `ACCESS_DENIED` and `AUTHORIZER_FAILURE` gateway responses, read from
//! `infra/template.yaml` so a change there is seen here), then the proxy integration with the
//! authorizer's context, request bodies base64-encoded (the API's binary media types are
//! `*/*`), responses decoded, HEAD bodies dropped.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use feedgate::auth::Credential;
use feedgate::auth::apikey::MasterSecret;
use feedgate::instant::Instant;
use feedgate::store::{CredentialStore, InstanceKind, InstanceRecord, InstanceStore};
use feedgate_functions::{Authorizer, Function};
use feedgate_store_dynamo::DynamoStore;
use feedgate_tests::http_client::HttpResponse;
use feedgate_tests::http_vectors::Setup;
use feedgate_tests::http_vectors::seed_data;
use feedgate_tests::moto;
use lambda_runtime::Diagnostic;
use serde_json::{Map, Value, json};

/// A fresh table on the shared moto server, through a client of its own.
pub async fn fresh_store(test: &str) -> DynamoStore {
    let table = format!("fn-{test}-{:x}", Instant::now().unix_nanos());
    let store = DynamoStore::new(&client(), table);
    store.create_table_if_missing().await.expect("create table");
    store
}

/// A client for the shared moto server, patient enough for thousands of concurrent calls:
/// they overflow moto's listen backlog (connecting waits) and its single process answers
/// slowly, which the SDK's stalled-stream protection would take for a dead connection.
pub fn client() -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    use aws_sdk_dynamodb::config::{
        BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
    };
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(moto::shared().endpoint())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(60))
                .operation_attempt_timeout(Duration::from_secs(300))
                .operation_timeout(Duration::from_secs(600))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Another store value on `store`'s table (its own caches), as another Lambda has.
pub fn same_table(store: &DynamoStore) -> DynamoStore {
    DynamoStore::new(&client(), store.table())
}

/// The kind named in a case file.
pub fn kind(name: &str) -> InstanceKind {
    serde_json::from_value(Value::from(name)).expect("instance kind")
}

/// Stores what a conformance case's setup describes.
pub async fn seed(store: &DynamoStore, setup: &Setup) {
    if let Some(u) = &setup.universal_credentials {
        let c = Credential::from_password(&u.username, &u.password).expect("hash");
        store.set_universal(c).await.expect("universal");
    }
    for i in &setup.instances {
        let record = InstanceRecord {
            name: i.name.clone(),
            kind: kind(&i.kind),
            port: None,
            params: i.params.clone(),
        };
        store.put_instance(record).await.expect("instance");
        if let Some(c) = &i.credentials {
            let c = Credential::from_password(&c.username, &c.password).expect("hash");
            store
                .set_instance_credential(&i.name, c)
                .await
                .expect("instance credential");
        }
    }
    seed_data(store, setup).await;
}

/// One gateway response of the template: status, headers, body.
#[derive(Debug, Clone)]
pub struct GatewayResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl GatewayResponse {
    fn to_http(&self) -> HttpResponse {
        HttpResponse {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone().into_bytes(),
        }
    }
}

/// `GatewayResponses` of the REST API in `infra/template.yaml`, by response type.
pub fn gateway_responses() -> HashMap<String, GatewayResponse> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    let text = std::fs::read_to_string(&path).expect("infra/template.yaml");
    let template: Value = serde_yaml::from_str(&text).expect("template is YAML");
    let api = template["Resources"]
        .as_object()
        .expect("Resources")
        .values()
        .find(|r| r["Type"] == "AWS::Serverless::Api")
        .expect("a REST API in the template");
    let unquote = |v: &Value| v.as_str().unwrap_or_default().trim_matches('\'').to_owned();
    api["Properties"]["GatewayResponses"]
        .as_object()
        .expect("GatewayResponses")
        .iter()
        .map(|(kind, r)| {
            let status = unquote(&r["StatusCode"]).parse().expect("status code");
            let headers = r["ResponseParameters"]["Headers"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), unquote(v)))
                .collect();
            let body = r["ResponseTemplates"]["application/json"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (
                kind.clone(),
                GatewayResponse {
                    status,
                    headers,
                    body,
                },
            )
        })
        .collect()
}

/// The route prefixes of the template.
const PREFIXES: [&str; 2] = ["/xsoar/instance/execute", "/instance/execute"];

/// API Gateway in front of the authorizer and the three serving functions.
pub struct Gateway {
    /// The authorizer, on its own store value.
    pub authorizer: Authorizer<DynamoStore>,
    /// The serving functions, each on its own store value.
    pub functions: Vec<Function<DynamoStore>>,
    /// Instance name → kind: the route table the template would declare.
    pub routes: HashMap<String, InstanceKind>,
    responses: HashMap<String, GatewayResponse>,
}

impl Gateway {
    /// A gateway for the instances of `setup` on `store`'s table, with the setup's master
    /// secret, every component on its own store value and fresh caches.
    pub fn new(store: &DynamoStore, setup: &Setup) -> Self {
        let master = setup
            .master_secret
            .as_deref()
            .map(|s| MasterSecret::new(s).expect("master secret"));
        let ttl = Duration::from_secs(30);
        let functions = [
            InstanceKind::Export,
            InstanceKind::Webhook,
            InstanceKind::PublishList,
        ]
        .into_iter()
        .map(|k| Function::new(k, same_table(store), ttl, false, None))
        .collect();
        Self {
            authorizer: Authorizer::new(same_table(store), master, ttl),
            functions,
            routes: setup
                .instances
                .iter()
                .map(|i| (i.name.clone(), kind(&i.kind)))
                .collect(),
            responses: gateway_responses(),
        }
    }

    fn gateway_response(&self, kind: &str) -> HttpResponse {
        self.responses
            .get(kind)
            .unwrap_or_else(|| panic!("the template has no {kind} gateway response"))
            .to_http()
    }

    /// The resource a path matches: `(resource, instance, proxy)`.
    fn route(&self, path: &str) -> Option<(String, String, Option<String>)> {
        for prefix in PREFIXES {
            let Some(rest) = path.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
            if !self.routes.contains_key(name) {
                continue;
            }
            return Some(if tail.is_empty() {
                (format!("{prefix}/{name}"), name.to_owned(), None)
            } else {
                (
                    format!("{prefix}/{name}/{{proxy+}}"),
                    name.to_owned(),
                    Some(tail.to_owned()),
                )
            });
        }
        None
    }

    /// Sends one request: `target` is the path and query as a client sends them.
    pub async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> HttpResponse {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let Some((resource, instance, proxy)) = self.route(path) else {
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN");
        };
        let mut fields: Vec<(String, String)> = vec![
            (
                "Host".into(),
                "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com".into(),
            ),
            ("X-Forwarded-For".into(), "203.0.113.7".into()),
            ("X-Forwarded-Proto".into(), "https".into()),
            (
                "X-Amzn-Trace-Id".into(),
                "Root=1-67891233-abcdef012345678912345678".into(),
            ),
        ];
        fields.extend(headers.iter().cloned());
        if let Some(body) = body {
            fields.push(("Content-Length".into(), body.len().to_string()));
        }
        let mut event = json!({
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": single_values(&fields),
            "multiValueHeaders": multi_values(&fields),
            "queryStringParameters": null,
            "multiValueQueryStringParameters": null,
            "pathParameters": proxy.as_ref().map(|p| json!({"proxy": p})),
            "stageVariables": null,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": format!("/prod{path}"),
                "stage": "prod",
                "requestId": format!("req-{:x}", Instant::now().unix_nanos()),
                "accountId": "123456789012",
                "apiId": "a1b2c3d4e5",
                "protocol": "HTTP/1.1",
                "identity": {"sourceIp": "203.0.113.7", "userAgent": "feedgate-test"},
                "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
                "requestTimeEpoch": 1_700_000_000_000_i64
            }
        });
        let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if !decoded.is_empty() {
            event["queryStringParameters"] = single_values(&decoded);
            event["multiValueQueryStringParameters"] = multi_values(&decoded);
        }
        let mut authorizer_event = event.clone();
        authorizer_event["type"] = json!("REQUEST");
        authorizer_event["methodArn"] = json!(format!(
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/{method}{path}"
        ));
        let context = match self.authorizer.authorize(authorizer_event).await {
            Err(e) => {
                let diagnostic = Diagnostic::from(e);
                return if diagnostic.error_message == "Unauthorized" {
                    self.gateway_response("UNAUTHORIZED")
                } else {
                    self.gateway_response("AUTHORIZER_FAILURE")
                };
            }
            Ok(policy) if policy.effect() != "Allow" => {
                return self.gateway_response("ACCESS_DENIED");
            }
            Ok(policy) => {
                let mut context = policy.context.clone();
                context.insert("principalId".into(), Value::from(policy.principal_id));
                context.insert("integrationLatency".into(), Value::from(3));
                context
            }
        };
        event["requestContext"]["authorizer"] = Value::Object(context);
        event["body"] = body.map_or(Value::Null, |b| Value::from(STANDARD.encode(b)));
        event["isBase64Encoded"] = Value::from(body.is_some());
        let kind = self.routes[&instance];
        let function = self
            .functions
            .iter()
            .find(|f| f.kind() == kind)
            .expect("a function per kind");
        let response = serde_json::to_value(function.handle(event).await).expect("response json");
        let mut http = from_proxy_response(&response);
        if method == "HEAD" {
            http.body.clear();
        }
        http
    }
}

fn single_values(pairs: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        map.insert(k.clone(), Value::from(v.as_str()));
    }
    Value::Object(map)
}

fn multi_values(pairs: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        if let Some(Value::Array(values)) = map.get_mut(k) {
            values.push(Value::from(v.as_str()));
        } else {
            map.insert(k.clone(), json!([v]));
        }
    }
    Value::Object(map)
}

/// What the client receives for a proxy integration response (REST or HTTP API shape).
pub fn from_proxy_response(response: &Value) -> HttpResponse {
    let status = response["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .expect("statusCode");
    let mut headers = Vec::new();
    for (name, values) in response["multiValueHeaders"]
        .as_object()
        .into_iter()
        .flatten()
    {
        for v in values.as_array().into_iter().flatten() {
            headers.push((name.clone(), v.as_str().unwrap_or_default().to_owned()));
        }
    }
    for (name, v) in response["headers"].as_object().into_iter().flatten() {
        headers.push((name.clone(), v.as_str().unwrap_or_default().to_owned()));
    }
    let text = response["body"].as_str().unwrap_or_default();
    let body = if response["isBase64Encoded"] == true {
        STANDARD.decode(text).expect("base64 body")
    } else {
        text.as_bytes().to_vec()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// The current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    i64::try_from(Instant::now().unix_nanos() / 1_000_000).expect("milliseconds fit")
}
