//! `convert`: rewrites sidecars in another format without ever losing one.
//!
//! For each sidecar: decode it; encode the value in the target format; write that to a
//! temporary file beside the target; read the temporary file back and compare its values with
//! the source's, bit for bit; rename it into place (never over an existing file, except when
//! upgrading a file in place, which is an atomic replace); only then remove the source. A
//! target that already exists is compared: equal values complete the conversion, different
//! ones are a conflict that leaves both files alone. A process killed at any point leaves every
//! sidecar whole in at least one copy, plus perhaps a `.image-sidecar-*.tmp` file, which the
//! next run removes.
//!
//! Sources that share a target (`X.json` and `X.rkyv` converting to `X.bin`) are handled in
//! path order by one worker, so the report does not depend on timing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::codec::Codec;
use crate::discover::{Candidate, Tree};
use crate::fsio::{self, Durability, WriteOutcome};
use crate::ops::summary::Summary;
use crate::ops::{display_path, with_bytes, with_identified, Progress, ReadFailure};
use crate::registry::Registry;
use crate::value::{first_difference, views_equal, Value};

#[derive(Clone, Copy)]
pub struct ConvertOptions<'a> {
    pub target: &'a dyn Codec,
    /// Report what would happen and change nothing.
    pub dry_run: bool,
    /// Keep each source after its target is in place.
    pub keep_source: bool,
    pub durability: Durability,
}

