//! `format-stats`: see `sidecar_engine::ops::format_stats`.

use sidecar_engine::ops::format_stats::FormatStatsStage;

use crate::args::FormatStatsArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::invocation::Invocation;

pub fn run(args: &FormatStatsArgs) -> anyhow::Result<Exit> {
    let mut run = Invocation::new(Config::from_args(&args.common)?)?;
    let report = run.single_stage(FormatStatsStage { deep: args.deep })?;
    run.emit(&report)?;
    Ok(run.config.verdict(report.has_findings()))
}
