//! The validate stage: every sidecar decodes and passes the configured validators.
//!
//! Directory-level result files (by the walk's rules: name globs such as
//! `game_detection.json`, and this tool's own reports) are listed apart and not counted as
//! sidecars.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::discover::{Candidate, Tree};
use crate::ops::siblings::Siblings;
use crate::ops::{
    display_path, FailureRecord, FileResult, FileState, Flow, PassContext, RecordedFile, StageKind,
};
use crate::validator::{Check, FileContext, Severity};
use crate::value::View;

/// A configured validator, under its name.
pub struct NamedCheck {
    pub name: String,
    pub check: Box<dyn Check>,
    /// What the check depends on besides the document (see [`NamedCheck::fingerprint`] and
    /// [`Check::depends_on`]); `None` when its results must not be cached.
    pub fingerprint: Option<String>,
}

impl NamedCheck {
    /// Configures `validator` with `options` (paths in them relative to `base_dir`).
    pub fn configure(
        validator: &dyn crate::Validator,
        options: &serde_json::Value,
        base_dir: &std::path::Path,
    ) -> Result<NamedCheck, String> {
        let check = validator.configure(options, base_dir)?;
        let fingerprint = check
            .depends_on()
            .map(|more| NamedCheck::fingerprint(validator, options, base_dir) + &more);
        Ok(NamedCheck {
            name: validator.name().to_owned(),
            check,
            fingerprint,
        })
    }

    /// The validator's name and version, its options, and the content of every file an option
    /// names (a schema file): what the results cache must see change.
    pub fn fingerprint(
        validator: &dyn crate::Validator,
        options: &serde_json::Value,
        base_dir: &std::path::Path,
    ) -> String {
        fn files(value: &serde_json::Value, base_dir: &std::path::Path, out: &mut String) {
            match value {
                // Only regular files, read without blocking and bounded: an option naming a
                // FIFO or `/dev/zero` must not hang the run.
                serde_json::Value::String(s) => {
                    let mut bytes = Vec::new();
                    if crate::fsio::read_into(&base_dir.join(s), &mut bytes, OPTION_FILE_LIMIT)
                        .is_ok()
                    {
                        out.push_str(&format!(" {s}={:032x}", crate::fsio::fingerprint(&bytes)));
                    }
                }
                serde_json::Value::Array(items) => {
                    items.iter().for_each(|v| files(v, base_dir, out));
                }
                serde_json::Value::Object(map) => {
                    map.values().for_each(|v| files(v, base_dir, out));
                }
                _ => {}
            }
        }
        let mut text = format!("{} {} {options}", validator.name(), validator.version());
        files(options, base_dir, &mut text);
        text
    }
}

/// The largest file an option names that is read for the fingerprint (a schema, a rule file).
pub const OPTION_FILE_LIMIT: u64 = 64 << 20;

/// What happens to a file that fails validation, for the stages after this one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnError {
    /// The file goes no further.
    #[default]
    SkipFile,
    /// The whole pass stops.
    Abort,
}

#[derive(Default)]
pub struct ValidateStage {
    /// List every file, not only the invalid ones.
    pub all_results: bool,
    /// Run on every sidecar that decodes; an error finding makes the file invalid.
    pub checks: Vec<NamedCheck>,
    pub on_error: OnError,
}

impl ValidateReport {
    /// Whether a file was found invalid.
    pub fn has_findings(&self) -> bool {
        self.invalid_files > 0
    }
}

#[derive(Debug, Serialize)]
pub struct ValidateReport {
    pub total_files: u64,
    pub valid_files: u64,
    pub invalid_files: u64,
    /// Number of warnings over all files.
    pub warnings: u64,
    /// Warnings by code (`non-standard-number`, `duplicate-key`, `extension-mismatch`, ...;
    /// a validator's warnings under its name).
    pub warning_counts: BTreeMap<String, u64>,
    /// Directory-level result files found and left out of the counts.
    pub directory_files: Vec<String>,
    /// One entry per invalid file (per file with `all_results`), in path order.
    pub results: Vec<FileResult>,
    /// Time spent in this stage, summed over workers.
    pub elapsed_seconds: f64,
}

#[derive(Default)]
pub struct Fold {
    total: u64,
    valid: u64,
    warnings: u64,
    warning_counts: BTreeMap<String, u64>,
    directory_files: Vec<String>,
    results: Vec<FileResult>,
    siblings: Siblings,
}

/// The warning code of a sidecar whose values differ from those of a sidecar of the same name
/// (`X.json` beside `X.bin`).
pub const DISAGREES: &str = "disagrees-with-sibling";

/// What validation found in one file: kept in the results cache, folded into the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// The errors, as one line; `None` for a valid file.
    pub error: Option<String>,
    /// Each warning's code (for `warning_counts`) and message.
    pub warnings: Vec<(String, String)>,
}

impl<'r> StageKind<'r> for ValidateStage {
    type Fold = Fold;
    type Record = Outcome;
    type Report = ValidateReport;

    fn fingerprint(&self) -> String {
        let mut text = format!(
            "validate all={} abort={}",
            self.all_results,
            self.on_error == OnError::Abort
        );
        for check in &self.checks {
            text.push_str(&format!(
                " [{}]",
                check.fingerprint.as_deref().unwrap_or("uncached")
            ));
        }
        text.push('\n');
        text
    }

