//! The format-stats stage: how many sidecars there are of each format, decided by content. A
//! file whose content names its format but does not decode (a truncated Binary file) still
//! counts under that format; `validate` says what is wrong with it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::discover::{Candidate, Tree};
use crate::ops::stats::count;
use crate::ops::{
    display_path, FailureRecord, FileState, Flow, PassContext, RecordedFile, StageKind,
};
use crate::value::View;

/// The format-stats stage; it has no settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormatStatsStage;

impl FormatStatsReport {
    /// Whether a file was in no known format.
    pub fn has_findings(&self) -> bool {
        self.unrecognized_files > 0
    }
}

#[derive(Debug, Serialize)]
pub struct FormatStatsReport {
    pub total_files: u64,
    /// Files per format display name; every registered format appears, with 0 if absent.
    pub format_distribution: BTreeMap<String, u64>,
    pub bytes_by_format: BTreeMap<String, u64>,
    /// Candidates whose content no format recognises (listed by `validate`), and files named
    /// like an image's sidecar that no loaded format claims.
    pub unrecognized_files: u64,
    pub directory_files: Vec<String>,
    /// Time spent in this stage, summed over workers.
    pub elapsed_seconds: f64,
}

#[derive(Default)]
pub struct Fold {
    files: BTreeMap<String, u64>,
    bytes: BTreeMap<String, u64>,
    unrecognized: u64,
    directory_files: Vec<String>,
}

impl<'r> StageKind<'r> for FormatStatsStage {
    type Fold = Fold;
    /// Everything it keeps of a file is what every record holds (format, size, recognised).
    type Record = ();
    type Report = FormatStatsReport;

    fn fingerprint(&self) -> String {
        "format-stats\n".to_owned()
    }

    /// A file's format is decided by its content before any stage runs.
    fn needs_document(&self) -> bool {
        false
    }

    fn apply<'f>(
        &self,
        fold: &mut Fold,
        file: &mut FileState<'f>,
        _: Option<View<'_>>,
        context: PassContext<'_>,
    ) -> (Option<()>, Flow)
    where
        'r: 'f,
    {
        (
            Some(()),
            self.replay(fold, &(), RecordedFile::of(file), context),
        )
    }

    /// Folds one readable file: its format when its content named one.
    fn replay(&self, fold: &mut Fold, _: &(), file: RecordedFile<'_>, _: PassContext<'_>) -> Flow {
        if file.recognized {
            count(&mut fold.files, file.format, 1);
            count(&mut fold.bytes, file.format, file.len);
        } else {
            fold.unrecognized += 1;
        }
        Flow::Continue
    }

    fn directory_file(&self, fold: &mut Fold, path: &std::path::Path) {
        fold.directory_files.push(display_path(path));
    }

    /// A file whose content named its format counts under it even when it does not decode.
    fn unreadable(&self, fold: &mut Fold, _: Candidate<'_>, failure: &FailureRecord) -> Flow {
        match (&failure.format, failure.recognized) {
            (Some(format), true) => count(&mut fold.files, format, 1),
            _ => fold.unrecognized += 1,
        }
        Flow::Continue
    }

    fn merge(mut mine: Fold, theirs: Fold) -> Fold {
        for (k, n) in theirs.files {
            *mine.files.entry(k).or_default() += n;
        }
        for (k, n) in theirs.bytes {
            *mine.bytes.entry(k).or_default() += n;
        }
        mine.unrecognized += theirs.unrecognized;
        mine.directory_files.extend(theirs.directory_files);
        mine
    }

    fn finish(
        &self,
        mut fold: Fold,
        tree: &Tree,
        context: PassContext<'_>,
        elapsed_seconds: f64,
    ) -> FormatStatsReport {
        fold.unrecognized += tree.unrecognized.len() as u64;
        for codec in context.registry.codecs() {
            fold.files
                .entry(codec.display_name().to_owned())
                .or_default();
            fold.bytes
                .entry(codec.display_name().to_owned())
                .or_default();
        }
        fold.directory_files.sort();
        FormatStatsReport {
            total_files: fold.files.values().sum::<u64>() + fold.unrecognized,
            format_distribution: fold.files,
            bytes_by_format: fold.bytes,
            unrecognized_files: fold.unrecognized,
            directory_files: fold.directory_files,
            elapsed_seconds,
        }
    }
}
