//! The convert stage: rewrites sidecars in another format without ever losing one.
//!
//! For each sidecar: decode it; encode the value in the target format; write that to a
//! temporary file beside the target, with the source's permissions, owner and modification
//! time; read it back and compare its values with the source's, bit for bit; rename it into
//! place, never over an existing file. A target that already exists is compared: equal values
//! complete the conversion, different ones are a conflict that leaves both files alone.
//!
//! Sources are removed (and in-place upgrades swapped in) in batches: first the batch's new
//! files are flushed to disk (see [`Durability`]), then each source is parked under a private
//! name, checked against what was read (identity and a fingerprint of its bytes), and only
//! then deleted. A source that changed meanwhile is put back, the stale target removed, and
//! the file reported `skipped`. `docs/data-safety.md` gives the argument.
//!
//! Files whose real location is outside the input root, and symbolic links, are never
//! replaced or removed. Sources that share a target (`X.json` and `X.rkyv` converting to
//! `X.bin`) are handled in path order by one worker, so the report does not depend on timing.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::canonical;
use crate::codec::Codec;
use crate::discover::{Candidate, Tree};
use crate::error::CodecError;
use crate::fsio::{self, Durability, FileMeta, Keep, ReadError, WriteOutcome};
use crate::ops::{
    display_path, with_bytes, with_identified, DocumentError, FailureRecord, FileState, Flow,
    NoRecord, PassContext, RecordedFile, StageKind,
};
use crate::registry::Registry;
use crate::value::{first_difference, View};

/// The convert stage.
#[derive(Clone, Copy)]
pub struct ConvertStage<'r> {
    pub target: &'r dyn Codec,
    /// Report what would happen and change nothing.
    pub dry_run: bool,
    /// Keep each source after its target is in place.
    pub keep_source: bool,
    /// Remove sources even of formats other programs read (which are kept by default).
    pub remove_shared_sources: bool,
    pub durability: Durability,
    /// Which copy wins when a target exists with other values than its source; `None`: a
    /// conflict, both left as they are.
    pub prefer: Option<Prefer>,
}

/// Which of two sidecars of one image that disagree wins (`convert --prefer`). The other is
/// never removed: it is set aside as `.image-sidecar-superseded.NAME` beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    /// The source's values: the target is rewritten from it.
    Source,
    /// The existing target's values: the source is set aside.
    Target,
    /// The copy modified last; equal times stay a conflict.
    Newer,
}

impl Prefer {
    /// The names `parse` takes, as the command line and pipelines spell them.
    pub const NAMES: [&'static str; 3] = ["newer", "source", "target"];

    pub fn parse(name: &str) -> Option<Prefer> {
        match name {
            "source" => Some(Prefer::Source),
            "target" => Some(Prefer::Target),
            "newer" => Some(Prefer::Newer),
            _ => None,
        }
    }
}

/// A file `--prefer` set aside (in a dry run, would set aside).
#[derive(Debug, Clone, Serialize)]
pub struct SupersededFile {
    pub file_path: String,
    pub kept_as: String,
    pub reason: String,
}

/// Why a file was not converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Skipped,
    /// The source's content does not decode: there is nothing to convert.
    Invalid,
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

impl ConvertReport {
    /// Whether a file was invalid, failed or was in conflict.
    pub fn has_findings(&self) -> bool {
        self.invalid + self.failed + self.conflicts > 0
    }
}

#[derive(Debug, Serialize)]
pub struct ConvertReport {
    pub target_format: String,
    pub dry_run: bool,
    pub total_files: u64,
    /// Converted (or, in a dry run, would be).
    pub converted: u64,
    pub skipped: u64,
    /// Sources whose content does not decode (`validate` says where); a source that cannot
    /// be read at all is `failed`.
    pub invalid: u64,
    pub failed: u64,
    pub conflicts: u64,
    /// Files set aside by `--prefer` (listed in `superseded_files`).
    pub superseded: u64,
    /// Temporary files of an interrupted earlier run removed (in a dry run, found).
    pub removed_temporaries: u64,
    /// Sources an interrupted earlier run had parked, put back under their names.
    pub restored_files: u64,
    /// One entry per file not converted, in path order.
    pub results: Vec<ConvertEntry>,
    /// Every file `--prefer` set aside, in path order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded_files: Vec<SupersededFile>,
    /// Time spent in this stage, summed over workers.
    pub elapsed_seconds: f64,
}

/// How many conversions wait for their sources' removal before a batch is flushed.
const BATCH: usize = 256;

/// A conversion whose new file is written and verified, waiting for the batch's flush.
struct Pending {
    source: PathBuf,
    /// The source as read, and the fingerprint of its bytes.
    read: FileMeta,
    digest: u128,
    kind: PendingKind,
}

enum PendingKind {
    /// The source goes. `created`: the inode of the target this run created, removed again if
    /// the source turns out to have changed.
    Remove {
        target: PathBuf,
        created: Option<u64>,
    },
    /// In-place upgrade: the new content waits at the source's parked name (inode `ino`).
    Replace { ino: u64 },
}

impl Pending {
    /// What is left to do for `file`, once its new file is in place.
    fn of(file: &FileState<'_>, kind: PendingKind) -> Pending {
        Pending {
            source: file.path.to_path_buf(),
            read: file.meta,
            digest: fsio::fingerprint(file.bytes),
            kind,
        }
    }

