//! The AWS SAM template for a serverless deployment: one REST API with one route pair per
//! instance and prefix, the four functions, the table, and least-privilege roles.
//!
//! The template is built as a `serde_json` value (insertion-ordered) and written as YAML by
//! [`yaml`], so the same instances always give byte-identical output. Intrinsic functions use their long
//! form (`Ref:`, `Fn::GetAtt:`, `Fn::Sub:`) so any YAML parser reads the file.

use feedgate::store::InstanceKind;
use serde_json::{Map, Value, json};

use super::instances::Instance;
use super::yaml;

mod api;
mod functions;

use api::{api, api_gateway_account, api_gateway_logging_role, web_acl, web_acl_association};
use functions::{function, log_group, role};

/// Environment variable: `serverless` in every function.
pub const ENV_MODE: &str = "FEEDGATE_MODE";
/// Value of [`ENV_MODE`] in the deployed functions.
pub const MODE_SERVERLESS: &str = "serverless";
/// Environment variable: the DynamoDB table name.
pub const ENV_TABLE: &str = "FEEDGATE_TABLE";
/// Environment variable: the name (path) of the SSM SecureString parameter holding the API-key
/// master secret; the authorizer reads it with `ssm:GetParameter` + decryption at start-up.
pub const ENV_MASTER_SECRET_PARAM: &str = "FEEDGATE_MASTER_SECRET_PARAM";

/// The API stage; part of every URL.
pub const STAGE: &str = "prod";
/// The authorizer's name in the API's `Auth` section.
pub const AUTHORIZER: &str = "FeedgateAuthorizer";
/// Logical id of the REST API.
pub const API_ID: &str = "Api";
/// Logical id of the table.
pub const TABLE_ID: &str = "Table";
/// The two prefixes every instance is served under (integrations.md §1.1).
pub const PREFIXES: [(&str, &str); 2] = [
    ("Xsoar", "/xsoar/instance/execute"),
    ("Short", "/instance/execute"),
];

/// One deployed function.
#[derive(Debug, Clone, Copy)]
pub struct FunctionSpec {
    /// Prefix of its logical ids (`<Stem>Function`, `<Stem>Role`, `<Stem>LogGroup`).
    pub stem: &'static str,
    /// The cargo binary, as deployed (STYLE: binaries are named as the functions).
    pub binary: &'static str,
    /// The instances it serves; `None` for the authorizer.
    pub kind: Option<InstanceKind>,
    /// What it does, for the console.
    pub description: &'static str,
    /// DynamoDB actions on the table, nothing else.
    pub dynamodb_actions: &'static [&'static str],
    /// Whether it derives API keys (reads the master secret from SSM).
    pub reads_master_secret: bool,
    /// Seconds; exceeds the SDK's retry budget and stays within API Gateway's 29 s.
    pub timeout: u32,
}

const READ: &[&str] = &[
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
];

