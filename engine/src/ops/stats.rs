//! The stats stage: what a collection holds. The engine counts what needs no domain knowledge
//! (sidecars and images, files and bytes per format, the sidecars and images that lack their
//! partner); every registered summary adds its own fields (see [`crate::summary`]), placed
//! after `unreadable_sidecars` in the report.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::discover::{Candidate, Tree};
use crate::ops::siblings::{Disagreement, Siblings};
use crate::ops::{
    display_path, FailureRecord, FileResult, FileState, Flow, PassContext, RecordedFile, StageKind,
};
use crate::registry::Registry;
use crate::summary::Counter;
use crate::value::View;

/// The stats stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsStage {
    /// List the sidecars without an image (`orphans`), not only count them.
    pub all_results: bool,
}

impl StatsReport {
    /// Whether a sidecar could not be read.
    pub fn has_findings(&self) -> bool {
        !self.errors.is_empty()
    }
}

#[derive(Debug)]
pub struct StatsReport {
    /// Per-image sidecars, readable or not (directory-level files excluded).
    pub total_sidecars: u64,
    pub total_images: u64,
    /// Sidecars that could not be read; listed in `errors` with anything the walk could not
    /// enter (symlink loops, unreadable directories).
    pub unreadable_sidecars: u64,
    /// The summaries' fields, in registry order.
    pub summaries: Vec<(String, Counter)>,
    /// Readable sidecars per format (display name).
    pub files_by_format: BTreeMap<String, u64>,
    pub bytes_by_format: BTreeMap<String, u64>,
    pub total_bytes: u64,
    pub sidecars_without_image: u64,
    /// With `all_results`: those sidecars, in path order.
    pub orphans: Option<Vec<String>>,
    pub images_without_sidecar: u64,
    /// Images more than one sidecar describes; the summaries count each of those sidecars.
    pub images_with_several_sidecars: u64,
    /// Sidecars whose values differ from those of a sidecar of the same name (`X.json` beside
    /// `X.bin`), in path order.
    pub disagreeing_sidecars: Vec<Disagreement>,
    /// Files `convert --prefer` set aside (not sidecars any more), in path order.
    pub superseded_files: Vec<String>,
    pub directory_files: Vec<String>,
    pub errors: Vec<FileResult>,
    /// Time spent in this stage, summed over workers.
    pub elapsed_seconds: f64,
}

impl Serialize for StatsReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("total_sidecars", &self.total_sidecars)?;
        map.serialize_entry("total_images", &self.total_images)?;
        map.serialize_entry("unreadable_sidecars", &self.unreadable_sidecars)?;
        for (name, counter) in &self.summaries {
            map.serialize_entry(name, counter)?;
        }
        map.serialize_entry("files_by_format", &self.files_by_format)?;
        map.serialize_entry("bytes_by_format", &self.bytes_by_format)?;
        map.serialize_entry("total_bytes", &self.total_bytes)?;
        map.serialize_entry("sidecars_without_image", &self.sidecars_without_image)?;
        if let Some(orphans) = &self.orphans {
            map.serialize_entry("orphans", orphans)?;
        }
        map.serialize_entry("images_without_sidecar", &self.images_without_sidecar)?;
        map.serialize_entry(
            "images_with_several_sidecars",
            &self.images_with_several_sidecars,
        )?;
        map.serialize_entry("disagreeing_sidecars", &self.disagreeing_sidecars)?;
        if !self.superseded_files.is_empty() {
            map.serialize_entry("superseded_files", &self.superseded_files)?;
        }
        map.serialize_entry("directory_files", &self.directory_files)?;
        map.serialize_entry("errors", &self.errors)?;
        map.serialize_entry("elapsed_seconds", &self.elapsed_seconds)?;
        map.end()
    }
}

/// What the summaries found in one document: per summary, one counter per field.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    #[serde(with = "counters")]
    pub counters: Vec<Vec<Counter>>,
}

impl Outcome {
    fn of(document: View<'_>, registry: &Registry) -> Outcome {
        let mut counters = fresh_counters(registry);
        for (entry, counters) in registry.summary_entries().iter().zip(&mut counters) {
            entry.summary.add(document, counters);
        }
        Outcome { counters }
    }
}

#[derive(Default)]
pub struct Fold {
    sidecars: u64,
    /// Per summary, one counter per field; empty until the first document.
    counters: Vec<Vec<Counter>>,
    files_by_format: BTreeMap<String, u64>,
    bytes_by_format: BTreeMap<String, u64>,
    without_image: u64,
    orphans: Vec<String>,
    siblings: Siblings,
    disagreeing: Vec<Disagreement>,
    directory_files: Vec<String>,
    errors: Vec<FileResult>,
}

fn fresh_counters(registry: &Registry) -> Vec<Vec<Counter>> {
    registry
        .summary_entries()
        .iter()
        .map(|e| e.fields.iter().map(|f| Counter::new(f.kind)).collect())
        .collect()
}

impl StatsStage {
    /// Counts a sidecar, read or not, and whether it has its image.
    fn count_sidecar(&self, fold: &mut Fold, path: &std::path::Path, has_image: bool) {
        fold.sidecars += 1;
        fold.without_image += u64::from(!has_image);
        if self.all_results && !has_image {
            fold.orphans.push(display_path(path));
        }
    }
}

impl<'r> StageKind<'r> for StatsStage {
    type Fold = Fold;
    type Record = Outcome;
    type Report = StatsReport;

    fn fingerprint(&self) -> String {
        "stats\n".to_owned()
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
        let document = document.expect("statistics read the document");
        let outcome = Outcome::of(document, context.registry);
        let flow = self.replay(fold, &outcome, RecordedFile::of(file), context);
        (Some(outcome), flow)
    }

