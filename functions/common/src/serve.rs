//! Start-up of a serving function (`export`, `webhook`, `publish-list`): configuration from
//! the environment, tracing, the AWS clients built once, then the Lambda runtime loop. The
//! three binaries differ only in the instance kind they serve.

use std::convert::Infallible;

use feedgate::store::InstanceKind;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use crate::Function;
use crate::aws::{SERVING_STORE_TIMEOUT, dynamo_store, init_tracing, master_secret, sdk_config};
use crate::config::{FEEDGATE_LOCAL_AUTH, FunctionConfig, ProcessEnv};

/// Runs the function serving instances of `kind` until the runtime stops it. Start-up
/// failures (missing `FEEDGATE_*` configuration, unreadable master secret) panic with a
/// message naming what is missing: the function cannot serve anything without them.
pub async fn run(kind: InstanceKind) -> Result<(), Error> {
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
    let function = Function::new(kind, store, config.instance_ttl, config.local_auth, master);
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Infallible>(function.handle(event.payload).await)
    }))
    .await
}
