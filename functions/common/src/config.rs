//! The functions' configuration: `FEEDGATE_*` environment variables (the same strings the SAM
//! template of `feedgate infra render` sets), read through [`Env`] so tests pass a map instead
//! of touching the process environment.

use std::collections::HashMap;
use std::time::Duration;

/// `serverless` in every deployed function; the functions refuse any other value.
pub const FEEDGATE_MODE: &str = "FEEDGATE_MODE";
/// The value of [`FEEDGATE_MODE`] the functions run in.
pub const MODE_SERVERLESS: &str = "serverless";
/// The DynamoDB table name.
pub const FEEDGATE_TABLE: &str = "FEEDGATE_TABLE";
/// The name (path) of the SSM SecureString parameter that holds the API-key master secret
/// (the authorizer reads it once per cold start).
pub const FEEDGATE_MASTER_SECRET_PARAM: &str = "FEEDGATE_MASTER_SECRET_PARAM";
/// The API-key master secret itself (integrations.md §3.2 allows the environment); the
/// engine reads the same variable. Used when no SSM parameter is named, and by local runs.
pub const FEEDGATE_MASTER_SECRET: &str = "FEEDGATE_MASTER_SECRET";
/// Local testing only: `engine` makes the serving functions run the credential check
/// in-process for API Gateway HTTP API (v2) events, the events `cargo lambda watch` sends,
/// because no authorizer runs there. Production (REST API events) always requires the
/// authorizer's principal, whatever this says.
pub const FEEDGATE_LOCAL_AUTH: &str = "FEEDGATE_LOCAL_AUTH";
/// The only value [`FEEDGATE_LOCAL_AUTH`] accepts.
pub const LOCAL_AUTH_ENGINE: &str = "engine";
/// Seconds an instance's configuration and credentials are kept in a warm container.
pub const FEEDGATE_INSTANCE_TTL: &str = "FEEDGATE_INSTANCE_TTL";

/// The default [`FEEDGATE_INSTANCE_TTL`]: a changed credential or parameter is seen within
/// this time, and a firewall polling every few seconds costs no configuration reads.
pub const DEFAULT_INSTANCE_TTL: Duration = Duration::from_secs(30);
/// The longest [`FEEDGATE_INSTANCE_TTL`] accepted (the verified-credential cache's cap).
pub const MAX_INSTANCE_TTL: Duration = Duration::from_secs(300);

/// Where configuration values come from.
pub trait Env {
    /// The value of `name`, if set (an empty value counts as unset).
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for HashMap<&str, &str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| (*v).to_owned())
    }
}

/// A configuration value is wrong; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// Where the API-key master secret comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum MasterSource {
    /// API keys are not configured: every API-key request is a 401.
    None,
    /// The secret itself, from [`FEEDGATE_MASTER_SECRET`].
    Value(String),
    /// The SSM parameter named by [`FEEDGATE_MASTER_SECRET_PARAM`].
    SsmParameter(String),
}

impl std::fmt::Debug for MasterSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log.
        match self {
            Self::None => f.write_str("None"),
            Self::Value(_) => f.write_str("Value(***)"),
            Self::SsmParameter(name) => f.debug_tuple("SsmParameter").field(name).finish(),
        }
    }
}

/// Everything a function reads at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// DynamoDB table.
    pub table: String,
    /// How long instance configuration stays cached.
    pub instance_ttl: Duration,
    /// Whether HTTP API (v2) events are authenticated in-process ([`FEEDGATE_LOCAL_AUTH`]).
    pub local_auth: bool,
    /// The API-key master secret's source.
    pub master: MasterSource,
}

