//! The registry of codecs and validators a run uses, and format detection over it.
//!
//! Built-in plugins join at link time: a plugin crate calls `inventory::submit!` with a
//! [`CodecRegistration`] or a [`ValidatorRegistration`], and [`Registry::builtin`] collects
//! them. Plugins from dynamic libraries are added with [`Registry::add`] and
//! [`Registry::add_validator`]; the registry treats both alike.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::{Codec, CodecRegistration, Detection};
use crate::summary::{Field, Summary, SummaryRegistration};
use crate::validator::{Validator, ValidatorRegistration};

/// Where a codec comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    BuiltIn,
    /// A library, by path, with what identifies the file that was loaded (its identity and a
    /// hash of its bytes, as the loader saw them): part of the results cache's fingerprint.
    Library {
        path: PathBuf,
        loaded: String,
    },
}

/// Two plugins of one kind claim one name.
#[derive(Debug, thiserror::Error)]
#[error("a {kind} named `{name}` is already registered")]
pub struct DuplicateName {
    pub kind: &'static str,
    pub name: String,
}

/// A codec with where it came from.
pub struct Entry {
    pub codec: Arc<dyn Codec>,
    pub provenance: Provenance,
}

/// A validator with where it came from.
pub struct ValidatorEntry {
    pub validator: Arc<dyn Validator>,
    pub provenance: Provenance,
}

/// A summary with its fields and where it came from.
pub struct SummaryEntry {
    pub summary: Arc<dyn Summary>,
    pub fields: Vec<Field>,
    pub provenance: Provenance,
}

/// Field names of the stats report that belong to the engine (and to every report).
pub const RESERVED_FIELDS: &[&str] = &[
    "generator",
    "plugin_errors",
    "total_sidecars",
    "total_images",
    "unreadable_sidecars",
    "files_by_format",
    "bytes_by_format",
    "total_bytes",
    "sidecars_without_image",
    "images_without_sidecar",
    "images_with_several_sidecars",
    "orphans",
    "disagreeing_sidecars",
    "superseded_files",
    "directory_files",
    "errors",
    "elapsed_seconds",
];

/// The codecs, validators and summaries of a run, each kind in a fixed order (by name) so
/// that every decision and every report is reproducible.
#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
    validators: Vec<ValidatorEntry>,
    summaries: Vec<SummaryEntry>,
}

/// The codec chosen for a file, and whether its name disagreed with its content.
#[derive(Clone, Copy)]
pub struct Identified<'r> {
    pub codec: &'r dyn Codec,
    /// How sure the content check was (`No` when only the extension chose the codec).
    pub by_content: Detection,
    /// The file's extension belongs to another codec than the one its content names.
    pub extension_mismatch: bool,
}

/// How many leading bytes detection looks at.
pub const DETECT_BYTES: usize = 64;

impl Registry {
    /// A registry of every codec, validator and summary linked into the binary.
    pub fn builtin() -> Registry {
        Registry::builtin_with_clashes().0
    }

    /// The built-in registry, and the name clashes among the built-ins (a later one is
    /// skipped), reported like a library's.
    pub fn builtin_with_clashes() -> (Registry, Vec<DuplicateName>) {
        let mut registry = Registry::default();
        let mut clashes = Vec::new();
        for registration in inventory::iter::<CodecRegistration> {
            let codec: Arc<dyn Codec> = Arc::from(registration.make());
            clashes.extend(registry.add(codec, Provenance::BuiltIn).err());
        }
        for registration in inventory::iter::<ValidatorRegistration> {
            let validator: Arc<dyn Validator> = Arc::from(registration.make());
            clashes.extend(registry.add_validator(validator, Provenance::BuiltIn).err());
        }
        for registration in inventory::iter::<SummaryRegistration> {
            let summary: Arc<dyn Summary> = Arc::from(registration.make());
            clashes.extend(registry.add_summary(summary, Provenance::BuiltIn).err());
        }
        (registry, clashes)
    }

    /// Adds a summary; its name, and each of its fields' names, must be unique (and not one of
    /// the engine's [`RESERVED_FIELDS`]).
    pub fn add_summary(
        &mut self,
        summary: Arc<dyn Summary>,
        provenance: Provenance,
    ) -> Result<(), DuplicateName> {
        if self
            .summaries
            .iter()
            .any(|e| e.summary.name().eq_ignore_ascii_case(summary.name()))
        {
            return Err(DuplicateName {
                kind: "summary",
                name: summary.name().into(),
            });
        }
        let fields = summary.fields();
        for (i, field) in fields.iter().enumerate() {
            let taken = RESERVED_FIELDS.contains(&field.name.as_str())
                || fields[..i].iter().any(|f| f.name == field.name)
                || self
                    .summaries
                    .iter()
                    .flat_map(|e| &e.fields)
                    .any(|f| f.name == field.name);
            if taken {
                return Err(DuplicateName {
                    kind: "stats field",
                    name: field.name.clone(),
                });
            }
        }
        let at = self
            .summaries
            .partition_point(|e| e.summary.name() < summary.name());
        self.summaries.insert(
            at,
            SummaryEntry {
                summary,
                fields,
                provenance,
            },
        );
        Ok(())
    }

