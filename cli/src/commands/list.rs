//! `list`: see `sidecar_engine::ops::list`.

use std::time::Instant;

use anyhow::anyhow;
use sidecar_engine::ops::export::Sink;
use sidecar_engine::ops::list::Lister;

use crate::args::ListArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::invocation::{self, Invocation};
use crate::rows_output::RowsOutput;

pub fn run(args: &ListArgs) -> anyhow::Result<Exit> {
    let started = Instant::now();
    let config = Config::from_args(&args.common)?.selecting(&args.select);
    let (output, writer) = RowsOutput::open("--output", &args.rows_output, &config)?;
    let mut run = Invocation::new(config)?;
    let sink = Sink::new(writer);
    let (config, registry) = (&run.config, run.registry());
    let lister = Lister::new(
        registry,
        &config.operations,
        config.max_file_size,
        sink.clone(),
    );
    let pool = invocation::pool(config)?;
    let tree =
        pool.install(|| invocation::walk_visiting(config, registry, &|dir| lister.visit(dir)));
    invocation::refuse_excluded(config, &tree)?;
    let report = lister.finish(&tree, started.elapsed().as_secs_f64());
    sink.finish()
        .map_err(|e| anyhow!("{}: cannot be written: {e}", output.shown()))?;
    let to_file = output.is_file();
    output.commit()?;
    let findings = report.unreadable_sidecars > 0 || !report.walk_errors.is_empty();
    if to_file || args.common.output != "-" {
        run.emit(&report)?;
    } else {
        for error in &report.walk_errors {
            eprintln!("image-sidecar-rust: warning: {error}");
        }
    }
    Ok(run.config.verdict(findings))
}
