//! Pipelines: lookup from any directory, one pass with the single commands' field names, the
//! skip-file and abort rules, input selection, and broken files reported line by line.

use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

use crate::harness::{data, parse, result_for, without_timings, Tree, BIN};

/// Runs the binary in `cwd` with a config home of our choosing, expecting `code`.
fn run_in(cwd: &Path, config_home: &Path, args: &[&str], code: i32) -> (Json, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env("XDG_CONFIG_HOME", config_home)
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    let json = if out.stdout.is_empty() {
        Json::Null
    } else {
        parse(&out.stdout)
    };
    (json, stderr)
}

/// The line and message of each error `pipelines check` reported.
fn lines_and_messages(report: &Json) -> Vec<(u64, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn without_stage_timing(mut section: Json) -> Json {
    let map = section.as_object_mut().unwrap();
    map.remove("elapsed_seconds");
    map.remove("kind");
    section
}

#[test]
fn pipelines_are_found_from_any_directory_in_order() {
    let cwd = Tree::new();
    let config = Tree::new();
    let (list, _) = run_in(cwd.path(), config.path(), &["pipelines", "list"], 0);
    let names: Vec<&str> = list["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "health-check",
            "legacy-upgrade",
            "migrate-rkyv",
            "optimize-binary"
        ]
    );
    assert!(list["pipelines"][0]["description"]
        .as_str()
        .unwrap()
        .contains("writes nothing"));

    // A pipelines/ directory in the working directory (the photo tree, in a container) is
    // never searched: only named by path does a file there run.
    cwd.write(
        "pipelines/health-check.toml",
        "description = \"dropped into the data\"\nplugin_dirs = [\"evil\"]\n[[stage]]\nkind = \"stats\"\n",
    );
    config.write(
        "image-sidecar-rust/pipelines/nightly.toml",
        "description = \"user's nightly\"\n[[stage]]\nkind = \"format-stats\"\n",
    );
    config.write(
        "image-sidecar-rust/pipelines/health-check.toml",
        "description = \"user's own\"\n[[stage]]\nkind = \"stats\"\n",
    );
    let (list, _) = run_in(cwd.path(), config.path(), &["pipelines", "list"], 0);
    let entries = list["pipelines"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .all(|p| p["description"] != "dropped into the data"),
        "{list:#}"
    );
    assert_eq!(entries[0]["name"], "health-check");
    assert_eq!(entries[0]["origin"], "user");
    assert_eq!(entries[0]["shadows_built_in"], true);
    assert_eq!(entries[1]["name"], "nightly");
    assert_eq!(entries[1]["shadows_built_in"], false);
    let built_in = entries
        .iter()
        .find(|p| p["name"] == "health-check" && p["origin"] == "built-in")
        .unwrap();
    assert_eq!(built_in["shadowed"], true);

    let examples = Tree::examples();
    let input = examples.path().to_str().unwrap();
    let (report, _) = run_in(
        cwd.path(),
        config.path(),
        &["run", "health-check", "--input", input],
        0,
    );
    assert_eq!(report["description"], "user's own");
    assert!(report["source"]
        .as_str()
        .unwrap()
        .ends_with("health-check.toml"));
    let (report, _) = run_in(
        cwd.path(),
        config.path(),
        &["run", "./pipelines/health-check.toml", "--input", input],
        2,
    );
    assert_eq!(
        report,
        Json::Null,
        "named by path it runs, and its missing plugin_dirs stop it"
    );

    let path_dir = Tree::new();
    path_dir.write(
        "health-check.toml",
        "description = \"from the path\"\n[[stage]]\nkind = \"stats\"\n",
    );
    let out = Command::new(BIN)
        .args(["run", "health-check", "--input", input])
        .current_dir(cwd.path())
        .env("XDG_CONFIG_HOME", config.path())
        .env("IMAGE_SIDECAR_PIPELINE_PATH", path_dir.path())
        .output()
        .unwrap();
    assert_eq!(parse(&out.stdout)["description"], "from the path");
    let (report, _) = run_in(
        cwd.path(),
        config.path(),
        &["run", "nightly", "--input", input],
        0,
    );
    assert_eq!(
        report["stages"]["format-stats"]["format_distribution"]["Json"],
        5
    );
}

