//! The engine configuration file (spec/engine.md): TOML with XSOAR parameter names, validated
//! completely before anything starts. Environment look-ups go through [`Env`] so tests pass a
//! map instead of mutating the process environment.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use feedgate::auth::Credential;
use feedgate::auth::decide::Mode;
use feedgate::http::serve::KindParams;
use feedgate::store::{InstanceKind, valid_instance_name};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Environment variable naming the config file when `--config` is not given and
/// `feedgate.toml` does not exist.
pub const FEEDGATE_CONFIG: &str = "FEEDGATE_CONFIG";
/// Default master-secret variable.
pub const FEEDGATE_MASTER_SECRET: &str = "FEEDGATE_MASTER_SECRET";

/// Where configuration reads environment variables from.
pub trait Env {
    /// The variable's value, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// A configuration the engine refuses, with the key (and line where known) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key or a wrong type (the message names key and line).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A value that parses but is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    store: RawStore,
    universal_credentials: Option<RawCredentials>,
    api_keys: Option<RawApiKeys>,
    #[serde(default)]
    instance: Vec<RawInstance>,
    admin: Option<RawAdmin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    port: toml::Spanned<Port>,
    bind: Option<IpAddr>,
}

/// A listen port (`instance.port`, `admin.port`): an integer or a string of digits, 0-65535
/// (0: any free port). Strings are accepted as they are for every number of the file.
#[derive(Debug, Clone, Copy)]
struct Port(u16);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Port;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("port: a port number 0-65535 (an integer or a string of digits)")
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Port, E> {
                u16::try_from(v)
                    .map(Port)
                    .map_err(|_| E::custom(format!("port: {v} is not a port number (0-65535)")))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Port, E> {
                u16::try_from(v)
                    .map(Port)
                    .map_err(|_| E::custom(format!("port: {v} is not a port number (0-65535)")))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Port, E> {
                match v.parse::<u16>() {
                    Ok(port) if v.bytes().all(|b| b.is_ascii_digit()) => Ok(Port(port)),
                    _ => Err(E::custom(format!(
                        "port: {v:?} is not a port number (0-65535)"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    kind: Option<String>,
    path: Option<PathBuf>,
    table: Option<String>,
    region: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    username: String,
    password: Option<String>,
    password_hash: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiKeys {
    master_secret_env: Option<String>,
    master_secret: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    name: String,
    kind: InstanceKind,
    port: Port,
    bind: Option<IpAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    #[serde(default)]
    params: toml::Table,
    credentials: Option<RawCredentials>,
}

/// Which store the engine and the admin commands use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded database in this directory.
    Embedded {
        /// Directory of the database (created if missing).
        path: PathBuf,
    },
    /// A DynamoDB table; endpoint from `AWS_ENDPOINT_URL_DYNAMODB`.
    DynamoDb {
        /// Table name.
        table: String,
        /// Region, else the AWS environment's.
        region: Option<String>,
    },
}

/// One configured instance, validated.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    /// Name.
    pub name: String,
    /// Listen port.
    pub port: u16,
    /// Listen address (default 127.0.0.1).
    pub bind: IpAddr,
    /// Certificate and key files, both or neither.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The parameters as written (XSOAR names).
    pub raw_params: Map<String, Value>,
    /// Parsed parameters.
    pub params: KindParams,
    /// The instance's own credential (username may be `_header:<Name>`).
    pub credentials: Option<Credential>,
}

impl InstanceConfig {
    /// The instance kind.
    pub fn kind(&self) -> InstanceKind {
        self.params.kind()
    }
}

/// The admin listener (`[admin]`): Prometheus metrics on `GET /metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminConfig {
    /// Listen port (0: any free port).
    pub port: u16,
    /// Listen address (default 127.0.0.1).
    pub bind: IpAddr,
}

/// The whole validated engine configuration.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Store.
    pub store: StoreConfig,
    /// Credential for every instance without its own.
    pub universal_credentials: Option<Credential>,
    /// The API-key master secret, when API keys are configured.
    pub master_secret: Option<String>,
    /// Instances in file order.
    pub instances: Vec<InstanceConfig>,
    /// The metrics listener, when `[admin]` is configured.
    pub admin: Option<AdminConfig>,
    /// Start-up warnings (plaintext passwords, inline secrets).
    pub warnings: Vec<String>,
}

impl EngineConfig {
    /// Reads and validates a file.
    pub fn load(path: &Path, env: &dyn Env) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string(), env)
    }

    /// Parses and validates configuration text; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str, env: &dyn Env) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let mut warnings = Vec::new();
        let store = store_config(raw.store)?;
        let universal_credentials = match raw.universal_credentials {
            None => None,
            Some(c) => {
                if c.username.starts_with("_header:") {
                    return Err(ConfigError::Invalid(
                        "universal_credentials.username: universal credentials are always a Basic pair; '_header:' usernames are per instance only".into(),
                    ));
                }
                credential(c, "universal_credentials", &mut warnings)?
            }
        };
        let master_secret = match raw.api_keys {
            None => None,
            Some(RawApiKeys {
                master_secret: Some(secret),
                master_secret_env: None,
            }) => {
                warnings.push(
                    "api_keys.master_secret is inline in the config file: development only; use master_secret_env".into(),
                );
                Some(secret)
            }
            Some(RawApiKeys {
                master_secret: None,
                master_secret_env,
            }) => {
                let name = master_secret_env.unwrap_or_else(|| FEEDGATE_MASTER_SECRET.into());
                Some(env.var(&name).filter(|s| !s.is_empty()).ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "api_keys.master_secret_env: environment variable {name} is not set"
                    ))
                })?)
            }
            Some(_) => {
                return Err(ConfigError::Invalid(
                    "api_keys: give master_secret_env or master_secret, not both".into(),
                ));
            }
        };
        let mut names = HashSet::new();
        let mut ports = HashSet::new();
        let mut instances = Vec::with_capacity(raw.instance.len());
        for inst in raw.instance {
            let at = format!("instance '{}'", inst.name);
            let port = inst.port.0;
            if !valid_instance_name(&inst.name) {
                let hint = if inst.name.contains(' ') {
                    format!(" (try '{}')", inst.name.replace(' ', "_"))
                } else {
                    String::new()
                };
                return Err(ConfigError::Invalid(format!(
                    "{at}: name must match [A-Za-z0-9][A-Za-z0-9_.-]{{0,63}}{hint}"
                )));
            }
            if !names.insert(inst.name.clone()) {
                return Err(ConfigError::Invalid(format!("{at}: duplicate name")));
            }
            // Port 0 asks the OS for a free port (tests, the demo): never a clash.
            if port != 0 && !ports.insert(port) {
                return Err(ConfigError::Invalid(format!(
                    "{at}: port {port} is already used by another instance"
                )));
            }
            let tls = match (inst.tls_cert, inst.tls_key) {
                (Some(c), Some(k)) => Some((c, k)),
                (None, None) => None,
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "{at}: tls_cert and tls_key must be given together"
                    )));
                }
            };
            let raw_params = serde_json::to_value(&inst.params)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            check_long_running(&at, port, &tls, &raw_params)?;
            let params = KindParams::parse(inst.kind, &raw_params, Mode::Engine).map_err(|e| {
                ConfigError::Invalid(format!("{at}: params.{}: {}", e.name, e.reason))
            })?;
            let credentials = match inst.credentials {
                None => None,
                Some(c) => credential(c, &format!("{at}.credentials"), &mut warnings)?,
            };
            instances.push(InstanceConfig {
                name: inst.name,
                port,
                bind: inst.bind.unwrap_or(IpAddr::from([127, 0, 0, 1])),
                tls,
                raw_params,
                params,
                credentials,
            });
        }
        let admin = match raw.admin {
            None => None,
            Some(raw) => Some(admin_config(raw, text, &instances, &mut warnings)?),
        };
        Ok(Self {
            store,
            universal_credentials,
            master_secret,
            instances,
            admin,
            warnings,
        })
    }
}

