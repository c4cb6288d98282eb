//! `authorizer`: the API Gateway (REST API) Lambda REQUEST authorizer attached to every
//! instance route. Basic credentials and API keys are checked by the library
//! (`feedgate_functions::Authorizer`); the answer is an IAM policy, a context with the
//! principal and role, or the error `Unauthorized` that API Gateway turns into its 401.
//! Store failures are errors too: API Gateway answers them with `AUTHORIZER_FAILURE`.

use feedgate_functions::Authorizer;
use feedgate_functions::aws::{
    AUTHORIZER_STORE_TIMEOUT, dynamo_store, init_tracing, master_secret, sdk_config,
};
use feedgate_functions::config::{FunctionConfig, ProcessEnv};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = FunctionConfig::from_env(&ProcessEnv).expect("valid FEEDGATE_* configuration");
    let aws = sdk_config(AUTHORIZER_STORE_TIMEOUT).await;
    // Read once per container: the secret derives every API key (integrations.md §3.2).
    let master = master_secret(&config.master, &aws)
        .await
        .expect("readable API-key master secret");
    if master.is_none() {
        tracing::warn!("no API-key master secret configured: every API-key request is refused");
    }
    let store = dynamo_store(&aws, &config.table);
    let authorizer = Authorizer::new(store, master, config.instance_ttl);
    let authorizer = &authorizer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        authorizer.authorize(event.payload).await
    }))
    .await
}