    fn target(&self) -> &Path {
        match &self.kind {
            PendingKind::Remove { target, .. } => target,
            PendingKind::Replace { .. } => &self.source,
        }
    }
}

#[derive(Default)]
pub struct Fold {
    seen: u64,
    converted: u64,
    entries: Vec<ConvertEntry>,
    pending: Vec<Pending>,
    superseded: Vec<SupersededFile>,
    /// Temporary files of an interrupted run removed before the pass.
    removed_temporaries: u64,
}

impl Fold {
    fn refused(&mut self, source: &Path, target: Option<&Path>, (status, reason): NotConverted) {
        self.entries.push(ConvertEntry {
            file_path: display_path(source),
            target_path: target.map(display_path),
            status,
            reason,
        });
    }
}

impl<'r> StageKind<'r> for ConvertStage<'r> {
    type Fold = Fold;
    type Record = NoRecord;
    type Report = ConvertReport;

    fn fingerprint(&self) -> String {
        format!(
            "convert {} dry={} keep={} shared={} sync={:?} prefer={:?}\n",
            self.target.name(),
            self.dry_run,
            self.keep_source,
            self.remove_shared_sources,
            self.durability,
            self.prefer
        )
    }

    fn cacheable(&self) -> bool {
        false
    }

    fn changes_files(&self) -> bool {
        !self.dry_run
    }

    /// Sources sharing a target are converted in path order, so the report does not depend
    /// on timing.
    fn groups_by_stem(&self) -> bool {
        true
    }

    /// Removes the temporary files an interrupted run left (in a dry run, only counts them),
    /// before anything is written. Only a run holding the tree's lock gets here, so no live
    /// run owns them.
    fn begin(&self, tree: &Tree) -> Fold {
        let removed_temporaries = tree
            .temporaries
            .iter()
            .filter(|t| self.dry_run || std::fs::remove_file(t).is_ok())
            .count() as u64;
        Fold {
            removed_temporaries,
            ..Fold::default()
        }
    }

    fn apply<'f>(
        &self,
        fold: &mut Fold,
        file: &mut FileState<'f>,
        document: Option<View<'_>>,
        context: PassContext<'_>,
    ) -> (Option<NoRecord>, Flow)
    where
        'r: 'f,
    {
        let document = document.expect("conversion reads the document");
        fold.seen += 1;
        let target = self.target_path(file.path);
        let (registry, limit) = (context.registry, context.max_file_size);
        match self.convert(fold, file, &target, document, registry, limit) {
            Ok(bytes) => {
                fold.converted += 1;
                file.codec = self.target.name();
                file.format = self.target.display_name();
                file.len = bytes;
                file.recognized = true;
            }
            Err(refusal) => fold.refused(file.path, Some(&target), refusal),
        }
        if fold.pending.len() >= BATCH {
            self.settle_batch(fold);
        }
        (None, Flow::Continue)
    }

    fn replay(
        &self,
        _: &mut Fold,
        record: &NoRecord,
        _: RecordedFile<'_>,
        _: PassContext<'_>,
    ) -> Flow {
        match *record {}
    }

    fn directory_file(&self, fold: &mut Fold, path: &Path) {
        fold.seen += 1;
        fold.refused(
            path,
            None,
            (
                Status::Skipped,
                "directory-level result file, not a per-image sidecar".into(),
            ),
        );
    }

    fn unreadable(
        &self,
        fold: &mut Fold,
        candidate: Candidate<'_>,
        failure: &FailureRecord,
    ) -> Flow {
        fold.seen += 1;
        let refusal = if failure.format.is_some() {
            (Status::Invalid, failure.message.clone())
        } else {
            failed(format!("cannot read the source: {}", failure.message))
        };
        fold.refused(&candidate.path(), None, refusal);
        Flow::Continue
    }

    fn merge(mut mine: Fold, theirs: Fold) -> Fold {
        mine.seen += theirs.seen;
        mine.converted += theirs.converted;
        mine.entries.extend(theirs.entries);
        mine.pending.extend(theirs.pending);
        mine.superseded.extend(theirs.superseded);
        mine.removed_temporaries += theirs.removed_temporaries;
        mine
    }

    /// Parked files whose original name is taken again: a copy equal in values to the file
    /// now there is removed; a different one is kept and reported.
    fn settle(&self, fold: &mut Fold, tree: &Tree, context: PassContext<'_>) {
        let limit = context.max_file_size;
        for path in &tree.parked {
            let Some(original) = fsio::unparked_path(path) else {
                continue;
            };
            let same = canonical_file(context.registry, path, limit)
                .ok()
                .zip(canonical_file(context.registry, &original, limit).ok())
                .is_some_and(|(a, b)| a == b);
            if same && !self.dry_run && std::fs::remove_file(path).is_ok() {
                continue;
            }
            if !same {
                fold.refused(
                    path,
                    Some(&original),
                    (
                        Status::Conflict,
                        format!(
                            "left by an interrupted run, and {} differs from it; both kept: compare them and remove one",
                            display_path(&original)
                        ),
                    ),
                );
            }
        }
    }

    fn finish(
        &self,
        mut fold: Fold,
        tree: &Tree,
        _: PassContext<'_>,
        elapsed_seconds: f64,
    ) -> ConvertReport {
        self.settle_batch(&mut fold);
        for error in &tree.walk_errors {
            fold.seen += 1;
            fold.refused(&error.path, None, failed(error.message.clone()));
        }
        fold.entries.sort_by(|a, b| a.file_path.cmp(&b.file_path));
        fold.superseded
            .sort_by(|a, b| a.file_path.cmp(&b.file_path));
        let count = |status| fold.entries.iter().filter(|e| e.status == status).count() as u64;
        ConvertReport {
            target_format: self.target.display_name().to_owned(),
            dry_run: self.dry_run,
            total_files: fold.seen,
            converted: fold.converted,
            skipped: count(Status::Skipped),
            invalid: count(Status::Invalid),
            failed: count(Status::Failed),
            conflicts: count(Status::Conflict),
            superseded: fold.superseded.len() as u64,
            removed_temporaries: fold.removed_temporaries,
            restored_files: tree.restored_files,
            results: fold.entries,
            superseded_files: fold.superseded,
            elapsed_seconds,
        }
    }
}

