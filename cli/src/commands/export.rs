//! `export`: see `sidecar_engine::ops::export`.

use std::sync::Arc;

use anyhow::anyhow;
use sidecar_engine::ops::export::parquet::Table;
use sidecar_engine::ops::export::{self, Column, ExportStage, Layout, NonFinite, Sink};

use crate::args::ExportArgs;
use crate::config::Config;
use crate::exit::{Exit, UsageError};
use crate::invocation::Invocation;
use crate::rows_output::RowsOutput;

pub fn run(args: &ExportArgs) -> anyhow::Result<Exit> {
    let config = Config::from_args(&args.common)?.selecting(&args.select);
    for pointer in args.rows.iter().chain(&args.fields) {
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(UsageError(format!(
                "{pointer:?} is not a JSON pointer: it starts with / (for example /face_detection/faces)"
            ))
            .into());
        }
    }
    let (output, writer) = RowsOutput::open(&args.rows_output, &config)?;
    let format = args.format.as_str();
    let rules = config.rules.clone();
    let mut run = Invocation::new(config)?;
    let stage = |layout: Layout, sink| ExportStage {
        layout,
        rows: args.rows.clone(),
        fields: if format == "jsonl" {
            args.fields.clone()
        } else {
            Vec::new()
        },
        rules: rules.clone(),
        sink,
    };
    let nowhere = || Sink::new(Box::new(std::io::sink()));
    let (layout, sink) = match format {
        "csv" => {
            // CSV needs its header first: a pass that writes nothing finds the columns.
            let found = run.single_stage(stage(Layout::Columns, nowhere()))?.columns;
            let columns = chosen(found, &args.fields);
            let mut header = vec!["SourceFile".to_owned()];
            header.extend(columns.iter().map(|c| c.header.clone()));
            let mut line = Vec::new();
            export::write_csv_record(&mut line, &header);
            let sink = Sink::new(writer);
            sink.put(&line);
            (Layout::Csv { columns }, sink)
        }
        "parquet" => {
            // Parquet needs its types first: a pass that writes nothing infers them.
            let inferred = run
                .single_stage(stage(Layout::Types, nowhere()))?
                .inferred
                .unwrap_or_default();
            if let Some(conflict) = &inferred.conflict {
                return Err(UsageError(format!(
                    "cannot write Parquet: {conflict} (export it as jsonl, or choose other columns with --fields)"
                ))
                .into());
            }
            let table = Arc::new(Table::new(&inferred, args.rows.is_some(), &args.fields));
            let sink = Sink::parquet(writer, &table)
                .map_err(|e| anyhow!("{}: cannot start the Parquet file: {e}", output.shown()))?;
            (Layout::Parquet { table }, sink)
        }
        _ => (
            Layout::JsonLines {
                non_finite: match args.non_finite.as_str() {
                    "null" => NonFinite::Null,
                    _ => NonFinite::Token,
                },
            },
            Sink::new(writer),
        ),
    };
    let report = run.single_stage(stage(layout, sink.clone()))?;
    sink.finish().map_err(|e| {
        anyhow!(
            "{}: cannot be written: {e}; nothing exported",
            output.shown()
        )
    })?;
    let to_file = output.is_file();
    output.commit()?;
    if to_file || args.common.output != "-" {
        run.emit(&report)?;
    } else {
        // The rows hold stdout: what was left out is said on stderr.
        for skipped in &report.not_exported {
            eprintln!(
                "image-sidecar-rust: warning: {}: not exported: {}",
                skipped.file_path, skipped.reason
            );
        }
    }
    Ok(run.config.verdict(report.has_findings()))
}

/// The columns `--fields` names, in its order, with the headers the tree gave them; every
/// column found when it names none.
fn chosen(found: Vec<Column>, fields: &[String]) -> Vec<Column> {
    if fields.is_empty() {
        return found;
    }
    fields
        .iter()
        .map(|pointer| {
            found
                .iter()
                .find(|c| &c.pointer == pointer)
                .cloned()
                .unwrap_or_else(|| Column {
                    pointer: pointer.clone(),
                    header: pointer.clone(),
                    lang: None,
                })
        })
        .collect()
}
