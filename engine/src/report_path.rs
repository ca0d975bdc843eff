//! Where a run's report may go, decided before the run touches anything: into a directory
//! that exists and is writable; never onto a file the run reads or may write (a sidecar of the
//! input, a conversion target, anything a codec claims inside the input); never over a file
//! that is not an earlier report of this tool (a JSON object whose `generator` names it), so a
//! sidecar outside the input is never taken for one; never over a link or a special file.
//! A report's HTML page (`--html`) follows the same rules, an earlier page of this tool being
//! the only file it may replace.

use std::path::{Path, PathBuf};

use crate::codec::Detection;
use crate::discover::REPORT_MARKER;
use crate::fsio;
use crate::registry::{Registry, DETECT_BYTES};

/// Why a report (or its page) cannot go to a path; the message names the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write the {what} to {}: {reason}", path.display())]
pub struct Refused {
    /// What was to be written there: `report` or `page`.
    pub what: &'static str,
    pub path: PathBuf,
    pub reason: String,
}

/// Checks `report` as the destination of a run over an input (when one is known), with the
/// formats of a registry.
pub fn check(report: &Path, input: Option<(&Path, &Registry)>) -> Result<(), Refused> {
    check_as(report, input, "report", is_report, "it exists and is not a report of this tool (no `generator` field naming image-sidecar-rust); a report never overwrites other files: remove it or choose another path")
}

/// Checks `page` as the destination of a report's HTML page, as [`check`] checks a report.
pub fn check_page(page: &Path, input: Option<(&Path, &Registry)>) -> Result<(), Refused> {
    check_as(page, input, "page", is_page, "it exists and is not a page of this tool (no generator line naming image-sidecar-rust near its top); a page never overwrites other files: remove it or choose another path")
}

/// The generator line near the top of every page this tool writes, by which an earlier page
/// is told from other files.
pub const PAGE_MARKER: &str = "<meta name=\"generator\" content=\"image-sidecar-rust";

/// Whether an existing file is an earlier page of this tool: it starts with the HTML doctype
/// and has the generator line within its first kilobyte.
pub fn is_page(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(1024);
    std::fs::File::open(path).is_ok_and(|file| {
        file.take(1024).read_to_end(&mut head).is_ok()
            && head.starts_with(b"<!DOCTYPE html>")
            && head
                .windows(PAGE_MARKER.len())
                .any(|w| w == PAGE_MARKER.as_bytes())
    })
}

fn check_as(
    report: &Path,
    input: Option<(&Path, &Registry)>,
    what: &'static str,
    is_ours: fn(&Path) -> bool,
    not_ours: &str,
) -> Result<(), Refused> {
    let refuse = |reason: String| Refused {
        what,
        path: report.to_path_buf(),
        reason,
    };
    let dir = fsio::parent(report);
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(refuse(format!("{} is not a directory", dir.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(format!(
                "its directory {} does not exist",
                dir.display()
            )))
        }
        Err(e) => {
            return Err(refuse(format!(
                "cannot use its directory {}: {e}",
                dir.display()
            )))
        }
    }
    if rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_err() {
        return Err(refuse(format!(
            "its directory {} is not writable",
            dir.display()
        )));
    }
    let exists =
        match std::fs::symlink_metadata(report) {
            Err(_) => false,
            Ok(meta) if meta.file_type().is_symlink() => return Err(refuse(
                "it is a symbolic link; a report replaces files, never links: choose another path"
                    .into(),
            )),
            Ok(meta) if !meta.is_file() => {
                return Err(refuse(format!(
                    "it is {}; choose a file path",
                    fsio::kind_of(meta.file_type())
                )))
            }
            Ok(_) => true,
        };
    if let Some((input, registry)) = input {
        inside_input(report, dir, input, registry).map_err(refuse)?;
    }
    if exists && !is_ours(report) {
        return Err(refuse(not_ours.into()));
    }
    Ok(())
}

/// Refuses a report inside the input that a codec would claim, or that is the input file.
fn inside_input(
    report: &Path,
    dir: &Path,
    input: &Path,
    registry: &Registry,
) -> Result<(), String> {
    let (Ok(real_dir), Ok(real_input)) = (std::fs::canonicalize(dir), std::fs::canonicalize(input))
    else {
        return Ok(());
    };
    let real_report = real_dir.join(report.file_name().unwrap_or_default());
    if real_report == real_input {
        return Err("it is the input file".into());
    }
    let root = if real_input.is_dir() {
        real_input.as_path()
    } else {
        fsio::parent(&real_input)
    };
    if !real_report.starts_with(root) {
        return Ok(());
    }
    let claimed_name = registry.claims(report.file_name().unwrap_or_default().as_encoded_bytes());
    if claimed_name || claimed_content(report, registry) {
        return Err(format!(
            "it is inside the input {} and named or made like a sidecar: the run would read it as one, or convert onto it; write the report outside the input",
            input.display()
        ));
    }
    Ok(())
}

/// Whether an existing file's first bytes are certainly some codec's.
fn claimed_content(path: &Path, registry: &Registry) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let mut head = Vec::with_capacity(DETECT_BYTES);
    file.take(DETECT_BYTES as u64)
        .read_to_end(&mut head)
        .is_ok_and(|_| {
            registry
                .codecs()
                .any(|c| c.detect(&head, len) == Detection::Certain)
        })
}

/// Whether an existing file is an earlier report of this tool: a JSON object whose
/// `generator` field starts with the tool's name. Only that field is kept while parsing, so a
/// large report costs no memory.
pub fn is_report(path: &Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Marker {
        generator: Option<String>,
    }
    use std::io::BufRead;
    std::fs::File::open(path).is_ok_and(|file| {
        let mut reader = std::io::BufReader::new(file);
        // An array would deserialize into the struct too: only an object is a report.
        let object = reader
            .fill_buf()
            .is_ok_and(|head| head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'));
        object
            && serde_json::from_reader::<_, Marker>(reader)
                .ok()
                .and_then(|m| m.generator)
                .is_some_and(|g| g.starts_with(REPORT_MARKER.1))
    })
}
