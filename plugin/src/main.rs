//! spinnaker-krm: a thin shell around the `functions` library. It parses arguments, reads input,
//! calls the transform, writes the result to stdout and exits with a code that says what happened.
//! Nothing here edits manifests.

mod failure;
mod generate;
mod install;
mod krm_function;
mod logging;
mod parameters;
mod pipeline;
mod render;
mod source;
mod verify;

use clap::{Parser, Subcommand};
use failure::Failure;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Injects Java truststores, mTLS and BOM-pinned images into Spinnaker manifests.
///
/// Without a subcommand it is a KRM exec function: a ResourceList on stdin, one on stdout.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Benchmark floor (docs/benchmarks.md): parse the ResourceList on stdin and print it back, no transform.
    #[arg(long, hide = true)]
    identity: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Render a directory of manifests with its spinnaker-krm.yaml and print the YAML stream.
    Render {
        /// The directory (its spinnaker-krm.yaml and BOM paths are relative to it).
        dir: PathBuf,
        /// The functionConfig file [default: DIR/spinnaker-krm.yaml].
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// ArgoCD CMP: render the app directory (the working directory) and print the YAML stream.
    Generate {
        /// The functionConfig file, relative to the app directory [default: spinnaker-krm.yaml].
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// ArgoCD CMP: print the parameter announcement (JSON) with the values of spinnaker-krm.yaml.
    Parameters {
        /// The functionConfig file, relative to the app directory [default: spinnaker-krm.yaml].
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check a rendered stream (FILE or stdin) for truststores, mTLS and BOM pins; print it unchanged if it passes.
    Verify {
        /// The rendered stream: multi-document YAML or a ResourceList [default: stdin].
        file: Option<PathBuf>,
        /// A functionConfig: check exactly what it asks for, and the exact BOM pins (BOM relative to the
        /// working directory). Without it, every protection is expected and any fixed tag passes.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Copy this binary into DIR (the argocd-cm route's init container).
    Install {
        /// The directory to copy it into (an emptyDir the repo-server mounts).
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        None if cli.identity => identity(),
        None => run_krm_function(),
        Some(Command::Render { dir, config }) => render::run(&dir, config.as_deref()).map_err(|f| (f, None)),
        Some(Command::Generate { config }) => generate::run(config.as_deref()).map_err(|f| (f, None)),
        Some(Command::Parameters { config }) => parameters::run(config.as_deref()).map_err(|f| (f, None)),
        Some(Command::Verify { file, config }) => {
            verify::run(file.as_deref(), config.as_deref()).map_err(|f| (f, None))
        }
        Some(Command::Install { dir }) => install::run(&dir).map_err(|f| (f, None)),
    };
    match outcome {
        Ok(stdout) => write_stdout(&stdout),
        Err((failure, stdout)) => {
            failure.print();
            if let Some(stdout) = stdout {
                // Best effort: the exit code already says the run failed.
                let _ = std::io::stdout().lock().write_all(stdout.as_bytes());
            }
            ExitCode::from(failure.code)
        }
    }
}

fn run_krm_function() -> Result<String, (Failure, Option<String>)> {
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        return Err((
            Failure::input("stdin is a terminal: as a KRM function spinnaker-krm reads a ResourceList on stdin; see --help for `render`"),
            None,
        ));
    }
    krm_function::run(&mut stdin)
}

/// `--identity`: the same read, parse and emit as the KRM function, without the transform.
fn identity() -> Result<String, (Failure, Option<String>)> {
    let bytes = source::read_limited(&mut std::io::stdin().lock(), "stdin").map_err(|f| (f, None))?;
    let list = functions::krm::ResourceList::parse(&bytes, "stdin").map_err(|e| (Failure::from(e), None))?;
    Ok(list.to_yaml())
}

fn write_stdout(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            Failure::input(format!("cannot write stdout: {e}")).print();
            ExitCode::from(2)
        }
    }
}
