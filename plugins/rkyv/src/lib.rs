//! The Rkyv codec (`.rkyv`): an rkyv 0.8 archive of the value tree inside the model's
//! checksummed frame. Validation and statistics read the archive in place through validated
//! zero-copy access; only `decode` (for conversion) builds an owned value. Arrays whose elements
//! are all floats are archived packed, as in the Binary format. Layout: `docs/formats.md`.

mod archive;

use std::num::NonZeroUsize;

use rkyv::rancor;
use rkyv::util::AlignedVec;
use rkyv::validation::archive::ArchiveValidator;
use rkyv::validation::shared::SharedValidator;
use rkyv::validation::Validator;
use sidecar_model::error::Location;
use sidecar_model::frame::{FrameSpec, HEADER_LEN};
use sidecar_model::{
    Codec, CodecError, CodecRegistration, Decoded, Detection, Value, View, Warning, MAX_DEPTH,
};

use crate::archive::{ArchivedNode, Node};

/// The frame every Rkyv file starts with.
pub const FRAME: FrameSpec = FrameSpec {
    magic: *b"\x89ISR\r\n\x1a\n",
    version: 1,
    format: "Rkyv",
};

/// Alignment the archive needs; the payload is copied when a buffer does not provide it.
const ALIGN: usize = 16;

/// The Rkyv sidecar format.
pub struct RkyvCodec;

impl RkyvCodec {
    /// Checks the frame and the archive, then hands the archived root to `f`.
    fn with_archive<T>(
        &self,
        bytes: &[u8],
        f: impl FnOnce(&ArchivedNode) -> T,
    ) -> Result<T, CodecError> {
        let payload = FRAME.open(bytes)?;
        if (payload.as_ptr() as usize).is_multiple_of(ALIGN) {
            access(payload).map(f)
        } else {
            let mut aligned = AlignedVec::<ALIGN>::with_capacity(payload.len());
            aligned.extend_from_slice(payload);
            access(&aligned).map(f)
        }
    }
}

fn access(payload: &[u8]) -> Result<&ArchivedNode, CodecError> {
    // rkyv counts the root and the innermost vector as subtree levels too: `MAX_DEPTH` nested
    // containers pass, one more does not (tested).
    let mut validator = Validator::new(
        ArchiveValidator::with_max_depth(payload, NonZeroUsize::new(MAX_DEPTH + 2)),
        SharedValidator::new(),
    );
    rkyv::api::access_with_context::<ArchivedNode, _, rancor::Error>(payload, &mut validator)
        .map_err(|e| {
            CodecError::malformed(
                format!("invalid Rkyv archive: {e}"),
                Some(Location::Offset(HEADER_LEN as u64)),
            )
        })
}

impl Codec for RkyvCodec {
    fn name(&self) -> &str {
        "rkyv"
    }

    fn display_name(&self) -> &str {
        "Rkyv"
    }

    fn extensions(&self) -> &[&str] {
        &["rkyv"]
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
        let value = self
            .with_archive(bytes, |root| Value::from_view(root.view(), MAX_DEPTH))?
            .map_err(|_| {
                CodecError::malformed(format!("nesting deeper than {MAX_DEPTH} levels"), None)
            })?;
        Ok(Decoded {
            value,
            warnings: Vec::new(),
        })
    }

    fn inspect(
        &self,
        bytes: &[u8],
        visit: &mut dyn FnMut(View<'_>, &[Warning]),
    ) -> Result<(), CodecError> {
        self.with_archive(bytes, |root| visit(root.view(), &[]))
    }

    fn encode(&self, document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let node = Node::from_view(document);
        let archived = rkyv::to_bytes::<rancor::Error>(&node).map_err(|e| {
            CodecError::unrepresentable(format!("cannot archive the document: {e}"), None)
        })?;
        let start = FRAME.begin(out);
        out.extend_from_slice(&archived);
        FRAME.seal(out, start);
        Ok(())
    }
}

fn make() -> Box<dyn Codec> {
    Box::new(RkyvCodec)
}

inventory::submit! { CodecRegistration::new(make) }
