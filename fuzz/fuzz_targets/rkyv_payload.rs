//! Arbitrary payloads inside a valid frame (right magic, lengths and checksums), so that the
//! payload decoder itself is exercised rather than the checksum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidecar_engine::Codec;

fuzz_target!(|payload: &[u8]| {
    let mut bytes = Vec::new();
    let start = sidecar_rkyv::FRAME.begin(&mut bytes);
    bytes.extend_from_slice(payload);
    sidecar_rkyv::FRAME.seal(&mut bytes, start);
    let codec = sidecar_rkyv::RkyvCodec;
    let _ = codec.inspect(&bytes, &mut |view, _| {
        let _ = format!("{view:?}");
    });
    if let Ok(decoded) = codec.decode(&bytes) {
        let mut out = Vec::new();
        codec.encode(decoded.value.view(), &mut out).expect("a decoded value encodes");
        assert_eq!(codec.decode(&out).expect("re-encoded output decodes").value, decoded.value);
    }
});
