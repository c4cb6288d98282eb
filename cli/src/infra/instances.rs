//! `infra/instances.toml`: which instances a serverless deployment routes, in the shape of the
//! engine configuration's `[[instance]]` entries. Only `name` and `kind` shape the template;
//! `port`, `bind`, `tls_cert`, `tls_key` and `[instance.params]` are accepted so an engine
//! file's entries can be pasted, and ignored. Credentials are refused: this file is committed.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use feedgate::store::InstanceKind;
use serde::Deserialize;
use toml::Spanned;

/// The most instances one template may route. Each instance adds four Lambda permissions to
/// the stack (CloudFormation allows 500 resources) and four resources to the REST API (API
/// Gateway's default quota is 300 per API, which already caps a template at 73 instances).
pub const MAX_INSTANCES: usize = 100;

/// One routed instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`, unique in the file.
    pub name: String,
    /// Which function serves it.
    pub kind: InstanceKind,
}

/// The instances file is refused; says where (line and column, when known) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstancesError {
    /// The file, as the user named it.
    pub origin: String,
    /// 1-based line and column of the offending text.
    pub position: Option<(usize, usize)>,
    /// What is wrong, lower-case, naming the bad value.
    pub message: String,
}

impl fmt::Display for InstancesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}: line {line}, column {column}: {}",
                self.origin, self.message
            ),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for InstancesError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    instance: Vec<RawInstance>,
}

/// Engine-only keys are typed loosely: the engine validates them, the renderer ignores them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Accepted for paste compatibility, deliberately unread.
struct RawInstance {
    name: Spanned<String>,
    kind: Spanned<String>,
    port: Option<toml::Value>,
    bind: Option<toml::Value>,
    tls_cert: Option<toml::Value>,
    tls_key: Option<toml::Value>,
    params: Option<toml::Table>,
    credentials: Option<Spanned<toml::Value>>,
}

