//! `stats`: see `sidecar_engine::ops::stats`.

use sidecar_engine::ops::stats::StatsStage;

use crate::args::CommonArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::invocation::Invocation;

pub fn run(args: &CommonArgs) -> anyhow::Result<Exit> {
    let mut run = Invocation::new(Config::from_args(args)?)?;
    let report = run.single_stage(StatsStage)?;
    run.emit(&report)?;
    Ok(run.config.verdict(!report.errors.is_empty()))
}
