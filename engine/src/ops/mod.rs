//! Operations over a tree of sidecars, as stages of one pass.
//!
//! A [`Plan`] lists stages (validate, convert, stats, format-stats). [`run`] walks the
//! candidates on the current rayon pool; each file is read once, decoded once (or read in place
//! by zero-copy formats) and flows through the stages in order; each stage folds what it learns
//! into a small accumulator, and the accumulators are reduced. Plans that change nothing and
//! never abort run as the walk goes ([`run_walking`]): each directory's files are folded as
//! soon as it is read, and no list of the tree's files is kept, so memory stays flat however
//! large the tree. The single commands are one-stage plans; pipelines are longer ones. Reports
//! list files in path order, whatever the number of workers.
//!
//! The pass names no stage: each kind of stage is a module implementing [`StageKind`] (its
//! accumulator, the record the results cache keeps, its typed report), registered once below.

pub mod cleanup;
pub mod convert;
pub mod export;
pub mod format_stats;
pub mod inspect;
pub mod list;
pub mod mv;
pub mod siblings;
pub mod stage;
pub mod stats;
pub mod validate;

use std::cell::RefCell;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::codec::Detection;
use crate::discover::{self, Candidate, Tree, WalkError};
use crate::error::{CodecError, Warning};
use crate::fsio::{self, FileMeta, ReadError};
use crate::registry::{Identified, Registry, DETECT_BYTES};
use crate::value::View;

pub use stage::{NoRecord, PassContext, RecordedFile, StageKind};

stage::stages! {
    'r;
    /// Every sidecar decodes and passes the configured validators.
    Validate(validate::ValidateStage) => "validate", validate::Outcome, validate::ValidateReport;
    /// What a collection holds: counts, formats, and the summaries' fields.
    Stats(stats::StatsStage) => "stats", stats::Outcome, stats::StatsReport;
    /// How many sidecars there are of each format, by content.
    FormatStats(format_stats::FormatStatsStage) => "format-stats", (), format_stats::FormatStatsReport;
    /// Each sidecar rewritten in the target format, checked, and its source removed.
    Convert(convert::ConvertStage<'r>) => "convert", NoRecord, convert::ConvertReport;
    /// Sidecars whose image is gone, listed, moved aside or removed.
    Cleanup(cleanup::CleanupStage) => "cleanup", NoRecord, cleanup::CleanupReport;
    /// Each sidecar's document, or each element of one of its arrays, as a row of a table.
    Export(export::ExportStage) => "export", NoRecord, export::ExportReport;
}

/// Reports progress to whoever shows it (a progress bar on a terminal, or nobody).
pub trait Progress: Sync {
    fn advance(&self, files: u64);
}

impl Progress for () {
    fn advance(&self, _files: u64) {}
}

/// A path as reports print it. Names that are not UTF-8 show U+FFFD for the bytes that are not.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// One file that a report lists, with what is wrong with it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileResult {
    pub file_path: String,
    pub is_valid: bool,
    /// Display name of the format the content was read as; `null` when none applied.
    pub format: Option<String>,
    /// What is wrong, and where; `null` for a valid file.
    pub error: Option<String>,
    pub warnings: Vec<String>,
}

impl FileResult {
    fn from_walk_error(error: &WalkError) -> FileResult {
        FileResult {
            file_path: display_path(&error.path),
            is_valid: false,
            format: None,
            error: Some(error.message.clone()),
            warnings: Vec::new(),
        }
    }

    fn unreadable(path: &Path, failure: &FailureRecord) -> FileResult {
        FileResult {
            file_path: display_path(path),
            is_valid: false,
            format: failure.format.clone(),
            error: Some(failure.message.clone()),
            warnings: Vec::new(),
        }
    }
}

/// A file that could not be read, as the stages record it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FailureRecord {
    pub message: String,
    /// The format a codec was asked to read it as, when one was.
    pub format: Option<String>,
    /// Whether the content, not only the extension, named that format.
    pub recognized: bool,
}

impl From<&DocumentError> for FailureRecord {
    fn from(failure: &DocumentError) -> FailureRecord {
        FailureRecord {
            message: failure.to_string(),
            format: failure.format(),
            recognized: matches!(
                failure,
                DocumentError::Codec {
                    recognized: true,
                    ..
                }
            ),
        }
    }
}

