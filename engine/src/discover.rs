//! Finding sidecars in a tree and pairing them with their images.
//!
//! The walk follows symlinks (loops are reported, not followed) and reads directories in
//! parallel on the current pool; each directory's files are paired together, on their own,
//! and the tree's paths are sorted, so every report is reproducible whatever the order of the
//! reads.
//!
//! A file is a sidecar candidate when a registered codec claims its extension (the longest
//! declared one, multi-part extensions such as `jpg.xmp` included), or, for a file with an
//! extension no codec or image rule claims, when a codec recognises its content for certain
//! (magic bytes). Pairing is by exact stem, under both conventions: `IMG_0001.json` goes with
//! `IMG_0001.JPG` (image extensions compare case-insensitively), `20250920_112934.010.json`
//! with `20250920_112934.010.jpg`, and `IMG_0001.CR3.json` with `IMG_0001.CR3`. What an image
//! is, and which files are directory-level results, are [`Rules`].

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::codec::Detection;
use crate::fsio;
use crate::registry::{Registry, DETECT_BYTES};

/// Extensions of the files sidecars describe, by default: what cameras and phones write
/// (JPEG, the common RAW formats, HEIF/AVIF/JXL, other stills, and video). Compared
/// case-insensitively.
pub const DEFAULT_IMAGE_EXTENSIONS: &[&str] = &[
    // JPEG and other stills
    "jpg", "jpeg", "jpe", "png", "tif", "tiff", "gif", "bmp", "webp", "heic", "heif", "hif", "avif",
    "jxl", // RAW
    "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "raf", "orf", "rw2", "rwl",
    "pef", "srw", "x3f", "3fr", "fff", "iiq", "erf", "mef", "mos", "mrw", "kdc", "dcr", "raw",
    // video
    "mp4", "mov", "m4v", "avi", "mts", "m2ts", "3gp", "mkv",
];

/// Directory-level result files, by default: name globs (matched against a file's name, or,
/// for a glob with a `/`, its path below the input). This tool's own reports are known by the
/// `generator` marker they carry, whatever their name.
pub const DEFAULT_DIRECTORY_FILES: &[&str] = &["game_detection.json"];

/// The key this tool writes at the top of every report, and what its value starts with.
pub const REPORT_MARKER: (&str, &str) = ("generator", "image-sidecar-rust");

/// Whether a document is a report this tool wrote.
pub fn is_own_report(document: crate::value::View<'_>) -> bool {
    document
        .get(REPORT_MARKER.0)
        .and_then(crate::value::View::as_str)
        .is_some_and(|g| g.starts_with(REPORT_MARKER.1))
}

/// One part of a tree split N ways for N machines: a deterministic partition by the path
/// below the input, stable across machines and runs, keeping together what pairing and
/// conversion look at together.
///
/// The unit of the partition is a directory and a base name: a file's name up to its first
/// `.`, less a darktable version suffix (`_01`), so that `IMG_0001.CR3`, `IMG_0001.json`,
/// `IMG_0001.CR3.xmp`, `IMG_0001_01.CR3.xmp` and the conversion targets of each go to one
/// shard. Units are hashed (XXH3-64 of the directory's bytes, a `/` and the base name), so a
/// directory far larger than the others is spread over every shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Whether the unit of `name` in `dir` (both below the input) belongs to this shard.
    pub fn owns(&self, dir: &[u8], name: &[u8]) -> bool {
        if self.count <= 1 {
            return true;
        }
        let mut key = Vec::with_capacity(dir.len() + 1 + name.len());
        key.extend_from_slice(dir);
        key.push(b'/');
        key.extend_from_slice(unit(name));
        xxhash_rust::xxh3::xxh3_64(&key) % self.count == self.index
    }

    /// Whether the unit of `path` (below `base`) belongs to this shard.
    pub fn owns_path(&self, base: &Path, path: &Path) -> bool {
        let rel = path.strip_prefix(base).unwrap_or(path);
        let dir = rel.parent().map_or(&b""[..], |d| d.as_os_str().as_bytes());
        let name = rel.file_name().map_or(&b""[..], |n| n.as_bytes());
        self.owns(dir, name)
    }
}

/// The unit a file name belongs to: up to the first `.` (not counting a leading one), less a
/// darktable version suffix of `_` and two digits.
fn unit(name: &[u8]) -> &[u8] {
    let start = usize::from(name.first() == Some(&b'.'));
    let end = name[start..]
        .iter()
        .position(|&b| b == b'.')
        .map_or(name.len(), |i| start + i);
    let base = &name[..end];
    match base.len().checked_sub(3) {
        Some(cut)
            if base[cut] == b'_' && base[cut + 1..].iter().all(u8::is_ascii_digit) && cut > 0 =>
        {
            &base[..cut]
        }
        _ => base,
    }
}

