//! The results cache: what a read-only pass made of each file (its [`FileRecord`]), kept
//! between runs and keyed by the file's identity (device, inode, size, modification and change
//! times in nanoseconds), as backup tools' files caches and git's index do. A nightly run over
//! a mostly unchanged tree walks it, folds unchanged files from their records and reads only
//! the rest.
//!
//! Never a wrong answer:
//! - The cache file's name and header carry a fingerprint of everything that can change a
//!   result (tool version and build, plugin versions and libraries, validators and their
//!   options, schema files by content, walk rules, size limit, the input root); any change
//!   starts a new cache.
//! - A record is used only if the file's identity is the one it was read with, its image is
//!   present or absent as it was (validators and summaries see that), and the file's
//!   times are older than the cache's own start by more than the slack (one second by default;
//!   git's "racy" rule: a change within the file system's timestamp granularity could otherwise
//!   hide).
//! - A truncated, corrupt or foreign cache file (checksum, magic, header) is ignored and
//!   rebuilt. Cache files are replaced atomically, so two runs at once cannot corrupt them.
//! - A cache file is believed only if it and its directory belong to the user running the tool
//!   and nobody else can write them, and it is a regular file of at most [`MAX_CACHE_BYTES`]
//!   (`fsio::read_private`): a record says a file is valid, so another user must not be able
//!   to forge one. Otherwise the run goes without a cache and [`ResultsCache::notice`] says why;
//!   a file the user's own directory holds is then replaced by a private one.
//!
//! On disk: `ISRCACH4`, a bincode header (fingerprint, start time, entry count, the entries'
//! length), the entries compressed as one LZ4 block (each entry its length, then path below
//! the input, identity, whether the image was there, and record in bincode; paths and counter
//! names repeat from file to file, so the block is a fifth of their size), and a CRC-32 of
//! everything before it.
//! Loading decodes paths and identities only; a record is decoded when its file turns out
//! unchanged, and its bytes are copied as they are into the next cache. A run in which every
//! record was used and no file was read leaves the cache file as it is.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::discover::Candidate;
use crate::fsio::{FileMeta, Identity};
use crate::ops::{FileRecord, Records};

const MAGIC: &[u8; 8] = b"ISRCACH4";
/// A cache file larger than this is not read (nor written): about 8 million files' records.
pub const MAX_CACHE_BYTES: u64 = 256 << 20;
/// No single entry of a valid cache is larger: a garbage length never allocates more.
const ENTRY_LIMIT: usize = 16 << 20;
/// How much larger than its compressed form an LZ4 block can be, at most: a garbage length
/// in the header never allocates more than this many times the file's size.
const LZ4_MAX_RATIO: usize = 255;

#[derive(Serialize, Deserialize)]
struct Header {
    fingerprint: u128,
    /// When the run that wrote the cache started (seconds, nanoseconds).
    started: (i64, i64),
    entries: u64,
    /// The entries' length before compression.
    body_len: u64,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    has_image: bool,
}

impl Stamp {
    fn of(id: &Identity, has_image: bool) -> Stamp {
        Stamp {
            dev: id.dev,
            ino: id.ino,
            size: id.size,
            mtime: id.mtime,
            ctime: id.ctime,
            has_image,
        }
    }
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<ENTRY_LIMIT>()
}

/// The results cache of one input root and one fingerprint.
pub struct ResultsCache {
    file: PathBuf,
    fingerprint: u128,
    /// When the loaded cache's run started, less the slack; records of files changed later
    /// are not trusted.
    trusted_before: Option<(i64, i64)>,
    /// The loaded cache's entries, and each entry's stamp and place in them (records are
    /// decoded only when used, and copied as they are into the new cache).
    old_bytes: Vec<u8>,
    old: Index,
    /// Which loaded entries this run used: they go into the next cache.
    used: Vec<AtomicBool>,
    started: (i64, i64),
    /// The entries of the files this run read.
    new: Mutex<Vec<u8>>,
    new_entries: AtomicU64,
    /// Why the cache file on disk is not used, when it is not.
    notice: Option<String>,
    /// The file is not to be replaced either (its directory is not the user's own).
    keep_file: bool,
}

fn seconds_and_nanos(time: SystemTime) -> (i64, i64) {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (since.as_secs() as i64, i64::from(since.subsec_nanos()))
}

/// The file holding the cache of `root` (a canonical path) under `fingerprint`.
pub fn cache_file(dir: &Path, root: &Path, fingerprint: u128) -> PathBuf {
    let root = xxhash_rust::xxh3::xxh3_64(root.as_os_str().as_bytes());
    dir.join(format!("{root:016x}-{:016x}.cache", fingerprint as u64))
}

