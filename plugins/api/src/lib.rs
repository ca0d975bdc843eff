//! The stable plugin interface of image-sidecar-rust.
//!
//! A plugin is a dynamic library (`cdylib`) that adds sidecar formats ([`Codec`]), validation
//! rule sets ([`Validator`]) and stats contributors ([`Summary`]) without rebuilding the tool.
//! Authors implement the same traits of `sidecar-model` that the built-in plugins implement,
//! and export them with [`export_plugin!`]; the tool loads the library with
//! `sidecar_plugin_host`. Everything that crosses the boundary is checked by abi_stable when the
//! library loads, values cross in the model's canonical encoding, and every entry point runs
//! inside `catch_unwind`.
//!
//! This crate's version is the plugin ABI version: a library built against 1.x loads into a
//! tool built against 1.y for y ≥ x. A step-by-step guide is in `docs/plugins.md`.

/// The plugin ABI version: this crate's version.
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");

mod author;
pub mod ffi;
pub mod testing;

pub use author::{codec_box, guarded_list, module, summary_box, validator_box};
pub use serde_json;
pub use sidecar_model::canonical;
pub use sidecar_model::value::{ArrayRef, ObjectRef};
pub use sidecar_model::{
    Check, Codec, CodecError, Counter, Decoded, Detection, Field, FieldKind, FileContext, Finding,
    Location, Map, Severity, Summary, Validator, Value, View, Warning,
};