/// What the walk takes for images and for directory-level files.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Lower case, without the dot.
    image_extensions: Vec<String>,
    directory_files: globset::GlobSet,
    /// The lists the rules were made from, for fingerprints.
    description: String,
    /// Only this part of the tree, when split for several machines (not in the description:
    /// every shard of a run has the same fingerprint).
    pub shard: Option<Shard>,
    /// Enter directories on other file systems than the input's (mount points); by default
    /// they are listed among the walk's errors and not entered, as `find -xdev` does, so that
    /// a bind mount or `/proc/N/root` inside the tree does not take the walk elsewhere.
    pub cross_file_systems: bool,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules::new(None, None).expect("the default rules compile")
    }
}

impl Rules {
    /// The rules, each list replacing its default when given.
    pub fn new(
        image_extensions: Option<&[String]>,
        directory_files: Option<&[String]>,
    ) -> Result<Rules, String> {
        let image_extensions = match image_extensions {
            Some(list) => list
                .iter()
                .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
            None => DEFAULT_IMAGE_EXTENSIONS
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
        };
        let patterns: Vec<String> = match directory_files {
            Some(list) => list.to_vec(),
            None => DEFAULT_DIRECTORY_FILES
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
        };
        let mut builder = globset::GlobSetBuilder::new();
        for pattern in &patterns {
            let glob = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    format!(
                        "directory-file glob `{pattern}` does not compile: {}",
                        e.kind()
                    )
                })?;
            builder.add(glob);
        }
        let directory_files = builder
            .build()
            .map_err(|e| format!("directory-file globs do not compile: {e}"))?;
        let description = format!("images {image_extensions:?} directory files {patterns:?}");
        Ok(Rules {
            image_extensions,
            directory_files,
            description,
            shard: None,
            cross_file_systems: false,
        })
    }

    /// What the rules are, as text (for the results cache's fingerprint).
    pub fn description(&self) -> String {
        format!(
            "{} cross file systems {}",
            self.description, self.cross_file_systems
        )
    }

    /// Whether a file of this name is an image (its extension is one of the image extensions,
    /// compared case-insensitively).
    pub fn is_image(&self, name: &OsStr) -> bool {
        extension(name).is_some_and(|ext| {
            self.image_extensions
                .iter()
                .any(|e| e.eq_ignore_ascii_case(ext))
        })
    }

    fn is_directory_file(&self, rel: &Path) -> bool {
        self.directory_files.is_match(rel)
            || rel
                .file_name()
                .is_some_and(|name| self.directory_files.is_match(Path::new(name)))
    }
}

/// A file that may be a sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'t> {
    /// The directory walked (for a single file, its directory).
    pub base: &'t Path,
    /// The path below `base`.
    pub rel: &'t Path,
    /// Whether an image with the same stem sits beside it.
    pub has_image: bool,
    /// The file is a symbolic link (followed for reading, never replaced).
    pub linked: bool,
    /// Its directory's real location is outside the input root (reached through a symbolic
    /// link): read, never changed.
    pub outside: bool,
    /// Its name matches a directory-file rule: a directory-level result, not a sidecar.
    pub directory_file: bool,
}

impl Candidate<'_> {
    /// The file's path.
    pub fn path(&self) -> PathBuf {
        self.base.join(self.rel)
    }
}

/// Where a candidate's path is in the tree's arena.
#[derive(Debug, Clone, Copy)]
struct Entry {
    chunk: u32,
    start: u32,
    len: u32,
    has_image: bool,
    linked: bool,
    outside: bool,
    directory_file: bool,
}

/// The size of the arena's blocks. Blocks are never reallocated: a growing single buffer would
/// leave its old copies resident.
const CHUNK: usize = 1 << 20;

/// Something in the tree that could not be walked (a symlink loop, a dangling link, a
/// directory that cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
}

/// What a walk found.
///
/// The candidates' paths are kept one after another in blocks of an arena: they are most of a
/// run's memory, and one allocation per path would scatter them among the walk's freed entries.
#[derive(Debug, Default)]
pub struct Tree {
    /// What candidates' paths are relative to.
    base: PathBuf,
    paths: Vec<Vec<u8>>,
    /// Sidecar candidates, sorted by path.
    entries: Vec<Entry>,
    pub images: u64,
    pub images_without_sidecar: u64,
    /// Images more than one sidecar describes (a kept XMP beside its conversion, darktable's
    /// duplicates): the summaries count each of those sidecars.
    pub images_with_several_sidecars: u64,
    /// Temporary files a killed conversion left behind.
    pub temporaries: Vec<PathBuf>,
    /// Files a killed conversion left parked under a private name (`fsio::PARKED_PREFIX`).
    pub parked: Vec<PathBuf>,
    /// Files `convert --prefer` set aside (`fsio::SUPERSEDED_PREFIX`), not sidecars any more.
    pub superseded: Vec<PathBuf>,
    /// Parked files put back under their names before this walk.
    pub restored_files: u64,
    /// Files that are one of the excluded paths (the run's report), found as candidates.
    pub excluded_found: Vec<PathBuf>,
    /// Files named like an image's sidecar (`IMG_0001.pp3` beside `IMG_0001.CR3`) that no
    /// loaded format claims: counted as unrecognized, so a missing plugin is not silent.
    pub unrecognized: Vec<PathBuf>,
    pub walk_errors: Vec<WalkError>,
    /// Candidates handed to a visitor ([`discover_visiting`]) rather than kept.
    pub visited: u64,
}

