//! `mv`: see `sidecar_engine::ops::mv`.

use sidecar_engine::ops::mv::{self, Destination};

use crate::args::MoveArgs;
use crate::config::{self, Output};
use crate::exit::{Exit, UsageError};
use crate::invocation;

pub fn run(args: &MoveArgs) -> anyhow::Result<Exit> {
    let (dest, sources) = args
        .paths
        .split_last()
        .expect("clap requires a source and a destination");
    if let Some(missing) = sources.iter().find(|s| s.symlink_metadata().is_err()) {
        return Err(UsageError(format!(
            "{}: no such file; nothing moved",
            missing.display()
        ))
        .into());
    }
    let destination = if dest.is_dir() {
        Destination::Into(dest.clone())
    } else if sources.len() == 1 {
        let parent = sidecar_engine::fsio::parent(dest);
        if !parent.is_dir() {
            return Err(UsageError(format!(
                "{}: no such directory to rename into",
                parent.display()
            ))
            .into());
        }
        Destination::Rename(dest.clone())
    } else {
        return Err(UsageError(format!(
            "{}: not a directory; moving several photos needs a directory to move them into",
            dest.display()
        ))
        .into());
    };
    let rules = config::rules(&args.rules, None, None, None)?;
    let report = mv::run(sources, &destination, &rules, args.dry_run);
    invocation::emit(&report, &Output::parse(&args.output))?;
    Ok(if args.strict && report.has_findings() {
        Exit::Findings
    } else {
        Exit::Success
    })
}
