//! `export`: see `sidecar_engine::ops::export`.

use anyhow::anyhow;
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
    let csv = args.format == "csv";
    let rules = config.rules.clone();
    let mut run = Invocation::new(config)?;
    let stage = |layout: Layout, sink| ExportStage {
        layout,
        rows: args.rows.clone(),
        fields: if csv { Vec::new() } else { args.fields.clone() },
        rules: rules.clone(),
        sink,
    };
    let sink = Sink::new(writer);
    let layout = if csv {
        // CSV needs its header first: a pass that writes nothing finds the columns.
        let found = run
            .single_stage(stage(Layout::Columns, Sink::new(Box::new(std::io::sink()))))?
            .columns;
        let columns = chosen(found, &args.fields);
        let mut header = vec!["SourceFile".to_owned()];
        header.extend(columns.iter().map(|c| c.header.clone()));
        let mut line = Vec::new();
        export::write_csv_record(&mut line, &header);
        sink.put(&line);
        Layout::Csv { columns }
    } else {
        Layout::JsonLines {
            non_finite: match args.non_finite.as_str() {
                "null" => NonFinite::Null,
                _ => NonFinite::Token,
            },
        }
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
