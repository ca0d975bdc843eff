//! `format-stats`: see `sidecar_engine::ops::format_stats`.

use sidecar_engine::ops::format_stats::FormatStatsStage;

use crate::args::CommonArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::invocation::Invocation;

pub fn run(args: &CommonArgs) -> anyhow::Result<Exit> {
    let mut run = Invocation::new(Config::from_args(args)?)?;
    let report = run.single_stage(FormatStatsStage)?;
    run.emit(&report)?;
    Ok(run.config.verdict(report.unrecognized_files > 0))
}