    pub fn summary_entries(&self) -> &[SummaryEntry] {
        &self.summaries
    }

    /// Every plugin with its version and where it comes from (a library by path, size and
    /// modification time), as text: what a cached result depends on.
    pub fn fingerprint(&self) -> String {
        fn origin(provenance: &Provenance) -> String {
            match provenance {
                Provenance::BuiltIn => "built-in".into(),
                Provenance::Library { path, loaded } => format!("{} {loaded}", path.display()),
            }
        }
        let mut text = String::new();
        for e in &self.entries {
            text.push_str(&format!(
                "codec {} {} {}\n",
                e.codec.name(),
                e.codec.version(),
                origin(&e.provenance)
            ));
        }
        for e in &self.validators {
            text.push_str(&format!(
                "validator {} {} {}\n",
                e.validator.name(),
                e.validator.version(),
                origin(&e.provenance)
            ));
        }
        for e in &self.summaries {
            text.push_str(&format!(
                "summary {} {} {}\n",
                e.summary.name(),
                e.summary.version(),
                origin(&e.provenance)
            ));
        }
        text
    }

    /// Adds a codec; names and aliases must be unique.
    pub fn add(
        &mut self,
        codec: Arc<dyn Codec>,
        provenance: Provenance,
    ) -> Result<(), DuplicateName> {
        let claimed = std::iter::once(codec.name()).chain(codec.aliases().iter().copied());
        for name in claimed {
            if self.by_name(name).is_some() {
                return Err(DuplicateName {
                    kind: "codec",
                    name: name.into(),
                });
            }
        }
        let at = self
            .entries
            .partition_point(|e| e.codec.name() < codec.name());
        self.entries.insert(at, Entry { codec, provenance });
        Ok(())
    }

