//! The stable plugin interface of image-sidecar-rust.
//!
//! A plugin is a dynamic library (`cdylib`) that adds sidecar formats ([`SidecarCodec`]),
//! validation rule sets ([`SidecarValidator`]) and stats contributors ([`SidecarSummary`])
//! without rebuilding the tool. Authors implement
//! these ordinary traits over the engine's value model and export them with
//! [`export_plugin!`]; the tool loads the library with [`host::load_library`]. Everything
//! that crosses the boundary is checked by abi_stable when the library loads, values cross in
//! the engine's canonical encoding, and every entry point runs inside `catch_unwind`.
//!
//! This crate's version is the plugin ABI version: a library built against 1.x loads into a
//! tool built against 1.y for y ≥ x. A step-by-step guide is in `docs/plugins.md`.

/// The plugin ABI version: this crate's version.
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");

mod author;
pub mod ffi;
pub mod host;
pub mod testing;
pub mod trust;

pub use author::{
    codec_box, guarded_list, module, summary_box, validator_box, SidecarCodec, SidecarSummary,
    SidecarValidator,
};
pub use serde_json;
pub use sidecar_model::canonical;
pub use sidecar_model::value::{ArrayRef, ObjectRef};
pub use sidecar_model::{
    Counter, Detection, Field, FieldKind, FileContext, Finding, Map, Severity, Value, View,
};
