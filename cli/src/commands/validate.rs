//! `validate`: see `sidecar_engine::ops::validate`.

use sidecar_engine::ops::validate::{validate, ValidateOptions};

use crate::args::ValidateArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::run::Run;

pub fn run(args: &ValidateArgs) -> anyhow::Result<Exit> {
    let run = Run::new(Config::from_args(&args.common)?);
    let options = ValidateOptions {
        all_results: args.all_results,
    };
    let tree = run.tree();
    let report = run.on_pool(tree.candidates.len(), |progress| {
        validate(&tree, &run.registry, &options, progress)
    })?;
    run.emit(&report)?;
    Ok(run.config.verdict(report.invalid_files > 0))
}