impl ResultsCache {
    /// Opens (or starts) the cache in `file` for `fingerprint`, for a run that started at
    /// `started` (before it looked at any file: the next run trusts only records of files
    /// older than that). Whatever is wrong with the file (missing, truncated, garbage, another
    /// fingerprint) gives an empty cache; a file that is not to be believed (see the module
    /// doc) also gives a [`ResultsCache::notice`].
    pub fn open(
        file: PathBuf,
        fingerprint: u128,
        slack: std::time::Duration,
        started: SystemTime,
    ) -> ResultsCache {
        let started = seconds_and_nanos(started);
        let mut cache = ResultsCache {
            file,
            fingerprint,
            trusted_before: None,
            old_bytes: Vec::new(),
            old: Index::default(),
            used: Vec::new(),
            started,
            new: Mutex::new(Vec::new()),
            new_entries: AtomicU64::new(0),
            notice: None,
            keep_file: false,
        };
        let bytes = match crate::fsio::read_private(&cache.file, MAX_CACHE_BYTES) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(refused) => {
                cache.notice = Some(format!(
                    "the results cache is not used: {}; this run reads every file{}",
                    refused.reason,
                    if refused.replaceable {
                        " and writes a new cache"
                    } else {
                        ""
                    }
                ));
                cache.keep_file = !refused.replaceable;
                Vec::new()
            }
        };
        if let Some((header, body, entries)) = parse(&bytes, fingerprint) {
            cache.old_bytes = body;
            cache.used = entries
                .slots
                .iter()
                .map(|_| AtomicBool::new(false))
                .collect();
            let slack_ns = slack.as_nanos().min(i128::MAX as u128) as i128;
            let start = i128::from(header.started.0) * 1_000_000_000 + i128::from(header.started.1);
            let before = start - slack_ns;
            cache.trusted_before = Some((
                before.div_euclid(1_000_000_000) as i64,
                before.rem_euclid(1_000_000_000) as i64,
            ));
            cache.old = entries;
        }
        cache
    }

    /// Why the cache file on disk was not used, when it was not believed.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// How many records the loaded cache holds.
    pub fn len(&self) -> usize {
        self.old.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.old.slots.is_empty()
    }

    /// Keeps the record of a file this run read.
    fn keep(&self, rel: &[u8], stamp: &Stamp, record: &FileRecord) {
        let Ok(entry) = bincode::serde::encode_to_vec((rel, stamp, record), config()) else {
            return;
        };
        let Ok(len) = u32::try_from(entry.len()) else {
            return;
        };
        let mut new = self.new.lock().unwrap_or_else(|e| e.into_inner());
        new.extend_from_slice(&len.to_le_bytes());
        new.extend_from_slice(&entry);
        drop(new);
        self.new_entries.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes the records of this run (atomically); a failure only costs the next run a read,
    /// and the error says what it was. When the run used every loaded record and read no file,
    /// the cache file already says all this run would write (its start time included, which
    /// the racy rule needs), and is left as it is. A file that was not believed is replaced when
    /// its directory is the user's own, and left alone otherwise.
    pub fn save(self) -> Result<(), String> {
        if self.keep_file {
            return Ok(());
        }
        let new = self.new.into_inner().unwrap_or_else(|e| e.into_inner());
        let used: Vec<bool> = self.used.into_iter().map(AtomicBool::into_inner).collect();
        let unchanged = self.trusted_before.is_some() && new.is_empty() && !used.contains(&false);
        if unchanged {
            return Ok(());
        }
        let mut body = Vec::with_capacity(self.old_bytes.len() + new.len());
        let mut entries = self.new_entries.into_inner();
        for (slot, _) in self.old.slots.iter().zip(&used).filter(|(_, used)| **used) {
            let entry = &self.old_bytes[slot.entry.clone()];
            body.extend_from_slice(&(entry.len() as u32).to_le_bytes());
            body.extend_from_slice(entry);
            entries += 1;
        }
        body.extend_from_slice(&new);
        let header = Header {
            fingerprint: self.fingerprint,
            started: self.started,
            entries,
            body_len: body.len() as u64,
        };
        let not_saved = |why: String| {
            format!(
                "the results cache {} was not saved: {why}; the next run reads every file again",
                self.file.display()
            )
        };
        let mut bytes = bincode::serde::encode_to_vec(&header, config())
            .map_err(|e| not_saved(e.to_string()))?;
        bytes.splice(0..0, MAGIC.iter().copied());
        bytes.extend_from_slice(&lz4_flex::block::compress(&body));
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        if bytes.len() as u64 > MAX_CACHE_BYTES {
            return Err(not_saved(format!(
                "{} bytes, over the limit of {MAX_CACHE_BYTES}",
                bytes.len()
            )));
        }
        crate::fsio::write_private(&self.file, &bytes).map_err(|e| not_saved(e.to_string()))
    }
}

