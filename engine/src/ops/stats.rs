//! The stats stage: what a collection holds: sidecars and images, operations, faces and
//! objects, files and bytes per format, and the sidecars and images that lack their partner.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::discover::{Candidate, Tree};
use crate::ops::summary::Summary;
use crate::ops::{FileResult, FileState, ReadFailure};

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
    /// Time spent in this stage, summed over workers.
    pub elapsed_seconds: f64,
}

#[derive(Default)]
pub struct Fold {
    sidecars: u64,
    operations: BTreeMap<String, u64>,
    faces: u64,
    objects: u64,
    files_by_format: BTreeMap<String, u64>,
    bytes_by_format: BTreeMap<String, u64>,
    without_image: u64,
    pub(crate) directory_files: Vec<String>,
    errors: Vec<FileResult>,
}

impl Fold {
    pub(crate) fn merge(mut self, other: Fold) -> Fold {
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

    pub(crate) fn add(&mut self, file: &FileState<'_>, summary: &Summary<'_>) {
        self.sidecars += 1;
        self.without_image += u64::from(!file.has_image);
        for operation in &summary.operations {
            count(&mut self.operations, operation, 1);
        }
        self.faces += summary.faces;
        self.objects += summary.objects;
        count(&mut self.files_by_format, file.format, 1);
        count(&mut self.bytes_by_format, file.format, file.len);
    }

    pub(crate) fn unreadable(&mut self, candidate: Candidate<'_>, failure: &ReadFailure) {
        self.sidecars += 1;
        self.without_image += u64::from(!candidate.has_image);
        self.errors
            .push(FileResult::unreadable(&candidate.path(), failure));
    }

    pub(crate) fn finish(mut self, tree: &Tree, elapsed_seconds: f64) -> StatsReport {
        let unreadable = self.errors.len() as u64;
        self.errors
            .extend(tree.walk_errors.iter().map(FileResult::from_walk_error));
        self.errors.sort_by(|a, b| a.file_path.cmp(&b.file_path));
        self.directory_files.sort();
        StatsReport {
            total_sidecars: self.sidecars,
            total_images: tree.images,
            unreadable_sidecars: unreadable,
            operation_counts: self.operations,
            total_faces: self.faces,
            total_objects: self.objects,
            total_bytes: self.bytes_by_format.values().sum(),
            files_by_format: self.files_by_format,
            bytes_by_format: self.bytes_by_format,
            sidecars_without_image: self.without_image,
            images_without_sidecar: tree.images_without_sidecar,
            directory_files: self.directory_files,
            errors: self.errors,
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
