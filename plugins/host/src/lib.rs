//! The tool's side of the plugin ABI: checking and loading plugin libraries and presenting their
//! codecs, validators and summaries as the model's plain traits, so that the rest of the tool
//! never sees abi_stable. Plugin authors depend on `sidecar-plugin-api` (the author side); only
//! the tool depends on this crate.
//!
//! Each library is loaded on its own, by path (abi_stable's per-type module cache would make
//! two plugins one), before any worker starts, and never unloaded. A library that cannot be
//! loaded yields one line naming the file and the reason; the others load regardless.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::{RResult, RSlice, RStr};
use sidecar_model::{
    canonical, Check, Codec, CodecError, Counter, Decoded, Detection, Field, FieldKind,
    FileContext, Finding, Severity, Summary, Validator, View,
};

pub mod trust;

pub use crate::trust::{trusted, TrustedFile};
use sidecar_plugin_api::ffi::{
    FfiCodecBox, FfiFile, FfiSummaryBox, FfiValidatorBox, PluginModuleRef,
};

/// A library that loaded.
pub struct Library {
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub codecs: Vec<Arc<dyn Codec>>,
    pub validators: Vec<Arc<dyn Validator>>,
    pub summaries: Vec<Arc<dyn Summary>>,
}

/// A library or directory that did not load, and why, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    pub path: PathBuf,
    pub reason: String,
}

/// File names that can be plugin libraries on this platform.
pub fn is_library(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "so" | "dylib" | "dll")
}

/// Checks a library (see [`crate::trust`]) and loads it.
pub fn load_library(path: &Path) -> Result<Library, LoadFailure> {
    let trusted = TrustedFile::open(path).map_err(|reason| LoadFailure {
        path: path.to_path_buf(),
        reason,
    })?;
    load_trusted(trusted, path)
}

/// Loads a library that passed its check, through its open descriptor; `path` is what reports
/// call it.
pub fn load_trusted(library: TrustedFile, path: &Path) -> Result<Library, LoadFailure> {
    let loaded = load_from(&library.loader_path(), path);
    library.keep_open();
    loaded
}

/// Loads the library at `loader_path` (a scanner's inherited descriptor, `/proc/self/fd/N`,
/// checked by the process that started it); `path` is what reports call it.
pub fn load_from(loader_path: &Path, path: &Path) -> Result<Library, LoadFailure> {
    let fail = |reason: String| LoadFailure {
        path: path.to_path_buf(),
        reason,
    };
    let header = lib_header_from_path(loader_path).map_err(|e| fail(summarize(&e)))?;
    let module = header
        .init_root_module::<PluginModuleRef>()
        .map_err(|e| fail(summarize(&e)))?;
    let name = (module.library())().into_string();
    let version = (module.library_version())().into_string();
    let codecs = (module.codecs())()
        .into_iter()
        .map(|c| Arc::new(DynCodec::new(c)) as Arc<dyn Codec>)
        .collect();
    let validators = (module.validators())()
        .into_iter()
        .map(|v| Arc::new(DynValidator::new(v)) as Arc<dyn Validator>)
        .collect();
    // Libraries built against ABI 1.0 have no summaries.
    let summaries = module
        .summaries()
        .map(|summaries| summaries())
        .unwrap_or_default()
        .into_iter()
        .map(|s| Arc::new(DynSummary::new(s)) as Arc<dyn Summary>)
        .collect();
    Ok(Library {
        path: path.to_path_buf(),
        name,
        version,
        codecs,
        validators,
        summaries,
    })
}

/// One line for a load error: abi_stable's layout errors run to pages.
fn summarize(error: &LibraryError) -> String {
    let line = match error {
        LibraryError::OpenError { err, .. } => format!("cannot open the library: {err}"),
        LibraryError::GetSymbolError { .. } => {
            "not an image-sidecar plugin (it exports no plugin root module)".into()
        }
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => format!(
            "built against plugin API {actual_version}, this tool loads {expected_version}-compatible plugins"
        ),
        LibraryError::AbiInstability(_) | LibraryError::InvalidAbiHeader(_) => {
            "its plugin interface does not match this tool's (built against another sidecar-plugin-api or abi_stable)".into()
        }
        other => other.to_string(),
    };
    let first = line.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut first = first.trim().to_owned();
    if first.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|&i| first.is_char_boundary(i))
            .unwrap_or(0);
        first.truncate(cut);
        first.push('…');
    }
    first
}