type NotConverted = (Status, String);

/// A conversion whose target exists with other values: what `--prefer` works with.
struct Chosen<'a, 'f> {
    file: &'a FileState<'f>,
    target: &'a Path,
    /// The source's canonical encoding, and its conversion.
    source: &'a [u8],
    encoded: &'a [u8],
    keep_source: bool,
    limit: u64,
}

fn failed(reason: impl Into<String>) -> NotConverted {
    (Status::Failed, reason.into())
}

fn skipped(reason: impl Into<String>) -> NotConverted {
    (Status::Skipped, reason.into())
}

/// Puts parked files of an interrupted run back under their names where those are free;
/// returns how many. The others are judged when the pass settles (`StageKind::settle`).
pub fn restore_parked(parked: &[PathBuf]) -> u64 {
    parked
        .iter()
        .filter(|p| {
            fsio::unparked_path(p).is_some_and(|original| {
                std::fs::symlink_metadata(&original).is_err()
                    && fsio::rename_noreplace(p, &original).is_ok()
            })
        })
        .count() as u64
}

/// A command run once before each batch of removals, for tests that change files between a
/// conversion and its source's removal.
pub const HOOK_VAR: &str = "IMAGE_SIDECAR_TEST_HOOK_BEFORE_REMOVAL";

/// What checking a source before its removal found.
enum Settled {
    Done,
    /// The source changed since it was read; it is kept (`where`: under which name).
    Changed(String),
    /// The source is gone (another program removed or renamed it).
    Vanished,
}

impl<'r> ConvertStage<'r> {
    /// `dir/stem.ext`: the source's name with its last extension replaced by the target's, so
    /// that `IMG.CR3.json` becomes `IMG.CR3.bin` and `IMG.json` becomes `IMG.bin`.
    pub fn target_path(&self, source: &Path) -> PathBuf {
        let extension = crate::codec::written_extension(self.target);
        let mut name = source.file_stem().unwrap_or_default().to_owned();
        name.push(".");
        name.push(extension);
        source.with_file_name(name)
    }

    /// Refuses to remove a source of a format other programs read (XMP) unless that format can
    /// be written back from the value: otherwise the only copy in the form those programs read
    /// would be gone. The tool's own formats keep every value of the model by construction, and
    /// read-only formats are meant to be migrated away from, so neither is checked.
    fn source_format_writes_back(
        &self,
        file: &FileState<'_>,
        source: &[u8],
        registry: &Registry,
    ) -> Result<(), NotConverted> {
        let Some(codec) = registry
            .by_name(file.codec)
            .filter(|c| c.read_by_other_programs() && c.can_encode())
        else {
            return Ok(());
        };
        let mut encoded = Vec::new();
        let back = codec
            .encode_canonical(source, &mut encoded)
            .and_then(|()| canonical_of(codec, &encoded));
        let why = match back {
            Ok(back) if back == source => return Ok(()),
            Ok(back) => format!("it differs at {}", difference(&back, source)),
            Err(e) => e.to_string(),
        };
        Err(failed(format!(
            "the source would be removed, but {} cannot be written back from its value ({why}): nothing written; convert with --keep-source to keep it",
            codec.display_name()
        )))
    }

