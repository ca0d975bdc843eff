//! Test fixture: a plugin that misbehaves in every way a plugin can without unsafe code. Its
//! codec `faulty` (`.faulty`) panics on decode and returns bytes that are no value; its
//! validator `panics` panics on every document. The tool must report each as an error for the
//! file and carry on.

use std::path::Path;

use sidecar_plugin_api::{
    export_plugin, Check, Codec, CodecError, Decoded, Detection, FileContext, Finding, Validator,
    View,
};

pub struct Faulty;

impl Codec for Faulty {
    fn name(&self) -> &str {
        "faulty"
    }
    fn display_name(&self) -> &str {
        "Faulty"
    }
    fn extensions(&self) -> &[&str] {
        &["faulty"]
    }
    fn version(&self) -> &str {
        "0.0.0"
    }
    fn detect(&self, _: &[u8], _: u64) -> Detection {
        Detection::No
    }
    fn decode(&self, bytes: &[u8]) -> Result<Decoded, CodecError> {
        panic!("faulty decode of {} bytes", bytes.len())
    }
    fn encode(&self, _: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(b"not what was asked");
        Ok(())
    }
}

pub struct Panics;

impl Validator for Panics {
    fn name(&self) -> &str {
        "panics"
    }
    fn version(&self) -> &str {
        "0.0.0"
    }
    fn description(&self) -> &str {
        "panics on every document"
    }
    fn configure(&self, _: &serde_json::Value, _: &Path) -> Result<Box<dyn Check>, String> {
        Ok(Box::new(Panics))
    }
}

impl Check for Panics {
    fn check(&self, _: View<'_>, _: &FileContext<'_>, _: &mut Vec<Finding>) {
        panic!("validator exploded")
    }
}

export_plugin! {
    codecs: [Faulty],
    validators: [Panics],
}
