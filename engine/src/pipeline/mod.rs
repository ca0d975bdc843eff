//! Declarative pipelines: a TOML file names the stages of one pass over a tree (validate,
//! convert, stats, format-stats, export), which files go through, and where the report goes. The file
//! format is documented in `docs/pipelines.md`.
//!
//! [`spec::parse`] reads a file and finds every problem that needs no registry; [`resolve`]
//! judges the names (formats, validators, globs) against the run's registry and turns the spec
//! into an [`ops::Plan`]; [`run`] executes it and builds the report.

pub mod diagnostic;
pub mod spec;

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::discover::{Candidate, Tree};
use crate::fsio::DEFAULT_MAX_FILE_SIZE;
use crate::ops::convert::ConvertStage;
use crate::ops::export::{ExportStage, Layout, NonFinite};
use crate::ops::format_stats::FormatStatsStage;
use crate::ops::stats::StatsStage;
use crate::ops::validate::{NamedCheck, ValidateStage};
use crate::ops::{self, Aborted, Plan, Progress, Records, Section, Stage};
use crate::pipeline::diagnostic::{did_you_mean, Diagnostic};
use crate::pipeline::spec::{ExportFormat, KindSpec, Named, Spec};
use crate::registry::Registry;

/// A pipeline ready to run.
pub struct Resolved<'r> {
    pub plan: Plan<'r>,
    /// Stage names and kinds, in order.
    pub stages: Vec<(String, &'static str)>,
    /// The export stages, whose files the caller opens (and, for CSV and Parquet, whose
    /// layouts it finds with a first pass) before the run.
    pub exports: Vec<ExportOutput>,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

/// An export stage of the plan and what it writes.
#[derive(Debug, Clone)]
pub struct ExportOutput {
    /// Its position among the plan's stages.
    pub stage: usize,
    /// Its name in the report.
    pub name: String,
    pub format: ExportFormat,
    /// Resolved from the pipeline file's directory; `{shard}` not yet replaced.
    pub output: PathBuf,
    pub rows: Option<String>,
    pub fields: Vec<String>,
    /// Parquet's declared types (a types document or an earlier export), resolved from the
    /// pipeline file's directory: the stage needs no first pass.
    pub types: Option<PathBuf>,
}

/// What a plan is resolved for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The pipeline's pass.
    Run,
    /// The first pass of a pipeline with CSV or Parquet export stages: its validate stages
    /// (which decide what reaches the exports) and those exports, finding their columns and
    /// types; nothing else, and nothing is written.
    ExportLayouts,
}

/// What resolving needs besides the spec and the registry.
pub struct Context<'a> {
    /// Where relative paths in the file (validator options) are resolved from.
    pub base_dir: &'a Path,
    /// The validators a validate stage runs when it names none.
    pub default_validators: &'a [&'a str],
    /// Convert stages report what they would do and change nothing.
    pub dry_run: bool,
    /// The command line's size limit, over the pipeline's.
    pub max_file_size: Option<u64>,
    pub purpose: Purpose,
}