/// What a walk does with each directory's candidates instead of keeping them in the tree:
/// called on the pool's threads, once per directory (one without candidates too).
pub type Visit<'v> = &'v (dyn Fn(Directory<'_>) + Sync);

/// One directory as a visitor sees it.
#[derive(Clone, Copy)]
pub struct Directory<'d> {
    /// The directory.
    pub path: &'d Path,
    /// Names of its images (of the walk's shard), in byte order.
    pub images: &'d [OsString],
    /// Its candidates (of the walk's shard), in byte order.
    pub candidates: &'d [Candidate<'d>],
}

/// Walks `root` (a directory or a single file) with `rules`, setting aside the paths in
/// `exclude` (the report file of the run). Directories are read in parallel on the current
/// pool, each paired on its own; the results are sorted, so the order they are read in does
/// not show.
pub fn discover(root: &Path, registry: &Registry, rules: &Rules, exclude: &[PathBuf]) -> Tree {
    walk(root, registry, rules, exclude, None)
}

/// [`discover`], handing each directory's candidates to `visit` as soon as the directory is
/// paired: the tree keeps none of them (it counts them), so memory does not grow with the
/// tree.
pub fn discover_visiting(
    root: &Path,
    registry: &Registry,
    rules: &Rules,
    exclude: &[PathBuf],
    visit: Visit<'_>,
) -> Tree {
    walk(root, registry, rules, exclude, Some(visit))
}

fn walk(
    root: &Path,
    registry: &Registry,
    rules: &Rules,
    exclude: &[PathBuf],
    visit: Option<Visit<'_>>,
) -> Tree {
    let single_file = root.is_file();
    let base = match root.parent() {
        Some(parent) if single_file && !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ if single_file => PathBuf::from("."),
        _ => root.to_path_buf(),
    };
    let excluded: Vec<(OsString, PathBuf)> = exclude
        .iter()
        .filter_map(|p| Some((p.file_name()?.to_owned(), std::fs::canonicalize(p).ok()?)))
        .collect();
    let walk = Walk {
        root_dev: std::fs::metadata(&base).ok().map(|m| m.dev()),
        root: std::fs::canonicalize(&base).ok(),
        base: base.clone(),
        rules,
        registry,
        excluded: &excluded,
        visit,
        tree: Mutex::new(Tree {
            base: base.clone(),
            ..Tree::default()
        }),
    };
    if single_file {
        walk.single_file(root);
    } else {
        rayon::scope(|scope| walk.directory(scope, root.to_path_buf(), None));
    }
    let mut tree = walk.tree.into_inner().unwrap_or_else(|e| e.into_inner());
    let paths = &tree.paths;
    tree.entries
        .par_sort_unstable_by(|a, b| path_order(bytes(paths, a), bytes(paths, b)));
    tree.temporaries.sort();
    if let Some(shard) = rules.shard.filter(|s| s.count > 1) {
        let base = tree.base.clone();
        let owned = |path: &Path| shard.owns_path(&base, path);
        tree.walk_errors.retain(|e| owned(&e.path));
        tree.unrecognized.retain(|p| owned(p));
        tree.parked
            .retain(|p| fsio::unparked_path(p).is_some_and(|original| owned(&original)));
        tree.superseded
            .retain(|p| fsio::unsuperseded_path(p).is_some_and(|original| owned(&original)));
        // Another shard may be writing its temporaries now: leftovers are an unsplit run's.
        tree.temporaries.clear();
    }
    tree.parked.sort();
    tree.superseded.sort();
    tree.unrecognized.sort();
    tree.walk_errors.sort_by(|a, b| a.path.cmp(&b.path));
    tree
}

/// A directory the walk is in, and the directories it went through to get there: a
/// directory that is one of them again (through a symbolic link) is a loop.
struct Ancestor {
    dev: u64,
    ino: u64,
    path: PathBuf,
    parent: Option<Arc<Ancestor>>,
}

