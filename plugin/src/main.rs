//! spinnaker-krm: a thin shell around the `functions` library. It parses arguments, reads input,
//! calls the transform, writes the result to stdout and exits with a code that says what happened.
//! Nothing here edits manifests.

mod failure;
mod generate;
mod install;
mod krm_function;
mod kustomize_plugin;
mod logging;
mod parameters;
mod pipeline;
mod render;
mod source;
mod verify;

use clap::{Parser, Subcommand};
use failure::Failure;
use functions::krm::ResourceList;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// The static build (what the sidecar image ships) allocates with mimalloc (version 2: plugin/Cargo.toml says
/// why): musl's malloc is far slower than glibc's on a tree of many small nodes (docs/benchmarks.md, "The
/// shipped build").
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Injects Java truststores, mTLS and BOM-pinned images into Spinnaker manifests.
///
/// Without a subcommand it is a KRM exec function: a ResourceList on stdin, one on stdout. Installed as
/// kustomize's `SpinnakerPlatform` plugin (install-kustomize-plugin) it is kustomize's legacy exec plugin.
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
    /// Render a directory as `generate` does (kustomize build when it has a kustomization) and print the YAML stream.
    Render {
        /// The directory (the BOM is looked up from it to its repository root, see README "Where the BOM goes").
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
        /// A functionConfig: check exactly what it asks for, and the exact BOM pins (the BOM is looked up
        /// from the working directory to its repository root). Without it, every protection is expected and any fixed tag passes.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Copy this binary into DIR as spinnaker-krm, for an exec KRM function's `exec: {path: …}`.
    Install {
        /// The directory to copy it into (say, an emptyDir the repo-server mounts on its PATH).
        dir: PathBuf,
    },
    /// Install this binary as kustomize's SpinnakerPlatform plugin, which `kustomize build
    /// --enable-alpha-plugins` and `kubectl kustomize --enable-alpha-plugins` run (no --enable-exec).
    InstallKustomizePlugin {
        /// The kustomize plugin home [default: $KUSTOMIZE_PLUGIN_HOME, else $XDG_CONFIG_HOME/kustomize/plugin,
        /// else ~/.config/kustomize/plugin]; the binary goes to
        /// DIR/spinnaker-krm.dev/v1alpha1/spinnakerplatform/SpinnakerPlatform.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// What a run prints on stdout: text, or a ResourceList written item by item.
enum Stdout {
    Text(String),
    Resources(ResourceList),
}

impl Stdout {
    fn write_to(&self, sink: &mut impl Write) -> std::io::Result<()> {
        match self {
            Stdout::Text(text) => sink.write_all(text.as_bytes()),
            Stdout::Resources(list) => list.write_yaml(sink),
        }
    }
}

/// What a run prints on stdout (after a failure too, when there is something to print) and whether it failed.
type Outcome = (Option<Stdout>, Result<(), Failure>);

fn text(outcome: Result<String, Failure>) -> Outcome {
    match outcome {
        Ok(text) => (Some(Stdout::Text(text)), Ok(())),
        Err(failure) => (None, Err(failure)),
    }
}

fn main() -> ExitCode {
    logging::init();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let (stdout, outcome) = match kustomize_plugin::detect(&args, std::env::var_os(kustomize_plugin::ROOT_ENV)) {
        Some(invocation) => {
            text(invocation.and_then(|call| kustomize_plugin::run(&call, &mut std::io::stdin().lock())))
        }
        None => match Cli::try_parse_from(args) {
            Ok(cli) => run_cli(cli),
            Err(e) => return command_line_error(&e),
        },
    };
    let code = match outcome {
        Ok(()) => {
            logging::flush();
            stdout.as_ref().map_or(ExitCode::SUCCESS, write_stdout)
        }
        Err(failure) => {
            failure.print();
            logging::flush();
            if let Some(stdout) = &stdout {
                // Best effort: the exit code already says the run failed.
                let _ = stdout.write_to(&mut std::io::stdout().lock());
            }
            ExitCode::from(failure.code)
        }
    };
    // The process ends here, and its memory with it: handing a large tree back to the allocator node by
    // node would cost more than the exit does (6% of the run at 1,000 Deployments, docs/benchmarks.md).
    std::mem::forget(stdout);
    code
}

/// A command-line error in the form of every other failure (`spinnaker-krm: error: …` first, exit 2);
/// `--help` and `--version` print as clap prints them.
fn command_line_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut headline = lines.next().unwrap_or_default().trim_start_matches("error: ").to_owned();
    // "the following required arguments were not provided:" is followed by them, one a line.
    while headline.ends_with(':') {
        let Some(next) = lines.next() else { break };
        headline = format!("{headline} {next}");
    }
    let mut failure = Failure::input(headline);
    failure.details = lines.map(str::to_owned).collect();
    failure.print();
    ExitCode::from(failure.code)
}

fn run_cli(cli: Cli) -> Outcome {
    match cli.command {
        None if cli.identity => identity(),
        None => run_krm_function(),
        Some(Command::Render { dir, config }) => text(render::run(&dir, config.as_deref())),
        Some(Command::Generate { config }) => text(generate::run(config.as_deref())),
        Some(Command::Parameters { config }) => text(parameters::run(config.as_deref())),
        Some(Command::Verify { file, config }) => text(verify::run(file.as_deref(), config.as_deref())),
        Some(Command::Install { dir }) => text(install::run(&dir)),
        Some(Command::InstallKustomizePlugin { dir }) => text(install::kustomize_plugin(dir.as_deref())),
    }
}

fn run_krm_function() -> Outcome {
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        let failure = Failure::input(
            "stdin is a terminal: as a KRM function spinnaker-krm reads a ResourceList on stdin; see --help for `render`",
        );
        return (None, Err(failure));
    }
    let (list, outcome) = krm_function::run(&mut stdin);
    (Some(Stdout::Resources(list)), outcome)
}

/// `--identity`: the same read, parse and emit as the KRM function, without the transform.
fn identity() -> Outcome {
    let read = source::read_limited(&mut std::io::stdin().lock(), "stdin")
        .and_then(|bytes| ResourceList::parse(&bytes, "stdin").map_err(Failure::from));
    match read {
        Ok(list) => (Some(Stdout::Resources(list)), Ok(())),
        Err(failure) => (None, Err(failure)),
    }
}

fn write_stdout(stdout: &Stdout) -> ExitCode {
    let mut sink = std::io::stdout().lock();
    match stdout.write_to(&mut sink).and_then(|()| sink.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            Failure::input(format!("cannot write stdout: {e}")).print();
            ExitCode::from(2)
        }
    }
}
