//! Building a run's registry: the built-in plugins, then every library in the plugin
//! directories. Libraries load before any worker starts; one that fails to load is reported in
//! one line and the others carry on.

use std::path::PathBuf;

use serde::Serialize;
use sidecar_engine::registry::Provenance;
use sidecar_engine::Registry;
use sidecar_plugin_api::host::{load_directories, Library};

/// A library or directory that did not load.
#[derive(Debug, Clone, Serialize)]
pub struct PluginError {
    pub path: String,
    pub reason: String,
}

/// The registry of a run, the libraries that loaded and what failed.
pub struct Loaded {
    pub registry: Registry,
    pub libraries: Vec<Library>,
    pub errors: Vec<PluginError>,
}

pub fn load(dirs: &[PathBuf]) -> Loaded {
    let (mut registry, clashes) = Registry::builtin_with_clashes();
    let (libraries, failures) = load_directories(dirs);
    let mut errors: Vec<PluginError> = clashes
        .into_iter()
        .map(|e| PluginError {
            path: "built-in".into(),
            reason: format!("{e}; this one is skipped"),
        })
        .collect();
    errors.extend(failures.into_iter().map(|f| PluginError {
        path: f.path.to_string_lossy().into_owned(),
        reason: f.reason,
    }));
    for library in &libraries {
        let provenance = Provenance::Library(library.path.clone());
        let path = library.path.to_string_lossy().into_owned();
        for codec in &library.codecs {
            if let Err(e) = registry.add(codec.clone(), provenance.clone()) {
                errors.push(PluginError {
                    path: path.clone(),
                    reason: format!("{e}; this one is skipped"),
                });
            }
        }
        for validator in &library.validators {
            if let Err(e) = registry.add_validator(validator.clone(), provenance.clone()) {
                errors.push(PluginError {
                    path: path.clone(),
                    reason: format!("{e}; this one is skipped"),
                });
            }
        }
        for summary in &library.summaries {
            if let Err(e) = registry.add_summary(summary.clone(), provenance.clone()) {
                errors.push(PluginError {
                    path: path.clone(),
                    reason: format!("{e}; this summary is skipped"),
                });
            }
        }
    }
    for error in &errors {
        tracing::warn!("plugin {} not loaded: {}", error.path, error.reason);
    }
    Loaded {
        registry,
        libraries,
        errors,
    }
}
