//! `publish-list`: the Lambda function behind every publish-list instance (named lists) route, under both
//! `/xsoar/instance/execute/{instance}` and `/instance/execute/{instance}`, each with an
//! optional trailing path. API Gateway's authorizer has checked the credentials; the handler
//! (`feedgate_functions::Function`) refuses requests that carry no authorizer principal.

use feedgate::store::InstanceKind;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    feedgate_functions::serve::run(InstanceKind::PublishList).await
}