    /// Converts one file; returns the target's size. What is left to do (removing the source,
    /// swapping in an upgrade) is queued in `fold`.
    ///
    /// The source's canonical encoding is what every copy must come back as: the target is
    /// encoded from it and read back into it, and the two encodings compared byte for byte
    /// (the canonical encoding is deterministic and keeps every distinction the value model
    /// makes, so equal bytes mean equal values).
    fn convert(
        &self,
        fold: &mut Fold,
        file: &FileState<'_>,
        target: &Path,
        document: View<'_>,
        registry: &Registry,
        limit: u64,
    ) -> Result<u64, NotConverted> {
        let to = self.target;
        let in_place = file.path == target;
        // Files other programs read stay beside their conversion unless the user says otherwise.
        let keep_source = self.keep_source
            || (!self.remove_shared_sources
                && registry
                    .by_name(file.codec)
                    .is_some_and(|c| c.read_by_other_programs()));
        if in_place && file.codec == to.name() {
            return Err(skipped(format!("already {}", to.display_name())));
        }
        if file.candidate.linked {
            return Err(skipped(
                "a symbolic link: converting would replace it with a regular file; convert the file it points to",
            ));
        }
        if file.candidate.outside {
            return Err(skipped(
                "its real location is outside the input root (reached through a symbolic link); files there are never changed",
            ));
        }
        let mut source = Vec::new();
        canonical::encode(document, &mut source);
        if !keep_source {
            self.source_format_writes_back(file, &source, registry)?;
        }
        let mut encoded = Vec::new();
        to.encode_canonical(&source, &mut encoded)
            .map_err(|e| failed(format!("cannot write as {}: {e}", to.display_name())))?;
        let len = encoded.len() as u64;
        let pending = |kind| Pending::of(file, kind);

        if !in_place && std::fs::symlink_metadata(target).is_ok() {
            match (
                self.complete_existing(target, &source, registry, limit),
                self.prefer,
            ) {
                (Ok(()), _) => {}
                (Err(conflict), Some(prefer)) if conflict.0 == Status::Conflict => {
                    let chosen = Chosen {
                        file,
                        target,
                        source: &source,
                        encoded: &encoded,
                        keep_source,
                        limit,
                    };
                    return self.prefer_one(fold, &chosen, prefer, conflict);
                }
                (Err(refusal), _) => return Err(refusal),
            }
            if keep_source {
                // An earlier run converted it and kept the source: nothing is left to do.
                return Err(skipped(
                    "already converted: the target holds the same values (the source is kept)",
                ));
            }
            if !self.dry_run {
                fold.pending.push(pending(PendingKind::Remove {
                    target: target.to_path_buf(),
                    created: None,
                }));
            }
            return Ok(len);
        }
        if self.dry_run {
            return Ok(len);
        }
        let staged = fsio::stage(
            fsio::parent(target),
            &encoded,
            self.durability,
            &Keep::from_source(&file.meta),
        )
        .map_err(|e| failed(format!("cannot write a temporary file: {e}")))?;
        verify(staged.path(), to, &source, limit)?;
        if in_place {
            let ino = staged
                .park(&fsio::parked_path(target))
                .map_err(|e| failed(format!("cannot set the new file aside: {e}")))?;
            fold.pending.push(pending(PendingKind::Replace { ino }));
            return Ok(len);
        }
        match staged.commit_new(target) {
            Ok(WriteOutcome::Written(ino)) => {
                if !keep_source {
                    fold.pending.push(pending(PendingKind::Remove {
                        target: target.to_path_buf(),
                        created: Some(ino),
                    }));
                }
                Ok(len)
            }
            // Another process created the target meanwhile: judge it like any existing target.
            Ok(WriteOutcome::Exists) => {
                self.complete_existing(target, &source, registry, limit)?;
                if !keep_source {
                    fold.pending.push(pending(PendingKind::Remove {
                        target: target.to_path_buf(),
                        created: None,
                    }));
                }
                Ok(len)
            }
            Err(e) => Err(failed(format!("cannot move the target into place: {e}"))),
        }
    }

