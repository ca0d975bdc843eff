//! The convert stage: rewrites sidecars in another format without ever losing one.
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

use serde::Serialize;

use crate::canonical;
use crate::codec::{Codec, CodecError};
use crate::discover::Tree;
use crate::fsio::{self, Durability, WriteOutcome};
use crate::ops::{display_path, with_bytes, with_identified, FileState, Flow, ReadFailure};
use crate::registry::Registry;
use crate::tape::with_tape;
use crate::value::{first_difference, View};

/// The convert stage.
#[derive(Clone, Copy)]
pub struct ConvertStage<'r> {
    pub target: &'r dyn Codec,
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
    /// Time spent in this stage, summed over workers.
    pub elapsed_seconds: f64,
}

#[derive(Default)]
pub struct Fold {
    seen: u64,
    converted: u64,
    entries: Vec<ConvertEntry>,
}

impl Fold {
    pub(crate) fn merge(mut self, other: Fold) -> Fold {
        self.seen += other.seen;
        self.converted += other.converted;
        self.entries.extend(other.entries);
        self
    }

    fn refused(&mut self, source: &Path, target: Option<&Path>, (status, reason): Refusal) {
        self.entries.push(ConvertEntry {
            file_path: display_path(source),
            target_path: target.map(display_path),
            status,
            reason,
        });
    }

    pub(crate) fn directory_file(&mut self, path: &Path) {
        self.seen += 1;
        self.refused(
            path,
            None,
            (
                Status::Skipped,
                "directory-level result file, not a per-image sidecar".into(),
            ),
        );
    }

    pub(crate) fn unreadable(&mut self, path: &Path, failure: &ReadFailure) {
        self.seen += 1;
        self.refused(
            path,
            None,
            failed(format!("cannot read the source: {failure}")),
        );
    }

    pub(crate) fn finish(
        mut self,
        tree: &Tree,
        stage: &ConvertStage<'_>,
        removed_temporaries: u64,
        elapsed_seconds: f64,
    ) -> ConvertReport {
        for error in &tree.walk_errors {
            self.seen += 1;
            self.refused(&error.path, None, failed(error.message.clone()));
        }
        self.entries.sort_by(|a, b| a.file_path.cmp(&b.file_path));
        let count = |status| self.entries.iter().filter(|e| e.status == status).count() as u64;
        ConvertReport {
            target_format: stage.target.display_name().to_owned(),
            dry_run: stage.dry_run,
            total_files: self.seen,
            converted: self.converted,
            skipped: count(Status::Skipped),
            failed: count(Status::Failed),
            conflicts: count(Status::Conflict),
            removed_temporaries,
            results: self.entries,
            elapsed_seconds,
        }
    }
}

type Refusal = (Status, String);

fn failed(reason: impl Into<String>) -> Refusal {
    (Status::Failed, reason.into())
}

impl<'r> ConvertStage<'r> {
    /// `dir/stem.ext`: the source's name with its last extension replaced by the target's.
    pub fn target_path(&self, source: &Path) -> PathBuf {
        let extension = self.target.extensions().first().copied().unwrap_or("out");
        let mut name = source.file_stem().unwrap_or_default().to_owned();
        name.push(".");
        name.push(extension);
        source.with_file_name(name)
    }

    /// Removes the temporary files an interrupted run left (in a dry run, only counts them).
    pub(crate) fn remove_temporaries(&self, temporaries: &[PathBuf]) -> u64 {
        temporaries
            .iter()
            .filter(|t| self.dry_run || std::fs::remove_file(t).is_ok())
            .count() as u64
    }