/// One walk: what it needs to classify files, and the tree each directory's findings go into.
struct Walk<'w> {
    /// What candidates' paths are relative to.
    base: PathBuf,
    /// The device the input is on.
    root_dev: Option<u64>,
    /// The input root's real location; `None` if it cannot be resolved (then nothing is
    /// taken to be inside it).
    root: Option<PathBuf>,
    rules: &'w Rules,
    registry: &'w Registry,
    excluded: &'w [(OsString, PathBuf)],
    visit: Option<Visit<'w>>,
    tree: Mutex<Tree>,
}

/// What the walk found in one directory, added to the tree when the directory is done.
#[derive(Default)]
struct Found {
    sidecars: Vec<Sidecar>,
    /// The directory and its images' names (of this shard), for a visitor.
    dir: PathBuf,
    image_names: Vec<OsString>,
    images: u64,
    images_without_sidecar: u64,
    images_with_several_sidecars: u64,
    temporaries: Vec<PathBuf>,
    parked: Vec<PathBuf>,
    superseded: Vec<PathBuf>,
    excluded_found: Vec<PathBuf>,
    unrecognized: Vec<PathBuf>,
    walk_errors: Vec<WalkError>,
}

/// A sidecar candidate, paired.
struct Sidecar {
    path: PathBuf,
    /// Where its path below the walk's base starts in `path`.
    rel_start: usize,
    has_image: bool,
    linked: bool,
    outside: bool,
    directory_file: bool,
}

impl Sidecar {
    /// Its path below the walk's base.
    fn rel(&self) -> &Path {
        Path::new(OsStr::from_bytes(
            &self.path.as_os_str().as_bytes()[self.rel_start..],
        ))
    }
}

