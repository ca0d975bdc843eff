//! `sidecar-floor`: the floors the whole-process benchmark compares the tool against, on the
//! same files and threads: `read` reads every file with a given extension and does nothing
//! else; `json-syntax` also checks each file's JSON syntax, strictly (UTF-8 in strings
//! included), with serde_json, the fastest strict check measured; `write` does what a
//! conversion must do to the file system and nothing else: read the file, write its bytes to a
//! new temporary file beside it, rename that to the target's name, remove the source (it
//! changes the tree: run it on a copy); `head` opens each file, reads its first 64 bytes and
//! closes it (what telling a file's format needs); `stat` walks the tree with every worker
//! (directories read in parallel, as the tool's walk reads them) and stats each file, reading
//! none (what a run that trusts its results cache cannot do with less). Prints one JSON line.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use rayon::prelude::*;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Floor {
    Read,
    Head,
    JsonSyntax,
    Write,
    Stat,
}

#[derive(Debug, Parser)]
#[command(about = "Read floors for the whole-process benchmark")]
struct Args {
    #[arg(value_enum)]
    floor: Floor,
    /// The tree to read
    dir: PathBuf,
    /// Only files with this extension
    #[arg(long, default_value = "json")]
    extension: String,
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    if let Floor::Stat = args.floor {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(args.workers)
            .build()?;
        let (files, bytes) = pool.install(|| stat_tree(&args.dir, &args.extension));
        println!(
            "{{\"floor\": \"Stat\", \"files\": {files}, \"bytes\": {bytes}, \"invalid\": 0, \"seconds\": {}}}",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let files: Vec<PathBuf> = walkdir::WalkDir::new(&args.dir)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| p.extension().is_some_and(|e| e == args.extension.as_str()))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.workers)
        .build()?;
    let (bytes, invalid) = pool.install(|| {
        files
            .par_iter()
            .map(|path| check(path, args.floor))
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    println!(
        "{{\"floor\": \"{:?}\", \"files\": {}, \"bytes\": {bytes}, \"invalid\": {invalid}, \"seconds\": {}}}",
        args.floor,
        files.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Files with `extension` below `dir` and their bytes, each stat-ed, subdirectories walked as
/// parallel tasks.
fn stat_tree(dir: &Path, extension: &str) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    let mut subdirectories = Vec::new();
    let (mut files, mut bytes) = (0, 0);
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            subdirectories.push(path);
        } else if path.extension().is_some_and(|e| e == extension) {
            files += 1;
            bytes += meta.len();
        }
    }
    let (below, below_bytes) = subdirectories
        .par_iter()
        .map(|d| stat_tree(d, extension))
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    (files + below, bytes + below_bytes)
}

/// Temporary file beside the source, written, renamed to `NAME.floor`, source removed.
fn write_floor(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".floor-")
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.persist(path.with_extension("floor"))
        .map_err(|e| e.error)?;
    std::fs::remove_file(path)
}

fn check(path: &Path, floor: Floor) -> (u64, u64) {
    if let Floor::Head = floor {
        use std::io::Read;
        let mut head = [0u8; 64];
        return match std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) {
            Ok(n) => (n as u64, 0),
            Err(_) => (0, 1),
        };
    }
    let Ok(bytes) = std::fs::read(path) else {
        return (0, 1);
    };
    let invalid = match floor {
        Floor::Read | Floor::Head | Floor::Stat => false,
        Floor::JsonSyntax => {
            serde_json::from_slice::<&serde_json::value::RawValue>(&bytes).is_err()
        }
        Floor::Write => write_floor(path, &bytes).is_err(),
    };
    (bytes.len() as u64, u64::from(invalid))
}