    pub(crate) fn apply<'f>(
        &self,
        fold: &mut Fold,
        file: &mut FileState<'f>,
        document: View<'_>,
        registry: &Registry,
    ) -> Flow
    where
        'r: 'f,
    {
        fold.seen += 1;
        let target = self.target_path(file.path);
        match self.convert(file, &target, document, registry) {
            Ok(bytes) => {
                fold.converted += 1;
                file.codec = self.target.name();
                file.format = self.target.display_name();
                file.len = bytes;
                file.recognized = true;
            }
            Err(refusal) => fold.refused(file.path, Some(&target), refusal),
        }
        Flow::Continue
    }

    /// Converts one file; returns the target's size.
    ///
    /// The source's canonical encoding is what every copy must come back as: the target is
    /// encoded from it and read back into it, and the two encodings compared byte for byte
    /// (the canonical encoding is deterministic and keeps every distinction the value model
    /// makes, so equal bytes mean equal values).
    fn convert(
        &self,
        file: &FileState<'_>,
        target: &Path,
        document: View<'_>,
        registry: &Registry,
    ) -> Result<u64, Refusal> {
        let to = self.target;
        let in_place = file.path == target;
        if in_place && file.codec == to.name() {
            return Err((Status::Skipped, format!("already {}", to.display_name())));
        }
        let mut source = Vec::new();
        canonical::encode(document, &mut source);
        let mut encoded = Vec::new();
        with_tape(|tape| {
            canonical::read(&source, 0, tape)?;
            to.encode(tape.view(&source).root(), &mut encoded)
        })
        .map_err(|e| failed(format!("cannot write as {}: {e}", to.display_name())))?;
        let len = encoded.len() as u64;

        if !in_place && std::fs::symlink_metadata(target).is_ok() {
            return self
                .complete_existing(file.path, target, &source, registry)
                .map(|()| len);
        }
        if self.dry_run {
            return Ok(len);
        }
        let staged = fsio::stage(fsio::parent(target), &encoded, self.durability)
            .map_err(|e| failed(format!("cannot write a temporary file: {e}")))?;
        verify(staged.path(), to, &source)?;
        if in_place {
            staged
                .commit_replace(target)
                .map_err(|e| failed(format!("cannot replace the file: {e}")))?;
            return Ok(len);
        }
        match staged.commit_new(target) {
            Ok(WriteOutcome::Written) => self.remove_source(file.path).map(|()| len),
            // Another process created the target meanwhile: judge it like any existing target.
            Ok(WriteOutcome::Exists) => self
                .complete_existing(file.path, target, &source, registry)
                .map(|()| len),
            Err(e) => Err(failed(format!("cannot move the target into place: {e}"))),
        }
    }

    /// A target already exists: equal values complete the conversion, anything else is a
    /// conflict.
    fn complete_existing(
        &self,
        source: &Path,
        target: &Path,
        canonical_source: &[u8],
        registry: &Registry,
    ) -> Result<(), Refusal> {
        let existing = with_identified(registry, target, |identified, bytes| {
            let codec = identified.codec;
            canonical_of(codec, bytes).map_err(|error| ReadFailure::Codec {
                format: codec.display_name().to_owned(),
                recognized: true,
                error,
            })
        });
        match existing {
            Ok(existing) if existing == canonical_source => {
                if self.dry_run {
                    Ok(())
                } else {
                    self.remove_source(source)
                }
            }
            Ok(existing) => Err((
                Status::Conflict,
                format!(
                    "the target exists with different values (first difference at {}); both files left as they are",
                    difference(&existing, canonical_source)
                ),
            )),
            Err(failure) => Err((
                Status::Conflict,
                format!("the target exists and cannot be read ({failure}); both files left as they are"),
            )),
        }
    }

    fn remove_source(&self, source: &Path) -> Result<(), Refusal> {
        if self.keep_source {
            return Ok(());
        }
        fsio::remove(source, self.durability).map_err(|e| {
            failed(format!(
                "converted, but the source could not be removed: {e}"
            ))
        })
    }
}

/// The canonical encoding of a file's document, read with `codec`.
fn canonical_of(codec: &dyn Codec, bytes: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut encoded = Vec::new();
    codec.inspect(bytes, &mut |view, _| canonical::encode(view, &mut encoded))?;
    Ok(encoded)
}

/// Where two canonical encodings differ, as a path in the document (for messages).
fn difference(a: &[u8], b: &[u8]) -> String {
    match (canonical::decode(a, 0), canonical::decode(b, 0)) {
        (Ok(a), Ok(b)) => first_difference(a.view(), b.view()).unwrap_or_else(|| "/".into()),
        _ => "/".into(),
    }
}

/// Reads the staged file back with the target codec and compares it with the source.
fn verify(staged: &Path, codec: &dyn Codec, canonical_source: &[u8]) -> Result<(), Refusal> {
    with_bytes(staged, |bytes| {
        let back = canonical_of(codec, bytes)
            .map_err(|e| failed(format!("read-back of the new file failed: {e}")))?;
        if back == canonical_source {
            Ok(())
        } else {
            Err(failed(format!(
                "read-back of the new file differs from the source at {}",
                difference(&back, canonical_source)
            )))
        }
    })
    .unwrap_or_else(|e| Err(failed(format!("cannot read the new file back: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Target;

    impl Codec for Target {
        fn name(&self) -> &str {
            "bin"
        }
        fn display_name(&self) -> &str {
            "Binary"
        }
        fn extensions(&self) -> &[&str] {
            &["bin"]
        }
        fn version(&self) -> &str {
            "0"
        }
        fn detect(&self, _: &[u8], _: u64) -> crate::Detection {
            crate::Detection::No
        }
        fn decode(&self, _: &[u8]) -> Result<crate::Decoded, CodecError> {
            Err(crate::CodecError::unsupported("test codec"))
        }
        fn encode(&self, _: View<'_>, _: &mut Vec<u8>) -> Result<(), crate::CodecError> {
            Ok(())
        }
    }

    #[test]
    fn target_keeps_dotted_stems() {
        let stage = ConvertStage {
            target: &Target,
            dry_run: true,
            keep_source: false,
            durability: Durability::Atomic,
        };
        assert_eq!(
            stage.target_path(Path::new("/g/20250920_112934.010.json")),
            Path::new("/g/20250920_112934.010.bin")
        );
        assert_eq!(
            stage.target_path(Path::new("IMG_0001.jpg.json")),
            Path::new("IMG_0001.jpg.bin")
        );
    }
}
