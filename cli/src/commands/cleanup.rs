//! `cleanup`: see `sidecar_engine::ops::cleanup`.

use sidecar_engine::ops::cleanup::{CleanupStage, Mode};

use crate::args::CleanupArgs;
use crate::config::Config;
use crate::exit::{Exit, UsageError};
use crate::invocation::Invocation;

pub fn run(args: &CleanupArgs) -> anyhow::Result<Exit> {
    let config = Config::from_args(&args.common)?;
    let mode = match (&args.move_to, args.delete) {
        (Some(dir), _) => Mode::MoveTo(trash(&config, dir)?),
        (None, true) => Mode::Delete,
        (None, false) => Mode::DryRun,
    };
    let rules = config.rules.clone();
    let mut run = Invocation::new(config)?;
    let report = run.single_stage(CleanupStage { mode, rules })?;
    run.emit(&report)?;
    Ok(run.config.verdict(report.kept > 0))
}

/// The `--move-to` directory, made if missing, and refused inside the input (its files would
/// be walked again, as orphans of their own).
fn trash(config: &Config, dir: &std::path::Path) -> Result<std::path::PathBuf, UsageError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| UsageError(format!("--move-to {}: cannot be made: {e}", dir.display())))?;
    let real = std::fs::canonicalize(dir)
        .map_err(|e| UsageError(format!("--move-to {}: {e}", dir.display())))?;
    if real.starts_with(config.root_dir()) {
        return Err(UsageError(format!(
            "--move-to {} is inside the input; choose a directory outside it (on the same file system)",
            dir.display()
        )));
    }
    Ok(real)
}
