//! Arbitrary payloads inside a valid frame, through the binary payload decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    let bytes = sidecar_fuzz::framed(sidecar_binary::FRAME, payload);
    sidecar_fuzz::exercise(&sidecar_binary::BinaryCodec, &bytes);
});
