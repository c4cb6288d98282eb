//! `feedgate infra render`: the committed template is current, routes reach the function of
//! their instance's kind behind the authorizer, and IAM names no wildcard.

use std::path::{Path, PathBuf};
use std::process::Command;

use feedgate_cli::infra::instances::parse;
use feedgate_cli::infra::template::{self, logical_id};
use feedgate_cli::infra::{self as infra};
use serde_json::Value;

const RERENDER: &str = "cargo run -p feedgate-cli --bin feedgate -- infra render --instances infra/instances.toml --out infra/template.yaml";

/// Three kinds, a name with `.` and `-`, and two names that differ only in case.
const THREE_KINDS: &str = r#"
[[instance]]
name = "edl_instance_01"
kind = "export"
port = 8001
[instance.params]
format = "PAN-OS (text)"

[[instance]]
name = "soc.webhook-1"
kind = "webhook"

[[instance]]
name = "blocklists"
kind = "publish_list"

[[instance]]
name = "EDL_INSTANCE_01"
kind = "export"
"#;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ sits in the workspace")
        .to_owned()
}

/// The template as a JSON value, read back through a YAML parser.
fn rendered(instances_toml: &str) -> Value {
    let instances = parse(instances_toml, "test.toml").expect("valid instances");
    let text = template::render(&instances, "test.toml");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    serde_json::to_value(yaml).expect("JSON-compatible")
}

fn resources(t: &Value) -> &serde_json::Map<String, Value> {
    t["Resources"].as_object().expect("Resources")
}

#[test]
fn committed_template_is_what_the_committed_instances_render() {
    let root = workspace();
    let want = infra::render_file(&root.join("infra/instances.toml")).expect("renders");
    let have = std::fs::read_to_string(root.join("infra/template.yaml")).unwrap_or_default();
    assert!(
        have == want,
        "infra/template.yaml is not what infra/instances.toml renders; re-render from the workspace root with:\n  {RERENDER}"
    );
}

#[test]
fn routes_of_three_kinds_reach_their_functions_behind_the_authorizer() {
    let t = rendered(THREE_KINDS);
    let res = resources(&t);
    let expected = [
        ("edl_instance_01", "ExportFunction"),
        ("soc.webhook-1", "WebhookFunction"),
        ("blocklists", "PublishListFunction"),
        ("EDL_INSTANCE_01", "ExportFunction"),
    ];
    let functions = [
        "ExportFunction",
        "WebhookFunction",
        "PublishListFunction",
        "AuthorizerFunction",
    ];
    // Every (path, function) pair declared anywhere.
    let mut routes = Vec::new();
    for f in functions {
        let events = &res[f]["Properties"]["Events"];
        for (_, event) in events.as_object().into_iter().flatten() {
            assert_eq!(event["Type"], "Api");
            let p = &event["Properties"];
            assert_eq!(p["RestApiId"]["Ref"], "Api", "{f}");
            assert_eq!(p["Method"], "ANY", "{f}");
            assert_eq!(p["Auth"]["Authorizer"], "FeedgateAuthorizer", "{f}");
            routes.push((p["Path"].as_str().expect("path").to_owned(), f));
        }
    }
    assert_eq!(routes.len(), expected.len() * 4, "{routes:?}");
    for (name, function) in expected {
        for path in [
            format!("/xsoar/instance/execute/{name}"),
            format!("/xsoar/instance/execute/{name}/{{proxy+}}"),
            format!("/instance/execute/{name}"),
            format!("/instance/execute/{name}/{{proxy+}}"),
        ] {
            let targets: Vec<_> = routes.iter().filter(|(p, _)| *p == path).collect();
            assert_eq!(targets, [&(path.clone(), function)], "{path}");
        }
    }
    assert!(
        res["AuthorizerFunction"]["Properties"]["Events"].is_null(),
        "the authorizer serves no route"
    );
}

#[test]
fn authorizer_is_an_uncached_request_authorizer_without_identity_sources() {
    let t = rendered(THREE_KINDS);
    let auth = &resources(&t)["Api"]["Properties"]["Auth"];
    assert_eq!(auth["DefaultAuthorizer"], "FeedgateAuthorizer");
    let a = &auth["Authorizers"]["FeedgateAuthorizer"];
    assert_eq!(a["FunctionPayloadType"], "REQUEST");
    assert_eq!(a["FunctionArn"]["Fn::GetAtt"][0], "AuthorizerFunction");
    // A request missing an identity source is refused before the authorizer runs, which
    // would lose the 401 challenge; TTL 0 keeps every nonce checked.
    assert_eq!(a["Identity"], serde_json::json!({"ReauthorizeEvery": 0}));
}

