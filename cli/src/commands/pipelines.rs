//! `pipelines list`, `pipelines show NAME` and `pipelines check FILE`.

use serde::Serialize;
use sidecar_engine::pipeline::diagnostic::Located;

use crate::args::{PipelinesAction, PipelinesArgs};
use crate::config::Output;
use crate::exit::Exit;
use crate::invocation;
use crate::pipelines;

#[derive(Serialize)]
struct ListReport {
    pipelines: Vec<pipelines::Listed>,
}

#[derive(Serialize)]
struct ShowReport {
    name: String,
    /// `built-in`, or the file's path.
    source: String,
    /// The pipeline file, as written.
    text: String,
}

#[derive(Serialize)]
struct CheckReport {
    file: String,
    valid: bool,
    /// Stage names, in order, when the file is valid.
    stages: Vec<String>,
    errors: Vec<Located>,
}

pub fn run(args: &PipelinesArgs) -> anyhow::Result<Exit> {
    let output = Output::parse(&args.output);
    match &args.action {
        PipelinesAction::List => {
            invocation::emit(
                &ListReport {
                    pipelines: pipelines::list(),
                },
                &output,
            )?;
            Ok(Exit::Success)
        }
        PipelinesAction::Show { name } => {
            let found = pipelines::find(name)?;
            invocation::emit(
                &ShowReport {
                    name: found.name,
                    source: found.source,
                    text: found.text,
                },
                &output,
            )?;
            Ok(Exit::Success)
        }
        PipelinesAction::Check { file } => {
            let found = pipelines::find(file)?;
            let cli_plugin_dirs = super::run::checked_plugin_dirs(&args.plugins)?;
            let overrides = super::run::Overrides {
                scan_only: true,
                ..Default::default()
            };
            let checked = super::run::check(&found, &cli_plugin_dirs, &overrides, |checked, _| {
                checked
                    .resolved
                    .stages
                    .iter()
                    .map(|(name, _)| name.clone())
                    .collect::<Vec<String>>()
            });
            let report = match &checked {
                Ok(stages) => CheckReport {
                    file: found.source.clone(),
                    valid: true,
                    stages: stages.clone(),
                    errors: Vec::new(),
                },
                Err(diagnostics) => {
                    super::run::print_diagnostics(&found, diagnostics);
                    CheckReport {
                        file: found.source.clone(),
                        valid: false,
                        stages: Vec::new(),
                        errors: diagnostics
                            .iter()
                            .map(|d| d.locate(&found.source, &found.text))
                            .collect(),
                    }
                }
            };
            invocation::emit(&report, &output)?;
            Ok(if report.valid {
                Exit::Success
            } else {
                Exit::Findings
            })
        }
    }
}
