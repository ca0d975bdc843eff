//! Plugins through the stable ABI: the example libraries copied to a fresh directory and used
//! like built-ins, and every way a library can fail, each reported in one line while the rest
//! keeps working.

use std::path::{Path, PathBuf};

use crate::harness::{
    assert_exit, assert_python_files_restored, build_crate, parse, result_for, workspace, Tree, BIN,
};

/// A plugin library: an example plugin, or one of the test fixtures (`sidecar_test_*`).
pub(crate) fn library(name: &str) -> PathBuf {
    let dir = if name.starts_with("sidecar_test_") {
        fixtures().clone()
    } else {
        // The example plugins are dev-dependencies: built beside the test binary.
        std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf()
    };
    let path = dir.join(format!("lib{name}.so"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// The directory of the test fixtures' libraries, built once per test run: they are a
/// workspace of their own (`tests/plugins/Cargo.toml`), which the project's build never builds.
fn fixtures() -> &'static PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        build_crate(
            &workspace().join("tests/plugins/Cargo.toml"),
            "plugin-builds",
        )
    })
}

/// A fresh plugin directory holding copies of the named libraries.
fn plugin_dir(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        std::fs::copy(library(name), dir.path().join(format!("lib{name}.so"))).unwrap();
    }
    dir
}

/// A shared library that is no plugin: the C library this process runs with.
fn system_library() -> PathBuf {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains("/libc.so") || p.contains("/libc-"))
        .map(PathBuf::from)
        .expect("the process maps libc")
}

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .arg("--plugin-dir")
        .arg(dir)
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .output()
        .unwrap()
}

