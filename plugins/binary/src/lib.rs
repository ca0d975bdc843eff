//! The Binary codec (`.bin`): the model's canonical encoding (bincode 2, varint integers,
//! little endian, float arrays packed) inside the model's checksummed frame. The byte layout is
//! specified in `docs/formats.md`.

use sidecar_model::canonical;
use sidecar_model::frame::{FrameSpec, HEADER_LEN};
use sidecar_model::tape::with_tape;
use sidecar_model::{Codec, CodecError, CodecRegistration, Decoded, Detection, View, Warning};

/// The frame every Binary file starts with.
pub const FRAME: FrameSpec = FrameSpec {
    magic: *b"\x89ISB\r\n\x1a\n",
    version: 1,
    format: "Binary",
};

/// The Binary sidecar format.
pub struct BinaryCodec;

impl Codec for BinaryCodec {
    fn name(&self) -> &str {
        "bin"
    }

    fn display_name(&self) -> &str {
        "Binary"
    }

    fn aliases(&self) -> &[&str] {
        &["binary"]
    }

    fn extensions(&self) -> &[&str] {
        &["bin"]
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn detect(&self, head: &[u8], _file_len: u64) -> Detection {
        if FRAME.matches(head) {
            Detection::Certain
        } else {
            Detection::No
        }
    }

    fn decode(&self, bytes: &[u8]) -> Result<Decoded, CodecError> {
        let payload = FRAME.open(bytes)?;
        let value = canonical::decode(payload, HEADER_LEN as u64)?;
        Ok(Decoded {
            value,
            warnings: Vec::new(),
        })
    }

    /// Reads the payload onto a reused tape: packed float arrays are not unpacked unless read.
    fn inspect(
        &self,
        bytes: &[u8],
        visit: &mut dyn FnMut(View<'_>, &[Warning]),
    ) -> Result<(), CodecError> {
        let payload = FRAME.open(bytes)?;
        with_tape(|tape| {
            canonical::read(payload, HEADER_LEN as u64, tape)?;
            visit(tape.view(payload).root(), &[]);
            Ok(())
        })
    }

    fn encode(&self, document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let start = FRAME.begin(out);
        canonical::encode(document, out);
        FRAME.seal(out, start);
        Ok(())
    }

    /// The payload is the canonical encoding: framed as it is.
    fn encode_canonical(&self, canonical: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let start = FRAME.begin(out);
        out.extend_from_slice(canonical);
        FRAME.seal(out, start);
        Ok(())
    }
}

fn make() -> Box<dyn Codec> {
    Box::new(BinaryCodec)
}

inventory::submit! { CodecRegistration::new(make) }
