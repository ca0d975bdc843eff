//! Integration tests: the real binary on temporary trees, held to the script-facing contract
//! (one JSON document on stdout, quiet stderr, exit codes) and to the rule that no sidecar is
//! ever lost.

mod cache;
mod cleanup;
mod export;
mod guide;
mod harness;
mod help;
mod identity;
mod list;
mod mv;
mod pages;
mod pipelines;
mod plugins;
mod reports;
mod safety;
mod selection;
mod shards;
mod xmp;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use harness::{assert_exit, data, parse, result_for, without_timings, Tree, BIN, LEGACY_BIN};
use sidecar_engine::{Codec, Value};

fn read_value(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap();
    let codec: &dyn Codec = match path.extension().and_then(OsStr::to_str) {
        Some("bin") => &sidecar_binary::BinaryCodec,
        Some("rkyv") => &sidecar_rkyv::RkyvCodec,
        _ => &sidecar_json::JsonCodec,
    };
    codec.decode(&bytes).unwrap().value
}

#[test]
fn validate_reports_the_examples() {
    let tree = Tree::examples();
    let report = tree.report(&["validate"]);
    assert_eq!(report["total_files"], 6);
    assert_eq!(report["valid_files"], 6);
    assert_eq!(report["invalid_files"], 0);
    assert_eq!(report["warning_counts"]["non-standard-number"], 1);
    assert_eq!(report["warning_counts"]["legacy-format"], 1);
    assert_eq!(report["results"].as_array().unwrap().len(), 0);
    let dir_files = report["directory_files"].as_array().unwrap();
    assert_eq!(dir_files.len(), 1);
    assert!(dir_files[0]
        .as_str()
        .unwrap()
        .ends_with("game_detection.json"));

    let all = tree.report(&["validate", "--all-results"]);
    assert_eq!(all["results"].as_array().unwrap().len(), 6);
    let nan = result_for(&all, "results", "IMG_0042.json");
    assert_eq!(nan["format"], "Json");
    assert!(
        nan["warnings"][0].as_str().unwrap().contains("NaN"),
        "{nan}"
    );
    assert!(
        nan["warnings"][0]
            .as_str()
            .unwrap()
            .contains("line 34, column 23"),
        "{nan}"
    );
}

#[test]
fn stats_count_what_the_examples_hold() {
    let tree = Tree::examples();
    let report = tree.report(&["stats"]);
    insta::assert_json_snapshot!("stats_examples", without_timings(report), {
        ".directory_files[]" => "[path]",
    });
}

#[test]
fn format_stats_deep_decodes_and_counts_what_does_not_decode() {
    let tree = Tree::examples();
    tree.report(&["convert", "--format", "bin", "--keep-source"]);
    let bin = std::fs::read(tree.join("DSC01234.bin")).unwrap();
    tree.write("DSC01234.bin", &bin[..bin.len() / 2]);
    let quick = tree.report(&["format-stats", "--strict"]);
    let deep = tree.run(&["format-stats", "--deep", "--strict"]);
    assert_exit(&deep, 1, "format-stats --deep --strict, a truncated file");
    let deep = parse(&deep.stdout);
    assert_eq!(deep["undecodable_files"], 1, "{deep:#}");
    assert!(quick.get("undecodable_files").is_none(), "{quick:#}");
    // The truncated file counts as Binary either way; its bytes only where it was not decoded.
    assert_eq!(quick["format_distribution"], deep["format_distribution"]);
    assert_eq!(quick["format_distribution"]["Binary"], 6);
    assert_eq!(
        quick["bytes_by_format"]["Binary"].as_u64().unwrap(),
        deep["bytes_by_format"]["Binary"].as_u64().unwrap() + (bin.len() / 2) as u64
    );
    let sizes: u64 = std::fs::read_dir(tree.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("bin")))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(quick["bytes_by_format"]["Binary"], sizes);
}