    /// Adds a validator; names must be unique.
    pub fn add_validator(
        &mut self,
        validator: Arc<dyn Validator>,
        provenance: Provenance,
    ) -> Result<(), DuplicateName> {
        if self.validator(validator.name()).is_some() {
            return Err(DuplicateName {
                kind: "validator",
                name: validator.name().into(),
            });
        }
        let at = self
            .validators
            .partition_point(|e| e.validator.name() < validator.name());
        self.validators.insert(
            at,
            ValidatorEntry {
                validator,
                provenance,
            },
        );
        Ok(())
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn validator_entries(&self) -> &[ValidatorEntry] {
        &self.validators
    }

    /// The validator with this name (case-insensitive).
    pub fn validator(&self, name: &str) -> Option<&dyn Validator> {
        self.validators
            .iter()
            .map(|e| e.validator.as_ref())
            .find(|v| v.name().eq_ignore_ascii_case(name))
    }

    pub fn codecs(&self) -> impl Iterator<Item = &dyn Codec> {
        self.entries.iter().map(|e| e.codec.as_ref())
    }

    /// The codec with this name or alias (case-insensitive).
    pub fn by_name(&self, name: &str) -> Option<&dyn Codec> {
        self.codecs().find(|c| {
            c.name().eq_ignore_ascii_case(name)
                || c.aliases().iter().any(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// The codec that claims a file name by its extension: the longest declared extension that
    /// ends the name wins (`IMG.jpg.xmp` goes to a codec declaring `jpg.xmp` before one
    /// declaring `xmp`); between equals, a writing codec before a read-only one. Extensions
    /// compare case-insensitively.
    pub fn by_file_name(&self, name: &[u8]) -> Option<&dyn Codec> {
        let mut best: Option<(&dyn Codec, usize)> = None;
        for codec in self.codecs() {
            let Some(len) = claimed_len(codec, name) else {
                continue;
            };
            let better = match best {
                None => true,
                Some((held, held_len)) => {
                    len > held_len || (len == held_len && codec.can_encode() && !held.can_encode())
                }
            };
            if better {
                best = Some((codec, len));
            }
        }
        best.map(|(codec, _)| codec)
    }

    /// Whether any codec claims this file name by its extension.
    pub fn claims(&self, name: &[u8]) -> bool {
        self.by_file_name(name).is_some()
    }

    /// Chooses the codec for a file: certain content signatures first, then plausible content
    /// that the extension agrees with, then plausible content alone, then the extension.
    pub fn identify(&self, path: &Path, head: &[u8], file_len: u64) -> Option<Identified<'_>> {
        let name = path.file_name().map_or(&[][..], |n| n.as_encoded_bytes());
        let by_extension = self.by_file_name(name);

        let mut certain = None;
        let mut plausible = Vec::new();
        for codec in self.codecs() {
            match codec.detect(head, file_len) {
                Detection::Certain if certain.is_none() => certain = Some(codec),
                Detection::Plausible => plausible.push(codec),
                _ => {}
            }
        }
        let (codec, by_content) = if let Some(codec) = certain {
            (codec, Detection::Certain)
        } else if let Some(codec) = by_extension.filter(|c| plausible.iter().any(|p| same(*p, *c)))
        {
            (codec, Detection::Plausible)
        } else if let Some(codec) = plausible.first() {
            (*codec, Detection::Plausible)
        } else {
            (by_extension?, Detection::No)
        };
        let extension_mismatch = by_extension.is_some() && claimed_len(codec, name).is_none();
        Some(Identified {
            codec,
            by_content,
            extension_mismatch,
        })
    }
}

/// How long the longest of `codec`'s extensions that ends `name` is (`.` included).
fn claimed_len(codec: &dyn Codec, name: &[u8]) -> Option<usize> {
    codec
        .extensions()
        .iter()
        .filter(|ext| {
            let ext = ext.as_bytes();
            name.len() > ext.len() + 1
                && name[name.len() - ext.len() - 1] == b'.'
                && name[name.len() - ext.len()..].eq_ignore_ascii_case(ext)
        })
        .map(|ext| ext.len() + 1)
        .max()
}

fn same(a: &dyn Codec, b: &dyn Codec) -> bool {
    a.name() == b.name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fake;

    fn registry() -> Registry {
        let mut r = Registry::default();
        let fakes = [
            Fake {
                name: "json",
                extensions: &["json"],
                magic: None,
                text: true,
                writes: true,
            },
            Fake {
                name: "bin",
                extensions: &["bin"],
                magic: Some(b"BIN"),
                text: false,
                writes: true,
            },
            Fake {
                name: "old",
                extensions: &["bin"],
                magic: Some(b"OLD"),
                text: false,
                writes: false,
            },
        ];
        for fake in fakes {
            r.add(Arc::new(fake), Provenance::BuiltIn).unwrap();
        }
        r
    }

    #[test]
    fn content_wins_over_extension_and_reports_the_mismatch() {
        let r = registry();
        let id = r.identify(Path::new("a.json"), b"BIN....", 7).unwrap();
        assert_eq!(id.codec.name(), "bin");
        assert!(id.extension_mismatch);
        let id = r.identify(Path::new("a.bin"), b"{}", 2).unwrap();
        assert_eq!(id.codec.name(), "json");
        assert!(id.extension_mismatch);
    }

    #[test]
    fn a_read_only_codec_sharing_an_extension_is_no_mismatch() {
        let r = registry();
        let id = r.identify(Path::new("a.bin"), b"OLD", 3).unwrap();
        assert_eq!(id.codec.name(), "old");
        assert!(!id.extension_mismatch);
        assert_eq!(r.by_file_name(b"x.bin").unwrap().name(), "bin");
    }

    #[test]
    fn the_extension_decides_when_content_says_nothing() {
        let r = registry();
        let id = r.identify(Path::new("a.BIN"), b"garbage", 7).unwrap();
        assert_eq!(id.codec.name(), "bin");
        assert_eq!(id.by_content, Detection::No);
        assert!(r.identify(Path::new("a.txt"), b"garbage", 7).is_none());
    }

    #[test]
    fn the_longest_declared_extension_claims_a_name() {
        let mut r = registry();
        for (name, extensions) in [("xmp", &["xmp"][..]), ("jxmp", &["jpg.xmp"][..])] {
            let fake = Fake {
                name,
                extensions,
                magic: None,
                text: false,
                writes: true,
            };
            r.add(Arc::new(fake), Provenance::BuiltIn).unwrap();
        }
        assert_eq!(r.by_file_name(b"IMG_0001.JPG.XMP").unwrap().name(), "jxmp");
        assert_eq!(r.by_file_name(b"IMG_0001.xmp").unwrap().name(), "xmp");
        assert_eq!(r.by_file_name(b"IMG_0001.CR3.xmp").unwrap().name(), "xmp");
        assert!(
            r.by_file_name(b"jpg.xmp").unwrap().name() == "xmp",
            "a whole name is no extension"
        );
        assert!(!r.claims(b"xmp") && !r.claims(b"IMG_0001.xmpp"));
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut r = registry();
        let again = Fake {
            name: "JSON",
            extensions: &[],
            magic: None,
            text: false,
            writes: true,
        };
        assert!(r.add(Arc::new(again), Provenance::BuiltIn).is_err());
    }
}