/// The functions, in template order. IAM follows from `dynamodb_actions`: reads for the
/// serving functions; conditional writes for incidents (webhook) and nonces and key
/// `last_used_at` (authorizer).
pub const FUNCTIONS: [FunctionSpec; 4] = [
    FunctionSpec {
        stem: "Export",
        binary: "export",
        kind: Some(InstanceKind::Export),
        description: "feedgate export: indicator lists for firewalls and proxies",
        dynamodb_actions: READ,
        reads_master_secret: false,
        timeout: 29,
    },
    FunctionSpec {
        stem: "Webhook",
        binary: "webhook",
        kind: Some(InstanceKind::Webhook),
        description: "feedgate webhook: request bodies become incidents",
        dynamodb_actions: &[
            "dynamodb:BatchGetItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
        reads_master_secret: false,
        timeout: 29,
    },
    FunctionSpec {
        stem: "PublishList",
        binary: "publish-list",
        kind: Some(InstanceKind::PublishList),
        description: "feedgate publish-list: named text lists",
        dynamodb_actions: READ,
        reads_master_secret: false,
        timeout: 29,
    },
    FunctionSpec {
        stem: "Authorizer",
        binary: "authorizer",
        kind: None,
        description: "feedgate authorizer: Basic and API-key checks for every route",
        dynamodb_actions: &[
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
        reads_master_secret: true,
        timeout: 10,
    },
];

/// A CloudFormation logical-id stem for an instance: its alphanumeric runs in PascalCase
/// (readable), then `H` and an FNV-1a hash of the exact name (unique: names differing only in
/// case or punctuation, such as `a.b`, `a_b` and `A_B`, get different ids). Depends on the
/// name alone, so adding an instance never renames another's resources.
///
/// ```
/// use feedgate_cli::infra::template::logical_id;
/// assert_eq!(logical_id("edl_instance_01"), "EdlInstance01Hfd556db4");
/// assert_ne!(logical_id("a.b"), logical_id("a_b"));
/// ```
pub fn logical_id(name: &str) -> String {
    let mut id = String::with_capacity(name.len() + 9);
    let mut word_start = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(if word_start {
                c.to_ascii_uppercase()
            } else {
                c
            });
            word_start = false;
        } else {
            word_start = true;
        }
    }
    // Names start with an alphanumeric, so `id` is never empty; a leading digit reads badly.
    if id.starts_with(|c: char| c.is_ascii_digit()) {
        id.insert(0, 'N');
    }
    id.push_str(&format!("H{:08x}", fnv1a32(name.as_bytes())));
    id
}

/// FNV-1a, 32 bits: stable across Rust versions and platforms, unlike `std`'s hashers.
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash: u32, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The route paths of one instance, with the event-name suffix of each: the instance itself
/// and its `{proxy+}` subtree, under both prefixes.
pub fn routes(name: &str) -> [(String, String); 4] {
    let [(short_a, prefix_a), (short_b, prefix_b)] = PREFIXES;
    [
        (short_a.to_owned(), format!("{prefix_a}/{name}")),
        (
            format!("{short_a}Proxy"),
            format!("{prefix_a}/{name}/{{proxy+}}"),
        ),
        (short_b.to_owned(), format!("{prefix_b}/{name}")),
        (
            format!("{short_b}Proxy"),
            format!("{prefix_b}/{name}/{{proxy+}}"),
        ),
    ]
}

/// Renders the template. `source` names the instances file in the header comment.
pub fn render(instances: &[Instance], source: &str) -> String {
    let body = yaml::to_string(&template(instances));
    format!(
        "# Generated by `feedgate infra render` from {source}: do not edit by hand.\n\
         # Add or remove instances in {source}, then re-render:\n\
         #   feedgate infra render --instances infra/instances.toml --out infra/template.yaml\n\
         {body}"
    )
}

/// The template as a value (what [`render`] writes).
pub fn template(instances: &[Instance]) -> Value {
    let mut resources = Map::new();
    resources.insert(TABLE_ID.into(), table());
    resources.insert(API_ID.into(), api());
    resources.insert(
        "ApiAccessLogGroup".into(),
        log_group("/aws/feedgate/${AWS::StackName}/api-access"),
    );
    // API Gateway writes execution logs to this fixed name; created here so it has a retention
    // (the gateway would create it with none) and goes away with the stack.
    resources.insert(
        "ApiExecutionLogGroup".into(),
        log_group(&format!("API-Gateway-Execution-Logs_${{{API_ID}}}/{STAGE}")),
    );
    resources.insert("ApiGatewayLoggingRole".into(), api_gateway_logging_role());
    resources.insert("ApiGatewayAccount".into(), api_gateway_account());
    resources.insert("WebAcl".into(), web_acl());
    resources.insert("WebAclAssociation".into(), web_acl_association());
    for spec in &FUNCTIONS {
        let served: Vec<&Instance> = instances
            .iter()
            .filter(|i| Some(i.kind) == spec.kind)
            .collect();
        resources.insert(
            format!("{}LogGroup", spec.stem),
            log_group(&format!(
                "/aws/feedgate/${{AWS::StackName}}/{}",
                spec.binary
            )),
        );
        resources.insert(format!("{}Role", spec.stem), role(spec));
        resources.insert(format!("{}Function", spec.stem), function(spec, &served));
    }

    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "feedgate: security data served over HTTPS (API Gateway REST API, Lambda, DynamoDB)",
        "Parameters": parameters(),
        "Conditions": {
            "CreateApiGatewayAccount": {
                "Fn::Equals": [{"Ref": "CreateApiGatewayLoggingRole"}, "true"]
            }
        },
        "Resources": resources,
        "Outputs": outputs(instances),
    })
}