    /// Resolves a conflict as `--prefer` says: the losing copy is set aside under
    /// [`fsio::superseded_path`] (a rename: its content and permissions kept), then the winner
    /// stands where the target is. Whatever happens meanwhile, no file is removed.
    fn prefer_one(
        &self,
        fold: &mut Fold,
        chosen: &Chosen<'_, '_>,
        prefer: Prefer,
        conflict: NotConverted,
    ) -> Result<u64, NotConverted> {
        let Chosen { file, target, .. } = *chosen;
        let theirs = match std::fs::symlink_metadata(target) {
            Ok(meta) if meta.file_type().is_file() => meta,
            _ => return Err(conflict),
        };
        let (source_wins, why) = match prefer {
            Prefer::Source => (true, "--prefer source".to_owned()),
            Prefer::Target => (false, "--prefer target".to_owned()),
            Prefer::Newer => {
                let ours = file.meta.identity.mtime;
                match ours.cmp(&(theirs.mtime(), theirs.mtime_nsec())) {
                    std::cmp::Ordering::Greater => (true, "--prefer newer: the source is newer".to_owned()),
                    std::cmp::Ordering::Less => (false, "--prefer newer: the target is newer".to_owned()),
                    std::cmp::Ordering::Equal => {
                        return Err((
                            Status::Conflict,
                            format!("{}; --prefer newer cannot choose: both were modified at the same instant", conflict.1),
                        ))
                    }
                }
            }
        };
        let loser = if source_wins { target } else { file.path };
        let kept_as = fsio::superseded_path(loser);
        let record = |fold: &mut Fold, reason: String| {
            fold.superseded.push(SupersededFile {
                file_path: display_path(loser),
                kept_as: display_path(&kept_as),
                reason,
            });
        };
        let in_the_way = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                (
                    Status::Conflict,
                    format!(
                        "{}; {} (set aside by an earlier run) is in the way of setting it aside",
                        conflict.1,
                        display_path(&kept_as)
                    ),
                )
            } else {
                failed(format!("cannot set {} aside: {e}", display_path(loser)))
            }
        };
        if source_wins {
            self.source_over_target(fold, chosen, &kept_as, &why, record, in_the_way)
        } else {
            if !self.dry_run {
                fsio::rename_noreplace(file.path, &kept_as).map_err(in_the_way)?;
                // Only the file that was read is set aside.
                let same = unchanged(&kept_as, &file.meta, fsio::fingerprint(file.bytes))
                    .map_err(|e| failed(format!("cannot check {}: {e}", display_path(&kept_as))))?;
                if !same {
                    let back = unpark(&kept_as, file.path).map_err(|e| {
                        failed(format!("cannot put {} back: {e}", display_path(&kept_as)))
                    })?;
                    let Settled::Changed(whereabouts) = back else {
                        unreachable!("unpark says where the file is")
                    };
                    return Err(skipped(format!(
                        "the source changed since it was read; left as it is{whereabouts}"
                    )));
                }
            }
            record(fold, format!("{why}: the target's values stand"));
            Err(skipped(format!(
                "{why}: the target's values stand; the source is set aside as {}",
                display_path(&kept_as)
            )))
        }
    }

    /// `--prefer` chose the source: its conversion is written and checked first, then the old
    /// target is set aside and the new one takes its name (never over a file that appeared
    /// meanwhile).
    fn source_over_target(
        &self,
        fold: &mut Fold,
        chosen: &Chosen<'_, '_>,
        kept_as: &Path,
        why: &str,
        record: impl Fn(&mut Fold, String),
        in_the_way: impl Fn(std::io::Error) -> NotConverted,
    ) -> Result<u64, NotConverted> {
        let Chosen {
            file,
            target,
            source,
            encoded,
            keep_source,
            limit,
        } = *chosen;
        let reason = format!("{why}: the source's values replace it");
        if self.dry_run {
            record(fold, reason);
            return Ok(encoded.len() as u64);
        }
        let staged = fsio::stage(
            fsio::parent(target),
            encoded,
            self.durability,
            &Keep::from_source(&file.meta),
        )
        .map_err(|e| failed(format!("cannot write a temporary file: {e}")))?;
        verify(staged.path(), self.target, source, limit)?;
        fsio::rename_noreplace(target, kept_as).map_err(in_the_way)?;
        record(fold, reason);
        match staged.commit_new(target) {
            Ok(WriteOutcome::Written(ino)) => {
                if !keep_source {
                    let kind = PendingKind::Remove {
                        target: target.to_path_buf(),
                        created: Some(ino),
                    };
                    fold.pending.push(Pending::of(file, kind));
                }
                Ok(encoded.len() as u64)
            }
            Ok(WriteOutcome::Exists) => Err((
                Status::Conflict,
                format!(
                    "a new file took the target's name while the old one was set aside as {}; both kept, the source too",
                    display_path(kept_as)
                ),
            )),
            Err(e) => {
                // Nothing took the name: the old target goes back (and is no longer set aside).
                let back = fsio::rename_noreplace(kept_as, target);
                if back.is_ok() {
                    fold.superseded.pop();
                }
                Err(failed(format!(
                    "cannot move the target into place: {e}{}",
                    if back.is_ok() { String::new() } else { format!("; the old target stays at {}", display_path(kept_as)) }
                )))
            }
        }
    }

    /// A target already exists: equal values complete the conversion, anything else is a
    /// conflict.
    fn complete_existing(
        &self,
        target: &Path,
        canonical_source: &[u8],
        registry: &Registry,
        limit: u64,
    ) -> Result<(), NotConverted> {
        match canonical_file(registry, target, limit) {
            Ok(existing) if existing == canonical_source => Ok(()),
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

    /// Completes the queued conversions: flushes their new files to disk, then removes (or
    /// swaps out) each source that is still the file that was read.
    fn settle_batch(&self, fold: &mut Fold) {
        let pending = std::mem::take(&mut fold.pending);
        if pending.is_empty() {
            return;
        }
        let synced = match self.durability {
            Durability::Batched => sync_filesystems(&pending),
            Durability::None | Durability::EachFile => Ok(()),
        };
        fsio::run_test_hook(HOOK_VAR);
        // Sources of one target are settled in order by one worker: when the first one's new
        // file is withdrawn, the others that relied on it keep their sources.
        let groups: Vec<&[Pending]> = pending.chunk_by(|a, b| a.target() == b.target()).collect();
        let outcomes: Vec<Vec<Result<(), NotConverted>>> = groups
            .par_iter()
            .map(|group| {
                let mut withdrawn = false;
                group
                    .iter()
                    .map(|p| match (&synced, &p.kind) {
                        (Err(e), _) => abandon(p, e),
                        (Ok(()), PendingKind::Remove { created: None, .. }) if withdrawn => {
                            Err(skipped(
                                "the new file it was found equal to was withdrawn (another source of it changed during conversion); the source is kept and the next run converts it",
                            ))
                        }
                        (Ok(()), _) => {
                            let (outcome, withdrew) = self.complete(p);
                            withdrawn |= withdrew;
                            outcome
                        }
                    })
                    .collect()
            })
            .collect();
        for (p, outcome) in pending.iter().zip(outcomes.into_iter().flatten()) {
            if let Err(refusal) = outcome {
                fold.converted -= 1;
                fold.refused(&p.source, Some(p.target()), refusal);
            }
        }
    }

    /// Removes or swaps out one source; also says whether the target this run created was
    /// withdrawn.
    fn complete(&self, p: &Pending) -> (Result<(), NotConverted>, bool) {
        let outcome = match &p.kind {
            PendingKind::Remove { target, created } => match retire(&p.source, &p.read, p.digest) {
                Ok(Settled::Done) => Ok(()),
                Ok(Settled::Vanished) => Err(skipped(
                    "the source disappeared during the conversion (removed or renamed by another program); the new file is kept",
                )),
                Ok(Settled::Changed(kept)) => {
                    if let Some(ino) = created {
                        remove_if_inode(target, *ino);
                        return (
                            Err(skipped(format!(
                                "changed during conversion: the source is kept{kept} and the new file removed; the next run converts the new content"
                            ))),
                            true,
                        );
                    }
                    Err(skipped(format!(
                        "changed during conversion: the source is kept{kept}; the next run compares it with the target again"
                    )))
                }
                Err(e) => Err(failed(format!(
                    "converted, but the source could not be removed: {e}"
                ))),
            },
            PendingKind::Replace { ino } => match swap_in(&p.source, &p.read, p.digest, *ino) {
                Ok(Settled::Done) => Ok(()),
                Ok(Settled::Vanished) => Err(skipped(
                    "the source disappeared during the conversion (removed or renamed by another program); nothing replaced",
                )),
                Ok(Settled::Changed(kept)) => Err(skipped(format!(
                    "changed during conversion: the file is kept{kept}, not replaced; the next run converts the new content"
                ))),
                Err(e) => Err(failed(format!("cannot replace the file: {e}"))),
            },
        };
        (outcome, false)
    }
}

/// One `syncfs` per file system the batch wrote to.
fn sync_filesystems(pending: &[Pending]) -> std::io::Result<()> {
    let mut done: Vec<u64> = Vec::new();
    for p in pending {
        if !done.contains(&p.read.identity.dev) {
            fsio::sync_filesystem(fsio::parent(&p.source))?;
            done.push(p.read.identity.dev);
        }
    }
    Ok(())
}

/// The batch could not be flushed: sources stay, upgrades are not swapped in.
fn abandon(p: &Pending, error: &std::io::Error) -> Result<(), NotConverted> {
    if let PendingKind::Replace { ino } = p.kind {
        remove_if_inode(&fsio::parked_path(&p.source), ino);
    }
    Err(failed(format!(
        "the new file could not be flushed to disk ({error}); the source is kept"
    )))
}

/// Removes `path` if it is still the file with inode `ino` (one this run created).
fn remove_if_inode(path: &Path, ino: u64) {
    use std::os::unix::fs::MetadataExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.ino() == ino) {
        let _ = std::fs::remove_file(path);
    }
}

