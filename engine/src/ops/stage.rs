//! What a kind of stage is: the [`StageKind`] trait, which each stage's module implements (its
//! accumulator, the record the results cache keeps, its typed report), and the `stages!`
//! registration that turns the list of kinds into the pass's enums.
//!
//! The pass (`ops/mod.rs`) knows no kind by name: it hands each file to every stage's
//! [`StageKind::apply`], replays cached records through [`StageKind::replay`], and ends with
//! [`StageKind::finish`]. Adding a stage is its own module, one line in the registration in
//! `ops/mod.rs`, and its table in the pipeline file (`pipeline/spec.rs`).

use std::path::Path;

use crate::discover::{Candidate, Tree};
use crate::ops::{FailureRecord, FileState, Flow};
use crate::registry::Registry;
use crate::value::View;

/// The record of a stage that keeps none (it changes files, so nothing of it is cached).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum NoRecord {}

/// What every stage of a pass may consult.
#[derive(Clone, Copy)]
pub struct PassContext<'p> {
    pub registry: &'p Registry,
    /// Files larger than this many bytes are not read (a stage reading another file keeps it).
    pub max_file_size: u64,
}

/// What a stage knows of a file when it folds the file's record: all a cached record is
/// replayed with.
#[derive(Clone, Copy)]
pub struct RecordedFile<'a> {
    pub path: &'a Path,
    pub has_image: bool,
    /// Display name of the format the file is in.
    pub format: &'a str,
    pub len: u64,
    /// Whether the content, not only the extension, named the format.
    pub recognized: bool,
    /// See [`FileState::digest`].
    pub digest: Option<u128>,
}

impl<'a> RecordedFile<'a> {
    pub(crate) fn of(file: &'a FileState<'_>) -> RecordedFile<'a> {
        RecordedFile {
            path: file.path,
            has_image: file.has_image,
            format: file.format,
            len: file.len,
            recognized: file.recognized,
            digest: file.digest,
        }
    }
}

/// One kind of stage: its settings are the implementing type; it folds files into its
/// [`Fold`](StageKind::Fold) and ends with its [`Report`](StageKind::Report).
///
/// `'r` is the lifetime of the registry whose codecs a stage may hold (convert's target).
pub trait StageKind<'r>: Sync {
    /// One worker's accumulator; workers' folds are merged with [`StageKind::merge`].
    type Fold: Default + Send;
    /// What the stage made of one readable file, replayed from the results cache.
    type Record;
    /// The stage's section of the report.
    type Report;

    /// Whether what it makes of a file may be kept in the results cache: it changes nothing,
    /// and its results depend on the file alone (or say on what else).
    fn cacheable(&self) -> bool {
        true
    }

    /// Whether a file that fails it stops the whole pass (the pass then checks every file with
    /// this stage before anything else runs).
    fn aborts(&self) -> bool {
        false
    }

    /// Whether it writes, replaces or removes files.
    fn changes_files(&self) -> bool {
        false
    }

    /// Whether files sharing a path without their last extension must go through it in path
    /// order on one worker (sources converted to one target).
    fn groups_by_stem(&self) -> bool {
        false
    }

    /// Whether it reads the document; a stage that does not sees `None` for files the walk
    /// paired with an image.
    fn needs_document(&self) -> bool {
        true
    }

    /// Whether it compares sidecars of one name but for the extension by their values
    /// ([`FileState::digest`]); the pass fingerprints those files' values only for such stages.
    fn compares_siblings(&self) -> bool {
        false
    }

    /// The stage and its settings as text: what a cached result depends on.
    fn fingerprint(&self) -> String;

    /// The fold the full pass starts from, made once before any file is read (convert
    /// removes what an interrupted run left here).
    fn begin(&self, _tree: &Tree) -> Self::Fold {
        Self::Fold::default()
    }

    /// Runs on one readable file and folds what it found; returns the file's record (none
    /// from a stage that is not cacheable) and what happens to the file next.
    fn apply<'f>(
        &self,
        fold: &mut Self::Fold,
        file: &mut FileState<'f>,
        document: Option<View<'_>>,
        context: PassContext<'_>,
    ) -> (Option<Self::Record>, Flow)
    where
        'r: 'f;

    /// Folds a file from its record, without reading it.
    fn replay(
        &self,
        fold: &mut Self::Fold,
        record: &Self::Record,
        file: RecordedFile<'_>,
        context: PassContext<'_>,
    ) -> Flow;

    /// Folds a directory-level result file (not a sidecar).
    fn directory_file(&self, fold: &mut Self::Fold, path: &Path);

    /// Folds a file that could not be read; says whether the pass goes on.
    fn unreadable(
        &self,
        fold: &mut Self::Fold,
        candidate: Candidate<'_>,
        failure: &FailureRecord,
    ) -> Flow;

    /// Merges two workers' folds.
    fn merge(mine: Self::Fold, theirs: Self::Fold) -> Self::Fold;

    /// Runs once on the merged fold after the full pass (convert judges what an interrupted
    /// run parked).
    fn settle(&self, _fold: &mut Self::Fold, _tree: &Tree, _context: PassContext<'_>) {}

    /// The stage's report.
    fn finish(
        &self,
        fold: Self::Fold,
        tree: &Tree,
        context: PassContext<'_>,
        elapsed_seconds: f64,
    ) -> Self::Report;
}

