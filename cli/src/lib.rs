//! The `image-sidecar-rust` command line (also installed as `sportball-sidecar-rust`): parses
//! the arguments, runs one command, prints its JSON report on stdout and maps the outcome to
//! an exit code. Each command is a thin module over an engine operation.

mod args;
mod commands;
mod config;
mod exit;
mod invocation;
mod page;
mod pipelines;
mod plugins;
mod rows_output;
mod scan;
mod shard_report;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::exit::Exit;

// The built-in formats and validators are plugins that register themselves with `inventory`; naming each crate
// here makes sure the linker keeps them.
use sidecar_binary as _;
use sidecar_json as _;
use sidecar_legacy as _;
use sidecar_rkyv as _;
use sidecar_validators as _;
use sidecar_xmp as _;

/// Runs the command line on the process's arguments.
pub fn main() -> ExitCode {
    ExitCode::from(main_from(std::env::args_os().collect()))
}

/// Runs the command line on `args` (the program's name first) and returns its exit code: what
/// a host that runs it in-process (the Python package's `image-sidecar-rust` script) calls.
/// Such a host names, with [`set_self_command`], how to start this program again.
pub fn main_from(args: Vec<std::ffi::OsString>) -> u8 {
    // The plugin scanner: this program, started by itself on one library (see `scan`).
    let mut rest = args.iter().skip(1);
    if rest.next().is_some_and(|a| a == scan::SCAN_COMMAND) {
        return match rest.next() {
            Some(path) => scan::child(std::path::Path::new(path)),
            None => Exit::Usage.code(),
        };
    }
    let code = run(args);
    // A host process does not flush Rust's stdout at its exit.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    code
}

/// Loads the plugin libraries at `paths` (directories or files) over the built-in plugins, by
/// the command line's rules: every path must exist and be a trusted place, each library is
/// checked and scanned in a child process before it is loaded. Returns the registry and the
/// libraries that did not load (path, reason); an unusable path is the error.
pub fn load_plugins(
    paths: &[std::path::PathBuf],
) -> Result<(sidecar_engine::Registry, Vec<(String, String)>), String> {
    plugins::load(paths, plugins::Mode::Load).map(|loaded| {
        let errors = loaded
            .errors
            .into_iter()
            .map(|e| (e.path, e.reason))
            .collect();
        (loaded.registry, errors)
    })
}

/// How this program is started again (for the plugin scanner): by default the running
/// executable; a host that runs the command line in-process names its own command (an
/// interpreter and the arguments that reach [`main_from`]).
pub fn set_self_command(program: std::ffi::OsString, args: Vec<std::ffi::OsString>) {
    scan::set_self_command(program, args);
}

fn run(args: Vec<std::ffi::OsString>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Success.code()
            };
        }
    };
    init_logging();
    ignore_file_size_signal();
    config::set_leading_plugin_dirs(cli.plugin_dir.clone());
    let colour = match cli.color.as_str() {
        "always" => true,
        "never" => false,
        _ => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::IsTerminal::is_terminal(&std::io::stderr())
        }
    };
    config::set_colour(colour);
    let result = match &cli.command {
        Command::Validate(args) => commands::validate::run(args),
        Command::Stats(args) => commands::stats::run(args),
        Command::Convert(args) => commands::convert::run(args),
        Command::FormatStats(args) => commands::format_stats::run(args),
        Command::Plugins(args) => commands::plugins::run(args),
        Command::Run(args) => commands::run::run(args),
        Command::Pipelines(args) => commands::pipelines::run(args),
        Command::Inspect(args) => commands::inspect::run(args),
        Command::Completions { shell } => commands::docs::completions(*shell),
        Command::Man => commands::docs::man(),
        Command::Merge(args) => commands::merge::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Cleanup(args) => commands::cleanup::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::List(args) => commands::list::run(args),
        Command::Mv(args) => commands::mv::run(args),
    };
    match result {
        Ok(exit) => exit.code(),
        Err(error) => {
            if colour {
                eprintln!("image-sidecar-rust: \x1b[1;31merror\x1b[0m: {error:#}");
            } else {
                eprintln!("image-sidecar-rust: error: {error:#}");
            }
            Exit::Usage.code()
        }
    }
}

/// Past a file-size limit (`ulimit -f`), a write fails with `EFBIG` and is reported for its
/// file, instead of the signal killing the run halfway.
fn ignore_file_size_signal() {
    // SAFETY: setting a signal to SIG_IGN installs no handler code; nothing else in the
    // process handles SIGXFSZ.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Logs go to stderr, and only when `RUST_LOG` asks for them.
fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
}