#[test]
fn health_check_matches_the_single_commands() {
    let tree = Tree::examples();
    let input = tree.path().to_str().unwrap();
    let before = tree.snapshot();
    let (report, stderr) = run_in(
        tree.path(),
        tree.path(),
        &["run", "health-check", "--input", input],
        0,
    );
    assert!(stderr.is_empty());
    assert_eq!(tree.snapshot(), before, "health-check writes nothing");
    assert_eq!(report["pipeline"], "health-check");
    assert_eq!(report["source"], "built-in");
    let stages: Vec<&String> = report["stages"].as_object().unwrap().keys().collect();
    assert_eq!(stages, ["validate", "stats", "format-stats"]);
    for (stage, command) in [
        ("validate", "validate"),
        ("stats", "stats"),
        ("format-stats", "format-stats"),
    ] {
        assert_eq!(report["stages"][stage]["kind"], stage);
        assert!(report["stages"][stage]["elapsed_seconds"].is_number());
        assert_eq!(
            without_stage_timing(report["stages"][stage].clone()),
            without_timings(tree.report(&[command])),
            "{stage}"
        );
    }
}

#[test]
fn a_reading_pipeline_takes_only_the_files_it_selects() {
    let tree = Tree::examples();
    tree.write("skip/IMG_0001.json", b"{\"broken\": ");
    tree.write(
        "keep/IMG_0002.json",
        std::fs::read(data("examples/IMG_0042.json")).unwrap(),
    );
    let work = Tree::new();
    work.write(
        "check.toml",
        r#"description = "Validate and count the selected files"

[input]
include = ["**/*.json"]
exclude = ["skip/**"]

[[stage]]
kind = "validate"

[[stage]]
kind = "stats"
"#,
    );
    let input = tree.path().to_str().unwrap();
    let (report, _) = run_in(
        work.path(),
        work.path(),
        &["run", "check.toml", "--input", input, "--no-cache"],
        0,
    );
    let json_files = std::fs::read_dir(tree.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("json".as_ref()))
        .count() as u64;
    assert_eq!(
        report["total_files"],
        json_files + 1,
        "the examples' JSON and keep/, not skip/ or other formats: {report:#}"
    );
    assert_eq!(
        report["stages"]["validate"]["invalid_files"], 0,
        "{report:#}"
    );
}

