//! `docs/plugins.md` followed to the letter: its code blocks become a crate, the crate is built
//! with cargo, and the library it makes is loaded and used to convert and validate.

use std::collections::BTreeMap;
use std::process::Command;

use crate::harness::{
    assert_exit, assert_python_files_restored, build_crate, parse, result_for, workspace, Tree, BIN,
};

/// The guide's code: every fenced block tagged `file=PATH` concatenated per path, every block
/// tagged `full=PATH` (the whole file, at the end), and the lines of the `sh run` blocks.
struct Guide {
    files: BTreeMap<String, String>,
    full: BTreeMap<String, String>,
    commands: String,
}

fn guide() -> Guide {
    let text = std::fs::read_to_string(workspace().join("docs/plugins.md")).unwrap();
    let mut guide = Guide {
        files: BTreeMap::new(),
        full: BTreeMap::new(),
        commands: String::new(),
    };
    // The block being read: which of the three it feeds, and its path.
    let mut current: Option<(&str, String)> = None;
    for line in text.lines() {
        match (&current, line.strip_prefix("```")) {
            (None, Some(info)) => {
                let words: Vec<&str> = info.split_whitespace().collect();
                current = Some(
                    if let Some(path) = words.iter().find_map(|w| w.strip_prefix("file=")) {
                        ("file", path.to_owned())
                    } else if let Some(path) = words.iter().find_map(|w| w.strip_prefix("full=")) {
                        ("full", path.to_owned())
                    } else if words == ["sh", "run"] {
                        ("run", String::new())
                    } else {
                        ("", String::new())
                    },
                );
            }
            (Some(_), Some(_)) => current = None,
            (Some((kind, path)), None) => {
                let out = match *kind {
                    "file" => guide.files.entry(path.clone()).or_default(),
                    "full" => guide.full.entry(path.clone()).or_default(),
                    "run" => &mut guide.commands,
                    _ => continue,
                };
                out.push_str(line);
                out.push('\n');
            }
            _ => {}
        }
    }
    guide
}

#[test]
fn the_plugin_guide_builds_a_working_plugin() {
    let guide = guide();
    assert_eq!(guide.files.keys().collect::<Vec<_>>(), ["src/lib.rs"]);
    assert_eq!(
        guide.full, guide.files,
        "the whole listing at the end is the parts, in order"
    );
    // Step 1 as a user runs it, from a directory of their own, with the checkout elsewhere.
    let home = tempfile::tempdir().unwrap();
    let commands: String = guide
        .commands
        .lines()
        .filter(|l| !l.starts_with("export IMAGE_SIDECAR_RUST_SRC="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(commands.contains("cargo new"), "{commands}");
    let setup = Command::new("bash")
        .args(["-euc", &commands])
        .current_dir(home.path())
        .env("IMAGE_SIDECAR_RUST_SRC", workspace())
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let krate = home.path().join("my-sidecar-plugin");
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("crate-type = [\"cdylib\"]"), "{manifest}");
    for (path, text) in &guide.files {
        std::fs::write(krate.join(path), text).unwrap();
    }
    // Start from the workspace's resolved versions so the build matches what the tool uses.
    std::fs::copy(workspace().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let krate = krate.as_path();
    let built = build_crate(&krate.join("Cargo.toml"), "plugin-builds");
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
        .arg(krate.join("Cargo.toml"))
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
