//! Arbitrary bytes through the legacy decoder: an error is fine, a panic, abort or hang is not.
//! A decoded value must survive its own re-encoding where the format writes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidecar_engine::Codec;

fuzz_target!(|bytes: &[u8]| {
    let codec = sidecar_legacy::LegacyCodec;
    let _ = codec.detect(bytes, bytes.len() as u64);
    let _ = codec.inspect(bytes, &mut |view, _| {
        let _ = format!("{view:?}");
    });
    if let Ok(decoded) = codec.decode(bytes) {
        let mut out = Vec::new();
        if codec.can_encode() && codec.encode(decoded.value.view(), &mut out).is_ok() {
            let again = codec.decode(&out).expect("re-encoded output decodes");
            assert_eq!(again.value, decoded.value);
        }
    }
});
