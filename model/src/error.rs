//! What codecs report: errors that say what is wrong and where (line and column for text, byte
//! offset for binary, a pointer inside the document), and warnings that do not make a document
//! invalid. The caller adds the file name.

use std::fmt;

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// 1-based line and column, for text formats.
    Line {
        /// The line, from 1.
        line: usize,
        /// The column in characters, from 1.
        column: usize,
    },
    /// 0-based byte offset, for binary formats.
    Offset(u64),
    /// A path inside the document (`/faces/0/bbox`), where no byte position applies.
    Pointer(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line { line, column } => write!(f, "line {line}, column {column}"),
            Location::Offset(offset) => write!(f, "byte offset {offset}"),
            Location::Pointer(path) => write!(f, "{path}"),
        }
    }
}

/// Why a codec could not read or write a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The bytes are not a valid document of this format (syntax, truncation, checksum, ...).
    Malformed,
    /// The document is valid but holds a value the model cannot keep exactly.
    Unrepresentable,
    /// The codec does not do this (writing a read-only format, say).
    Unsupported,
}

/// A codec's error: what is wrong, and where when that is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CodecError {
    /// What kind of failure it is.
    pub kind: ErrorKind,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Where, when that is known.
    pub location: Option<Location>,
}

impl CodecError {
    /// The bytes are not a valid document of the format.
    pub fn malformed(message: impl Into<String>, location: Option<Location>) -> CodecError {
        CodecError {
            kind: ErrorKind::Malformed,
            message: message.into(),
            location,
        }
    }

    /// The document holds a value the model cannot keep exactly.
    pub fn unrepresentable(message: impl Into<String>, location: Option<Location>) -> CodecError {
        CodecError {
            kind: ErrorKind::Unrepresentable,
            message: message.into(),
            location,
        }
    }

    /// The codec does not do this.
    pub fn unsupported(message: impl Into<String>) -> CodecError {
        CodecError {
            kind: ErrorKind::Unsupported,
            message: message.into(),
            location: None,
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        Ok(())
    }
}

/// Something worth knowing about a document that does not make it invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// A stable, kebab-case identifier scripts can match on (`non-standard-number`).
    pub code: &'static str,
    /// What was noticed, in a sentence.
    pub message: String,
    /// Where, when that is known.
    pub location: Option<Location>,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        Ok(())
    }
}
