//! Options shared by every command, and where the configuration file is found.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable naming the configuration file when `--config` is not given and
/// `feedgate.toml` does not exist in the working directory (spec/engine.md).
pub const FEEDGATE_CONFIG: &str = "FEEDGATE_CONFIG";

/// The configuration file looked for in the working directory.
pub const DEFAULT_CONFIG: &str = "feedgate.toml";

/// Options accepted before or after any subcommand.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GlobalOptions {
    /// Configuration file [default: ./feedgate.toml, else $FEEDGATE_CONFIG]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// No configuration file could be found.
#[derive(Debug, thiserror::Error)]
#[error(
    "no configuration file: pass --config <path>, create {DEFAULT_CONFIG} here, or set {FEEDGATE_CONFIG}"
)]
pub struct NoConfig;

impl GlobalOptions {
    /// The configuration file to read, from the process's working directory and environment.
    pub fn config_path(&self) -> Result<PathBuf, NoConfig> {
        self.resolve_config(
            Path::new(DEFAULT_CONFIG).is_file(),
            std::env::var_os(FEEDGATE_CONFIG),
        )
    }

    /// The configuration file to read: `--config`, else `feedgate.toml` when
    /// `default_exists`, else the (non-empty) value of `FEEDGATE_CONFIG`.
    ///
    /// ```
    /// use feedgate_cli::GlobalOptions;
    /// let none = GlobalOptions::default();
    /// assert_eq!(
    ///     none.resolve_config(false, Some("/etc/feedgate.toml".into())).expect("from the environment"),
    ///     std::path::PathBuf::from("/etc/feedgate.toml"),
    /// );
    /// assert!(none.resolve_config(false, None).is_err());
    /// ```
    pub fn resolve_config(
        &self,
        default_exists: bool,
        env_value: Option<OsString>,
    ) -> Result<PathBuf, NoConfig> {
        if let Some(path) = &self.config {
            return Ok(path.clone());
        }
        if default_exists {
            return Ok(PathBuf::from(DEFAULT_CONFIG));
        }
        env_value
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .ok_or(NoConfig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_config_wins_over_the_default_file_and_the_environment() {
        let opts = GlobalOptions {
            config: Some("given.toml".into()),
        };
        let path = opts
            .resolve_config(true, Some("env.toml".into()))
            .expect("resolves");
        assert_eq!(path, PathBuf::from("given.toml"));
    }

    #[test]
    fn default_file_wins_over_the_environment() {
        let path = GlobalOptions::default()
            .resolve_config(true, Some("env.toml".into()))
            .expect("resolves");
        assert_eq!(path, PathBuf::from(DEFAULT_CONFIG));
    }

    #[test]
    fn empty_environment_value_counts_as_unset() {
        let err = GlobalOptions::default()
            .resolve_config(false, Some(OsString::new()))
            .expect_err("nothing to read");
        assert!(err.to_string().contains(FEEDGATE_CONFIG));
    }
}
