//! `run NAME|FILE`: runs a pipeline (see `sidecar_engine::pipeline`). The pipeline is checked
//! completely before any file is touched; a broken one is refused with every problem listed.

use std::path::{Path, PathBuf};

use sidecar_engine::discover::Visit;
use sidecar_engine::ops;
use sidecar_engine::pipeline::diagnostic::Diagnostic;
use sidecar_engine::pipeline::spec::Spec;
use sidecar_engine::pipeline::{self, Context, Origin, Resolved};
use sidecar_engine::report_path;
use sidecar_validators::DEFAULT_VALIDATORS;

use crate::args::{PluginArgs, RunArgs};
use crate::config::{plugin_dirs, Config, Output};
use crate::exit::{Exit, UsageError};
use crate::invocation;
use crate::pipelines::{self, Found};
use crate::plugins::{self, Loaded};

mod exports;

/// A pipeline that passed every check.
pub struct Checked<'a> {
    pub spec: &'a Spec,
    pub resolved: Resolved<'a>,
}

/// What the command line overrides in a pipeline.
#[derive(Default)]
pub struct Overrides<'a> {
    pub dry_run: bool,
    pub input: Option<&'a Path>,
    /// `--output` was given: the pipeline's `report` is not used.
    pub output: bool,
    pub max_file_size: Option<u64>,
    /// Load the plugins (to run), or only scan them (to check the file).
    pub scan_only: bool,
}

