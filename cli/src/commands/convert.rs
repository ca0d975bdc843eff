//! `convert`: see `sidecar_engine::ops::convert`.

use sidecar_engine::fsio::Durability;
use sidecar_engine::ops::convert::{ConvertStage, Prefer};

use crate::args::ConvertArgs;
use crate::config::Config;
use crate::exit::{Exit, UsageError};
use crate::invocation::Invocation;

pub fn run(args: &ConvertArgs) -> anyhow::Result<Exit> {
    let mut run = Invocation::new(Config::from_args(&args.common)?)?;
    let target = run
        .registry()
        .by_name(&args.format)
        .filter(|codec| codec.can_encode())
        .ok_or_else(|| {
            let writable: Vec<&str> = run
                .registry()
                .codecs()
                .filter(|c| c.can_encode())
                .map(|c| c.name())
                .collect();
            UsageError(format!(
                "unknown target format `{}` (choose one of: {})",
                args.format,
                writable.join(", ")
            ))
        })?;
    let stage = ConvertStage {
        target,
        dry_run: args.dry_run,
        keep_source: args.keep_source,
        remove_shared_sources: args.remove_shared_sources,
        durability: if args.fsync {
            Durability::EachFile
        } else {
            Durability::parse(&args.sync).expect("clap checks the sync mode")
        },
        prefer: args
            .prefer
            .as_deref()
            .map(|p| Prefer::parse(p).expect("clap checks the choice")),
    };
    let report = run.single_stage(stage)?;
    run.emit(&report)?;
    Ok(run.config.verdict(report.has_findings()))
}
