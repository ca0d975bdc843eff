//! The plugin scanner: before a library is loaded into the tool, it is opened in a child
//! process (this same binary, in a hidden mode), which reports what the library holds or how
//! it failed. A constructor that segfaults or aborts kills the child, not the run, and costs
//! one line in the report. Results are cached per library (path, device, inode, size,
//! modification time, tool version) in the user's cache directory, so a library is scanned
//! once, as GStreamer's registry does.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sidecar_plugin_api::host::load_library;

/// The hidden first argument that runs the scanner.
pub const SCAN_COMMAND: &str = "__scan-plugin";

/// The prefix of the scanner's one line of output (a constructor may print too).
const LINE_PREFIX: &str = "image-sidecar-scan ";

/// A scanner that runs longer than this is taken to hang.
const SCAN_TIMEOUT: Duration = Duration::from_secs(60);

/// A codec as the scan saw it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScannedCodec {
    pub name: String,
    pub display_name: String,
    pub extensions: Vec<String>,
    pub writes: bool,
}

/// What a library holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Scanned {
    pub name: String,
    pub version: String,
    pub codecs: Vec<ScannedCodec>,
    pub validators: Vec<String>,
    pub summaries: Vec<String>,
}

/// The child's side: loads the library and prints what it holds. Exit 0 with the result, 3
/// with the reason the library does not load; a crash is the parent's to report.
pub fn child(path: &Path) -> ExitCode {
    let outcome: Result<Scanned, String> = load_library(path)
        .map(|library| Scanned {
            name: library.name,
            version: library.version,
            codecs: library
                .codecs
                .iter()
                .map(|c| ScannedCodec {
                    name: c.name().to_owned(),
                    display_name: c.display_name().to_owned(),
                    extensions: c.extensions().iter().map(|e| (*e).to_owned()).collect(),
                    writes: c.can_encode(),
                })
                .collect(),
            validators: library
                .validators
                .iter()
                .map(|v| v.name().to_owned())
                .collect(),
            summaries: library
                .summaries
                .iter()
                .map(|s| s.name().to_owned())
                .collect(),
        })
        .map_err(|failure| failure.reason);
    let code = if outcome.is_ok() { 0 } else { 3 };
    let line = serde_json::to_string(&outcome).unwrap_or_default();
    println!("{LINE_PREFIX}{line}");
    ExitCode::from(code)
}

/// One cached scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    tool: String,
    outcome: Result<Scanned, String>,
}

/// The scan cache: one JSON file in the user's cache directory.
pub struct Cache {
    file: Option<PathBuf>,
    entries: BTreeMap<String, Entry>,
    dirty: bool,
}

impl Cache {
    /// `$XDG_CACHE_HOME/image-sidecar-rust/plugin-scan.json` (by default under `~/.cache`). A
    /// missing, unreadable or foreign file is an empty cache.
    pub fn open() -> Cache {
        let file = crate::config::cache_dir().map(|d| d.join("plugin-scan.json"));
        let entries = file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Cache {
            file,
            entries,
            dirty: false,
        }
    }

    /// Writes the cache back if a scan was added (atomically; failures only cost a rescan),
    /// forgetting libraries that no longer exist.
    pub fn save(&mut self) {
        let (Some(file), true) = (&self.file, self.dirty) else {
            return;
        };
        self.entries.retain(|path, _| Path::new(path).exists());
        let Some(dir) = file.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(bytes) = serde_json::to_vec(&self.entries) {
            let _ = sidecar_engine::fsio::ReportFile::create(file).and_then(|f| f.commit(&bytes));
        }
    }
}

/// Where a scan result came from, for `plugins list`.
pub type Source = &'static str;

fn identity(path: &Path) -> Option<(String, u64, u64, u64, i128)> {
    let real = std::fs::canonicalize(path).ok()?;
    let meta = std::fs::metadata(&real).ok()?;
    let mtime = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
    Some((
        real.to_string_lossy().into_owned(),
        meta.dev(),
        meta.ino(),
        meta.size(),
        mtime,
    ))
}

/// What a library holds, from the cache or a scanner process.
pub fn scan(path: &Path, cache: &mut Cache) -> (Result<Scanned, String>, Source) {
    let tool = env!("CARGO_PKG_VERSION").to_owned();
    let id = identity(path);
    if let Some((key, dev, ino, size, mtime_ns)) = &id {
        if let Some(entry) = cache.entries.get(key) {
            let same = (
                entry.dev,
                entry.ino,
                entry.size,
                entry.mtime_ns,
                &entry.tool,
            ) == (*dev, *ino, *size, *mtime_ns, &tool);
            if same {
                return (entry.outcome.clone(), "cached");
            }
        }
    }
    let outcome = run_scanner(path);
    if let Some((key, dev, ino, size, mtime_ns)) = id {
        cache.entries.insert(
            key,
            Entry {
                dev,
                ino,
                size,
                mtime_ns,
                tool,
                outcome: outcome.clone(),
            },
        );
        cache.dirty = true;
    }
    (outcome, "scanned")
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        _ => "",
    };
    if name.is_empty() {
        format!("signal {signal}")
    } else {
        format!("signal {signal}, {name}")
    }
}

fn run_scanner(path: &Path) -> Result<Scanned, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot start the plugin scanner: {e}"))?;
    let mut child = Command::new(exe)
        .arg(SCAN_COMMAND)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the plugin scanner: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > SCAN_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the library did not finish loading within {} s; not loaded",
                    SCAN_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("the plugin scanner failed: {e}")),
        }
    };
    let out = reader.join().unwrap_or_default();
    if let Some(signal) = status.signal() {
        return Err(format!(
            "the library crashed while loading ({}); not loaded",
            signal_name(signal)
        ));
    }
    let text = String::from_utf8_lossy(&out);
    let line = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(LINE_PREFIX))
        .ok_or_else(|| {
            format!(
                "the plugin scanner ended without an answer (exit {})",
                status.code().unwrap_or(-1)
            )
        })?;
    serde_json::from_str::<Result<Scanned, String>>(line)
        .map_err(|e| format!("the plugin scanner's answer is unreadable: {e}"))?
}