/// Judges the spec's names against the registry; every problem is reported.
pub fn resolve<'r>(
    spec: &Spec,
    registry: &'r Registry,
    context: &Context<'_>,
) -> Result<Resolved<'r>, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let include = globs(&spec.input.include, &mut diagnostics);
    let exclude = globs(&spec.input.exclude, &mut diagnostics);
    let codec_names: Vec<&str> = registry.codecs().map(|c| c.name()).collect();
    for format in &spec.input.formats {
        if registry.by_name(&format.value).is_none() {
            diagnostics.push(unknown("format", format, &codec_names));
        }
    }
    let mut stages = Vec::new();
    let mut names = Vec::new();
    let mut exports = Vec::new();
    for stage in &spec.stages {
        let resolved = match &stage.kind {
            KindSpec::Stats | KindSpec::FormatStats | KindSpec::Convert { .. }
                if context.purpose == Purpose::ExportLayouts =>
            {
                None
            }
            KindSpec::Validate {
                validators,
                on_error,
                options,
            } => validate_stage(
                registry,
                context,
                validators.as_deref(),
                options,
                &mut diagnostics,
            )
            .map(|checks| {
                Stage::Validate(ValidateStage {
                    all_results: false,
                    checks,
                    on_error: *on_error,
                })
            }),
            KindSpec::Convert {
                to,
                keep_source,
                remove_shared_sources,
                durability,
                prefer,
            } => {
                match registry.by_name(&to.value) {
                    Some(codec) if codec.can_encode() => Some(Stage::Convert(ConvertStage {
                        target: codec,
                        dry_run: context.dry_run,
                        keep_source: *keep_source,
                        remove_shared_sources: *remove_shared_sources,
                        durability: durability.unwrap_or_default(),
                        prefer: *prefer,
                    })),
                    Some(codec) => {
                        diagnostics.push(
                        Diagnostic::new(to.span.clone(), format!("the {} format is read-only", codec.name()))
                            .hint("convert to a format that is written: bin, rkyv, json, or a plugin's"),
                    );
                        None
                    }
                    None => {
                        let writable: Vec<&str> = registry
                            .codecs()
                            .filter(|c| c.can_encode())
                            .map(|c| c.name())
                            .collect();
                        diagnostics.push(unknown("format", to, &writable));
                        None
                    }
                }
            }
            KindSpec::Stats => Some(Stage::Stats(StatsStage::default())),
            KindSpec::FormatStats => Some(Stage::FormatStats(FormatStatsStage::default())),
            KindSpec::Export {
                format,
                output,
                rows,
                fields,
                types,
            } => {
                let layout = match (context.purpose, format) {
                    (Purpose::ExportLayouts, ExportFormat::JsonLines { .. }) => None,
                    (Purpose::ExportLayouts, ExportFormat::Parquet) if types.is_some() => None,
                    (Purpose::ExportLayouts, ExportFormat::Csv) => Some(Layout::Columns),
                    (Purpose::ExportLayouts, ExportFormat::Parquet) => Some(Layout::Types),
                    (Purpose::Run, ExportFormat::JsonLines { null_non_finite }) => {
                        Some(Layout::JsonLines {
                            non_finite: if *null_non_finite {
                                NonFinite::Null
                            } else {
                                NonFinite::Token
                            },
                        })
                    }
                    // Set by the caller from the first pass, with the output, before the run.
                    (Purpose::Run, ExportFormat::Csv) => Some(Layout::Columns),
                    (Purpose::Run, ExportFormat::Parquet) => Some(Layout::Types),
                };
                layout.map(|layout| {
                    let fields: Vec<String> = fields.iter().map(|f| f.value.clone()).collect();
                    exports.push(ExportOutput {
                        stage: stages.len(),
                        name: stage.name.clone(),
                        format: *format,
                        output: context.base_dir.join(&output.value),
                        fields: fields.clone(),
                        rows: rows.as_ref().map(|r| r.value.clone()),
                        types: types.as_ref().map(|t| context.base_dir.join(&t.value)),
                    });
                    Stage::Export(ExportStage::new(
                        layout,
                        rows.as_ref().map(|r| r.value.clone()),
                        fields,
                    ))
                })
            }
        };
        if let Some(resolved) = resolved {
            names.push((stage.name.clone(), resolved.kind()));
            stages.push(resolved);
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    Ok(Resolved {
        plan: Plan {
            stages,
            formats: spec
                .input
                .formats
                .iter()
                .filter_map(|f| registry.by_name(&f.value).map(|c| c.name().to_owned()))
                .collect(),
            operations: Vec::new(),
            max_file_size: context
                .max_file_size
                .or(spec.max_file_size)
                .unwrap_or(DEFAULT_MAX_FILE_SIZE),
        },
        stages: names,
        exports,
        include,
        exclude,
    })
}

fn unknown(what: &str, name: &Named, known: &[&str]) -> Diagnostic {
    let hint = did_you_mean(&name.value, known.iter().copied())
        .unwrap_or_else(|| format!("known: {}", known.join(", ")));
    Diagnostic::new(
        name.span.clone(),
        format!("unknown {what} `{}`", name.value),
    )
    .hint(hint)
}

fn globs(patterns: &[Named], diagnostics: &mut Vec<Diagnostic>) -> Option<GlobSet> {
    if patterns.is_empty() {
        return None;
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        match Glob::new(&pattern.value) {
            Ok(glob) => {
                builder.add(glob);
            }
            Err(e) => diagnostics.push(
                Diagnostic::new(
                    pattern.span.clone(),
                    format!("glob `{}` does not compile: {}", pattern.value, e.kind()),
                )
                .hint("globs use *, **, ?, [abc] and {a,b}, relative to the input root"),
            ),
        }
    }
    match builder.build() {
        Ok(set) => Some(set),
        Err(e) => {
            let span = patterns[0].span.start..patterns[patterns.len() - 1].span.end;
            diagnostics.push(Diagnostic::new(
                span,
                format!("the globs do not compile together: {e}"),
            ));
            None
        }
    }
}

fn validate_stage(
    registry: &Registry,
    context: &Context<'_>,
    validators: Option<&[Named]>,
    options: &[spec::ValidatorOptions],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<NamedCheck>> {
    let defaults: Vec<Named> = context
        .default_validators
        .iter()
        .map(|v| Named {
            value: (*v).to_owned(),
            span: 0..0,
        })
        .collect();
    let names = validators.unwrap_or(&defaults);
    let known: Vec<&str> = registry
        .validator_entries()
        .iter()
        .map(|e| e.validator.name())
        .collect();
    for option in options {
        if !names
            .iter()
            .any(|n| n.value.eq_ignore_ascii_case(&option.validator.value))
        {
            diagnostics.push(
                Diagnostic::new(
                    option.validator.span.clone(),
                    format!(
                        "options for `{}`, which this stage does not run",
                        option.validator.value
                    ),
                )
                .hint("add it to `validators`, or remove its options"),
            );
        }
    }
    let mut checks = Vec::new();
    let before = diagnostics.len();
    for name in names {
        let Some(validator) = registry.validator(&name.value) else {
            diagnostics.push(unknown("validator", name, &known));
            continue;
        };
        let given = options
            .iter()
            .find(|o| o.validator.value.eq_ignore_ascii_case(&name.value));
        let options = given.map_or_else(|| serde_json::json!({}), |o| o.options.clone());
        match NamedCheck::configure(validator, &options, context.base_dir) {
            Ok(check) => checks.push(check),
            Err(e) => {
                // At the option the message names, else at the validator's options table.
                let message = e.to_string();
                let span = given.map_or(name.span.clone(), |o| {
                    o.keys
                        .iter()
                        .find(|k| message.contains(&format!("`{}`", k.value)))
                        .map_or(o.validator.span.clone(), |k| k.span.clone())
                });
                diagnostics.push(
                    Diagnostic::new(span, format!("validator `{}`: {e}", validator.name())).hint(
                        format!("set its options in [stage.options.{}]", validator.name()),
                    ),
                );
            }
        }
    }
    (diagnostics.len() == before).then_some(checks)
}

impl Resolved<'_> {
    /// Keeps the candidates that `[input]`'s include and exclude globs select, matched against
    /// their path relative to `root`.
    pub fn select(&self, tree: &mut Tree, root: &Path) {
        if self.include.is_none() && self.exclude.is_none() {
            return;
        }
        tree.retain(|c| self.selects(c, root));
    }

    /// Whether the pipeline's file selection takes `candidate` (`root` is the input).
    pub fn selects(&self, candidate: Candidate<'_>, root: &Path) -> bool {
        if self.include.is_none() && self.exclude.is_none() {
            return true;
        }
        let full = candidate.path();
        let rel = full.strip_prefix(root).unwrap_or(candidate.rel);
        self.include.as_ref().is_none_or(|g| g.is_match(rel))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(rel))
    }
}

