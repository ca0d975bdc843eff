//! Moving and renaming photos together with every file that belongs to them: each file beside
//! the photo that pairs with it by name (both naming conventions, darktable duplicates; any
//! format, known or not: `IMG_0001.pp3` goes too), renamed with the photo.
//!
//! A photo and its files move as a group, so that at every moment one place holds the whole
//! group: first each file gets its new name as a hard link (a new name for the same file:
//! `link(2)` never replaces an existing name), then each old name is removed (parked under a
//! private name, checked to still be the file that was linked, then unlinked). Killed while
//! linking, the old place is whole; killed while removing, the new place is; either way no
//! file is lost, and running the same move again finishes it. Across file systems a file is
//! copied to a temporary file beside its target, compared with its source byte for byte, and
//! renamed into place, never over an existing file.
//!
//! A group is refused, and stays where it is, when a target name is taken, when a file of it
//! is also another photo's (`IMG_0001.json` beside both `IMG_0001.CR3` and `IMG_0001.JPG`)
//! and that photo is not moved with it, or when any step fails (steps done are undone).

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::discover::{pairs, stem, Rules};
use crate::fsio;
use crate::ops::display_path;

/// A command run before each step of a move (a link, a copy, a removal), for tests that kill
/// the run at a chosen step.
pub const HOOK_VAR: &str = "IMAGE_SIDECAR_TEST_HOOK_BEFORE_MOVE_STEP";

/// Where the sources go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Into this directory, names kept.
    Into(PathBuf),
    /// One photo renamed to this path (its files renamed with it).
    Rename(PathBuf),
}

/// One file of a group: from, to.
#[derive(Debug, Clone, Serialize)]
pub struct FileMove {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A dry run: what would be done.
    Planned,
    Moved,
    /// Left where it is; `reason` says why.
    Kept,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotoMove {
    pub photo: String,
    pub status: Status,
    /// The photo first, then the files that belong to it.
    pub files: Vec<FileMove>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MoveReport {
    pub dry_run: bool,
    pub photos: u64,
    pub moved: u64,
    pub kept: u64,
    /// Files moved, photos included.
    pub files_moved: u64,
    pub results: Vec<PhotoMove>,
}

impl MoveReport {
    pub fn has_findings(&self) -> bool {
        self.kept > 0
    }
}

/// One photo's planned moves (photo first), or why it cannot move.
fn plan(
    photo: &Path,
    destination: &Destination,
    rules: &Rules,
    sources: &[PathBuf],
) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let meta = std::fs::symlink_metadata(photo).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.file_type().is_file() {
        return Err("not a regular file; mv moves photos (a directory moves with your shell's mv, its sidecars with it)".into());
    }
    let name = photo.file_name().ok_or("has no file name")?;
    if !rules.is_image(name) {
        return Err(
            "not a photo (its extension is not an image extension); name the photo, its sidecars move with it"
                .into(),
        );
    }
    let dir = fsio::parent(photo);
    let (target_dir, new_name) = match destination {
        Destination::Into(dir) => (dir.clone(), name.to_owned()),
        Destination::Rename(to) => (
            fsio::parent(to).to_owned(),
            to.file_name()
                .ok_or("the new name has no file name")?
                .to_owned(),
        ),
    };
    let mut moves = vec![(photo.to_owned(), target_dir.join(&new_name))];
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", display_path(dir)))?;
    let mut names: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    let images: Vec<_> = names.iter().filter(|n| rules.is_image(n)).collect();
    for file in names.iter().filter(|n| !rules.is_image(n)) {
        if !pairs(file.as_encoded_bytes(), name.as_encoded_bytes()) {
            continue;
        }
        let path = dir.join(file);
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
            continue;
        }
        // A file another photo shares moves only with that photo.
        for other in images.iter().filter(|i| ***i != *name) {
            if pairs(file.as_encoded_bytes(), other.as_encoded_bytes())
                && !sources.iter().any(|s| s == &dir.join(other))
            {
                return Err(format!(
                    "{} is also the sidecar of {}; name both photos to move them together",
                    display_path(&path),
                    display_path(&dir.join(other))
                ));
            }
        }
        moves.push((path, target_dir.join(renamed(file, name, &new_name))));
    }
    for (from, to) in &moves {
        if let Ok(there) = std::fs::symlink_metadata(to) {
            // The same file under both names, or an equal copy: what a killed run of this
            // move left.
            if !same_file(&there, from) && !same_bytes(from, to).unwrap_or(false) {
                return Err(format!(
                    "{} exists already; nothing moved",
                    display_path(to)
                ));
            }
        }
    }
    Ok(moves)
}

fn same_file(there: &std::fs::Metadata, path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == (there.dev(), there.ino()))
}

/// A file's name after its photo `old` is renamed to `new`: the photo's whole name, or its
/// stem, at the start of the file's name replaced.
fn renamed(
    file: &std::ffi::OsStr,
    old: &std::ffi::OsStr,
    new: &std::ffi::OsStr,
) -> std::ffi::OsString {
    let (file, old, new) = (
        file.as_encoded_bytes(),
        old.as_encoded_bytes(),
        new.as_encoded_bytes(),
    );
    let mut out = Vec::new();
    if file.starts_with(old) && file.get(old.len()) == Some(&b'.') {
        out.extend_from_slice(new);
        out.extend_from_slice(&file[old.len()..]);
    } else {
        let old_stem = stem(old);
        out.extend_from_slice(stem(new));
        out.extend_from_slice(&file[old_stem.len().min(file.len())..]);
    }
    std::os::unix::ffi::OsStringExt::from_vec(out)
}

