//! `cleanup` on trees built to trap it: every naming convention, darktable duplicates,
//! upper-case extensions, directory-level files, this tool's reports, links out of the tree, an
//! unreadable sidecar; a photo that appears and a sidecar that changes between classification
//! and action (deterministic, through the hook). Only true orphans ever move or go.

use std::path::Path;

use crate::harness::{assert_exit, parse, Tree, BIN};

/// A tree where every sidecar but the `orphan*` ones has its image.
fn trap() -> Tree {
    let tree = Tree::new();
    for (name, text) in [
        ("a/IMG_0001.JPG", "jpg"),
        ("a/IMG_0001.json", r#"{"n": 1}"#),
        ("a/IMG_0002.CR3", "raw"),
        (
            "a/IMG_0002.CR3.xmp",
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"></x:xmpmeta>",
        ),
        (
            "a/IMG_0002_01.CR3.xmp",
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"></x:xmpmeta>",
        ),
        ("a/20250920_112934.010.jpg", "jpg"),
        ("a/20250920_112934.010.json", r#"{"n": 2}"#),
        ("a/orphan.json", r#"{"n": 3}"#),
        ("a/game_detection.json", r#"{"games": []}"#),
        (
            "a/report.json",
            r#"{"generator": "image-sidecar-rust 0.1.0", "total_files": 1}"#,
        ),
        ("b/deep/orphan_2.json", r#"{"n": 4}"#),
        ("b/orphan_broken.json", r#"{"n": "#),
    ] {
        tree.write(name, text);
    }
    tree
}

fn names(report: &serde_json::Value, action: &str) -> Vec<String> {
    let mut out: Vec<String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == action)
        .map(|r| {
            Path::new(r["file_path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_dry_run_lists_only_true_orphans_and_changes_nothing() {
    let tree = trap();
    let before = tree.snapshot();
    let report = tree.report(&["cleanup"]);
    assert_eq!(report["mode"], "dry-run");
    assert_eq!(names(&report, "listed"), ["orphan.json", "orphan_2.json"]);
    assert_eq!(names(&report, "kept"), ["orphan_broken.json"]);
    assert_eq!(report["orphans"], 3);
    assert_eq!(report["directory_files"].as_array().unwrap().len(), 2);
    assert_eq!(tree.snapshot(), before);
}

#[test]
fn delete_removes_only_true_orphans() {
    let tree = trap();
    let mut expected = tree.snapshot();
    let report = tree.report(&["cleanup", "--delete"]);
    assert_eq!(names(&report, "removed"), ["orphan.json", "orphan_2.json"]);
    assert_eq!(report["removed"], 2);
    assert_eq!(report["kept"], 1);
    expected.remove(Path::new("a/orphan.json"));
    expected.remove(Path::new("b/deep/orphan_2.json"));
    assert_eq!(tree.snapshot(), expected);
}

#[test]
fn move_to_keeps_the_paths_below_the_input_and_never_overwrites() {
    let tree = trap();
    let trash = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(trash.path().join("a")).unwrap();
    std::fs::write(trash.path().join("a/orphan.json"), "already here").unwrap();
    let report = tree.report(&["cleanup", "--move-to", trash.path().to_str().unwrap()]);
    assert_eq!(names(&report, "moved"), ["orphan_2.json"]);
    assert_eq!(
        std::fs::read_to_string(trash.path().join("b/deep/orphan_2.json")).unwrap(),
        r#"{"n": 4}"#
    );
    assert_eq!(
        names(&report, "kept"),
        ["orphan.json", "orphan_broken.json"]
    );
    assert_eq!(
        std::fs::read_to_string(trash.path().join("a/orphan.json")).unwrap(),
        "already here"
    );
    assert!(tree.join("a/orphan.json").exists());
    let inside = tree.join("trash");
    let out = tree.run(&["cleanup", "--move-to", inside.to_str().unwrap()]);
    assert_exit(&out, 2, "a --move-to inside the input");
}

#[test]
fn a_photo_that_appears_or_a_sidecar_that_changes_before_the_action_keeps_it() {
    let tree = trap();
    let run = |hook: String| {
        let out = std::process::Command::new(BIN)
            .args(["cleanup", "--delete", "--input"])
            .arg(tree.path())
            .env("XDG_CACHE_HOME", tree.cache())
            .env(sidecar_engine::ops::cleanup::HOOK_VAR, hook)
            .output()
            .unwrap();
        assert_exit(&out, 0, "cleanup with a hook");
        parse(&out.stdout)
    };
    // The photo of `orphan.json` is renamed into place while the run goes.
    let photo = tree.join("a/orphan.JPG");
    let report = run(format!("touch '{}'", photo.display()));
    assert!(
        names(&report, "kept").contains(&"orphan.json".to_owned()),
        "{report}"
    );
    assert!(tree.join("a/orphan.json").exists());
    std::fs::remove_file(&photo).unwrap();
    // The sidecar is rewritten by its pipeline while the run goes.
    let sidecar = tree.join("a/orphan.json");
    let report = run(format!("printf '{{\"n\": 30}}' > '{}'", sidecar.display()));
    assert!(
        names(&report, "kept").contains(&"orphan.json".to_owned()),
        "{report}"
    );
    assert_eq!(std::fs::read_to_string(&sidecar).unwrap(), r#"{"n": 30}"#);
}

#[test]
fn links_out_of_the_tree_are_listed_never_touched() {
    let tree = Tree::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("elsewhere.json"), r#"{"n": 5}"#).unwrap();
    std::fs::create_dir_all(tree.join("a")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("elsewhere.json"),
        tree.join("a/linked.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), tree.join("b")).unwrap();
    let report = tree.report(&["cleanup", "--delete"]);
    assert_eq!(report["removed"], 0);
    assert_eq!(names(&report, "kept"), ["elsewhere.json", "linked.json"]);
    assert!(tree.join("a/linked.json").exists());
    assert!(outside.path().join("elsewhere.json").exists());
}
