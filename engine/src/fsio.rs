//! File handling that never loses data.
//!
//! - Reads are bounded (a size limit), never block (FIFOs and devices are refused before a byte
//!   is read) and return the file's [`Identity`] as it was read, so that a later step can tell
//!   whether the file is still the one it read.
//! - Writes go to a temporary file beside the target, carry the source's permissions, owner
//!   and modification time, and are renamed into place without replacing anything.
//! - A file to be removed or replaced is first *parked*: renamed to a private name in its
//!   directory, checked there (no other program can reach it by its name any more), and only
//!   then deleted. A killed run leaves parked files for the next run to restore.
//! - [`TreeLock`] keeps two converting runs off the same tree.
//!
//! The argument for why this is safe against concurrent writers is in `docs/data-safety.md`.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, Gid, Mode, RenameFlags, Timespec, Timestamps, Uid, CWD};

/// Every temporary file this tool writes while converting is named `.image-sidecar-XXXXXX.tmp`.
pub const TEMP_PREFIX: &str = ".image-sidecar-";
pub const TEMP_SUFFIX: &str = ".tmp";
/// A parked file is named `.image-sidecar-old.NAME`, NAME being the name it had.
pub const PARKED_PREFIX: &str = ".image-sidecar-old.";

/// A file set aside by `convert --prefer` is named `.image-sidecar-superseded.NAME`, NAME being
/// the name it had: kept, never read as a sidecar, never put back by this tool.
pub const SUPERSEDED_PREFIX: &str = ".image-sidecar-superseded.";

/// Whether a file name is a set-aside file's.
pub fn is_superseded(name: &OsStr) -> bool {
    has_prefix(name, SUPERSEDED_PREFIX)
}

/// The name `path` gets when set aside.
pub fn superseded_path(path: &Path) -> PathBuf {
    prefixed(path, SUPERSEDED_PREFIX)
}

/// The path a set-aside file had.
pub fn unsuperseded_path(superseded: &Path) -> Option<PathBuf> {
    unprefixed(superseded, SUPERSEDED_PREFIX)
}

/// Whether a file name is one of this tool's temporary files.
pub fn is_temporary(name: &OsStr) -> bool {
    !is_parked(name)
        && !is_superseded(name)
        && has_prefix(name, TEMP_PREFIX)
        && name.as_encoded_bytes().ends_with(TEMP_SUFFIX.as_bytes())
        && name.len() > TEMP_PREFIX.len() + TEMP_SUFFIX.len()
}

/// Whether a file name is a parked file's.
pub fn is_parked(name: &OsStr) -> bool {
    has_prefix(name, PARKED_PREFIX)
}

/// The name `path` gets while parked.
pub fn parked_path(path: &Path) -> PathBuf {
    prefixed(path, PARKED_PREFIX)
}

/// The path a parked file had.
pub fn unparked_path(parked: &Path) -> Option<PathBuf> {
    unprefixed(parked, PARKED_PREFIX)
}

/// Whether a name is `prefix` followed by at least one byte.
fn has_prefix(name: &OsStr, prefix: &str) -> bool {
    let name = name.as_encoded_bytes();
    name.starts_with(prefix.as_bytes()) && name.len() > prefix.len()
}

/// `path` with `prefix` before its file name.
fn prefixed(path: &Path, prefix: &str) -> PathBuf {
    let mut name = OsString::from(prefix);
    name.push(path.file_name().unwrap_or_default());
    path.with_file_name(name)
}

/// `path` with `prefix` taken off its file name, if it has it.
fn unprefixed(path: &Path, prefix: &str) -> Option<PathBuf> {
    let name = path.file_name()?.as_bytes();
    let original = name.strip_prefix(prefix.as_bytes())?;
    Some(path.with_file_name(OsStr::from_bytes(original)))
}

/// How writes reach the disk before a source is removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// Renamed into place; survives a killed process, not necessarily a power cut.
    None,
    /// Targets are flushed in batches (one `syncfs` per file system per batch) before the
    /// sources of the batch are removed: survives a power cut.
    #[default]
    Batched,
    /// Each file and its directory are `fsync`ed on their own, before the rename and after it.
    EachFile,
}

impl Durability {
    pub fn parse(name: &str) -> Option<Durability> {
        match name {
            "batch" => Some(Durability::Batched),
            "file" => Some(Durability::EachFile),
            "none" => Some(Durability::None),
            _ => None,
        }
    }
}

