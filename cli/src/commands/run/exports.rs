//! The export stages of a pipeline: their files opened before the pass (never over an
//! existing file), the columns and types of CSV and Parquet found by a first pass of the
//! pipeline's validate stages, and the files put in place after the pass.

use std::sync::Arc;

use anyhow::anyhow;
use sidecar_engine::ops::export::{self, ExportReport, NotWritable, Sink};
use sidecar_engine::ops::Stage;
use sidecar_engine::pipeline::spec::{ExportFormat, Spec};
use sidecar_engine::pipeline::{self, Context, Origin, Purpose, Resolved};
use sidecar_engine::Registry;
use sidecar_validators::DEFAULT_VALIDATORS;

use crate::config::Config;
use crate::exit::UsageError;
use crate::pipelines::Found;
use crate::rows_output::RowsOutput;

/// What the first pass needs to run.
pub struct FirstPass<'a> {
    pub spec: &'a Spec,
    pub found: &'a Found,
    pub config: &'a Config,
    pub registry: &'a Registry,
    pub pool: &'a rayon::ThreadPool,
    pub origin: &'a Origin,
    pub dry_run: bool,
    pub max_file_size: Option<u64>,
}

/// An export stage's file, written during the pass.
pub struct Opened {
    name: String,
    output: RowsOutput,
    sink: Arc<Sink>,
}

/// Opens every export stage's file and gives each stage its layout, sink and the walk's rules.
pub fn prepare(resolved: &mut Resolved<'_>, first: &FirstPass<'_>) -> anyhow::Result<Vec<Opened>> {
    if resolved.exports.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = if resolved
        .exports
        .iter()
        .any(|e| !matches!(e.format, ExportFormat::JsonLines { .. }) && e.types.is_none())
    {
        layouts(first)?
    } else {
        Vec::new()
    };
    let mut opened = Vec::new();
    for planned in resolved.exports.clone() {
        let what = format!("stage `{}`: output", planned.name);
        let (output, writer) =
            RowsOutput::open(&what, &planned.output.to_string_lossy(), first.config)?;
        let mut first_report = || {
            found
                .iter()
                .position(|(name, _)| *name == planned.name)
                .map(|i| found.swap_remove(i).1)
                .ok_or_else(|| anyhow!("stage `{}`: the first pass did not run it", planned.name))
        };
        let declared = planned
            .types
            .as_deref()
            .map(export::parquet::read_types)
            .transpose()
            .map_err(|e| UsageError(format!("stage `{}`: types: {e}", planned.name)))?;
        let (layout, sink) = match (planned.format, declared) {
            (ExportFormat::JsonLines { .. }, _) => (None, Sink::new(writer)),
            (ExportFormat::Parquet, Some(types)) => {
                let (layout, sink) =
                    export::parquet_layout(&types, planned.rows.is_some(), &planned.fields, writer)
                        .map_err(|e| {
                            anyhow!("{}: cannot start the Parquet file: {e}", output.shown())
                        })?;
                (Some(layout), sink)
            }
            (ExportFormat::Csv | ExportFormat::Parquet, _) => {
                let written = export::writing_layout(
                    first_report()?,
                    planned.rows.is_some(),
                    &planned.fields,
                    writer,
                );
                let (layout, sink) = written.map_err(|refused| match refused {
                    NotWritable::Conflict(conflict) => anyhow::Error::from(UsageError(format!(
                        "stage `{}`: cannot write Parquet: {conflict} (export it as jsonl, or choose other columns with fields = [...])",
                        planned.name
                    ))),
                    NotWritable::Start(e) => {
                        anyhow!("{}: cannot start the Parquet file: {e}", output.shown())
                    }
                })?;
                (Some(layout), sink)
            }
        };
        let Stage::Export(stage) = &mut resolved.plan.stages[planned.stage] else {
            unreachable!("the plan has an export stage where its exports say");
        };
        if let Some(layout) = layout {
            stage.layout = layout;
        }
        stage.sink = sink.clone();
        stage.rules = first.config.rules.clone();
        stage.output = Some(output.shown());
        opened.push(Opened {
            name: planned.name,
            output,
            sink,
        });
    }
    Ok(opened)
}

/// The first pass: the pipeline's validate stages and its CSV and Parquet exports, each
/// finding its layout; their reports by stage name.
fn layouts(first: &FirstPass<'_>) -> anyhow::Result<Vec<(String, ExportReport)>> {
    let context = Context {
        base_dir: &first.found.base_dir,
        default_validators: DEFAULT_VALIDATORS,
        dry_run: first.dry_run,
        max_file_size: first.max_file_size,
        purpose: Purpose::ExportLayouts,
    };
    let mut resolved = pipeline::resolve(first.spec, first.registry, &context)
        .map_err(|_| anyhow!("the pipeline resolved once and not for its first pass"))?;
    for stage in &mut resolved.plan.stages {
        if let Stage::Export(stage) = stage {
            stage.rules = first.config.rules.clone();
        }
    }
    let mut report = super::pass(
        first.config,
        first.registry,
        &resolved,
        first.origin,
        first.pool,
        None,
    )?;
    let mut found = Vec::new();
    for planned in &resolved.exports {
        if let Some(section) = report.take_section(&planned.name) {
            found.push((planned.name.clone(), section.try_into()?));
        }
    }
    Ok(found)
}

/// Finishes every export's file and, when the pass ran to its end, puts it in place (a pass
/// that aborted leaves none).
pub fn commit(opened: Vec<Opened>, completed: bool) -> anyhow::Result<()> {
    for export in opened {
        export.sink.finish().map_err(|e| {
            anyhow!(
                "stage `{}`: {} cannot be written: {e}; nothing exported",
                export.name,
                export.output.shown()
            )
        })?;
        if completed {
            export.output.commit()?;
        }
    }
    Ok(())
}
