//! The REST API: routes come from the functions' events; here are its stage settings, the
//! authorizer, gateway responses, and the WAF rate limit in front of it.

use serde_json::{Map, Value, json};

use super::{API_ID, AUTHORIZER, STAGE, checkov_skips};

/// The REST API and its `prod` stage: access log, per-route throttling, the uncached REQUEST
/// authorizer as default, the gateway responses.
pub(super) fn api() -> Value {
    let access_log_format = concat!(
        r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","#,
        r#""time":"$context.requestTime","method":"$context.httpMethod","#,
        r#""resource":"$context.resourcePath","path":"$context.path","#,
        r#""status":"$context.status","length":"$context.responseLength","#,
        r#""principal":"$context.authorizer.principalId","#,
        r#""authorizerStatus":"$context.authorizer.status","#,
        r#""error":"$context.error.message","latency":"$context.integrationLatency"}"#
    );
    json!({
        "Type": "AWS::Serverless::Api",
        "Metadata": checkov_skips(&[
            ("CKV_AWS_120", "No API cache: every response depends on the caller's credentials, and the authorizer must see every request (API-key nonces are single use); functions cache in memory and answer If-None-Match with 304"),
        ]),
        "Properties": {
            "Name": {"Ref": "AWS::StackName"},
            "Description": "feedgate: one route pair per instance and prefix",
            "StageName": STAGE,
            "OpenApiVersion": "3.0.1",
            "EndpointConfiguration": {"Type": "REGIONAL"},
            // The functions answer gzip and binary bodies base64-encoded; without a binary media
            // type the gateway would hand clients the base64 text instead of the bytes.
            "BinaryMediaTypes": ["*~1*"],
            "TracingEnabled": true,
            "AccessLogSetting": {
                "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                "Format": access_log_format,
            },
            // `/*/*` sets each method's own limits: every instance route is throttled alone.
            "MethodSettings": [{
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
                "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
                "LoggingLevel": "ERROR",
                // Per-method metrics are billed per route; stage metrics come without them.
                "MetricsEnabled": false,
                "DataTraceEnabled": false,
            }],
            "Auth": {
                "DefaultAuthorizer": AUTHORIZER,
                "Authorizers": {
                    (AUTHORIZER): {
                        "FunctionArn": {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]},
                        "FunctionPayloadType": "REQUEST",
                        // No identity source: a request without `Authorization` must still reach
                        // the authorizer (which answers 401 with the challenge); API Gateway
                        // rejects requests missing an identity source before calling it. TTL 0:
                        // no cached decisions, so every API-key nonce is checked once.
                        "Identity": {"ReauthorizeEvery": 0},
                    }
                },
            },
            "GatewayResponses": gateway_responses(),
            // Stage variables nobody reads; their Refs order the stage after what logging
            // needs: the optional account-wide logging role (the Ref exists only when the
            // condition holds) and the execution log group (else the gateway creates it first).
            "Variables": {
                "LoggingAccount": {"Fn::If": [
                    "CreateApiGatewayAccount",
                    {"Ref": "ApiGatewayAccount"},
                    "preconfigured",
                ]},
                "ExecutionLogGroup": {"Ref": "ApiExecutionLogGroup"},
            },
        }
    })
}

/// Bodies the engine sends byte-for-byte (integrations.md §2.5), reused where the gateway
/// answers for the functions.
const EXPORT_401_BODY: &str =
    "Basic authentication failed. Make sure you are using the right credentials.";
const API_KEY_403_BODY: &str =
    r#"{"reply":{"err_code":403,"err_msg":"Public API request forbidden","err_extra":null}}"#;
const UNAVAILABLE_503_BODY: &str = "authentication store unavailable; retry later";
const NOT_FOUND_404_BODY: &str = "Not Found";
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

