//! What counts as a sidecar: every file a format claims, paired with its image under either
//! naming convention (`IMG.json`, `IMG.CR3.json`), or counted alone; directory-level files
//! only by declared rules (name globs, and this tool's report marker).

use crate::harness::{data, parse, result_for, Tree};

fn sidecar() -> Vec<u8> {
    std::fs::read(data("examples/DSC01234.json")).unwrap()
}

#[test]
fn every_claimed_file_is_counted_and_paired_by_either_convention() {
    let tree = Tree::new();
    for image in [
        "a/IMG_0001.NRW",
        "a/IMG_0002.CR3",
        "a/IMG_0003.HEIC",
        "a/CLIP_0004.MP4",
        "a/IMG_0005.jxl",
        "b/IMG_0006.CR3",
        "b/IMG_0008.mov",
    ] {
        tree.write(image, b"raw");
    }
    for sidecar_name in [
        "a/IMG_0001.json",
        "a/IMG_0002.json",
        "a/IMG_0003.json",
        "a/CLIP_0004.json",
        "a/IMG_0005.json",
        "b/IMG_0006.CR3.json",
        "b/alone.json",
    ] {
        tree.write(sidecar_name, sidecar());
    }
    // A file with none of sportball's keys is a sidecar like any other.
    tree.write("b/IMG_0008.json", br#"{"rating": 4}"#);
    tree.write("b/game_detection.json", br#"{"games": []}"#);
    let stats = tree.report(&["stats"]);
    assert_eq!(stats["total_sidecars"], 8, "{stats:#}");
    assert_eq!(stats["total_images"], 7);
    assert_eq!(
        stats["sidecars_without_image"], 1,
        "only alone.json: {stats:#}"
    );
    assert_eq!(stats["images_without_sidecar"], 0);
    let directory_files = stats["directory_files"].as_array().unwrap();
    assert_eq!(directory_files.len(), 1);
    assert!(directory_files[0]
        .as_str()
        .unwrap()
        .ends_with("game_detection.json"));

    let convert = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(convert["converted"], 8, "{convert:#}");
    assert!(
        tree.join("b/IMG_0006.CR3.bin").exists(),
        "the naming convention of the source is kept"
    );
    assert!(tree.join("a/IMG_0002.bin").exists());
}

#[test]
fn image_extensions_and_directory_files_are_configurable() {
    let tree = Tree::new();
    tree.write("IMG_0001.xyz", b"raw");
    tree.write("IMG_0001.json", sidecar());
    tree.write("summary.json", br#"{"total": 1}"#);
    let stats = tree.report(&["stats"]);
    assert_eq!(stats["sidecars_without_image"], 2);
    assert_eq!(stats["total_images"], 0);
    let stats = tree.report(&[
        "stats",
        "--image-extensions",
        "xyz,jpg",
        "--directory-files",
        "summary.json",
    ]);
    assert_eq!(stats["total_images"], 1, "{stats:#}");
    assert_eq!(stats["sidecars_without_image"], 0);
    assert_eq!(stats["total_sidecars"], 1);
    assert_eq!(stats["directory_files"].as_array().unwrap().len(), 1);

    let jobs = Tree::new();
    let pipeline = jobs.write(
        "p.toml",
        "[input]\nimage_extensions = [\"xyz\"]\ndirectory_files = [\"summary.json\"]\n\n[[stage]]\nkind = \"stats\"\n",
    );
    let out = std::process::Command::new(crate::harness::BIN)
        .arg("run")
        .arg(&pipeline)
        .arg("--input")
        .arg(tree.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = parse(&out.stdout);
    assert_eq!(report["stages"]["stats"]["total_images"], 1, "{report:#}");
    assert_eq!(report["stages"]["stats"]["total_sidecars"], 1);

    let bad = tree.run(&["stats", "--directory-files", "[unclosed"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn reports_of_this_tool_are_known_by_their_marker_whatever_their_name() {
    let tree = Tree::new();
    tree.write("IMG_0001.jpg", b"jpg");
    tree.write("IMG_0001.json", sidecar());
    let report = tree.report(&["validate"]);
    assert!(report["generator"]
        .as_str()
        .unwrap()
        .starts_with("image-sidecar-rust "));
    // A user redirected stdout into the tree, under a name no rule knows.
    tree.write(
        "nightly-validate.json",
        serde_json::to_vec(&report).unwrap(),
    );
    let again = tree.report(&["validate"]);
    assert_eq!(again["total_files"], 1, "{again:#}");
    assert!(again["directory_files"][0]
        .as_str()
        .unwrap()
        .ends_with("nightly-validate.json"));
    let convert = tree.report(&["convert", "--format", "bin"]);
    let entry = result_for(&convert, "results", "nightly-validate.json");
    assert_eq!(entry["status"], "skipped");
    assert!(
        tree.join("nightly-validate.json").exists(),
        "never converted"
    );
}

#[test]
fn inspect_shows_what_a_file_decodes_to() {
    let tree = Tree::examples();
    let out = std::process::Command::new(crate::harness::BIN)
        .arg("inspect")
        .arg(tree.join("IMG_0042.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
    let report = parse(&out.stdout);
    assert_eq!(report["format"], "Json");
    assert_eq!(report["is_valid"], true);
    assert!(
        report["warnings"][0].as_str().unwrap().contains("NaN"),
        "{report:#}"
    );
    let python: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tree.join("IMG_0042.json"))
            .unwrap()
            .replace("NaN", "\"NaN\""),
    )
    .unwrap();
    assert_eq!(
        report["value"], python,
        "the value, NaN spelled as a string"
    );

    let legacy = std::process::Command::new(crate::harness::BIN)
        .arg("inspect")
        .arg(tree.join("20250101_000001.000.bin"))
        .output()
        .unwrap();
    let legacy = parse(&legacy.stdout);
    assert_eq!(legacy["format"], "Legacy");
    assert_eq!(legacy["detected_by"], "certain");

    tree.write("broken.json", b"{\"a\": [1, 2");
    let broken = std::process::Command::new(crate::harness::BIN)
        .args(["inspect", "--strict"])
        .arg(tree.join("broken.json"))
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(1));
    let broken = parse(&broken.stdout);
    assert_eq!(broken["is_valid"], false);
    assert!(
        broken["error"].as_str().unwrap().contains("line 1"),
        "{broken:#}"
    );
    assert!(broken["value"].is_null());

    let missing = std::process::Command::new(crate::harness::BIN)
        .args(["inspect", "/no/such/file.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn pipelines_show_prints_the_text_and_its_source() {
    let cwd = Tree::new();
    let out = std::process::Command::new(crate::harness::BIN)
        .args(["pipelines", "show", "health-check"])
        .current_dir(cwd.path())
        .env("XDG_CONFIG_HOME", cwd.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = parse(&out.stdout);
    assert_eq!(report["source"], "built-in");
    assert_eq!(
        report["text"].as_str().unwrap(),
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipelines/health-check.toml")
        )
        .unwrap()
    );
    let unknown = std::process::Command::new(crate::harness::BIN)
        .args(["pipelines", "show", "no-such"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn sidecars_no_loaded_format_claims_are_counted_as_unrecognized() {
    let tree = Tree::new();
    tree.write("IMG_0001.CR3", b"raw");
    tree.write("IMG_0001.json", sidecar());
    // A plugin's format without the plugin, and another program's sidecar.
    tree.write("IMG_0001.cbor", b"\xa1\x61a\x01");
    tree.write("IMG_0001.CR3.pp3", b"[Version]\nAppVersion=5.10\n");
    tree.write("notes.txt", b"not beside any image");
    let report = tree.report(&["format-stats"]);
    assert_eq!(report["unrecognized_files"], 2, "{report:#}");
    assert_eq!(report["total_files"], 3);
}