/// Parses and validates an instances file; `origin` names it in messages.
///
/// ```
/// use feedgate_cli::infra::instances::parse;
/// let text = "[[instance]]\nname = \"edl_01\"\nkind = \"export\"\nport = 8001\n";
/// let instances = parse(text, "instances.toml").expect("valid");
/// assert_eq!(instances[0].name, "edl_01");
/// let err = parse(&text.replace("edl_01", "edl 01"), "instances.toml").expect_err("space");
/// assert!(err.to_string().starts_with("instances.toml: line 2, column 8: "), "{err}");
/// ```
pub fn parse(text: &str, origin: &str) -> Result<Vec<Instance>, InstancesError> {
    let fail = |span: Option<Range<usize>>, message: String| InstancesError {
        origin: origin.to_owned(),
        position: span.map(|s| position(text, s.start)),
        message,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| fail(e.span(), e.message().to_owned()))?;
    if raw.instance.is_empty() {
        return Err(fail(
            None,
            "no [[instance]] entries: the API needs at least one instance to route".into(),
        ));
    }
    if raw.instance.len() > MAX_INSTANCES {
        return Err(fail(
            None,
            format!(
                "{} instances: one template routes at most {MAX_INSTANCES} (CloudFormation's 500-resource limit); split them across stacks",
                raw.instance.len()
            ),
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut instances = Vec::with_capacity(raw.instance.len());
    for raw in &raw.instance {
        let name = raw.name.get_ref();
        if !feedgate::store::valid_instance_name(name) {
            let hint = if name.contains(' ') {
                format!(" (try `{}`)", name.replace(' ', "_"))
            } else {
                String::new()
            };
            return Err(fail(
                Some(raw.name.span()),
                format!(
                    "instance name `{name}` must match ^[A-Za-z0-9][A-Za-z0-9_.-]{{0,63}}${hint}"
                ),
            ));
        }
        if let Some(first_line) = seen.get(name.as_str()) {
            return Err(fail(
                Some(raw.name.span()),
                format!("duplicate instance name `{name}` (first defined on line {first_line})"),
            ));
        }
        seen.insert(name, position(text, raw.name.span().start).0);
        let kind = parse_kind(raw.kind.get_ref()).ok_or_else(|| {
            fail(
                Some(raw.kind.span()),
                format!(
                    "instance `{name}`: unknown kind `{}` (expected export, webhook or publish_list)",
                    raw.kind.get_ref()
                ),
            )
        })?;
        if let Some(credentials) = &raw.credentials {
            return Err(fail(
                Some(credentials.span()),
                format!(
                    "instance `{name}`: credentials do not belong in this committed file; set them in the deployed store with `feedgate creds set-instance {name}`"
                ),
            ));
        }
        instances.push(Instance {
            name: name.clone(),
            kind,
        });
    }
    Ok(instances)
}

fn parse_kind(text: &str) -> Option<InstanceKind> {
    match text {
        "export" => Some(InstanceKind::Export),
        "webhook" => Some(InstanceKind::Webhook),
        "publish_list" => Some(InstanceKind::PublishList),
        _ => None,
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |tail| tail.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[instance]]
name = "edl_instance_01"
kind = "export"
port = 8001
[instance.params]
format = "PAN-OS (text)"

[[instance]]
name = "soc_webhook"
kind = "webhook"

[[instance]]
name = "block.lists-2"
kind = "publish_list"
bind = "0.0.0.0"
"#;

    fn refuse(text: &str) -> String {
        parse(text, "instances.toml")
            .expect_err("must be refused")
            .to_string()
    }

    #[test]
    fn reads_names_and_kinds_in_file_order() {
        let got = parse(GOOD, "instances.toml").expect("valid");
        let pairs: Vec<_> = got.iter().map(|i| (i.name.as_str(), i.kind)).collect();
        assert_eq!(
            pairs,
            [
                ("edl_instance_01", InstanceKind::Export),
                ("soc_webhook", InstanceKind::Webhook),
                ("block.lists-2", InstanceKind::PublishList),
            ]
        );
    }

    #[test]
    fn names_outside_the_pattern_are_refused_with_their_line() {
        let long = "a".repeat(65);
        let cases = [
            (".hidden", "line 3, column 8"),
            ("-dash", "`-dash` must match"),
            ("", "`` must match"),
            ("a/b", "`a/b` must match"),
            ("naïve", "`naïve` must match"),
            (long.as_str(), "must match"),
        ];
        for (name, needle) in cases {
            let err = refuse(&GOOD.replacen("edl_instance_01", name, 1));
            assert!(err.contains(needle), "{name:?}: {err}");
            assert!(err.contains("line 3"), "{name:?}: {err}");
        }
    }

    #[test]
    fn sixty_four_character_names_are_accepted() {
        let name = format!("a{}", "b".repeat(63));
        let got = parse(&GOOD.replacen("edl_instance_01", &name, 1), "f").expect("valid");
        assert_eq!(got[0].name, name);
    }

    #[test]
    fn spaces_in_names_get_a_suggestion() {
        let err = refuse(&GOOD.replacen("edl_instance_01", "edl instance 01", 1));
        assert!(err.contains("(try `edl_instance_01`)"), "{err}");
    }

    #[test]
    fn duplicate_names_are_refused_naming_both_lines() {
        let err = refuse(&GOOD.replacen("soc_webhook", "edl_instance_01", 1));
        assert!(err.contains("line 10"), "{err}");
        assert!(err.contains("first defined on line 3"), "{err}");
    }

    #[test]
    fn names_differing_only_in_case_are_distinct() {
        let got = parse(&GOOD.replacen("soc_webhook", "EDL_INSTANCE_01", 1), "f").expect("valid");
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn unknown_kinds_are_refused_with_their_line() {
        let err = refuse(&GOOD.replacen("\"webhook\"", "\"publish-list\"", 1));
        assert!(err.contains("line 11, column 8"), "{err}");
        assert!(err.contains("unknown kind `publish-list`"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let err = refuse(&GOOD.replacen("port = 8001", "prot = 8001", 1));
        assert!(err.contains("line 5"), "{err}");
        assert!(err.contains("prot"), "{err}");
        let err = refuse(&format!("[store]\nkind = \"dynamodb\"\n{GOOD}"));
        assert!(err.contains("store"), "{err}");
    }

    #[test]
    fn toml_syntax_errors_name_the_line() {
        let err = refuse(&GOOD.replacen("kind = \"webhook\"", "kind = webhook", 1));
        assert!(err.starts_with("instances.toml: line 11"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }

    #[test]
    fn missing_kind_is_refused() {
        let err = refuse("[[instance]]\nname = \"a\"\n");
        assert!(err.contains("kind"), "{err}");
    }

    #[test]
    fn credentials_are_refused_with_a_pointer_to_the_cli() {
        let text = format!("{GOOD}[instance.credentials]\nusername = \"u\"\npassword = \"p\"\n");
        let err = refuse(&text);
        assert!(
            err.contains("feedgate creds set-instance block.lists-2"),
            "{err}"
        );
        assert!(err.contains("line 17"), "{err}");
    }

    #[test]
    fn an_empty_file_is_refused() {
        assert!(refuse("").contains("no [[instance]] entries"));
    }

    #[test]
    fn too_many_instances_are_refused() {
        let text: String = (0..=MAX_INSTANCES)
            .map(|i| format!("[[instance]]\nname = \"i{i}\"\nkind = \"export\"\n"))
            .collect();
        assert!(refuse(&text).contains("at most 100"));
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(position("ab\nçd", 5), (2, 2));
        assert_eq!(position("x", 0), (1, 1));
    }
}
