//! The test harness: temporary trees to run the real binary on, and helpers to read its
//! reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value as Json;
use std::process::Command as Process;

pub const BIN: &str = env!("CARGO_BIN_EXE_image-sidecar-rust");
pub const LEGACY_BIN: &str = env!("CARGO_BIN_EXE_sportball-sidecar-rust");

/// A temporary directory that the binary runs on, removed when dropped, with a cache
/// directory of its own (the results cache and plugin scans stay out of the user's).
pub struct Tree {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().expect("temp dir"),
            cache: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The cache directory (`XDG_CACHE_HOME`) of runs through [`Tree::run`].
    pub fn cache(&self) -> &Path {
        self.cache.path()
    }

    /// A tree holding a copy of the repository's example sidecars and images.
    pub fn examples() -> Tree {
        Tree::copy_of("examples")
    }

    /// A copy of `tests/data/<name>`, subdirectories included, without its READMEs.
    pub fn copy_of(name: &str) -> Tree {
        let tree = Tree::new();
        copy_dir(&data(name), tree.path());
        tree
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path().join(rel)
    }

    /// Writes a file, creating its directories.
    pub fn write(&self, rel: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Every file below the root with its bytes, by relative path.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        for entry in walk(self.path()) {
            let rel = entry.strip_prefix(self.path()).unwrap().to_path_buf();
            files.insert(rel, std::fs::read(&entry).unwrap());
        }
        files
    }

    /// Relative paths of the files below the root.
    pub fn files(&self) -> Vec<String> {
        self.snapshot()
            .keys()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }

    /// Runs the binary with `args`, with `--input <root>` appended.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args).arg("--input").arg(self.path());
        cmd.env_remove("RUST_LOG");
        cmd.env("XDG_CACHE_HOME", self.cache.path());
        cmd.output().expect("run the binary")
    }

    /// Runs the binary, expects exit 0 and a quiet stderr, and parses stdout.
    pub fn report(&self, args: &[&str]) -> Json {
        let out = self.run(args);
        assert_exit(&out, 0, format_args!("{args:?}"));
        assert!(
            out.stderr.is_empty(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        parse(&out.stdout)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "README.md" {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            out.extend(walk(&entry.path()));
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    out
}

/// Asserts that a run exited with `code`; otherwise fails naming `what` ran and its stderr.
pub fn assert_exit(out: &Output, code: i32, what: impl std::fmt::Display) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(rel)
}

pub fn parse(stdout: &[u8]) -> Json {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(stdout)
        )
    })
}

/// Asserts that the example files Python wrote are back, byte for byte, after going `via` some
/// other format; `before` is the tree's [`Tree::snapshot`] from before.
pub fn assert_python_files_restored(tree: &Tree, before: &BTreeMap<PathBuf, Vec<u8>>, via: &str) {
    for name in [
        "20250920_153300.120.json",
        "IMG_0042.json",
        "20250920_153304.000.json",
    ] {
        assert!(
            std::fs::read(tree.join(name)).unwrap() == before[Path::new(name)],
            "{name} changed through {via}"
        );
    }
}

/// A report without what differs between equal runs (its timing and its stages', the results
/// cache's counter) and without its `generator` marker, for comparing runs and a report with a
/// pipeline's section.
pub fn without_timings(mut report: Json) -> Json {
    if let Some(map) = report.as_object_mut() {
        map.shift_remove("elapsed_seconds");
        map.shift_remove("generator");
        map.shift_remove("cached_files");
    }
    if let Some(stages) = report.get_mut("stages").and_then(Json::as_object_mut) {
        for section in stages.values_mut() {
            section
                .as_object_mut()
                .unwrap()
                .shift_remove("elapsed_seconds");
        }
    }
    report
}

/// [`without_timings`], with the tree's own path written as `<tree>`: reports of two copies of
/// a tree, or of runs in different temporary directories, compare equal.
pub fn comparable(report: Json, root: &Path) -> Json {
    let text = serde_json::to_string(&without_timings(report)).unwrap();
    let root = serde_json::to_string(&root.to_string_lossy()).unwrap();
    serde_json::from_str(&text.replace(root.trim_matches('"'), "<tree>")).unwrap()
}

/// The entry of `results` for the file whose path ends with `name`.
pub fn result_for<'a>(report: &'a Json, list: &str, name: &str) -> &'a Json {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file_path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no entry for {name} in {list}: {report:#}"))
}

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// Builds the crate of `manifest` (outside the workspace) with cargo, offline, into
/// `target/<target>` of the workspace (crates built alike share one, so their dependencies are
/// built once), and returns that directory's `debug/`. Its lock starts
/// from the workspace's (the caller copies it when the crate has none), so it depends only on
/// crates the workspace's own build has fetched.
pub fn build_crate(manifest: &Path, target: &str) -> PathBuf {
    let target_dir = workspace().join("target").join(target);
    let build = Process::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--offline", "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{} does not build:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&build.stderr)
    );
    target_dir.join("debug")
}
