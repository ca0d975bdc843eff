//! The format-stats stage: how many sidecars there are of each format, decided by content. A
//! file whose content names its format but does not decode (a truncated Binary file) still
//! counts under that format; `validate` says what is wrong with it.
//!
//! A sidecar paired with an image is read only as far as its format's detection needs (the
//! first bytes; its size comes from its metadata), unless the stage is `deep`: then every file
//! is decoded, and those whose content named a format that does not decode are counted.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::discover::{Candidate, Tree};
use crate::ops::stats::count;
use crate::ops::{
    display_path, FailureRecord, FileState, Flow, PassContext, RecordedFile, StageKind,
};
use crate::value::View;

/// The format-stats stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormatStatsStage {
    /// Decode every file, not only detect its format from its first bytes.
    pub deep: bool,
}

impl FormatStatsReport {
    /// Whether a file was in no known format, or (`deep`) did not decode.
    pub fn has_findings(&self) -> bool {
        self.unrecognized_files > 0 || self.undecodable_files.is_some_and(|n| n > 0)
    }
}

#[derive(Debug, Serialize)]
pub struct FormatStatsReport {
    pub total_files: u64,
    /// Files per format display name; every registered format appears, with 0 if absent.
    pub format_distribution: BTreeMap<String, u64>,
    /// Bytes per format (with `deep`, of the files that decode).
    pub bytes_by_format: BTreeMap<String, u64>,
    /// Candidates whose content no format recognises (listed by `validate`), and files named
    /// like an image's sidecar that no loaded format claims.
    pub unrecognized_files: u64,
    /// With `deep`: files whose content named a format that does not decode (counted under
    /// that format too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecodable_files: Option<u64>,
    pub directory_files: Vec<String>,
    /// Time spent in this stage, summed over workers.
    pub elapsed_seconds: f64,
}

#[derive(Default)]
pub struct Fold {
    files: BTreeMap<String, u64>,
    bytes: BTreeMap<String, u64>,
    unrecognized: u64,
    undecodable: u64,
    directory_files: Vec<String>,
}

impl<'r> StageKind<'r> for FormatStatsStage {
    type Fold = Fold;
    /// Everything it keeps of a file is what every record holds (format, size, recognised).
    type Record = ();
    type Report = FormatStatsReport;

    fn fingerprint(&self) -> String {
        if self.deep {
            "format-stats deep\n".to_owned()
        } else {
            "format-stats\n".to_owned()
        }
    }

    /// A file's format is decided by its content before any stage runs; only `deep` decodes.
    fn needs_document(&self) -> bool {
        self.deep
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
            (Some(format), true) => {
                count(&mut fold.files, format, 1);
                fold.undecodable += 1;
            }
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
        mine.undecodable += theirs.undecodable;
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
            undecodable_files: self.deep.then_some(fold.undecodable),
            directory_files: fold.directory_files,
            elapsed_seconds,
        }
    }
}
