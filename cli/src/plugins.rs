//! Building a run's registry: the built-in plugins, then the libraries the user named.
//!
//! Every path named (on the command line, in `IMAGE_SIDECAR_PLUGIN_PATH`, in a pipeline) must
//! exist, be readable, hold at least one library and be a trusted place: otherwise the run
//! stops before any work. Each library must itself be trusted (owner and permissions, see
//! `sidecar_plugin_host::trusted`) and pass the scanner (`crate::scan`) before it is
//! loaded into this process; one that does not costs one line in the report's
//! `plugin_errors`, and the others load. Libraries load before any worker starts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use sidecar_engine::registry::Provenance;
use sidecar_engine::{
    Check, Codec, CodecError, Decoded, Detection, FileContext, Finding, Registry, Validator, View,
};
use sidecar_plugin_host::{is_library, load_trusted, trusted, Library, TrustedFile};

use crate::scan::{self, Cache, Scanned};

/// A library that did not load, or a plugin that was skipped.
#[derive(Debug, Clone, Serialize)]
pub struct PluginError {
    pub path: String,
    pub reason: String,
}

/// The registry of a run, the libraries that loaded and what failed.
pub struct Loaded {
    pub registry: Registry,
    pub libraries: Vec<Library>,
    /// How each library's scan was had (`scanned` or `cached`), by path.
    pub scans: Vec<(PathBuf, scan::Source)>,
    pub errors: Vec<PluginError>,
}

/// Whether the libraries are loaded into this process, or only scanned (to check names).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Load,
    ScanOnly,
}

/// The libraries a plugin path names: itself, or the libraries of a directory, in name order.
/// The error says why the path cannot be used.
pub fn libraries_of(path: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".to_owned(),
        _ => format!("cannot be read: {e}"),
    })?;
    trusted(path)?;
    if meta.is_file() {
        return if is_library(path) {
            Ok(vec![path.to_path_buf()])
        } else {
            Err("is not a plugin library (*.so)".into())
        };
    }
    let entries = std::fs::read_dir(path).map_err(|e| format!("cannot be read: {e}"))?;
    let mut libraries: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && is_library(p))
        .collect();
    libraries.sort();
    if libraries.is_empty() {
        return Err("holds no plugin library (*.so)".into());
    }
    Ok(libraries)
}

/// Checks every named path, then loads (or only scans) their libraries over the built-ins.
pub fn load(paths: &[PathBuf], mode: Mode) -> Result<Loaded, String> {
    let mut libraries = Vec::new();
    for path in paths {
        let found = libraries_of(path)
            .map_err(|reason| format!("plugin path {}: {reason}", path.display()))?;
        libraries.extend(found);
    }
    let (mut registry, clashes) = Registry::builtin_with_clashes();
    let mut errors: Vec<PluginError> = clashes
        .into_iter()
        .map(|e| PluginError {
            path: "built-in".into(),
            reason: format!("{e}; this one is skipped"),
        })
        .collect();
    let mut loaded = Vec::new();
    let mut scans = Vec::new();
    let mut notices = Vec::new();
    // The scan cache is read only when there is a library to look up in it.
    let mut cache = if libraries.is_empty() {
        Cache::none()
    } else {
        Cache::open(&mut notices)
    };
    for path in libraries {
        let fail = |reason: String| PluginError {
            path: path.to_string_lossy().into_owned(),
            reason,
        };
        let trusted = match TrustedFile::open(&path) {
            Ok(trusted) => trusted,
            Err(reason) => {
                errors.push(fail(reason));
                continue;
            }
        };
        let (outcome, source) = scan::scan(&path, &trusted, &mut cache);
        scans.push((path.clone(), source));
        let scanned = match outcome {
            Ok(scanned) => scanned,
            Err(reason) => {
                errors.push(fail(reason));
                continue;
            }
        };
        let stamp = trusted.stamp();
        let library = match mode {
            Mode::Load => match load_trusted(trusted, &path) {
                Ok(library) => library,
                Err(failure) => {
                    errors.push(fail(failure.reason));
                    continue;
                }
            },
            Mode::ScanOnly => stand_in(&path, scanned),
        };
        register(&mut registry, &library, stamp, &mut errors);
        loaded.push(library);
    }
    if let Err(notice) = cache.save() {
        notices.push(notice);
    }
    for notice in notices {
        eprintln!("image-sidecar-rust: {notice}");
    }
    for error in &errors {
        tracing::warn!("plugin {} not loaded: {}", error.path, error.reason);
    }
    Ok(Loaded {
        registry,
        libraries: loaded,
        scans,
        errors,
    })
}