/// `[admin]`: its port must not be an instance's (port 0 never clashes); a listener beyond
/// loopback is allowed with a warning, since `/metrics` has no authentication.
fn admin_config(
    raw: RawAdmin,
    text: &str,
    instances: &[InstanceConfig],
    warnings: &mut Vec<String>,
) -> Result<AdminConfig, ConfigError> {
    let port = raw.port.get_ref().0;
    if port != 0
        && let Some(inst) = instances.iter().find(|i| i.port == port)
    {
        let before = raw.port.span().start.min(text.len());
        let line = text.as_bytes()[..before]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        return Err(ConfigError::Invalid(format!(
            "admin.port (line {line}): port {port} is already used by instance '{}'",
            inst.name
        )));
    }
    let bind = raw.bind.unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !bind.is_loopback() {
        warnings.push(format!(
            "admin.bind = {bind}: /metrics has no authentication; keep the admin port off untrusted networks"
        ));
    }
    Ok(AdminConfig { port, bind })
}

fn store_config(raw: RawStore) -> Result<StoreConfig, ConfigError> {
    match raw.kind.as_deref().unwrap_or("embedded") {
        "embedded" => {
            if raw.table.is_some() || raw.region.is_some() {
                return Err(ConfigError::Invalid(
                    "store: table and region apply to kind = \"dynamodb\" only".into(),
                ));
            }
            Ok(StoreConfig::Embedded {
                path: raw.path.unwrap_or_else(|| PathBuf::from("./feedgate-data")),
            })
        }
        "dynamodb" => {
            if raw.path.is_some() {
                return Err(ConfigError::Invalid(
                    "store.path applies to kind = \"embedded\" only".into(),
                ));
            }
            Ok(StoreConfig::DynamoDb {
                table: raw.table.unwrap_or_else(|| "feedgate".into()),
                region: raw.region,
            })
        }
        other => Err(ConfigError::Invalid(format!(
            "store.kind: unknown store {other:?}; accepted: embedded, dynamodb"
        ))),
    }
}

