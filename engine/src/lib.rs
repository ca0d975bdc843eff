//! The sidecar engine: a lossless value model, the `Codec` and `Validator` traits that plugins
//! implement, a registry that built-in plugins join at link time, format detection, tree discovery with image pairing,
//! and the operations (validate, stats, convert, format-stats) that fold over a tree in parallel.
//!
//! The engine names no format and no rule set. Codecs and validators live in plugin crates and
//! register themselves through [`inventory`] (built in) or are loaded from dynamic libraries by
//! the plugin API crate; the registry treats both alike.

pub mod cache;
pub mod canonical;
pub mod codec;
pub mod discover;
pub mod frame;
pub mod fsio;
pub mod ops;
pub mod pipeline;
pub mod registry;
pub mod report_path;
pub mod summary;
pub mod tape;
#[cfg(test)]
mod testing;
pub mod validator;
pub mod value;

pub use codec::{Codec, CodecError, Decoded, Detection, Location, Warning};
pub use registry::{CodecRegistration, Registry};
pub use summary::{Counter, Field, FieldKind, Summary, SummaryRegistration};
pub use validator::{Check, FileContext, Finding, Severity, Validator, ValidatorRegistration};
pub use value::{Map, Value, View};

/// Deepest nesting of arrays and objects any codec accepts. Real sidecars nest fewer than ten
/// levels; the limit keeps every recursive walk (decode, encode, compare, drop) far from the end
/// of any thread's stack on hostile input, debug builds included.
pub const MAX_DEPTH: usize = 128;
