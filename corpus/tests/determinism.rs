//! The generator writes the same tree for the same seed, and a different one for another.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn generate(dir: &Path, seed: &str) -> BTreeMap<String, Vec<u8>> {
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
    let a = generate(&root.path().join("a"), "42");
    let b = generate(&root.path().join("b"), "42");
    let c = generate(&root.path().join("c"), "43");
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(
        a.keys().any(|k| k.ends_with(".bin")),
        "legacy files are written"
    );
    assert!(a.keys().any(|k| k == "game_detection.json"));
    assert_eq!(a.keys().filter(|k| k.ends_with(".jpg")).count(), 60);
}
