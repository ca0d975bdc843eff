//! Finding pipelines: a path runs that file; a name is looked up in the directories of
//! `IMAGE_SIDECAR_PIPELINE_PATH` (`:`-separated), then in the user's config directory
//! (`$XDG_CONFIG_HOME/image-sidecar-rust/pipelines/`, by default `~/.config/…`), then among the
//! pipelines built into the binary (the files of the repository's `pipelines/`, embedded at
//! build time). The working directory is never searched: a pipeline names plugin libraries,
//! and the working directory is often the photo tree, whose files must not decide what code
//! runs. A file there runs when named by path (`run ./pipelines/nightly.toml`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::exit::UsageError;

/// The repository's `pipelines/`, embedded so that `run health-check` works from anywhere.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "health-check",
        include_str!("../../pipelines/health-check.toml"),
    ),
    (
        "legacy-upgrade",
        include_str!("../../pipelines/legacy-upgrade.toml"),
    ),
    (
        "migrate-rkyv",
        include_str!("../../pipelines/migrate-rkyv.toml"),
    ),
    (
        "optimize-binary",
        include_str!("../../pipelines/optimize-binary.toml"),
    ),
];

/// A pipeline's text and where it came from.
pub struct Found {
    pub name: String,
    /// `built-in`, or the file's path.
    pub source: String,
    pub text: String,
    /// The file it was read from; `None` for a built-in pipeline.
    pub file: Option<PathBuf>,
    /// Where the file's relative paths start: its directory, or the working directory for a
    /// built-in pipeline.
    pub base_dir: PathBuf,
}

/// The environment variable naming more pipeline directories, searched first.
pub const PIPELINE_PATH_VAR: &str = "IMAGE_SIDECAR_PIPELINE_PATH";

/// The directories searched for pipeline files, in order, with a label for listings.
fn search_dirs() -> Vec<(PathBuf, &'static str)> {
    let mut dirs: Vec<(PathBuf, &'static str)> = std::env::var_os(PIPELINE_PATH_VAR)
        .map(|var| {
            std::env::split_paths(&var)
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| (p, "path"))
                .collect()
        })
        .unwrap_or_default();
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(config) = config {
        dirs.push((config.join("image-sidecar-rust").join("pipelines"), "user"));
    }
    dirs
}

fn is_path(arg: &str) -> bool {
    arg.contains('/') || arg.ends_with(".toml") || Path::new(arg).is_file()
}

/// A pipeline file's text: a regular file (read without blocking, so a FIFO cannot hang the
/// command) of at most 64 MiB, in UTF-8.
fn read_text(path: &Path) -> Result<String, String> {
    let mut bytes = Vec::new();
    sidecar_engine::fsio::read_into(path, &mut bytes, 64 << 20).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())
}

fn read(path: &Path, name: String) -> Result<Found, UsageError> {
    let text = read_text(path)
        .map_err(|e| UsageError(format!("cannot read the pipeline {}: {e}", path.display())))?;
    let base_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(Found {
        name,
        source: path.to_string_lossy().into_owned(),
        text,
        file: Some(path.to_path_buf()),
        base_dir,
    })
}

/// Finds a pipeline by name or path.
pub fn find(arg: &str) -> Result<Found, UsageError> {
    if is_path(arg) {
        let name = Path::new(arg)
            .file_stem()
            .map_or_else(|| arg.to_owned(), |s| s.to_string_lossy().into_owned());
        return read(Path::new(arg), name);
    }
    for (dir, _) in search_dirs() {
        let path = dir.join(format!("{arg}.toml"));
        if path.is_file() {
            return read(&path, arg.to_owned());
        }
    }
    if let Some((name, text)) = BUILT_IN.iter().find(|(n, _)| *n == arg) {
        return Ok(Found {
            name: (*name).to_owned(),
            source: "built-in".into(),
            text: (*text).to_owned(),
            file: None,
            base_dir: PathBuf::from("."),
        });
    }
    let mut known: Vec<String> = list().into_iter().map(|p| p.name).collect();
    known.sort();
    known.dedup();
    let hint =
        sidecar_engine::pipeline::diagnostic::did_you_mean(arg, known.iter().map(String::as_str))
            .map_or_else(String::new, |h| format!("; {h}"));
    Err(UsageError(format!(
        "no pipeline named `{arg}`{hint} (found: {})",
        known.join(", ")
    )))
}

/// A pipeline in a listing.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub name: String,
    /// `path` (`IMAGE_SIDECAR_PIPELINE_PATH`), `user` or `built-in`.
    pub origin: &'static str,
    /// `built-in`, or the file's path.
    pub source: String,
    pub description: String,
    /// A pipeline of the same name found earlier in the search order takes its place.
    pub shadowed: bool,
    /// This file takes the place of the built-in pipeline of the same name.
    pub shadows_built_in: bool,
    /// Why the file could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every pipeline found, in search order, each location's files by name.
pub fn list() -> Vec<Listed> {
    let mut found: Vec<Listed> = Vec::new();
    let mut add = |name: String, origin, source: String, text: Result<&str, String>| {
        let shadowed = found.iter().any(|l| l.name == name);
        found.push(Listed {
            description: text
                .as_ref()
                .map_or_else(|_| String::new(), |t| description(t)),
            shadows_built_in: origin != "built-in"
                && !shadowed
                && BUILT_IN.iter().any(|(n, _)| *n == name),
            name,
            origin,
            source,
            shadowed,
            error: text.err(),
        });
    };
    for (dir, origin) in search_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let text = read_text(&path).map_err(|e| format!("cannot read it: {e}"));
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            add(
                name,
                origin,
                path.to_string_lossy().into_owned(),
                text.as_deref().map_err(Clone::clone),
            );
        }
    }
    for (name, text) in BUILT_IN {
        add((*name).to_owned(), "built-in", "built-in".into(), Ok(text));
    }
    found
}

/// A pipeline's description, read without judging the rest of the file.
fn description(text: &str) -> String {
    let (spec, _) = sidecar_engine::pipeline::spec::parse(text);
    spec.description
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_the_repository_pipelines_is_built_in_and_passes_the_check() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipelines");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let built_in: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, built_in);
        let registry = sidecar_engine::Registry::builtin();
        for (name, text) in BUILT_IN {
            let (spec, diagnostics) = sidecar_engine::pipeline::spec::parse(text);
            assert!(diagnostics.is_empty(), "{name}: {diagnostics:?}");
            assert!(!spec.description.is_empty(), "{name} has a description");
            let context = sidecar_engine::pipeline::Context {
                base_dir: Path::new("."),
                default_validators: sidecar_validators::DEFAULT_VALIDATORS,
                dry_run: true,
                max_file_size: None,
                purpose: sidecar_engine::pipeline::Purpose::Run,
            };
            assert!(
                sidecar_engine::pipeline::resolve(&spec, &registry, &context).is_ok(),
                "{name}"
            );
        }
    }
}