    /// Whether every check can say what its results depend on.
    fn cacheable(&self) -> bool {
        self.checks.iter().all(|c| c.fingerprint.is_some())
    }

    fn aborts(&self) -> bool {
        self.on_error == OnError::Abort
    }

    /// It reports sidecars of one name that hold other values.
    fn compares_siblings(&self) -> bool {
        true
    }

    fn apply<'f>(
        &self,
        fold: &mut Fold,
        file: &mut FileState<'f>,
        document: Option<View<'_>>,
        context: PassContext<'_>,
    ) -> (Option<Outcome>, Flow)
    where
        'r: 'f,
    {
        let outcome = self.outcome(file, document.expect("validation reads the document"));
        let flow = self.replay(fold, &outcome, RecordedFile::of(file), context);
        (Some(outcome), flow)
    }

    /// Folds one file's outcome; says what happens to the file next.
    fn replay(
        &self,
        fold: &mut Fold,
        outcome: &Outcome,
        file: RecordedFile<'_>,
        _: PassContext<'_>,
    ) -> Flow {
        let valid = outcome.error.is_none();
        fold.total += 1;
        fold.valid += u64::from(valid);
        let disagreement = fold.siblings.differs(file.path, file.digest).map(|d| {
            (
                DISAGREES.to_owned(),
                format!(
                    "holds other values than {}, a sidecar of the same name",
                    d.other
                ),
            )
        });
        let warnings = || outcome.warnings.iter().chain(disagreement.as_ref());
        fold.warnings += warnings().count() as u64;
        for (code, _) in warnings() {
            match fold.warning_counts.get_mut(code) {
                Some(n) => *n += 1,
                None => {
                    fold.warning_counts.insert(code.clone(), 1);
                }
            }
        }
        if self.all_results || !valid {
            fold.results.push(FileResult {
                file_path: display_path(file.path),
                is_valid: valid,
                format: Some(file.format.to_owned()),
                error: outcome.error.clone(),
                warnings: warnings().map(|(_, m)| m.clone()).collect(),
            });
        }
        match (&outcome.error, self.on_error) {
            (None, _) => Flow::Continue,
            (Some(_), OnError::SkipFile) => Flow::SkipFile,
            (Some(error), OnError::Abort) => Flow::Abort(error.clone()),
        }
    }

    fn directory_file(&self, fold: &mut Fold, path: &std::path::Path) {
        fold.directory_files.push(display_path(path));
    }

    /// An unreadable file is invalid; it stops the pass where invalid files do.
    fn unreadable(
        &self,
        fold: &mut Fold,
        candidate: Candidate<'_>,
        failure: &FailureRecord,
    ) -> Flow {
        fold.total += 1;
        fold.results
            .push(FileResult::unreadable(&candidate.path(), failure));
        match self.on_error {
            // A file that cannot be read or decoded failed validation: it goes no further.
            OnError::SkipFile => Flow::SkipFile,
            OnError::Abort => Flow::Abort(format!("cannot read the file: {}", failure.message)),
        }
    }

    fn merge(mut mine: Fold, theirs: Fold) -> Fold {
        mine.total += theirs.total;
        mine.valid += theirs.valid;
        mine.warnings += theirs.warnings;
        for (code, n) in theirs.warning_counts {
            *mine.warning_counts.entry(code).or_default() += n;
        }
        mine.directory_files.extend(theirs.directory_files);
        mine.results.extend(theirs.results);
        mine
    }

    fn finish(
        &self,
        mut fold: Fold,
        tree: &Tree,
        _: PassContext<'_>,
        elapsed_seconds: f64,
    ) -> ValidateReport {
        for error in &tree.walk_errors {
            fold.total += 1;
            fold.results.push(FileResult::from_walk_error(error));
        }
        fold.results.sort_by(|a, b| a.file_path.cmp(&b.file_path));
        fold.directory_files.sort();
        ValidateReport {
            total_files: fold.total,
            valid_files: fold.valid,
            invalid_files: fold.total - fold.valid,
            warnings: fold.warnings,
            warning_counts: fold.warning_counts,
            directory_files: fold.directory_files,
            results: fold.results,
            elapsed_seconds,
        }
    }
}

impl ValidateStage {
    /// Checks one document.
    fn outcome(&self, file: &FileState<'_>, view: View<'_>) -> Outcome {
        let context = FileContext {
            path: file.path,
            has_image: file.has_image,
            format: file.format,
        };
        let mut warnings: Vec<(String, String)> = file
            .warnings
            .iter()
            .map(|w| (w.code.to_owned(), w.to_string()))
            .collect();
        let mut errors = Vec::new();
        let mut findings = Vec::new();
        for named in &self.checks {
            named.check.check(view, &context, &mut findings);
            for finding in findings.drain(..) {
                let message = format!("{}: {finding}", named.name);
                match finding.severity {
                    Severity::Error => errors.push(message),
                    Severity::Warning => warnings.push((named.name.clone(), message)),
                }
            }
        }
        Outcome {
            error: (!errors.is_empty()).then(|| summarize(&errors)),
            warnings,
        }
    }
}

/// The errors of one file as one line: the first few, and how many more.
fn summarize(errors: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut line = errors[..errors.len().min(SHOWN)].join("; ");
    if errors.len() > SHOWN {
        line.push_str(&format!("; and {} more", errors.len() - SHOWN));
    }
    line
}
