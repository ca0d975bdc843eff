//! `stats`: see `sidecar_engine::ops::stats`.

use sidecar_engine::ops::stats::StatsStage;

use crate::args::StatsArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::invocation::Invocation;

pub fn run(args: &StatsArgs) -> anyhow::Result<Exit> {
    let mut run = Invocation::new(Config::from_args(&args.common)?.selecting(&args.select))?;
    let report = run.single_stage(StatsStage {
        all_results: args.all_results,
    })?;
    run.emit(&report)?;
    Ok(run.config.verdict(!report.errors.is_empty()))
}