#[test]
fn gateway_responses_challenge_with_basic_and_forbid_with_403() {
    let t = rendered(THREE_KINDS);
    let g = &resources(&t)["Api"]["Properties"]["GatewayResponses"];
    assert_eq!(g["UNAUTHORIZED"]["StatusCode"], "401");
    // A header value is a mapping expression: literal text sits in single quotes.
    assert_eq!(
        g["UNAUTHORIZED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"],
        "'Basic realm=\"feedgate\"'"
    );
    assert_eq!(g["ACCESS_DENIED"]["StatusCode"], "403");
    let body_403 = g["ACCESS_DENIED"]["ResponseTemplates"]["application/json"]
        .as_str()
        .expect("403 body")
        .to_owned();
    let body: Value = serde_json::from_str(&body_403).expect("JSON body");
    assert_eq!(body["reply"]["err_code"], 403);
    assert_eq!(g["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"], "404");
    // Where the gateway answers for the functions, it uses the engine's bodies (§2.5).
    for (kind, body, content_type) in [
        (
            "UNAUTHORIZED",
            "Basic authentication failed. Make sure you are using the right credentials.",
            "'text/plain; charset=utf-8'",
        ),
        (
            "AUTHORIZER_FAILURE",
            "authentication store unavailable; retry later",
            "'text/plain; charset=utf-8'",
        ),
        (
            "MISSING_AUTHENTICATION_TOKEN",
            "Not Found",
            "'text/plain; charset=utf-8'",
        ),
        ("ACCESS_DENIED", body_403.as_str(), "'application/json'"),
    ] {
        for template in ["application/json", "text/plain"] {
            assert_eq!(
                g[kind]["ResponseTemplates"][template], body,
                "{kind} {template}"
            );
        }
        assert_eq!(
            g[kind]["ResponseParameters"]["Headers"]["Content-Type"], content_type,
            "{kind}"
        );
    }
    assert_eq!(g["AUTHORIZER_FAILURE"]["StatusCode"], "503");
    assert_eq!(
        g["AUTHORIZER_FAILURE"]["ResponseParameters"]["Headers"]["Retry-After"],
        "'1'"
    );
}

#[test]
fn functions_are_arm64_cargo_lambda_builds_with_their_own_log_group() {
    let t = rendered(THREE_KINDS);
    let res = resources(&t);
    for (stem, binary) in [
        ("Export", "export"),
        ("Webhook", "webhook"),
        ("PublishList", "publish-list"),
        ("Authorizer", "authorizer"),
    ] {
        let f = &res[&format!("{stem}Function")];
        assert_eq!(f["Type"], "AWS::Serverless::Function");
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
        assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], binary);
        let p = &f["Properties"];
        assert_eq!(p["Runtime"], "provided.al2023");
        assert_eq!(p["Handler"], "bootstrap");
        assert_eq!(p["Architectures"], serde_json::json!(["arm64"]));
        assert_eq!(p["CodeUri"], "..", "the workspace root, seen from infra/");
        let timeout = p["Timeout"].as_u64().expect("timeout");
        assert!((5..=29).contains(&timeout), "{stem}: {timeout}");
        assert_eq!(p["Role"]["Fn::GetAtt"][0], format!("{stem}Role"));
        assert_eq!(
            p["LoggingConfig"]["LogGroup"]["Ref"],
            format!("{stem}LogGroup")
        );
        let retention = &res[&format!("{stem}LogGroup")]["Properties"]["RetentionInDays"];
        assert_eq!(retention["Ref"], "LogRetentionDays");
        let env = &p["Environment"]["Variables"];
        assert_eq!(env[template::ENV_MODE], "serverless");
        assert_eq!(env[template::ENV_TABLE]["Ref"], "Table");
        let reads_secret = stem == "Authorizer";
        assert_eq!(
            env[template::ENV_MASTER_SECRET_PARAM]["Ref"] == "MasterSecretParameterName",
            reads_secret,
            "{stem}"
        );
    }
}

