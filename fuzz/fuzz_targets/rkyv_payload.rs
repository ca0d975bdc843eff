//! Arbitrary payloads inside a valid frame, through the rkyv payload decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    let bytes = sidecar_fuzz::framed(sidecar_rkyv::FRAME, payload);
    sidecar_fuzz::exercise(&sidecar_rkyv::RkyvCodec, &bytes);
});
