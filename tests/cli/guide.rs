//! `docs/plugins.md` followed to the letter: its code blocks become a crate, the crate is built
//! with cargo, and the library it makes is loaded and used to convert and validate.

use std::collections::BTreeMap;
use std::process::Command;

use crate::harness::{
    assert_exit, assert_python_files_restored, build_crate, parse, result_for, workspace, Tree, BIN,
};

/// The guide's files: every fenced block tagged `file=PATH`, concatenated per path.
fn guide_files() -> BTreeMap<String, String> {
    let guide = std::fs::read_to_string(workspace().join("docs/plugins.md")).unwrap();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in guide.lines() {
        match (&current, line.strip_prefix("```")) {
            (None, Some(info)) => {
                current = info
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("file="))
                    .map(str::to_owned)
                    .or(Some(String::new()));
            }
            (Some(_), Some(_)) => current = None,
            (Some(path), None) if !path.is_empty() => {
                let file = files.entry(path.clone()).or_default();
                file.push_str(line);
                file.push('\n');
            }
            _ => {}
        }
    }
    files
}

#[test]
fn the_plugin_guide_builds_a_working_plugin() {
    let files = guide_files();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["Cargo.toml", "src/lib.rs"]
    );
    let krate = tempfile::tempdir().unwrap();
    for (path, text) in &files {
        let text = text.replace(
            "../image-sidecar-rust/plugins/api",
            workspace().join("plugins/api").to_str().unwrap(),
        );
        let target = krate.path().join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    // Start from the workspace's resolved versions so the build matches what the tool uses.
    std::fs::copy(
        workspace().join("Cargo.lock"),
        krate.path().join("Cargo.lock"),
    )
    .unwrap();
    let built = build_crate(&krate.path().join("Cargo.toml"), "plugin-builds");
    // A plugin stands on the model and the author half of the API alone.
    let tree = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--manifest-path",
        ])
        .arg(krate.path().join("Cargo.toml"))
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&tree.stdout);
    assert!(tree.contains("sidecar-model"), "{tree}");
    for machinery in [
        "sidecar-engine",
        "sidecar-plugin-host",
        "rayon",
        "rustix",
        "toml",
        "globset",
        "lz4_flex",
        "tempfile",
        "xxhash-rust",
    ] {
        assert!(
            !tree
                .lines()
                .any(|l| l.starts_with(&format!("{machinery} "))),
            "the guide's plugin depends on {machinery}:\n{tree}"
        );
    }
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(
        built.join("libmy_sidecar_plugin.so"),
        plugins.path().join("libmy_sidecar_plugin.so"),
    )
    .unwrap();

    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
            .output()
            .unwrap();
        assert_exit(&out, 0, format_args!("{args:?}"));
        assert!(out.stderr.is_empty());
        parse(&out.stdout)
    };
    let list = run(&["plugins", "list"]);
    assert_eq!(list["libraries"][0]["name"], "my-sidecar-plugin");
    assert_eq!(list["libraries"][0]["codecs"][0], "zbin");
    assert_eq!(list["libraries"][0]["validators"][0], "min-confidence");
    assert_eq!(list["libraries"][0]["summaries"][0], "face-tally");

    let tree = Tree::examples();
    let before = tree.snapshot();
    let input = tree.path().to_str().unwrap();
    let zbin = run(&["convert", "--format", "zbin", "--input", input]);
    assert_eq!(zbin["converted"], 6, "{zbin:#}");
    let stats = run(&["format-stats", "--input", input]);
    assert_eq!(stats["format_distribution"]["Zbin"], 6);
    let stats = run(&["stats", "--input", input]);
    assert_eq!(
        stats["sidecars_by_face_count"],
        serde_json::json!({"0": 5, "3": 1}),
        "{stats:#}"
    );

    let validate = run(&[
        "validate",
        "--all-results",
        "--validators",
        "well-formed,min-confidence",
        "--option",
        "min-confidence.min=0.8",
        "--input",
        input,
    ]);
    assert_eq!(validate["valid_files"], 6);
    let faces = result_for(&validate, "results", "20250920_153300.120.zbin");
    assert!(
        faces["warnings"][0]
            .as_str()
            .unwrap()
            .contains("is below 0.8"),
        "{faces}"
    );

    let back = run(&["convert", "--format", "json", "--input", input]);
    assert_eq!(back["converted"], 6);
    assert_python_files_restored(&tree, &before, "the guide's zbin");
}
