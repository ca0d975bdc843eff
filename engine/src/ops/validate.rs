//! `validate`: checks that every sidecar decodes and passes the configured validators, and
//! reports the ones that do not.
//!
//! Files without an image beside them and without the marks of a per-image sidecar
//! (`sidecar_info` or an operation section) are directory-level result files such as
//! `game_detection.json`: they are listed apart and not counted as sidecars.

use std::collections::BTreeMap;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::discover::{Candidate, Tree};
use crate::ops::summary::Summary;
use crate::ops::{
    display_path, mismatch_warning, with_identified, FileResult, Progress, ReadFailure,
};
use crate::registry::Registry;
use crate::validator::{Check, FileContext, Severity};

/// A configured validator, under its name.
pub struct NamedCheck {
    pub name: String,
    pub check: Box<dyn Check>,
}

#[derive(Default)]
pub struct ValidateOptions {
    /// List every file, not only the invalid ones.
    pub all_results: bool,
    /// Run on every sidecar that decodes; an error finding makes the file invalid.
    pub checks: Vec<NamedCheck>,
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
    pub elapsed_seconds: f64,
}

#[derive(Default)]
struct Fold {
    total: u64,
    valid: u64,
    warnings: u64,
    warning_counts: BTreeMap<String, u64>,
    directory_files: Vec<String>,
    results: Vec<FileResult>,
}

impl Fold {
    fn merge(mut self, other: Fold) -> Fold {
        self.total += other.total;
        self.valid += other.valid;
        self.warnings += other.warnings;
        for (code, n) in other.warning_counts {
            *self.warning_counts.entry(code).or_default() += n;
        }
        self.directory_files.extend(other.directory_files);
        self.results.extend(other.results);
        self
    }
}

pub fn validate(
    tree: &Tree,
    registry: &Registry,
    options: &ValidateOptions,
    progress: &dyn Progress,
) -> ValidateReport {
    let started = Instant::now();
    let fold = tree
        .candidates
        .par_iter()
        .fold(Fold::default, |mut fold, candidate| {
            check(candidate, registry, options, &mut fold);
            progress.advance(1);
            fold
        })
        .reduce(Fold::default, Fold::merge);
    let mut fold = fold;
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
        elapsed_seconds: started.elapsed().as_secs_f64(),
    }
}

/// What reading and checking one file found.
struct Checked {
    format: String,
    /// `(code, message)` of each warning.
    warnings: Vec<(String, String)>,
    errors: Vec<String>,
    sidecar: bool,
}

fn check(candidate: &Candidate, registry: &Registry, options: &ValidateOptions, fold: &mut Fold) {
    let path = &candidate.path;
    let outcome = with_identified(registry, path, |identified, bytes| {
        let codec = identified.codec;
        let mut checked = Checked {
            format: codec.display_name().to_owned(),
            warnings: mismatch_warning(path, &identified)
                .into_iter()
                .map(|w| (w.code.to_owned(), w.to_string()))
                .collect(),
            errors: Vec::new(),
            sidecar: candidate.has_image,
        };
        let file = FileContext {
            path,
            has_image: candidate.has_image,
            format: codec.display_name(),
        };
        let found = codec
            .inspect(bytes, &mut |view| {
                checked.sidecar = checked.sidecar || Summary::of(view).has_sidecar_marks;
                if !checked.sidecar {
                    return;
                }
                let mut findings = Vec::new();
                for named in &options.checks {
                    named.check.check(view, &file, &mut findings);
                    for finding in findings.drain(..) {
                        let message = format!("{}: {finding}", named.name);
                        match finding.severity {
                            Severity::Error => checked.errors.push(message),
                            Severity::Warning => {
                                checked.warnings.push((named.name.clone(), message))
                            }
                        }
                    }
                }
            })
            .map_err(|error| ReadFailure::Codec {
                format: codec.display_name().to_owned(),
                error,
            })?;
        checked.warnings.extend(
            found
                .into_iter()
                .map(|w| (w.code.to_owned(), w.to_string())),
        );
        Ok(checked)
    });
    match outcome {
        Ok(checked) if !checked.sidecar => fold.directory_files.push(display_path(path)),
        Ok(checked) => {
            let valid = checked.errors.is_empty();
            fold.total += 1;
            fold.valid += u64::from(valid);
            fold.warnings += checked.warnings.len() as u64;
            for (code, _) in &checked.warnings {
                *fold.warning_counts.entry(code.clone()).or_default() += 1;
            }
            if options.all_results || !valid {
                fold.results.push(FileResult {
                    file_path: display_path(path),
                    is_valid: valid,
                    format: Some(checked.format),
                    error: (!valid).then(|| summarize(&checked.errors)),
                    warnings: checked.warnings.into_iter().map(|(_, m)| m).collect(),
                });
            }
        }
        Err(failure) => {
            fold.total += 1;
            fold.results.push(FileResult {
                file_path: display_path(path),
                is_valid: false,
                format: failure.format(),
                error: Some(failure.to_string()),
                warnings: Vec::new(),
            });
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