/// Where an entry is in the loaded bytes: the whole entry (without its length), its path, and
/// where its record starts.
struct Slot {
    stamp: Stamp,
    entry: std::ops::Range<usize>,
    rel: std::ops::Range<usize>,
    record: usize,
}

/// The loaded entries in file order, and their places by the hash of their path (the path
/// itself is checked on lookup): loading allocates nothing per entry.
#[derive(Default)]
struct Index {
    slots: Vec<Slot>,
    by_path: HashMap<u64, usize, xxhash_rust::xxh3::Xxh3DefaultBuilder>,
}

/// Reads a cache file: its header, its entries uncompressed, and each entry's path, stamp and
/// byte range (its record is decoded when used). `None` for anything but a whole cache of this
/// fingerprint.
fn parse(bytes: &[u8], fingerprint: u128) -> Option<(Header, Vec<u8>, Index)> {
    let checked_len = bytes.len().checked_sub(4)?;
    let (checked, crc) = bytes.split_at(checked_len);
    if crc32fast::hash(checked).to_le_bytes() != crc || !checked.starts_with(MAGIC) {
        return None;
    }
    let (header, used): (Header, usize) =
        bincode::serde::decode_from_slice(&checked[MAGIC.len()..], config()).ok()?;
    if header.fingerprint != fingerprint {
        return None;
    }
    let compressed = &checked[MAGIC.len() + used..];
    let body_len = usize::try_from(header.body_len).ok()?;
    if body_len > compressed.len().saturating_mul(LZ4_MAX_RATIO) {
        return None;
    }
    let mut body = vec![0; body_len];
    if lz4_flex::block::decompress_into(compressed, &mut body).ok()? != body_len {
        return None;
    }
    let index = index(&body, header.entries)?;
    Some((header, body, index))
}

/// The entries of a cache's body; `None` unless they fill it exactly.
fn index(body: &[u8], count: u64) -> Option<Index> {
    let capacity = count.min(body.len() as u64 / 4) as usize;
    let mut entries = Index {
        slots: Vec::with_capacity(capacity),
        by_path: HashMap::with_capacity_and_hasher(capacity, Default::default()),
    };
    let mut at = 0;
    for _ in 0..count {
        let len = u32::from_le_bytes(body.get(at..at + 4)?.try_into().ok()?) as usize;
        let range = at + 4..(at + 4).checked_add(len)?;
        let entry = body.get(range.clone())?;
        let ((rel, stamp), head): ((&[u8], Stamp), usize) =
            bincode::serde::borrow_decode_from_slice(entry, config()).ok()?;
        let rel_start = rel.as_ptr() as usize - body.as_ptr() as usize;
        entries
            .by_path
            .insert(xxhash_rust::xxh3::xxh3_64(rel), entries.slots.len());
        entries.slots.push(Slot {
            stamp,
            entry: range,
            rel: rel_start..rel_start + rel.len(),
            record: at + 4 + head,
        });
        at += 4 + len;
    }
    (at == body.len()).then_some(entries)
}

thread_local! {
    /// The directory of the last file a worker looked up, open: candidates come in path
    /// order, so most lookups stat a name in it instead of walking the whole path again.
    static LAST_DIR: std::cell::RefCell<Option<(PathBuf, std::os::fd::OwnedFd)>> =
        const { std::cell::RefCell::new(None) };
}

