//! Which libraries may run in this process, decided on the file that is then loaded.
//!
//! A check by path followed by a load by path can be raced: a link swapped in between loads
//! something nobody checked. So the check opens: it resolves the path once, then opens every
//! directory from `/` down and the library itself without following links, judging each by the
//! descriptor it opened (`fstat`), as sshd's StrictModes judges files. The library is then
//! loaded through that descriptor (`/proc/self/fd/N`), by this process or the scanner it hands
//! the descriptor to: what was checked is what runs.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, Stat};

/// A command run once after a library passed its check and before anyone loads it, for tests
/// that swap the path in between.
pub const HOOK_VAR: &str = "IMAGE_SIDECAR_TEST_HOOK_AFTER_TRUST_CHECK";

/// What identifies a file's content without reading it: a change of any of these (or of the
/// bytes, see [`TrustedFile::content_hash`]) is a new library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl FileIdentity {
    fn of(st: &Stat) -> FileIdentity {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        FileIdentity {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime_ns: ns(st.st_mtime, st.st_mtime_nsec as i64),
            ctime_ns: ns(st.st_ctime, st.st_ctime_nsec as i64),
        }
    }
}

/// A file that passed the trust check (a library, or a pipeline that names plugin
/// directories), held open.
pub struct TrustedFile {
    file: File,
    identity: FileIdentity,
    hash: std::sync::OnceLock<std::io::Result<u128>>,
}

impl TrustedFile {
    /// Checks `path` and opens the regular file it names. The error names the first path that
    /// fails and the command that fixes it.
    pub fn open(path: &Path) -> Result<TrustedFile, String> {
        let (fd, st) = open_checked(path, Final::Library)?;
        run_hook();
        Ok(TrustedFile {
            file: File::from(fd),
            identity: FileIdentity::of(&st),
            hash: std::sync::OnceLock::new(),
        })
    }

    /// The opened file's identity, as checked.
    pub fn identity(&self) -> FileIdentity {
        self.identity
    }

    /// The opened file's bytes as text.
    pub fn read_to_string(&self) -> std::io::Result<String> {
        use std::io::Read;
        let mut file = &self.file;
        std::io::Seek::rewind(&mut file)?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        Ok(text)
    }

    /// An XXH3-128 hash of the opened file's bytes (computed once).
    pub fn content_hash(&self) -> Result<u128, String> {
        self.hash
            .get_or_init(|| self.hash_bytes())
            .as_ref()
            .map(|h| *h)
            .map_err(|e| e.to_string())
    }

    /// The identity and content hash as one line, for fingerprints.
    pub fn stamp(&self) -> String {
        match self.content_hash() {
            Ok(hash) => format!("{:?} {hash:032x}", self.identity),
            Err(e) => format!("{:?} unreadable: {e}", self.identity),
        }
    }

    fn hash_bytes(&self) -> std::io::Result<u128> {
        use std::io::Read;
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut buf = vec![0; 1 << 16];
        let mut file = &self.file;
        std::io::Seek::rewind(&mut file)?;
        loop {
            match file.read(&mut buf)? {
                0 => return Ok(hasher.digest128()),
                n => hasher.update(&buf[..n]),
            }
        }
    }

    /// Runs `spawn` with the descriptor left open across `exec`, so that a child started
    /// meanwhile can load [`TrustedFile::loader_path`]. Libraries are scanned one at a time
    /// before any worker starts, so no other child inherits it.
    pub fn inherited<T>(&self, spawn: impl FnOnce() -> T) -> std::io::Result<T> {
        use rustix::io::{fcntl_getfd, fcntl_setfd, FdFlags};
        let fd = self.file.as_fd();
        let flags = fcntl_getfd(fd)?;
        fcntl_setfd(fd, flags - FdFlags::CLOEXEC)?;
        let spawned = spawn();
        fcntl_setfd(fd, flags)?;
        Ok(spawned)
    }

    /// The path the dynamic loader opens: this descriptor's, never the name that was checked.
    pub fn loader_path(&self) -> PathBuf {
        descriptor_path(self.file.as_raw_fd())
    }

    /// Keeps the descriptor open for the life of the process: a loaded library is never
    /// unloaded, and the loader knows it by its `/proc/self/fd/N` name, which must never name
    /// another library later.
    pub(crate) fn keep_open(self) {
        std::mem::forget(self.file);
    }
}

/// The path under which a process opens its descriptor `fd`.
fn descriptor_path(fd: i32) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{fd}"))
}

/// Whether a path may be used as a plugin place: it and every directory above it are owned by
/// root or the current user and not writable by group or others (a root-owned sticky
/// directory such as `/tmp` is accepted above it: nobody else can replace what it holds).
pub fn trusted(path: &Path) -> Result<(), String> {
    open_checked(path, Final::Any).map(drop)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Final {
    /// A regular file, opened for reading.
    Library,
    /// Whatever it is, opened as a path only.
    Any,
}

fn run_hook() {
    if let Ok(command) = std::env::var(HOOK_VAR) {
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .status();
    }
}

fn open_checked(path: &Path, last: Final) -> Result<(OwnedFd, Stat), String> {
    let real = std::fs::canonicalize(path)
        .map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
    let me = rustix::process::geteuid().as_raw();
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut at = PathBuf::from("/");
    let mut fd = rustix::fs::open("/", dir_flags, Mode::empty())
        .map_err(|e| format!("cannot open /: {e}"))?;
    let names: Vec<_> = real
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect();
    let mut st = stat(&fd, &at)?;
    judge(&at, &st, me, !names.is_empty())?;
    for (i, name) in names.iter().enumerate() {
        at.push(name);
        let is_last = i + 1 == names.len();
        let flags = match (is_last, last) {
            (false, _) => dir_flags,
            (true, Final::Any) => OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            // Non-blocking: a FIFO put in the library's place must not hang the run.
            (true, Final::Library) => {
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC
            }
        };
        fd = rustix::fs::openat(&fd, *name, flags, Mode::empty()).map_err(|e| match e {
            rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => format!(
                "{} changed while it was checked (now a symbolic link or not a directory); not loaded",
                at.display()
            ),
            e => format!("cannot open {}: {e}", at.display()),
        })?;
        st = stat(&fd, &at)?;
        judge(&at, &st, me, !is_last)?;
        if is_last
            && last == Final::Library
            && !rustix::fs::FileType::from_raw_mode(st.st_mode).is_file()
        {
            return Err(format!(
                "{} is not a regular file; not loaded",
                at.display()
            ));
        }
    }
    Ok((fd, st))
}

fn stat(fd: &OwnedFd, at: &Path) -> Result<Stat, String> {
    rustix::fs::fstat(fd).map_err(|e| format!("cannot inspect {}: {e}", at.display()))
}

/// The ownership and permission rule for one opened path (`above`: a directory holding the
/// rest of the path).
fn judge(at: &Path, st: &Stat, me: u32, above: bool) -> Result<(), String> {
    let mode = st.st_mode;
    if st.st_uid != 0 && st.st_uid != me {
        return Err(format!(
            "{} is owned by uid {}, neither root nor you; libraries load only from places you control",
            at.display(),
            st.st_uid
        ));
    }
    let writable = mode & 0o022 != 0;
    let sticky_root_dir = above && st.st_uid == 0 && mode & 0o1000 != 0;
    if writable && !sticky_root_dir {
        return Err(format!(
            "{} is writable by {} (mode {:04o}); libraries load only from places others cannot change: chmod go-w {}",
            at.display(),
            if mode & 0o002 != 0 { "everyone" } else { "its group" },
            mode & 0o7777,
            at.display()
        ));
    }
    Ok(())
}
