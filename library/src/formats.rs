//! [`Formats`]: a set of codecs (the built-in ones, or a registry with plugins' codecs too)
//! and everything read and write do with them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sidecar_engine::discover::Rules;
use sidecar_engine::fsio::{self, Durability, FileMeta, Keep, WriteOutcome, DEFAULT_MAX_FILE_SIZE};
use sidecar_engine::registry::DETECT_BYTES;
use sidecar_engine::Registry;
use sidecar_model::{Codec, Detection, Value, View, Warning};

use crate::Error;

// The built-in formats register themselves when linked.
use sidecar_binary as _;
use sidecar_json as _;
use sidecar_legacy as _;
use sidecar_rkyv as _;
use sidecar_xmp as _;

/// A decoded sidecar: the document, the format it was in, and what was noticed reading it.
///
/// ```
/// let sidecar = image_sidecar::read(br#"{"score": NaN}"#).unwrap();
/// assert_eq!(sidecar.format, "json");
/// assert!(sidecar.value.view().get("score").unwrap().as_f64().unwrap().is_nan());
/// assert_eq!(sidecar.warnings[0].code, "non-standard-number");
/// ```
#[derive(Debug, Clone)]
pub struct Sidecar {
    /// The document.
    pub value: Value,
    /// The name of its format (`json`, `bin`, `rkyv`, `xmp`, `legacy`, or a plugin's).
    pub format: String,
    /// What was noticed reading it (`NaN` in JSON, duplicate keys, ...), in file order.
    pub warnings: Vec<Warning>,
}

/// Whether writing a path may replace a file already there.
///
/// ```
/// assert_eq!(image_sidecar::Overwrite::default(), image_sidecar::Overwrite::Never);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail with [`Error::Exists`] if anything is at the path.
    #[default]
    Never,
    /// Replace a file that is there (keeping its permissions); fail with [`Error::Changed`]
    /// if another program changes it meanwhile.
    Replace,
}

/// A set of formats, and reading, writing and merging with them.
///
/// The free functions of this crate use [`Formats::builtin`]; a program that loads plugins'
/// codecs builds its own with [`Formats::new`].
///
/// ```
/// let formats = image_sidecar::Formats::builtin();
/// assert!(formats.names().contains(&"rkyv"));
/// ```
pub struct Formats {
    registry: Registry,
    rules: Rules,
    max_file_size: u64,
}

