//! `list`: the scripting view of what `stats` counts. One JSON line per photo, with each of its
//! sidecars (format by content, size, the operations it holds); one line per sidecar whose
//! photo is gone (`"image": null`). Photos without a sidecar are listed too, with none.
//!
//! It runs as the walk goes, a directory at a time (the walk hands each directory's images and
//! candidates over together), so memory stays flat; a directory's lines are written as one
//! block, in name order; directories follow the walk's workers.
//!
//! A sidecar's operations are the names `--operation-type` selects by: the string in
//! `sidecar_info.operation_type`, and every other top-level key whose value is an object
//! (an XMP property, `prefix:Name`, is not an operation).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde::Serialize;
use sidecar_model::json_text;

use crate::discover::{pairs, Candidate, Directory};
use crate::ops::export::Sink;
use crate::ops::{display_path, with_identified, DocumentError};
use crate::registry::Registry;
use crate::value::View;

/// What was found of one sidecar.
struct Sidecar {
    name: Vec<u8>,
    path: String,
    format: Option<String>,
    size: u64,
    operations: Vec<String>,
    error: Option<String>,
    /// Whether `--operation-type` keeps it.
    selected: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct ListReport {
    pub photos: u64,
    pub photos_without_sidecar: u64,
    pub sidecars: u64,
    pub orphan_sidecars: u64,
    /// Sidecars that could not be read (listed with their `error`).
    pub unreadable_sidecars: u64,
    /// Sidecars left out by `--operation-type`, and photos left out because all of theirs were.
    pub filtered_sidecars: u64,
    pub filtered_photos: u64,
    pub directory_files: Vec<String>,
    /// What the walk could not enter or read, as `path: why`.
    pub walk_errors: Vec<String>,
    pub elapsed_seconds: f64,
}

/// Lists directories as the walk hands them over.
pub struct Lister<'a> {
    registry: &'a Registry,
    operations: &'a [String],
    max_file_size: u64,
    sink: Arc<Sink>,
    report: Mutex<ListReport>,
}