fn parameters() -> Value {
    json!({
        "TableName": {
            "Type": "String",
            "Default": "feedgate",
            "AllowedPattern": "^[A-Za-z0-9_.-]{3,255}$",
            "Description": "DynamoDB table name; the admin CLI's [store] table must match",
        },
        "MasterSecretParameterName": {
            "Type": "String",
            "Default": "/feedgate/master-secret",
            "AllowedPattern": "^(/[A-Za-z0-9_.-]+)+$",
            "Description": "Name of the SSM SecureString parameter holding the API-key master secret (at least 32 random bytes); create it before deploying",
        },
        "LogRetentionDays": {
            "Type": "Number",
            "Default": 365,
            "AllowedValues": [30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
            "Description": "Days CloudWatch keeps function and access logs",
        },
        "ThrottlingRateLimit": {
            "Type": "Number",
            "Default": 50,
            "MinValue": 1,
            "Description": "Steady requests per second allowed on each route (method) of the stage",
        },
        "ThrottlingBurstLimit": {
            "Type": "Number",
            "Default": 100,
            "MinValue": 1,
            "Description": "Burst of requests allowed on each route (method) of the stage",
        },
        "SourceRateLimit": {
            "Type": "Number",
            "Default": 1000,
            "MinValue": 10,
            "Description": "Requests one source address may make in 5 minutes before WAF blocks it",
        },
        "CreateApiGatewayLoggingRole": {
            "Type": "String",
            "Default": "false",
            "AllowedValues": ["true", "false"],
            "Description": "true if this region's API Gateway account settings have no CloudWatch role yet (required for access logs); it is an account-wide setting",
        },
    })
}

fn table() -> Value {
    json!({
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": checkov_skips(&[
            ("CKV_AWS_119", "Encrypted at rest with the AWS managed key; a customer managed key adds cost and a key policy to run without changing who can read the data (IAM on the table decides that)"),
        ]),
        "Properties": {
            "TableName": {"Ref": "TableName"},
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
            "SSESpecification": {"SSEEnabled": true},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": true},
            "DeletionProtectionEnabled": true,
        }
    })
}

fn outputs(instances: &[Instance]) -> Value {
    let base =
        format!("https://${{{API_ID}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{STAGE}");
    let mut outputs = Map::new();
    outputs.insert(
        "BaseUrl".into(),
        json!({"Description": "Base URL of the stage", "Value": {"Fn::Sub": base}}),
    );
    outputs.insert(
        "TableName".into(),
        json!({"Description": "DynamoDB table: [store] table of the admin CLI", "Value": {"Ref": TABLE_ID}}),
    );
    outputs.insert(
        "MasterSecretParameter".into(),
        json!({"Description": "SSM SecureString parameter the authorizer reads", "Value": {"Ref": "MasterSecretParameterName"}}),
    );
    for instance in instances {
        let (_, prefix) = PREFIXES[0];
        outputs.insert(
            format!("{}Url", logical_id(&instance.name)),
            json!({
                "Description": format!(
                    "{} instance {} (also served under /instance/execute/{})",
                    kind_name(instance.kind), instance.name, instance.name
                ),
                "Value": {"Fn::Sub": format!("{base}{prefix}/{}", instance.name)},
            }),
        );
    }
    Value::Object(outputs)
}

fn kind_name(kind: InstanceKind) -> &'static str {
    match kind {
        InstanceKind::Export => "export",
        InstanceKind::Webhook => "webhook",
        InstanceKind::PublishList => "publish_list",
    }
}

/// checkov's inline skip syntax for CloudFormation: `Metadata.checkov.skip[].{id, comment}`.
fn checkov_skips(skips: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = skips
        .iter()
        .map(|(id, comment)| json!({"id": id, "comment": comment}))
        .collect();
    json!({"checkov": {"skip": list}})
}
