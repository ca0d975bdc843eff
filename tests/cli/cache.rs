//! The results cache: a second run folds unchanged files from the cache and reports exactly
//! what a `--no-cache` run reports; every kind of change is seen; a broken cache file is
//! survived. The racy-file slack is set to zero so that files written just before a run can be
//! trusted by the next one (the default second would make these tests wait).

use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

use crate::harness::{assert_exit, data, parse, without_timings, Tree, BIN};

fn run(tree: &Tree, args: &[&str]) -> Json {
    run_noting(tree, args).0
}

/// A tree of a few hundred sidecars of every example kind, in several directories.
fn collection() -> Tree {
    let tree = Tree::examples();
    let kinds = [
        "20250920_153300.120.json",
        "20250920_153302.480.json",
        "IMG_0042.json",
        "DSC01234.json",
        "20250101_000001.000.bin",
    ];
    for i in 0..300 {
        let kind = kinds[i % kinds.len()];
        let ext = Path::new(kind).extension().unwrap().to_str().unwrap();
        let stem = format!("game{}/IMG_{i:04}", i % 6);
        tree.write(
            format!("{stem}.{ext}"),
            std::fs::read(data(&format!("examples/{kind}"))).unwrap(),
        );
        if i % 7 != 0 {
            tree.write(format!("{stem}.jpg"), b"jpg");
        }
    }
    tree.write("game1/broken.json", b"{\"a\": ");
    tree
}

const COMMANDS: &[&[&str]] = &[
    &["validate", "--all-results"],
    &["stats"],
    &["format-stats"],
    &["run", "health-check"],
];

/// Runs `command` with the cache twice more and once without, and checks all three agree;
/// returns the cached count of the last cached run.
fn agrees(tree: &Tree, command: &[&str]) -> u64 {
    let cached = run(tree, command);
    let mut bypass = command.to_vec();
    bypass.push("--no-cache");
    let fresh = run(tree, &bypass);
    assert!(
        fresh.get("cached_files").is_none(),
        "--no-cache keeps no count"
    );
    assert_eq!(
        without_timings(cached.clone()),
        without_timings(fresh),
        "{command:?}: the cached run differs from a fresh one"
    );
    cached["cached_files"].as_u64().unwrap()
}

#[test]
fn a_second_run_reads_nothing_unchanged_and_reports_the_same() {
    let tree = collection();
    for command in COMMANDS {
        let first = run(&tree, command);
        assert_eq!(first["cached_files"], 0, "{command:?}");
        let cached = agrees(&tree, command);
        // Every sidecar (the directory-level file is not one).
        assert_eq!(cached, 307, "{command:?}: every sidecar from the cache");
    }
}

#[test]
fn every_kind_of_change_is_seen() {
    let tree = collection();
    for command in COMMANDS {
        run(&tree, command);
    }
    // Same size, same second: one confidence digit changed in place.
    let edited = tree.join("game0/IMG_0000.json");
    let text = std::fs::read_to_string(&edited).unwrap();
    let changed = text.replacen("\"confidence\": 0.", "\"confidence\": 9.", 1);
    assert_eq!(changed.len(), text.len());
    std::fs::write(&edited, changed).unwrap();
    std::fs::rename(
        tree.join("game1/IMG_0001.json"),
        tree.join("game1/IMG_1001.json"),
    )
    .unwrap();
    std::fs::remove_file(tree.join("game2/IMG_0002.json")).unwrap();
    tree.write(
        "game3/IMG_9999.json",
        std::fs::read(data("examples/IMG_0042.json")).unwrap(),
    );
    for command in COMMANDS {
        let cached = agrees(&tree, command);
        assert!(
            cached > 290,
            "{command:?}: the rest still comes from the cache"
        );
    }
    let validate = run(&tree, &["validate", "--all-results"]);
    assert!(
        validate["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |r| r["file_path"].as_str().unwrap().ends_with("IMG_0000.json")
                    && r["is_valid"] == false
            ),
        "the in-place edit is seen"
    );
}

