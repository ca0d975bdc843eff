//! Arbitrary bytes through the XMP decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| sidecar_fuzz::exercise(&sidecar_xmp::XmpCodec, bytes));
