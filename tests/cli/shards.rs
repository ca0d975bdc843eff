//! Past one machine: shards run at once on one tree add up, through `merge`, to exactly the
//! report of one run, for every command; each file belongs to one shard; the split is
//! balanced; `--shard auto/N` reads each scheduler's variable; `merge` refuses a bad set; the
//! deployment examples work as written.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value as Json;

use crate::harness::{assert_exit, comparable, data, parse, without_timings, Tree, BIN};

/// A tree with a directory far larger than the others, non-UTF-8 names, images without
/// sidecars, directory-level files, invalid files, XMP and legacy sidecars.
fn awkward_tree() -> Tree {
    let tree = Tree::new();
    let json = std::fs::read(data("examples/DSC01234.json")).unwrap();
    let other = std::fs::read(data("examples/IMG_0042.json")).unwrap();
    for i in 0..600 {
        tree.write(
            format!("huge/IMG_{i:04}.json"),
            if i % 3 == 0 { &other } else { &json },
        );
        tree.write(format!("huge/IMG_{i:04}.jpg"), b"jpg");
    }
    for d in 0..60 {
        for i in 0..4 {
            tree.write(format!("d{d:02}/{i}.json"), &json);
            if i != 3 {
                tree.write(format!("d{d:02}/{i}.JPG"), b"jpg");
            }
        }
        tree.write(format!("d{d:02}/lonely.jpg"), b"jpg");
        if d % 10 == 0 {
            tree.write(format!("d{d:02}/game_detection.json"), br#"{"games": []}"#);
            tree.write(format!("d{d:02}/broken.json"), b"{\"a\": ");
        }
    }
    tree.write(
        "xmp/IMG_0001.CR3.xmp",
        std::fs::read(data("xmp/IMG_0001.CR3.xmp")).unwrap(),
    );
    tree.write(
        "xmp/IMG_0001_01.CR3.xmp",
        std::fs::read(data("xmp/IMG_0001_01.CR3.xmp")).unwrap(),
    );
    tree.write("xmp/IMG_0001.CR3", b"raw");
    tree.write(
        "legacy/20250101_000001.000.bin",
        std::fs::read(data("examples/20250101_000001.000.bin")).unwrap(),
    );
    let odd = tree.path().join("odd");
    std::fs::create_dir_all(&odd).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"IMG_\xff\xfe.json");
    std::fs::write(odd.join(name), &json).unwrap();
    std::fs::write(
        odd.join(std::ffi::OsStr::from_bytes(b"IMG_\xff\xfe.jpg")),
        b"jpg",
    )
    .unwrap();
    tree
}

fn command(tree: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .arg("--input")
        .arg(tree)
        .arg("--no-cache")
        .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX");
    cmd
}

