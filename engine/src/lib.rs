//! The sidecar engine: the machinery of a run over a tree, on the model of `sidecar-model`
//! (re-exported here, so that a user of the engine needs one dependency): a registry that
//! built-in plugins join at link time, format detection, tree discovery with image pairing,
//! safe file handling, the results cache, the pass with its stages (validate, stats, convert,
//! format-stats) folding over a tree in parallel, and pipelines.
//!
//! The engine names no format and no rule set. Codecs, validators and summaries live in plugin
//! crates and register themselves through [`inventory`] (built in) or are loaded from dynamic
//! libraries by the plugin host crate; the registry treats both alike.

pub mod cache;
pub mod discover;
pub mod fsio;
pub mod ops;
pub mod pipeline;
pub mod readahead;
pub mod registry;
pub mod report_path;
#[cfg(test)]
mod testing;

// The model the engine runs on, under the engine's names too, so that a user of the engine
// needs one dependency.
pub use sidecar_model::{
    canonical, codec, error, frame, summary, tape, validator, value, Check, Codec, CodecError,
    CodecRegistration, Counter, Decoded, Detection, ErrorKind, Field, FieldKind, FileContext,
    Finding, Location, Map, Severity, Summary, SummaryRegistration, Validator,
    ValidatorRegistration, Value, View, Warning, MAX_DEPTH,
};

pub use registry::Registry;