thread_local! {
    /// A reusable buffer for canonical encodings sent to plugins.
    static ENCODED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn with_encoded<T>(view: View<'_>, f: impl FnOnce(&[u8]) -> T) -> T {
    ENCODED.with(|cell| {
        let mut buf = cell.take();
        buf.clear();
        canonical::encode(view, &mut buf);
        let result = f(&buf);
        cell.replace(buf);
        result
    })
}

/// A library's codec as a model codec.
struct DynCodec {
    inner: FfiCodecBox,
    name: String,
    display_name: String,
    extensions: Vec<&'static str>,
    version: String,
    can_encode: bool,
    read_by_other_programs: bool,
}

impl DynCodec {
    fn new(inner: FfiCodecBox) -> DynCodec {
        DynCodec {
            name: inner.name().into_string().to_ascii_lowercase(),
            display_name: inner.display_name().into_string(),
            // Libraries are never unloaded, so their extensions may live as long.
            extensions: inner
                .extensions()
                .into_iter()
                .map(|e| &*Box::leak(e.into_string().to_ascii_lowercase().into_boxed_str()))
                .collect(),
            version: inner.version().into_string(),
            can_encode: inner.can_encode(),
            read_by_other_programs: inner.read_by_other_programs(),
            inner,
        }
    }
}

impl Codec for DynCodec {
    fn name(&self) -> &str {
        &self.name
    }
    fn display_name(&self) -> &str {
        &self.display_name
    }
    fn extensions(&self) -> &[&str] {
        &self.extensions
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn detect(&self, head: &[u8], file_len: u64) -> Detection {
        match self.inner.detect(RSlice::from_slice(head), file_len) {
            2 => Detection::Certain,
            1 => Detection::Plausible,
            _ => Detection::No,
        }
    }
    fn decode(&self, bytes: &[u8]) -> Result<Decoded, CodecError> {
        match self.inner.decode(RSlice::from_slice(bytes)) {
            RResult::ROk(encoded) => {
                let value = canonical::decode(&encoded, 0).map_err(|e| {
                    CodecError::malformed(
                        format!("the {} plugin returned an invalid value: {e}", self.name),
                        None,
                    )
                })?;
                Ok(Decoded {
                    value,
                    warnings: Vec::new(),
                })
            }
            RResult::RErr(message) => Err(CodecError::malformed(message.into_string(), None)),
        }
    }
    fn can_encode(&self) -> bool {
        self.can_encode
    }
    fn read_by_other_programs(&self) -> bool {
        self.read_by_other_programs
    }
    fn encode(&self, document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
        if !self.can_encode {
            return Err(CodecError::unsupported(format!(
                "the {} plugin does not write its format",
                self.name
            )));
        }
        match with_encoded(document, |encoded| {
            self.inner.encode(RSlice::from_slice(encoded))
        }) {
            RResult::ROk(bytes) => {
                out.extend_from_slice(&bytes);
                Ok(())
            }
            RResult::RErr(message) => Err(CodecError::unrepresentable(message.into_string(), None)),
        }
    }
}

/// A library's validator as a model validator.
struct DynValidator {
    inner: Arc<FfiValidatorBox>,
    name: String,
    version: String,
    description: String,
}

impl DynValidator {
    fn new(inner: FfiValidatorBox) -> DynValidator {
        DynValidator {
            name: inner.name().into_string(),
            version: inner.version().into_string(),
            description: inner.description().into_string(),
            inner: Arc::new(inner),
        }
    }
}

impl Validator for DynValidator {
    fn name(&self) -> &str {
        &self.name
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn description(&self) -> &str {
        &self.description
    }
    /// Plugins see their options as written: paths in them are relative to the working
    /// directory.
    fn configure(&self, options: &serde_json::Value, _: &Path) -> Result<Box<dyn Check>, String> {
        let options = options.to_string();
        match self.inner.check_options(RStr::from_str(&options)) {
            RResult::ROk(()) => Ok(Box::new(DynCheck {
                inner: self.inner.clone(),
                options,
            })),
            RResult::RErr(message) => Err(message.into_string()),
        }
    }
}

struct DynCheck {
    inner: Arc<FfiValidatorBox>,
    options: String,
}

impl Check for DynCheck {
    fn check(&self, document: View<'_>, file: &FileContext<'_>, findings: &mut Vec<Finding>) {
        let path = file.path.to_string_lossy();
        let ffi_file = FfiFile {
            path: RStr::from_str(&path),
            has_image: file.has_image,
            format: RStr::from_str(file.format),
        };
        let result = with_encoded(document, |encoded| {
            self.inner.validate(
                RStr::from_str(&self.options),
                RSlice::from_slice(encoded),
                ffi_file,
            )
        });
        match result {
            RResult::ROk(found) => findings.extend(found.into_iter().map(|f| Finding {
                severity: if f.severity == 0 {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                message: f.message.into_string(),
                location: Some(f.location.into_string()).filter(|l| !l.is_empty()),
            })),
            RResult::RErr(message) => findings.push(Finding {
                severity: Severity::Error,
                message: format!("the validator failed: {message}"),
                location: None,
            }),
        }
    }
}

/// A library's summary as a model summary.
struct DynSummary {
    inner: FfiSummaryBox,
    name: String,
    version: String,
    description: String,
    fields: Vec<Field>,
}

impl DynSummary {
    fn new(inner: FfiSummaryBox) -> DynSummary {
        DynSummary {
            name: inner.name().into_string(),
            version: inner.version().into_string(),
            description: inner.description().into_string(),
            fields: inner
                .fields()
                .into_iter()
                .map(|f| Field {
                    name: f.name.into_string(),
                    kind: if f.kind == 0 {
                        FieldKind::Total
                    } else {
                        FieldKind::Tally
                    },
                })
                .collect(),
            inner,
        }
    }
}

impl Summary for DynSummary {
    fn name(&self) -> &str {
        &self.name
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn fields(&self) -> Vec<Field> {
        self.fields.clone()
    }
    /// A summary that fails on a document adds nothing for it: counters are best effort, and
    /// the file's validity is the validators' business.
    fn add(&self, document: View<'_>, counters: &mut [Counter]) {
        let result = with_encoded(document, |encoded| {
            self.inner.summarize(RSlice::from_slice(encoded))
        });
        if let RResult::ROk(counts) = result {
            for count in counts {
                let Some(counter) = counters.get_mut(count.field as usize) else {
                    continue;
                };
                match counter {
                    Counter::Total(_) => counter.add(count.n),
                    Counter::Tally(_) => counter.add_to(count.key.as_str(), count.n),
                }
            }
        }
    }
}
