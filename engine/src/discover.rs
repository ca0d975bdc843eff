//! Finding sidecars in a tree and pairing them with their images.
//!
//! The walk follows symlinks (loops are reported, not followed), visits every directory's files
//! before its subdirectories so that each directory is paired on its own, and yields paths in
//! byte order so every report is reproducible.
//!
//! A file is a sidecar candidate when a registered codec claims its extension, or, for a file
//! with an extension no codec or image format claims, when a codec recognises its content for
//! certain (magic bytes). Pairing is by exact stem: `IMG_0001.json` goes with `IMG_0001.JPG`
//! (image extensions compare case-insensitively), `20250920_112934.010.json` with
//! `20250920_112934.010.jpg`, and `IMG_0001.jpg.json` with `IMG_0001.jpg`.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::codec::Detection;
use crate::fsio;
use crate::registry::{Registry, DETECT_BYTES};

/// Extensions (lower case) of the image files sidecars describe.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "tif", "tiff", "heic", "heif", "webp", "gif", "bmp", "avif", "dng",
    "cr2", "cr3", "nef", "arw", "raf", "orf", "rw2", "pef", "srw",
];

/// A file that may be a sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    /// Whether an image with the same stem sits beside it.
    pub has_image: bool,
}

/// Something in the tree that could not be walked (a symlink loop, a dangling link, a
/// directory that cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Tree {
    /// Sidecar candidates, sorted by path.
    pub candidates: Vec<Candidate>,
    pub images: u64,
    pub images_without_sidecar: u64,
    /// Temporary files a killed conversion left behind.
    pub temporaries: Vec<PathBuf>,
    pub walk_errors: Vec<WalkError>,
}

/// Walks `root` (a directory or a single file), skipping the paths in `exclude` (the report
/// file of the run, say).
pub fn discover(root: &Path, registry: &Registry, exclude: &[PathBuf]) -> Tree {
    let mut tree = Tree::default();
    let excluded: HashSet<PathBuf> = exclude
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let mut batch = DirBatch::default();
    let single_file = root.is_file();
    let walk = WalkDir::new(root).follow_links(true).sort_by(|a, b| {
        let dir = |e: &walkdir::DirEntry| e.file_type().is_dir();
        dir(a)
            .cmp(&dir(b))
            .then_with(|| a.file_name().cmp(b.file_name()))
    });
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                tree.walk_errors.push(walk_error(root, error));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.into_path();
        if !excluded.is_empty() && std::fs::canonicalize(&path).is_ok_and(|p| excluded.contains(&p))
        {
            continue;
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if batch.dir.as_ref() != Some(&dir) {
            batch.flush(&mut tree);
            batch.dir = Some(dir);
        }
        let name = path.file_name().unwrap_or_default().to_owned();
        if fsio::is_temporary(&name) {
            tree.temporaries.push(path);
        } else if is_image(&path) {
            batch.images.push(name);
        } else if is_candidate(&path, registry) {
            batch.sidecars.push(path);
        }
    }
    if single_file {
        // Pair a lone file with its siblings without taking them as candidates.
        if let Some(dir) = batch.dir.clone() {
            if let Ok(entries) = std::fs::read_dir(&dir) {
                batch.images.extend(
                    entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| is_image(p))
                        .filter_map(|p| p.file_name().map(OsStr::to_owned)),
                );
            }
        }
        batch.flush(&mut tree);
        tree.images = 0;
        tree.images_without_sidecar = 0;
    } else {
        batch.flush(&mut tree);
    }
    tree.candidates.sort_by(|a, b| a.path.cmp(&b.path));
    tree.temporaries.sort();
    tree
}

/// The files of one directory, paired when the walk moves on.
#[derive(Default)]
struct DirBatch {
    dir: Option<PathBuf>,
    images: Vec<OsString>,
    sidecars: Vec<PathBuf>,
}

impl DirBatch {
    fn flush(&mut self, tree: &mut Tree) {
        let image_names: HashSet<&OsStr> = self.images.iter().map(OsString::as_os_str).collect();
        let image_stems: HashSet<&OsStr> = self
            .images
            .iter()
            .filter_map(|n| Path::new(n).file_stem())
            .collect();
        let sidecar_stems: HashSet<&OsStr> =
            self.sidecars.iter().filter_map(|p| p.file_stem()).collect();
        for path in &self.sidecars {
            let stem = path.file_stem().unwrap_or_default();
            tree.candidates.push(Candidate {
                path: path.clone(),
                has_image: image_stems.contains(stem) || image_names.contains(stem),
            });
        }
        tree.images += self.images.len() as u64;
        tree.images_without_sidecar += self
            .images
            .iter()
            .filter(|name| {
                let stem = Path::new(name).file_stem().unwrap_or_default();
                !sidecar_stems.contains(stem) && !sidecar_stems.contains(name.as_os_str())
            })
            .count() as u64;
        self.images.clear();
        self.sidecars.clear();
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(OsStr::to_str)
        .map(str::to_ascii_lowercase)
}

/// Whether the file is an image, by extension.
pub fn is_image(path: &Path) -> bool {
    extension(path).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

fn is_candidate(path: &Path, registry: &Registry) -> bool {
    match extension(path) {
        Some(e) if registry.knows_extension(&e) => true,
        _ => sniff(path, registry),
    }
}

/// Whether a codec recognises the file's first bytes for certain.
fn sniff(path: &Path, registry: &Registry) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut head = Vec::with_capacity(DETECT_BYTES);
    if file
        .take(DETECT_BYTES as u64)
        .read_to_end(&mut head)
        .is_err()
    {
        return false;
    }
    registry
        .codecs()
        .any(|c| c.detect(&head, len) == Detection::Certain)
}

fn walk_error(root: &Path, error: walkdir::Error) -> WalkError {
    let path = error.path().unwrap_or(root).to_path_buf();
    let message = if let Some(ancestor) = error.loop_ancestor() {
        format!("symlink loop back to {}", ancestor.display())
    } else if let Some(io) = error.io_error() {
        match io.kind() {
            std::io::ErrorKind::NotFound => "dangling symlink or vanished file".to_owned(),
            _ => io.to_string(),
        }
    } else {
        error.to_string()
    };
    WalkError { path, message }
}