impl<'w> Walk<'w> {
    /// Reads `dir`, pairs its files, and walks its subdirectories as tasks of `scope`, each in
    /// byte order.
    fn directory<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        dir: PathBuf,
        parent: Option<Arc<Ancestor>>,
    ) {
        let mut found = Found::default();
        let opened = std::fs::read_dir(&dir).and_then(|read| Ok((read, std::fs::metadata(&dir)?)));
        let (read, meta) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                found.walk_errors.push(WalkError::io(dir, &error));
                self.add(found);
                return;
            }
        };
        let ancestor = Arc::new(Ancestor {
            dev: meta.dev(),
            ino: meta.ino(),
            path: dir.clone(),
            parent,
        });
        let mut files = Vec::new();
        let mut subdirectories = Vec::new();
        for entry in read {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    found.walk_errors.push(WalkError::io(dir.clone(), &error));
                    continue;
                }
            };
            let path = entry.path();
            let file_type = match entry.file_type() {
                Ok(file_type) => file_type,
                Err(error) => {
                    found.walk_errors.push(WalkError::io(path, &error));
                    continue;
                }
            };
            let linked = file_type.is_symlink();
            // Links are followed: what they point to decides.
            let file_type = if linked {
                match std::fs::metadata(&path) {
                    Ok(meta) => meta.file_type(),
                    Err(error) => {
                        found.walk_errors.push(WalkError::io(path, &error));
                        continue;
                    }
                }
            } else {
                file_type
            };
            if file_type.is_dir() {
                subdirectories.push(path);
            } else {
                files.push((path, file_type, linked));
            }
        }
        files.sort_unstable_by(|a, b| a.0.as_os_str().as_bytes().cmp(b.0.as_os_str().as_bytes()));
        let mut batch = self.batch(dir);
        for (path, file_type, linked) in files {
            self.classify(path, file_type, linked, &mut batch, &mut found);
        }
        batch.flush(&mut found);
        // Subdirectories first, so that other workers walk them while this one works through
        // the files found here.
        subdirectories
            .sort_unstable_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
        for path in subdirectories {
            let meta = std::fs::metadata(&path).ok();
            let looped = meta.as_ref().and_then(|meta| {
                let mut at = Some(&ancestor);
                while let Some(a) = at {
                    if (a.dev, a.ino) == (meta.dev(), meta.ino()) {
                        return Some(a.path.clone());
                    }
                    at = a.parent.as_ref();
                }
                None
            });
            let elsewhere = !self.rules.cross_file_systems
                && meta
                    .as_ref()
                    .zip(self.root_dev)
                    .is_some_and(|(meta, dev)| meta.dev() != dev);
            match looped {
                Some(ancestor) => found.walk_errors.push(WalkError {
                    path,
                    message: format!("symlink loop back to {}", ancestor.display()),
                }),
                None if elsewhere => found.walk_errors.push(WalkError {
                    path,
                    message: "on another file system than the input (a mount point); not entered: --cross-file-systems enters it".into(),
                }),
                None => {
                    let parent = Some(Arc::clone(&ancestor));
                    scope.spawn(move |scope| self.directory(scope, path, parent));
                }
            }
        }
        self.add(found);
    }

    /// A lone file, paired with its siblings without taking them as candidates.
    fn single_file(&self, path: &Path) {
        let mut found = Found::default();
        let mut batch = self.batch(PathBuf::new());
        let linked = path
            .symlink_metadata()
            .is_ok_and(|meta| meta.file_type().is_symlink());
        match std::fs::metadata(path) {
            Ok(meta) => self.classify(
                path.to_path_buf(),
                meta.file_type(),
                linked,
                &mut batch,
                &mut found,
            ),
            Err(error) => found
                .walk_errors
                .push(WalkError::io(path.to_path_buf(), &error)),
        }
        if let Some(dir) = path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            batch
                .images
                .extend(images_in(dir, self.rules).unwrap_or_default());
        }
        batch.flush(&mut found);
        found.images = 0;
        found.images_without_sidecar = 0;
        found.images_with_several_sidecars = 0;
        self.add(found);
    }

    fn batch(&self, dir: PathBuf) -> DirBatch<'_> {
        DirBatch {
            rules: self.rules,
            base: &self.base,
            dir,
            root: self.root.as_deref(),
            images: Vec::new(),
            sidecars: Vec::new(),
            others: Vec::new(),
        }
    }

    /// Sorts one file (not a directory) into the batch of its directory, or into what the
    /// walk reports.
    fn classify(
        &self,
        path: PathBuf,
        file_type: std::fs::FileType,
        linked: bool,
        batch: &mut DirBatch<'_>,
        found: &mut Found,
    ) {
        let name = OsStr::from_bytes(file_name(&path));
        let claimed = self.registry.claims(name.as_bytes());
        if !file_type.is_file() {
            // A FIFO, socket or device named like a sidecar is reported, never opened.
            if claimed {
                let kind = fsio::kind_of(file_type);
                found.walk_errors.push(WalkError {
                    path,
                    message: format!("{kind}, not a regular file; not read"),
                });
            }
            return;
        }
        if is_excluded(self.excluded, name, &path) {
            found.excluded_found.push(path);
            return;
        }
        if fsio::is_parked(name) {
            found.parked.push(path);
            return;
        }
        if fsio::is_superseded(name) {
            found.superseded.push(path);
            return;
        }
        if fsio::is_temporary(name) {
            found.temporaries.push(path);
            return;
        }
        match () {
            _ if self.rules.is_image(name) => batch.images.push(name.to_owned()),
            _ if claimed => batch.sidecars.push((path, linked)),
            _ => match sniff(&path, self.registry) {
                Ok(true) => batch.sidecars.push((path, linked)),
                Ok(false) => batch.others.push(path),
                Err(e) => found.walk_errors.push(WalkError {
                    path,
                    message: format!("cannot read the file to tell its format: {e}"),
                }),
            },
        }
    }

    /// Adds one directory's findings to the tree: its candidates (those of this shard) go to
    /// the visitor, or into the tree when there is none.
    fn add(&self, found: Found) {
        let owned = |sidecar: &&Sidecar| {
            self.rules
                .shard
                .is_none_or(|shard| shard.owns_path(Path::new(""), sidecar.rel()))
        };
        let sidecars = found.sidecars.iter().filter(owned);
        let visited = self.visit.map(|visit| {
            let candidates: Vec<Candidate<'_>> = sidecars
                .clone()
                .map(|sidecar| Candidate {
                    base: &self.base,
                    rel: sidecar.rel(),
                    has_image: sidecar.has_image,
                    linked: sidecar.linked,
                    outside: sidecar.outside,
                    directory_file: sidecar.directory_file,
                })
                .collect();
            visit(Directory {
                path: &found.dir,
                images: &found.image_names,
                candidates: &candidates,
            });
            candidates.len() as u64
        });
        let mut tree = self.tree.lock().unwrap_or_else(|e| e.into_inner());
        match visited {
            Some(visited) => tree.visited += visited,
            None => sidecars.for_each(|sidecar| tree.push(sidecar)),
        }
        tree.images += found.images;
        tree.images_without_sidecar += found.images_without_sidecar;
        tree.images_with_several_sidecars += found.images_with_several_sidecars;
        tree.temporaries.extend(found.temporaries);
        tree.parked.extend(found.parked);
        tree.superseded.extend(found.superseded);
        tree.excluded_found.extend(found.excluded_found);
        tree.unrecognized.extend(found.unrecognized);
        tree.walk_errors.extend(found.walk_errors);
    }
}

impl WalkError {
    /// What went wrong reading `path`: a link to nothing gets its own words.
    fn io(path: PathBuf, error: &std::io::Error) -> WalkError {
        let message = match error.kind() {
            std::io::ErrorKind::NotFound => "dangling symlink or vanished file".to_owned(),
            _ => error.to_string(),
        };
        WalkError { path, message }
    }
}