/// What a pass made of one file: enough to fold it into every stage's report again without
/// reading it (the results cache keeps these).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub enum FileRecord {
    /// Its format is not among the plan's.
    Filtered,
    Unreadable(FailureRecord),
    /// A directory-level result file, not a sidecar.
    DirectoryFile,
    Read {
        format: String,
        len: u64,
        recognized: bool,
        /// See [`FileState::digest`].
        digest: Option<u128>,
        /// One record per stage the file went through, in plan order.
        stages: Vec<StageRecord>,
    },
}

/// Why a file could not be read as a document.
#[derive(Debug)]
pub enum DocumentError {
    Read(ReadError),
    /// No codec claims the file's extension or content.
    Unrecognized,
    Codec {
        format: String,
        /// Whether the content, not only the extension, named the format.
        recognized: bool,
        error: CodecError,
    },
}

impl DocumentError {
    pub fn format(&self) -> Option<String> {
        match self {
            DocumentError::Codec { format, .. } => Some(format.clone()),
            _ => None,
        }
    }
}

impl std::fmt::Display for DocumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocumentError::Read(ReadError::Io(e)) => write!(f, "cannot read the file: {e}"),
            DocumentError::Read(e) => write!(f, "{e}"),
            DocumentError::Unrecognized => f.write_str("no registered format recognises this file"),
            DocumentError::Codec { error, .. } => write!(f, "{error}"),
        }
    }
}