#[test]
fn only_the_authorizer_may_read_exactly_the_master_secret_parameter() {
    let t = rendered(THREE_KINDS);
    let res = resources(&t);
    for stem in ["Export", "Webhook", "PublishList", "Authorizer"] {
        let statements = &res[&format!("{stem}Role")]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"];
        let ssm: Vec<&Value> = statements
            .as_array()
            .expect("statements")
            .iter()
            .filter(|s| s["Action"].to_string().contains("ssm:"))
            .collect();
        if stem == "Authorizer" {
            assert_eq!(ssm.len(), 1);
            assert_eq!(ssm[0]["Action"], "ssm:GetParameter");
            assert_eq!(
                ssm[0]["Resource"]["Fn::Sub"],
                "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${MasterSecretParameterName}"
            );
        } else {
            assert!(ssm.is_empty(), "{stem}");
        }
    }
    let param = &t["Parameters"]["MasterSecretParameterName"];
    assert_eq!(param["Type"], "String", "a name, never the secret itself");
}

#[test]
fn table_is_on_demand_recoverable_encrypted_with_nonce_ttl() {
    let t = rendered(THREE_KINDS);
    let table = &resources(&t)["Table"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    assert_eq!(table["DeletionPolicy"], "Retain");
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        p["KeySchema"],
        serde_json::json!([
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ])
    );
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(
        p["TimeToLiveSpecification"],
        serde_json::json!({"AttributeName": "expires_at", "Enabled": true})
    );
}

#[test]
fn stage_throttles_every_route() {
    let t = rendered(THREE_KINDS);
    let api = &resources(&t)["Api"]["Properties"];
    assert_eq!(api["StageName"], "prod");
    let settings = api["MethodSettings"].as_array().expect("method settings");
    let all = settings
        .iter()
        .find(|s| s["ResourcePath"] == "/*" && s["HttpMethod"] == "*")
        .expect("a setting for every method");
    assert_eq!(all["ThrottlingRateLimit"]["Ref"], "ThrottlingRateLimit");
    assert_eq!(all["ThrottlingBurstLimit"]["Ref"], "ThrottlingBurstLimit");
}

#[test]
fn outputs_give_the_base_url_and_every_instance_url() {
    let t = rendered(THREE_KINDS);
    let outputs = t["Outputs"].as_object().expect("outputs");
    let base = outputs["BaseUrl"]["Value"]["Fn::Sub"]
        .as_str()
        .expect("base");
    assert_eq!(
        base,
        "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/prod"
    );
    for name in [
        "edl_instance_01",
        "soc.webhook-1",
        "blocklists",
        "EDL_INSTANCE_01",
    ] {
        let url = &outputs[&format!("{}Url", logical_id(name))]["Value"]["Fn::Sub"];
        assert_eq!(*url, format!("{base}/xsoar/instance/execute/{name}"));
    }
}

#[test]
fn logical_ids_are_alphanumeric_and_unique() {
    let t = rendered(THREE_KINDS);
    let mut ids: Vec<String> = resources(&t).keys().cloned().collect();
    for f in resources(&t).values() {
        if let Some(events) = f["Properties"]["Events"].as_object() {
            ids.extend(events.keys().cloned());
        }
    }
    ids.extend(t["Outputs"].as_object().expect("outputs").keys().cloned());
    for id in &ids {
        assert!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{id}"
        );
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    for pair in [["a.b", "a_b"], ["a.b", "A.b"], ["ab", "a-b"], ["1x", "N1x"]] {
        assert_ne!(logical_id(pair[0]), logical_id(pair[1]), "{pair:?}");
    }
}

#[test]
fn rendering_is_deterministic() {
    let instances = parse(THREE_KINDS, "x").expect("valid");
    assert_eq!(
        template::render(&instances, "x"),
        template::render(&instances, "x")
    );
}

// ---- No `*` in any IAM Action or Resource --------------------------------------------------

/// Every string inside an `Action`, `NotAction`, `Resource` or `NotResource` of any statement
/// of the template (inline policies, managed policies, trust policies), intrinsic functions
/// included (`Fn::Sub` text, `Fn::Join` parts), with where it was found.
fn iam_strings(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}.{key}");
                if matches!(
                    key.as_str(),
                    "Action" | "NotAction" | "Resource" | "NotResource"
                ) {
                    leaves(v, &here, out);
                } else {
                    iam_strings(v, &here, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                iam_strings(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn leaves(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, path, out)),
        Value::Object(map) => map.values().for_each(|v| leaves(v, path, out)),
        _ => {}
    }
}