/// Links (or copies, across file systems) every file of a group to its new name; on failure
/// removes the names it made.
fn place(moves: &[(PathBuf, PathBuf)]) -> Result<(), String> {
    let mut made: Vec<&Path> = Vec::new();
    for (from, to) in moves {
        // Placed by a killed run of this move (the plan checked it is this file's content);
        // the removal checks it again.
        if std::fs::symlink_metadata(to).is_ok() {
            continue;
        }
        fsio::run_test_hook(HOOK_VAR);
        let placed = match std::fs::hard_link(from, to) {
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error()) => {
                copy_checked(from, to)
            }
            other => other.map_err(|e| e.to_string()),
        };
        if let Err(e) = placed {
            for name in made {
                let _ = std::fs::remove_file(name);
            }
            return Err(format!("cannot place {}: {e}", display_path(to)));
        }
        made.push(to);
    }
    Ok(())
}

/// Copies `from` to a temporary file beside `to`, keeping its permissions and times, compares
/// the copy with the source, and renames it to `to` unless that name is taken.
fn copy_checked(from: &Path, to: &Path) -> Result<(), String> {
    let source = std::fs::metadata(from).map_err(|e| e.to_string())?;
    let keep = fsio::Keep::from_source(&fsio::FileMeta::of(&source));
    let staged = fsio::stage_copy(fsio::parent(to), from, &keep).map_err(|e| e.to_string())?;
    if !same_bytes(from, staged.path()).map_err(|e| e.to_string())? {
        return Err("the copy differs from its source".into());
    }
    match staged.commit_new(to).map_err(|e| e.to_string())? {
        fsio::WriteOutcome::Written(_) => Ok(()),
        fsio::WriteOutcome::Exists => Err("the name was taken meanwhile".into()),
    }
}

fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (mut a, mut b) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = read_full(&mut a, &mut x)?;
        let m = read_full(&mut b, &mut y)?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Removes the old names of a placed group, each only while it is still the file placed
/// (parked first, checked, then unlinked; put back otherwise). The photo's old name goes
/// last, so that a run killed meanwhile can be run again from the same command.
fn remove_sources(moves: &[(PathBuf, PathBuf)]) -> Result<(), String> {
    for (from, to) in moves.iter().skip(1).chain(moves.first()) {
        fsio::run_test_hook(HOOK_VAR);
        let placed = std::fs::symlink_metadata(to).map_err(|e| e.to_string())?;
        let parked = fsio::parked_path(from);
        fsio::rename_noreplace(from, &parked)
            .map_err(|e| format!("cannot set {} aside: {e}", display_path(from)))?;
        let now = std::fs::symlink_metadata(&parked).map_err(|e| e.to_string())?;
        let linked = (now.dev(), now.ino()) == (placed.dev(), placed.ino());
        let copied =
            !linked && now.len() == placed.len() && same_bytes(&parked, to).unwrap_or(false);
        if linked || copied {
            std::fs::remove_file(&parked).map_err(|e| e.to_string())?;
        } else {
            let _ = fsio::rename_noreplace(&parked, from);
            return Err(format!(
                "{} changed while it was moved; both copies kept",
                display_path(from)
            ));
        }
    }
    Ok(())
}

/// Moves `sources` (photos) to `destination` with their files; `dry_run` only plans.
pub fn run(
    sources: &[PathBuf],
    destination: &Destination,
    rules: &Rules,
    dry_run: bool,
) -> MoveReport {
    let mut results = Vec::new();
    for photo in sources {
        let planned = plan(photo, destination, rules, sources);
        let files = |moves: &[(PathBuf, PathBuf)]| {
            moves
                .iter()
                .map(|(from, to)| FileMove {
                    from: display_path(from),
                    to: display_path(to),
                })
                .collect()
        };
        let result = match planned {
            Err(reason) => PhotoMove {
                photo: display_path(photo),
                status: Status::Kept,
                files: Vec::new(),
                reason: Some(reason),
            },
            Ok(moves) if dry_run => PhotoMove {
                photo: display_path(photo),
                status: Status::Planned,
                files: files(&moves),
                reason: None,
            },
            Ok(moves) => {
                let done = place(&moves).and_then(|()| remove_sources(&moves));
                PhotoMove {
                    photo: display_path(photo),
                    status: if done.is_ok() {
                        Status::Moved
                    } else {
                        Status::Kept
                    },
                    files: files(&moves),
                    reason: done.err(),
                }
            }
        };
        results.push(result);
    }
    let count = |status| results.iter().filter(|r| r.status == status).count() as u64;
    MoveReport {
        dry_run,
        photos: results.len() as u64,
        moved: count(Status::Moved),
        kept: count(Status::Kept),
        files_moved: results
            .iter()
            .filter(|r| r.status == Status::Moved)
            .map(|r| r.files.len() as u64)
            .sum(),
        results,
    }
}
