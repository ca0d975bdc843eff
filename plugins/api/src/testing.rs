//! Test helpers for plugin authors: call them from your crate's `#[test]`s.

use sidecar_model::{canonical, Codec, Detection, Value};

/// Encodes `value` with `codec`, checks that the codec detects its own output, decodes it and
/// compares the result with `value` bit for bit (in the canonical encoding, which tells
/// `0.0` from `-0.0`, `1` from `1.0`, key order and duplicate keys apart). `convert` makes the
/// same check on every file it writes.
pub fn round_trip<C: Codec>(codec: &C, value: &Value) -> Result<(), String> {
    let mut bytes = Vec::new();
    codec
        .encode(value.view(), &mut bytes)
        .map_err(|e| e.to_string())?;
    let head = &bytes[..bytes.len().min(64)];
    if codec.detect(head, bytes.len() as u64) == Detection::No {
        return Err(format!(
            "`{}` does not recognise its own output by content",
            codec.name()
        ));
    }
    let back = codec.decode(&bytes).map_err(|e| e.to_string())?.value;
    let (mut expected, mut got) = (Vec::new(), Vec::new());
    canonical::encode(value.view(), &mut expected);
    canonical::encode(back.view(), &mut got);
    if expected == got {
        Ok(())
    } else {
        Err(format!(
            "`{}` does not give back what it was given: first difference at {}",
            codec.name(),
            sidecar_model::value::first_difference(value.view(), back.view())
                .unwrap_or_else(|| "/".into())
        ))
    }
}

/// Feeds `codec` every prefix of `bytes` (truncated files) and checks that it returns, with a
/// value or an error, without panicking.
pub fn decode_truncations<C: Codec>(codec: &C, bytes: &[u8]) -> Result<(), String> {
    for end in 0..bytes.len() {
        let prefix = &bytes[..end];
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = codec.decode(prefix);
        }));
        if outcome.is_err() {
            return Err(format!(
                "`{}` panicked on the first {end} bytes",
                codec.name()
            ));
        }
    }
    Ok(())
}