/// Whether the file at `path` is still, in metadata and bytes, the file that was read.
fn unchanged(path: &Path, read: &FileMeta, digest: u128) -> std::io::Result<bool> {
    let mut bytes = Vec::new();
    match fsio::read_into(path, &mut bytes, read.identity.size) {
        Ok(now) => {
            Ok(now.identity.same_content(&read.identity) && fsio::fingerprint(&bytes) == digest)
        }
        Err(ReadError::Io(e)) => Err(e),
        Err(ReadError::TooLarge { .. } | ReadError::NotRegular(_)) => Ok(false),
    }
}

fn is_name_too_long(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::NAMETOOLONG.raw_os_error())
}

/// Removes a source that is still the file that was read.
///
/// The source is first checked where it is, then parked (renamed to a private name in its
/// directory, so that no program finds it by name any more), checked again there, bytes
/// included, and deleted. If it changed, it goes back under its name.
fn retire(source: &Path, read: &FileMeta, digest: u128) -> std::io::Result<Settled> {
    let now = match std::fs::symlink_metadata(source) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settled::Vanished),
        Err(e) => return Err(e),
    };
    if fsio::Identity::of(&now) != read.identity {
        return Ok(Settled::Changed(String::new()));
    }
    let parked = fsio::parked_path(source);
    match fsio::rename_noreplace(source, &parked) {
        Ok(()) => {}
        // No room for the private name: the check just made is the last one.
        Err(e) if is_name_too_long(&e) => {
            std::fs::remove_file(source)?;
            return Ok(Settled::Done);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(std::io::Error::other(format!(
                "{} (left by an interrupted run) is in the way; compare it with the source and remove one",
                display_path(&parked)
            )))
        }
        Err(e) => return Err(e),
    }
    if unchanged(&parked, read, digest)? {
        std::fs::remove_file(&parked)?;
        return Ok(Settled::Done);
    }
    unpark(&parked, source)
}