impl<'a> Lister<'a> {
    /// `operations`: keep only sidecars holding one of them (all when empty).
    pub fn new(
        registry: &'a Registry,
        operations: &'a [String],
        max_file_size: u64,
        sink: Arc<Sink>,
    ) -> Lister<'a> {
        Lister {
            registry,
            operations,
            max_file_size,
            sink,
            report: Mutex::new(ListReport::default()),
        }
    }

    fn sidecar(&self, candidate: Candidate<'_>) -> Sidecar {
        let path = candidate.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .as_encoded_bytes()
            .to_vec();
        let read = with_identified(
            self.registry,
            &path,
            self.max_file_size,
            |identified, bytes, _| {
                let mut operations = Vec::new();
                identified
                    .codec
                    .inspect(bytes, &mut |document, _| {
                        operations = operations_of(document)
                    })
                    .map_err(|error| DocumentError::Codec {
                        format: identified.codec.display_name().to_owned(),
                        recognized: true,
                        error,
                    })?;
                Ok((
                    identified.codec.name().to_owned(),
                    bytes.len() as u64,
                    operations,
                ))
            },
        );
        let size = || std::fs::metadata(&path).map_or(0, |m| m.len());
        let (format, size, operations, error) = match read {
            Ok((format, size, operations)) => (Some(format), size, operations, None),
            Err(error) => (None, size(), Vec::new(), Some(error.to_string())),
        };
        let selected = self.operations.is_empty()
            || error.is_some()
            || self.operations.iter().any(|op| operations.contains(op));
        Sidecar {
            name,
            path: display_path(&path),
            format,
            size,
            operations,
            error,
            selected,
        }
    }

    /// Lists one directory: its photos, then its orphans.
    pub fn visit(&self, directory: Directory<'_>) {
        let mut directory_files = Vec::new();
        let sidecars: Vec<Sidecar> = directory
            .candidates
            .par_iter()
            .filter_map(|c| (!c.directory_file).then(|| self.sidecar(*c)))
            .collect();
        for candidate in directory.candidates.iter().filter(|c| c.directory_file) {
            directory_files.push(display_path(&candidate.path()));
        }
        let mut counts = ListReport::default();
        let mut out = Vec::new();
        let mut paired = vec![false; sidecars.len()];
        for image in directory.images {
            let mut mine = Vec::new();
            for (i, sidecar) in sidecars.iter().enumerate() {
                if pairs(&sidecar.name, image.as_encoded_bytes()) {
                    paired[i] = true;
                    mine.push(sidecar);
                }
            }
            let kept: Vec<&Sidecar> = mine.iter().copied().filter(|s| s.selected).collect();
            if !self.operations.is_empty() && kept.is_empty() {
                counts.filtered_photos += 1;
                continue;
            }
            counts.photos += 1;
            counts.photos_without_sidecar += u64::from(mine.is_empty());
            line(&mut out, Some(&directory.path.join(image)), &kept);
        }
        for (sidecar, _) in sidecars.iter().zip(&paired).filter(|(_, paired)| !**paired) {
            if sidecar.selected {
                counts.orphan_sidecars += 1;
                line(&mut out, None, &[sidecar]);
            }
        }
        for sidecar in &sidecars {
            counts.sidecars += u64::from(sidecar.selected);
            counts.filtered_sidecars += u64::from(!sidecar.selected);
            counts.unreadable_sidecars += u64::from(sidecar.error.is_some());
        }
        self.sink.put(&out);
        let mut report = self.report.lock().unwrap_or_else(|e| e.into_inner());
        report.photos += counts.photos;
        report.photos_without_sidecar += counts.photos_without_sidecar;
        report.sidecars += counts.sidecars;
        report.orphan_sidecars += counts.orphan_sidecars;
        report.unreadable_sidecars += counts.unreadable_sidecars;
        report.filtered_sidecars += counts.filtered_sidecars;
        report.filtered_photos += counts.filtered_photos;
        report.directory_files.extend(directory_files);
    }

    /// The counts over every directory visited, and what the walk of `tree` could not read.
    pub fn finish(self, tree: &crate::discover::Tree, elapsed_seconds: f64) -> ListReport {
        let mut report = self.report.into_inner().unwrap_or_else(|e| e.into_inner());
        report.directory_files.sort();
        report.walk_errors = tree
            .walk_errors
            .iter()
            .map(|e| format!("{}: {}", display_path(&e.path), e.message))
            .collect();
        report.elapsed_seconds = elapsed_seconds;
        report
    }
}

/// The operations a document holds (see the module's documentation).
fn operations_of(document: View<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(named) = document
        .get("sidecar_info")
        .and_then(|info| info.get("operation_type"))
        .and_then(View::as_str)
    {
        out.push(named.to_owned());
    }
    if let Some(map) = document.as_object() {
        for (key, value) in map.iter() {
            let section = key != "sidecar_info"
                && !key.starts_with('@')
                && !key.contains(':')
                && value.as_object().is_some();
            if section && !out.iter().any(|o| o == key) {
                out.push(key.to_owned());
            }
        }
    }
    out
}

/// One photo's line (or an orphan's, with no image).
fn line(out: &mut Vec<u8>, image: Option<&Path>, sidecars: &[&Sidecar]) {
    out.extend_from_slice(b"{\"image\":");
    match image {
        Some(image) => json_text::write_string(&display_path(image), out),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"sidecars\":[");
    for (i, sidecar) in sidecars.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"path\":");
        json_text::write_string(&sidecar.path, out);
        out.extend_from_slice(b",\"format\":");
        match &sidecar.format {
            Some(format) => json_text::write_string(format, out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(format!(",\"size\":{},\"operations\":[", sidecar.size).as_bytes());
        for (j, op) in sidecar.operations.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            json_text::write_string(op, out);
        }
        out.push(b']');
        if let Some(error) = &sidecar.error {
            out.extend_from_slice(b",\"error\":");
            json_text::write_string(error, out);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}\n");
}