fn bytes<'a>(paths: &'a [Vec<u8>], entry: &Entry) -> &'a [u8] {
    let (start, len) = (entry.start as usize, entry.len as usize);
    &paths[entry.chunk as usize][start..start + len]
}

fn os<'a>(paths: &'a [Vec<u8>], entry: &Entry) -> &'a OsStr {
    OsStr::from_bytes(bytes(paths, entry))
}

/// Orders two paths of a walk as `Path` does, component by component, without parsing them:
/// they have no empty or `.` components, so a separator sorting before every other byte
/// gives the same order.
fn path_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let key = |byte: u8| if byte == b'/' { 0 } else { byte };
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => key(a[i]).cmp(&key(b[i])),
        None => a.len().cmp(&b.len()),
    }
}

impl Tree {
    fn push(&mut self, sidecar: &Sidecar) {
        let bytes = sidecar.rel().as_os_str().as_bytes();
        let full = self
            .paths
            .last()
            .is_none_or(|chunk| chunk.len() + bytes.len() > chunk.capacity());
        if full {
            self.paths.push(Vec::with_capacity(CHUNK.max(bytes.len())));
        }
        let chunk = self.paths.len() - 1;
        let block = &mut self.paths[chunk];
        self.entries.push(Entry {
            chunk: chunk as u32,
            start: block.len() as u32,
            len: bytes.len() as u32,
            has_image: sidecar.has_image,
            linked: sidecar.linked,
            outside: sidecar.outside,
            directory_file: sidecar.directory_file,
        });
        block.extend_from_slice(bytes);
    }

    fn candidate(&self, entry: &Entry) -> Candidate<'_> {
        Candidate {
            base: &self.base,
            rel: Path::new(os(&self.paths, entry)),
            has_image: entry.has_image,
            linked: entry.linked,
            outside: entry.outside,
            directory_file: entry.directory_file,
        }
    }

    /// How many candidates there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The candidates, in path order.
    pub fn candidates(&self) -> impl ExactSizeIterator<Item = Candidate<'_>> {
        self.entries.iter().map(|e| self.candidate(e))
    }

    /// Keeps the candidates `keep` chooses.
    pub fn retain(&mut self, mut keep: impl FnMut(Candidate<'_>) -> bool) {
        let (base, paths) = (&self.base, &self.paths);
        self.entries.retain(|e| {
            keep(Candidate {
                base,
                rel: Path::new(os(paths, e)),
                has_image: e.has_image,
                linked: e.linked,
                outside: e.outside,
                directory_file: e.directory_file,
            })
        });
    }
}

/// Whether a file is one of the excluded paths: names compare first, so that only a file
/// named like an excluded one costs a `canonicalize`.
fn is_excluded(excluded: &[(OsString, PathBuf)], name: &OsStr, path: &Path) -> bool {
    excluded.iter().any(|(excluded_name, excluded_path)| {
        excluded_name == name && std::fs::canonicalize(path).is_ok_and(|p| &p == excluded_path)
    })
}

/// The files of one directory, paired when all are in.
struct DirBatch<'r> {
    rules: &'r Rules,
    /// The walked root, and the directory whose files the batch holds.
    base: &'r Path,
    dir: PathBuf,
    /// The input root's real location; `None` if it cannot be resolved (then nothing is
    /// taken to be inside it).
    root: Option<&'r Path>,
    images: Vec<OsString>,
    /// Sidecar candidates, each with whether it is a symbolic link.
    sidecars: Vec<(PathBuf, bool)>,
    /// Files neither images nor candidates.
    others: Vec<PathBuf>,
}

/// A file name's bytes without its last extension (`IMG_0001.jpg.json` → `IMG_0001.jpg`).
pub(crate) fn stem(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b'.') {
        Some(dot) if dot > 0 => &name[..dot],
        _ => name,
    }
}

/// The names of the images in `dir`, in byte order, as the directory holds them now.
pub fn images_in(dir: &Path, rules: &Rules) -> std::io::Result<Vec<OsString>> {
    let mut names: Vec<OsString> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .filter(|name| rules.is_image(name))
        .collect();
    names.sort_unstable_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    Ok(names)
}

/// Whether a sidecar named `sidecar` describes the image named `image` (both file names in
/// one directory): by exact stem (`IMG_0001.json` and `IMG_0001.JPG`), by the image's whole
/// name (`IMG_0001.CR3.json` and `IMG_0001.CR3`), or as a darktable duplicate
/// (`IMG_0001_01.CR3.xmp` and `IMG_0001.CR3`): the walk's pairing, for one pair.
pub fn pairs(sidecar: &[u8], image: &[u8]) -> bool {
    let sidecar_stem = stem(sidecar);
    sidecar_stem == stem(image)
        || sidecar_stem == image
        || duplicate_of(sidecar_stem).is_some_and(|base| base == image)
}