    /// Folds one readable sidecar: its format and size, and what the summaries found in it.
    fn replay(
        &self,
        fold: &mut Fold,
        outcome: &Outcome,
        file: RecordedFile<'_>,
        context: PassContext<'_>,
    ) -> Flow {
        self.count_sidecar(fold, file.path, file.has_image);
        if let Some(disagreement) = fold.siblings.differs(file.path, file.digest) {
            fold.disagreeing.push(disagreement);
        }
        if fold.counters.is_empty() {
            fold.counters = fresh_counters(context.registry);
        }
        for (mine, found) in fold.counters.iter_mut().zip(&outcome.counters) {
            for (counter, delta) in mine.iter_mut().zip(found) {
                counter.merge_from(delta);
            }
        }
        count(&mut fold.files_by_format, file.format, 1);
        count(&mut fold.bytes_by_format, file.format, file.len);
        Flow::Continue
    }

    fn directory_file(&self, fold: &mut Fold, path: &std::path::Path) {
        fold.directory_files.push(display_path(path));
    }

    fn unreadable(
        &self,
        fold: &mut Fold,
        candidate: Candidate<'_>,
        failure: &FailureRecord,
    ) -> Flow {
        let path = candidate.path();
        self.count_sidecar(fold, &path, candidate.has_image);
        fold.errors.push(FileResult::unreadable(&path, failure));
        Flow::Continue
    }

    fn merge(mut mine: Fold, theirs: Fold) -> Fold {
        mine.sidecars += theirs.sidecars;
        if mine.counters.is_empty() {
            mine.counters = theirs.counters;
        } else {
            for (mine, theirs) in mine.counters.iter_mut().zip(theirs.counters) {
                for (a, b) in mine.iter_mut().zip(theirs) {
                    a.merge(b);
                }
            }
        }
        for (k, n) in theirs.files_by_format {
            *mine.files_by_format.entry(k).or_default() += n;
        }
        for (k, n) in theirs.bytes_by_format {
            *mine.bytes_by_format.entry(k).or_default() += n;
        }
        mine.without_image += theirs.without_image;
        mine.orphans.extend(theirs.orphans);
        mine.disagreeing.extend(theirs.disagreeing);
        mine.directory_files.extend(theirs.directory_files);
        mine.errors.extend(theirs.errors);
        mine
    }

    fn finish(
        &self,
        mut fold: Fold,
        tree: &Tree,
        context: PassContext<'_>,
        elapsed_seconds: f64,
    ) -> StatsReport {
        let registry = context.registry;
        let unreadable = fold.errors.len() as u64;
        fold.errors
            .extend(tree.walk_errors.iter().map(FileResult::from_walk_error));
        fold.errors.sort_by(|a, b| a.file_path.cmp(&b.file_path));
        fold.directory_files.sort();
        fold.orphans.sort();
        fold.disagreeing
            .sort_by(|a, b| a.file_path.cmp(&b.file_path));
        if fold.counters.is_empty() {
            fold.counters = fresh_counters(registry);
        }
        let summaries = registry
            .summary_entries()
            .iter()
            .zip(fold.counters)
            .flat_map(|(entry, counters)| {
                entry
                    .fields
                    .iter()
                    .map(|f| f.name.clone())
                    .zip(counters)
                    .collect::<Vec<_>>()
            })
            .collect();
        StatsReport {
            total_sidecars: fold.sidecars,
            total_images: tree.images,
            unreadable_sidecars: unreadable,
            summaries,
            total_bytes: fold.bytes_by_format.values().sum(),
            files_by_format: fold.files_by_format,
            bytes_by_format: fold.bytes_by_format,
            sidecars_without_image: fold.without_image,
            orphans: self.all_results.then_some(fold.orphans),
            images_without_sidecar: tree.images_without_sidecar,
            images_with_several_sidecars: tree.images_with_several_sidecars,
            disagreeing_sidecars: fold.disagreeing,
            superseded_files: tree.superseded.iter().map(|p| display_path(p)).collect(),
            directory_files: fold.directory_files,
            errors: fold.errors,
            elapsed_seconds,
        }
    }
}

/// Adds `n` under `key`, allocating the key only the first time.
pub(crate) fn count(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    match map.get_mut(key) {
        Some(total) => *total += n,
        None => {
            map.insert(key.to_owned(), n);
        }
    }
}

/// Counters as the cache stores them: tagged, where a report writes them bare (a number or a
/// map), which a format without types on disk could not read back.
pub(crate) mod counters {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::summary::Counter;

    #[derive(Serialize, Deserialize)]
    enum Tagged<T> {
        Total(u64),
        Tally(T),
    }

    pub fn serialize<S: Serializer>(counters: &[Vec<Counter>], s: S) -> Result<S::Ok, S::Error> {
        let tagged: Vec<Vec<Tagged<_>>> = counters
            .iter()
            .map(|summary| {
                summary
                    .iter()
                    .map(|c| match c {
                        Counter::Total(n) => Tagged::Total(*n),
                        Counter::Tally(map) => Tagged::Tally(map),
                    })
                    .collect()
            })
            .collect();
        tagged.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<Counter>>, D::Error> {
        let tagged = Vec::<Vec<Tagged<_>>>::deserialize(d)?;
        Ok(tagged
            .into_iter()
            .map(|summary| {
                summary
                    .into_iter()
                    .map(|c| match c {
                        Tagged::Total(n) => Counter::Total(n),
                        Tagged::Tally(map) => Counter::Tally(map),
                    })
                    .collect()
            })
            .collect())
    }
}
