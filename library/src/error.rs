//! What can go wrong reading, writing or merging a sidecar: one error type, naming the file
//! (when there is one), the format and where in the document.

use std::path::{Path, PathBuf};

use sidecar_engine::fsio::{ReadError, ReplaceError};
use sidecar_model::CodecError;

/// Why a sidecar was not read, written or merged.
///
/// ```
/// let error = image_sidecar::read(b"\x00\x01 not a sidecar").unwrap_err();
/// assert!(matches!(error, image_sidecar::Error::Unrecognized { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not a regular file, or larger than the size limit.
    #[error("{}: {source}", path.display())]
    NotRead {
        /// The file.
        path: PathBuf,
        /// Why it was not read.
        source: ReadError,
    },
    /// No format recognises the bytes (by content, nor by the file's extension).
    #[error("{}no registered format recognises this sidecar", at(path))]
    Unrecognized {
        /// The file, when the bytes came from one.
        path: Option<PathBuf>,
    },
    /// No format has this name.
    #[error("unknown format `{name}` (known: {known})")]
    UnknownFormat {
        /// The name asked for.
        name: String,
        /// The names there are, comma-separated.
        known: String,
    },
    /// The format is read only (the legacy format is read for migration, never written).
    #[error("the {0} format is read-only; write bin, rkyv, json or xmp")]
    ReadOnly(String),
    /// The bytes are of this format but do not decode.
    #[error("{}{format}: {error}", at(path))]
    Decode {
        /// The file, when the bytes came from one.
        path: Option<PathBuf>,
        /// The format's name (`json`).
        format: String,
        /// What is wrong, and where.
        error: CodecError,
    },
    /// The value cannot be written in this format.
    #[error("cannot write as {format}: {error}")]
    Encode {
        /// The format's name.
        format: String,
        /// What cannot be written, and where.
        error: CodecError,
    },
    /// The document does not fit the type asked for, or the type does not fit a sidecar.
    #[error("{}{error}", at(path))]
    Type {
        /// The file, when the bytes came from one.
        path: Option<PathBuf>,
        /// What does not fit, with its JSON pointer.
        error: sidecar_model::serde::Error,
    },
    /// Something is at the path already; nothing was written.
    #[error("{}: exists already; nothing written (pass Overwrite::Replace to replace it)", .0.display())]
    Exists(PathBuf),
    /// The file changed while it was being replaced; the other program's version is kept.
    #[error("{}: {source}", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
        /// What was kept, and where.
        source: ReplaceError,
    },
    /// An operation's section can only be set in a document that is an object.
    #[error("{}: the document is of kind {kind}, not an object; no section can be set in it", path.display())]
    NotAnObject {
        /// The sidecar.
        path: PathBuf,
        /// What the document is (`an array`).
        kind: &'static str,
    },
    /// An image has several sidecars and none is in the format asked for: which one to change
    /// is the caller's choice.
    #[error("{} has several sidecars ({}) and none in {format}; convert them to one, or name the sidecar", image.display(), list(sidecars))]
    Ambiguous {
        /// The image.
        image: PathBuf,
        /// Its sidecars.
        sidecars: Vec<PathBuf>,
        /// The format that would have chosen one.
        format: String,
    },
}

fn at(path: &Option<PathBuf>) -> String {
    path.as_deref()
        .map_or_else(String::new, |p| format!("{}: ", p.display()))
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// The same error, naming the file its bytes came from (for errors of bytes read by the
    /// caller).
    ///
    /// ```
    /// let error = image_sidecar::read(b"{").unwrap_err().in_file("IMG.json".as_ref());
    /// assert!(error.to_string().starts_with("IMG.json: json: "), "{error}");
    /// ```
    pub fn in_file(self, file: &Path) -> Error {
        let path = Some(file.to_owned());
        match self {
            Error::Unrecognized { .. } => Error::Unrecognized { path },
            Error::Decode { format, error, .. } => Error::Decode {
                path,
                format,
                error,
            },
            Error::Type { error, .. } => Error::Type { path, error },
            other => other,
        }
    }
}
