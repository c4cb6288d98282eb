//! Building the SDK client, counting what it does, and turning SDK failures into
//! [`StoreError`]s.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::error::{BoxError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use feedgate::store::StoreError;

/// How to reach DynamoDB without reading the process environment: an explicit endpoint,
/// region and static credentials, with short timeouts. Used by tests, benchmarks and
/// `feedgate store init --endpoint`; production uses [`crate::DynamoStore::from_env`].
#[derive(Clone)]
pub struct ClientSettings {
    /// Endpoint URL, e.g. `http://127.0.0.1:5000` for moto; `None` for AWS itself.
    pub endpoint: Option<String>,
    /// AWS region.
    pub region: String,
    /// Access key id and secret; moto accepts any pair.
    pub credentials: (String, String),
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one attempt of one call, reading the response included.
    pub attempt_timeout: Duration,
    /// Time allowed for one call, retries included.
    pub operation_timeout: Duration,
    /// Attempts per call (1 = no retry).
    pub max_attempts: u32,
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret never reaches a log.
        f.debug_struct("ClientSettings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.credentials.0)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl ClientSettings {
    /// Settings for a local DynamoDB-compatible server at `endpoint` (dummy credentials,
    /// `us-east-1`, timeouts short enough that a dead server fails a call within seconds).
    pub fn local(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: Some(endpoint.into()),
            region: "us-east-1".into(),
            credentials: ("feedgate-test".into(), "feedgate-test".into()),
            connect_timeout: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(20),
            max_attempts: 3,
        }
    }

    /// The SDK client these settings describe.
    pub fn client(&self) -> Client {
        let (id, secret) = &self.credentials;
        let mut builder = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(Credentials::new(id, secret, None, None, "feedgate-static"))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(self.max_attempts.max(1)));
        if let Some(endpoint) = &self.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Client::from_conf(builder.build())
    }
}

/// What the client has done since the store was built: HTTP attempts and response bytes.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: AtomicU64,
    bytes_read: AtomicU64,
}

impl Metrics {
    /// HTTP requests sent (every retry attempt counts).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Response body bytes received.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }
}

/// Counts requests and response bytes for [`Metrics`].
#[derive(Debug)]
pub(crate) struct CountingInterceptor(pub(crate) Arc<Metrics>);

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "feedgate-metrics"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.requests.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let len = response
            .headers()
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .or_else(|| response.body().content_length())
            .unwrap_or(0);
        self.0.bytes_read.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }
}

/// `client` with the counting interceptor added.
pub(crate) fn instrument(client: &Client, metrics: Arc<Metrics>) -> Client {
    let conf = client
        .config()
        .to_builder()
        .interceptor(CountingInterceptor(metrics))
        .build();
    Client::from_conf(conf)
}

/// A failed call after the SDK's own retries: the store is unavailable to us.
pub(crate) fn unavailable<E, R>(op: &str, err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(format!("dynamodb {op}: {}", DisplayErrorContext(&err)))
}

/// Backoff before retry `attempt` (0-based) of unprocessed items or a lost race: doubling
/// from 10 ms up to about 1 s, with jitter so racing writers spread out.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = 10u64 << attempt.min(7);
    Duration::from_millis(base + crate::ids::random_u64() % (base + 1))
}
