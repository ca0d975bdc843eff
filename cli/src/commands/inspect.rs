//! `inspect FILE`: see `sidecar_engine::ops::inspect`.

use sidecar_engine::fsio::DEFAULT_MAX_FILE_SIZE;
use sidecar_engine::ops::inspect::inspect;

use crate::args::InspectArgs;
use crate::config::{plugin_dirs, Config, Output};
use crate::exit::Exit;
use crate::invocation::Invocation;

pub fn run(args: &InspectArgs) -> anyhow::Result<Exit> {
    let config = Config {
        max_file_size: args.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
        ..Config::new(
            args.file.clone(),
            Some(1),
            Output::parse(&args.output),
            args.strict,
            plugin_dirs(&args.plugins),
        )?
    };
    let mut run = Invocation::new(config)?;
    let inspection = inspect(&run.config.input, run.registry(), run.config.max_file_size);
    run.emit(&inspection)?;
    Ok(run.config.verdict(!inspection.is_valid))
}