/// What tells a file's content apart from what it was: if any of these changed, the content
/// may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Identity {
    pub fn of(meta: &Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The same file with the same content, as far as metadata tells, ignoring the change time
    /// (which a rename updates).
    pub fn same_content(&self, other: &Identity) -> bool {
        (self.dev, self.ino, self.size, self.mtime)
            == (other.dev, other.ino, other.size, other.mtime)
    }
}

/// A file as it was read: its identity, what a copy of it keeps, and a fingerprint of its
/// bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    pub identity: Identity,
    /// Permission bits (`0o777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl FileMeta {
    pub fn of(meta: &Metadata) -> FileMeta {
        FileMeta {
            identity: Identity::of(meta),
            mode: meta.permissions().mode() & 0o777,
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }
}

/// The fingerprint of a file's bytes (XXH3, 128 bits).
pub fn fingerprint(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// Largest `--max-file-size` accepted: what the zero-copy format and the reading tape address.
pub const MAX_FILE_SIZE_LIMIT: u64 = 2 << 30;
/// The default size limit per sidecar.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 30;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("not a regular file ({0}); not opened for reading")]
    NotRegular(&'static str),
    #[error("{size} bytes, over the size limit of {limit} bytes (--max-file-size); not read")]
    TooLarge { size: u64, limit: u64 },
}

/// What kind of file system object a non-regular file is.
pub fn kind_of(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// Opens a file for reading without blocking: a FIFO put where a sidecar was must not hang
/// the run.
pub fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
}

/// Opens a regular file for reading without blocking on FIFOs, and checks its size.
fn open_regular(path: &Path, limit: u64) -> Result<(File, Metadata), ReadError> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    Ok((file, meta))
}

/// Test builds: the bytes each read took, by path, so tests can tell how much of a file a pass
/// read.
#[cfg(test)]
pub static READS: std::sync::Mutex<Vec<(std::path::PathBuf, usize)>> =
    std::sync::Mutex::new(Vec::new());

#[cfg(test)]
fn log_read(path: &Path, len: usize) {
    READS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((path.to_path_buf(), len));
}

/// Reads a whole regular file of at most `limit` bytes into `buf` (cleared first), reusing its
/// allocation. Returns the file's metadata as of the read.
pub fn read_into(path: &Path, buf: &mut Vec<u8>, limit: u64) -> Result<FileMeta, ReadError> {
    buf.clear();
    let (file, meta) = open_regular(path, limit)?;
    buf.reserve(meta.len() as usize);
    // One byte past the limit tells a file that grew while being read.
    file.take(limit + 1).read_to_end(buf)?;
    #[cfg(test)]
    log_read(path, buf.len());
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: buf.len() as u64,
            limit,
        });
    }
    Ok(FileMeta::of(&meta))
}

/// Reads the first `head` bytes of a regular file of at most `limit` bytes into `buf` (cleared
/// first): what a format's detection needs, without reading the rest. The metadata's size is
/// the file's length.
pub fn read_head_into(
    path: &Path,
    buf: &mut Vec<u8>,
    limit: u64,
    head: usize,
) -> Result<FileMeta, ReadError> {
    buf.clear();
    let (file, meta) = open_regular(path, limit)?;
    file.take(head as u64).read_to_end(buf)?;
    #[cfg(test)]
    log_read(path, buf.len());
    Ok(FileMeta::of(&meta))
}

/// Why a file this tool keeps for itself is not used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct NotPrivate {
    pub reason: String,
    /// Its directory is the user's own, so a new file may replace it (the next save does).
    pub replaceable: bool,
}