/// Registers the kinds of stage: generates [`Stage`](crate::ops::Stage) (a configured stage of
/// any kind), [`Section`](crate::ops::Section) (any stage's report, and `TryFrom` for each
/// typed report), [`StageRecord`](crate::ops::StageRecord) (any stage's record, as the results
/// cache keeps it: keep the order of the kinds, it is the record's tag on disk) and the fold
/// the pass carries for each stage.
macro_rules! stages {
    ($lt:lifetime; $(
        $(#[$doc:meta])*
        $variant:ident($stage:ty) => $kind:literal, $record:ty, $report:ty;
    )*) => {
        /// One stage of a pass, configured.
        pub enum Stage<$lt> {
            $($(#[$doc])* $variant($stage),)*
        }

        /// A stage's report.
        #[derive(Debug, serde::Serialize)]
        #[serde(untagged)]
        pub enum Section {
            $($variant($report),)*
        }

        /// What one stage made of one readable file, before it is folded into the stage's
        /// report.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub enum StageRecord {
            $($variant($record),)*
        }

        /// A stage with its accumulator: the pass folds each file through these.
        enum StageFold<'p, $lt> {
            $($variant(&'p $stage, <$stage as StageKind<$lt>>::Fold),)*
        }

        impl<$lt> Stage<$lt> {
            /// The stage's kind, as its command is named.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Stage::$variant(_) => $kind,)*
                }
            }

            /// See [`StageKind::cacheable`].
            pub fn cacheable(&self) -> bool {
                match self {
                    $(Stage::$variant(stage) => stage.cacheable(),)*
                }
            }

            /// See [`StageKind::aborts`].
            pub fn aborts(&self) -> bool {
                match self {
                    $(Stage::$variant(stage) => stage.aborts(),)*
                }
            }

            /// See [`StageKind::changes_files`].
            pub fn changes_files(&self) -> bool {
                match self {
                    $(Stage::$variant(stage) => stage.changes_files(),)*
                }
            }

            /// See [`StageKind::groups_by_stem`].
            pub fn groups_by_stem(&self) -> bool {
                match self {
                    $(Stage::$variant(stage) => stage.groups_by_stem(),)*
                }
            }

            /// See [`StageKind::needs_document`].
            pub fn needs_document(&self) -> bool {
                match self {
                    $(Stage::$variant(stage) => stage.needs_document(),)*
                }
            }

            /// See [`StageKind::compares_siblings`].
            pub fn compares_siblings(&self) -> bool {
                match self {
                    $(Stage::$variant(stage) => stage.compares_siblings(),)*
                }
            }

            /// Whether it can run as the walk goes: it changes no file and groups none across
            /// directories, and does not abort (aborting checks every file first).
            pub fn runs_walking(&self) -> bool {
                !self.changes_files() && !self.groups_by_stem() && !self.aborts()
            }

            /// See [`StageKind::fingerprint`].
            pub fn fingerprint(&self) -> String {
                match self {
                    $(Stage::$variant(stage) => stage.fingerprint(),)*
                }
            }

            /// An empty accumulator for this stage.
            fn fold(&self) -> StageFold<'_, $lt> {
                match self {
                    $(Stage::$variant(stage) => StageFold::$variant(stage, Default::default()),)*
                }
            }

            /// The accumulator the full pass starts from.
            fn begin(&self, tree: &Tree) -> StageFold<'_, $lt> {
                match self {
                    $(Stage::$variant(stage) => StageFold::$variant(stage, stage.begin(tree)),)*
                }
            }
        }

        impl Section {
            /// The stage's kind, as its command is named.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Section::$variant(_) => $kind,)*
                }
            }

            /// Whether the stage found a file invalid, unreadable, failed, in conflict or in no
            /// known format (what `--strict` turns into exit 1).
            pub fn has_findings(&self) -> bool {
                match self {
                    $(Section::$variant(report) => report.has_findings(),)*
                }
            }

            /// The seconds the stage's report states.
            pub fn elapsed_seconds_mut(&mut self) -> &mut f64 {
                match self {
                    $(Section::$variant(report) => &mut report.elapsed_seconds,)*
                }
            }
        }

        $(
            impl<$lt> From<$stage> for Stage<$lt> {
                fn from(stage: $stage) -> Stage<$lt> {
                    Stage::$variant(stage)
                }
            }

            impl TryFrom<Section> for $report {
                type Error = OtherSection;
                fn try_from(section: Section) -> Result<$report, OtherSection> {
                    match section {
                        Section::$variant(report) => Ok(report),
                        #[allow(unreachable_patterns)]
                        other => Err(OtherSection { wanted: $kind, found: other.kind() }),
                    }
                }
            }
        )*

        impl<'p, $lt> StageFold<'p, $lt> {
            fn apply<'f>(
                &mut self,
                file: &mut FileState<'f>,
                document: Option<View<'_>>,
                context: PassContext<'_>,
            ) -> (Option<StageRecord>, Flow)
            where
                $lt: 'f,
            {
                match self {
                    $(StageFold::$variant(stage, fold) => {
                        let (record, flow) = stage.apply(fold, file, document, context);
                        (record.map(StageRecord::$variant), flow)
                    })*
                }
            }

            fn replay(
                &mut self,
                record: &StageRecord,
                file: RecordedFile<'_>,
                context: PassContext<'_>,
            ) -> Flow {
                match (self, record) {
                    $((StageFold::$variant(stage, fold), StageRecord::$variant(record)) => {
                        stage.replay(fold, record, file, context)
                    })*
                    // A record made by another plan; the cache's fingerprint keeps this from
                    // happening.
                    #[allow(unreachable_patterns)]
                    _ => Flow::SkipFile,
                }
            }

            fn directory_file(&mut self, path: &Path) {
                match self {
                    $(StageFold::$variant(stage, fold) => stage.directory_file(fold, path),)*
                }
            }

            fn unreadable(&mut self, candidate: Candidate<'_>, failure: &FailureRecord) -> Flow {
                match self {
                    $(StageFold::$variant(stage, fold) => {
                        stage.unreadable(fold, candidate, failure)
                    })*
                }
            }

            /// Merges another worker's fold of the same stage (both made from one plan, so
            /// they pair by position).
            fn merge(self, other: StageFold<'p, $lt>) -> StageFold<'p, $lt> {
                match (self, other) {
                    $((StageFold::$variant(stage, mine), StageFold::$variant(_, theirs)) => {
                        StageFold::$variant(stage, <$stage as StageKind<$lt>>::merge(mine, theirs))
                    })*
                    #[allow(unreachable_patterns)]
                    _ => unreachable!("folds made from one plan pair by position"),
                }
            }

            fn settle(&mut self, tree: &Tree, context: PassContext<'_>) {
                match self {
                    $(StageFold::$variant(stage, fold) => stage.settle(fold, tree, context),)*
                }
            }

            fn finish(self, tree: &Tree, context: PassContext<'_>, elapsed_seconds: f64) -> Section {
                match self {
                    $(StageFold::$variant(stage, fold) => {
                        Section::$variant(stage.finish(fold, tree, context, elapsed_seconds))
                    })*
                }
            }
        }
    };
}

pub(crate) use stages;