/// A credential table: a plaintext password is hashed now (with a warning), a hash is
/// checked to be one we can verify. An empty username means "not set".
fn credential(
    raw: RawCredentials,
    at: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Credential>, ConfigError> {
    if raw.username.is_empty() {
        return Ok(None);
    }
    match (raw.password, raw.password_hash) {
        (Some(password), None) => {
            if password.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "{at}.password: must not be empty"
                )));
            }
            warnings.push(format!(
                "{at}: plaintext password in the config file (hashed at load; use password_hash from `feedgate creds hash` in production)"
            ));
            Credential::from_password(raw.username, &password)
                .map(Some)
                .map_err(|e| ConfigError::Invalid(format!("{at}.password: {e}")))
        }
        (None, Some(hash)) => {
            if !feedgate::auth::secret::is_supported_hash(&hash) {
                return Err(ConfigError::Invalid(format!(
                    "{at}.password_hash: not an Argon2 PHC string (make one with `feedgate creds hash`)"
                )));
            }
            Ok(Some(Credential::from_hash(raw.username, hash)))
        }
        (Some(_), Some(_)) => Err(ConfigError::Invalid(format!(
            "{at}: give password or password_hash, not both"
        ))),
        (None, None) => Err(ConfigError::Invalid(format!(
            "{at}: password or password_hash is required"
        ))),
    }
}