impl Formats {
    /// The built-in formats: JSON, Binary, Rkyv, XMP, and the legacy format (read only).
    ///
    /// ```
    /// let names = image_sidecar::Formats::builtin().names();
    /// assert_eq!(names, ["bin", "json", "legacy", "rkyv", "xmp"]);
    /// ```
    pub fn builtin() -> &'static Formats {
        static BUILTIN: OnceLock<Formats> = OnceLock::new();
        BUILTIN.get_or_init(|| Formats::new(Registry::builtin()))
    }

    /// The formats of `registry` (built-ins and plugins' codecs), pairing images by the
    /// default image extensions.
    ///
    /// ```
    /// let formats = image_sidecar::Formats::new(sidecar_engine::Registry::builtin());
    /// assert!(formats.registry().by_name("json").is_some());
    /// ```
    pub fn new(registry: Registry) -> Formats {
        Formats {
            registry,
            rules: Rules::default(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }

    /// The registry the formats come from.
    ///
    /// ```
    /// assert!(image_sidecar::Formats::builtin().registry().codecs().count() >= 5);
    /// ```
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The rules pairing sidecars with images (the image extensions).
    ///
    /// ```
    /// use std::ffi::OsStr;
    /// assert!(image_sidecar::Formats::builtin().rules().is_image(OsStr::new("IMG.CR3")));
    /// ```
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The formats' names, in order.
    ///
    /// ```
    /// assert!(image_sidecar::Formats::builtin().names().contains(&"xmp"));
    /// ```
    pub fn names(&self) -> Vec<&str> {
        self.registry.codecs().map(|c| c.name()).collect()
    }

    /// The format with this name or alias (`bin` or `binary`), case-insensitive.
    ///
    /// ```
    /// let codec = image_sidecar::Formats::builtin().format("Binary").unwrap();
    /// assert_eq!(codec.name(), "bin");
    /// ```
    pub fn format(&self, name: &str) -> Result<&dyn Codec, Error> {
        self.registry
            .by_name(name)
            .ok_or_else(|| Error::UnknownFormat {
                name: name.to_owned(),
                known: self.names().join(", "),
            })
    }

    /// The format the content of `bytes` names, when one does.
    ///
    /// ```
    /// let formats = image_sidecar::Formats::builtin();
    /// assert_eq!(formats.detect(b"{\"a\": 1}"), Some("json"));
    /// assert_eq!(formats.detect(b"\x00\x00"), None);
    /// ```
    pub fn detect(&self, bytes: &[u8]) -> Option<&str> {
        let head = &bytes[..bytes.len().min(DETECT_BYTES)];
        self.registry
            .identify(Path::new(""), head, bytes.len() as u64)
            .filter(|i| i.by_content != Detection::No)
            .map(|i| i.codec.name())
    }

    /// The codec for bytes: the one named, or the one their content (and `path`'s extension)
    /// names.
    fn codec_for(
        &self,
        bytes: &[u8],
        format: Option<&str>,
        path: Option<&Path>,
    ) -> Result<&dyn Codec, Error> {
        if let Some(name) = format {
            return self.format(name);
        }
        let head = &bytes[..bytes.len().min(DETECT_BYTES)];
        self.registry
            .identify(path.unwrap_or(Path::new("")), head, bytes.len() as u64)
            .map(|i| i.codec)
            .ok_or(Error::Unrecognized {
                path: path.map(Path::to_owned),
            })
    }

    /// Reads a sidecar from bytes, its format detected by content.
    ///
    /// ```
    /// let sidecar = image_sidecar::Formats::builtin().read(b"[1, 2.5]").unwrap();
    /// assert_eq!(sidecar.value.view().as_array().unwrap().len(), 2);
    /// ```
    pub fn read(&self, bytes: &[u8]) -> Result<Sidecar, Error> {
        self.read_in(bytes, None, None)
    }

    /// Reads a sidecar from bytes in the format named.
    ///
    /// ```
    /// let formats = image_sidecar::Formats::builtin();
    /// assert!(formats.read_as(b"[1]", "bin").is_err());
    /// assert_eq!(formats.read_as(b"[1]", "json").unwrap().format, "json");
    /// ```
    pub fn read_as(&self, bytes: &[u8], format: &str) -> Result<Sidecar, Error> {
        self.read_in(bytes, Some(format), None)
    }

    fn read_in(
        &self,
        bytes: &[u8],
        format: Option<&str>,
        path: Option<&Path>,
    ) -> Result<Sidecar, Error> {
        let codec = self.codec_for(bytes, format, path)?;
        let decoded = codec.decode(bytes).map_err(|error| Error::Decode {
            path: path.map(Path::to_owned),
            format: codec.name().to_owned(),
            error,
        })?;
        Ok(Sidecar {
            value: decoded.value,
            format: codec.name().to_owned(),
            warnings: decoded.warnings,
        })
    }

    /// Reads a sidecar file, its format detected by content (the extension breaks ties).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("IMG_0001.json");
    /// std::fs::write(&path, r#"{"faces": []}"#).unwrap();
    /// let sidecar = image_sidecar::Formats::builtin().read_path(&path).unwrap();
    /// assert_eq!(sidecar.format, "json");
    /// ```
    pub fn read_path(&self, path: &Path) -> Result<Sidecar, Error> {
        let (bytes, _) = self.read_file(path)?;
        self.read_in(&bytes, None, Some(path))
    }

    /// A sidecar file's bytes: a regular file of at most the size limit (1 GiB), opened
    /// without blocking (a FIFO in its place is an error, not a hang).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("IMG.json");
    /// std::fs::write(&path, "{}").unwrap();
    /// assert_eq!(image_sidecar::Formats::builtin().read_bytes(&path).unwrap(), b"{}");
    /// ```
    pub fn read_bytes(&self, path: &Path) -> Result<Vec<u8>, Error> {
        self.read_file(path).map(|(bytes, _)| bytes)
    }

    /// A file's bytes and metadata, bounded by the size limit, never blocking on a FIFO.
    fn read_file(&self, path: &Path) -> Result<(Vec<u8>, FileMeta), Error> {
        let mut bytes = Vec::new();
        let meta = fsio::read_into(path, &mut bytes, self.max_file_size).map_err(|e| match e {
            fsio::ReadError::Io(source) => Error::io(path, source),
            source => Error::NotRead {
                path: path.to_owned(),
                source,
            },
        })?;
        Ok((bytes, meta))
    }

    /// Hands the document in `bytes` to `visit` as a [`View`], without building a [`Value`]
    /// where the format reads in place (Rkyv), with the format's name and the warnings.
    ///
    /// ```
    /// let formats = image_sidecar::Formats::builtin();
    /// let bytes = formats.to_vec(&vec![1, 2, 3], "rkyv").unwrap();
    /// let (len, format) = formats
    ///     .inspect(&bytes, None, |view, _| view.as_array().unwrap().len())
    ///     .unwrap();
    /// assert_eq!((len, format), (3, "rkyv"));
    /// ```
    pub fn inspect<T>(
        &self,
        bytes: &[u8],
        format: Option<&str>,
        visit: impl FnOnce(View<'_>, &[Warning]) -> T,
    ) -> Result<(T, &str), Error> {
        self.inspect_in(bytes, format, None, visit)
    }

    /// [`Formats::inspect`] of the bytes of the file at `path` (read by the caller): the
    /// format is named, or detected by content with the file's extension breaking ties, and
    /// errors name the file.
    ///
    /// ```
    /// let formats = image_sidecar::Formats::builtin();
    /// let (len, format) = formats
    ///     .inspect_file("IMG.json".as_ref(), b"[1, 2]", None, |view, _| {
    ///         view.as_array().unwrap().len()
    ///     })
    ///     .unwrap();
    /// assert_eq!((len, format), (2, "json"));
    /// let error = formats.inspect_file("IMG.json".as_ref(), b"[1,", None, |_, _| ()).unwrap_err();
    /// assert!(error.to_string().starts_with("IMG.json: "), "{error}");
    /// ```
    pub fn inspect_file<T>(
        &self,
        path: &Path,
        bytes: &[u8],
        format: Option<&str>,
        visit: impl FnOnce(View<'_>, &[Warning]) -> T,
    ) -> Result<(T, &str), Error> {
        self.inspect_in(bytes, format, Some(path), visit)
            .map_err(|e| e.in_file(path))
    }

    fn inspect_in<T>(
        &self,
        bytes: &[u8],
        format: Option<&str>,
        path: Option<&Path>,
        visit: impl FnOnce(View<'_>, &[Warning]) -> T,
    ) -> Result<(T, &str), Error> {
        let codec = self.codec_for(bytes, format, path)?;
        let mut visit = Some(visit);
        let mut out = None;
        codec
            .inspect(bytes, &mut |view, warnings| {
                if let Some(visit) = visit.take() {
                    out = Some(visit(view, warnings));
                }
            })
            .map_err(|error| Error::Decode {
                path: None,
                format: codec.name().to_owned(),
                error,
            })?;
        let out = out.ok_or_else(|| Error::Decode {
            path: None,
            format: codec.name().to_owned(),
            error: sidecar_model::CodecError::malformed("the codec handed over no document", None),
        })?;
        Ok((out, codec.name()))
    }

    /// Writes a document in the format named.
    ///
    /// ```
    /// let formats = image_sidecar::Formats::builtin();
    /// let value = formats.read(br#"{"a": [1, 2]}"#).unwrap().value;
    /// let json = formats.write(value.view(), "json").unwrap();
    /// assert_eq!(json, b"{\n  \"a\": [\n    1,\n    2\n  ]\n}");
    /// ```
    pub fn write(&self, document: View<'_>, format: &str) -> Result<Vec<u8>, Error> {
        let codec = self.writer(format)?;
        let mut out = Vec::new();
        codec
            .encode(document, &mut out)
            .map_err(|error| Error::Encode {
                format: codec.name().to_owned(),
                error,
            })?;
        Ok(out)
    }

    fn writer(&self, format: &str) -> Result<&dyn Codec, Error> {
        let codec = self.format(format)?;
        if codec.can_encode() {
            Ok(codec)
        } else {
            Err(Error::ReadOnly(codec.name().to_owned()))
        }
    }

    /// Writes a document to `path` in the format named: to a temporary file in the same
    /// directory, renamed into place; never over an existing file unless `overwrite` says so,
    /// and then with the permissions of the file it replaces, failing if another program
    /// changes that file meanwhile.
    ///
    /// ```
    /// use image_sidecar::{Formats, Overwrite};
    /// let formats = Formats::builtin();
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("IMG_0001.bin");
    /// let value = formats.read(br#"{"n": 1}"#).unwrap().value;
    /// formats.write_path(&path, value.view(), "bin", Overwrite::Never).unwrap();
    /// assert!(formats.write_path(&path, value.view(), "bin", Overwrite::Never).is_err());
    /// formats.write_path(&path, value.view(), "bin", Overwrite::Replace).unwrap();
    /// assert_eq!(formats.read_path(&path).unwrap().format, "bin");
    /// ```
    pub fn write_path(
        &self,
        path: &Path,
        document: View<'_>,
        format: &str,
        overwrite: Overwrite,
    ) -> Result<(), Error> {
        let bytes = self.write(document, format)?;
        self.put(path, &bytes, overwrite)
    }

    /// Puts `bytes` at `path` by the rules of [`Formats::write_path`].
    fn put(&self, path: &Path, bytes: &[u8], overwrite: Overwrite) -> Result<(), Error> {
        let exists = std::fs::symlink_metadata(path).is_ok();
        if exists && overwrite == Overwrite::Replace {
            let (old, meta) = self.read_file(path)?;
            return self.replace(path, &meta, &old, bytes);
        }
        let staged = fsio::stage(
            fsio::parent(path),
            bytes,
            Durability::None,
            &Keep::new_file(),
        )
        .map_err(|e| Error::io(path, e))?;
        match staged.commit_new(path).map_err(|e| Error::io(path, e))? {
            WriteOutcome::Written(_) => Ok(()),
            WriteOutcome::Exists => Err(Error::Exists(path.to_owned())),
        }
    }

    /// Replaces `path`, read as `meta` with bytes `old`, by `bytes`.
    pub(crate) fn replace(
        &self,
        path: &Path,
        meta: &FileMeta,
        old: &[u8],
        bytes: &[u8],
    ) -> Result<(), Error> {
        fsio::replace_checked(path, meta, fsio::fingerprint(old), bytes).map_err(|source| {
            match source {
                fsio::ReplaceError::Io(e) => Error::io(path, e),
                source => Error::Changed {
                    path: path.to_owned(),
                    source,
                },
            }
        })
    }

    /// Deserializes a `T` straight from a sidecar's bytes, in any format (from an Rkyv
    /// archive without building a [`Value`] first).
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Face { confidence: f64 }
    /// let face: Face = image_sidecar::Formats::builtin()
    ///     .from_slice(br#"{"confidence": 0.5}"#)
    ///     .unwrap();
    /// assert_eq!(face.confidence, 0.5);
    /// ```
    pub fn from_slice<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        let (result, _) =
            self.inspect(bytes, None, |view, _| sidecar_model::serde::from_view(view))?;
        result.map_err(|error| Error::Type { path: None, error })
    }

    /// Deserializes a `T` from a sidecar file, in any format.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("IMG.json");
    /// std::fs::write(&path, "[1, 2]").unwrap();
    /// let numbers: Vec<u8> = image_sidecar::Formats::builtin().from_path(&path).unwrap();
    /// assert_eq!(numbers, [1, 2]);
    /// ```
    pub fn from_path<T: DeserializeOwned>(&self, path: &Path) -> Result<T, Error> {
        let (bytes, _) = self.read_file(path)?;
        let (result, _) = self.inspect_file(path, &bytes, None, |view, _| {
            sidecar_model::serde::from_view(view)
        })?;
        result.map_err(|error| Error::Type {
            path: Some(path.to_owned()),
            error,
        })
    }

    /// Deserializes a `T` from bytes in the format named.
    ///
    /// ```
    /// let formats = image_sidecar::Formats::builtin();
    /// let bytes = formats.to_vec(&("a", 1), "bin").unwrap();
    /// let back: (String, i32) = formats.from_slice_as(&bytes, "bin").unwrap();
    /// assert_eq!(back, ("a".to_owned(), 1));
    /// ```
    pub fn from_slice_as<T: DeserializeOwned>(
        &self,
        bytes: &[u8],
        format: &str,
    ) -> Result<T, Error> {
        let (result, _) = self.inspect(bytes, Some(format), |view, _| {
            sidecar_model::serde::from_view(view)
        })?;
        result.map_err(|error| Error::Type { path: None, error })
    }

    /// Serializes a `T` in the format named.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Face { confidence: f64 }
    /// let json = image_sidecar::Formats::builtin()
    ///     .to_vec(&Face { confidence: f64::NAN }, "json")
    ///     .unwrap();
    /// assert_eq!(json, b"{\n  \"confidence\": NaN\n}");
    /// ```
    pub fn to_vec<T: Serialize + ?Sized>(&self, value: &T, format: &str) -> Result<Vec<u8>, Error> {
        let value = sidecar_model::serde::to_value(value)
            .map_err(|error| Error::Type { path: None, error })?;
        self.write(value.view(), format)
    }

    /// The sidecars beside `image` that describe it, by the walk's pairing rules (both naming
    /// conventions, darktable duplicates), in path order.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// for name in ["IMG_0001.CR3", "IMG_0001.json", "IMG_0001_01.CR3.xmp", "IMG_0002.json"] {
    ///     std::fs::write(dir.path().join(name), "{}").unwrap();
    /// }
    /// let found = image_sidecar::Formats::builtin()
    ///     .sidecars_of(&dir.path().join("IMG_0001.CR3"))
    ///     .unwrap();
    /// let names: Vec<_> = found.iter().map(|p| p.file_name().unwrap().to_owned()).collect();
    /// assert_eq!(names, ["IMG_0001.json", "IMG_0001_01.CR3.xmp"]);
    /// ```
    pub fn sidecars_of(&self, image: &Path) -> Result<Vec<PathBuf>, Error> {
        let Some(image_name) = image.file_name() else {
            return Ok(Vec::new());
        };
        let image_name = image_name.as_encoded_bytes();
        self.siblings(image, |name| {
            !self.rules.is_image(name)
                && self.registry.claims(name.as_encoded_bytes())
                && sidecar_engine::discover::pairs(name.as_encoded_bytes(), image_name)
        })
    }

    /// The images beside `sidecar` that it describes (usually one), in path order.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// for name in ["IMG_0001.JPG", "IMG_0001.json"] {
    ///     std::fs::write(dir.path().join(name), "{}").unwrap();
    /// }
    /// let images = image_sidecar::Formats::builtin()
    ///     .images_of(&dir.path().join("IMG_0001.json"))
    ///     .unwrap();
    /// assert_eq!(images, [dir.path().join("IMG_0001.JPG")]);
    /// ```
    pub fn images_of(&self, sidecar: &Path) -> Result<Vec<PathBuf>, Error> {
        let Some(sidecar_name) = sidecar.file_name() else {
            return Ok(Vec::new());
        };
        let sidecar_name = sidecar_name.as_encoded_bytes();
        self.siblings(sidecar, |name| {
            self.rules.is_image(name)
                && sidecar_engine::discover::pairs(sidecar_name, name.as_encoded_bytes())
        })
    }

    /// The other files in `path`'s directory whose names `keep` chooses, in path order.
    fn siblings(
        &self,
        path: &Path,
        keep: impl Fn(&std::ffi::OsStr) -> bool,
    ) -> Result<Vec<PathBuf>, Error> {
        let dir = fsio::parent(path);
        let own = path.file_name();
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let name = entry.file_name();
            if Some(name.as_os_str()) == own
                || fsio::is_temporary(&name)
                || fsio::is_parked(&name)
                || !entry
                    .file_type()
                    .is_ok_and(|t| t.is_file() || t.is_symlink())
            {
                continue;
            }
            if keep(&name) {
                found.push(dir.join(name));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The sidecar of `image` that [`Formats::save_operation`] changes (and a reader of the
    /// image's metadata reads): its only one, or among several the one in `format`; `None` when
    /// it has none, [`Error::Ambiguous`] when it has several and none in `format`.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let image = dir.path().join("IMG_0001.jpg");
    /// let formats = image_sidecar::Formats::builtin();
    /// assert_eq!(formats.sidecar_for(&image, "json").unwrap(), None);
    /// std::fs::write(dir.path().join("IMG_0001.json"), "{}").unwrap();
    /// std::fs::write(dir.path().join("IMG_0001.xmp"), "<x/>").unwrap();
    /// assert_eq!(
    ///     formats.sidecar_for(&image, "json").unwrap(),
    ///     Some(dir.path().join("IMG_0001.json"))
    /// );
    /// assert!(formats.sidecar_for(&image, "bin").is_err());
    /// ```
    pub fn sidecar_for(&self, image: &Path, format: &str) -> Result<Option<PathBuf>, Error> {
        let format = self.format(format)?.name();
        let sidecars = self.sidecars_of(image)?;
        match sidecars.as_slice() {
            [] => Ok(None),
            [only] => Ok(Some(only.clone())),
            several => several
                .iter()
                .find(|p| {
                    self.registry
                        .by_file_name(p.file_name().unwrap_or_default().as_encoded_bytes())
                        .is_some_and(|c| c.name() == format)
                })
                .cloned()
                .map(Some)
                .ok_or_else(|| Error::Ambiguous {
                    image: image.to_owned(),
                    sidecars: sidecars.clone(),
                    format: format.to_owned(),
                }),
        }
    }

    /// Sets one operation's section of an image's sidecar (the earlier tool's `save_data`):
    /// reads the sidecar, replaces the top-level key `operation` (or adds it at the end), and
    /// writes it back in its own format, atomically; if another program changes the file
    /// meanwhile, the call fails with [`Error::Changed`] and that program's version stays.
    /// An image without a sidecar gets one in `default_format`, named by the image's stem
    /// (`IMG_0001.jpg` → `IMG_0001.json`). Returns the sidecar's path.
    ///
    /// ```
    /// let formats = image_sidecar::Formats::builtin();
    /// let dir = tempfile::tempdir().unwrap();
    /// let image = dir.path().join("IMG_0001.jpg");
    /// std::fs::write(&image, b"jpeg").unwrap();
    /// let faces = formats.read(br#"{"faces": [], "faces_found": 0}"#).unwrap().value;
    /// let path = formats.save_operation(&image, "face_detection", &faces, "json").unwrap();
    /// assert_eq!(path, dir.path().join("IMG_0001.json"));
    /// let document = formats.read_path(&path).unwrap().value;
    /// assert!(document.view().get("face_detection").is_some());
    /// ```
    pub fn save_operation(
        &self,
        image: &Path,
        operation: &str,
        section: &Value,
        default_format: &str,
    ) -> Result<PathBuf, Error> {
        let default = self.writer(default_format)?;
        let Some(path) = self.sidecar_for(image, default.name())? else {
            let path = image.with_extension(sidecar_model::codec::written_extension(default));
            let mut document = sidecar_model::Map::new();
            document.push(operation.to_owned(), section.clone());
            let bytes = self.write(Value::Object(document).view(), default.name())?;
            self.put(&path, &bytes, Overwrite::Never)?;
            return Ok(path);
        };
        let (old, meta) = self.read_file(&path)?;
        let sidecar = self.read_in(&old, None, Some(&path))?;
        let Value::Object(map) = sidecar.value else {
            return Err(Error::NotAnObject {
                path,
                kind: sidecar.value.view().kind(),
            });
        };
        let mut replaced = false;
        let mut document = sidecar_model::Map::with_capacity(map.len() + 1);
        for (key, value) in map.iter() {
            if key == operation {
                if !replaced {
                    document.push(key.to_owned(), section.clone());
                    replaced = true;
                }
            } else {
                document.push(key.to_owned(), value.clone());
            }
        }
        if !replaced {
            document.push(operation.to_owned(), section.clone());
        }
        let bytes = self.write(Value::Object(document).view(), &sidecar.format)?;
        self.replace(&path, &meta, &old, &bytes)?;
        Ok(path)
    }
}
