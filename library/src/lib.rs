//! Image sidecars as a library: read, write and merge every format in-process.
//!
//! A sidecar is the metadata file beside a photo (`IMG_0001.jpg` → `IMG_0001.json`). This
//! crate reads and writes all of its formats — JSON as Python's `json` module writes it
//! (`NaN` included), Binary (`.bin`), Rkyv (`.rkyv`, read in place), XMP, and the earlier
//! tool's length-prefixed files (read only) — detected by content, as the
//! `image-sidecar-rust` command line does, with its data-safety rules when writing files.
//!
//! Documents come as the lossless [`Value`] model, or straight as your own serde types:
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct Faces { faces_found: u32, confidence: Vec<f64> }
//!
//! let faces = Faces { faces_found: 2, confidence: vec![0.98, f64::NAN] };
//! let bytes = image_sidecar::to_vec(&faces, "bin").unwrap();
//! let back: Faces = image_sidecar::from_slice(&bytes).unwrap();
//! assert_eq!(back.faces_found, 2);
//! assert_eq!(back.confidence[1].to_bits(), f64::NAN.to_bits());
//! ```
//!
//! Floats keep their bits, integers the whole `i64` and `u64` ranges, objects their key order.
//! Writing a path goes through a temporary file in the same directory and a rename, never over
//! an existing file unless [`Overwrite::Replace`] says so; [`save_operation`] merges one
//! operation's section into an image's sidecar and fails, rather than lose the other
//! program's change, when the file changes meanwhile.
//!
//! The free functions use the built-in formats; [`Formats`] holds a set of formats of your
//! choosing (plugins' codecs included) and has the same methods.

mod error;
mod formats;

use std::path::{Path, PathBuf};

pub use error::Error;
pub use formats::{Formats, Overwrite, Sidecar};
pub use sidecar_model::{Map, Value, View, Warning};

/// Reads a sidecar from bytes, its format detected by content.
///
/// ```
/// let sidecar = image_sidecar::read(br#"{"n": 1}"#).unwrap();
/// assert_eq!(sidecar.format, "json");
/// ```
pub fn read(bytes: &[u8]) -> Result<Sidecar, Error> {
    Formats::builtin().read(bytes)
}

/// Reads a sidecar from bytes in the format named (`json`, `bin`, `rkyv`, `xmp`, `legacy`).
///
/// ```
/// assert!(image_sidecar::read_as(b"{}", "json").is_ok());
/// ```
pub fn read_as(bytes: &[u8], format: &str) -> Result<Sidecar, Error> {
    Formats::builtin().read_as(bytes, format)
}

/// Reads a sidecar file, its format detected by content.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("IMG.json");
/// std::fs::write(&path, "{}").unwrap();
/// assert_eq!(image_sidecar::read_path(&path).unwrap().format, "json");
/// ```
pub fn read_path(path: &Path) -> Result<Sidecar, Error> {
    Formats::builtin().read_path(path)
}

/// The format the content of `bytes` names.
///
/// ```
/// assert_eq!(image_sidecar::detect(b"[]"), Some("json"));
/// ```
pub fn detect(bytes: &[u8]) -> Option<&'static str> {
    Formats::builtin().detect(bytes)
}

/// Writes a document in the format named.
///
/// ```
/// let value = image_sidecar::read(b"[1]").unwrap().value;
/// let bytes = image_sidecar::write(value.view(), "rkyv").unwrap();
/// assert_eq!(image_sidecar::detect(&bytes), Some("rkyv"));
/// ```
pub fn write(document: View<'_>, format: &str) -> Result<Vec<u8>, Error> {
    Formats::builtin().write(document, format)
}

/// Writes a document to a file, safely (see [`Formats::write_path`]).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("IMG.bin");
/// let value = image_sidecar::read(b"{}").unwrap().value;
/// image_sidecar::write_path(&path, value.view(), "bin", image_sidecar::Overwrite::Never).unwrap();
/// assert!(path.exists());
/// ```
pub fn write_path(
    path: &Path,
    document: View<'_>,
    format: &str,
    overwrite: Overwrite,
) -> Result<(), Error> {
    Formats::builtin().write_path(path, document, format, overwrite)
}

/// Deserializes a `T` from a sidecar's bytes, in any format.
///
/// ```
/// let n: Vec<i64> = image_sidecar::from_slice(b"[1, -2]").unwrap();
/// assert_eq!(n, [1, -2]);
/// ```
pub fn from_slice<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    Formats::builtin().from_slice(bytes)
}

/// Deserializes a `T` from a sidecar file, in any format.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("IMG.json");
/// std::fs::write(&path, r#"{"a": true}"#).unwrap();
/// let map: std::collections::BTreeMap<String, bool> = image_sidecar::from_path(&path).unwrap();
/// assert!(map["a"]);
/// ```
pub fn from_path<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    Formats::builtin().from_path(path)
}

/// Serializes a `T` in the format named.
///
/// ```
/// let bytes = image_sidecar::to_vec(&[1.5, -0.0], "json").unwrap();
/// assert_eq!(bytes, b"[\n  1.5,\n  -0.0\n]");
/// ```
pub fn to_vec<T: serde::Serialize + ?Sized>(value: &T, format: &str) -> Result<Vec<u8>, Error> {
    Formats::builtin().to_vec(value, format)
}

/// The sidecars of an image (see [`Formats::sidecars_of`]).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("IMG_0001.json"), "{}").unwrap();
/// let found = image_sidecar::sidecars_of(&dir.path().join("IMG_0001.jpg")).unwrap();
/// assert_eq!(found, [dir.path().join("IMG_0001.json")]);
/// ```
pub fn sidecars_of(image: &Path) -> Result<Vec<PathBuf>, Error> {
    Formats::builtin().sidecars_of(image)
}

/// The images a sidecar describes (see [`Formats::images_of`]).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("IMG_0001.CR3"), "raw").unwrap();
/// let images = image_sidecar::images_of(&dir.path().join("IMG_0001.CR3.json")).unwrap();
/// assert_eq!(images, [dir.path().join("IMG_0001.CR3")]);
/// ```
pub fn images_of(sidecar: &Path) -> Result<Vec<PathBuf>, Error> {
    Formats::builtin().images_of(sidecar)
}

/// Sets one operation's section of an image's sidecar (see [`Formats::save_operation`]).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let image = dir.path().join("IMG_0001.jpg");
/// let section = image_sidecar::read(br#"{"score": 0.9}"#).unwrap().value;
/// let path = image_sidecar::save_operation(&image, "quality", &section, "bin").unwrap();
/// assert_eq!(path, dir.path().join("IMG_0001.bin"));
/// ```
pub fn save_operation(
    image: &Path,
    operation: &str,
    section: &Value,
    default_format: &str,
) -> Result<PathBuf, Error> {
    Formats::builtin().save_operation(image, operation, section, default_format)
}
