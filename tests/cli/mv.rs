//! `mv`: photos move and rename with every file of theirs (both naming conventions, darktable
//! duplicates, unknown formats), never over an existing file, never splitting a shared sidecar
//! from its other photo; killed at every step in turn (through the hook), one place always
//! holds the whole group and the same command finishes the move.

use std::path::Path;
use std::process::Command;

use crate::harness::{assert_exit, parse, Tree, BIN};

fn mv(args: &[&Path], extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("mv")
        .args(extra)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn group(tree: &Tree) {
    for (name, text) in [
        ("a/IMG_0001.CR3", "raw"),
        ("a/IMG_0001.json", r#"{"n": 1}"#),
        ("a/IMG_0001.CR3.xmp", "xmp"),
        ("a/IMG_0001_01.CR3.xmp", "dup"),
        ("a/IMG_0001.pp3", "rawtherapee"),
        ("a/IMG_0010.CR3", "another photo"),
        ("a/IMG_0010.json", r#"{"n": 10}"#),
    ] {
        tree.write(name, text);
    }
    std::fs::create_dir_all(tree.join("b")).unwrap();
}

#[test]
fn a_rename_takes_every_file_of_the_photo_along() {
    let tree = Tree::new();
    group(&tree);
    let out = mv(
        &[&tree.join("a/IMG_0001.CR3"), &tree.join("b/goal.CR3")],
        &[],
    );
    assert_exit(&out, 0, "mv");
    let report = parse(&out.stdout);
    assert_eq!(report["moved"], 1, "{report:#}");
    assert_eq!(report["files_moved"], 5);
    assert_eq!(
        tree.files(),
        [
            "a/IMG_0010.CR3",
            "a/IMG_0010.json",
            "b/goal.CR3",
            "b/goal.CR3.xmp",
            "b/goal.json",
            "b/goal.pp3",
            "b/goal_01.CR3.xmp",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(tree.join("b/goal_01.CR3.xmp")).unwrap(),
        "dup"
    );
}

#[test]
fn into_a_directory_names_kept_and_never_over_an_existing_file() {
    let tree = Tree::new();
    group(&tree);
    tree.write("b/IMG_0010.json", "someone else's");
    let dry = mv(
        &[
            &tree.join("a/IMG_0001.CR3"),
            &tree.join("a/IMG_0010.CR3"),
            &tree.join("b"),
        ],
        &["--dry-run"],
    );
    assert_exit(&dry, 0, "mv --dry-run");
    let before = tree.snapshot();
    let report = parse(&dry.stdout);
    assert_eq!(report["results"][0]["status"], "planned");
    assert_eq!(tree.snapshot(), before, "a dry run changes nothing");

    let out = mv(
        &[
            &tree.join("a/IMG_0001.CR3"),
            &tree.join("a/IMG_0010.CR3"),
            &tree.join("b"),
        ],
        &["--strict"],
    );
    assert_exit(&out, 1, "mv --strict with a photo kept");
    let report = parse(&out.stdout);
    assert_eq!(report["moved"], 1);
    let kept = &report["results"][1];
    assert_eq!(kept["status"], "kept");
    assert!(
        kept["reason"].as_str().unwrap().contains("exists already"),
        "{kept}"
    );
    assert!(tree.join("a/IMG_0010.CR3").exists() && tree.join("a/IMG_0010.json").exists());
    assert_eq!(
        std::fs::read_to_string(tree.join("b/IMG_0010.json")).unwrap(),
        "someone else's"
    );
    assert!(tree.join("b/IMG_0001.CR3.xmp").exists());
}

#[test]
fn a_sidecar_two_photos_share_moves_only_with_both() {
    let tree = Tree::new();
    tree.write("a/IMG_0001.CR3", "raw");
    tree.write("a/IMG_0001.JPG", "jpg");
    tree.write("a/IMG_0001.json", "{}");
    std::fs::create_dir_all(tree.join("b")).unwrap();
    let out = mv(&[&tree.join("a/IMG_0001.CR3"), &tree.join("b")], &[]);
    let report = parse(&out.stdout);
    assert!(
        report["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("also the sidecar of"),
        "{report:#}"
    );
    assert!(tree.join("a/IMG_0001.CR3").exists());
    let both = mv(
        &[
            &tree.join("a/IMG_0001.CR3"),
            &tree.join("a/IMG_0001.JPG"),
            &tree.join("b"),
        ],
        &[],
    );
    assert_eq!(parse(&both.stdout)["moved"], 2);
    assert!(tree.join("b/IMG_0001.json").exists() && tree.join("b/IMG_0001.JPG").exists());

    let missing = mv(&[&tree.join("a/none.jpg"), &tree.join("b")], &[]);
    assert_exit(&missing, 2, "a source that does not exist");
    let sidecar = mv(&[&tree.join("b/IMG_0001.json"), &tree.join("a")], &[]);
    assert!(parse(&sidecar.stdout)["results"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not a photo"));
}

#[test]
fn killed_at_any_step_one_place_holds_the_whole_group_and_a_rerun_finishes() {
    let names = [
        "IMG_0001.CR3",
        "IMG_0001.CR3.xmp",
        "IMG_0001.json",
        "IMG_0001.pp3",
        "IMG_0001_01.CR3.xmp",
    ];
    // Five links, then five removals.
    for step in 1..=10 {
        let tree = Tree::new();
        group(&tree);
        let counter = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(counter.path(), "0").unwrap();
        let hook = format!(
            "n=$(cat {c}); n=$((n+1)); echo $n > {c}; if [ $n -eq {step} ]; then kill -9 $PPID; fi",
            c = counter.path().display()
        );
        let status = Command::new(BIN)
            .arg("mv")
            .arg(tree.join("a/IMG_0001.CR3"))
            .arg(tree.join("b"))
            .env("IMAGE_SIDECAR_TEST_HOOK_BEFORE_MOVE_STEP", hook)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "step {step}"
        );
        let whole = |dir: &str| {
            names
                .iter()
                .all(|n| tree.join(format!("{dir}/{n}")).exists())
        };
        assert!(
            whole("a") || whole("b"),
            "killed at step {step}: {:?}",
            tree.files()
        );
        let rerun = mv(&[&tree.join("a/IMG_0001.CR3"), &tree.join("b")], &[]);
        if tree.join("a/IMG_0001.CR3").exists() || !whole("b") {
            assert_exit(&rerun, 0, "the rerun");
        }
        assert!(whole("b"), "step {step}: {:?}", tree.files());
        let left: Vec<String> = tree
            .files()
            .into_iter()
            .filter(|f| f.starts_with("a/IMG_0001"))
            .collect();
        assert!(left.is_empty(), "step {step}: {left:?}");
        assert_eq!(
            std::fs::read_to_string(tree.join("b/IMG_0001_01.CR3.xmp")).unwrap(),
            "dup"
        );
    }
}
