//! `report FILE.json --html OUT`: the page of a saved report (any command's, a pipeline's or
//! a merged one), as `--html` writes it at the end of a run. Its own report on stdout says
//! where the page went.

use serde::Serialize;

use crate::args::ReportArgs;
use crate::config::Output;
use crate::exit::{Exit, UsageError};
use crate::invocation;
use sidecar_engine::discover::REPORT_MARKER;

#[derive(Serialize)]
struct Written<'a> {
    report: &'a str,
    page: &'a str,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<Exit> {
    let text = std::fs::read(&args.report)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", args.report.display())))?;
    let report: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| UsageError(format!("{}: not a JSON report: {e}", args.report.display())))?;
    let ours = report
        .get(REPORT_MARKER.0)
        .and_then(serde_json::Value::as_str)
        .is_some_and(|g| g.starts_with(REPORT_MARKER.1));
    if !ours {
        return Err(UsageError(format!(
            "{} is not a report of this tool (no `generator` field naming image-sidecar-rust)",
            args.report.display()
        ))
        .into());
    }
    invocation::write_saved_page(&report, &args.report, &args.html)?;
    invocation::emit(
        &Written {
            report: &args.report.display().to_string(),
            page: &args.html.display().to_string(),
        },
        &Output::Stdout,
    )?;
    Ok(Exit::Success)
}