/// The image a darktable duplicate's stem names: `IMG_0001_01.CR3` → `IMG_0001.CR3` (a
/// `_` and two digits, the version number darktable writes, before the image's extension).
fn duplicate_of(stem: &[u8]) -> Option<Vec<u8>> {
    let dot = stem.iter().rposition(|&b| b == b'.')?;
    let (name, extension) = stem.split_at(dot);
    let underscore = name.iter().rposition(|&b| b == b'_')?;
    let digits = &name[underscore + 1..];
    if underscore == 0 || digits.len() != 2 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some([&name[..underscore], extension].concat())
}

/// The last component of a path, as bytes.
fn file_name(path: &Path) -> &[u8] {
    let bytes = path.as_os_str().as_encoded_bytes();
    bytes.rsplit(|&b| b == b'/').next().unwrap_or(bytes)
}

impl DirBatch<'_> {
    fn flush(&mut self, found: &mut Found) {
        let image_names: HashSet<&[u8]> =
            self.images.iter().map(|n| n.as_encoded_bytes()).collect();
        let image_stems: HashSet<&[u8]> = image_names.iter().map(|n| stem(n)).collect();
        let sidecar_stems: HashSet<&[u8]> = self
            .sidecars
            .iter()
            .map(|(p, _)| stem(file_name(p)))
            .collect();
        // A shard counts the images of its own units (an image and its sidecars share one).
        let rel_dir = self.dir.strip_prefix(self.base).unwrap_or(&self.dir);
        let rel_dir = rel_dir.as_os_str().as_bytes();
        let owned = |name: &[u8]| self.rules.shard.is_none_or(|s| s.owns(rel_dir, name));
        found.images += image_names.iter().filter(|n| owned(n)).count() as u64;
        found.dir = self.dir.clone();
        found.image_names = self
            .images
            .iter()
            .filter(|n| owned(n.as_encoded_bytes()))
            .cloned()
            .collect();
        found
            .image_names
            .sort_unstable_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        found.images_without_sidecar += image_names
            .iter()
            .filter(|name| owned(name))
            .filter(|name| !sidecar_stems.contains(stem(name)) && !sidecar_stems.contains(*name))
            .count() as u64;
        drop(sidecar_stems);
        for path in self.others.drain(..) {
            let stem = stem(file_name(&path));
            if stem != file_name(&path)
                && (image_stems.contains(stem) || image_names.contains(stem))
            {
                found.unrecognized.push(path);
            }
        }
        // One directory's files share their real location: resolved once per directory.
        let outside = self.sidecars.first().is_some_and(|(path, _)| {
            let real = std::fs::canonicalize(fsio::parent(path));
            match (self.root, real) {
                (Some(root), Ok(real)) => !real.starts_with(root),
                _ => true,
            }
        });
        // The image a sidecar describes: the one it is named after, or the images whose stem
        // it shares (as one key), or the image a darktable duplicate is of.
        let described = |stem: &[u8]| -> Option<&[u8]> {
            image_names
                .get(stem)
                .or_else(|| image_stems.get(stem))
                .or_else(|| duplicate_of(stem).and_then(|base| image_names.get(base.as_slice())))
                .copied()
        };
        // Sidecars per image, to find the images that have more than one.
        let mut per_image: HashMap<&[u8], u32> = HashMap::new();
        for (path, linked) in self.sidecars.drain(..) {
            let stem = stem(file_name(&path));
            let image = described(stem);
            let rel = path.strip_prefix(self.base).unwrap_or(&path);
            let directory_file = self.rules.is_directory_file(rel);
            if let (Some(image), false) = (image, directory_file) {
                *per_image.entry(image).or_default() += 1;
            }
            let has_image = image.is_some();
            let rel_start = path.as_os_str().len() - rel.as_os_str().len();
            found.sidecars.push(Sidecar {
                path,
                rel_start,
                has_image,
                linked,
                outside,
                directory_file,
            });
        }
        found.images_with_several_sidecars += per_image
            .iter()
            .filter(|(image, n)| **n > 1 && owned(image))
            .count() as u64;
        self.images.clear();
    }
}

/// A file name's extension, when it is UTF-8 (`IMG.JPG` → `JPG`).
fn extension(name: &OsStr) -> Option<&str> {
    let bytes = name.as_encoded_bytes();
    let dot = bytes.iter().rposition(|&b| b == b'.').filter(|&d| d > 0)?;
    std::str::from_utf8(&bytes[dot + 1..]).ok()
}