thread_local! {
    /// Each worker reuses one read buffer for every file it reads.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads `path` (at most `limit` bytes) into the worker's reusable buffer and calls `f` with its
/// bytes and its metadata as read.
pub fn with_bytes<T>(
    path: &Path,
    limit: u64,
    f: impl FnOnce(&[u8], &FileMeta) -> T,
) -> Result<T, ReadError> {
    BUFFER.with(|cell| {
        // Taken, not borrowed, so that `f` may read another file through this function.
        let mut buffer = cell.take();
        let result = fsio::read_into(path, &mut buffer, limit).map(|meta| f(&buffer, &meta));
        cell.replace(buffer);
        result
    })
}

/// Reads `path`, identifies its format, and calls `f` with the codec, the bytes and the
/// file's metadata.
pub fn with_identified<T>(
    registry: &Registry,
    path: &Path,
    limit: u64,
    f: impl FnOnce(Identified<'_>, &[u8], &FileMeta) -> Result<T, DocumentError>,
) -> Result<T, DocumentError> {
    with_bytes(path, limit, |bytes, meta| {
        let head = &bytes[..bytes.len().min(DETECT_BYTES)];
        let identified = registry
            .identify(path, head, bytes.len() as u64)
            .ok_or(DocumentError::Unrecognized)?;
        f(identified, bytes, meta)
    })
    .unwrap_or_else(|e| Err(DocumentError::Read(e)))
}

/// Reads the first bytes of `path` (enough for detection), identifies its format, and calls
/// `f` with the codec, those bytes and the file's metadata (its size is the file's length).
pub fn with_identified_head<T>(
    registry: &Registry,
    path: &Path,
    limit: u64,
    f: impl FnOnce(Identified<'_>, &[u8], &FileMeta) -> Result<T, DocumentError>,
) -> Result<T, DocumentError> {
    let mut head = Vec::with_capacity(DETECT_BYTES);
    let meta =
        fsio::read_head_into(path, &mut head, limit, DETECT_BYTES).map_err(DocumentError::Read)?;
    let identified = registry
        .identify(path, &head, meta.identity.size)
        .ok_or(DocumentError::Unrecognized)?;
    f(identified, &head, &meta)
}

/// The warning for a file whose extension names another format than its content.
fn mismatch_warning(path: &Path, identified: &Identified<'_>) -> Option<Warning> {
    identified.extension_mismatch.then(|| {
        let ext = path.extension().unwrap_or_default().to_string_lossy();
        Warning {
            code: "extension-mismatch",
            message: format!(
                "named .{ext} but the content is {}; read by its content",
                identified.codec.display_name()
            ),
            location: None,
        }
    })
}

fn recognized_by_content(identified: &Identified<'_>) -> bool {
    identified.by_content != Detection::No
}

/// What the stages know about the file in hand.
pub struct FileState<'a> {
    pub path: &'a Path,
    pub has_image: bool,
    /// Where the walk found the file: through a symlink, outside the input root.
    pub candidate: Candidate<'a>,
    /// The bytes read, and the file's metadata as of that read.
    pub bytes: &'a [u8],
    pub meta: FileMeta,
    /// Name of the codec the file is in now (after a convert stage, the target's).
    pub codec: &'a str,
    /// Display name of that format.
    pub format: &'a str,
    /// The file's size in bytes now.
    pub len: u64,
    /// Whether the content, not only the extension, named the format.
    pub recognized: bool,
    /// Warnings from reading it.
    pub warnings: Vec<Warning>,
    /// A fingerprint of its values (their canonical encoding), made only when another sidecar
    /// has its path without the last extension (`X.json` beside `X.bin`): stages compare the
    /// two, which the pass hands them one after the other.
    pub digest: Option<u128>,
}

/// What a stage decided about a file.
pub enum Flow {
    /// On to the next stage.
    Continue,
    /// This file goes no further.
    SkipFile,
    /// Stop the whole pass, for this reason.
    Abort(String),
}

/// The stages of a pass and which files they see.
pub struct Plan<'r> {
    pub stages: Vec<Stage<'r>>,
    /// Codec names of the formats to process (by content); empty for all.
    pub formats: Vec<String>,
    /// Operations a sidecar must hold one of, as a top-level section or as
    /// `sidecar_info.operation_type` (names compared exactly); empty for all. Files that do
    /// not are counted as filtered; files that cannot be read are reported all the same.
    pub operations: Vec<String>,
    /// Files larger than this many bytes are reported, not read.
    pub max_file_size: u64,
}

impl Plan<'_> {
    /// Whether files paired with an image are decoded: a stage needs their documents, or the
    /// operation filter looks into them. (Unpaired files are always decoded: they may be
    /// directory-level files or reports of this tool.)
    pub fn reads_documents(&self) -> bool {
        !self.operations.is_empty() || self.stages.iter().any(Stage::needs_document)
    }

    /// Whether a document holds one of the plan's operations (any, without a filter).
    pub fn selects(&self, document: View<'_>) -> bool {
        if self.operations.is_empty() {
            return true;
        }
        let named = document
            .get("sidecar_info")
            .and_then(|info| info.get("operation_type"))
            .and_then(View::as_str);
        self.operations
            .iter()
            .any(|op| named == Some(op.as_str()) || document.get(op).is_some())
    }

    /// Whether what this plan makes of a file may be kept in the results cache.
    pub fn cacheable(&self) -> bool {
        self.stages.iter().all(Stage::cacheable)
    }

    /// The stages and their settings as text: what a cached result depends on.
    pub fn fingerprint(&self) -> String {
        let mut text = format!("formats {:?} max {}\n", self.formats, self.max_file_size);
        // Only when set, so that the records of a plan without it keep their fingerprint.
        if !self.operations.is_empty() {
            text.push_str(&format!("operations {:?}\n", self.operations));
        }
        for stage in &self.stages {
            text.push_str(&stage.fingerprint());
        }
        text
    }
}

/// A section of another kind of stage than the report asked for.
#[derive(Debug, thiserror::Error)]
#[error("the pass made a {found} report where a {wanted} report was asked for")]
pub struct OtherSection {
    pub wanted: &'static str,
    pub found: &'static str,
}

/// Why a pass stopped early.
#[derive(Debug, Clone, Serialize)]
pub struct Aborted {
    pub file_path: String,
    pub reason: String,
}

/// What a pass found: one section per stage, in order.
#[derive(Debug)]
pub struct PassReport {
    pub sections: Vec<Section>,
    /// Candidates left out because their format is not among the plan's.
    pub filtered_files: u64,
    /// Candidates not reached because the pass was aborted.
    pub not_processed: u64,
    pub aborted: Option<Aborted>,
    /// Sidecars folded from the results cache instead of being read.
    pub cached_files: u64,
    pub elapsed_seconds: f64,
}