/// Where a pipeline came from, for reports.
#[derive(Debug, Clone)]
pub struct Origin {
    pub name: String,
    /// `built-in`, or the file's path.
    pub source: String,
    pub description: String,
}

/// One stage's section: its kind and the report of the matching single command.
struct StageSection {
    kind: &'static str,
    section: Section,
}

impl Serialize for StageSection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a> {
            kind: &'static str,
            #[serde(flatten)]
            section: &'a Section,
        }
        Flat {
            kind: self.kind,
            section: &self.section,
        }
        .serialize(serializer)
    }
}

/// Stages by name, in pipeline order.
struct Sections(Vec<(String, StageSection)>);

impl Serialize for Sections {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, section) in &self.0 {
            map.serialize_entry(name, section)?;
        }
        map.end()
    }
}

/// A pipeline run: one section per stage, under the stage's name, with the single commands'
/// field names; stage times in each section's `elapsed_seconds`.
#[derive(Serialize)]
pub struct PipelineReport {
    pub pipeline: String,
    pub source: String,
    pub description: String,
    pub input: String,
    pub dry_run: bool,
    /// Sidecar candidates selected by `[input]`.
    pub total_files: u64,
    /// Candidates left out because their format is not among `[input] formats`.
    pub filtered_files: u64,
    /// Candidates not reached because a stage aborted the run.
    pub not_processed: u64,
    pub aborted: Option<Aborted>,
    /// Files folded from the results cache instead of being read; absent without a cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_files: Option<u64>,
    stages: Sections,
    pub elapsed_seconds: f64,
}

