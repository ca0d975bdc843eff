//! `format-stats`: see `sidecar_engine::ops::format_stats`.

use sidecar_engine::ops::format_stats::format_stats;

use crate::args::CommonArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::run::Run;

pub fn run(args: &CommonArgs) -> anyhow::Result<Exit> {
    let run = Run::new(Config::from_args(args)?);
    let tree = run.tree();
    let report = run.on_pool(tree.candidates.len(), |progress| {
        format_stats(&tree, &run.registry, progress)
    })?;
    run.emit(&report)?;
    Ok(run.config.verdict(report.unrecognized_files > 0))
}
