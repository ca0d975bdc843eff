//! `export`: see `sidecar_engine::ops::export`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use sidecar_engine::fsio::{StreamFile, WriteOutcome};
use sidecar_engine::ops::export::{self, Column, ExportStage, Layout, NonFinite, Sink};

use crate::args::ExportArgs;
use crate::config::Config;
use crate::exit::{Exit, UsageError};
use crate::invocation::Invocation;

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
    let target = match args.rows_output.as_str() {
        "-" => None,
        name => Some(output_path(name, &config)?),
    };
    if let Some(target) = &target {
        if target.symlink_metadata().is_ok() {
            return Err(UsageError(format!(
                "--output {}: exists already; nothing exported (remove it or choose another name)",
                target.display()
            ))
            .into());
        }
    }
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
    // CSV needs its header first: a pass that writes nothing finds the columns.
    let columns = if csv {
        let found = run
            .single_stage(stage(Layout::Columns, Sink::new(Box::new(std::io::sink()))))?
            .columns;
        Some(chosen(found, &args.fields))
    } else {
        None
    };
    let (stream, writer): (Option<StreamFile>, Box<dyn Write + Send>) = match &target {
        None => (None, Box::new(BufWriter::new(std::io::stdout()))),
        Some(target) => {
            let (stream, file) = StreamFile::create(target)
                .with_context(|| format!("--output {}: cannot be written", target.display()))?;
            (
                Some(stream),
                Box::new(BufWriter::with_capacity(1 << 20, file)),
            )
        }
    };
    let sink = Sink::new(writer);
    let layout = match columns {
        Some(columns) => {
            let mut header = vec!["SourceFile".to_owned()];
            header.extend(columns.iter().map(|c| c.header.clone()));
            let mut line = Vec::new();
            export::write_csv_record(&mut line, &header);
            sink.put(&line);
            Layout::Csv { columns }
        }
        None => Layout::JsonLines {
            non_finite: match args.non_finite.as_str() {
                "null" => NonFinite::Null,
                _ => NonFinite::Token,
            },
        },
    };
    let report = run.single_stage(stage(layout, sink.clone()))?;
    let shown = target
        .as_ref()
        .map_or_else(|| "stdout".to_owned(), |t| t.display().to_string());
    sink.finish()
        .map_err(|e| anyhow!("{shown}: cannot be written: {e}; nothing exported"))?;
    if let (Some(stream), Some(target)) = (stream, &target) {
        match stream
            .commit()
            .with_context(|| format!("{shown}: cannot be put in place"))?
        {
            WriteOutcome::Written(_) => {}
            WriteOutcome::Exists => bail!(
                "{}: appeared while exporting; the rows were not written over it",
                target.display()
            ),
        }
    }
    if target.is_some() || args.common.output != "-" {
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

/// The output's path, `{shard}` replaced by the shard's index.
fn output_path(name: &str, config: &Config) -> Result<PathBuf, UsageError> {
    if !name.contains("{shard}") {
        return Ok(PathBuf::from(name));
    }
    match &config.rules.shard {
        Some(shard) => Ok(PathBuf::from(
            name.replace("{shard}", &shard.index.to_string()),
        )),
        None => Err(UsageError(format!(
            "--output {name}: {{shard}} is replaced by the index of --shard I/N, and no --shard is given"
        ))),
    }
}
