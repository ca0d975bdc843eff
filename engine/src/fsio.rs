//! File writes that never lose data: content goes to a temporary file in the target's
//! directory and is renamed into place, so a killed process leaves either the old file or the
//! new one, whole. Temporary files carry a recognisable name so that discovery never takes them
//! for sidecars and the next conversion removes them.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Every temporary file this tool writes is named `.image-sidecar-XXXXXX.tmp`.
pub const TEMP_PREFIX: &str = ".image-sidecar-";
pub const TEMP_SUFFIX: &str = ".tmp";

/// Whether a file name is one of this tool's temporary files.
pub fn is_temporary(name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name.starts_with(TEMP_PREFIX.as_bytes())
        && name.ends_with(TEMP_SUFFIX.as_bytes())
        && name.len() > TEMP_PREFIX.len() + TEMP_SUFFIX.len()
}

/// How writes reach the disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// Renamed into place; survives a killed process, not necessarily a power cut.
    #[default]
    Atomic,
    /// Also `fsync`s the file before the rename and the directory after it.
    Synced,
}

/// What [`Staged::commit_new`] found at the target.
#[derive(Debug)]
pub enum WriteOutcome {
    Written,
    /// Something already exists at the target; nothing was written.
    Exists,
}

fn temporary_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
}

/// The directory a path is in (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Content written to a temporary file beside its target, not yet in place. Dropping it
/// removes the temporary file.
pub struct Staged {
    file: tempfile::NamedTempFile,
    durability: Durability,
}

/// Writes `bytes` to a new temporary file in `dir`.
pub fn stage(dir: &Path, bytes: &[u8], durability: Durability) -> io::Result<Staged> {
    let mut file = temporary_in(dir)?;
    file.write_all(bytes)?;
    if durability == Durability::Synced {
        file.as_file().sync_all()?;
    }
    Ok(Staged { file, durability })
}

impl Staged {
    /// Where the staged content is, for reading it back before it is committed.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Renames the content to `target` unless something exists there; never overwrites.
    pub fn commit_new(self, target: &Path) -> io::Result<WriteOutcome> {
        let durability = self.durability;
        match self.file.persist_noclobber(target) {
            Ok(_) => {
                sync_dir(parent(target), durability)?;
                Ok(WriteOutcome::Written)
            }
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(WriteOutcome::Exists),
            Err(e) => Err(e.error),
        }
    }

    /// Renames the content over `target`, atomically.
    pub fn commit_replace(self, target: &Path) -> io::Result<()> {
        let durability = self.durability;
        self.file.persist(target).map_err(|e| e.error)?;
        sync_dir(parent(target), durability)
    }
}

/// Atomically replaces (or creates) `target` with `bytes`.
pub fn replace(target: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    stage(parent(target), bytes, durability)?.commit_replace(target)
}

/// Removes a file, making the removal durable when asked.
pub fn remove(path: &Path, durability: Durability) -> io::Result<()> {
    std::fs::remove_file(path)?;
    sync_dir(parent(path), durability)
}

fn sync_dir(dir: &Path, durability: Durability) -> io::Result<()> {
    if durability == Durability::Synced {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Reads a whole file into `buf` (cleared first), reusing its allocation.
pub fn read_into(path: &Path, buf: &mut Vec<u8>) -> io::Result<()> {
    use std::io::Read;
    buf.clear();
    let mut file = File::open(path)?;
    if let Ok(meta) = file.metadata() {
        buf.reserve(meta.len() as usize);
    }
    file.read_to_end(buf)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_recognised() {
        assert!(is_temporary(OsStr::new(".image-sidecar-a1B2c3.tmp")));
        assert!(!is_temporary(OsStr::new(".image-sidecar-.tmp")));
        assert!(!is_temporary(OsStr::new("image-sidecar-x.tmp")));
        assert!(!is_temporary(OsStr::new("IMG_0001.json")));
    }

    #[test]
    fn commit_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.bin");
        assert!(matches!(
            stage(dir.path(), b"one", Durability::Atomic)
                .unwrap()
                .commit_new(&target)
                .unwrap(),
            WriteOutcome::Written
        ));
        assert!(matches!(
            stage(dir.path(), b"two", Durability::Synced)
                .unwrap()
                .commit_new(&target)
                .unwrap(),
            WriteOutcome::Exists
        ));
        assert_eq!(std::fs::read(&target).unwrap(), b"one");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn replace_swaps_content_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.json");
        replace(&target, b"old", Durability::Atomic).unwrap();
        replace(&target, b"new", Durability::Synced).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }
}
