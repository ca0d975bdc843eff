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
    // Only the marker is read here; the page reads the rest as it folds it.
    #[derive(serde::Deserialize)]
    struct Marker {
        generator: Option<String>,
    }
    let marker: Marker = serde_json::from_slice(&text)
        .map_err(|e| UsageError(format!("{}: not a JSON report: {e}", args.report.display())))?;
    // An array would deserialize into the struct too: only an object is a report.
    let object = text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let ours = object
        && marker
            .generator
            .is_some_and(|g| g.starts_with(REPORT_MARKER.1));
    if !ours {
        return Err(UsageError(format!(
            "{} is not a report of this tool (no `generator` field naming image-sidecar-rust)",
            args.report.display()
        ))
        .into());
    }
    invocation::write_saved_page(&text, &args.report, &args.html)?;
    invocation::emit(
        &Written {
            report: &args.report.display().to_string(),
            page: &args.html.display().to_string(),
        },
        &Output::Stdout,
    )?;
    Ok(Exit::Success)
}
