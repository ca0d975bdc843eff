//! The generator writes the same tree for the same seed, and a different one for another; its
//! shape options change what it writes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn generate(dir: &Path, seed: &str, extra: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let status = Command::new(env!("CARGO_BIN_EXE_sidecar-corpus"))
        .args([
            "--count",
            "60",
            "--photos-per-game",
            "25",
            "--legacy-share",
            "0.2",
            "--seed",
            seed,
            "--output",
        ])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn same_seed_same_tree() {
    let root = tempfile::tempdir().unwrap();
    let a = generate(&root.path().join("a"), "42", &[]);
    let b = generate(&root.path().join("b"), "42", &[]);
    let c = generate(&root.path().join("c"), "43", &[]);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(
        a.keys().any(|k| k.ends_with(".bin")),
        "legacy files are written"
    );
    assert!(a.keys().any(|k| k == "game_detection.json"));
    assert_eq!(a.keys().filter(|k| k.ends_with(".jpg")).count(), 60);
}

/// Lengths of every face embedding in the tree's JSON sidecars.
fn embedding_lengths(files: &BTreeMap<String, Vec<u8>>) -> Vec<usize> {
    let mut lengths = Vec::new();
    for (name, bytes) in files {
        if !name.ends_with(".json") {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        for (at, _) in text.match_indices("\"encoding\"") {
            let rest = &text[at..];
            let list = &rest[rest.find('[').unwrap() + 1..rest.find(']').unwrap()];
            lengths.push(list.split(',').count());
        }
    }
    lengths
}

#[test]
fn embedding_len_and_max_faces_set_the_shape() {
    let root = tempfile::tempdir().unwrap();
    let default = embedding_lengths(&generate(&root.path().join("d"), "7", &[]));
    assert!(!default.is_empty());
    assert!(default.iter().all(|&n| n == 512), "{default:?}");
    let small = generate(
        &root.path().join("s"),
        "7",
        &["--embedding-len", "16", "--max-faces", "2"],
    );
    let lengths = embedding_lengths(&small);
    assert!(!lengths.is_empty());
    assert!(lengths.iter().all(|&n| n == 16), "{lengths:?}");
    for (name, bytes) in &small {
        if name.ends_with(".json") && name != "game_detection.json" {
            let faces = String::from_utf8_lossy(bytes)
                .matches("\"encoding\"")
                .count();
            assert!(faces <= 2, "{name} has {faces} faces");
        }
    }
}