/// Reads a file this tool keeps for itself (a cache), if it is to be believed: a regular file
/// of at most `limit` bytes, owned by the user running the tool, in a directory of theirs, and
/// neither writable by anyone else (as root, a file of another user is never read). `Ok(None)`
/// when there is no such file; the error says why an existing one is not used. Opened without
/// following a link and without blocking, so a FIFO or a huge sparse file costs nothing.
pub fn read_private(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, NotPrivate> {
    let me = rustix::process::geteuid().as_raw();
    let dir = parent(path);
    let in_dir = |reason: String| NotPrivate {
        reason,
        replaceable: false,
    };
    let in_file = |reason: String| NotPrivate {
        reason,
        replaceable: true,
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(in_dir(format!(
                "cannot inspect its directory {}: {e}",
                dir.display()
            )))
        }
        Ok(meta) => private_place(dir, &meta, me).map_err(in_dir)?,
    }
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOFOLLOW;
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(in_file(format!("{} is a symbolic link", path.display())))
        }
        Err(e) => return Err(in_file(format!("cannot open {}: {e}", path.display()))),
    };
    let meta = file
        .metadata()
        .map_err(|e| in_file(format!("cannot inspect {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(in_file(format!(
            "{} is {}",
            path.display(),
            kind_of(meta.file_type())
        )));
    }
    private_place(path, &meta, me).map_err(in_file)?;
    if meta.len() > limit {
        return Err(in_file(format!(
            "{} holds {} bytes, over the limit of {limit}",
            path.display(),
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| in_file(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() as u64 > limit {
        return Err(in_file(format!(
            "{} grew past the limit of {limit} bytes",
            path.display()
        )));
    }
    Ok(Some(bytes))
}

/// The rule of [`read_private`] for one path: owned by `me`, writable by nobody else.
fn private_place(path: &Path, meta: &Metadata, me: u32) -> Result<(), String> {
    if meta.uid() != me {
        return Err(format!(
            "{} is owned by uid {}, not by you (uid {me})",
            path.display(),
            meta.uid()
        ));
    }
    let mode = meta.mode();
    if mode & 0o022 != 0 {
        return Err(format!(
            "{} is writable by others (mode {:04o}): chmod go-w {}",
            path.display(),
            mode & 0o7777,
            path.display()
        ));
    }
    Ok(())
}

/// Replaces a file this tool keeps for itself (a cache), atomically, readable by the user
/// alone; its directory is created (mode 0700) when missing, and must pass the rule of
/// [`read_private`], or nothing is written.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = parent(path);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::metadata(dir)?;
    private_place(dir, &meta, rustix::process::geteuid().as_raw())
        .map_err(|reason| io::Error::new(io::ErrorKind::PermissionDenied, reason))?;
    let mut file = tempfile::Builder::new()
        .prefix(".")
        .suffix(TEMP_SUFFIX)
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.flush()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The directory a path is in (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// What a new file takes over from the file it replaces or is converted from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keep {
    /// Permission bits; `None` leaves the temporary file's private `0600`.
    pub mode: Option<u32>,
    /// Owner and group, applied when running as root.
    pub owner: Option<(u32, u32)>,
    /// Modification time, as `cp -p` and `rsync -t` keep it.
    pub mtime: Option<(i64, i64)>,
}

impl Keep {
    /// Everything of `source`.
    pub fn from_source(source: &FileMeta) -> Keep {
        Keep {
            mode: Some(source.mode),
            owner: Some((source.uid, source.gid)),
            mtime: Some(source.identity.mtime),
        }
    }

    /// A report's metadata: the mode a new file gets under the process's umask.
    pub fn new_file() -> Keep {
        Keep {
            mode: Some(0o666 & !current_umask()),
            ..Keep::default()
        }
    }

    fn apply(&self, file: &File) -> io::Result<()> {
        if let Some((uid, gid)) = self.owner {
            if rustix::process::geteuid().is_root() {
                // SAFETY of ids: any value is a valid id to pass to the kernel.
                rustix::fs::fchown(file, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))?;
            }
        }
        // After the owner: chown clears set-id bits, and we set only the permission bits.
        if let Some(mode) = self.mode {
            rustix::fs::fchmod(file, Mode::from_raw_mode(mode))?;
        }
        if let Some((secs, nanos)) = self.mtime {
            rustix::fs::futimens(
                file,
                &Timestamps {
                    last_access: Timespec {
                        tv_sec: 0,
                        tv_nsec: rustix::fs::UTIME_OMIT,
                    },
                    last_modification: Timespec {
                        tv_sec: secs,
                        tv_nsec: nanos,
                    },
                },
            )?;
        }
        Ok(())
    }
}

/// The process's umask (read by setting it and setting it back, before any thread writes).
fn current_umask() -> u32 {
    let mask = rustix::process::umask(Mode::from_raw_mode(0o022));
    rustix::process::umask(mask);
    mask.as_raw_mode()
}

/// Content written to a temporary file beside its target, not yet in place. Dropping it
/// removes the temporary file.
pub struct Staged {
    file: tempfile::TempPath,
    durability: Durability,
}

/// Writes `bytes` to a new temporary file in `dir`, named `prefix…`, with `keep`'s metadata.
fn stage_named(
    dir: &Path,
    prefix: &str,
    bytes: &[u8],
    durability: Durability,
    keep: &Keep,
) -> io::Result<Staged> {
    let mut file = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.flush()?;
    keep.apply(file.as_file())?;
    if durability == Durability::EachFile {
        file.as_file().sync_all()?;
    }
    Ok(Staged {
        file: file.into_temp_path(),
        durability,
    })
}

/// Writes `bytes` to a new temporary file in `dir`, with `keep`'s metadata.
pub fn stage(dir: &Path, bytes: &[u8], durability: Durability, keep: &Keep) -> io::Result<Staged> {
    stage_named(dir, TEMP_PREFIX, bytes, durability, keep)
}

/// Copies the file `from` to a new temporary file in `dir`, with `keep`'s metadata (a move
/// across file systems).
pub fn stage_copy(dir: &Path, from: &Path, keep: &Keep) -> io::Result<Staged> {
    let mut file = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    io::copy(&mut File::open(from)?, file.as_file_mut())?;
    file.as_file().sync_all()?;
    keep.apply(file.as_file())?;
    Ok(Staged {
        file: file.into_temp_path(),
        durability: Durability::EachFile,
    })
}

/// What [`Staged::commit_new`] found at the target.
#[derive(Debug)]
pub enum WriteOutcome {
    /// In place; the new file's inode number.
    Written(u64),
    /// Something already exists at the target; nothing was written.
    Exists,
}

impl Staged {
    /// Where the staged content is, for reading it back before it is committed.
    pub fn path(&self) -> &Path {
        &self.file
    }

    fn inode(&self) -> io::Result<u64> {
        Ok(std::fs::symlink_metadata(self.path())?.ino())
    }

    /// Renames the content to `target` unless something exists there; never overwrites.
    pub fn commit_new(self, target: &Path) -> io::Result<WriteOutcome> {
        let ino = self.inode()?;
        match rename_noreplace(self.path(), target) {
            Ok(()) => {
                // The name is the target's now: nothing to remove on drop.
                let _ = self.file.keep();
                if self.durability == Durability::EachFile {
                    sync_dir(parent(target))?;
                }
                Ok(WriteOutcome::Written(ino))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(WriteOutcome::Exists),
            Err(e) => Err(e),
        }
    }

    /// Moves the content to `parked` (never overwriting) and hands the name over to the caller:
    /// a killed run leaves it for the next run's recovery, not for temporary-file cleanup.
    pub fn park(self, parked: &Path) -> io::Result<u64> {
        let ino = self.inode()?;
        rename_noreplace(self.path(), parked)?;
        let _ = self.file.keep();
        Ok(ino)
    }

    /// Renames the content over `target`, atomically (for reports).
    pub fn commit_replace(self, target: &Path) -> io::Result<()> {
        let durability = self.durability;
        std::fs::rename(self.path(), target)?;
        let _ = self.file.keep();
        if durability == Durability::EachFile {
            sync_dir(parent(target))?;
        }
        Ok(())
    }
}

/// A command run just before [`replace_checked`] puts its file in place, for tests that change
/// the file in between (a concurrent writer made deterministic).
pub const REPLACE_HOOK_VAR: &str = "IMAGE_SIDECAR_TEST_HOOK_BEFORE_REPLACE";

/// Why [`replace_checked`] left the file as it was.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Another program changed, replaced or removed the file after it was read: its version
    /// is in place, and nothing of this call's is.
    #[error(
        "changed by another program since it was read; its version is kept and nothing was written"
    )]
    Changed,
    /// As [`ReplaceError::Changed`], and a third version that took the file's place meanwhile
    /// is kept under `kept`.
    #[error("changed by another program since it was read; its version is kept, another one is kept at {}, and nothing was written", kept.display())]
    ChangedTwice { kept: PathBuf },
}

/// Replaces `target`, read as `read` with bytes of fingerprint `read_fingerprint`, by `bytes`,
/// with the target's permissions, owner and modification-time rules of [`Keep::from_source`]
/// (less the modification time: the content is new).
///
/// The new content is written beside the target and swapped in atomically (readers see the old
/// file or the new one, never none); then the file swapped out is checked against what was
/// read. If another program changed it in between, it is swapped back and the call fails:
/// the other program's version wins, nothing is lost. On file systems that cannot swap, the
/// target is first moved aside under a parked name, checked, and only then replaced.
pub fn replace_checked(
    target: &Path,
    read: &FileMeta,
    read_fingerprint: u128,
    bytes: &[u8],
) -> Result<(), ReplaceError> {
    let keep = Keep {
        mtime: None,
        ..Keep::from_source(read)
    };
    let staged = stage(parent(target), bytes, Durability::None, &keep)?;
    let ours = staged.inode()?;
    run_test_hook(REPLACE_HOOK_VAR);
    let unchanged = |path: &Path| -> bool {
        let mut buf = Vec::new();
        read_into(path, &mut buf, u64::MAX >> 1).is_ok_and(|meta| {
            meta.identity.same_content(&read.identity) && fingerprint(&buf) == read_fingerprint
        })
    };
    let swapped = match exchange(staged.path(), target) {
        Ok(swapped) => swapped,
        // Removed meanwhile: that is the other program's version.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReplaceError::Changed),
        Err(e) => return Err(e.into()),
    };
    if swapped {
        // The staged name now holds what was at the target.
        if unchanged(staged.path()) {
            return Ok(());
        }
        exchange(staged.path(), target)?;
        if std::fs::symlink_metadata(staged.path()).is_ok_and(|m| m.ino() == ours) {
            return Err(ReplaceError::Changed);
        }
        let kept = parked_path(target);
        staged.park(&kept)?;
        return Err(ReplaceError::ChangedTwice { kept });
    }
    let parked = parked_path(target);
    match rename_noreplace(target, &parked) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReplaceError::Changed),
        Err(e) => return Err(e.into()),
    }
    if !unchanged(&parked) {
        return match rename_noreplace(&parked, target) {
            Ok(()) => Err(ReplaceError::Changed),
            Err(_) => Err(ReplaceError::ChangedTwice { kept: parked }),
        };
    }
    match staged.commit_new(target)? {
        WriteOutcome::Written(_) => {
            std::fs::remove_file(&parked)?;
            Ok(())
        }
        // A new file took the name meanwhile: it stays; the parked copy is what was read.
        WriteOutcome::Exists => {
            std::fs::remove_file(&parked)?;
            Err(ReplaceError::Changed)
        }
    }
}

