//! The `Codec` trait every sidecar format implements, with the error and warning types codecs
//! report through. Errors say what is wrong and where (line and column for text, byte offset
//! for binary); the caller adds the file name.

use std::fmt;

use crate::value::{Value, View};

/// How sure a codec is that some bytes are its format, from their first bytes alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Detection {
    /// Not this format.
    No,
    /// Could be this format (text that starts like it, say); the extension decides ties.
    Plausible,
    /// Magic bytes or an equally certain signature.
    Certain,
}

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// 1-based line and column, for text formats.
    Line { line: usize, column: usize },
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
    pub kind: ErrorKind,
    pub message: String,
    pub location: Option<Location>,
}

impl CodecError {
    pub fn malformed(message: impl Into<String>, location: Option<Location>) -> CodecError {
        CodecError {
            kind: ErrorKind::Malformed,
            message: message.into(),
            location,
        }
    }

    pub fn unrepresentable(message: impl Into<String>, location: Option<Location>) -> CodecError {
        CodecError {
            kind: ErrorKind::Unrepresentable,
            message: message.into(),
            location,
        }
    }

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
    pub message: String,
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

/// A decoded document and what was noticed while reading it.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub value: Value,
    pub warnings: Vec<Warning>,
}

/// A sidecar format.
///
/// Every method takes arbitrary bytes: a codec returns an error for anything it cannot read and
/// never panics, recurses without bound, or allocates on the word of a length field.
pub trait Codec: Send + Sync {
    /// Short, lower-case name used on the command line (`json`).
    fn name(&self) -> &str;

    /// Name used as a key in reports (`Json`).
    fn display_name(&self) -> &str;

    /// Other names accepted on the command line (`binary` for `bin`).
    fn aliases(&self) -> &[&str] {
        &[]
    }

    /// File extensions without the leading dot, lower case, multi-part ones included
    /// (`jpg.xmp`); the first one without a dot is the one written, replacing a source's last
    /// extension.
    fn extensions(&self) -> &[&str];

    /// The version of the codec's implementation, for `plugins list`.
    fn version(&self) -> &str;

    /// Whether `head` (the first bytes of a file of `file_len` bytes) looks like this format.
    fn detect(&self, head: &[u8], file_len: u64) -> Detection;

    /// Reads a whole document into the value model.
    fn decode(&self, bytes: &[u8]) -> Result<Decoded, CodecError>;

    /// Checks `bytes` and hands the document to `visit` as a [`View`], with the warnings
    /// found while reading it. Zero-copy formats override this so that statistics and
    /// validators never build a [`Value`].
    fn inspect(
        &self,
        bytes: &[u8],
        visit: &mut dyn FnMut(View<'_>, &[Warning]),
    ) -> Result<(), CodecError> {
        let decoded = self.decode(bytes)?;
        visit(decoded.value.view(), &decoded.warnings);
        Ok(())
    }

    /// Whether this codec writes its format (read-only migration formats do not).
    fn can_encode(&self) -> bool {
        true
    }

    /// Whether other programs read files of this format (photo editors read XMP): converting
    /// away from it then keeps the source unless the user says otherwise.
    fn read_by_other_programs(&self) -> bool {
        false
    }

    /// Appends the encoding of a document to `out`, reading it through a view so that any
    /// representation converts without an owned copy.
    fn encode(&self, document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Appends the encoding of a document given as its canonical encoding (the form
    /// conversion checks copies against, see [`crate::canonical`]). The default reads it and
    /// calls [`Codec::encode`]; a format whose payload is the canonical encoding copies it.
    fn encode_canonical(&self, canonical: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
        crate::tape::with_tape(|tape| {
            crate::canonical::read(canonical, 0, tape)?;
            self.encode(tape.view(canonical).root(), out)
        })
    }
}

/// The extension a codec's files are written with: its first extension without a dot (or the
/// last part of its first one).
pub fn written_extension(codec: &dyn Codec) -> &str {
    let extensions = codec.extensions();
    extensions
        .iter()
        .find(|e| !e.contains('.'))
        .or(extensions.first())
        .map_or("out", |e| e.rsplit('.').next().unwrap_or(e))
}
