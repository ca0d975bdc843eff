//! `format-stats`: how many sidecars there are of each format, decided by content.

use std::collections::BTreeMap;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::codec::Detection;
use crate::discover::{Candidate, Tree};
use crate::ops::summary::Summary;
use crate::ops::{display_path, with_identified, Progress};
use crate::registry::Registry;

#[derive(Debug, Serialize)]
pub struct FormatStatsReport {
    pub total_files: u64,
    /// Files per format display name; every registered format appears, with 0 if absent.
    pub format_distribution: BTreeMap<String, u64>,
    pub bytes_by_format: BTreeMap<String, u64>,
    /// Candidates whose content no format recognises (listed by `validate`).
    pub unrecognized_files: u64,
    pub directory_files: Vec<String>,
    pub elapsed_seconds: f64,
}

#[derive(Default)]
struct Fold {
    files: BTreeMap<String, u64>,
    bytes: BTreeMap<String, u64>,
    unrecognized: u64,
    directory_files: Vec<String>,
}

impl Fold {
    fn merge(mut self, other: Fold) -> Fold {
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

    fn add(&mut self, candidate: &Candidate, registry: &Registry) {
        let outcome = with_identified(registry, &candidate.path, |identified, bytes| {
            if identified.by_content == Detection::No {
                return Ok(None);
            }
            let codec = identified.codec;
            let mut marked = candidate.has_image;
            if !marked {
                // Only an unpaired file needs its content to tell a sidecar from a result file.
                let _ = codec.inspect(bytes, &mut |view| {
                    marked = Summary::of(view).has_sidecar_marks;
                });
            }
            Ok(Some((
                codec.display_name().to_owned(),
                bytes.len() as u64,
                marked,
            )))
        });
        match outcome {
            Ok(Some((_, _, false))) => self.directory_files.push(display_path(&candidate.path)),
            Ok(Some((format, len, true))) => {
                *self.files.entry(format.clone()).or_default() += 1;
                *self.bytes.entry(format).or_default() += len;
            }
            Ok(None) | Err(_) => self.unrecognized += 1,
        }
    }
}

pub fn format_stats(
    tree: &Tree,
    registry: &Registry,
    progress: &dyn Progress,
) -> FormatStatsReport {
    let started = Instant::now();
    let mut fold = tree
        .candidates
        .par_iter()
        .fold(Fold::default, |mut fold, candidate| {
            fold.add(candidate, registry);
            progress.advance(1);
            fold
        })
        .reduce(Fold::default, Fold::merge);
    for codec in registry.codecs() {
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
        elapsed_seconds: started.elapsed().as_secs_f64(),
    }
}
