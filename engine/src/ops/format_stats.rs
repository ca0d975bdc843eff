//! The format-stats stage: how many sidecars there are of each format, decided by content. A
//! file whose content names its format but does not decode (a truncated Binary file) still
//! counts under that format; `validate` says what is wrong with it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ops::stats::count;
use crate::ops::FailureRecord;
use crate::registry::Registry;

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
    pub(crate) directory_files: Vec<String>,
}

impl Fold {
    pub(crate) fn merge(mut self, other: Fold) -> Fold {
        for (k, n) in other.files {
            *self.files.entry(k).or_default() += n;
        }
        for (k, n) in other.bytes {
            *self.bytes.entry(k).or_default() += n;
        }
        self.unrecognized += other.unrecognized;
        self.directory_files.extend(other.directory_files);
        self
    }

    /// Folds one readable file: its format when its content named one.
    pub(crate) fn record(&mut self, recognized: bool, format: &str, len: u64) {
        if recognized {
            count(&mut self.files, format, 1);
            count(&mut self.bytes, format, len);
        } else {
            self.unrecognized += 1;
        }
    }

    pub(crate) fn unreadable(&mut self, failure: &FailureRecord) {
        match (&failure.format, failure.recognized) {
            (Some(format), true) => count(&mut self.files, format, 1),
            _ => self.unrecognized += 1,
        }
    }

    pub(crate) fn finish(
        mut self,
        tree: &crate::discover::Tree,
        registry: &Registry,
        elapsed_seconds: f64,
    ) -> FormatStatsReport {
        self.unrecognized += tree.unrecognized.len() as u64;
        for codec in registry.codecs() {
            self.files
                .entry(codec.display_name().to_owned())
                .or_default();
            self.bytes
                .entry(codec.display_name().to_owned())
                .or_default();
        }
        self.directory_files.sort();
        FormatStatsReport {
            total_files: self.files.values().sum::<u64>() + self.unrecognized,
            format_distribution: self.files,
            bytes_by_format: self.bytes,
            unrecognized_files: self.unrecognized,
            directory_files: self.directory_files,
            elapsed_seconds,
        }
    }
}