fn wildcards(t: &Value) -> (usize, Vec<(String, String)>) {
    let mut found = Vec::new();
    iam_strings(&t["Resources"], "Resources", &mut found);
    let checked = found.len();
    found.retain(|(_, s)| s.contains('*'));
    (checked, found)
}

#[test]
fn no_iam_action_or_resource_names_a_wildcard() {
    // The committed template, not only a test fixture: it is what gets deployed.
    let text = std::fs::read_to_string(workspace().join("infra/template.yaml"))
        .expect("committed template");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let t = serde_json::to_value(yaml).expect("JSON-compatible");
    for t in [t, rendered(THREE_KINDS)] {
        let (checked, found) = wildcards(&t);
        // Four roles, each with log, table and trust statements: the walk must see them.
        assert!(checked >= 12, "only {checked} IAM strings found");
        assert!(found.is_empty(), "wildcards in IAM: {found:?}");
    }
}

#[test]
fn the_wildcard_check_catches_a_star_anywhere_in_a_statement() {
    let base = rendered(THREE_KINDS);
    let statement = "/Resources/ExportRole/Properties/Policies/0/PolicyDocument/Statement/1";
    for (field, value) in [
        ("Action", serde_json::json!("dynamodb:*")),
        ("Action", serde_json::json!(["dynamodb:GetItem", "*"])),
        ("Resource", serde_json::json!("*")),
        (
            "Resource",
            serde_json::json!({"Fn::Sub": "arn:${AWS::Partition}:dynamodb:*:*:table/x"}),
        ),
        (
            "Resource",
            serde_json::json!({"Fn::Join": ["", ["arn:aws:s3:::b/", "*"]]}),
        ),
    ] {
        let mut t = base.clone();
        *t.pointer_mut(&format!("{statement}/{field}"))
            .expect("statement field") = value.clone();
        assert_eq!(wildcards(&t).1.len(), 1, "{field}: {value}");
    }
}

// ---- The binary ------------------------------------------------------------------------------

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("infra-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn feedgate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_feedgate"))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn render_writes_the_template_and_check_reports_staleness() {
    let dir = scratch("render");
    let instances = dir.join("instances.toml");
    let out = dir.join("template.yaml");
    std::fs::write(&instances, THREE_KINDS).expect("write");
    let (i, o) = (
        instances.to_str().expect("utf-8"),
        out.to_str().expect("utf-8"),
    );

    let run = feedgate(&["infra", "render", "--instances", i, "--out", o]);
    assert!(run.status.success(), "{run:?}");
    let written = std::fs::read_to_string(&out).expect("written");
    assert!(written.contains("/xsoar/instance/execute/soc.webhook-1"));

    let check = feedgate(&["infra", "render", "--instances", i, "--out", o, "--check"]);
    assert!(check.status.success(), "{check:?}");

    std::fs::write(&instances, THREE_KINDS.replace("blocklists", "lists2")).expect("edit");
    let check = feedgate(&["infra", "render", "--instances", i, "--out", o, "--check"]);
    assert!(!check.status.success());
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains("not up to date"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), written);
}

#[test]
fn a_bad_instances_file_fails_with_one_line_naming_the_line() {
    let dir = scratch("bad");
    let instances = dir.join("instances.toml");
    let out = dir.join("template.yaml");
    std::fs::write(
        &instances,
        THREE_KINDS.replace("name = \"blocklists\"", "name = \"block lists\""),
    )
    .expect("write");
    let run = feedgate(&[
        "infra",
        "render",
        "--instances",
        instances.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("line 14, column 8"), "{stderr}");
    assert!(stderr.contains("(try `block_lists`)"), "{stderr}");
    assert!(!out.exists(), "nothing written on failure");
}

#[test]
fn render_to_standard_output_matches_the_library() {
    let dir = scratch("stdout");
    let instances = dir.join("instances.toml");
    std::fs::write(&instances, THREE_KINDS).expect("write");
    let run = feedgate(&[
        "infra",
        "render",
        "--instances",
        instances.to_str().expect("utf-8"),
        "--out",
        "-",
    ]);
    assert!(run.status.success(), "{run:?}");
    let want = infra::render_file(&instances).expect("renders");
    assert_eq!(String::from_utf8_lossy(&run.stdout), want);
}