#[test]
fn a_documented_pipeline_validates_converts_and_counts_in_one_pass() {
    let tree = Tree::examples();
    let mut doc: Json =
        serde_json::from_slice(&std::fs::read(tree.join("DSC01234.json")).unwrap()).unwrap();
    doc["Face_detector"]["faces"][0]["confidence"] = serde_json::json!(3.0);
    tree.write("old/DSC09999.json", serde_json::to_vec(&doc).unwrap());
    tree.write("old/DSC09999.jpg", b"x");
    tree.write(
        ".cache/IMG_0001.json",
        std::fs::read(data("examples/IMG_0042.json")).unwrap(),
    );
    // The job and its reports live beside the photo tree, not inside it.
    let work = Tree::new();
    work.write(
        "jobs/nightly.toml",
        r#"description = "Validate, convert to Rkyv, and report"
report = "../reports/nightly.json"

[input]
include = ["**/*.json", "**/*.bin"]
exclude = ["**/.cache/**"]

[[stage]]
kind = "validate"
validators = ["well-formed", "sportball"]
on_error = "skip-file"

[[stage]]
kind = "convert"
to = "rkyv"

[[stage]]
name = "after"
kind = "stats"
"#,
    );
    std::fs::create_dir_all(work.join("reports")).unwrap();
    let input = tree.path().to_str().unwrap();
    let (stdout, _) = run_in(
        work.path(),
        work.path(),
        &["run", "jobs/nightly.toml", "--input", input],
        0,
    );
    assert_eq!(
        stdout,
        Json::Null,
        "the report went to the file the pipeline names"
    );
    let report = parse(&std::fs::read(work.join("reports/nightly.json")).unwrap());
    assert_eq!(report["pipeline"], "nightly");
    assert_eq!(
        report["total_files"], 8,
        "the .cache file is excluded: {report:#}"
    );
    let validate = &report["stages"]["validate"];
    assert_eq!(validate["invalid_files"], 1);
    assert!(result_for(validate, "results", "DSC09999.json")["error"]
        .as_str()
        .unwrap()
        .contains("3.0 is outside [0, 1]"));
    let convert = &report["stages"]["convert"];
    assert_eq!(convert["converted"], 6, "{convert:#}");
    assert!(
        tree.join("old/DSC09999.json").exists(),
        "the invalid file was skipped, not converted"
    );
    assert!(!tree.join("old/DSC09999.rkyv").exists());
    assert!(tree.join(".cache/IMG_0001.json").exists());
    assert!(tree.join("IMG_0042.rkyv").exists() && !tree.join("IMG_0042.json").exists());
    let after = &report["stages"]["after"];
    assert_eq!(after["kind"], "stats");
    assert_eq!(
        after["files_by_format"]["Rkyv"], 6,
        "stats see the converted files: {after:#}"
    );
    assert_eq!(
        after["total_sidecars"], 6,
        "the skipped file goes no further"
    );

    // The same file, dry run: reports the same plan and changes nothing.
    let again = Tree::examples();
    let before = again.snapshot();
    let pipeline = work.join("jobs/nightly.toml");
    let (report, _) = run_in(
        again.path(),
        again.path(),
        &[
            "run",
            pipeline.to_str().unwrap(),
            "--dry-run",
            "--output",
            "-",
            "--input",
            again.path().to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["stages"]["convert"]["converted"], 6);
    assert_eq!(again.snapshot(), before);
}

#[test]
fn abort_converts_nothing_when_any_file_fails_whatever_the_workers() {
    for workers in ["1", "4"] {
        let tree = Tree::new();
        let sidecar = std::fs::read(data("examples/DSC01234.json")).unwrap();
        for i in 0..40 {
            tree.write(format!("IMG_{i:04}.jpg"), b"jpg");
            if i == 19 {
                tree.write(format!("IMG_{i:04}.json"), b"{ not json");
            } else {
                tree.write(format!("IMG_{i:04}.json"), &sidecar);
            }
        }
        let before = tree.snapshot();
        let jobs = Tree::new();
        let pipeline = jobs.write(
            "abort.toml",
            "[[stage]]\nkind = \"validate\"\non_error = \"abort\"\n\n[[stage]]\nkind = \"convert\"\nto = \"bin\"\n",
        );
        let input = tree.path().to_str().unwrap();
        let (report, stderr) = run_in(
            jobs.path(),
            jobs.path(),
            &[
                "run",
                pipeline.to_str().unwrap(),
                "--workers",
                workers,
                "--input",
                input,
            ],
            1,
        );
        assert!(stderr.is_empty());
        assert!(
            report["aborted"]["file_path"]
                .as_str()
                .unwrap()
                .ends_with("IMG_0019.json"),
            "{report:#}"
        );
        assert!(report["aborted"]["reason"]
            .as_str()
            .unwrap()
            .contains("invalid JSON"));
        assert_eq!(report["stages"]["convert"]["converted"], 0, "{workers}");
        assert_eq!(report["stages"]["validate"]["invalid_files"], 1);
        assert_eq!(report["not_processed"], 40);
        assert_eq!(
            tree.snapshot(),
            before,
            "nothing converted with {workers} workers"
        );
    }
}

#[test]
fn legacy_upgrade_touches_only_legacy_files() {
    let tree = Tree::examples();
    let before = tree.snapshot();
    let input = tree.path().to_str().unwrap();
    let (report, _) = run_in(
        tree.path(),
        tree.path(),
        &["run", "legacy-upgrade", "--input", input],
        0,
    );
    assert_eq!(report["filtered_files"], 6, "{report:#}");
    assert_eq!(report["stages"]["convert"]["converted"], 1);
    assert_eq!(
        report["stages"]["format-stats"]["format_distribution"]["Binary"],
        1
    );
    let after = tree.snapshot();
    let changed: Vec<_> = before
        .keys()
        .filter(|k| after.get(*k) != before.get(*k))
        .collect();
    assert_eq!(
        changed,
        [Path::new("20250101_000001.000.bin")],
        "upgraded in place"
    );
}

#[test]
fn size_limit_sync_mode_and_option_numbers_are_checked() {
    let tree = Tree::new();
    tree.write(
        "bad.toml",
        r#"max_file_size = "3GiB"

[[stage]]
kind = "validate"
validators = ["well-formed"]

[stage.options.well-formed]
level = 1
limit = nan

[[stage]]
kind = "convert"
to = "bin"
sync = "sometimes"
"#,
    );
    let (report, _) = run_in(
        tree.path(),
        tree.path(),
        &["pipelines", "check", "bad.toml"],
        1,
    );
    let errors = lines_and_messages(&report);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(errors[0].0, 1);
    assert!(errors[0].1.contains("out of range"), "{errors:?}");
    assert_eq!(errors[1].0, 9);
    assert!(errors[1].1.contains("nan and inf"), "{errors:?}");
    assert_eq!(errors[2].0, 14);
    assert!(errors[2].1.contains("unknown sync"), "{errors:?}");

    let photos = Tree::examples();
    let jobs = Tree::new();
    let pipeline = jobs.write(
        "small.toml",
        "max_file_size = 1000\n\n[[stage]]\nkind = \"convert\"\nto = \"bin\"\nsync = \"none\"\n",
    );
    let input = photos.path().to_str().unwrap();
    let (report, _) = run_in(
        jobs.path(),
        jobs.path(),
        &["run", pipeline.to_str().unwrap(), "--input", input],
        0,
    );
    let convert = &report["stages"]["convert"];
    assert!(
        result_for(convert, "results", "DSC01234.json")["reason"]
            .as_str()
            .unwrap()
            .contains("over the size limit of 1000 bytes"),
        "{convert:#}"
    );
    let (report, _) = run_in(
        jobs.path(),
        jobs.path(),
        &[
            "run",
            pipeline.to_str().unwrap(),
            "--input",
            input,
            "--max-file-size",
            "1MB",
        ],
        0,
    );
    assert_eq!(
        report["stages"]["convert"]["failed"], 0,
        "the command line wins"
    );
}

#[test]
fn broken_pipelines_are_reported_line_by_line_and_never_run() {
    let tree = Tree::examples();
    tree.write(
        "broken.toml",
        r#"description = "broken on purpose"
workers = "four"
colour = true

[input]
include = ["**/*.json", "[unclosed"]
exclde = ["x"]
formats = ["rkyb"]

[[stage]]
kind = "validte"

[[stage]]
kind = "validate"
validators = ["sportbal"]
on_error = "abrt"

[[stage]]
kind = "convert"
"#,
    );
    let (report, stderr) = run_in(
        tree.path(),
        tree.path(),
        &["pipelines", "check", "broken.toml"],
        1,
    );
    assert_eq!(report["valid"], false);
    let errors: Vec<(u64, u64, String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_owned(),
                e["hint"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expect = [
        (2, 11, "`workers` must be an integer", ""),
        (3, 1, "unknown key `colour`", "the pipeline takes"),
        (6, 25, "glob `[unclosed` does not compile", ""),
        (7, 1, "unknown key `exclde`", "did you mean `exclude`?"),
        (8, 12, "unknown format `rkyb`", "did you mean `rkyv`?"),
        (
            11,
            8,
            "unknown stage kind `validte`",
            "did you mean `validate`?",
        ),
        (
            15,
            15,
            "unknown validator `sportbal`",
            "did you mean `sportball`?",
        ),
        (16, 12, "unknown on_error `abrt`", "did you mean `abort`?"),
        (19, 1, "a convert stage needs `to`", "to = \"bin\""),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for ((line, column, message, hint), (el, ec, em, eh)) in errors.iter().zip(expect) {
        assert_eq!((*line, *column), (el, ec), "{message}");
        assert!(message.contains(em), "{message} / {em}");
        assert!(hint.contains(eh), "{hint} / {eh}");
    }
    assert!(stderr.contains("--> broken.toml:11:8"), "{stderr}");

    let before = tree.snapshot();
    let (stdout, stderr) = run_in(
        tree.path(),
        tree.path(),
        &["run", "broken.toml", "--input", "."],
        2,
    );
    assert_eq!(stdout, Json::Null, "nothing on stdout");
    assert!(stderr.contains("nothing was run"), "{stderr}");
    assert_eq!(tree.snapshot(), before);

    let (report, _) = run_in(
        tree.path(),
        tree.path(),
        &["pipelines", "check", "optimize-binary"],
        0,
    );
    assert_eq!(report["valid"], true);
    assert_eq!(
        report["stages"],
        serde_json::json!(["validate", "convert", "stats"])
    );
}

#[test]
fn validator_options_in_a_pipeline_resolve_paths_from_its_directory() {
    let tree = Tree::examples();
    // Beside the tree: inside it, the schema would be a sidecar like any other JSON file.
    let conf = Tree::new();
    conf.write(
        "conf/schema.json",
        r#"{"type": "object", "required": ["sidecar_info"]}"#,
    );
    conf.write(
        "conf/schema-check.toml",
        "[[stage]]\nkind = \"validate\"\nvalidators = [\"json-schema\"]\n\n[stage.options.json-schema]\nschema = \"schema.json\"\n",
    );
    let input = tree.path().to_str().unwrap();
    let (report, _) = run_in(
        Path::new("/"),
        tree.path(),
        &[
            "run",
            conf.join("conf/schema-check.toml").to_str().unwrap(),
            "--input",
            input,
        ],
        0,
    );
    assert_eq!(
        report["stages"]["validate"]["invalid_files"], 1,
        "{report:#}"
    );
}

#[test]
fn a_pipeline_without_input_asks_for_one() {
    let tree = Tree::new();
    let (_, stderr) = run_in(tree.path(), tree.path(), &["run", "health-check"], 2);
    assert!(stderr.contains("no input"), "{stderr}");
    let (_, stderr) = run_in(
        tree.path(),
        tree.path(),
        &["run", "no-such-pipeline", "--input", "."],
        2,
    );
    assert!(
        stderr.contains("no pipeline named `no-such-pipeline`"),
        "{stderr}"
    );
}

#[test]
fn a_syntax_error_comes_alone_and_option_errors_point_at_the_option() {
    let tree = Tree::new();
    tree.write(
        "syntax.toml",
        "description = \"x\"\n[input\ninclude = [\"a\"]\n\n[[stage]]\nkind = \"validate\"\n",
    );
    tree.write(
        "option.toml",
        "[[stage]]\nkind = \"validate\"\nvalidators = [\"json-schema\"]\n\n[stage.options.json-schema]\nother = 1\nschema = 3\n",
    );
    let (report, _) = run_in(
        tree.path(),
        tree.path(),
        &["pipelines", "check", "syntax.toml"],
        1,
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "no echo of the syntax error: {report:#}");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("TOML syntax"));
    let (report, _) = run_in(
        tree.path(),
        tree.path(),
        &["pipelines", "check", "option.toml"],
        1,
    );
    assert_eq!(report["errors"][0]["line"], 7, "{report:#}");
    assert_eq!(report["errors"][0]["column"], 1);
}

#[test]
fn huge_pipelines_are_refused_at_once_and_duplicates_reported_in_one_pass() {
    let dir = Tree::new();
    // A million stages: the check names the limit (a quadratic duplicate check would never end).
    let huge = dir.write(
        "huge.toml",
        "[[stage]]\nkind = \"stats\"\n".repeat(1_000_000),
    );
    let out = assert_cmd::Command::new(BIN)
        .args(["pipelines", "check"])
        .arg(&huge)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let check = parse(&out.stdout);
    assert_eq!(check["errors"].as_array().unwrap().len(), 1, "{check:#}");
    assert!(check["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("1000000 stages; a pipeline has at most 256"));

    let twins = dir.write("twins.toml", "[[stage]]\nkind = \"stats\"\n".repeat(256));
    let out = Command::new(BIN)
        .args(["pipelines", "check"])
        .arg(&twins)
        .output()
        .unwrap();
    let check = parse(&out.stdout);
    let errors = check["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 255, "every stage after the first");
    assert!(errors
        .iter()
        .all(|e| e["message"] == "two stages are named `stats`"));
    assert_eq!(errors[0]["line"], 4, "at the second stage");
}

/// The lines of a JSON Lines file, parsed.
fn json_lines(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn export_stages_write_what_passed_validation_as_the_single_command_does() {
    let tree = Tree::examples();
    let mut doc: Json =
        serde_json::from_slice(&std::fs::read(tree.join("DSC01234.json")).unwrap()).unwrap();
    doc["Face_detector"]["faces"][0]["confidence"] = serde_json::json!(3.0);
    tree.write("old/DSC09999.json", serde_json::to_vec(&doc).unwrap());
    tree.write("old/DSC09999.jpg", b"x");
    tree.write("old/IMG_0005.json", b"{\"broken\": ");
    let work = Tree::new();
    work.write(
        "jobs/export.toml",
        r#"description = "Validate, then export what passed"

[[stage]]
kind = "validate"

[[stage]]
name = "documents"
kind = "export"
format = "jsonl"
output = "../out/documents.jsonl"
non_finite = "null"

[[stage]]
name = "table"
kind = "export"
format = "csv"
output = "../out/table.csv"

[[stage]]
name = "faces"
kind = "export"
format = "parquet"
output = "../out/faces.parquet"
rows = "/face_detection/faces"

[[stage]]
kind = "stats"
"#,
    );
    std::fs::create_dir_all(work.join("out")).unwrap();
    let before = tree.snapshot();
    let input = tree.path().to_str().unwrap();
    let pipeline = work.join("jobs/export.toml");
    let pipeline = pipeline.to_str().unwrap();
    let (report, stderr) = run_in(
        work.path(),
        work.path(),
        &["run", pipeline, "--input", input, "--workers", "1"],
        0,
    );
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(
        tree.snapshot(),
        before,
        "exports change nothing in the input"
    );
    let stages = &report["stages"];
    assert_eq!(stages["validate"]["invalid_files"], 2, "{report:#}");

    // Every file that passed, and none that failed, in the single command's rows.
    let single = Tree::new();
    let whole = single.join("whole.jsonl");
    let out = tree.run(&[
        "export",
        "--format",
        "jsonl",
        "--non-finite",
        "null",
        "--workers",
        "1",
        "--output",
        whole.to_str().unwrap(),
    ]);
    assert!(out.status.success() || out.status.code() == Some(1));
    let failed = ["old/DSC09999.json", "old/IMG_0005.json"];
    let passed: Vec<Json> = json_lines(&whole)
        .into_iter()
        .filter(|row| {
            !failed
                .iter()
                .any(|f| row["path"].as_str().unwrap().ends_with(f))
        })
        .collect();
    let documents = json_lines(&work.join("out/documents.jsonl"));
    assert!(!documents.is_empty());
    assert_eq!(documents, passed);
    let section = &stages["documents"];
    assert_eq!(section["kind"], "export");
    assert_eq!(section["exported_sidecars"], documents.len());
    assert_eq!(
        section["total_sidecars"],
        documents.len(),
        "failed files go no further"
    );
    assert!(section["outputs"][0]
        .as_str()
        .unwrap()
        .ends_with("out/documents.jsonl"));

    // CSV: the first pass found the columns of the files that passed.
    let csv = std::fs::read_to_string(work.join("out/table.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("SourceFile,"));
    let sources: Vec<&str> = lines
        .map(|l| l.split(',').next().unwrap())
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(stages["table"]["rows"], documents.len());
    assert!(
        sources
            .iter()
            .all(|s| !failed.iter().any(|f| s.ends_with(f))),
        "{csv}"
    );

    // Parquet: one row per face of the files that passed.
    let parquet = std::fs::read(work.join("out/faces.parquet")).unwrap();
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    let faces: usize = documents
        .iter()
        .map(|row| {
            row["document"]
                .pointer("/face_detection/faces")
                .and_then(Json::as_array)
                .map_or(0, Vec::len)
        })
        .sum();
    assert!(faces > 0);
    assert_eq!(stages["faces"]["rows"], faces, "{:#}", stages["faces"]);
    assert_eq!(stages["stats"]["total_sidecars"], documents.len());

    // A second run never writes over the first one's files, and runs nothing.
    let kept = std::fs::read(work.join("out/documents.jsonl")).unwrap();
    let (stdout, stderr) = run_in(
        work.path(),
        work.path(),
        &["run", pipeline, "--input", input],
        2,
    );
    assert_eq!(stdout, Json::Null);
    assert!(stderr.contains("exists already"), "{stderr}");
    assert_eq!(
        std::fs::read(work.join("out/documents.jsonl")).unwrap(),
        kept
    );
}

#[test]
fn an_aborted_pipeline_leaves_no_export_and_shards_write_their_own() {
    let tree = Tree::examples();
    tree.write("IMG_0005.json", b"{\"broken\": ");
    let work = Tree::new();
    work.write(
        "abort.toml",
        "[[stage]]\nkind = \"validate\"\non_error = \"abort\"\n\n[[stage]]\nkind = \"export\"\nformat = \"jsonl\"\noutput = \"rows.jsonl\"\n",
    );
    let input = tree.path().to_str().unwrap();
    let (report, _) = run_in(
        work.path(),
        work.path(),
        &["run", "./abort.toml", "--input", input],
        1,
    );
    assert!(report["aborted"].is_object(), "{report:#}");
    assert_eq!(work.files(), ["abort.toml"], "no export, no temporary file");

    let tree = Tree::examples();
    work.write(
        "shards.toml",
        "[[stage]]\nkind = \"export\"\nformat = \"csv\"\noutput = \"rows-{shard}.csv\"\n",
    );
    let mut reports = Vec::new();
    for shard in ["0/2", "1/2"] {
        let name = format!("report-{}.json", &shard[..1]);
        run_in(
            work.path(),
            work.path(),
            &[
                "run",
                "./shards.toml",
                "--input",
                tree.path().to_str().unwrap(),
                "--shard",
                shard,
                "--output",
                &name,
            ],
            0,
        );
        reports.push(name);
    }
    let rows = |name: &str| {
        std::fs::read_to_string(work.join(name))
            .unwrap()
            .lines()
            .count()
            - 1
    };
    let (merged, _) = run_in(
        work.path(),
        work.path(),
        &["merge", &reports[0], &reports[1]],
        0,
    );
    let export = &merged["stages"]["export"];
    assert_eq!(export["rows"], rows("rows-0.csv") + rows("rows-1.csv"));
    let outputs: Vec<&str> = export["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert_eq!(outputs, ["./rows-0.csv", "./rows-1.csv"]);
    let columns = export["columns"].as_array().unwrap();
    let mut unique = columns.clone();
    unique.dedup();
    assert_eq!(
        unique.len(),
        columns.len(),
        "each column once: {columns:#?}"
    );
}

#[test]
fn a_parquet_stage_with_declared_types_takes_them_from_beside_the_pipeline() {
    let tree = Tree::new();
    tree.write("a.jpg", b"jpg");
    tree.write("a.json", r#"{"n": 1}"#);
    tree.write("b.jpg", b"jpg");
    tree.write("b.json", r#"{"n": "two"}"#);
    let work = Tree::new();
    work.write(
        "jobs/table.toml",
        "[[stage]]\nkind = \"export\"\nformat = \"parquet\"\noutput = \"rows.parquet\"\ntypes = \"types.json\"\n",
    );
    let input = tree.path().to_str().unwrap();
    let pipeline = work.join("jobs/table.toml");
    let pipeline = pipeline.to_str().unwrap();
    let (_, stderr) = run_in(
        work.path(),
        work.path(),
        &["run", pipeline, "--input", input],
        2,
    );
    assert!(
        stderr.contains("stage `export`: types:") && stderr.contains("types.json"),
        "{stderr}"
    );
    assert_eq!(work.files(), ["jobs/table.toml"], "nothing written");

    work.write("jobs/types.json", r#"{"n": "float64"}"#);
    let (report, _) = run_in(
        work.path(),
        work.path(),
        &["run", pipeline, "--input", input],
        0,
    );
    let stage = &report["stages"]["export"];
    assert_eq!(stage["exported_sidecars"], 1, "{stage:#}");
    assert_eq!(
        stage["not_exported"][0]["reason"],
        "/n holds a string, not float64 as the declared types say"
    );
    let file = std::fs::File::open(work.join("jobs/rows.parquet")).unwrap();
    let schema = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .schema()
        .clone();
    assert_eq!(
        schema.field_with_name("document").unwrap().data_type(),
        &arrow_schema::DataType::Struct(
            vec![arrow_schema::Field::new(
                "n",
                arrow_schema::DataType::Float64,
                true
            )]
            .into()
        )
    );
}

#[test]
fn broken_export_stages_are_reported_at_their_keys() {
    let work = Tree::new();
    work.write(
        "broken.toml",
        r#"[[stage]]
kind = "export"
format = "xls"
output = "a.xls"

[[stage]]
name = "b"
kind = "export"
format = "csv"
output = "-"
non_finite = "null"
rows = "face_detection/faces"

[[stage]]
name = "c"
kind = "export"
format = "jsonl"

[[stage]]
kind = "convert"
to = "bin"

[[stage]]
name = "d"
kind = "export"
format = "jsonl"
output = "d.jsonl"

[[stage]]
name = "e"
kind = "export"
format = "jsonl"
output = "d.jsonl"

[[stage]]
name = "g"
kind = "export"
format = "csv"
output = "g.csv"
types = "types.json"
"#,
    );
    let (report, _) = run_in(
        work.path(),
        work.path(),
        &["pipelines", "check", "./broken.toml"],
        1,
    );
    let errors = lines_and_messages(&report);
    let expect = [
        (3, "unknown export format `xls`"),
        (10, "writes to a file, not to stdout"),
        (11, "`non_finite` is an option of JSON Lines"),
        (12, "`face_detection/faces` is not a JSON pointer"),
        (16, "an export stage needs `output`"),
        (25, "an export stage cannot follow a convert stage"),
        (31, "an export stage cannot follow a convert stage"),
        (33, "two export stages write `d.jsonl`"),
        (37, "an export stage cannot follow a convert stage"),
        (40, "`types` declares Parquet's column types"),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for ((line, message), (el, em)) in errors.iter().zip(expect) {
        assert_eq!(*line, el, "{message}");
        assert!(message.contains(em), "{message} / {em}");
    }
}
