//! `publish-list`: the Lambda function behind every publish-list instance (named lists) route, under both
//! `/xsoar/instance/execute/{instance}` and `/instance/execute/{instance}`, each with an
//! optional trailing path. API Gateway's authorizer has checked the credentials; the handler
//! (`feedgate_functions::Function`) refuses requests that carry no authorizer principal.

use std::convert::Infallible;

use feedgate::store::InstanceKind;
use feedgate_functions::Function;
use feedgate_functions::aws::{
    SERVING_STORE_TIMEOUT, dynamo_store, init_tracing, master_secret, sdk_config,
};
use feedgate_functions::config::{FEEDGATE_LOCAL_AUTH, FunctionConfig, ProcessEnv};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = FunctionConfig::from_env(&ProcessEnv).expect("valid FEEDGATE_* configuration");
    let aws = sdk_config(SERVING_STORE_TIMEOUT).await;
    // API keys are checked here only in local runs; in AWS the authorizer checks them.
    let master = if config.local_auth {
        tracing::warn!(
            "{FEEDGATE_LOCAL_AUTH}=engine: HTTP API events are authenticated in-process (local testing only)"
        );
        master_secret(&config.master, &aws)
            .await
            .expect("readable API-key master secret")
    } else {
        None
    };
    let store = dynamo_store(&aws, &config.table);
    let function = Function::new(
        InstanceKind::PublishList,
        store,
        config.instance_ttl,
        config.local_auth,
        master,
    );
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Infallible>(function.handle(event.payload).await)
    }))
    .await
}