/// Runs a resolved pipeline over a tree already selected with [`Resolved::select`], with the
/// results cache when one is given (pipelines that convert do not use it).
#[allow(clippy::too_many_arguments)]
pub fn run(
    resolved: &Resolved<'_>,
    tree: &Tree,
    registry: &Registry,
    origin: &Origin,
    input: &Path,
    progress: &dyn Progress,
    records: Option<&dyn Records>,
) -> PipelineReport {
    let pass = ops::run_with_records(tree, registry, &resolved.plan, progress, records);
    report(
        resolved,
        origin,
        input,
        pass,
        tree.len() as u64,
        records.is_some(),
    )
}

/// [`run`] as the walk goes, for a pipeline whose plan [`ops::runs_walking`]: `walk` walks
/// the input, handing each directory's candidates to its visitor. Returns the walked tree
/// (without candidates) and the report.
pub fn run_walking(
    resolved: &Resolved<'_>,
    walk: impl FnOnce(crate::discover::Visit<'_>) -> Tree,
    registry: &Registry,
    origin: &Origin,
    input: &Path,
    progress: &dyn Progress,
    records: Option<&dyn Records>,
) -> (Tree, PipelineReport) {
    let keep = |candidate: Candidate<'_>| resolved.selects(candidate, input);
    let (tree, pass, kept) =
        ops::run_walking(walk, &keep, registry, &resolved.plan, progress, records);
    let report = report(resolved, origin, input, pass, kept, records.is_some());
    (tree, report)
}

/// The pipeline's report of a pass over `total_files` candidates.
fn report(
    resolved: &Resolved<'_>,
    origin: &Origin,
    input: &Path,
    pass: ops::PassReport,
    total_files: u64,
    cached: bool,
) -> PipelineReport {
    let dry_run = resolved
        .plan
        .stages
        .iter()
        .any(|s| matches!(s, Stage::Convert(c) if c.dry_run));
    PipelineReport {
        pipeline: origin.name.clone(),
        source: origin.source.clone(),
        description: origin.description.clone(),
        input: input.to_string_lossy().into_owned(),
        dry_run,
        total_files,
        filtered_files: pass.filtered_files,
        not_processed: pass.not_processed,
        aborted: pass.aborted,
        cached_files: cached.then_some(pass.cached_files),
        stages: Sections(
            resolved
                .stages
                .iter()
                .zip(pass.sections)
                .map(|((name, kind), section)| (name.clone(), StageSection { kind, section }))
                .collect(),
        ),
        elapsed_seconds: pass.elapsed_seconds,
    }
}

impl PipelineReport {
    /// Takes the report of the stage named `name` out of this report.
    pub fn take_section(&mut self, name: &str) -> Option<Section> {
        let at = self.stages.0.iter().position(|(n, _)| n == name)?;
        Some(self.stages.0.remove(at).1.section)
    }

    /// Whether any stage found a file invalid, unreadable, failed or in conflict.
    pub fn has_findings(&self) -> bool {
        self.stages.0.iter().any(|(_, s)| s.section.has_findings())
    }
}
