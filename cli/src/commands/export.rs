//! `export`: see `sidecar_engine::ops::export`.

use anyhow::anyhow;
use sidecar_engine::ops::export::{self, ExportStage, Layout, NonFinite, NotWritable, Sink};

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
    let declared = match &args.types {
        Some(_) if args.format != "parquet" => {
            return Err(UsageError(
                "--types declares Parquet's column types: it goes with --format parquet".into(),
            )
            .into())
        }
        Some(path) => Some(export::parquet::read_types(path).map_err(UsageError)?),
        None => None,
    };
    let (output, writer) = RowsOutput::open("--output", &args.rows_output, &config)?;
    let format = args.format.as_str();
    let rules = config.rules.clone();
    let mut run = Invocation::new(config)?;
    let stage = |layout: Layout| ExportStage {
        rules: rules.clone(),
        ..ExportStage::new(layout, args.rows.clone(), args.fields.clone())
    };
    let (layout, sink) = match (format, declared) {
        ("parquet", Some(types)) => {
            export::parquet_layout(&types, args.rows.is_some(), &args.fields, writer)
                .map_err(|e| anyhow!("{}: cannot start the Parquet file: {e}", output.shown()))?
        }
        // CSV needs its header first, Parquet its types: a pass that writes nothing finds them.
        ("csv" | "parquet", _) => {
            let finding = if format == "csv" {
                Layout::Columns
            } else {
                Layout::Types
            };
            let first = run.single_stage(stage(finding))?;
            export::writing_layout(first, args.rows.is_some(), &args.fields, writer).map_err(
                |refused| match refused {
                    NotWritable::Conflict(conflict) => anyhow::Error::from(UsageError(format!(
                        "cannot write Parquet: {conflict} (export it as jsonl, or choose other columns with --fields)"
                    ))),
                    NotWritable::Start(e) => {
                        anyhow!("{}: cannot start the Parquet file: {e}", output.shown())
                    }
                },
            )?
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
    let report = run.single_stage(ExportStage {
        sink: sink.clone(),
        output: output.is_file().then(|| output.shown()),
        ..stage(layout)
    })?;
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
