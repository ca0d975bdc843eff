//! `report FILE.json --html OUT`: the page of a saved report (any command's, a pipeline's or
//! a merged one), as `--html` writes it at the end of a run; a file that is not a report of
//! this tool is refused. Its own report on stdout says where the page went.

use serde::Serialize;

use crate::args::ReportArgs;
use crate::config::Output;
use crate::exit::{Exit, UsageError};
use crate::invocation;

#[derive(Serialize)]
struct Written<'a> {
    report: &'a str,
    page: &'a str,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<Exit> {
    std::fs::File::open(&args.report)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", args.report.display())))?;
    invocation::write_saved_page(&args.report, &args.html)?;
    invocation::emit(
        &Written {
            report: &args.report.display().to_string(),
            page: &args.html.display().to_string(),
        },
        &Output::Stdout,
    )?;
    Ok(Exit::Success)
}
