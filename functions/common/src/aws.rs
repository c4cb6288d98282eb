//! Start-up of a function: tracing, the AWS configuration and clients (built once per
//! container and borrowed by every request), the store and the API-key master secret.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use feedgate::auth::apikey::MasterSecret;
use feedgate_store_dynamo::DynamoStore;
use tracing_subscriber::EnvFilter;

use crate::config::{FEEDGATE_MASTER_SECRET, FEEDGATE_MASTER_SECRET_PARAM, MasterSource};

/// JSON log lines on stdout (CloudWatch), filtered by `RUST_LOG`, else by Lambda's
/// `AWS_LAMBDA_LOG_LEVEL`, else `info`. Safe to call twice (the second call does nothing).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(filter)
        .try_init();
}

/// Time budget of one store call, retries included, in the serving functions: below their
/// 29 s Lambda timeout (and API Gateway's 29 s), so a stuck store is answered with the
/// function's own 503 + `Retry-After`, never with the gateway's 5xx (integrations.md §5.7).
pub const SERVING_STORE_TIMEOUT: Duration = Duration::from_secs(20);
/// The same for the authorizer, whose Lambda timeout is 10 s.
pub const AUTHORIZER_STORE_TIMEOUT: Duration = Duration::from_secs(7);
/// Time allowed for one attempt of a store call: DynamoDB answers in milliseconds, so an
/// attempt this slow is a dead connection worth retrying.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The AWS configuration from the standard environment (region and credentials of the
/// function's role; `AWS_ENDPOINT_URL_DYNAMODB` for a local server), with every call bounded
/// by `operation_timeout`.
pub async fn sdk_config(operation_timeout: Duration) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT.min(operation_timeout))
        .operation_timeout(operation_timeout)
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

/// The DynamoDB store on `table` through a client built from `config`.
pub fn dynamo_store(config: &SdkConfig, table: &str) -> DynamoStore {
    DynamoStore::new(&aws_sdk_dynamodb::Client::new(config), table)
}

/// The master secret from its source: read from SSM Parameter Store (SecureString,
/// decrypted) or taken from the environment. The message of an error names what is missing
/// and never holds the secret.
pub async fn master_secret(
    source: &MasterSource,
    config: &SdkConfig,
) -> Result<Option<MasterSecret>, String> {
    let (secret, origin) = match source {
        MasterSource::None => return Ok(None),
        MasterSource::Value(secret) => (secret.clone(), FEEDGATE_MASTER_SECRET.to_owned()),
        MasterSource::SsmParameter(name) => {
            let output = aws_sdk_ssm::Client::new(config)
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "reading SSM parameter {name} ({FEEDGATE_MASTER_SECRET_PARAM}) failed: {}",
                        aws_sdk_ssm::error::DisplayErrorContext(&e)
                    )
                })?;
            let value = output
                .parameter()
                .and_then(|p| p.value())
                .ok_or_else(|| format!("SSM parameter {name} has no value"))?;
            (value.to_owned(), format!("SSM parameter {name}"))
        }
    };
    MasterSecret::new(&secret)
        .map(Some)
        .map_err(|e| format!("{origin}: {e}"))
}