/// Why a file was not converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Skipped,
    Failed,
    Conflict,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConvertEntry {
    pub file_path: String,
    pub target_path: Option<String>,
    pub status: Status,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct ConvertReport {
    pub target_format: String,
    pub dry_run: bool,
    pub total_files: u64,
    /// Converted (or, in a dry run, would be).
    pub converted: u64,
    pub skipped: u64,
    pub failed: u64,
    pub conflicts: u64,
    /// Temporary files of an interrupted earlier run removed (in a dry run, found).
    pub removed_temporaries: u64,
    /// One entry per file not converted, in path order.
    pub results: Vec<ConvertEntry>,
    pub elapsed_seconds: f64,
}

#[derive(Default)]
struct Fold {
    converted: u64,
    entries: Vec<ConvertEntry>,
}

impl Fold {
    fn merge(mut self, other: Fold) -> Fold {
        self.converted += other.converted;
        self.entries.extend(other.entries);
        self
    }
}

pub fn convert(
    tree: &Tree,
    registry: &Registry,
    options: &ConvertOptions<'_>,
    progress: &dyn Progress,
) -> ConvertReport {
    let started = Instant::now();
    let mut removed_temporaries = 0;
    for temporary in &tree.temporaries {
        if options.dry_run || std::fs::remove_file(temporary).is_ok() {
            removed_temporaries += 1;
        }
    }
    let extension = options
        .target
        .extensions()
        .first()
        .copied()
        .unwrap_or("out");
    let mut jobs: Vec<(PathBuf, &Candidate)> = tree
        .candidates
        .iter()
        .map(|c| (target_path(&c.path, extension), c))
        .collect();
    jobs.sort_by(|a, b| (&a.0, &a.1.path).cmp(&(&b.0, &b.1.path)));
    let groups: Vec<&[(PathBuf, &Candidate)]> = jobs.chunk_by(|a, b| a.0 == b.0).collect();

    let mut fold = groups
        .par_iter()
        .fold(Fold::default, |mut fold, group| {
            for (target, candidate) in group.iter() {
                match convert_one(candidate, target, registry, options) {
                    Ok(()) => fold.converted += 1,
                    Err((status, reason)) => fold.entries.push(ConvertEntry {
                        file_path: display_path(&candidate.path),
                        target_path: Some(display_path(target)),
                        status,
                        reason,
                    }),
                }
                progress.advance(1);
            }
            fold
        })
        .reduce(Fold::default, Fold::merge);
    fold.entries
        .extend(tree.walk_errors.iter().map(|e| ConvertEntry {
            file_path: display_path(&e.path),
            target_path: None,
            status: Status::Failed,
            reason: e.message.clone(),
        }));
    fold.entries.sort_by(|a, b| a.file_path.cmp(&b.file_path));
    let count = |status| fold.entries.iter().filter(|e| e.status == status).count() as u64;
    ConvertReport {
        target_format: options.target.display_name().to_owned(),
        dry_run: options.dry_run,
        total_files: tree.candidates.len() as u64 + tree.walk_errors.len() as u64,
        converted: fold.converted,
        skipped: count(Status::Skipped),
        failed: count(Status::Failed),
        conflicts: count(Status::Conflict),
        removed_temporaries,
        results: fold.entries,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    }
}

/// `dir/stem.ext`: the source's name with its last extension replaced.
fn target_path(source: &Path, extension: &str) -> PathBuf {
    let mut name = source.file_stem().unwrap_or_default().to_owned();
    name.push(".");
    name.push(extension);
    source.with_file_name(name)
}

type Refusal = (Status, String);

fn failed(reason: impl Into<String>) -> Refusal {
    (Status::Failed, reason.into())
}

fn convert_one(
    candidate: &Candidate,
    target: &Path,
    registry: &Registry,
    options: &ConvertOptions<'_>,
) -> Result<(), Refusal> {
    let source = &candidate.path;
    let to = options.target;
    let (value, source_name, sidecar) = with_identified(registry, source, |identified, bytes| {
        let codec = identified.codec;
        let decoded = codec.decode(bytes).map_err(|error| ReadFailure::Codec {
            format: codec.display_name().to_owned(),
            error,
        })?;
        let sidecar = candidate.has_image || Summary::of(decoded.value.view()).has_sidecar_marks;
        Ok((decoded.value, codec.name().to_owned(), sidecar))
    })
    .map_err(|failure| failed(format!("cannot read the source: {failure}")))?;

    if !sidecar {
        return Err((
            Status::Skipped,
            "directory-level result file, not a per-image sidecar".into(),
        ));
    }
    let in_place = source == target;
    if in_place && source_name == to.name() {
        return Err((Status::Skipped, format!("already {}", to.display_name())));
    }
    let mut encoded = Vec::new();
    to.encode(&value, &mut encoded)
        .map_err(|e| failed(format!("cannot write as {}: {e}", to.display_name())))?;

    if !in_place && std::fs::symlink_metadata(target).is_ok() {
        return complete_existing(source, target, &value, registry, options);
    }
    if options.dry_run {
        return Ok(());
    }
    let staged = fsio::stage(fsio::parent(target), &encoded, options.durability)
        .map_err(|e| failed(format!("cannot write a temporary file: {e}")))?;
    verify(staged.path(), to, &value)?;
    if in_place {
        staged
            .commit_replace(target)
            .map_err(|e| failed(format!("cannot replace the file: {e}")))?;
        return Ok(());
    }
    match staged.commit_new(target) {
        Ok(WriteOutcome::Written) => remove_source(source, options),
        // Another process created the target meanwhile: judge it like any existing target.
        Ok(WriteOutcome::Exists) => complete_existing(source, target, &value, registry, options),
        Err(e) => Err(failed(format!("cannot move the target into place: {e}"))),
    }
}

/// Reads the staged file back with the target codec and compares its values with the source's.
fn verify(staged: &Path, codec: &dyn Codec, value: &Value) -> Result<(), Refusal> {
    with_bytes(staged, |bytes| {
        let back = codec
            .decode(bytes)
            .map_err(|e| failed(format!("read-back of the new file failed: {e}")))?;
        if views_equal(back.value.view(), value.view()) {
            Ok(())
        } else {
            let at = first_difference(back.value.view(), value.view()).unwrap_or_default();
            Err(failed(format!(
                "read-back of the new file differs from the source at {at}"
            )))
        }
    })
    .unwrap_or_else(|e| Err(failed(format!("cannot read the new file back: {e}"))))
}

/// A target already exists: equal values complete the conversion, anything else is a conflict.
fn complete_existing(
    source: &Path,
    target: &Path,
    value: &Value,
    registry: &Registry,
    options: &ConvertOptions<'_>,
) -> Result<(), Refusal> {
    let existing = with_identified(registry, target, |identified, bytes| {
        let codec = identified.codec;
        codec.decode(bytes).map_err(|error| ReadFailure::Codec {
            format: codec.display_name().to_owned(),
            error,
        })
    });
    match existing {
        Ok(decoded) if views_equal(decoded.value.view(), value.view()) => {
            if options.dry_run {
                Ok(())
            } else {
                remove_source(source, options)
            }
        }
        Ok(decoded) => {
            let at = first_difference(decoded.value.view(), value.view()).unwrap_or_default();
            Err((
                Status::Conflict,
                format!("the target exists with different values (first difference at {at}); both files left as they are"),
            ))
        }
        Err(failure) => Err((
            Status::Conflict,
            format!(
                "the target exists and cannot be read ({failure}); both files left as they are"
            ),
        )),
    }
}

fn remove_source(source: &Path, options: &ConvertOptions<'_>) -> Result<(), Refusal> {
    if options.keep_source {
        return Ok(());
    }
    fsio::remove(source, options.durability).map_err(|e| {
        failed(format!(
            "converted, but the source could not be removed: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_keeps_dotted_stems() {
        assert_eq!(
            target_path(Path::new("/g/20250920_112934.010.json"), "bin"),
            Path::new("/g/20250920_112934.010.bin")
        );
        assert_eq!(
            target_path(Path::new("IMG_0001.jpg.json"), "rkyv"),
            Path::new("IMG_0001.jpg.rkyv")
        );
    }
}