fn register(
    registry: &mut Registry,
    library: &Library,
    loaded: String,
    errors: &mut Vec<PluginError>,
) {
    let provenance = Provenance::Library {
        path: library.path.clone(),
        loaded,
    };
    let path = library.path.to_string_lossy().into_owned();
    let mut skipped = |e: sidecar_engine::registry::DuplicateName| {
        errors.push(PluginError {
            path: path.clone(),
            reason: format!("{e}; this one is skipped"),
        })
    };
    for codec in &library.codecs {
        if let Err(e) = registry.add(codec.clone(), provenance.clone()) {
            skipped(e);
        }
    }
    for validator in &library.validators {
        if let Err(e) = registry.add_validator(validator.clone(), provenance.clone()) {
            skipped(e);
        }
    }
    for summary in &library.summaries {
        if let Err(e) = registry.add_summary(summary.clone(), provenance.clone()) {
            skipped(e);
        }
    }
}

/// A library known only from its scan: its plugins by name, for checking a pipeline without
/// loading any code into this process. Nothing of it ever reads a file.
fn stand_in(path: &Path, scanned: Scanned) -> Library {
    Library {
        path: path.to_path_buf(),
        name: scanned.name,
        version: scanned.version,
        codecs: scanned
            .codecs
            .into_iter()
            .map(|c| {
                let extensions = c
                    .extensions
                    .into_iter()
                    .map(|e| &*Box::leak(e.into_boxed_str()))
                    .collect();
                Arc::new(StandIn {
                    name: c.name,
                    display_name: c.display_name,
                    extensions,
                    writes: c.writes,
                }) as Arc<dyn Codec>
            })
            .collect(),
        validators: scanned
            .validators
            .into_iter()
            .map(|name| Arc::new(StandInValidator(name)) as Arc<dyn Validator>)
            .collect(),
        summaries: Vec::new(),
    }
}

struct StandIn {
    name: String,
    display_name: String,
    extensions: Vec<&'static str>,
    writes: bool,
}

impl Codec for StandIn {
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
        "scanned"
    }
    fn detect(&self, _: &[u8], _: u64) -> Detection {
        Detection::No
    }
    fn decode(&self, _: &[u8]) -> Result<Decoded, CodecError> {
        Err(CodecError::unsupported("a scanned plugin is not loaded"))
    }
    fn can_encode(&self) -> bool {
        self.writes
    }
    fn encode(&self, _: View<'_>, _: &mut Vec<u8>) -> Result<(), CodecError> {
        Err(CodecError::unsupported("a scanned plugin is not loaded"))
    }
}

struct StandInValidator(String);

impl Validator for StandInValidator {
    fn name(&self) -> &str {
        &self.0
    }
    fn version(&self) -> &str {
        "scanned"
    }
    fn description(&self) -> &str {
        "known from a scan; its options are checked when the pipeline runs"
    }
    fn configure(&self, _: &serde_json::Value, _: &Path) -> Result<Box<dyn Check>, String> {
        Ok(Box::new(NoCheck))
    }
}

struct NoCheck;

impl Check for NoCheck {
    fn check(&self, _: View<'_>, _: &FileContext<'_>, _: &mut Vec<Finding>) {}
}