/// Gateway responses. The gateway picks a body template by content type, so each body is
/// given for both types a client may ask for, and `Content-Type` is set explicitly. Header
/// values are mapping expressions: literal text is wrapped in single quotes.
fn gateway_responses() -> Value {
    let response = |status: &str, content_type: &str, body: &str, extra: &[(&str, &str)]| {
        let mut headers = Map::new();
        headers.insert("Content-Type".into(), json!(format!("'{content_type}'")));
        for (name, value) in extra {
            headers.insert((*name).into(), json!(format!("'{value}'")));
        }
        json!({
            "StatusCode": status,
            "ResponseParameters": {"Headers": headers},
            "ResponseTemplates": {JSON: body, "text/plain": body},
        })
    };
    json!({
        // The authorizer raised "Unauthorized". The Basic challenge makes clients such as wget
        // send credentials (§2.6); the body is the export 401's, what firewalls poll.
        "UNAUTHORIZED": response("401", TEXT_PLAIN, EXPORT_401_BODY, &[
            ("WWW-Authenticate", "Basic realm=\"feedgate\""),
        ]),
        // The authorizer denied: a valid API key whose role may not call this route.
        "ACCESS_DENIED": response("403", JSON, API_KEY_403_BODY, &[]),
        // The authorizer failed (the nonce store is unreachable): retryable, as in §2.5.
        "AUTHORIZER_FAILURE": response("503", TEXT_PLAIN, UNAVAILABLE_503_BODY, &[
            ("Retry-After", "1"),
        ]),
        // No route matched: an unknown instance name (API Gateway's default is a 403).
        "MISSING_AUTHENTICATION_TOKEN": response("404", TEXT_PLAIN, NOT_FOUND_404_BODY, &[]),
    })
}

/// The role API Gateway uses to write logs, created only on request: it is an account-wide
/// setting that other stacks may already manage.
pub(super) fn api_gateway_logging_role() -> Value {
    json!({
        "Type": "AWS::IAM::Role",
        "Condition": "CreateApiGatewayAccount",
        "Properties": {
            "Description": "API Gateway pushes access and execution logs to CloudWatch (account-wide setting)",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "apigateway.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                        }]
            },
            "ManagedPolicyArns": [
                {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
            ],
        }
    })
}

/// Sets [`api_gateway_logging_role`] as the region's API Gateway CloudWatch role.
pub(super) fn api_gateway_account() -> Value {
    json!({
        "Type": "AWS::ApiGateway::Account",
        "Condition": "CreateApiGatewayAccount",
        "Properties": {
            "CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayLoggingRole", "Arn"]},
        }
    })
}

/// WAF in front of the stage: block a source address past `SourceRateLimit` per 5 minutes.
pub(super) fn web_acl() -> Value {
    json!({
        "Type": "AWS::WAFv2::WebACL",
        "Metadata": checkov_skips(&[
            ("CKV_AWS_192", "The Log4j managed rules would block webhook bodies that carry exploit strings as data: feedgate ingests security events"),
        ]),
        "Properties": {
            "Description": "feedgate: per-source-address rate limit",
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "Rules": [{
                "Name": "rate-per-source-address",
                "Priority": 0,
                "Action": {"Block": {"CustomResponse": {"ResponseCode": 429}}},
                "Statement": {
                    "RateBasedStatement": {
                        "Limit": {"Ref": "SourceRateLimit"},
                        "AggregateKeyType": "IP",
                    }
                },
                "VisibilityConfig": {
                    "SampledRequestsEnabled": true,
                    "CloudWatchMetricsEnabled": true,
                    "MetricName": "feedgate-rate-per-source-address",
                },
            }],
            "VisibilityConfig": {
                "SampledRequestsEnabled": true,
                "CloudWatchMetricsEnabled": true,
                "MetricName": "feedgate-web-acl",
            },
        }
    })
}

/// Attaches [`web_acl`] to the stage (`${Api.Stage}` also orders it after the stage).
pub(super) fn web_acl_association() -> Value {
    json!({
        "Type": "AWS::WAFv2::WebACLAssociation",
        "Properties": {
            "ResourceArn": {"Fn::Sub": format!("arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{{API_ID}}}/stages/${{{API_ID}.Stage}}")},
            "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]},
        }
    })
}