/// Where a pass finds the records of unchanged files and leaves the records it makes: the
/// results cache (`crate::cache`). Only plans that change nothing use one.
pub trait Records: Sync {
    /// The record of a candidate (at `path`) whose file has not changed since it was made.
    fn lookup(&self, candidate: Candidate<'_>, path: &Path) -> Option<FileRecord>;
    /// Keeps the record made of a file read with metadata `meta`.
    fn store(&self, candidate: Candidate<'_>, meta: &FileMeta, record: FileRecord);
}

/// The stages' accumulators, in plan order, with what the pass counts itself.
#[derive(Default)]
struct Folds<'p, 'r> {
    stages: Vec<StageFold<'p, 'r>>,
    /// Time spent in each stage, in plan order.
    nanos: Vec<u128>,
    filtered: u64,
    not_processed: u64,
    /// Files folded from their cached records.
    cached: u64,
}

impl<'p, 'r> Folds<'p, 'r> {
    fn new(plan: &'p Plan<'r>) -> Folds<'p, 'r> {
        Folds::of(plan, plan.stages.iter().map(Stage::fold).collect())
    }

    /// What the full pass starts from: each stage's [`StageKind::begin`].
    fn begin(plan: &'p Plan<'r>, tree: &Tree) -> Folds<'p, 'r> {
        Folds::of(plan, plan.stages.iter().map(|s| s.begin(tree)).collect())
    }

    fn of(plan: &Plan<'r>, stages: Vec<StageFold<'p, 'r>>) -> Folds<'p, 'r> {
        Folds {
            stages,
            nanos: vec![0; plan.stages.len()],
            ..Folds::default()
        }
    }

    fn merge(mut self, other: Folds<'p, 'r>) -> Folds<'p, 'r> {
        // The reduction's identity holds no stage yet.
        if self.nanos.is_empty() {
            return other;
        }
        if other.nanos.is_empty() {
            return self;
        }
        let mine = std::mem::take(&mut self.stages);
        self.stages = mine
            .into_iter()
            .zip(other.stages)
            .map(|(a, b)| a.merge(b))
            .collect();
        for (mine, theirs) in self.nanos.iter_mut().zip(other.nanos) {
            *mine += theirs;
        }
        self.filtered += other.filtered;
        self.not_processed += other.not_processed;
        self.cached += other.cached;
        self
    }
}

/// Whether two paths are one name but for the last extension (`X.json`, `X.bin`): files
/// converted to one target, and sidecars stages compare.
pub(crate) fn same_name(a: &Path, b: &Path) -> bool {
    without_extension(a) == without_extension(b)
}

/// A path's bytes without the last extension of its file name.
fn without_extension(path: &Path) -> &[u8] {
    let bytes = path.as_os_str().as_encoded_bytes();
    let name_start = bytes.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    match bytes[name_start..].iter().rposition(|&b| b == b'.') {
        Some(dot) if dot > 0 => &bytes[..name_start + dot],
        _ => bytes,
    }
}

/// Which stages a pass runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Only the validate stages whose failures abort the run, over every file, changing nothing.
    Check,
    /// Every stage.
    Full,
}

/// Runs `plan` over `tree`.
///
/// A plan with a validate stage whose `on_error` is `abort` first validates every file with
/// those stages: if any file fails, nothing else runs (nothing is converted) and the report
/// names the first failing file in path order, whatever the number of workers. Otherwise the
/// full pass follows.
pub fn run(
    tree: &Tree,
    registry: &Registry,
    plan: &Plan<'_>,
    progress: &dyn Progress,
) -> PassReport {
    run_with_records(tree, registry, plan, progress, None)
}

/// Whether `plan` can run as the walk goes ([`run_walking`]): it changes no file (converting
/// groups sources across directories) and no stage aborts (aborting checks every file before
/// anything else runs).
pub fn runs_walking(plan: &Plan<'_>) -> bool {
    plan.stages.iter().all(Stage::runs_walking)
}

/// How many of one directory's files a worker takes at a time when the pass runs as the walk
/// goes.
const DIRECTORY_CHUNK: usize = 32;

/// Sorts candidates so that those sharing their path without the last extension are next to
/// each other, in path order, and marks each that has such a sibling.
fn with_siblings<'t>(candidates: &mut [Candidate<'t>]) -> Vec<(Candidate<'t>, bool)> {
    candidates.sort_by(|a, b| {
        without_extension(a.rel)
            .cmp(without_extension(b.rel))
            .then_with(|| a.rel.cmp(b.rel))
    });
    (0..candidates.len())
        .map(|i| {
            let before = i > 0 && same_name(candidates[i - 1].rel, candidates[i].rel);
            let after =
                i + 1 < candidates.len() && same_name(candidates[i].rel, candidates[i + 1].rel);
            (candidates[i], before || after)
        })
        .collect()
}