impl FunctionConfig {
    /// Reads and checks every variable.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use feedgate_functions::config::{FunctionConfig, FEEDGATE_TABLE};
    ///
    /// let env = HashMap::from([(FEEDGATE_TABLE, "feeds")]);
    /// let config = FunctionConfig::from_env(&env).unwrap();
    /// assert_eq!(config.table, "feeds");
    /// assert!(!config.local_auth);
    /// ```
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        if let Some(mode) = env.var(FEEDGATE_MODE)
            && mode != MODE_SERVERLESS
        {
            return Err(ConfigError(format!(
                "{FEEDGATE_MODE}={mode}: the Lambda functions only run in {MODE_SERVERLESS} mode"
            )));
        }
        let table = env
            .var(FEEDGATE_TABLE)
            .unwrap_or_else(|| feedgate_store_dynamo::DEFAULT_TABLE.to_owned());
        let instance_ttl = match env.var(FEEDGATE_INSTANCE_TTL) {
            None => DEFAULT_INSTANCE_TTL,
            Some(text) => text
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
                .filter(|ttl| *ttl <= MAX_INSTANCE_TTL)
                .ok_or_else(|| {
                    ConfigError(format!(
                        "{FEEDGATE_INSTANCE_TTL}={text}: expected whole seconds from 0 to {}",
                        MAX_INSTANCE_TTL.as_secs()
                    ))
                })?,
        };
        let local_auth = match env.var(FEEDGATE_LOCAL_AUTH) {
            None => false,
            Some(v) if v == LOCAL_AUTH_ENGINE => true,
            Some(v) => {
                return Err(ConfigError(format!(
                    "{FEEDGATE_LOCAL_AUTH}={v}: the only accepted value is {LOCAL_AUTH_ENGINE}"
                )));
            }
        };
        let master = match (
            env.var(FEEDGATE_MASTER_SECRET_PARAM),
            env.var(FEEDGATE_MASTER_SECRET),
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(format!(
                    "set {FEEDGATE_MASTER_SECRET_PARAM} or {FEEDGATE_MASTER_SECRET}, not both"
                )));
            }
            (Some(param), None) => MasterSource::SsmParameter(param),
            (None, Some(secret)) => MasterSource::Value(secret),
            (None, None) => MasterSource::None,
        };
        Ok(Self {
            table,
            instance_ttl,
            local_auth,
            master,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&'static str, &'static str)]) -> Result<FunctionConfig, ConfigError> {
        FunctionConfig::from_env(&pairs.iter().copied().collect::<HashMap<_, _>>())
    }

    #[test]
    fn defaults_to_the_feedgate_table_without_local_auth_or_api_keys() {
        let c = config(&[]).expect("defaults");
        assert_eq!(c.table, "feedgate");
        assert_eq!(c.instance_ttl, DEFAULT_INSTANCE_TTL);
        assert!(!c.local_auth);
        assert_eq!(c.master, MasterSource::None);
    }

    #[test]
    fn reads_what_the_template_sets() {
        let c = config(&[
            (FEEDGATE_MODE, "serverless"),
            (FEEDGATE_TABLE, "stack-Table-1"),
            (FEEDGATE_MASTER_SECRET_PARAM, "/feedgate/master"),
        ])
        .expect("template env");
        assert_eq!(c.table, "stack-Table-1");
        assert_eq!(
            c.master,
            MasterSource::SsmParameter("/feedgate/master".into())
        );
    }

    #[test]
    fn refuses_engine_mode_unknown_local_auth_and_two_secret_sources() {
        for bad in [
            vec![(FEEDGATE_MODE, "engine")],
            vec![(FEEDGATE_LOCAL_AUTH, "yes")],
            vec![(FEEDGATE_INSTANCE_TTL, "301")],
            vec![(FEEDGATE_INSTANCE_TTL, "-1")],
            vec![
                (FEEDGATE_MASTER_SECRET, "x"),
                (FEEDGATE_MASTER_SECRET_PARAM, "/p"),
            ],
        ] {
            let err = config(&bad).expect_err("refused");
            assert!(err.to_string().contains(bad[0].0), "{err}");
        }
    }

    #[test]
    fn local_auth_is_enabled_only_by_the_word_engine() {
        assert!(
            config(&[(FEEDGATE_LOCAL_AUTH, "engine")])
                .expect("ok")
                .local_auth
        );
    }

    #[test]
    fn debug_output_hides_the_master_secret() {
        let c = config(&[(FEEDGATE_MASTER_SECRET, "super-secret-value")]).expect("ok");
        assert!(!format!("{c:?}").contains("super-secret-value"));
    }
}
