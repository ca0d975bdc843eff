//! Test fixture: a plugin that misbehaves in every way a plugin can without unsafe code. Its
//! codec `faulty` (`.faulty`) panics on decode and returns bytes that are no value; its
//! validator `panics` panics on every document. The tool must report each as an error for the
//! file and carry on.

use sidecar_plugin_api::{
    export_plugin, Detection, FileContext, Finding, SidecarCodec, SidecarValidator, Value, View,
};

pub struct Faulty;

impl SidecarCodec for Faulty {
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
    fn decode(&self, bytes: &[u8]) -> Result<Value, String> {
        panic!("faulty decode of {} bytes", bytes.len())
    }
    fn encode(&self, _: &Value) -> Result<Vec<u8>, String> {
        Ok(b"not what was asked".to_vec())
    }
}

pub struct Panics;

impl SidecarValidator for Panics {
    type Options = ();
    fn name(&self) -> &str {
        "panics"
    }
    fn version(&self) -> &str {
        "0.0.0"
    }
    fn description(&self) -> &str {
        "panics on every document"
    }
    fn configure(&self, _: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }
    fn validate(&self, _: &(), _: View<'_>, _: &FileContext<'_>, _: &mut Vec<Finding>) {
        panic!("validator exploded")
    }
}

export_plugin! {
    codecs: [Faulty],
    validators: [Panics],
}