/// Puts a parked file back; if its name was taken meanwhile, it stays parked (the next run
/// judges it).
fn unpark(parked: &Path, original: &Path) -> std::io::Result<Settled> {
    match fsio::rename_noreplace(parked, original) {
        Ok(()) => Ok(Settled::Changed(String::new())),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Settled::Changed(format!(
            " as {} (a new file took its name)",
            display_path(parked)
        ))),
        Err(e) => Err(e),
    }
}

/// Swaps an in-place upgrade (waiting at the source's parked name, inode `ino`) with the
/// source, if the source is still the file that was read.
fn swap_in(source: &Path, read: &FileMeta, digest: u128, ino: u64) -> std::io::Result<Settled> {
    let parked = fsio::parked_path(source);
    let now = match std::fs::symlink_metadata(source) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            remove_if_inode(&parked, ino);
            return Ok(Settled::Vanished);
        }
        Err(e) => return Err(e),
    };
    if fsio::Identity::of(&now) != read.identity {
        remove_if_inode(&parked, ino);
        return Ok(Settled::Changed(String::new()));
    }
    if !fsio::exchange(&parked, source)? {
        // No atomic exchange on this file system: the check just made is the last one.
        std::fs::rename(&parked, source)?;
        return Ok(Settled::Done);
    }
    // The upgrade is in place; the old file is at the parked name, out of every writer's way.
    if unchanged(&parked, read, digest)? {
        std::fs::remove_file(&parked)?;
        return Ok(Settled::Done);
    }
    fsio::exchange(&parked, source)?;
    remove_if_inode(&parked, ino);
    Ok(Settled::Changed(String::new()))
}