/// Parses and resolves a pipeline, loading (or only scanning) the plugins it and the command
/// line name, and hands the result to `then`. Every problem in the file is returned at once,
/// in file order; a plugin directory that cannot be used is one, at its place in `plugin_dirs`;
/// the `report` path is judged against the input (see `sidecar_engine::report_path`). The
/// command line's plugin paths must have been checked (`plugins::libraries_of`).
pub fn check<T>(
    found: &Found,
    cli_plugin_dirs: &[PathBuf],
    overrides: &Overrides<'_>,
    then: impl FnOnce(Checked<'_>, &Loaded) -> T,
) -> Result<T, Vec<Diagnostic>> {
    let (spec, mut diagnostics) = pipeline::spec::parse(&found.text);
    if let (Some(first), Some(file)) = (spec.plugin_dirs.first(), &found.file) {
        if let Err(reason) = trusted_text(file, &found.text) {
            diagnostics.push(
                Diagnostic::new(
                    first.span.clone(),
                    format!("this pipeline names plugin directories, so it must be a trusted file: {reason}"),
                )
                .hint("a pipeline that loads code is trusted like a plugin directory: owned by you or root, and nobody else can change it or the directories above it"),
            );
            return Err(diagnostics);
        }
    }
    let mut dirs = cli_plugin_dirs.to_vec();
    for dir in &spec.plugin_dirs {
        let path = found.base_dir.join(&dir.value);
        match plugins::libraries_of(&path) {
            Ok(_) => dirs.push(path),
            Err(reason) => diagnostics.push(
                Diagnostic::new(
                    dir.span.clone(),
                    format!("plugin directory {}: {reason}", path.display()),
                )
                .hint("plugin_dirs are relative to the pipeline file's directory"),
            ),
        }
    }
    let mode = if overrides.scan_only {
        plugins::Mode::ScanOnly
    } else {
        plugins::Mode::Load
    };
    let loaded = match plugins::load(&dirs, mode) {
        Ok(loaded) => loaded,
        Err(reason) => {
            diagnostics.push(Diagnostic::new(0..0, reason));
            return Err(diagnostics);
        }
    };
    let context = Context {
        base_dir: &found.base_dir,
        default_validators: DEFAULT_VALIDATORS,
        dry_run: overrides.dry_run,
        max_file_size: overrides.max_file_size,
        purpose: pipeline::Purpose::Run,
    };
    match (&spec.report, overrides.output) {
        (Some(report), false) if report.value != "-" => {
            let input = overrides
                .input
                .map(Path::to_path_buf)
                .or_else(|| spec.input.root.as_ref().map(|r| found.base_dir.join(r)));
            let path = found.base_dir.join(&report.value);
            if let Err(refused) =
                report_path::check(&path, input.as_deref().map(|i| (i, &loaded.registry)))
            {
                diagnostics.push(
                    Diagnostic::new(report.span.clone(), refused.to_string()).hint(
                        "write the report to an existing, writable directory outside the input, under a name no earlier file holds",
                    ),
                );
                diagnostics.sort_by_key(|d| d.span.start);
            }
        }
        _ => {}
    }
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

/// Checks a pipeline file like a plugin library, and that what was read from it is what the
/// checked file holds.
fn trusted_text(file: &Path, text: &str) -> Result<(), String> {
    let opened = sidecar_plugin_host::trust::TrustedFile::open(file)?;
    match opened.read_to_string() {
        Ok(now) if now == text => Ok(()),
        Ok(_) => Err(format!("{} changed while it was read", file.display())),
        Err(e) => Err(format!("cannot read {}: {e}", file.display())),
    }
}

/// The command line's and the environment's plugin paths, each checked (exit 2 before any
/// work when one cannot be used).
pub fn checked_plugin_dirs(args: &PluginArgs) -> Result<Vec<PathBuf>, UsageError> {
    let dirs = plugin_dirs(args);
    for dir in &dirs {
        plugins::libraries_of(dir)
            .map_err(|reason| UsageError(format!("plugin path {}: {reason}", dir.display())))?;
    }
    Ok(dirs)
}

/// Prints diagnostics on stderr with the lines they point at.
pub fn print_diagnostics(found: &Found, diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        eprint!(
            "{}",
            diagnostic.render(&found.source, &found.text, crate::config::colour())
        );
    }
}

pub fn run(args: &RunArgs) -> anyhow::Result<Exit> {
    let found = pipelines::find(&args.pipeline)?;
    let cli_plugin_dirs = checked_plugin_dirs(&args.plugins)?;
    let overrides = Overrides {
        dry_run: args.dry_run,
        input: args.input.as_deref(),
        output: args.output.is_some(),
        max_file_size: args.max_file_size,
        scan_only: false,
    };
    match check(&found, &cli_plugin_dirs, &overrides, |checked, loaded| {
        execute(args, &found, checked, loaded)
    }) {
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
        (None, Some(report)) if report.value == "-" => Output::Stdout,
        (None, Some(report)) => Output::File(found.base_dir.join(&report.value)),
        (None, None) => Output::Stdout,
    };
    let names = |list: &Option<Vec<sidecar_engine::pipeline::spec::Named>>| {
        list.as_ref()
            .map(|l| l.iter().map(|n| n.value.clone()).collect::<Vec<String>>())
    };
    let (images, directory_files) = (
        names(&spec.input.image_extensions),
        names(&spec.input.directory_files),
    );
    let config = Config {
        max_file_size: checked.resolved.plan.max_file_size,
        rules: crate::config::rules(
            &args.rules,
            images.as_deref(),
            directory_files.as_deref(),
            args.pass
                .shard
                .as_deref()
                .or(spec.shard.as_ref().map(|s| s.value.as_str())),
        )?,
        cache: !args.pass.no_cache,
        html: args.page.html.clone(),
        ..Config::new(
            input,
            args.workers.or(spec.workers),
            output,
            args.strict,
            Vec::new(),
        )?
    };
    let registry = &loaded.registry;
    let mut resolved = checked.resolved;
    let destination = invocation::Destination::prepare(
        &config.output,
        config.html.as_deref(),
        Some((&config.input, registry)),
    )?;
    let _lock = invocation::claim(&config, &resolved.plan)?;
    let pool = invocation::pool(&config)?;
    let origin = Origin {
        name: found.name.clone(),
        source: found.source.clone(),
        description: spec.description.clone(),
    };
    let outputs = exports::prepare(
        &mut resolved,
        &exports::FirstPass {
            spec,
            found,
            config: &config,
            registry,
            pool: &pool,
            origin: &origin,
            dry_run: args.dry_run,
            max_file_size: args.max_file_size,
        },
    )?;
    let report = invocation::with_cache(&config, registry, &resolved.plan, |records| {
        pass(&config, registry, &resolved, &origin, &pool, records)
    })?;
    exports::commit(outputs, report.aborted.is_none())?;
    let plan = &resolved.plan;
    let shard = invocation::shard_info(
        &config,
        registry,
        plan,
        &format!("pipeline {}", origin.name),
    );
    invocation::emit_report(&report, destination, &loaded.errors, shard.as_ref())?;
    Ok(if report.aborted.is_some() {
        Exit::Findings
    } else {
        config.verdict(report.has_findings())
    })
}

/// One pass of a resolved pipeline over the input, as the walk goes when the plan allows.
pub(crate) fn pass(
    config: &Config,
    registry: &sidecar_engine::Registry,
    resolved: &Resolved<'_>,
    origin: &Origin,
    pool: &rayon::ThreadPool,
    records: Option<&dyn ops::Records>,
) -> Result<pipeline::PipelineReport, UsageError> {
    if ops::runs_walking(&resolved.plan) {
        let (tree, report) = invocation::on_pool(pool, 0, |progress| {
            let walk = |visit: Visit<'_>| invocation::walk_visiting(config, registry, visit);
            pipeline::run_walking(
                resolved,
                walk,
                registry,
                origin,
                &config.input,
                progress,
                records,
            )
        });
        invocation::refuse_excluded(config, &tree)?;
        Ok(report)
    } else {
        let mut tree = pool.install(|| invocation::walk(config, registry, &resolved.plan))?;
        resolved.select(&mut tree, &config.input);
        Ok(invocation::on_pool(pool, tree.len(), |progress| {
            pipeline::run(
                resolved,
                &tree,
                registry,
                origin,
                &config.input,
                progress,
                records,
            )
        }))
    }
}