#[test]
fn format_stats_use_display_names_and_content() {
    let tree = Tree::examples();
    // A Binary file named .rkyv counts as Binary.
    let bin = tree.report(&["convert", "--format", "binary", "--keep-source"]);
    assert_eq!(bin["converted"], 6);
    std::fs::rename(tree.join("DSC01234.bin"), tree.join("DSC01234.rkyv")).unwrap();
    let report = tree.report(&["format-stats"]);
    assert_eq!(report["format_distribution"]["Json"], 5);
    assert_eq!(report["format_distribution"]["Binary"], 6);
    assert_eq!(
        report["format_distribution"]["Legacy"], 0,
        "the legacy file was upgraded"
    );
    assert_eq!(report["format_distribution"]["Rkyv"], 0);
    assert_eq!(report["total_files"], 11);

    let validate = tree.report(&["validate", "--all-results"]);
    let renamed = result_for(&validate, "results", "DSC01234.rkyv");
    assert_eq!(renamed["format"], "Binary");
    assert!(
        renamed["warnings"][0]
            .as_str()
            .unwrap()
            .contains("named .rkyv"),
        "{renamed}"
    );
}

#[test]
fn hostile_files_are_reported_with_a_reason() {
    let tree = Tree::examples();
    let good = std::fs::read(tree.join("20250920_153302.480.json")).unwrap();
    tree.write("empty.json", b"");
    tree.write("truncated.json", &good[..good.len() / 2]);
    tree.write("garbage.bin", b"\x00\x01garbage that is not a sidecar");
    tree.write("garbage.rkyv", b"");
    tree.write("deep.json", "[".repeat(100_000));
    tree.write("latin1.json", b"{\"name\": \"M\xfcller\"}");
    tree.write("huge_int.json", b"{\"id\": 123456789012345678901234567890}");
    std::fs::create_dir_all(tree.join("folder.json")).unwrap();
    std::os::unix::fs::symlink(".", tree.join("loop")).unwrap();
    std::os::unix::fs::symlink("missing.json", tree.join("dangling.json")).unwrap();
    let bad_name = OsStr::from_bytes(b"bad-\xff-name.json");
    tree.write(bad_name, b"{\"sidecar_info\": {}}");
    // A truncated Binary file.
    let bin = tree.report(&["convert", "--format", "bin", "--keep-source"]);
    // Seven do not decode; the dangling symlink and the loop cannot be read at all.
    assert_eq!(bin["invalid"], 7, "{bin:#}");
    assert_eq!(bin["failed"], 2, "{bin:#}");
    // A JSON file that does not decode is invalid, not a failed conversion to JSON.
    let json = tree.report(&["convert", "--format", "json", "--dry-run"]);
    assert_eq!(
        result_for(&json, "results", "truncated.json")["status"],
        "invalid",
        "{json:#}"
    );
    assert_eq!(json["invalid"], 7);
    let full = std::fs::read(tree.join("20250920_153300.120.bin")).unwrap();
    tree.write("cut.bin", &full[..full.len() - 10]);

    let out = tree.run(&["validate"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
    let report = parse(&out.stdout);
    let reason = |name: &str| {
        result_for(&report, "results", name)["error"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        reason("empty.json").contains("invalid JSON"),
        "{}",
        reason("empty.json")
    );
    assert!(
        reason("truncated.json").contains("line"),
        "{}",
        reason("truncated.json")
    );
    assert!(
        reason("garbage.bin").contains("magic"),
        "{}",
        reason("garbage.bin")
    );
    assert!(
        reason("garbage.rkyv").contains("empty file"),
        "{}",
        reason("garbage.rkyv")
    );
    assert!(
        reason("deep.json").contains("nesting deeper than"),
        "{}",
        reason("deep.json")
    );
    assert!(
        reason("latin1.json").contains("invalid JSON"),
        "{}",
        reason("latin1.json")
    );
    assert!(
        reason("huge_int.json").contains("does not fit in 64 bits"),
        "{}",
        reason("huge_int.json")
    );
    assert!(
        reason("cut.bin").contains("truncated"),
        "{}",
        reason("cut.bin")
    );
    assert!(
        reason("loop").contains("symlink loop"),
        "{}",
        reason("loop")
    );
    assert!(
        reason("dangling.json").contains("dangling"),
        "{}",
        reason("dangling.json")
    );
    assert!(
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["file_path"] != "folder.json"),
        "a directory is not a file"
    );
    assert_eq!(report["invalid_files"], 10, "{report:#}");
    // The file with a non-UTF-8 name was read (it is valid).
    assert_eq!(report["valid_files"], 6 + 6 + 1, "{report:#}");

    let strict = tree.run(&["validate", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(strict.stderr.is_empty());
}

#[test]
fn exit_codes_and_messages() {
    let out = std::process::Command::new(BIN)
        .args(["validate", "--input", "/no/such/dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/dir"));

    let tree = Tree::examples();
    let out = tree.run(&["convert", "--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown target format `xml`"));
    let out = tree.run(&["convert", "--format", "legacy"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the legacy layout is never written"
    );
    let out = tree.run(&["validate", "--workers", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = tree.run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));

    let help = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Exit codes:"));
    let version = std::process::Command::new(BIN)
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("image-sidecar-rust "));

    let strict_ok = tree.run(&["validate", "--strict"]);
    assert_eq!(strict_ok.status.code(), Some(0));
}

#[test]
fn the_older_name_runs_the_same_program() {
    let tree = Tree::examples();
    let out = std::process::Command::new(LEGACY_BIN)
        .args(["format-stats", "--input"])
        .arg(tree.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(parse(&out.stdout)["format_distribution"]["Json"], 5);
}

#[test]
fn report_files_are_written_whole_beside_the_input() {
    let tree = Tree::examples();
    let out_dir = Tree::new();
    let report_path = out_dir.join("report.json");
    let out = tree.run(&["validate", "--output", report_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let first = parse(&std::fs::read(&report_path).unwrap());
    assert_eq!(first["total_files"], 6);
    // An earlier report is replaced by the next one.
    let out = tree.run(&["stats", "--output", report_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(parse(&std::fs::read(&report_path).unwrap())["total_sidecars"].is_number());
    assert_eq!(
        out_dir.files(),
        ["report.json"],
        "no temporary file is left"
    );
}

#[test]
fn reports_do_not_depend_on_the_number_of_workers() {
    let tree = Tree::examples();
    for i in 0..40 {
        tree.write(
            format!("g{}/IMG_{i:04}.json", i % 3),
            std::fs::read(data("examples/DSC01234.json")).unwrap(),
        );
        tree.write(format!("g{}/IMG_{i:04}.jpg", i % 3), b"jpg");
    }
    tree.write("g1/broken.json", b"{");
    for command in [
        &["validate", "--all-results"][..],
        &["stats"],
        &["format-stats"],
        &["convert", "--format", "rkyv", "--dry-run"],
    ] {
        let mut one = command.to_vec();
        one.extend(["--workers", "1"]);
        let mut four = command.to_vec();
        four.extend(["--workers", "4"]);
        assert_eq!(
            without_timings(tree.report(&one)),
            without_timings(tree.report(&four)),
            "{command:?}"
        );
    }
}

#[test]
fn pairing_by_stem() {
    let tree = Tree::new();
    let doc = br#"{"sidecar_info": {"operation_type": "yolov8"}, "yolov8": {"objects": [1, 2]}}"#;
    tree.write("a/IMG_0001.json", doc);
    tree.write("a/IMG_0001.JPG", b"x");
    tree.write("a/20250920_112934.010.json", doc);
    tree.write("a/20250920_112934.010.jpg", b"x");
    tree.write("a/IMG_0002.jpg.json", doc);
    tree.write("a/IMG_0002.jpg", b"x");
    tree.write("a/0003.jpg", b"x");
    tree.write("a/IMG_0003.json", doc);
    tree.write("b/IMG_0001.jpg", b"x");
    let report = tree.report(&["stats"]);
    assert_eq!(report["total_sidecars"], 4);
    assert_eq!(report["total_images"], 5);
    assert_eq!(
        report["sidecars_without_image"], 1,
        "IMG_0003.json is not 0003.jpg's"
    );
    assert_eq!(
        report["images_without_sidecar"], 2,
        "0003.jpg and b/IMG_0001.jpg"
    );
    assert_eq!(report["total_objects"], 8);
    assert_eq!(report["operation_counts"]["yolov8"], 4);
}

#[test]
fn a_single_file_input_works() {
    let tree = Tree::examples();
    let out = std::process::Command::new(BIN)
        .args(["validate", "--all-results", "--input"])
        .arg(tree.join("IMG_0042.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = parse(&out.stdout);
    assert_eq!(report["total_files"], 1);
    assert_eq!(report["results"][0]["format"], "Json");
}

#[test]
fn convert_round_trip_restores_every_byte() {
    let tree = Tree::examples();
    let before = tree.snapshot();
    for (format, display) in [("bin", "Binary"), ("rkyv", "Rkyv"), ("json", "Json")] {
        let report = tree.report(&["convert", "--format", format]);
        assert_eq!(report["target_format"], display);
        assert_eq!(report["converted"], 6, "{format}: {report:#}");
        assert_eq!(report["failed"], 0);
        assert_eq!(report["conflicts"], 0);
        assert_eq!(report["skipped"], 1, "game_detection.json stays as it is");
    }
    let after = tree.snapshot();
    for (path, bytes) in &before {
        let name = path.to_string_lossy();
        if name.ends_with(".json") && name != "DSC01234.json" {
            assert!(after.get(path) == Some(bytes), "{name} changed");
        }
    }
    // The compact file and the upgraded legacy file come back as pretty JSON of equal values.
    assert_eq!(
        read_value(&tree.join("DSC01234.json")),
        read_value(&data("examples/DSC01234.json"))
    );
    let legacy = std::fs::read(data("examples/20250101_000001.000.bin")).unwrap();
    assert_eq!(
        read_value(&tree.join("20250101_000001.000.json")),
        sidecar_json::JsonCodec.decode(&legacy[8..]).unwrap().value
    );
    assert!(!tree.join("20250101_000001.000.bin").exists());
}

#[test]
fn legacy_files_are_upgraded_in_place() {
    let tree = Tree::new();
    let legacy = std::fs::read(data("examples/20250101_000001.000.bin")).unwrap();
    tree.write("old/20250101_000001.000.bin", &legacy);
    tree.write("old/20250101_000001.000.jpg", b"x");
    tree.write("old/20250101_000002.000.rkyv", &legacy);
    tree.write("old/20250101_000002.000.jpg", b"x");
    let before = tree.report(&["format-stats"]);
    assert_eq!(before["format_distribution"]["Legacy"], 2);
    let report = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(report["converted"], 2, "{report:#}");
    let after = tree.report(&["format-stats"]);
    assert_eq!(after["format_distribution"]["Binary"], 2);
    assert_eq!(after["format_distribution"]["Legacy"], 0);
    let expected = sidecar_json::JsonCodec.decode(&legacy[8..]).unwrap().value;
    assert_eq!(
        read_value(&tree.join("old/20250101_000001.000.bin")),
        expected
    );
    assert_eq!(
        read_value(&tree.join("old/20250101_000002.000.bin")),
        expected
    );
    let again = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(again["skipped"], 2, "already Binary");
}

#[test]
fn dry_run_changes_nothing() {
    let tree = Tree::examples();
    let stale = tree.write(".image-sidecar-abc123.tmp", b"partial");
    let before = tree.snapshot();
    let report = tree.report(&["convert", "--format", "rkyv", "--dry-run"]);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["converted"], 6);
    assert_eq!(report["removed_temporaries"], 1);
    assert_eq!(tree.snapshot(), before);
    assert!(stale.exists());
}

#[test]
fn existing_targets_are_never_overwritten() {
    let tree = Tree::examples();
    // A different document already sits where IMG_0042.bin would go.
    let other = tree.report(&["convert", "--format", "bin", "--keep-source"]);
    assert_eq!(other["converted"], 6);
    let conflicting = std::fs::read(tree.join("DSC01234.bin")).unwrap();
    std::fs::write(tree.join("IMG_0042.bin"), &conflicting).unwrap();
    // An equal target completes the conversion.
    let report = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(report["conflicts"], 1, "{report:#}");
    let entry = result_for(&report, "results", "IMG_0042.json");
    assert_eq!(entry["status"], "conflict");
    assert!(entry["reason"]
        .as_str()
        .unwrap()
        .contains("different values"));
    assert_eq!(report["converted"], 4);
    assert_eq!(
        result_for(&report, "results", "20250101_000001.000.bin")["reason"],
        "already Binary"
    );
    assert!(tree.join("IMG_0042.json").exists(), "the source stays");
    assert_eq!(
        std::fs::read(tree.join("IMG_0042.bin")).unwrap(),
        conflicting,
        "the target stays"
    );
    assert!(
        !tree.join("DSC01234.json").exists(),
        "equal target: source removed"
    );
    let strict = tree.run(&["convert", "--format", "bin", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn leftover_temporaries_are_ignored_then_removed() {
    let tree = Tree::examples();
    tree.write(".image-sidecar-XyZ123.tmp", b"\x89ISB\r\n\x1a\npartial");
    let report = tree.report(&["validate"]);
    assert_eq!(report["total_files"], 6);
    let convert = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(convert["removed_temporaries"], 1);
    assert!(!tree.files().iter().any(|f| f.ends_with(".tmp")));
}

#[test]
fn fsync_mode_converts_too() {
    let tree = Tree::examples();
    let report = tree.report(&["convert", "--format", "rkyv", "--sync", "file"]);
    assert_eq!(report["converted"], 6);
    let again = Tree::examples();
    assert_eq!(
        again.report(&["convert", "--format", "bin", "--fsync"])["converted"],
        6
    );
    let none = Tree::examples();
    assert_eq!(
        none.report(&["convert", "--format", "bin", "--sync", "none"])["converted"],
        6
    );
    assert_eq!(
        read_value(&tree.join("20250920_153300.120.rkyv")),
        read_value(&data("examples/20250920_153300.120.json"))
    );
}

/// Kills conversions at several moments; every sidecar must survive whole in at least one
/// copy, and a rerun must finish the job.
#[test]
fn a_killed_conversion_loses_nothing_and_a_rerun_finishes() {
    let originals: Vec<(String, Vec<u8>)> = [
        "20250920_153300.120.json",
        "20250920_153302.480.json",
        "IMG_0042.json",
        "DSC01234.json",
    ]
    .iter()
    .map(|n| {
        (
            n.to_string(),
            std::fs::read(data(&format!("examples/{n}"))).unwrap(),
        )
    })
    .collect();
    // Killed (SIGKILL, by the test hook run before each batch of removals) when every target
    // of the first batch is written and flushed and no source is removed yet: a deterministic
    // moment. The chaos test in `safety` kills at random moments too.
    for kill_at_batch in [1] {
        let tree = Tree::new();
        let mut expected = Vec::new();
        for i in 0..600 {
            let (_, bytes) = &originals[i % originals.len()];
            let stem = format!("game{}/20250920_{i:06}.000", i % 7);
            tree.write(format!("{stem}.json"), bytes);
            tree.write(format!("{stem}.jpg"), b"jpg");
            expected.push((stem, bytes.clone()));
        }
        let counter = tempfile::NamedTempFile::new().unwrap();
        let hook = format!(
            "n=$(cat {c}); n=$((n+1)); echo $n > {c}; if [ $n -eq {kill_at_batch} ]; then kill -9 $PPID; fi",
            c = counter.path().display()
        );
        std::fs::write(counter.path(), "0").unwrap();
        let status = std::process::Command::new(BIN)
            .args(["convert", "--format", "bin", "--workers", "2", "--input"])
            .arg(tree.path())
            .env("IMAGE_SIDECAR_TEST_HOOK_BEFORE_REMOVAL", hook)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "killed at batch {kill_at_batch}"
        );

        for (stem, bytes) in &expected {
            let json = tree.join(format!("{stem}.json"));
            let bin = tree.join(format!("{stem}.bin"));
            let original = sidecar_json::JsonCodec.decode(bytes).unwrap().value;
            if json.exists() {
                assert_eq!(
                    &std::fs::read(&json).unwrap(),
                    bytes,
                    "{stem}.json was modified"
                );
            } else {
                assert!(
                    bin.exists(),
                    "{stem}: both copies gone after a kill at batch {kill_at_batch}"
                );
            }
            if bin.exists() {
                assert_eq!(read_value(&bin), original, "{stem}.bin is not whole");
            }
        }
        let rerun = tree.report(&["convert", "--format", "bin"]);
        assert_eq!(rerun["failed"], 0, "{rerun:#}");
        assert_eq!(rerun["conflicts"], 0, "{rerun:#}");
        for (stem, bytes) in &expected {
            assert!(!tree.join(format!("{stem}.json")).exists());
            let original = sidecar_json::JsonCodec.decode(bytes).unwrap().value;
            assert_eq!(read_value(&tree.join(format!("{stem}.bin"))), original);
        }
        assert!(
            !tree
                .files()
                .iter()
                .any(|f| f.ends_with(".tmp") || f.contains(".image-sidecar-")),
            "temporaries removed, parked files put back"
        );
    }
}

#[test]
fn validators_are_chosen_by_name_and_configured_by_options() {
    let tree = Tree::examples();
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tree.join("20250920_153302.480.json")).unwrap())
            .unwrap();
    doc["yolov8"]["objects"][0]["confidence"] = serde_json::json!(1.7);
    tree.write(
        "20250920_999999.000.json",
        serde_json::to_vec_pretty(&doc).unwrap(),
    );

    // The default set (well-formed, sportball) catches the impossible confidence.
    let report = tree.report(&["validate"]);
    assert_eq!(report["invalid_files"], 1);
    let bad = result_for(&report, "results", "20250920_999999.000.json");
    assert_eq!(
        bad["error"],
        "sportball: 1.7 is outside [0, 1] at /yolov8/objects/0/confidence"
    );
    let only_decoding = tree.report(&["validate", "--validators", "well-formed"]);
    assert_eq!(only_decoding["invalid_files"], 0);

    let images = tree.report(&["validate", "--validators", "image-present"]);
    assert_eq!(images["invalid_files"], 2, "{images:#}");
    assert!(
        result_for(&images, "results", "20250920_153304.000.json")["error"]
            .as_str()
            .unwrap()
            .contains("no image named 20250920_153304.000")
    );

    let schema = tree.write(
        "schemas/sidecar.schema",
        r#"{"type": "object", "required": ["sidecar_info"]}"#,
    );
    let option = format!("json-schema.schema={}", schema.display());
    let schema_report = tree.report(&[
        "validate",
        "--validators",
        "json-schema",
        "--option",
        &option,
    ]);
    assert_eq!(
        schema_report["invalid_files"], 1,
        "DSC01234.json has no sidecar_info"
    );
    assert!(
        result_for(&schema_report, "results", "DSC01234.json")["error"]
            .as_str()
            .unwrap()
            .contains("sidecar_info")
    );

    for (args, message) in [
        (
            &["validate", "--validators", "sportbal"][..],
            "unknown validator `sportbal`",
        ),
        (
            &["validate", "--validators", "json-schema"],
            "needs the option `schema`",
        ),
        (
            &["validate", "--option", "rules.x=1"],
            "not among the validators run",
        ),
        (
            &[
                "validate",
                "--validators",
                "sportball",
                "--option",
                "sportball.strict=true",
            ],
            "takes no options",
        ),
    ] {
        let out = tree.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn an_input_that_steps_up_is_reported_as_the_directory_it_names() {
    let work = Tree::new();
    std::fs::create_dir(work.join("pl")).unwrap();
    std::fs::create_dir(work.join("photos.p")).unwrap();
    std::fs::copy(
        data("examples/IMG_0042.json"),
        work.join("photos.p/IMG_0050.json"),
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "validate",
            "--all-results",
            "--no-cache",
            "--input",
            "pl/../photos.p",
        ])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = parse(&out.stdout);
    assert_eq!(
        report["results"][0]["file_path"], "photos.p/IMG_0050.json",
        "{report:#}"
    );
}

#[test]
fn stats_lists_the_sidecars_without_an_image_when_asked() {
    let tree = Tree::examples();
    tree.write("old/IMG_0099.json", b"{\"broken\": ");
    let counted = tree.report(&["stats", "--no-cache"]);
    assert!(counted.get("orphans").is_none(), "listed only when asked");
    // Read fresh; then a run that fills the results cache; then one that folds from it.
    for no_cache in [true, false, false] {
        let args: &[&str] = if no_cache {
            &["stats", "--all-results", "--no-cache"]
        } else {
            &["stats", "--all-results"]
        };
        let report = tree.report(args);
        let orphans: Vec<&str> = report["orphans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(
            orphans.len() as u64,
            report["sidecars_without_image"].as_u64().unwrap()
        );
        assert!(
            orphans
                .iter()
                .any(|o| o.ends_with("20250920_153304.000.json")),
            "{orphans:?}"
        );
        assert!(
            orphans.iter().any(|o| o.ends_with("old/IMG_0099.json")),
            "unreadable ones too"
        );
        let mut sorted = orphans.clone();
        sorted.sort();
        assert_eq!(sorted, orphans);
    }
}