/// Runs `count` shards of `args` at once over `tree`; returns their reports (as text).
fn shards(tree: &Path, args: &[&str], count: u64) -> Vec<Vec<u8>> {
    let children: Vec<_> = (0..count)
        .map(|i| {
            command(tree, args)
                .arg("--shard")
                .arg(format!("{i}/{count}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert_exit(&out, 0, format_args!("{args:?}"));
            out.stdout
        })
        .collect()
}

/// `merge` over reports given on its standard input.
fn merge(reports: &[Vec<u8>]) -> std::process::Output {
    let mut child = Command::new(BIN)
        .arg("merge")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for report in reports {
            stdin.write_all(report).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

/// The report as pretty text, [`comparable`] across copies of the tree (key order counts).
fn comparable_text(report: Json, root: &Path) -> String {
    serde_json::to_string_pretty(&comparable(report, root)).unwrap()
}

#[test]
fn merged_shards_equal_one_run_for_every_reading_command() {
    let tree = awkward_tree();
    for args in [
        &["validate", "--all-results"][..],
        &["stats"],
        &["format-stats"],
        &["run", "health-check"],
    ] {
        let single = command(tree.path(), args).output().unwrap();
        assert_eq!(single.status.code(), Some(0));
        for count in [1, 3, 7] {
            let reports = shards(tree.path(), args, count);
            let merged = if count == 1 {
                reports[0].clone()
            } else {
                let out = merge(&reports);
                assert_exit(&out, 0, "");
                out.stdout
            };
            assert_eq!(
                comparable_text(parse(&merged), tree.path()),
                comparable_text(parse(&single.stdout), tree.path()),
                "{args:?} split {count} ways"
            );
        }
    }
}

#[test]
fn shards_convert_their_own_files_and_add_up_to_one_conversion() {
    let whole = awkward_tree();
    let split = awkward_tree();
    for tree in [&whole, &split] {
        // A conflict: a target with other values.
        tree.write(
            "d01/0.bin",
            std::fs::read(data("examples/20250101_000001.000.bin")).unwrap(),
        );
    }
    let args = ["convert", "--format", "bin"];
    let single = command(whole.path(), &args).output().unwrap();
    assert_eq!(single.status.code(), Some(0));
    let reports = shards(split.path(), &args, 3);
    let merged = merge(&reports);
    assert_eq!(merged.status.code(), Some(0));
    assert_eq!(
        comparable_text(parse(&merged.stdout), split.path()),
        comparable_text(parse(&single.stdout), whole.path())
    );
    assert_eq!(whole.files(), split.files(), "the same files in the end");
    let total: u64 = reports
        .iter()
        .map(|r| parse(r)["total_files"].as_u64().unwrap())
        .sum();
    assert_eq!(
        total,
        parse(&single.stdout)["total_files"].as_u64().unwrap()
    );
}

#[test]
fn the_split_is_balanced_and_every_file_in_one_shard() {
    let tree = awkward_tree();
    let reports = shards(tree.path(), &["validate", "--all-results"], 4);
    let mut seen = std::collections::BTreeSet::new();
    let counts: Vec<u64> = reports
        .iter()
        .map(|r| {
            let report = parse(r);
            for result in report["results"].as_array().unwrap() {
                let path = result["file_path"].as_str().unwrap().to_owned();
                assert!(seen.insert(path.clone()), "{path} in two shards");
            }
            report["total_files"].as_u64().unwrap()
        })
        .collect();
    let mean = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
    for count in &counts {
        assert!(
            (*count as f64) <= 1.2 * mean,
            "shard sizes {counts:?}: one holds more than 1.2 times the mean"
        );
    }
}

#[test]
fn auto_takes_the_index_from_each_scheduler() {
    let tree = Tree::examples();
    let expected = shards(tree.path(), &["stats"], 3);
    for (var, value, extra, index) in [
        ("JOB_COMPLETION_INDEX", "2", None, 2),
        (
            "SLURM_ARRAY_TASK_ID",
            "11",
            Some(("SLURM_ARRAY_TASK_MIN", "10")),
            1,
        ),
        ("AWS_BATCH_JOB_ARRAY_INDEX", "0", None, 0),
    ] {
        let mut cmd = command(tree.path(), &["stats", "--shard", "auto/3"]);
        cmd.env(var, value);
        if let Some((k, v)) = extra {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{var}");
        assert_eq!(
            without_timings(parse(&out.stdout)),
            without_timings(parse(&expected[index])),
            "{var}={value}"
        );
    }
    let none = command(tree.path(), &["stats", "--shard", "auto/3"])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&none.stderr);
    for var in [
        "JOB_COMPLETION_INDEX",
        "SLURM_ARRAY_TASK_ID",
        "AWS_BATCH_JOB_ARRAY_INDEX",
    ] {
        assert!(stderr.contains(var), "names {var}: {stderr}");
    }
    let out_of_range = command(tree.path(), &["stats", "--shard", "3/3"])
        .output()
        .unwrap();
    assert_eq!(out_of_range.status.code(), Some(2));
}

#[test]
fn merge_refuses_a_bad_set_naming_the_shard() {
    let tree = Tree::examples();
    let validate = shards(tree.path(), &["validate"], 3);
    let stats = shards(tree.path(), &["stats"], 3);
    let other_options = shards(tree.path(), &["validate", "--all-results"], 3);
    for (set, why) in [
        (
            vec![validate[0].clone(), validate[2].clone()],
            "shard 1 of 3 missing",
        ),
        (
            vec![
                validate[0].clone(),
                validate[1].clone(),
                validate[1].clone(),
                validate[2].clone(),
            ],
            "shard 1 of 3 is given twice",
        ),
        (
            vec![validate[0].clone(), stats[1].clone(), validate[2].clone()],
            "another run",
        ),
        (
            vec![
                validate[0].clone(),
                other_options[1].clone(),
                validate[2].clone(),
            ],
            "another run",
        ),
    ] {
        let out = merge(&set);
        assert_eq!(out.status.code(), Some(2), "{why}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let single = command(tree.path(), &["validate"]).output().unwrap();
    let out = merge(&[single.stdout]);
    assert_eq!(out.status.code(), Some(2), "a report that is no shard");
}

#[test]
fn the_slurm_example_runs_as_written_and_merges() {
    let tree = awkward_tree();
    let reports = Tree::new();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/slurm-array.sh");
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for task in 0..4 {
        let out = Command::new("bash")
            .arg(&script)
            .arg(tree.path())
            .arg(reports.path())
            .env("PATH", &path)
            .env("SLURM_ARRAY_TASK_COUNT", "4")
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_ARRAY_TASK_MIN", "0")
            .env("XDG_CACHE_HOME", reports.cache())
            .output()
            .unwrap();
        assert_exit(&out, 0, "");
    }
    let files: Vec<_> = (0..4)
        .map(|i| reports.join(format!("shard-{i}.json")))
        .collect();
    let merged = Command::new(BIN)
        .arg("merge")
        .args(&files)
        .output()
        .unwrap();
    assert_exit(&merged, 0, "");
    let single = command(tree.path(), &["validate"]).output().unwrap();
    assert_eq!(
        comparable_text(parse(&merged.stdout), tree.path()),
        comparable_text(parse(&single.stdout), tree.path())
    );
}

#[test]
fn the_kubernetes_manifest_has_what_an_indexed_job_needs() {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes-indexed-job.yaml"),
    )
    .unwrap();
    for needle in [
        "kind: Job",
        "completionMode: Indexed",
        "completions: 8",
        "auto/8",
        "$JOB_COMPLETION_INDEX",
        "persistentVolumeClaim",
        "restartPolicy: Never",
    ] {
        assert!(manifest.contains(needle), "the manifest lacks {needle}");
    }
    let batch: Json = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/aws-batch-job-definition.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(batch["containerProperties"]["command"][2]
        .as_str()
        .unwrap()
        .contains("$AWS_BATCH_JOB_ARRAY_INDEX"));
}

#[test]
fn a_pipeline_can_name_its_shard() {
    let tree = Tree::examples();
    let jobs = Tree::new();
    let pipeline = jobs.write(
        "sharded.toml",
        "shard = \"auto/3\"\n\n[[stage]]\nkind = \"stats\"\n",
    );
    let expected = shards(tree.path(), &["stats"], 3);
    let out = Command::new(BIN)
        .arg("run")
        .arg(&pipeline)
        .arg("--input")
        .arg(tree.path())
        .arg("--no-cache")
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert_exit(&out, 0, "");
    let report = parse(&out.stdout);
    assert_eq!(report["shard"]["index"], 1);
    assert_eq!(
        report["stages"]["stats"]["total_sidecars"],
        parse(&expected[1])["total_sidecars"]
    );
}

/// A tree of valid and invalid sidecars, enough that each of three shards lists some.
fn mixed_tree() -> Tree {
    let tree = Tree::new();
    let json = std::fs::read(data("examples/DSC01234.json")).unwrap();
    for i in 0..40 {
        tree.write(format!("g{}/IMG_{i:04}.json", i % 4), &json);
        tree.write(format!("g{}/BAD_{i:04}.json", i % 4), b"{\"a\": ");
    }
    tree
}

#[test]
fn merge_refuses_tampered_reports_naming_the_report_and_the_field() {
    let tree = mixed_tree();
    let reports: Vec<Json> = shards(tree.path(), &["validate", "--all-results"], 3)
        .iter()
        .map(|r| parse(r))
        .collect();
    assert_exit(&merge(&to_text(&reports)), 0, "the untouched set merges");
    let invalid_entry = |report: &Json| {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["is_valid"] == false)
            .unwrap()
            .clone()
    };
    type Tamper = Box<dyn Fn(&mut Vec<Json>)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "a count raised",
            Box::new(|r| {
                r[1]["valid_files"] = Json::from(r[1]["valid_files"].as_u64().unwrap() + 1000)
            }),
            "/total_files",
        ),
        (
            "a string for a count",
            Box::new(|r| r[0]["valid_files"] = Json::from("lots")),
            "where a number belongs",
        ),
        (
            "a negative count",
            Box::new(|r| r[2]["warnings"] = Json::from(-5)),
            "is not a count",
        ),
        (
            "a count past every bound",
            Box::new(|r| r[2]["warnings"] = Json::from(u64::MAX)),
            "is not a count",
        ),
        (
            "a file listed twice",
            Box::new(move |r| {
                let entry = invalid_entry(&r[0]);
                let results = r[0]["results"].as_array_mut().unwrap();
                results.push(entry);
                for key in ["total_files", "invalid_files"] {
                    r[0][key] = Json::from(r[0][key].as_u64().unwrap() + 1);
                }
            }),
            "listed twice",
        ),
        (
            "a file of another shard",
            Box::new(move |r| {
                let entry = invalid_entry(&r[1]);
                r[1]["results"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|e| *e != entry);
                r[0]["results"].as_array_mut().unwrap().push(entry);
                for key in ["total_files", "invalid_files"] {
                    r[0][key] = Json::from(r[0][key].as_u64().unwrap() + 1);
                    r[1][key] = Json::from(r[1][key].as_u64().unwrap() - 1);
                }
            }),
            "belongs to another shard",
        ),
        (
            "a huge shard count",
            Box::new(|r| {
                for report in r.iter_mut() {
                    report["shard"]["count"] = Json::from(1_000_000_000_000u64);
                }
            }),
            "cannot be",
        ),
        (
            "no generator",
            Box::new(|r| {
                r[1].as_object_mut().unwrap().shift_remove("generator");
            }),
            "/generator",
        ),
    ];
    for (what, tamper, says) in cases {
        let mut set = reports.clone();
        tamper(&mut set);
        let out = merge(&to_text(&set));
        assert_eq!(out.status.code(), Some(2), "{what}");
        assert!(out.stdout.is_empty(), "{what}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{what}: {stderr}");
        assert!(
            stderr.contains("stdin #"),
            "{what}: names the report: {stderr}"
        );
    }
}

fn to_text(reports: &[Json]) -> Vec<Vec<u8>> {
    reports
        .iter()
        .map(|r| serde_json::to_vec(r).unwrap())
        .collect()
}