#[test]
fn validator_options_and_schema_contents_invalidate_the_cache() {
    let tree = collection();
    let schemas = Tree::new();
    let schema = schemas.write("schema.json", br#"{"type": "object"}"#);
    let args = [
        "validate",
        "--validators",
        "json-schema",
        "--option",
        &format!("json-schema.schema={}", schema.display()),
    ];
    let first = run(&tree, &args);
    assert_eq!(first["invalid_files"], 1, "{first:#}");
    assert_eq!(run(&tree, &args)["cached_files"], 307);
    std::fs::write(
        &schema,
        br#"{"type": "object", "required": ["sidecar_info"]}"#,
    )
    .unwrap();
    let after = run(&tree, &args);
    assert_eq!(after["cached_files"], 0, "a new schema is a new cache");
    assert!(after["invalid_files"].as_u64().unwrap() > 1);
    let other = run(&tree, &["validate", "--validators", "well-formed"]);
    assert_eq!(other["cached_files"], 0, "other validators, another cache");
}

/// The cache file of `tree` (there is one: one command, one fingerprint) and its inode.
fn cache_file(tree: &Tree) -> (std::path::PathBuf, u64) {
    use std::os::unix::fs::MetadataExt;
    let dir = tree.cache().join("image-sidecar-rust/results");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one cache per input and fingerprint");
    let inode = std::fs::metadata(&files[0]).unwrap().ino();
    (files[0].clone(), inode)
}

#[test]
fn a_run_that_changes_nothing_leaves_the_cache_file_alone() {
    let tree = collection();
    run(&tree, &["stats"]);
    let (file, written) = cache_file(&tree);
    let bytes = std::fs::read(&file).unwrap();
    let report = run(&tree, &["stats"]);
    assert_eq!(report["cached_files"], 307);
    assert_eq!(report["cached_files"], report["total_sidecars"]);
    assert_eq!(cache_file(&tree).1, written, "not replaced");
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "not changed");

    // A file read again, or a record no longer used, is a change.
    tree.write("game2/new.json", b"{}");
    assert_eq!(run(&tree, &["stats"])["cached_files"], 307);
    let (_, added) = cache_file(&tree);
    assert_ne!(added, written, "a new file's record is kept");
    std::fs::remove_file(tree.join("game2/new.json")).unwrap();
    assert_eq!(run(&tree, &["stats"])["cached_files"], 307);
    assert_ne!(cache_file(&tree).1, added, "a deleted file's record goes");
    assert_eq!(run(&tree, &["stats"])["cached_files"], 307);
}

#[test]
fn a_truncated_or_garbage_cache_is_survived() {
    let tree = collection();
    run(&tree, &["stats"]);
    let (file, _) = cache_file(&tree);
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        bytes.len() < 308 * 100,
        "at most 100 bytes a file: {} bytes for 308 files",
        bytes.len()
    );
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(agrees(&tree, &["stats"]), 0, "a truncated cache is rebuilt");
    std::fs::write(&file, b"not a cache at all").unwrap();
    let report = run(&tree, &["stats"]);
    assert_eq!(report["cached_files"], 0);
    assert_eq!(run(&tree, &["stats"])["cached_files"], 307, "and rebuilt");
}

#[test]
fn swapping_a_plugin_library_invalidates_the_cache() {
    let tree = collection();
    let plugins = tempfile::tempdir().unwrap();
    let installed = plugins.path().join("libsidecar_plugin_rules.so");
    std::fs::copy(crate::plugins::library("sidecar_plugin_rules"), &installed).unwrap();
    let dir = plugins.path().to_str().unwrap();
    let args = ["stats", "--plugin-dir", dir];
    assert_eq!(run(&tree, &args)["cached_files"], 0);
    assert_eq!(run(&tree, &args)["cached_files"], 307);
    // Another build of the library under the same name.
    std::fs::copy(crate::plugins::library("sidecar_plugin_cbor"), &installed).unwrap();
    let swapped = run(&tree, &args);
    assert_eq!(swapped["cached_files"], 0, "{swapped:#}");

    // Rewritten in place, size and modification time put back: the change time tells.
    std::fs::copy(crate::plugins::library("sidecar_plugin_rules"), &installed).unwrap();
    run(&tree, &args);
    assert_eq!(run(&tree, &args)["cached_files"], 307);
    let before = std::fs::metadata(&installed).unwrap();
    let bytes = std::fs::read(&installed).unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&installed)
        .unwrap();
    std::io::Write::write_all(&mut &file, &bytes).unwrap();
    file.set_modified(before.modified().unwrap()).unwrap();
    drop(file);
    let rewritten = run(&tree, &args);
    assert_eq!(rewritten["cached_files"], 0, "{rewritten:#}");
}