#[test]
fn plugins_list_shows_built_ins_and_libraries_with_provenance() {
    let bare = std::process::Command::new(BIN)
        .args(["plugins", "list"])
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .output()
        .unwrap();
    assert_eq!(bare.status.code(), Some(0));
    let bare = parse(&bare.stdout);
    let names = |report: &serde_json::Value, kind: &str| -> Vec<String> {
        report[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&bare, "codecs"),
        ["bin", "json", "legacy", "rkyv", "xmp"]
    );
    assert_eq!(
        names(&bare, "validators"),
        [
            "image-present",
            "json-schema",
            "sportball",
            "well-formed",
            "xmp"
        ]
    );
    assert!(bare["codecs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["provenance"] == "built-in"));
    assert_eq!(bare["plugin_api_version"], "1.1.0");

    let dir = plugin_dir(&["sidecar_plugin_cbor", "sidecar_plugin_rules"]);
    let out = run(&["plugins", "list"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
    let report = parse(&out.stdout);
    assert_eq!(
        names(&report, "codecs"),
        ["bin", "cbor", "json", "legacy", "rkyv", "xmp"]
    );
    let cbor = &report["codecs"][1];
    assert_eq!(cbor["display_name"], "Cbor");
    assert_eq!(cbor["extensions"][0], "cbor");
    assert!(cbor["provenance"]
        .as_str()
        .unwrap()
        .starts_with(dir.path().to_str().unwrap()));
    assert!(names(&report, "validators").contains(&"rules".to_owned()));
    assert_eq!(
        report["libraries"].as_array().unwrap().len(),
        2,
        "two libraries, loaded apart"
    );
    assert_eq!(report["failed"].as_array().unwrap().len(), 0);
}

#[test]
fn every_broken_library_gets_one_line_and_the_rest_loads() {
    let dir = plugin_dir(&["sidecar_plugin_cbor", "sidecar_test_future_abi"]);
    std::fs::write(dir.path().join("libcorrupt.so"), b"\x7fELF but not really").unwrap();
    std::fs::copy(system_library(), dir.path().join("libnotaplugin.so")).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["plugins", "list", "--plugin-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = parse(&out.stdout);
    let failed = report["failed"].as_array().unwrap();
    let reason = |file: &str| -> String {
        let entry = failed
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("no failure for {file}: {report:#}"));
        let reason = entry["reason"].as_str().unwrap().to_owned();
        assert!(
            !reason.contains('\n') && reason.len() <= 301,
            "one short line: {reason}"
        );
        reason
    };
    assert!(
        reason("libcorrupt.so").contains("cannot open"),
        "{}",
        reason("libcorrupt.so")
    );
    assert!(reason("libnotaplugin.so").contains("not an image-sidecar plugin"));
    assert!(
        reason("libsidecar_test_future_abi.so").contains("2.0.0"),
        "{}",
        reason("libsidecar_test_future_abi.so")
    );
    assert_eq!(failed.len(), 3);
    assert_eq!(
        report["libraries"].as_array().unwrap().len(),
        1,
        "cbor still loads"
    );
}

#[test]
fn a_plugin_path_that_cannot_be_used_stops_the_run_before_any_work() {
    let tree = Tree::examples();
    let before = tree.snapshot();
    let empty = tempfile::tempdir().unwrap();
    let not_a_library = tempfile::NamedTempFile::new().unwrap();
    for (path, why) in [
        (Path::new("/no/such/dir"), "does not exist"),
        (empty.path(), "holds no plugin library"),
        (not_a_library.path(), "is not a plugin library"),
    ] {
        for command in [
            &["plugins", "list"][..],
            &["validate", "--strict"],
            &["convert", "--format", "bin"],
        ] {
            let mut cmd = std::process::Command::new(BIN);
            cmd.args(command);
            if command[0] != "plugins" {
                cmd.arg("--input").arg(tree.path());
            }
            let out = cmd.arg("--plugin-dir").arg(path).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{command:?} {}", path.display());
            assert!(out.stdout.is_empty());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(why) && stderr.contains(path.to_str().unwrap()),
                "{stderr}"
            );
        }
        let env = std::process::Command::new(BIN)
            .args(["validate", "--input"])
            .arg(tree.path())
            .env("IMAGE_SIDECAR_PLUGIN_PATH", path)
            .output()
            .unwrap();
        assert_eq!(
            env.status.code(),
            Some(2),
            "IMAGE_SIDECAR_PLUGIN_PATH={}",
            path.display()
        );
    }
    assert_eq!(tree.snapshot(), before);

    // In a pipeline: reported by `pipelines check` at the key, and `run` runs nothing.
    let jobs = Tree::new();
    let pipeline = jobs.write(
        "p.toml",
        "plugin_dirs = [\"plugins\", \"../nope\"]\n\n[[stage]]\nkind = \"stats\"\n",
    );
    std::fs::create_dir(jobs.join("plugins")).unwrap();
    std::fs::copy(
        library("sidecar_plugin_rules"),
        jobs.join("plugins/libsidecar_plugin_rules.so"),
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["pipelines", "check"])
        .arg(&pipeline)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let check = parse(&out.stdout);
    assert_eq!(check["errors"].as_array().unwrap().len(), 1, "{check:#}");
    assert_eq!(check["errors"][0]["line"], 1);
    assert_eq!(check["errors"][0]["column"], 27);
    assert!(check["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
    let out = std::process::Command::new(BIN)
        .arg("run")
        .arg(&pipeline)
        .arg("--input")
        .arg(tree.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_plugin_codec_converts_like_a_built_in() {
    let dir = plugin_dir(&["sidecar_plugin_cbor"]);
    let tree = Tree::examples();
    let before = tree.snapshot();
    let to_cbor = run(
        &[
            "convert",
            "--format",
            "cbor",
            "--input",
            tree.path().to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_exit(&to_cbor, 0, "");
    let report = parse(&to_cbor.stdout);
    assert_eq!(report["converted"], 6, "{report:#}");
    assert!(tree.join("IMG_0042.cbor").exists());

    let stats = parse(
        &run(
            &["format-stats", "--input", tree.path().to_str().unwrap()],
            dir.path(),
        )
        .stdout,
    );
    assert_eq!(stats["format_distribution"]["Cbor"], 6);
    let validate = parse(
        &run(
            &["validate", "--input", tree.path().to_str().unwrap()],
            dir.path(),
        )
        .stdout,
    );
    assert_eq!(validate["valid_files"], 6, "{validate:#}");

    let back = parse(
        &run(
            &[
                "convert",
                "--format",
                "json",
                "--input",
                tree.path().to_str().unwrap(),
            ],
            dir.path(),
        )
        .stdout,
    );
    assert_eq!(back["converted"], 6);
    assert_python_files_restored(&tree, &before, "CBOR");
    // Without the plugin, .cbor files are not taken for sidecars at all.
    let env = std::process::Command::new(BIN)
        .args(["format-stats", "--input"])
        .arg(tree.path())
        .env("IMAGE_SIDECAR_PLUGIN_PATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(
        parse(&env.stdout)["format_distribution"]["Cbor"],
        0,
        "the tree is JSON again"
    );
}

#[test]
fn plugin_path_variable_loads_libraries() {
    let dir = plugin_dir(&["sidecar_plugin_rules"]);
    let out = std::process::Command::new(BIN)
        .args(["plugins", "list"])
        .env(
            "IMAGE_SIDECAR_PLUGIN_PATH",
            format!("{}::", dir.path().display()),
        )
        .output()
        .unwrap();
    let report = parse(&out.stdout);
    assert_eq!(report["libraries"][0]["name"], "sidecar-plugin-rules");
    assert_eq!(report["failed"].as_array().unwrap().len(), 0);
}

#[test]
fn a_plugin_validator_reads_its_rules_from_options() {
    let dir = plugin_dir(&["sidecar_plugin_rules"]);
    let tree = Tree::examples();
    let rules = r#"[{"path": "/sidecar_info/operation_type", "required": true, "one_of": ["face_detection", "yolov8"]},
                    {"path": "/yolov8/objects", "max_items": 3, "severity": "warning"}]"#;
    let out = run(
        &[
            "validate",
            "--all-results",
            "--validators",
            "well-formed,rules",
            "--option",
            &format!("rules.rules={rules}"),
            "--input",
            tree.path().to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_exit(&out, 0, "");
    let report = parse(&out.stdout);
    let quality = result_for(&report, "results", "IMG_0042.json");
    assert_eq!(quality["is_valid"], false);
    assert!(
        quality["error"]
            .as_str()
            .unwrap()
            .contains("rules: \"quality_assessment\" is not one of"),
        "{quality}"
    );
    let older = result_for(&report, "results", "DSC01234.json");
    assert!(older["error"]
        .as_str()
        .unwrap()
        .contains("required value is missing at /sidecar_info/operation_type"));
    let busy = result_for(&report, "results", "20250920_153300.120.json");
    assert_eq!(busy["is_valid"], true);
    assert!(
        busy["warnings"][0]
            .as_str()
            .unwrap()
            .contains("holds 4 items, more than 3"),
        "{busy}"
    );
    assert!(report["warning_counts"]["rules"].as_u64().unwrap() >= 1);

    let bad_options = run(
        &[
            "validate",
            "--validators",
            "rules",
            "--option",
            "rules.rules=[{\"path\": \"nope\"}]",
            "--input",
            tree.path().to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(bad_options.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_options.stderr).contains("JSON pointer"));
}

#[test]
fn a_panicking_or_lying_plugin_fails_its_files_only() {
    let dir = plugin_dir(&["sidecar_test_faulty"]);
    let tree = Tree::examples();
    tree.write("IMG_0042.faulty", b"anything");
    let input = tree.path().to_str().unwrap();

    let out = run(&["validate", "--input", input], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "the panic message is not printed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = parse(&out.stdout);
    assert_eq!(report["valid_files"], 6);
    let faulty = result_for(&report, "results", "IMG_0042.faulty");
    assert!(
        faulty["error"]
            .as_str()
            .unwrap()
            .contains("plugin panicked in decode: faulty decode of 8 bytes"),
        "{faulty}"
    );

    let out = run(
        &["validate", "--validators", "panics", "--input", input],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
    let report = parse(&out.stdout);
    assert_eq!(report["invalid_files"], 7);
    let entry = result_for(&report, "results", "DSC01234.json");
    assert!(
        entry["error"]
            .as_str()
            .unwrap()
            .contains("validator exploded"),
        "{entry}"
    );

    // Garbage from encode: the read-back check refuses it and the sources stay.
    let before = tree.snapshot();
    let out = run(
        &["convert", "--format", "faulty", "--input", input],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let report = parse(&out.stdout);
    assert_eq!(report["converted"], 0, "{report:#}");
    assert_eq!(report["failed"], 5);
    assert_eq!(
        result_for(&report, "results", "IMG_0042.faulty")["status"],
        "invalid",
        "its codec panics reading it: {report:#}"
    );
    assert!(result_for(&report, "results", "DSC01234.json")["reason"]
        .as_str()
        .unwrap()
        .contains("read-back"));
    // IMG_0042.faulty is the target of IMG_0042.json and cannot be read: a conflict.
    assert_eq!(report["conflicts"], 1);
    assert_eq!(
        result_for(&report, "results", "IMG_0042.json")["status"],
        "conflict"
    );
    assert_eq!(tree.snapshot(), before, "nothing written, nothing removed");
}

#[test]
fn a_plugin_summary_adds_counters_to_stats_for_a_plugin_format() {
    let dir = plugin_dir(&["sidecar_plugin_cbor", "sidecar_plugin_rules"]);
    let tree = Tree::new();
    tree.write("IMG_0001.json", br#"{"rating": 4}"#);
    tree.write("IMG_0001.HEIC", b"heic");
    tree.write("IMG_0002.json", br#"{"rating": 4, "label": "Red"}"#);
    tree.write("IMG_0002.CR3", b"raw");
    tree.write("IMG_0003.json", br#"{"rating": 2}"#);
    let input = tree.path().to_str().unwrap();
    let convert = run(
        &["convert", "--format", "cbor", "--input", input],
        dir.path(),
    );
    assert_eq!(parse(&convert.stdout)["converted"], 3);
    let pages = tempfile::tempdir().unwrap();
    let page = pages.path().join("stats.html");
    let out = run(
        &["stats", "--input", input, "--html", page.to_str().unwrap()],
        dir.path(),
    );
    assert_exit(&out, 0, "");
    let stats = parse(&out.stdout);
    assert_eq!(stats["total_sidecars"], 3, "{stats:#}");
    let page = std::fs::read_to_string(page).unwrap();
    assert!(
        page.contains(
            "<dt>rated_files</dt><dd data-field=\"/rated_files\" data-value=\"3\">3</dd>"
        ),
        "the plugin's total on the page"
    );
    assert!(
        page.contains("<figcaption>rating_counts</figcaption>")
            && page.contains("<title>4: 2</title>"),
        "the plugin's tally on the page"
    );
    assert_eq!(stats["files_by_format"]["Cbor"], 3);
    assert_eq!(stats["sidecars_without_image"], 1);
    assert_eq!(stats["rating_counts"], serde_json::json!({"2": 1, "4": 2}));
    assert_eq!(stats["rated_files"], 3);
    assert_eq!(
        stats["total_faces"], 0,
        "the built-in summary still reports"
    );
    let keys: Vec<&String> = stats.as_object().unwrap().keys().collect();
    let at = |k: &str| keys.iter().position(|x| *x == k).unwrap();
    assert!(at("unreadable_sidecars") < at("rating_counts"));
    assert!(at("total_objects") < at("files_by_format"));

    let list = parse(&run(&["plugins", "list"], dir.path()).stdout);
    let summaries: Vec<&str> = list["summaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(summaries, ["ratings", "sportball", "xmp"]);
}

/// Runs `plugins list` on `dir` with the hostile library's behaviour and a fresh scan cache.
fn list_with(dir: &Path, constructor: &str, cache: &Path) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(["plugins", "list", "--plugin-dir"])
        .arg(dir)
        .env("SIDECAR_TEST_CONSTRUCTOR", constructor)
        .env("XDG_CACHE_HOME", cache)
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .output()
        .unwrap()
}

#[test]
fn a_crashing_constructor_costs_one_line_not_the_run() {
    let dir = plugin_dir(&["sidecar_test_hostile", "sidecar_plugin_rules"]);
    let tree = Tree::examples();
    for (behaviour, signal) in [("segv", "SIGSEGV"), ("abort", "SIGABRT")] {
        let cache = tempfile::tempdir().unwrap();
        let out = list_with(dir.path(), behaviour, cache.path());
        assert_eq!(out.status.code(), Some(0), "{behaviour}");
        let report = parse(&out.stdout);
        let failed = report["failed"].as_array().unwrap();
        assert_eq!(failed.len(), 1, "{report:#}");
        let reason = failed[0]["reason"].as_str().unwrap();
        assert!(
            reason.contains("crashed") && reason.contains(signal),
            "{reason}"
        );
        assert_eq!(report["libraries"][0]["name"], "sidecar-plugin-rules");

        let validate = std::process::Command::new(BIN)
            .args(["validate", "--input"])
            .arg(tree.path())
            .arg("--plugin-dir")
            .arg(dir.path())
            .env("SIDECAR_TEST_CONSTRUCTOR", behaviour)
            .env("XDG_CACHE_HOME", cache.path())
            .output()
            .unwrap();
        assert_eq!(validate.status.code(), Some(0), "the run completes");
        let report = parse(&validate.stdout);
        assert_eq!(report["valid_files"], 6);
        assert!(report["plugin_errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains(signal));
    }
}

#[test]
fn a_non_plugin_runs_its_constructor_only_in_the_scanner_and_scans_are_cached() {
    let dir = plugin_dir(&["sidecar_test_hostile", "sidecar_plugin_rules"]);
    let cache = tempfile::tempdir().unwrap();
    let marker = cache.path().join("marker");
    let child = std::process::Command::new(BIN)
        .args(["plugins", "list", "--plugin-dir"])
        .arg(dir.path())
        .env(
            "SIDECAR_TEST_CONSTRUCTOR",
            format!("marker:{}", marker.display()),
        )
        .env("XDG_CACHE_HOME", cache.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let main_pid = child.id();
    let out = child.wait_with_output().unwrap();
    let report = parse(&out.stdout);
    assert!(report["failed"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not an image-sidecar plugin"));
    let writer: u32 = std::fs::read_to_string(&marker).unwrap().parse().unwrap();
    assert_ne!(
        writer, main_pid,
        "the constructor ran in the scanner, not the tool"
    );
    assert_eq!(report["libraries"][0]["scan"], "scanned");

    std::fs::remove_file(&marker).unwrap();
    let again = list_with(
        dir.path(),
        &format!("marker:{}", marker.display()),
        cache.path(),
    );
    let report = parse(&again.stdout);
    assert_eq!(report["libraries"][0]["scan"], "cached", "{report:#}");
    assert!(!marker.exists(), "a cached failure opens nothing");
    assert_eq!(report["failed"].as_array().unwrap().len(), 1);
}

#[test]
fn libraries_load_only_from_places_nobody_else_can_change() {
    use std::os::unix::fs::PermissionsExt;
    let dir = plugin_dir(&["sidecar_plugin_rules"]);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run(&["plugins", "list"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("writable by everyone") && stderr.contains("chmod go-w"),
        "{stderr}"
    );
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();

    let library = dir.path().join("libsidecar_plugin_rules.so");
    std::fs::set_permissions(&library, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = run(&["plugins", "list"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let report = parse(&out.stdout);
    assert!(
        report["failed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("writable by everyone"),
        "{report:#}"
    );
    assert_eq!(report["libraries"].as_array().unwrap().len(), 0);
    std::fs::set_permissions(&library, std::fs::Permissions::from_mode(0o644)).unwrap();

    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(&library, Some(65534), None).unwrap();
        let report = parse(&run(&["plugins", "list"], dir.path()).stdout);
        assert!(
            report["failed"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("owned by uid 65534"),
            "{report:#}"
        );
    }
}

/// Runs `plugins list` on `dir` with the hostile library's `constructor` and the scan cache in
/// `cache`, with `hook` run between the trust check and the load.
fn list_hooked(dir: &Path, constructor: &str, cache: &Path, hook: &str) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(["plugins", "list", "--plugin-dir"])
        .arg(dir)
        .env("SIDECAR_TEST_CONSTRUCTOR", constructor)
        .env("XDG_CACHE_HOME", cache)
        .env("IMAGE_SIDECAR_TEST_HOOK_AFTER_TRUST_CHECK", hook)
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .output()
        .unwrap()
}

#[test]
fn a_link_swapped_after_the_check_loads_what_was_checked() {
    use std::os::unix::fs::PermissionsExt;
    let plugins = tempfile::tempdir().unwrap();
    let real = plugins.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::copy(
        library("sidecar_plugin_rules"),
        real.join("libsidecar_plugin_rules.so"),
    )
    .unwrap();
    let link = plugins.path().join("libplugin.so");
    std::os::unix::fs::symlink(real.join("libsidecar_plugin_rules.so"), &link).unwrap();
    // Someone else's library, in a place everyone can write: never to be run.
    let open = tempfile::tempdir().unwrap();
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let hostile = open.path().join("libhostile.so");
    std::fs::copy(library("sidecar_test_hostile"), &hostile).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let marker = cache.path().join("marker");
    let hook = format!("ln -sfn '{}' '{}'", hostile.display(), link.display());
    let out = list_hooked(
        plugins.path(),
        &format!("marker:{}", marker.display()),
        cache.path(),
        &hook,
    );
    assert_exit(&out, 0, "plugins list");
    assert!(
        std::fs::read_link(&link).unwrap() == hostile,
        "the hook swapped the link"
    );
    assert!(!marker.exists(), "the swapped-in library never ran");
    let report = parse(&out.stdout);
    assert_eq!(
        report["libraries"][0]["name"], "sidecar-plugin-rules",
        "{report:#}"
    );
    assert_eq!(report["failed"].as_array().map_or(0, Vec::len), 0);
}

#[test]
fn a_scan_cache_others_could_edit_is_not_believed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = plugin_dir(&["sidecar_test_hostile"]);
    let cache = tempfile::tempdir().unwrap();
    let out = list_with(dir.path(), "segv", cache.path());
    assert_exit(&out, 0, "first scan");
    let file = cache.path().join("image-sidecar-rust/plugin-scan.json");
    // The cache is made to say the crashing library loads fine.
    let mut scans: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for entry in scans.as_object_mut().unwrap().values_mut() {
        entry["outcome"] = serde_json::json!({"Ok": {
            "name": "fine", "version": "1", "codecs": [], "validators": [], "summaries": []
        }});
    }
    std::fs::write(&file, serde_json::to_vec(&scans).unwrap()).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = list_with(dir.path(), "segv", cache.path());
    assert_exit(&out, 0, "the run survives");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("plugin scan cache is not used") && stderr.contains("writable by others"),
        "{stderr}"
    );
    let report = parse(&out.stdout);
    assert!(
        report["failed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("crashed"),
        "rescanned: {report:#}"
    );
    if rustix::process::geteuid().is_root() {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
        let out = list_with(dir.path(), "segv", cache.path());
        assert_exit(&out, 0, "owned by nobody");
        assert!(String::from_utf8_lossy(&out.stderr).contains("owned by uid 65534"));
    }
}

#[test]
fn a_library_rewritten_in_place_with_its_size_and_time_put_back_is_scanned_again() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libplugin.so");
    std::fs::copy(library("sidecar_plugin_rules"), &path).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = list_with(dir.path(), "segv", cache.path());
    assert_exit(&out, 0, "first scan");
    assert_eq!(parse(&out.stdout)["libraries"][0]["scan"], "scanned");
    let again = list_with(dir.path(), "segv", cache.path());
    assert_eq!(parse(&again.stdout)["libraries"][0]["scan"], "cached");

    // The crashing library written over it, same inode, padded to the same size, with the
    // modification time put back.
    let before = std::fs::metadata(&path).unwrap();
    let mut bytes = std::fs::read(library("sidecar_test_hostile")).unwrap();
    assert!(bytes.len() as u64 <= before.len());
    bytes.resize(before.len() as usize, 0);
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all(&bytes).unwrap();
    file.set_modified(before.modified().unwrap()).unwrap();
    drop(file);
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(
        (after.len(), after.modified().unwrap()),
        (before.len(), before.modified().unwrap())
    );
    let out = list_with(dir.path(), "segv", cache.path());
    assert_exit(&out, 0, "the tool survives");
    let report = parse(&out.stdout);
    assert!(
        report["failed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("crashed"),
        "{report:#}"
    );
}

#[test]
fn a_pipeline_that_names_plugin_directories_must_be_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let plugins = plugin_dir(&["sidecar_plugin_rules"]);
    let open = tempfile::tempdir().unwrap();
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let pipeline = open.path().join("p.toml");
    std::fs::write(
        &pipeline,
        format!(
            "plugin_dirs = [\"{}\"]\n\n[[stage]]\nkind = \"stats\"\n",
            plugins.path().display()
        ),
    )
    .unwrap();
    let tree = Tree::examples();
    let run_pipeline = |pipeline: &Path| {
        std::process::Command::new(BIN)
            .arg("run")
            .arg(pipeline)
            .arg("--input")
            .arg(tree.path())
            .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
            .output()
            .unwrap()
    };
    let out = run_pipeline(&pipeline);
    assert_exit(&out, 2, "run an untrusted pipeline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("must be a trusted file") && stderr.contains("writable by everyone"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // The same file in a place of the user's own runs.
    let mine = tempfile::tempdir().unwrap();
    let trusted = mine.path().join("p.toml");
    std::fs::copy(&pipeline, &trusted).unwrap();
    assert_exit(&run_pipeline(&trusted), 0, "run a trusted pipeline");
}

#[test]
fn a_library_built_against_abi_1_1_with_the_old_author_traits_keeps_working() {
    let built = build_crate(
        &workspace().join("tests/plugins/abi-1-1/Cargo.toml"),
        "plugin-builds",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        built.join("libsidecar_test_abi_1_1.so"),
        dir.path().join("libsidecar_test_abi_1_1.so"),
    )
    .unwrap();
    let listed = parse(&run(&["plugins", "list"], dir.path()).stdout);
    assert_eq!(
        listed["libraries"][0]["name"], "sidecar-test-abi-1-1",
        "{listed:#}"
    );
    assert_eq!(
        listed["failed"].as_array().map_or(0, Vec::len),
        0,
        "{listed:#}"
    );

    let tree = Tree::new();
    tree.write("IMG_0001.kv", "kv\nplayer=7\nteam=blue\n");
    tree.write("IMG_0002.kv", "kv\nteam=red\n");
    tree.write("IMG_0001.jpg", b"jpg");
    tree.write("IMG_0002.jpg", b"jpg");
    let with = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(args)
            .arg("--input")
            .arg(tree.path())
            .arg("--no-cache")
            .arg("--plugin-dir")
            .arg(dir.path())
            .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
            .output()
            .unwrap();
        assert_exit(&out, 0, format_args!("{args:?}"));
        parse(&out.stdout)
    };
    let validate = with(&[
        "validate",
        "--validators",
        "kv-required",
        "--option",
        "kv-required.keys=[\"player\"]",
    ]);
    assert_eq!(validate["invalid_files"], 1, "{validate:#}");
    assert!(result_for(&validate, "results", "IMG_0002.kv")["error"]
        .as_str()
        .unwrap()
        .contains("no `player`"));
    let stats = with(&["stats"]);
    assert_eq!(
        stats["kv_keys"],
        serde_json::json!({"player": 1, "team": 2}),
        "{stats:#}"
    );
    let converted = with(&["convert", "--format", "bin"]);
    assert_eq!(converted["converted"], 2, "{converted:#}");
    let back = with(&["convert", "--format", "kv"]);
    assert_eq!(back["converted"], 2, "{back:#}");
    assert_eq!(
        std::fs::read_to_string(tree.join("IMG_0001.kv")).unwrap(),
        "kv\nplayer=7\nteam=blue\n"
    );
}

#[test]
fn the_workspace_builds_no_test_fixture() {
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(workspace().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata = parse(&out.stdout);
    let members: Vec<&str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(members.contains(&"sidecar-plugin-cbor"), "{members:?}");
    assert!(
        members.iter().all(|m| !m.starts_with("sidecar-test-")),
        "`cargo build --workspace` would put fixtures in target/release: {members:?}"
    );
}