/// Whether a codec recognises the file's first bytes for certain.
fn sniff(path: &Path, registry: &Registry) -> std::io::Result<bool> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::with_capacity(DETECT_BYTES);
    file.take(DETECT_BYTES as u64).read_to_end(&mut head)?;
    Ok(registry
        .codecs()
        .any(|c| c.detect(&head, len) == Detection::Certain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_keeps_an_image_its_sidecars_and_their_targets_together() {
        for name in [
            "IMG_0001.CR3",
            "IMG_0001.json",
            "IMG_0001.CR3.xmp",
            "IMG_0001_01.CR3.xmp",
            "IMG_0001.bin",
            ".image-sidecar-old.IMG_0001.json",
        ] {
            let name = name.strip_prefix(".image-sidecar-old.").unwrap_or(name);
            assert_eq!(unit(name.as_bytes()), b"IMG_0001", "{name}");
        }
        assert_eq!(unit(b"20250920_112934.010.json"), b"20250920_112934");
        assert_eq!(unit(b".hidden.json"), b".hidden");
        let shards: Vec<Shard> = (0..7).map(|index| Shard { index, count: 7 }).collect();
        for name in ["IMG_0001.json", "a.b", "x"] {
            let owners = shards
                .iter()
                .filter(|s| s.owns(b"game1", name.as_bytes()))
                .count();
            assert_eq!(owners, 1, "{name}: exactly one shard");
        }
    }

    #[test]
    fn a_visiting_walk_hands_over_each_directory_and_keeps_no_candidate() {
        let mut registry = Registry::default();
        registry
            .add(
                Arc::new(crate::testing::Fake::by_extension("side", &["side"])),
                crate::registry::Provenance::BuiltIn,
            )
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "a/1.side",
            "a/1.jpg",
            "a/2.side",
            "b/3.side",
            "b/c/4.side",
            "x.side",
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"").unwrap();
        }
        let rules = Rules::default();
        let seen = Mutex::new(Vec::new());
        let tree = discover_visiting(dir.path(), &registry, &rules, &[], &|directory| {
            let group: Vec<(String, bool)> = directory
                .candidates
                .iter()
                .map(|c| (c.rel.to_str().unwrap().to_owned(), c.has_image))
                .collect();
            seen.lock().unwrap().push(group);
        });
        assert_eq!(tree.len(), 0, "no candidate kept");
        assert_eq!(tree.visited, 5);
        assert_eq!(tree.images, 1);
        let mut seen = seen.into_inner().unwrap();
        seen.retain(|group| !group.is_empty());
        seen.sort();
        let own = |s: &str, image: bool| (s.to_owned(), image);
        assert_eq!(
            seen,
            vec![
                vec![own("a/1.side", true), own("a/2.side", false)],
                vec![own("b/3.side", false)],
                vec![own("b/c/4.side", false)],
                vec![own("x.side", false)],
            ],
            "one call per directory, paired"
        );
        let kept = discover(dir.path(), &registry, &rules, &[]);
        let kept: Vec<_> = kept.candidates().map(|c| c.rel.to_owned()).collect();
        assert_eq!(kept.len(), 5, "the same walk keeps them: {kept:?}");
    }

    #[test]
    fn paths_sort_as_path_sorts_them() {
        let mut paths = vec![
            "a/b", "a-b", "a.json", "a", "a/b/c", "ab/c", "a/b.json", "b", "a/a", "z/é", "z/~",
            "z/0", "z.a/b", "z/.x",
        ];
        let mut by_path = paths.clone();
        by_path.sort_by(|a, b| Path::new(a).cmp(Path::new(b)));
        paths.sort_by(|a, b| path_order(a.as_bytes(), b.as_bytes()));
        assert_eq!(paths, by_path);
    }

    #[test]
    fn darktable_duplicates_name_their_image() {
        assert_eq!(
            duplicate_of(b"IMG_0001_01.CR3").as_deref(),
            Some(&b"IMG_0001.CR3"[..])
        );
        assert_eq!(
            duplicate_of(b"IMG_0001.CR3"),
            None,
            "a number, not a version"
        );
        assert_eq!(duplicate_of(b"IMG_0001_x.CR3"), None);
        assert_eq!(duplicate_of(b"IMG_0001"), None);
        assert_eq!(duplicate_of(b"_01.CR3"), None);
    }

    #[test]
    fn one_pair_follows_the_walks_conventions() {
        assert!(pairs(b"IMG_0001.json", b"IMG_0001.JPG"));
        assert!(pairs(b"IMG_0001.CR3.json", b"IMG_0001.CR3"));
        assert!(pairs(b"IMG_0001_01.CR3.xmp", b"IMG_0001.CR3"));
        assert!(pairs(
            b"20250920_112934.010.json",
            b"20250920_112934.010.jpg"
        ));
        assert!(!pairs(b"IMG_0002.json", b"IMG_0001.jpg"));
        assert!(
            !pairs(b"img_0001.json", b"IMG_0001.jpg"),
            "names compare exactly"
        );
    }
}
