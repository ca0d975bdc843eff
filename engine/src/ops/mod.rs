//! Operations over a tree of sidecars: each walks the candidates on the current rayon pool,
//! reads every file once, folds what it learns into a small accumulator and reduces those, so
//! memory stays flat however large the tree. Reports list files in path order, whatever the
//! number of workers.

pub mod convert;
pub mod format_stats;
pub mod stats;
pub mod summary;
pub mod validate;

use std::cell::RefCell;
use std::path::Path;

use serde::Serialize;

use crate::codec::{CodecError, Warning};
use crate::discover::WalkError;
use crate::fsio;
use crate::registry::{Identified, Registry, DETECT_BYTES};

/// Reports progress to whoever shows it (a progress bar on a terminal, or nobody).
pub trait Progress: Sync {
    fn advance(&self, files: u64);
}

impl Progress for () {
    fn advance(&self, _files: u64) {}
}

/// A path as reports print it. Names that are not UTF-8 show U+FFFD for the bytes that are not.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// One file that a report lists, with what is wrong with it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileResult {
    pub file_path: String,
    pub is_valid: bool,
    /// Display name of the format the content was read as; `null` when none applied.
    pub format: Option<String>,
    /// What is wrong, and where; `null` for a valid file.
    pub error: Option<String>,
    pub warnings: Vec<String>,
}

impl FileResult {
    fn from_walk_error(error: &WalkError) -> FileResult {
        FileResult {
            file_path: display_path(&error.path),
            is_valid: false,
            format: None,
            error: Some(error.message.clone()),
            warnings: Vec::new(),
        }
    }
}

/// Why a file could not be read as a document.
#[derive(Debug)]
pub enum ReadFailure {
    Io(std::io::Error),
    /// No codec claims the file's extension or content.
    Unrecognized,
    Codec {
        format: String,
        error: CodecError,
    },
}

impl ReadFailure {
    pub fn format(&self) -> Option<String> {
        match self {
            ReadFailure::Codec { format, .. } => Some(format.clone()),
            _ => None,
        }
    }
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFailure::Io(e) => write!(f, "cannot read the file: {e}"),
            ReadFailure::Unrecognized => f.write_str("no registered format recognises this file"),
            ReadFailure::Codec { error, .. } => write!(f, "{error}"),
        }
    }
}

thread_local! {
    /// Each worker reuses one read buffer for every file it reads.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads `path` into the worker's reusable buffer and calls `f` with its bytes.
pub fn with_bytes<T>(path: &Path, f: impl FnOnce(&[u8]) -> T) -> std::io::Result<T> {
    BUFFER.with(|cell| {
        // Taken, not borrowed, so that `f` may read another file through this function.
        let mut buffer = cell.take();
        let result = fsio::read_into(path, &mut buffer).map(|()| f(&buffer));
        cell.replace(buffer);
        result
    })
}

/// Reads `path`, identifies its format, and calls `f` with the codec and the bytes.
pub fn with_identified<T>(
    registry: &Registry,
    path: &Path,
    f: impl FnOnce(Identified<'_>, &[u8]) -> Result<T, ReadFailure>,
) -> Result<T, ReadFailure> {
    with_bytes(path, |bytes| {
        let head = &bytes[..bytes.len().min(DETECT_BYTES)];
        let identified = registry
            .identify(path, head, bytes.len() as u64)
            .ok_or(ReadFailure::Unrecognized)?;
        f(identified, bytes)
    })
    .unwrap_or_else(|e| Err(ReadFailure::Io(e)))
}

/// The warning for a file whose extension names another format than its content.
pub fn mismatch_warning(path: &Path, identified: &Identified<'_>) -> Option<Warning> {
    identified.extension_mismatch.then(|| {
        let ext = path.extension().unwrap_or_default().to_string_lossy();
        Warning {
            code: "extension-mismatch",
            message: format!(
                "named .{ext} but the content is {}; read by its content",
                identified.codec.display_name()
            ),
            location: None,
        }
    })
}
