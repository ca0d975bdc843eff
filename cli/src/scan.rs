//! The plugin scanner: before a library is loaded into the tool, it is opened in a child
//! process (this same binary, in a hidden mode), which reports what the library holds or how
//! it failed. A constructor that segfaults or aborts kills the child, not the run, and costs
//! one line in the report. The scanner loads the very file the trust check opened: it inherits
//! the descriptor and loads `/proc/self/fd/N`.
//!
//! Results are cached per library (path, device, inode, size, modification and change times,
//! a hash of its bytes, tool version) in the user's cache directory, so a library is scanned
//! once, as GStreamer's registry does. The cache file is read only if it and its directory are
//! the user's and nobody else can write them (`sidecar_engine::fsio::read_private`): a scan
//! result says a library is safe to load, so a forged one must never be believed.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sidecar_plugin_host::load_from;
use sidecar_plugin_host::trust::TrustedFile;

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

/// The child's side: loads the library (at `loader_path`, the descriptor inherited from the
/// parent that checked it) and prints what it holds. Exit 0 with the result, 3 with the reason
/// the library does not load; a crash is the parent's to report.
pub fn child(loader_path: &Path) -> u8 {
    let outcome: Result<Scanned, String> = load_from(loader_path, loader_path)
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
    code
}

/// The command that starts this program again, when it is not the running executable.
static SELF_COMMAND: std::sync::OnceLock<(std::ffi::OsString, Vec<std::ffi::OsString>)> =
    std::sync::OnceLock::new();

/// Names the command that starts this program again (see `crate::set_self_command`); the
/// first naming holds.
pub fn set_self_command(program: std::ffi::OsString, args: Vec<std::ffi::OsString>) {
    let _ = SELF_COMMAND.set((program, args));
}

/// What identifies the library a scan was made of: the file as opened, its bytes, and the
/// tool that scanned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    hash: u128,
    tool: String,
}

/// One cached scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    outcome: Result<Scanned, String>,
}

/// The scan cache: one JSON file in the user's cache directory.
pub struct Cache {
    file: Option<PathBuf>,
    entries: BTreeMap<String, Entry>,
    dirty: bool,
}

impl Cache {
    /// No cache: nothing read, nothing written.
    pub fn none() -> Cache {
        Cache {
            file: None,
            entries: BTreeMap::new(),
            dirty: false,
        }
    }

    /// `$XDG_CACHE_HOME/image-sidecar-rust/plugin-scan.json` (by default under `~/.cache`). A
    /// missing, unreadable or foreign file is an empty cache; one that others own or could
    /// have written is ignored, and `notices` says so.
    pub fn open(notices: &mut Vec<String>) -> Cache {
        let file = crate::config::cache_dir().map(|d| d.join("plugin-scan.json"));
        let mut keep_file = false;
        let bytes = file.as_ref().and_then(|f| {
            sidecar_engine::fsio::read_private(f, MAX_CACHE_BYTES).unwrap_or_else(|refused| {
                notices.push(format!(
                    "the plugin scan cache is not used: {}; every library is scanned again",
                    refused.reason
                ));
                // A file in the user's own directory is replaced by the next save.
                keep_file = !refused.replaceable;
                None
            })
        });
        let entries = bytes
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Cache {
            file: file.filter(|_| !keep_file),
            entries,
            dirty: false,
        }
    }

    /// Writes the cache back if a scan was added (atomically), forgetting libraries that no
    /// longer exist. A failure only costs a rescan; the message says why.
    pub fn save(&mut self) -> Result<(), String> {
        let (Some(file), true) = (&self.file, self.dirty) else {
            return Ok(());
        };
        self.entries.retain(|path, _| Path::new(path).exists());
        let bytes = serde_json::to_vec(&self.entries).map_err(|e| e.to_string())?;
        sidecar_engine::fsio::write_private(file, &bytes).map_err(|e| {
            format!(
                "the plugin scan cache {} was not saved: {e}; libraries are scanned again next time",
                file.display()
            )
        })
    }
}

/// A scan cache larger than this is not read: it would hold millions of libraries.
const MAX_CACHE_BYTES: u64 = 16 << 20;

/// Where a scan result came from, for `plugins list`.
pub type Source = &'static str;

/// The cache's key and stamp of a checked library: its real path, and its identity and bytes
/// as opened.
fn identity(path: &Path, library: &TrustedFile) -> Option<(String, Stamp)> {
    let real = std::fs::canonicalize(path).ok()?;
    let id = library.identity();
    Some((
        real.to_string_lossy().into_owned(),
        Stamp {
            dev: id.dev,
            ino: id.ino,
            size: id.size,
            mtime_ns: id.mtime_ns,
            ctime_ns: id.ctime_ns,
            hash: library.content_hash().ok()?,
            tool: env!("CARGO_PKG_VERSION").to_owned(),
        },
    ))
}

/// What a checked library holds, from the cache or a scanner process.
pub fn scan(
    path: &Path,
    library: &TrustedFile,
    cache: &mut Cache,
) -> (Result<Scanned, String>, Source) {
    let id = identity(path, library);
    if let Some((key, stamp)) = &id {
        if let Some(entry) = cache.entries.get(key).filter(|e| e.stamp == *stamp) {
            return (entry.outcome.clone(), "cached");
        }
    }
    let outcome = run_scanner(library);
    if let Some((key, stamp)) = id {
        let entry = Entry {
            stamp,
            outcome: outcome.clone(),
        };
        cache.entries.insert(key, entry);
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

/// Starts the scanner on the checked library's descriptor.
fn spawn_scanner(library: &TrustedFile) -> std::io::Result<std::process::Child> {
    let (program, args) = match SELF_COMMAND.get() {
        Some((program, args)) => (program.clone(), args.clone()),
        None => (std::env::current_exe()?.into_os_string(), Vec::new()),
    };
    library.inherited(|| {
        Command::new(program)
            .args(args)
            .arg(SCAN_COMMAND)
            .arg(library.loader_path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
    })?
}

fn run_scanner(library: &TrustedFile) -> Result<Scanned, String> {
    let mut child =
        spawn_scanner(library).map_err(|e| format!("cannot start the plugin scanner: {e}"))?;
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