/// The canonical encoding of the document in a file.
fn canonical_file(registry: &Registry, path: &Path, limit: u64) -> Result<Vec<u8>, DocumentError> {
    with_identified(registry, path, limit, |identified, bytes, _| {
        let codec = identified.codec;
        canonical_of(codec, bytes).map_err(|error| DocumentError::Codec {
            format: codec.display_name().to_owned(),
            recognized: true,
            error,
        })
    })
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
fn verify(
    staged: &Path,
    codec: &dyn Codec,
    canonical_source: &[u8],
    limit: u64,
) -> Result<(), NotConverted> {
    with_bytes(staged, limit, |bytes, _| {
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

    /// Writes `content` as `IMG_0001.json` in a new directory and reads it as convert does:
    /// the directory, the file's path, its metadata and fingerprint.
    fn read_sample(content: &[u8]) -> (tempfile::TempDir, PathBuf, FileMeta, u128) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("IMG_0001.json");
        std::fs::write(&path, content).unwrap();
        let mut bytes = Vec::new();
        let read = fsio::read_into(&path, &mut bytes, 1 << 20).unwrap();
        let digest = fsio::fingerprint(&bytes);
        (dir, path, read, digest)
    }

    #[test]
    fn a_same_size_rewrite_within_one_clock_tick_is_seen_by_the_fingerprint() {
        let (_dir, path, read, digest) = read_sample(b"{\"a\": 1}");
        assert!(unchanged(&path, &read, digest).unwrap());
        // Same size, and the modification time put back: metadata alone cannot tell.
        std::fs::write(&path, b"{\"a\": 2}").unwrap();
        let (secs, nanos) = read.identity.mtime;
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(
            std::time::UNIX_EPOCH + std::time::Duration::new(secs as u64, nanos as u32),
        )
        .unwrap();
        let now = fsio::read_into(&path, &mut Vec::new(), 1 << 20).unwrap();
        assert!(now.identity.same_content(&read.identity));
        assert!(!unchanged(&path, &read, digest).unwrap());
    }

    #[test]
    fn a_source_changed_before_parking_is_kept_where_it_is() {
        let (dir, path, read, digest) = read_sample(b"{\"a\": 1}");
        std::fs::write(dir.path().join("new"), b"{\"a\": 22}").unwrap();
        std::fs::rename(dir.path().join("new"), &path).unwrap();
        assert!(matches!(
            retire(&path, &read, digest).unwrap(),
            Settled::Changed(_)
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\": 22}");
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            retire(&path, &read, digest).unwrap(),
            Settled::Vanished
        ));
    }

    #[test]
    fn an_unchanged_source_is_removed_without_a_trace() {
        let (dir, path, read, digest) = read_sample(b"{}");
        assert!(matches!(
            retire(&path, &read, digest).unwrap(),
            Settled::Done
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// A one-number format: `PREFIX` then decimal digits.
    struct Digits {
        name: &'static str,
        prefix: &'static str,
        shared: bool,
    }

    impl Codec for Digits {
        fn name(&self) -> &str {
            self.name
        }
        fn display_name(&self) -> &str {
            self.name
        }
        fn extensions(&self) -> &[&str] {
            std::slice::from_ref(&self.name)
        }
        fn version(&self) -> &str {
            "0"
        }
        fn detect(&self, head: &[u8], _: u64) -> crate::Detection {
            if head.starts_with(self.prefix.as_bytes()) {
                crate::Detection::Certain
            } else {
                crate::Detection::No
            }
        }
        fn decode(&self, bytes: &[u8]) -> Result<crate::Decoded, CodecError> {
            let text = std::str::from_utf8(bytes)
                .ok()
                .and_then(|t| t.strip_prefix(self.prefix))
                .and_then(|t| t.parse::<i64>().ok())
                .ok_or_else(|| CodecError::malformed("not digits", None))?;
            Ok(crate::Decoded {
                value: crate::Value::Int(text),
                warnings: Vec::new(),
            })
        }
        fn encode(&self, document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
            match document {
                // The shared format reads negative numbers but cannot write them.
                View::Int(n) if n >= 0 || !self.shared => {
                    out.extend_from_slice(format!("{}{n}", self.prefix).as_bytes());
                    Ok(())
                }
                _ => Err(CodecError::unsupported("only integers")),
            }
        }
        fn read_by_other_programs(&self) -> bool {
            self.shared
        }
    }

    /// Converts a file of a format other programs read holding `number`; says whether the
    /// source and the target are there.
    fn convert_shared(number: i64, remove_shared_sources: bool) -> (bool, bool) {
        let mut registry = Registry::default();
        for (name, prefix, shared) in [("shr", "S:", true), ("own", "O:", false)] {
            let codec = Digits {
                name,
                prefix,
                shared,
            };
            registry
                .add(
                    std::sync::Arc::new(codec),
                    crate::registry::Provenance::BuiltIn,
                )
                .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("IMG_0001.shr"), format!("S:{number}")).unwrap();
        std::fs::write(dir.path().join("IMG_0001.jpg"), b"jpg").unwrap();
        let stage = ConvertStage {
            target: registry.by_name("own").unwrap(),
            dry_run: false,
            keep_source: false,
            remove_shared_sources,
            durability: Durability::None,
            prefer: None,
        };
        let tree = crate::discover::discover(
            dir.path(),
            &registry,
            &crate::discover::Rules::default(),
            &[],
        );
        let plan = crate::ops::Plan {
            stages: vec![crate::ops::Stage::Convert(stage)],
            formats: Vec::new(),
            operations: Vec::new(),
            max_file_size: 1 << 20,
        };
        crate::ops::run(&tree, &registry, &plan, &());
        let target = std::fs::read(dir.path().join("IMG_0001.own")).ok();
        if let Some(target) = &target {
            assert_eq!(target, format!("O:{number}").as_bytes());
        }
        (dir.path().join("IMG_0001.shr").exists(), target.is_some())
    }

    #[test]
    fn sources_other_programs_read_are_kept_unless_asked() {
        assert_eq!(convert_shared(42, false), (true, true), "kept by default");
        assert_eq!(
            convert_shared(42, true),
            (false, true),
            "removed when asked"
        );
    }

    #[test]
    fn a_source_its_format_cannot_write_back_is_never_removed() {
        assert_eq!(convert_shared(-7, false), (true, true), "kept: converted");
        assert_eq!(
            convert_shared(-7, true),
            (true, false),
            "removal asked: nothing written, the source stays"
        );
    }

    #[test]
    fn target_keeps_dotted_stems() {
        let stage = ConvertStage {
            target: &crate::testing::Fake::by_extension("bin", &["bin"]),
            dry_run: true,
            keep_source: false,
            remove_shared_sources: false,
            durability: Durability::None,
            prefer: None,
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