/// Runs `command` on `tree` as [`run`] does, and returns the report and stderr.
fn run_noting(tree: &Tree, args: &[&str]) -> (Json, String) {
    run_binary(Path::new(BIN), tree, args)
}

/// [`run_noting`] with the tool at `bin`.
fn run_binary(bin: &Path, tree: &Tree, args: &[&str]) -> (Json, String) {
    // A run that would hang (a FIFO opened blocking) fails the test instead.
    let out = assert_cmd::Command::new(bin)
        .args(args)
        .arg("--input")
        .arg(tree.path())
        .env("XDG_CACHE_HOME", tree.cache())
        .env("IMAGE_SIDECAR_TEST_CACHE_SLACK_NS", "0")
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert_exit(&out, 0, format_args!("{args:?}"));
    (
        parse(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn results_that_depend_on_the_image_follow_it() {
    let tree = collection();
    let args = ["validate", "--validators", "image-present"];
    let first = run(&tree, &args);
    let missing = |report: &Json, name: &str| {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["file_path"].as_str().unwrap().ends_with(name))
    };
    assert!(missing(&first, "IMG_0007.json"), "no image: {first:#}");
    assert!(!missing(&first, "IMG_0008.json"));
    std::fs::remove_file(tree.join("game2/IMG_0008.jpg")).unwrap();
    tree.write("game1/IMG_0007.png", b"png");
    let after = run(&tree, &args);
    assert!(missing(&after, "IMG_0008.json"), "photo removed: {after:#}");
    assert!(!missing(&after, "IMG_0007.json"), "photo added");
    assert_eq!(after["cached_files"], 305, "the other records still serve");
    let mut fresh = args.to_vec();
    fresh.push("--no-cache");
    assert_eq!(without_timings(after), without_timings(run(&tree, &fresh)));
}

#[test]
fn a_schema_reached_through_ref_is_part_of_the_key() {
    let tree = collection();
    let schemas = Tree::new();
    let schema = schemas.write(
        "schema.json",
        br#"{"type": "object", "properties": {"sidecar_info": {"$ref": "defs.json"}}}"#,
    );
    let defs = schemas.write("defs.json", br#"{"type": "object"}"#);
    let args = [
        "validate",
        "--validators",
        "json-schema",
        "--option",
        &format!("json-schema.schema={}", schema.display()),
    ];
    let first = run(&tree, &args);
    assert_eq!(first["invalid_files"], 1, "{first:#}");
    assert_eq!(run(&tree, &args)["cached_files"], 307);
    std::fs::write(&defs, br#"{"type": "string"}"#).unwrap();
    let after = run(&tree, &args);
    assert_eq!(
        after["cached_files"], 0,
        "a changed $ref target is a new cache"
    );
    assert!(after["invalid_files"].as_u64().unwrap() > 1, "{after:#}");
}

#[test]
fn a_cache_others_could_have_written_is_never_believed() {
    use std::os::unix::fs::PermissionsExt;
    let tree = collection();
    run(&tree, &["stats"]);
    let (file, _) = cache_file(&tree);
    let dir = file.parent().unwrap().to_path_buf();

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (report, stderr) = run_noting(&tree, &["stats"]);
    assert_eq!(report["cached_files"], 0, "a world-writable cache file");
    assert_eq!(stderr.lines().count(), 1, "said once: {stderr}");
    assert!(stderr.contains("writable by others"), "{stderr}");
    // The user's own directory holds it: the run replaced it with a private cache.
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "replaced: {mode:o}");
    let (report, stderr) = run_noting(&tree, &["stats"]);
    assert_eq!(report["cached_files"], 307, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let (report, stderr) = run_noting(&tree, &["stats"]);
    assert_eq!(report["cached_files"], 0, "a shared cache directory");
    assert!(stderr.contains(&dir.display().to_string()), "{stderr}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(run(&tree, &["stats"])["cached_files"], 307, "trusted again");

    if rustix::process::geteuid().is_root() {
        forged_by_nobody_in_a_shared_cache_directory();
        // As root, a record another user wrote is never read.
        std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
        let (report, stderr) = run_noting(&tree, &["stats"]);
        assert_eq!(report["cached_files"], 0);
        assert!(stderr.contains("owned by uid 65534"), "{stderr}");
        std::fs::remove_file(&file).unwrap();
        run(&tree, &["stats"]);
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        let (report, stderr) = run_noting(&tree, &["stats"]);
        assert_eq!(report["cached_files"], 0, "a directory of another user");
        assert!(stderr.contains("owned by uid 65534"), "{stderr}");
    }
}

#[test]
fn a_fifo_or_a_huge_file_in_the_cache_place_costs_nothing() {
    let tree = collection();
    run(&tree, &["stats"]);
    let (file, _) = cache_file(&tree);
    std::fs::remove_file(&file).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &file,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let (report, stderr) = run_noting(&tree, &["stats"]);
    assert_eq!(report["cached_files"], 0);
    assert!(stderr.contains("a FIFO"), "{stderr}");

    std::fs::remove_file(&file).unwrap();
    let huge = std::fs::File::create(&file).unwrap();
    huge.set_len(3 << 29).unwrap();
    drop(huge);
    let (report, stderr) = run_noting(&tree, &["stats"]);
    assert_eq!(report["cached_files"], 0);
    assert!(stderr.contains("over the limit"), "{stderr}");
}

#[test]
fn a_cache_that_cannot_be_written_is_said_once() {
    let tree = collection();
    // Past a one-block file-size limit the cache file cannot be written; the report is whole.
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 1 && exec \"$0\" stats --input \"$1\"")
        .arg(BIN)
        .arg(tree.path())
        .env("XDG_CACHE_HOME", tree.cache())
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .output()
        .unwrap();
    assert_exit(&out, 0, "stats under a file-size limit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("was not saved"), "{stderr}");
    assert_eq!(
        without_timings(parse(&out.stdout)),
        without_timings(run(&tree, &["stats", "--no-cache"]))
    );
}

/// As root: `nobody` runs the tool first with a shared, world-writable cache directory, so
/// the cache file root's run would use is one another user wrote.
fn forged_by_nobody_in_a_shared_cache_directory() {
    use std::os::unix::fs::PermissionsExt;
    let tree = collection();
    let readable = |p: &Path| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    readable(tree.path());
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
            "stats",
            "--input",
        ])
        .arg(tree.path())
        .env("XDG_CACHE_HOME", shared.path())
        .env("IMAGE_SIDECAR_TEST_CACHE_SLACK_NS", "0")
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .output()
        .expect("setpriv (util-linux) runs the tool as nobody");
    assert_exit(&out, 0, "stats as nobody");
    let out = Command::new(BIN)
        .args(["stats", "--input"])
        .arg(tree.path())
        .env("XDG_CACHE_HOME", shared.path())
        .env("IMAGE_SIDECAR_TEST_CACHE_SLACK_NS", "0")
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .output()
        .unwrap();
    assert_exit(&out, 0, "stats as root");
    assert_eq!(
        parse(&out.stdout)["cached_files"],
        0,
        "nobody's records unused"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("owned by uid 65534"), "{stderr}");
    // One line, the results cache's: a run without plugins does not look at the scan cache.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn another_build_of_the_tool_never_believes_this_ones_cache() {
    let tree = collection();
    run(&tree, &["stats"]);
    assert_eq!(run(&tree, &["stats"])["cached_files"], 307);
    // The same version built again (here: the same bytes as another file), with the same cache.
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join("image-sidecar-rust");
    std::fs::copy(BIN, &copy).unwrap();
    let (report, _) = run_binary(&copy, &tree, &["stats"]);
    assert_eq!(report["cached_files"], 0, "a cache of its own");
}
