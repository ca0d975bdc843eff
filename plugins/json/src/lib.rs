//! The JSON codec: reads sidecars as Python's `json` module writes them, including the
//! non-standard `NaN`, `Infinity` and `-Infinity` (reported as warnings), and writes them back
//! the way `json.dump(obj, f, indent=2)` does, so a Python-written file survives a round trip
//! through any other format byte for byte.

mod compact;
mod decode;

use sidecar_model::tape::with_tape;
use sidecar_model::{Codec, CodecError, CodecRegistration, Decoded, Detection, View, Warning};

/// The JSON sidecar format.
pub struct JsonCodec;

impl Codec for JsonCodec {
    fn name(&self) -> &str {
        "json"
    }

    fn display_name(&self) -> &str {
        "Json"
    }

    fn extensions(&self) -> &[&str] {
        &["json"]
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn detect(&self, head: &[u8], _file_len: u64) -> Detection {
        match head.iter().find(|b| !b" \t\r\n".contains(b)) {
            Some(b'{') | Some(b'[') => Detection::Plausible,
            _ => Detection::No,
        }
    }

    fn decode(&self, bytes: &[u8]) -> Result<Decoded, CodecError> {
        with_tape(|tape| {
            let warnings = decode::read(bytes, tape)?;
            Ok(Decoded {
                value: tape.view(bytes).to_value(),
                warnings,
            })
        })
    }

    fn inspect(
        &self,
        bytes: &[u8],
        visit: &mut dyn FnMut(View<'_>, &[Warning]),
    ) -> Result<(), CodecError> {
        with_tape(|tape| {
            let warnings = decode::read(bytes, tape)?;
            visit(tape.view(bytes).root(), &warnings);
            Ok(())
        })
    }

    fn write_compact_json(&self, bytes: &[u8], out: &mut Vec<u8>) -> bool {
        compact::write(bytes, out);
        true
    }

    fn encode(&self, document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
        sidecar_model::json_text::write_pretty(document, out)
    }
}

fn make() -> Box<dyn Codec> {
    Box::new(JsonCodec)
}

inventory::submit! { CodecRegistration::new(make) }
