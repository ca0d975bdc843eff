//! The sidecar model: what a sidecar holds, independent of any format, and the traits through
//! which formats, validators and summaries plug into the tool.
//!
//! # Design
//!
//! A sidecar is a [`Value`]: JSON's data model made exact (integers signed and unsigned,
//! floats with their bits, `NaN` and the infinities included, object keys in order and
//! repeatable). Every format converts to and from it losslessly, so that any format converts
//! to any other.
//!
//! Reading a value need not build one. A [`View`] reads any representation in place: an owned
//! [`Value`], a parsed [`tape::Tape`] (what a text codec fills while parsing), or a zero-copy
//! archive. Validators and summaries see documents only through views, so a format that reads
//! in place is never made to allocate.
//!
//! Between formats, and across the plugin ABI, values travel as their
//! [`canonical`] encoding: deterministic bytes that keep every distinction the model makes, so
//! two values are equal exactly when their encodings are. [`frame`] is the envelope the tool's
//! own binary formats put around a payload (magic, version, length, checksum).
//!
//! The plugin traits are [`Codec`] (a format: detect, decode, inspect, encode), [`Validator`]
//! (options in, a configured [`Check`] out, findings per document) and [`Summary`] (counters
//! per document, merged across files and shards). Each has a registration type that a crate
//! linked into the binary submits with [`inventory`]; dynamic libraries implement the same
//! traits and are adapted across the stable ABI by the plugin API crate. Fast paths are
//! provided methods with defaults ([`Codec::inspect`], [`Codec::encode_canonical`]), so a simple
//! codec writes only `detect`, `decode` and `encode`.
//!
//! This crate does no I/O: no file system, no threads, no clock. Everything here is a pure
//! function of bytes and values, which is what lets a plugin, the engine and a library user
//! share it. Every decoder takes arbitrary bytes and returns an error (an [`error::CodecError`]
//! saying what and where) for anything it cannot read: no panic, no unbounded recursion (see
//! [`MAX_DEPTH`]), no allocation on the word of a length field.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod canonical;
pub mod codec;
pub mod error;
pub mod frame;
pub mod json_text;
pub mod serde;
pub mod summary;
pub mod tape;
pub mod validator;
pub mod value;

pub use codec::{Codec, CodecRegistration, Decoded, Detection};
pub use error::{CodecError, ErrorKind, Location, Warning};
pub use summary::{Counter, Field, FieldKind, Summary, SummaryRegistration};
pub use validator::{Check, FileContext, Finding, Severity, Validator, ValidatorRegistration};
pub use value::{Map, Value, View};

/// Deepest nesting of arrays and objects any codec accepts. Real sidecars nest fewer than ten
/// levels; the limit keeps every recursive walk (decode, encode, compare, drop) far from the end
/// of any thread's stack on hostile input, debug builds included.
pub const MAX_DEPTH: usize = 128;
