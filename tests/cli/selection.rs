//! `--operation-type`: only sidecars holding an operation, by a top-level section or by
//! `sidecar_info.operation_type`; the report says the filter and how many it left out; a
//! cached run under one filter is never reused for another.

use crate::harness::{assert_exit, parse, result_for, Tree, BIN};

/// A run that may use the results cache at once (no racy-file slack), with its report.
fn cached_run(tree: &Tree, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(BIN)
        .args(args)
        .arg("--input")
        .arg(tree.path())
        .env("XDG_CACHE_HOME", tree.cache())
        .env("IMAGE_SIDECAR_TEST_CACHE_SLACK_NS", "0")
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .output()
        .unwrap();
    assert_exit(&out, 0, format_args!("{args:?}"));
    parse(&out.stdout)
}

fn tree() -> Tree {
    let tree = Tree::new();
    tree.write("a/IMG_1.json", r#"{"face_detection": {"faces": [1, 2]}}"#);
    tree.write("a/IMG_1.jpg", "jpg");
    tree.write(
        "a/IMG_2.json",
        r#"{"sidecar_info": {"operation_type": "yolov8"}, "data": {"objects": [1]}}"#,
    );
    tree.write("a/IMG_3.json", r#"{"quality_assessment": {"score": 0.5}}"#);
    tree.write("a/IMG_4.json", r#"{"face_detection": "#);
    tree.write("a/game_detection.json", r#"{"games": []}"#);
    tree
}

#[test]
fn only_sidecars_holding_an_operation_are_validated_and_counted() {
    let tree = tree();
    let all = tree.report(&["stats", "--no-cache"]);
    assert_eq!(all["total_sidecars"], 4);
    assert!(all.get("operation_types").is_none(), "said only when asked");
    assert!(all.get("filtered_files").is_none());

    let faces = tree.report(&["stats", "--no-cache", "--operation-type", "face_detection"]);
    assert_eq!(
        faces["operation_types"],
        serde_json::json!(["face_detection"])
    );
    // IMG_1 holds it; IMG_4 cannot be read, so it is reported, not left out.
    assert_eq!(faces["total_sidecars"], 2);
    assert_eq!(faces["unreadable_sidecars"], 1);
    assert_eq!(faces["filtered_files"], 2);
    assert_eq!(faces["directory_files"].as_array().unwrap().len(), 1);

    let either = tree.report(&[
        "validate",
        "--no-cache",
        "--all-results",
        "--operation-type",
        "yolov8",
        "--operation-type",
        "quality_assessment",
    ]);
    assert_eq!(either["total_files"], 3);
    assert_eq!(either["filtered_files"], 1);
    result_for(&either, "results", "IMG_2.json");
    result_for(&either, "results", "IMG_3.json");
    result_for(&either, "results", "IMG_4.json");
}

#[test]
fn a_cached_run_under_one_filter_is_not_reused_for_another() {
    let tree = tree();
    let run = |op: &str| {
        let report = cached_run(&tree, &["stats", "--operation-type", op]);
        (
            report["total_sidecars"].clone(),
            report["filtered_files"].clone(),
            report["cached_files"].clone(),
        )
    };
    assert_eq!(run("face_detection"), (2.into(), 2.into(), 0.into()));
    assert_eq!(
        run("face_detection"),
        (2.into(), 2.into(), 2.into()),
        "cached the second time: the sidecars it counts"
    );
    assert_eq!(
        run("yolov8"),
        (2.into(), 2.into(), 0.into()),
        "another filter reads again"
    );
    let unfiltered = cached_run(&tree, &["stats"]);
    assert_eq!(unfiltered["total_sidecars"], 4);
    assert_eq!(unfiltered["cached_files"], 0);
}
