//! `feedgate infra`: the serverless deployment's infrastructure as code.
//!
//! `feedgate infra render --instances infra/instances.toml --out infra/template.yaml` writes the
//! AWS SAM template routing every instance of the file (see [`template`]).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::GlobalOptions;

pub mod instances;
pub mod template;
pub mod yaml;

/// `feedgate infra …`
#[derive(Debug, Args)]
pub struct InfraArgs {
    /// The infra subcommand.
    #[command(subcommand)]
    pub command: InfraCommand,
}

/// Subcommands of `feedgate infra`.
#[derive(Debug, Subcommand)]
pub enum InfraCommand {
    /// Render the AWS SAM template: one API route pair per instance and prefix
    Render(RenderArgs),
}

/// `feedgate infra render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Instances file: `[[instance]]` entries with name and kind (engine-config shape)
    #[arg(long, value_name = "FILE")]
    pub instances: PathBuf,
    /// Template to write; `-` writes to standard output
    #[arg(long, value_name = "TEMPLATE")]
    pub out: PathBuf,
    /// Write nothing; fail if the template at --out differs from what would be rendered
    #[arg(long)]
    pub check: bool,
}

/// Why `feedgate infra` failed.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// The instances file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The instances file is refused.
    #[error(transparent)]
    Instances(#[from] instances::InstancesError),
    /// The template could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// `--check`: the template on disk is not what the instances file renders.
    #[error(
        "{out} is not up to date with {instances}; re-render with `feedgate infra render --instances {instances} --out {out}`"
    )]
    Stale {
        /// The instances file.
        instances: String,
        /// The template.
        out: String,
    },
}

/// Runs `feedgate infra …`. The configuration file is not read: the template depends on the
/// instances file only.
pub fn run(_global: &GlobalOptions, args: InfraArgs) -> Result<(), InfraError> {
    match args.command {
        InfraCommand::Render(args) => render(&args),
    }
}

/// The template text the instances file at `path` renders to.
pub fn render_file(path: &Path) -> Result<String, InfraError> {
    let text = fs::read_to_string(path).map_err(|source| InfraError::Read {
        path: path.to_owned(),
        source,
    })?;
    let instances = instances::parse(&text, &path.display().to_string())?;
    // Only the file name goes into the header, so where the command runs from does not
    // change the output.
    let source = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(template::render(&instances, &source))
}

fn render(args: &RenderArgs) -> Result<(), InfraError> {
    let rendered = render_file(&args.instances)?;
    let to_stdout = args.out.as_os_str() == "-";
    if args.check {
        let current = if to_stdout {
            None
        } else {
            fs::read_to_string(&args.out).ok()
        };
        if current.as_deref() != Some(rendered.as_str()) {
            return Err(InfraError::Stale {
                instances: args.instances.display().to_string(),
                out: args.out.display().to_string(),
            });
        }
        return Ok(());
    }
    if to_stdout {
        let mut stdout = io::stdout().lock();
        return stdout
            .write_all(rendered.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|source| InfraError::Write {
                path: args.out.clone(),
                source,
            });
    }
    write_atomically(&args.out, rendered.as_bytes()).map_err(|source| InfraError::Write {
        path: args.out.clone(),
        source,
    })
}

/// Writes beside the target, then renames: a failed render never leaves half a template.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}