/// The identity of the file at `path` now (links followed, as reading follows them).
fn stat(path: &Path, has_image: bool) -> Option<Stamp> {
    use rustix::fs::{AtFlags, Mode, OFlags};
    let (dir, name) = (crate::fsio::parent(path), path.file_name()?);
    LAST_DIR.with(|cell| {
        let mut last = cell.borrow_mut();
        if last.as_ref().is_none_or(|(held, _)| held.as_path() != dir) {
            let fd = rustix::fs::open(
                dir,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()?;
            *last = Some((dir.to_path_buf(), fd));
        }
        let (_, fd) = last.as_ref()?;
        let st = rustix::fs::statat(fd, name, AtFlags::empty()).ok()?;
        Some(Stamp {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime: (st.st_mtime, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime, st.st_ctime_nsec as i64),
            has_image,
        })
    })
}

impl Records for ResultsCache {
    fn lookup(&self, candidate: Candidate<'_>, path: &Path) -> Option<FileRecord> {
        let trusted_before = self.trusted_before?;
        let rel = candidate.rel.as_os_str().as_bytes();
        let id = *self.old.by_path.get(&xxhash_rust::xxh3::xxh3_64(rel))?;
        let slot = &self.old.slots[id];
        if self.old_bytes.get(slot.rel.clone())? != rel {
            return None;
        }
        let (stamp, range) = (&slot.stamp, &slot.entry);
        let now = stat(path, candidate.has_image)?;
        // Changed too close to the cached run's start: the timestamps cannot be trusted to show
        // a later change.
        let settled = |t: (i64, i64)| t < trusted_before;
        if now != *stamp || !settled(now.mtime) || !settled(now.ctime) {
            return None;
        }
        let (record, _): (FileRecord, usize) =
            bincode::serde::decode_from_slice(&self.old_bytes[slot.record..range.end], config())
                .ok()?;
        self.used[id].store(true, Ordering::Relaxed);
        Some(record)
    }

    fn store(&self, candidate: Candidate<'_>, meta: &FileMeta, record: FileRecord) {
        let rel = candidate.rel.as_os_str().as_bytes();
        self.keep(
            rel,
            &Stamp::of(&meta.identity, candidate.has_image),
            &record,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{stats, validate, StageRecord};
    use crate::summary::Counter;

    const SLACK: std::time::Duration = std::time::Duration::from_secs(1);

    fn sample() -> FileRecord {
        FileRecord::Read {
            format: "Json".into(),
            len: 120,
            recognized: true,
            digest: Some(7),
            stages: vec![
                StageRecord::Validate(validate::Outcome {
                    error: Some("bad".into()),
                    warnings: vec![("dup".into(), "duplicate".into())],
                }),
                StageRecord::Stats(stats::Outcome {
                    counters: vec![vec![
                        Counter::Tally([("face".to_owned(), 1)].into_iter().collect()),
                        Counter::Total(3),
                    ]],
                }),
                StageRecord::FormatStats(()),
            ],
        }
    }

    #[test]
    fn records_survive_a_save_and_garbage_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("t");
        std::fs::create_dir(&tree).unwrap();
        let sidecar = tree.join("a.json");
        std::fs::write(&sidecar, b"{}").unwrap();
        // Old enough to be trusted.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&sidecar)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let file = dir.path().join("c.cache");
        let candidate = Candidate {
            base: &tree,
            rel: Path::new("a.json"),
            has_image: false,
            linked: false,
            outside: false,
            directory_file: false,
        };
        let first = ResultsCache::open(file.clone(), 7, SLACK, SystemTime::now());
        assert!(first.lookup(candidate, &candidate.path()).is_none());
        let meta = FileMeta::of(&std::fs::metadata(&sidecar).unwrap());
        first.store(candidate, &meta, sample());
        first.save().unwrap();
        // The file's change time is now: the next run started later, but within a second a
        // change could hide; simulate a run started well after.
        let mut second = ResultsCache::open(file.clone(), 7, SLACK, SystemTime::now());
        assert_eq!(second.len(), 1);
        second.trusted_before = Some((seconds_and_nanos(SystemTime::now()).0 + 10, 0));
        assert_eq!(second.lookup(candidate, &candidate.path()), Some(sample()));
        assert_eq!(
            ResultsCache::open(file.clone(), 8, SLACK, SystemTime::now()).len(),
            0,
            "another fingerprint"
        );

        let bytes = std::fs::read(&file).unwrap();
        for cut in [0, 4, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&file, &bytes[..cut]).unwrap();
            assert_eq!(
                ResultsCache::open(file.clone(), 7, SLACK, SystemTime::now()).len(),
                0,
                "truncated at {cut}"
            );
        }
        let mut flipped = bytes.clone();
        flipped[12] ^= 0xff;
        std::fs::write(&file, &flipped).unwrap();
        assert_eq!(
            ResultsCache::open(file.clone(), 7, SLACK, SystemTime::now()).len(),
            0,
            "corrupt"
        );
        std::fs::write(&file, b"garbage").unwrap();
        assert_eq!(
            ResultsCache::open(file, 7, SLACK, SystemTime::now()).len(),
            0,
            "foreign"
        );
    }

    #[test]
    fn a_file_changed_in_place_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let sidecar = dir.path().join("a.json");
        std::fs::write(&sidecar, b"{}").unwrap();
        let file = dir.path().join("c.cache");
        let candidate = Candidate {
            base: dir.path(),
            rel: Path::new("a.json"),
            has_image: false,
            linked: false,
            outside: false,
            directory_file: false,
        };
        let first = ResultsCache::open(file.clone(), 1, SLACK, SystemTime::now());
        first.store(
            candidate,
            &FileMeta::of(&std::fs::metadata(&sidecar).unwrap()),
            sample(),
        );
        first.save().unwrap();
        std::fs::write(&sidecar, b"[]").unwrap();
        let mut second = ResultsCache::open(file, 1, SLACK, SystemTime::now());
        second.trusted_before = Some((seconds_and_nanos(SystemTime::now()).0 + 10, 0));
        assert!(
            second.lookup(candidate, &candidate.path()).is_none(),
            "same size, new times"
        );
    }
}