/// XSOAR's `longRunningPort`, `certificate` and `key` are accepted for paste compatibility but
/// must agree with the engine settings.
fn check_long_running(
    at: &str,
    port: u16,
    tls: &Option<(PathBuf, PathBuf)>,
    params: &Map<String, Value>,
) -> Result<(), ConfigError> {
    if let Some(v) = params.get("longRunningPort") {
        let given = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        if given != Some(u64::from(port)) {
            return Err(ConfigError::Invalid(format!(
                "{at}: params.longRunningPort {v} disagrees with port = {port}"
            )));
        }
    }
    for (param, file) in [
        ("certificate", tls.as_ref().map(|t| &t.0)),
        ("key", tls.as_ref().map(|t| &t.1)),
    ] {
        if let Some(v) = params.get(param) {
            let agrees = match (v.as_str(), file) {
                (Some(s), Some(f)) => Path::new(s) == f.as_path(),
                (Some(""), None) => true,
                _ => false,
            };
            if !agrees {
                return Err(ConfigError::Invalid(format!(
                    "{at}: params.{param} disagrees with the instance's tls_cert/tls_key"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EngineConfig, String> {
        let env: HashMap<String, String> =
            [("FG_SECRET".to_owned(), "s3cret-master".to_owned())].into();
        EngineConfig::parse(text, "test.toml", &env).map_err(|e| e.to_string())
    }

    const GOOD: &str = r#"
[store]
kind = "embedded"
path = "/tmp/fg"

[universal_credentials]
username = "firewall"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$5ytJpp/HsKhK1qR/r8gqcsHcW1hI30N3l9sIrcx8Z2o"

[api_keys]
master_secret_env = "FG_SECRET"

[[instance]]
name = "edl_instance_01"
kind = "export"
port = 8001
[instance.params]
format = "PAN-OS (text)"
edl_size = "2500"
maximum_cidr_size = 8
indicators_query = "type:IP"
collapse_ips = "To CIDRS"
longRunningPort = "8001"

[[instance]]
name = "hook"
kind = "webhook"
port = 8002
bind = "0.0.0.0"
[instance.params]
duplication_key = "event_id"

[[instance]]
name = "pl"
kind = "publish_list"
port = 8003
[instance.params]
listsToPublish = "a,b"
"#;

    #[test]
    fn reads_the_contract_example() {
        let c = parse(GOOD).expect("valid config");
        assert_eq!(c.instances.len(), 3);
        assert_eq!(c.master_secret.as_deref(), Some("s3cret-master"));
        assert_eq!(c.instances[1].bind, IpAddr::from([0, 0, 0, 0]));
        assert_eq!(c.instances[2].kind(), InstanceKind::PublishList);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn refuses_each_malformed_config_naming_the_problem() {
        let with = |from: &str, to: &str| GOOD.replacen(from, to, 1);
        let admin = |body: &str| format!("{GOOD}\n[admin]\n{body}\n");
        let cases = [
            (
                with("kind = \"embedded\"", "kind = \"embeded\""),
                "store.kind",
            ),
            (with("port = 8002", "port = 8001"), "port 8001"),
            (
                with("name = \"hook\"", "name = \"edl_instance_01\""),
                "duplicate name",
            ),
            (
                with("name = \"hook\"", "name = \"my hook\""),
                "try 'my_hook'",
            ),
            (
                with("edl_size = \"2500\"", "edl_size = \"lots\""),
                "params.edl_size",
            ),
            (
                with("format = \"PAN-OS (text)\"", "fromat = \"x\""),
                "params.fromat",
            ),
            (
                with("port = 8001", "port = 8001\nlisten = 1"),
                "unknown field `listen`",
            ),
            (
                with("port = 8003", "port = \"80x3\""),
                "port: \"80x3\" is not a port number",
            ),
            (
                with("port = 8001", "port = 8001\ntls_cert = \"c.pem\""),
                "tls_cert and tls_key",
            ),
            (
                with("longRunningPort = \"8001\"", "longRunningPort = \"9001\""),
                "longRunningPort",
            ),
            (with("FG_SECRET", "FG_MISSING"), "FG_MISSING is not set"),
            (with("listsToPublish = \"a,b\"", ""), "listsToPublish"),
            (
                with("kind = \"webhook\"", "kind = \"hook\""),
                "unknown variant",
            ),
            (
                with(
                    "indicators_query = \"type:IP\"",
                    "indicators_query = \"(type:IP\"",
                ),
                "indicators_query",
            ),
            (
                with("password_hash = \"$argon2id", "password_hash = \"plain"),
                "password_hash",
            ),
            (with("[[instance]]", "[[instance]\n"), "test.toml"),
            (
                admin("port = 8002"),
                "port 8002 is already used by instance 'hook'",
            ),
            (admin("port = \"8003\""), "already used by instance 'pl'"),
            (admin("port = 9090\nlisten = 1"), "unknown field `listen`"),
            (
                admin("port = \"90x0\""),
                "port: \"90x0\" is not a port number",
            ),
            (admin("port = \"+9090\""), "is not a port number"),
            (admin("port = 70000"), "port: 70000 is not a port number"),
            (admin("port = -1"), "port: -1 is not a port number"),
            (admin("port = true"), "port: a port number"),
            (admin("bind = \"127.0.0.1\""), "missing field `port`"),
            (
                admin("port = 9090\nbind = \"localhost\""),
                "invalid IP address syntax",
            ),
        ];
        for (text, needle) in cases {
            let err = parse(&text).expect_err(needle);
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        }
    }

    #[test]
    fn parse_errors_name_the_line() {
        let err = parse(&GOOD.replacen("port = 8002", "port = 80x2", 1)).expect_err("bad toml");
        assert!(err.contains("line"), "{err}");
        let lines = GOOD.lines().count();
        let err = parse(&format!("{GOOD}[admin]\nport = 8001\n")).expect_err("clash");
        assert!(err.contains(&format!("line {}", lines + 2)), "{err}");
        let err = parse(&format!("{GOOD}[admin]\nport = 65536\n")).expect_err("range");
        assert!(err.contains(&format!("line {}", lines + 2)), "{err}");
    }

    #[test]
    fn admin_is_optional_and_defaults_to_loopback() {
        assert_eq!(parse(GOOD).expect("valid").admin, None);
        let c = parse(&format!("{GOOD}[admin]\nport = \"9090\"\n")).expect("valid");
        // Ports, like every number of the file, may be strings of digits.
        let quoted = parse(&GOOD.replacen("port = 8003", "port = \"8003\"", 1)).expect("valid");
        assert_eq!(quoted.instances[2].port, 8003);
        assert_eq!(
            c.admin,
            Some(AdminConfig {
                port: 9090,
                bind: IpAddr::from([127, 0, 0, 1])
            })
        );
        assert!(c.warnings.is_empty());
        // Port 0 (any free port) never clashes, not even with another port 0.
        let zero = GOOD.replacen("port = 8002", "port = 0", 1);
        let c = parse(&format!("{zero}[admin]\nport = 0\nbind = \"0.0.0.0\"\n")).expect("valid");
        assert_eq!(c.admin.map(|a| a.port), Some(0));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("admin.bind"), "{:?}", c.warnings);
    }

    #[test]
    fn plaintext_passwords_are_hashed_with_a_warning() {
        let text = GOOD.replacen(
            "password_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$5ytJpp/HsKhK1qR/r8gqcsHcW1hI30N3l9sIrcx8Z2o\"",
            "password = \"change-me\"",
            1,
        );
        let c = parse(&text).expect("valid");
        let cred = c.universal_credentials.expect("set");
        assert!(cred.password_hash().starts_with("$argon2id$"));
        assert!(cred.verify("firewall", "change-me"));
        assert_eq!(c.warnings.len(), 1);
        assert!(!c.warnings[0].contains("change-me"));
    }
}
