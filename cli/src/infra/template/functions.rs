//! Per function: its log group, its role (only what it needs), and the function with the
//! API events of the instances it serves.

use feedgate::store::InstanceKind;
use serde_json::{Map, Value, json};

use super::{
    API_ID, AUTHORIZER, ENV_MASTER_SECRET_PARAM, ENV_MODE, ENV_TABLE, FunctionSpec, Instance,
    MODE_SERVERLESS, TABLE_ID, checkov_skips, logical_id, routes,
};

/// A log group named by `name` (`Fn::Sub` text) with the template's retention.
pub(super) fn log_group(name: &str) -> Value {
    json!({
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Metadata": checkov_skips(&[
            ("CKV_AWS_158", "CloudWatch Logs encrypts at rest with its own key; the logs hold no secrets (Authorization headers and keys are never logged)"),
        ]),
        "Properties": {
            "LogGroupName": {"Fn::Sub": name},
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        }
    })
}

/// Lambda may assume the role; nothing else may.
fn lambda_trust() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }]
    })
}

/// The function's role: write its own log group, the table actions it needs on the table's
/// ARN (no index exists), and for the authorizer `ssm:GetParameter` on the master secret's
/// parameter. No managed policy: `AWSLambdaBasicExecutionRole` would grant logs on `*`.
pub(super) fn role(spec: &FunctionSpec) -> Value {
    let mut statements = vec![
        json!({
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": [format!("{}LogGroup", spec.stem), "Arn"]},
        }),
        json!({
            "Sid": "Table",
            "Effect": "Allow",
            "Action": spec.dynamodb_actions,
            "Resource": {"Fn::GetAtt": [TABLE_ID, "Arn"]},
        }),
    ];
    if spec.reads_master_secret {
        statements.push(json!({
            "Sid": "MasterSecret",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${MasterSecretParameterName}"},
        }));
    }
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": format!("feedgate {} function", spec.binary),
            "AssumeRolePolicyDocument": lambda_trust(),
            "Policies": [{
                "PolicyName": format!("feedgate-{}", spec.binary),
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }],
        }
    })
}

/// The function, built by cargo-lambda from the workspace root (`CodeUri` is relative to
/// `infra/`), with one API event per route of each instance it serves.
pub(super) fn function(spec: &FunctionSpec, served: &[&Instance]) -> Value {
    let mut env = Map::new();
    env.insert(ENV_MODE.into(), json!(MODE_SERVERLESS));
    env.insert(ENV_TABLE.into(), json!({"Ref": TABLE_ID}));
    if spec.reads_master_secret {
        env.insert(
            ENV_MASTER_SECRET_PARAM.into(),
            json!({"Ref": "MasterSecretParameterName"}),
        );
    }
    let mut metadata = json!({
        "BuildMethod": "rust-cargolambda",
        "BuildProperties": {"Binary": spec.binary},
    });
    if let (Some(meta), Value::Object(skips)) = (metadata.as_object_mut(), function_skips()) {
        meta.extend(skips);
    }
    let memory = if spec.kind == Some(InstanceKind::Export) {
        1024
    } else {
        256
    };
    let mut properties = json!({
        "Description": spec.description,
        "CodeUri": "..",
        "Handler": "bootstrap",
        "Runtime": "provided.al2023",
        "Architectures": ["arm64"],
        "MemorySize": memory,
        "Timeout": spec.timeout,
        "Role": {"Fn::GetAtt": [format!("{}Role", spec.stem), "Arn"]},
        "LoggingConfig": {"LogGroup": {"Ref": format!("{}LogGroup", spec.stem)}},
        "Environment": {"Variables": env},
    });
    if !served.is_empty()
        && let Some(props) = properties.as_object_mut()
    {
        props.insert("Events".into(), events(served));
    }
    json!({
        "Type": "AWS::Serverless::Function",
        "Metadata": metadata,
        "Properties": properties,
    })
}

/// checkov findings that do not apply to these functions, with the reason.
fn function_skips() -> Value {
    checkov_skips(&[
        (
            "CKV_AWS_115",
            "Throttled per route at API Gateway and per source address by WAF; reserved concurrency fails to deploy on accounts with the default concurrency quota",
        ),
        (
            "CKV_AWS_116",
            "Invoked synchronously by API Gateway; a dead-letter queue only receives failed asynchronous invocations",
        ),
        (
            "CKV_AWS_117",
            "Reaches only DynamoDB and SSM through their public endpoints with IAM; a VPC would add NAT or endpoints and cold-start latency",
        ),
        (
            "CKV_AWS_173",
            "Environment holds names only (table, parameter name, mode), never a secret; the master secret stays in SSM",
        ),
    ])
}

/// `<InstanceId><Prefix>[Proxy]` → `ANY <path>` on the API, behind the authorizer.
fn events(served: &[&Instance]) -> Value {
    let mut events = Map::new();
    for instance in served {
        let id = logical_id(&instance.name);
        for (suffix, path) in routes(&instance.name) {
            events.insert(
                format!("{id}{suffix}"),
                json!({
                    "Type": "Api",
                    "Properties": {
                        "RestApiId": {"Ref": API_ID},
                        "Path": path,
                        "Method": "ANY",
                        "Auth": {"Authorizer": AUTHORIZER},
                    }
                }),
            );
        }
    }
    Value::Object(events)
}
