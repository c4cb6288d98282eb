//! `export`: the Lambda function behind every export instance (indicator lists for firewalls and proxies) route, under both
//! `/xsoar/instance/execute/{instance}` and `/instance/execute/{instance}`, each with an
//! optional trailing path. API Gateway's authorizer has checked the credentials; the handler
//! (`feedgate_functions::Function`) refuses requests that carry no authorizer principal.

use feedgate::store::InstanceKind;

// A cold start decodes the whole indicator set into fresh memory: with glibc's malloc the first
// load of 1M indicators took 2.6-3.2 s against moto, with mimalloc 1.7-1.8 s
// (`cargo bench -p feedgate-store-dynamo --bench load`, which uses this allocator too).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    feedgate_functions::serve::run(InstanceKind::Export).await
}