/// Runs the shell command in the environment variable `var`, if it is set: the hooks through
/// which tests change files at a chosen point of a run, deterministically.
pub fn run_test_hook(var: &str) {
    if let Some(command) = std::env::var_os(var) {
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .status();
    }
}

/// `rename(2)` that fails with `AlreadyExists` instead of replacing `to`.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    match rustix::fs::renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        // File systems without RENAME_NOREPLACE: a hard link fails on an existing name too.
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            std::fs::hard_link(from, to)?;
            std::fs::remove_file(from)
        }
        Err(e) => Err(e.into()),
    }
}

/// Swaps two names atomically; `Ok(false)` when the file system cannot.
pub fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    match rustix::fs::renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Flushes the file system that holds `dir` to disk.
pub fn sync_filesystem(dir: &Path) -> io::Result<()> {
    let dir = File::open(dir)?;
    rustix::fs::syncfs(&dir)?;
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// An empty temporary file beside `target`, named after it (`.NAME.…`), with the mode a new
/// file gets under the umask.
fn stage_beside(target: &Path) -> io::Result<Staged> {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    stage_named(
        parent(target),
        &format!(".{name}."),
        b"",
        Durability::None,
        &Keep::new_file(),
    )
}

/// A report file being written: its temporary file exists from the start of the run (which
/// proves the directory writable before any work) and is renamed into place at the end.
pub struct ReportFile {
    staged: Staged,
    target: PathBuf,
}

impl ReportFile {
    /// Creates the temporary file beside `target`, named after it.
    pub fn create(target: &Path) -> io::Result<ReportFile> {
        let staged = stage_beside(target)?;
        Ok(ReportFile {
            staged,
            target: target.to_path_buf(),
        })
    }

    /// Writes the report and renames it into place.
    pub fn commit(self, bytes: &[u8]) -> io::Result<()> {
        let mut file = OpenOptions::new().write(true).open(self.staged.path())?;
        file.write_all(bytes)?;
        file.flush()?;
        drop(file);
        self.staged.commit_replace(&self.target)
    }
}

/// A file written as a stream (an export) into a temporary file beside its target, and
/// renamed into place at the end, never over an existing file. Dropped uncommitted, the
/// temporary file is removed.
pub struct StreamFile {
    staged: Staged,
    target: PathBuf,
}

impl StreamFile {
    /// Creates the temporary file beside `target` (with the mode a new file gets under the
    /// umask); returns it and a handle to write the stream to.
    pub fn create(target: &Path) -> io::Result<(StreamFile, File)> {
        let staged = stage_beside(target)?;
        let file = OpenOptions::new().write(true).open(staged.path())?;
        Ok((
            StreamFile {
                staged,
                target: target.to_path_buf(),
            },
            file,
        ))
    }

    /// Renames the stream into place; [`WriteOutcome::Exists`] (and the temporary file
    /// removed) when something took the target's name meanwhile.
    pub fn commit(self) -> io::Result<WriteOutcome> {
        self.staged.commit_new(&self.target)
    }
}

/// An exclusive claim on a tree for one converting run, released when dropped (or when the
/// process dies): `flock` on the root directory, exclusive, and on each directory above it,
/// shared. Two runs on the same tree, or on nested trees, cannot both hold it; runs on
/// disjoint trees can. Nothing is written to the tree.
pub struct TreeLock {
    _held: Vec<File>,
}

/// Another process converts the tree, or a tree containing it or inside it.
#[derive(Debug, thiserror::Error)]
#[error("{} is busy: {} converts it, or a tree inside it or containing it (one converting run per tree); try again when that run has finished", path.display(), holder.map_or_else(|| "another process".to_owned(), |pid| format!("process {pid}")))]
pub struct Busy {
    pub path: PathBuf,
    pub holder: Option<u32>,
}

impl TreeLock {
    /// Claims `root` (a canonical directory path).
    pub fn acquire(root: &Path) -> Result<TreeLock, Busy> {
        TreeLock::claim(root, FlockOperation::NonBlockingLockExclusive)
    }

    /// Claims `root` for one shard of a split run: shards of the same tree hold it together
    /// (each converts its own files), an unsplit converting run on it, inside it or around it
    /// cannot.
    pub fn acquire_shared(root: &Path) -> Result<TreeLock, Busy> {
        TreeLock::claim(root, FlockOperation::NonBlockingLockShared)
    }

    fn claim(root: &Path, on_root: FlockOperation) -> Result<TreeLock, Busy> {
        let mut held = Vec::new();
        let mut claim = |dir: &Path, operation| -> Result<(), Busy> {
            // A directory that cannot be opened is left unlocked: nothing to share it with.
            let Ok(file) = File::open(dir) else {
                return Ok(());
            };
            match rustix::fs::flock(&file, operation) {
                Ok(()) => {
                    held.push(file);
                    Ok(())
                }
                Err(rustix::io::Errno::WOULDBLOCK) => Err(Busy {
                    path: dir.to_path_buf(),
                    holder: file
                        .metadata()
                        .ok()
                        .and_then(|m| lock_holder(m.dev(), m.ino())),
                }),
                Err(_) => Ok(()),
            }
        };
        // A run inside this tree holds our root shared, so the exclusive claim fails; a run on a
        // tree containing ours holds one of our ancestors exclusively, so a shared claim fails.
        claim(root, on_root)?;
        for ancestor in root.ancestors().skip(1) {
            claim(ancestor, FlockOperation::NonBlockingLockShared)?;
        }
        Ok(TreeLock { _held: held })
    }
}

/// The process holding a `flock` on the file `dev:ino`, from `/proc/locks`.
fn lock_holder(dev: u64, ino: u64) -> Option<u32> {
    proc_locks()
        .into_iter()
        .find(|l| (l.dev, l.ino) == (dev, ino) && l.pid != std::process::id())
        .map(|l| l.pid)
}

struct ProcLock {
    pid: u32,
    dev: u64,
    ino: u64,
}

fn proc_locks() -> Vec<ProcLock> {
    let Ok(text) = std::fs::read_to_string("/proc/locks") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(1) != Some(&"FLOCK") {
                return None;
            }
            let pid = fields.get(4)?.parse().ok()?;
            let mut id = fields.get(5)?.split(':');
            let major = u64::from_str_radix(id.next()?, 16).ok()?;
            let minor = u64::from_str_radix(id.next()?, 16).ok()?;
            let ino = id.next()?.parse().ok()?;
            Some(ProcLock {
                pid,
                dev: rustix::fs::makedev(major as u32, minor as u32),
                ino,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage_plain(dir: &Path, bytes: &[u8]) -> Staged {
        stage(dir, bytes, Durability::None, &Keep::default()).unwrap()
    }

    #[test]
    fn temporary_and_parked_names_are_recognised() {
        assert!(is_temporary(OsStr::new(".image-sidecar-a1B2c3.tmp")));
        assert!(!is_temporary(OsStr::new(".image-sidecar-.tmp")));
        assert!(!is_temporary(OsStr::new("image-sidecar-x.tmp")));
        assert!(!is_temporary(OsStr::new("IMG_0001.json")));
        assert!(!is_temporary(OsStr::new(".image-sidecar-old.x.tmp")));
        assert!(is_parked(OsStr::new(".image-sidecar-old.IMG_0001.json")));
        assert!(!is_parked(OsStr::new(".image-sidecar-old.")));
        let parked = parked_path(Path::new("/t/IMG_0001.json"));
        assert_eq!(parked, Path::new("/t/.image-sidecar-old.IMG_0001.json"));
        assert_eq!(
            unparked_path(&parked).unwrap(),
            Path::new("/t/IMG_0001.json")
        );
    }

    #[test]
    fn commit_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.bin");
        assert!(matches!(
            stage_plain(dir.path(), b"one").commit_new(&target).unwrap(),
            WriteOutcome::Written(_)
        ));
        assert!(matches!(
            stage(dir.path(), b"two", Durability::EachFile, &Keep::default())
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
    fn staged_files_keep_mode_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let keep = Keep {
            mode: Some(0o640),
            owner: None,
            mtime: Some((1_600_000_000, 123_456_789)),
        };
        let target = dir.path().join("k.bin");
        stage(dir.path(), b"x", Durability::None, &keep)
            .unwrap()
            .commit_new(&target)
            .unwrap();
        let meta = std::fs::metadata(&target).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        assert_eq!(
            (meta.mtime(), meta.mtime_nsec()),
            (1_600_000_000, 123_456_789)
        );
    }

    #[test]
    fn reads_are_bounded_and_refuse_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; 100]).unwrap();
        let mut buf = Vec::new();
        assert!(matches!(
            read_into(&big, &mut buf, 99),
            Err(ReadError::TooLarge {
                size: 100,
                limit: 99
            })
        ));
        assert!(buf.is_empty(), "nothing is read");
        read_into(&big, &mut buf, 100).unwrap();
        assert_eq!(buf.len(), 100);
        let fifo = dir.path().join("f.json");
        rustix::fs::mknodat(
            CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        assert!(matches!(
            read_into(&fifo, &mut buf, 100),
            Err(ReadError::NotRegular("a FIFO"))
        ));
    }

    #[test]
    fn exchange_swaps_names() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"A").unwrap();
        std::fs::write(&b, b"B").unwrap();
        if exchange(&a, &b).unwrap() {
            assert_eq!(std::fs::read(&a).unwrap(), b"B");
            assert_eq!(std::fs::read(&b).unwrap(), b"A");
        }
    }

    #[test]
    fn nested_trees_cannot_both_be_locked() {
        let dir = tempfile::tempdir().unwrap();
        let outer = std::fs::canonicalize(dir.path()).unwrap();
        let inner = outer.join("inner");
        std::fs::create_dir(&inner).unwrap();
        let sibling = outer.join("sibling");
        std::fs::create_dir(&sibling).unwrap();
        let held = TreeLock::acquire(&inner).unwrap();
        assert!(TreeLock::acquire(&inner).is_err(), "same tree");
        assert!(TreeLock::acquire(&outer).is_err(), "a tree containing it");
        let _sibling = TreeLock::acquire(&sibling).expect("a disjoint tree");
        drop(held);
        assert!(TreeLock::acquire(&inner).is_ok(), "released on drop");
    }
}