/// Chunks of about `size` files (sorted by [`with_siblings`]) that never split a group of
/// siblings; with `size` 1, one chunk per group.
fn chunks_of_groups<'c, 't>(
    items: &'c [(Candidate<'t>, bool)],
    size: usize,
) -> Vec<&'c [(Candidate<'t>, bool)]> {
    let mut chunks = Vec::with_capacity(items.len() / size + 1);
    let mut start = 0;
    while start < items.len() {
        let mut end = (start + size).min(items.len());
        // A sibling at the boundary: the chunk takes the rest of its group.
        while end < items.len() && same_name(items[end - 1].0.rel, items[end].0.rel) {
            end += 1;
        }
        chunks.push(&items[start..end]);
        start = end;
    }
    chunks
}

/// Runs `plan` (one that [`runs_walking`]) over the candidates `walk` hands to its visitor,
/// directory by directory, as the walk finds them; `keep` chooses among them (a pipeline's
/// file selection). Unchanged files are folded from `records`. Returns the walked tree (which
/// keeps no candidates), the report, and how many candidates were kept.
pub fn run_walking(
    walk: impl FnOnce(discover::Visit<'_>) -> Tree,
    keep: &(dyn Fn(Candidate<'_>) -> bool + Sync),
    registry: &Registry,
    plan: &Plan<'_>,
    progress: &dyn Progress,
    records: Option<&dyn Records>,
) -> (Tree, PassReport, u64) {
    let started = Instant::now();
    let records = records.filter(|_| plan.cacheable());
    let pass = Pass::new(registry, plan, Phase::Full, records);
    // One accumulator per chunk at work at once: taken for a chunk, put back after.
    let spare: Mutex<Vec<Folds>> = Mutex::new(Vec::new());
    let kept = std::sync::atomic::AtomicU64::new(0);
    // Without records every file is read: on a cold page cache, more reads in flight than
    // workers keep the disk busy. With records most files are only looked up, not read.
    let readahead = (records.is_none() && plan.reads_documents())
        .then(|| crate::readahead::ReadAhead::new(crate::readahead::READERS));
    let visit = |directory: discover::Directory<'_>| {
        let mut taken: Vec<Candidate<'_>> = directory
            .candidates
            .iter()
            .copied()
            .filter(|c| keep(*c))
            .collect();
        kept.fetch_add(taken.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if let Some(readahead) = &readahead {
            readahead.directory(taken.iter().map(|c| c.path()));
        }
        // A directory's files in chunks other workers can take: one large directory is
        // worked through by all of them. Files that share a name but for the extension stay in
        // one chunk, one after the other, so that stages can compare them.
        let taken = with_siblings(&mut taken);
        chunks_of_groups(&taken, DIRECTORY_CHUNK)
            .par_iter()
            .for_each(|chunk| {
                let held = spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let mut folds = held.unwrap_or_else(|| Folds::new(plan));
                for candidate in chunk.iter() {
                    pass.process(candidate.0, candidate.1, &mut folds);
                    progress.advance(1);
                }
                spare.lock().unwrap_or_else(|e| e.into_inner()).push(folds);
            });
    };
    let tree = walk(&visit);
    let folds = spare
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .fold(Folds::default(), Folds::merge);
    let report = finish(&tree, registry, plan, folds, started);
    (tree, report, kept.into_inner())
}

/// [`run`], folding unchanged files from `records` and leaving the records of the files read.
/// Plans that are not [`Plan::cacheable`] (those that convert) do not use records.
pub fn run_with_records(
    tree: &Tree,
    registry: &Registry,
    plan: &Plan<'_>,
    progress: &dyn Progress,
    records: Option<&dyn Records>,
) -> PassReport {
    let started = Instant::now();
    let records = records.filter(|_| plan.cacheable());
    if plan.stages.iter().any(Stage::aborts) {
        let check = Pass::new(registry, plan, Phase::Check, None);
        let folds = check.over(tree, &|_| {});
        let aborted = check
            .aborted
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(aborted) = aborted {
            let mut report = finish(tree, registry, plan, folds, started);
            report.not_processed = tree.len() as u64 - report.filtered_files;
            report.aborted = Some(aborted);
            return report;
        }
    }
    let begun = Folds::begin(plan, tree);
    let pass = Pass::new(registry, plan, Phase::Full, records);
    let mut folds = begun.merge(pass.over(tree, &|n| progress.advance(n)));
    let context = pass.context();
    for fold in &mut folds.stages {
        fold.settle(tree, context);
    }
    finish(tree, registry, plan, folds, started)
}

/// Turns the folds into the stages' sections, in plan order.
fn finish<'p, 'r>(
    tree: &Tree,
    registry: &Registry,
    plan: &'p Plan<'r>,
    folds: Folds<'p, 'r>,
    started: Instant,
) -> PassReport {
    let folds = if folds.nanos.is_empty() {
        Folds::new(plan)
    } else {
        folds
    };
    let context = PassContext {
        registry,
        max_file_size: plan.max_file_size,
    };
    let sections = folds
        .stages
        .into_iter()
        .zip(&folds.nanos)
        .map(|(fold, nanos)| fold.finish(tree, context, *nanos as f64 / 1e9))
        .collect();
    PassReport {
        sections,
        filtered_files: folds.filtered,
        not_processed: folds.not_processed,
        aborted: None,
        cached_files: folds.cached,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    }
}

struct Pass<'p, 'r> {
    registry: &'p Registry,
    plan: &'p Plan<'r>,
    phase: Phase,
    /// Where file records are found and kept (the results cache), if anywhere.
    records: Option<&'p dyn Records>,
    /// The first file in path order that failed an aborting stage (check phase).
    aborted: Mutex<Option<Aborted>>,
    /// Whether a stage that runs compares siblings: their values are then fingerprinted.
    digests: bool,
}

/// How far a file went.
enum Reached {
    Done,
    Filtered,
    Aborted(String),
}

impl<'p, 'r> Pass<'p, 'r> {
    fn new(
        registry: &'p Registry,
        plan: &'p Plan<'r>,
        phase: Phase,
        records: Option<&'p dyn Records>,
    ) -> Pass<'p, 'r> {
        let mut pass = Pass {
            registry,
            plan,
            phase,
            records,
            aborted: Mutex::new(None),
            digests: false,
        };
        pass.digests = plan
            .stages
            .iter()
            .any(|s| pass.runs(s) && s.compares_siblings());
        pass
    }

    fn context(&self) -> PassContext<'p> {
        PassContext {
            registry: self.registry,
            max_file_size: self.plan.max_file_size,
        }
    }

    /// Every candidate through the stages, on the current pool.
    fn over(&self, tree: &Tree, advance: &(dyn Fn(u64) + Sync)) -> Folds<'p, 'r> {
        let step = |mut folds: Folds<'p, 'r>, (candidate, siblings): (Candidate<'_>, bool)| {
            self.process(candidate, siblings, &mut folds);
            advance(1);
            folds
        };
        // Files sharing their path without its last extension go through in path order on
        // one worker: sources that share a target (`X.json`, `X.rkyv` → `X.bin`) are converted
        // one after the other, and stages compare such files. Only references are sorted, so
        // no path is copied.
        let mut jobs: Vec<Candidate<'_>> = tree.candidates().collect();
        let jobs = with_siblings(&mut jobs);
        let folds = chunks_of_groups(&jobs, 1)
            .par_iter()
            .fold(
                || Folds::new(self.plan),
                |folds, group| group.iter().fold(folds, |folds, c| step(folds, *c)),
            )
            .reduce(Folds::default, Folds::merge);
        if folds.nanos.is_empty() {
            Folds::new(self.plan)
        } else {
            folds
        }
    }

    fn needs_document(&self, candidate: Candidate<'_>) -> bool {
        // Only stages that count paired files without reading them can do without it.
        !candidate.has_image || self.plan.reads_documents()
    }

    /// Whether this phase runs `stage`.
    fn runs(&self, stage: &Stage<'_>) -> bool {
        match self.phase {
            Phase::Full => true,
            Phase::Check => stage.aborts(),
        }
    }

    /// The stages this phase runs, with their accumulators.
    fn running<'f>(
        &self,
        folds: &'f mut Folds<'p, 'r>,
    ) -> impl Iterator<Item = (&'f mut StageFold<'p, 'r>, &'f mut u128)> + use<'f, 'p, 'r, '_> {
        self.plan
            .stages
            .iter()
            .zip(folds.stages.iter_mut().zip(folds.nanos.iter_mut()))
            .filter(|(stage, _)| self.runs(stage))
            .map(|(_, fold)| fold)
    }

    /// Folds one file; `siblings`: another sidecar has its path without the last extension.
    fn process(&self, candidate: Candidate<'_>, siblings: bool, folds: &mut Folds<'p, 'r>) {
        let full = candidate.path();
        let path = full.as_path();
        if let Some(record) = self.records.and_then(|r| r.lookup(candidate, path)) {
            // Sidecars, as the reports' totals count them.
            if matches!(record, FileRecord::Read { .. } | FileRecord::Unreadable(_)) {
                folds.cached += 1;
            }
            let reached = self.replay(candidate, path, &record, folds);
            self.reached(path, reached, folds);
            return;
        }
        let keep = self.records.is_some();
        let limit = self.plan.max_file_size;
        let mut read_meta = None;
        let mut record = None;
        // Stages that need no document need no more of the file than its format's detection.
        let whole = self.needs_document(candidate);
        let mut body = |identified: Identified<'_>, bytes: &[u8], meta: &FileMeta, len: u64| {
            read_meta = Some(*meta);
            let codec = identified.codec;
            if !self.plan.formats.is_empty() && !self.plan.formats.iter().any(|f| f == codec.name())
            {
                record = Some(FileRecord::Filtered);
                return Ok(Reached::Filtered);
            }
            let mut state = FileState {
                path,
                has_image: candidate.has_image,
                candidate,
                bytes,
                meta: *meta,
                codec: codec.name(),
                format: codec.display_name(),
                len,
                recognized: recognized_by_content(&identified),
                warnings: mismatch_warning(path, &identified).into_iter().collect(),
                digest: None,
            };
            let failure = |error| DocumentError::Codec {
                format: codec.display_name().to_owned(),
                recognized: recognized_by_content(&identified),
                error,
            };
            if !self.needs_document(candidate) {
                let (reached, made) = self.stages(&mut state, None, folds, keep);
                record = made;
                return Ok(reached);
            }
            let mut reached = Reached::Done;
            codec
                .inspect(bytes, &mut |view, warnings| {
                    state.warnings.extend_from_slice(warnings);
                    if siblings && self.digests {
                        let mut values = Vec::new();
                        crate::canonical::encode(view, &mut values);
                        state.digest = Some(fsio::fingerprint(&values));
                    }
                    let (r, made) = self.stages(&mut state, Some(view), folds, keep);
                    reached = r;
                    record = made;
                })
                .map_err(failure)?;
            Ok(reached)
        };
        let outcome = if whole {
            with_identified(self.registry, path, limit, |identified, bytes, meta| {
                body(identified, bytes, meta, bytes.len() as u64)
            })
        } else {
            with_identified_head(self.registry, path, limit, |identified, head, meta| {
                body(identified, head, meta, meta.identity.size)
            })
        };
        let reached = match outcome {
            Ok(reached) => reached,
            Err(failure) => {
                let failure = FailureRecord::from(&failure);
                let reached = self.unreadable(candidate, &failure, folds);
                record = Some(FileRecord::Unreadable(failure));
                reached
            }
        };
        if let (Some(records), Some(meta), Some(record)) = (self.records, read_meta, record) {
            records.store(candidate, &meta, record);
        }
        self.reached(path, reached, folds);
    }

    /// Accounts for how far a file went.
    fn reached(&self, path: &Path, reached: Reached, folds: &mut Folds) {
        match reached {
            Reached::Done => {}
            Reached::Filtered => folds.filtered += 1,
            Reached::Aborted(reason) => {
                let file_path = display_path(path);
                let mut aborted = self.aborted.lock().unwrap_or_else(|e| e.into_inner());
                if aborted.as_ref().is_none_or(|a| a.file_path > file_path) {
                    *aborted = Some(Aborted { file_path, reason });
                }
            }
        }
    }

    /// What a stage's decision means for the file in this phase: in the full pass, which runs
    /// only after the check phase passed, a file that fails (it changed in between) is skipped.
    /// `None`: on to the next stage.
    fn after(&self, flow: Flow) -> Option<Reached> {
        match (flow, self.phase) {
            (Flow::Continue, _) => None,
            (Flow::SkipFile, _) | (Flow::Abort(_), Phase::Full) => Some(Reached::Done),
            (Flow::Abort(reason), Phase::Check) => Some(Reached::Aborted(reason)),
        }
    }

    /// Records a directory-level file with every stage that runs.
    fn directory_file(&self, path: &Path, folds: &mut Folds<'p, 'r>) {
        for (fold, _) in self.running(folds) {
            fold.directory_file(path);
        }
    }

    /// Folds a file from its record, without reading it.
    fn replay(
        &self,
        candidate: Candidate<'_>,
        path: &Path,
        record: &FileRecord,
        folds: &mut Folds<'p, 'r>,
    ) -> Reached {
        match record {
            FileRecord::Filtered => Reached::Filtered,
            FileRecord::Unreadable(failure) => self.unreadable(candidate, failure, folds),
            FileRecord::DirectoryFile => {
                self.directory_file(path, folds);
                Reached::Done
            }
            FileRecord::Read {
                format,
                len,
                recognized,
                digest,
                stages,
            } => {
                let file = RecordedFile {
                    path,
                    has_image: candidate.has_image,
                    format,
                    len: *len,
                    recognized: *recognized,
                    digest: *digest,
                };
                let context = self.context();
                for ((fold, _), stage_record) in self.running(folds).zip(stages) {
                    if let Some(reached) = self.after(fold.replay(stage_record, file, context)) {
                        return reached;
                    }
                }
                Reached::Done
            }
        }
    }

    /// Runs the stages on one readable file; with `keep`, also returns its record.
    fn stages<'s>(
        &self,
        state: &mut FileState<'s>,
        view: Option<View<'_>>,
        folds: &mut Folds<'p, 'r>,
        keep: bool,
    ) -> (Reached, Option<FileRecord>)
    where
        'r: 's,
    {
        if state.candidate.directory_file || view.is_some_and(discover::is_own_report) {
            self.directory_file(state.path, folds);
            return (Reached::Done, keep.then_some(FileRecord::DirectoryFile));
        }
        if !view.is_none_or(|document| self.plan.selects(document)) {
            return (Reached::Filtered, keep.then_some(FileRecord::Filtered));
        }
        // The file's record is made only if every stage that ran made one.
        let mut records = keep.then(Vec::new);
        let (format, len, recognized, digest) =
            (state.format, state.len, state.recognized, state.digest);
        let context = self.context();
        let mut reached = Reached::Done;
        for (fold, nanos) in self.running(folds) {
            let started = Instant::now();
            let (record, flow) = fold.apply(state, view, context);
            *nanos += started.elapsed().as_nanos();
            match (record, records.as_mut()) {
                (Some(record), Some(kept)) => kept.push(record),
                (Some(_), None) => {}
                (None, _) => records = None,
            }
            if let Some(end) = self.after(flow) {
                reached = end;
                break;
            }
        }
        let record = records.map(|stages| FileRecord::Read {
            format: format.to_owned(),
            len,
            recognized,
            digest,
            stages,
        });
        (reached, record)
    }

    /// Every stage records a file that could not be read, in its own terms.
    fn unreadable(
        &self,
        candidate: Candidate<'_>,
        failure: &FailureRecord,
        folds: &mut Folds<'p, 'r>,
    ) -> Reached {
        for (fold, _) in self.running(folds) {
            if let Some(reached) = self.after(fold.unreadable(candidate, failure)) {
                return reached;
            }
        }
        Reached::Done
    }
}

#[cfg(test)]
mod tests;
