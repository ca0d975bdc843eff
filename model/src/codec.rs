//! The `Codec` trait every sidecar format implements, and its registration for codecs linked
//! into the binary. Codecs report through the types of [`crate::error`].

use crate::error::{CodecError, Warning};
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

/// A decoded document and what was noticed while reading it.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The document.
    pub value: Value,
    /// What was noticed while reading it, in file order.
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

    /// Appends the document of `bytes`, a file of this format that reads without error, as
    /// one line of compact JSON (`NaN` and the infinities as Python writes them), when the
    /// codec can do that from the bytes alone; says whether it did. JSON drops the white space
    /// between tokens and keeps every token as the file writes it, which is faster than writing
    /// the values again. The default does not, and the caller writes the values.
    fn write_compact_json(&self, _bytes: &[u8], _out: &mut Vec<u8>) -> bool {
        false
    }

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

/// A codec linked into the binary, registered with `inventory::submit!`.
pub struct CodecRegistration {
    make: fn() -> Box<dyn Codec>,
}

impl CodecRegistration {
    /// A registration of the codec `make` builds.
    pub const fn new(make: fn() -> Box<dyn Codec>) -> CodecRegistration {
        CodecRegistration { make }
    }

    /// Builds the registered codec.
    pub fn make(&self) -> Box<dyn Codec> {
        (self.make)()
    }
}

inventory::collect!(CodecRegistration);
