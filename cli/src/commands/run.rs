//! `run NAME|FILE`: runs a pipeline (see `sidecar_engine::pipeline`). The pipeline is checked
//! completely before any file is touched; a broken one is refused with every problem listed.

use std::path::PathBuf;

use sidecar_engine::pipeline::diagnostic::Diagnostic;
use sidecar_engine::pipeline::spec::Spec;
use sidecar_engine::pipeline::{self, Context, Origin, Resolved};
use sidecar_validators::DEFAULT_VALIDATORS;

use crate::args::RunArgs;
use crate::config::{plugin_dirs, Config, Output};
use crate::exit::{Exit, UsageError};
use crate::pipelines::{self, Found};
use crate::plugins::{self, Loaded};
use crate::run;

/// A pipeline that passed every check.
pub struct Checked<'a> {
    pub spec: &'a Spec,
    pub resolved: Resolved<'a>,
}

/// Parses and resolves a pipeline, loading the plugins it and the command line name, and hands
/// the result to `then`. Every problem in the file is returned at once, in file order.
pub fn check<T>(
    found: &Found,
    cli_plugin_dirs: &[PathBuf],
    dry_run: bool,
    then: impl FnOnce(Checked<'_>, &Loaded) -> T,
) -> Result<T, Vec<Diagnostic>> {
    let (spec, mut diagnostics) = pipeline::spec::parse(&found.text);
    let mut dirs = cli_plugin_dirs.to_vec();
    dirs.extend(spec.plugin_dirs.iter().map(|d| found.base_dir.join(d)));
    let loaded = plugins::load(&dirs);
    let context = Context {
        base_dir: &found.base_dir,
        default_validators: DEFAULT_VALIDATORS,
        dry_run,
    };
    match pipeline::resolve(&spec, &loaded.registry, &context) {
        Ok(resolved) if diagnostics.is_empty() => Ok(then(
            Checked {
                spec: &spec,
                resolved,
            },
            &loaded,
        )),
        Ok(_) => Err(diagnostics),
        Err(more) => {
            diagnostics.extend(more);
            diagnostics.sort_by_key(|d| d.span.start);
            Err(diagnostics)
        }
    }
}

/// Prints diagnostics on stderr with the lines they point at.
pub fn print_diagnostics(found: &Found, diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        eprint!("{}", diagnostic.render(&found.source, &found.text));
    }
}

pub fn run(args: &RunArgs) -> anyhow::Result<Exit> {
    let found = pipelines::find(&args.pipeline)?;
    match check(
        &found,
        &plugin_dirs(&args.plugins),
        args.dry_run,
        |checked, loaded| execute(args, &found, checked, loaded),
    ) {
        Ok(result) => result,
        Err(diagnostics) => {
            print_diagnostics(&found, &diagnostics);
            Err(UsageError(format!(
                "the pipeline {} has {} problem(s); nothing was run",
                found.source,
                diagnostics.len()
            ))
            .into())
        }
    }
}

fn execute(
    args: &RunArgs,
    found: &Found,
    checked: Checked<'_>,
    loaded: &Loaded,
) -> anyhow::Result<Exit> {
    let spec = checked.spec;
    let input = match (&args.input, &spec.input.root) {
        (Some(input), _) => input.clone(),
        (None, Some(root)) => found.base_dir.join(root),
        (None, None) => {
            return Err(UsageError(format!(
                "no input: give --input DIR, or set root in the [input] of {}",
                found.source
            ))
            .into())
        }
    };
    let output = match (&args.output, &spec.report) {
        (Some(output), _) => Output::parse(output),
        (None, Some(report)) if report == "-" => Output::Stdout,
        (None, Some(report)) => Output::File(found.base_dir.join(report)),
        (None, None) => Output::Stdout,
    };
    let config = Config::new(
        input,
        args.workers.or(spec.workers),
        output,
        args.strict,
        Vec::new(),
    )?;
    let registry = &loaded.registry;
    let mut tree = run::walk(&config, registry);
    checked.resolved.select(&mut tree, &config.input);
    let origin = Origin {
        name: found.name.clone(),
        source: found.source.clone(),
        description: spec.description.clone(),
    };
    let report = run::on_pool(&config, tree.len(), |progress| {
        pipeline::run(
            &checked.resolved,
            &tree,
            registry,
            &origin,
            &config.input,
            progress,
        )
    })?;
    run::emit_report(&report, &config.output, &loaded.errors)?;
    Ok(if report.aborted.is_some() {
        Exit::Findings
    } else {
        config.verdict(report.has_findings())
    })
}
