//! What every fuzz target does with its input: arbitrary bytes must never make a decoder
//! panic, abort or hang, and a decoded value must survive its own re-encoding where the
//! format writes.

use sidecar_model::frame::FrameSpec;
use sidecar_model::Codec;

/// Runs every reading entry point of `codec` on `bytes`.
pub fn exercise(codec: &dyn Codec, bytes: &[u8]) {
    let _ = codec.detect(bytes, bytes.len() as u64);
    let _ = codec.inspect(bytes, &mut |view, _| {
        let _ = format!("{view:?}");
    });
    if let Ok(decoded) = codec.decode(bytes) {
        if codec.can_encode() {
            // Whatever a codec reads, it can write back (JSON reads only the NaN it writes).
            let mut out = Vec::new();
            codec
                .encode(decoded.value.view(), &mut out)
                .expect("a decoded value encodes");
            let again = codec.decode(&out).expect("re-encoded output decodes");
            assert_eq!(again.value, decoded.value);
        }
    }
}

/// Wraps `payload` in a valid frame (right magic, lengths and checksums), so that the payload
/// decoder itself is exercised rather than the checksum.
pub fn framed(frame: FrameSpec, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let start = frame.begin(&mut bytes);
    bytes.extend_from_slice(payload);
    frame.seal(&mut bytes, start);
    bytes
}
