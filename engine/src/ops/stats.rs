//! `stats`: what a collection holds: sidecars and images, operations, faces and objects,
//! files and bytes per format, and the sidecars and images that lack their partner.

use std::collections::BTreeMap;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::discover::{Candidate, Tree};
use crate::ops::summary::Summary;
use crate::ops::{display_path, with_identified, FileResult, Progress, ReadFailure};
use crate::registry::Registry;

#[derive(Debug, Serialize)]
pub struct StatsReport {
    /// Per-image sidecars, readable or not (directory-level files excluded).
    pub total_sidecars: u64,
    pub total_images: u64,
    /// Sidecars that could not be read; listed in `errors` with anything the walk could not
    /// enter (symlink loops, unreadable directories).
    pub unreadable_sidecars: u64,
    /// Sidecars in which each operation appears (a sidecar counts once per operation).
    pub operation_counts: BTreeMap<String, u64>,
    pub total_faces: u64,
    pub total_objects: u64,
    /// Readable sidecars per format (display name).
    pub files_by_format: BTreeMap<String, u64>,
    pub bytes_by_format: BTreeMap<String, u64>,
    pub total_bytes: u64,
    pub sidecars_without_image: u64,
    pub images_without_sidecar: u64,
    pub directory_files: Vec<String>,
    pub errors: Vec<FileResult>,
    pub elapsed_seconds: f64,
}

#[derive(Default)]
struct Fold {
    sidecars: u64,
    operations: BTreeMap<String, u64>,
    faces: u64,
    objects: u64,
    files_by_format: BTreeMap<String, u64>,
    bytes_by_format: BTreeMap<String, u64>,
    without_image: u64,
    directory_files: Vec<String>,
    errors: Vec<FileResult>,
}

impl Fold {
    fn merge(mut self, other: Fold) -> Fold {
        self.sidecars += other.sidecars;
        for (k, n) in other.operations {
            *self.operations.entry(k).or_default() += n;
        }
        self.faces += other.faces;
        self.objects += other.objects;
        for (k, n) in other.files_by_format {
            *self.files_by_format.entry(k).or_default() += n;
        }
        for (k, n) in other.bytes_by_format {
            *self.bytes_by_format.entry(k).or_default() += n;
        }
        self.without_image += other.without_image;
        self.directory_files.extend(other.directory_files);
        self.errors.extend(other.errors);
        self
    }

    fn add(&mut self, candidate: &Candidate, registry: &Registry) {
        let path = &candidate.path;
        let outcome = with_identified(registry, path, |identified, bytes| {
            let codec = identified.codec;
            let mut summary = Summary::default();
            codec
                .inspect(bytes, &mut |view| summary = Summary::of(view))
                .map_err(|error| ReadFailure::Codec {
                    format: codec.display_name().to_owned(),
                    error,
                })?;
            Ok((codec.display_name().to_owned(), bytes.len() as u64, summary))
        });
        match outcome {
            Ok((_, _, summary)) if !candidate.has_image && !summary.has_sidecar_marks => {
                self.directory_files.push(display_path(path));
            }
            Ok((format, len, summary)) => {
                self.sidecars += 1;
                self.without_image += u64::from(!candidate.has_image);
                for operation in summary.operations {
                    *self.operations.entry(operation).or_default() += 1;
                }
                self.faces += summary.faces;
                self.objects += summary.objects;
                *self.files_by_format.entry(format.clone()).or_default() += 1;
                *self.bytes_by_format.entry(format).or_default() += len;
            }
            Err(failure) => {
                self.sidecars += 1;
                self.without_image += u64::from(!candidate.has_image);
                self.errors.push(FileResult {
                    file_path: display_path(path),
                    is_valid: false,
                    format: failure.format(),
                    error: Some(failure.to_string()),
                    warnings: Vec::new(),
                });
            }
        }
    }
}

pub fn stats(tree: &Tree, registry: &Registry, progress: &dyn Progress) -> StatsReport {
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
    let unreadable = fold.errors.len() as u64;
    fold.errors
        .extend(tree.walk_errors.iter().map(FileResult::from_walk_error));
    fold.errors.sort_by(|a, b| a.file_path.cmp(&b.file_path));
    fold.directory_files.sort();
    StatsReport {
        total_sidecars: fold.sidecars,
        total_images: tree.images,
        unreadable_sidecars: unreadable,
        operation_counts: fold.operations,
        total_faces: fold.faces,
        total_objects: fold.objects,
        total_bytes: fold.bytes_by_format.values().sum(),
        files_by_format: fold.files_by_format,
        bytes_by_format: fold.bytes_by_format,
        sidecars_without_image: fold.without_image,
        images_without_sidecar: tree.images_without_sidecar,
        directory_files: fold.directory_files,
        errors: fold.errors,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    }
}
