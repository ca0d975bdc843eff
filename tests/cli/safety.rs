//! Never losing a sidecar in the real world: files rewritten during a conversion, report paths
//! that point at the data, permissions and owners, symbolic links out of the tree, two runs at
//! once, a file-size limit, oversized files and FIFOs, parked files of a killed run, and a
//! chaos run of kills and a concurrent writer.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use sidecar_engine::Codec;

use crate::harness::{data, parse, result_for, Tree, BIN};

const HOOK: &str = "IMAGE_SIDECAR_TEST_HOOK_BEFORE_REMOVAL";

fn sidecar() -> Vec<u8> {
    std::fs::read(data("examples/DSC01234.json")).unwrap()
}

/// Another valid sidecar, with other values.
fn other_sidecar() -> Vec<u8> {
    std::fs::read(data("examples/IMG_0042.json")).unwrap()
}

/// A tree of `n` photos with JSON sidecars.
fn photos(n: usize) -> Tree {
    let tree = Tree::new();
    for i in 0..n {
        tree.write(format!("IMG_{i:04}.json"), sidecar());
        tree.write(format!("IMG_{i:04}.jpg"), b"jpg");
    }
    tree
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("RUST_LOG").env_remove(HOOK);
    cmd
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `marker` field of the document in a sidecar of any built-in format.
fn marker(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let codec: &dyn Codec = match path.extension()?.to_str()? {
        "bin" => &sidecar_binary::BinaryCodec,
        _ => &sidecar_json::JsonCodec,
    };
    let value = codec.decode(&bytes).ok()?.value;
    value.view().get("marker")?.as_u64()
}

fn with_marker(n: u64) -> Vec<u8> {
    let mut doc: Json = serde_json::from_slice(&sidecar()).unwrap();
    doc["marker"] = Json::from(n);
    serde_json::to_vec_pretty(&doc).unwrap()
}

#[test]
fn a_source_rewritten_during_conversion_is_kept_and_converted_next_time() {
    let tree = photos(6);
    let new = tree.write("../new-content.json", other_sidecar());
    // Between the conversions and the removal of their sources: one sidecar is rewritten in
    // place, another replaced by a rename, as photo pipelines do.
    let hook = format!(
        "cp {new} {dir}/IMG_0001.json && cp {new} {dir}/.swap && mv {dir}/.swap {dir}/IMG_0002.json",
        new = new.display(),
        dir = tree.path().display()
    );
    let out = command(&["convert", "--format", "bin", "--input"])
        .arg(tree.path())
        .env(HOOK, &hook)
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let report = parse(&out.stdout);
    assert_eq!(report["converted"], 4, "{report:#}");
    assert_eq!(report["skipped"], 2, "{report:#}");
    for name in ["IMG_0001", "IMG_0002"] {
        let entry = result_for(&report, "results", &format!("{name}.json"));
        assert_eq!(entry["status"], "skipped");
        assert!(
            entry["reason"]
                .as_str()
                .unwrap()
                .contains("changed during conversion"),
            "{entry}"
        );
        assert_eq!(
            std::fs::read(tree.join(format!("{name}.json"))).unwrap(),
            other_sidecar(),
            "the edit to {name} survives"
        );
        assert!(
            !tree.join(format!("{name}.bin")).exists(),
            "the stale target of {name} is dropped"
        );
    }
    assert!(!tree.join("IMG_0003.json").exists() && tree.join("IMG_0003.bin").exists());

    let rerun = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(rerun["converted"], 2, "{rerun:#}");
    let written = sidecar_json::JsonCodec
        .decode(&other_sidecar())
        .unwrap()
        .value;
    let bin = std::fs::read(tree.join("IMG_0001.bin")).unwrap();
    assert_eq!(
        sidecar_binary::BinaryCodec.decode(&bin).unwrap().value,
        written,
        "the next run converts the new content"
    );
    assert!(!tree.files().iter().any(|f| f.contains(".image-sidecar-")));
}

#[test]
fn an_in_place_upgrade_never_replaces_a_file_rewritten_meanwhile() {
    let tree = Tree::new();
    let legacy = std::fs::read(data("examples/20250101_000001.000.bin")).unwrap();
    tree.write("a/20250101_000001.000.bin", &legacy);
    tree.write("a/20250101_000001.000.jpg", b"jpg");
    tree.write("b/20250101_000001.000.bin", &legacy);
    tree.write("b/20250101_000001.000.jpg", b"jpg");
    let edited = tree.write("../edited.bin", [&legacy[..], b" "].concat());
    let hook = format!(
        "cp {} {}",
        edited.display(),
        tree.join("a/20250101_000001.000.bin").display()
    );
    let out = command(&["convert", "--format", "bin", "--input"])
        .arg(tree.path())
        .env(HOOK, hook)
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let report = parse(&out.stdout);
    assert_eq!(report["converted"], 1, "{report:#}");
    assert_eq!(
        std::fs::read(tree.join("a/20250101_000001.000.bin")).unwrap(),
        std::fs::read(&edited).unwrap(),
        "the rewrite stays"
    );
    let upgraded = std::fs::read(tree.join("b/20250101_000001.000.bin")).unwrap();
    assert_ne!(upgraded, legacy, "the untouched one is upgraded");
    assert!(!tree.files().iter().any(|f| f.contains(".image-sidecar-")));
}

#[test]
fn reports_never_land_on_the_data() {
    let tree = photos(3);
    let before = tree.snapshot();
    let onto_sidecar = tree.join("IMG_0001.json");
    let onto_target = tree.join("IMG_0002.bin");
    let onto_image = tree.join("IMG_0000.jpg");
    for args in [
        vec!["validate", "--output", onto_sidecar.to_str().unwrap()],
        vec![
            "convert",
            "--format",
            "bin",
            "--output",
            onto_target.to_str().unwrap(),
        ],
        vec!["stats", "--output", onto_image.to_str().unwrap()],
        vec![
            "convert",
            "--format",
            "bin",
            "--output",
            "/no/such/dir/r.json",
        ],
    ] {
        let out = command(&args)
            .arg("--input")
            .arg(tree.path())
            .output()
            .unwrap();
        assert_eq!(code(&out), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let message = stderr(&out);
        assert!(message.contains("the report"), "{args:?}: {message}");
        assert!(
            message.contains(args.last().unwrap()),
            "names the path: {message}"
        );
        assert_eq!(tree.snapshot(), before, "{args:?} changed the tree");
    }
    // A report inside the tree reached through a link is found by the walk and refused too.
    let elsewhere = Tree::new();
    let report = elsewhere.write("r.json", b"{}");
    std::os::unix::fs::symlink(elsewhere.path(), tree.join("linked")).unwrap();
    let out = command(&["convert", "--format", "bin", "--output"])
        .arg(&report)
        .arg("--input")
        .arg(tree.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert_eq!(std::fs::read(&report).unwrap(), b"{}");
    assert!(tree.join("IMG_0001.json").exists(), "nothing converted");
}

#[test]
fn a_pipeline_report_on_the_data_is_refused_by_check_and_run() {
    let tree = photos(2);
    let before = tree.snapshot();
    let jobs = Tree::new();
    let pipeline = jobs.write(
        "p.toml",
        format!(
            "description = \"d\"\nreport = \"{}\"\n\n[input]\nroot = \"{}\"\n\n[[stage]]\nkind = \"convert\"\nto = \"bin\"\n",
            tree.join("IMG_0001.bin").display(),
            tree.path().display()
        ),
    );
    let out = command(&["pipelines", "check"])
        .arg(&pipeline)
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(1));
    let check = parse(&out.stdout);
    assert_eq!(check["valid"], false);
    let error = &check["errors"][0];
    assert_eq!(error["line"], 2, "{check:#}");
    assert_eq!(error["column"], 10);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("inside the input"));

    let missing = jobs.write(
        "q.toml",
        "report = \"no/such/dir/r.json\"\n\n[[stage]]\nkind = \"stats\"\n",
    );
    let out = command(&["pipelines", "check"])
        .arg(&missing)
        .output()
        .unwrap();
    let check = parse(&out.stdout);
    assert_eq!(check["errors"][0]["line"], 1, "{check:#}");
    assert!(check["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));

    let out = command(&["run"]).arg(&pipeline).output().unwrap();
    assert_eq!(code(&out), Some(2));
    assert_eq!(tree.snapshot(), before);
}

#[test]
fn an_existing_file_that_is_not_a_report_is_never_overwritten() {
    let tree = photos(1);
    let outside = Tree::new();
    let notes = outside.write("notes.txt", b"my notes");
    let out = command(&["validate", "--output"])
        .arg(&notes)
        .arg("--input")
        .arg(tree.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("not a report"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&notes).unwrap(), b"my notes");

    // A sidecar outside the input, and a JSON object that no run of this tool wrote, are
    // not earlier reports either, whatever they are named.
    let sidecar = outside.write("b/IMG_1.json", sidecar());
    let object = outside.write("report.json", br#"{"total_files": 1}"#);
    let array = outside.write("list.json", br#"["image-sidecar-rust 0.1"]"#);
    for path in [&sidecar, &object, &array] {
        let before = std::fs::read(path).unwrap();
        let out = command(&["validate", "--output"])
            .arg(path)
            .arg("--input")
            .arg(tree.path())
            .output()
            .unwrap();
        assert_eq!(code(&out), Some(2), "{}: {}", path.display(), stderr(&out));
        assert!(stderr(&out).contains("not a report"), "{}", stderr(&out));
        assert_eq!(std::fs::read(path).unwrap(), before);
    }
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[test]
fn converted_files_keep_permissions_owner_and_modification_time() {
    let tree = photos(2);
    let source = tree.join("IMG_0000.json");
    std::fs::set_permissions(&source, std::fs::Permissions::from_mode(0o664)).unwrap();
    if is_root() {
        std::os::unix::fs::chown(&source, Some(65534), Some(65534)).unwrap();
    }
    let before = std::fs::metadata(&source).unwrap();
    let legacy = tree.write(
        "IMG_0001.bin",
        std::fs::read(data("examples/20250101_000001.000.bin")).unwrap(),
    );
    std::fs::remove_file(tree.join("IMG_0001.json")).unwrap();
    std::fs::set_permissions(&legacy, std::fs::Permissions::from_mode(0o640)).unwrap();
    let legacy_before = std::fs::metadata(&legacy).unwrap();
    let reports = Tree::new();
    let report = reports.join("r.json");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 027 && exec {BIN} convert --format bin --input {} --output {}",
            tree.path().display(),
            report.display()
        ))
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(parse(&std::fs::read(&report).unwrap())["converted"], 2);

    let target = std::fs::metadata(tree.join("IMG_0000.bin")).unwrap();
    assert_eq!(target.permissions().mode() & 0o7777, 0o664);
    assert_eq!(
        (target.uid(), target.gid()),
        (before.uid(), before.gid()),
        "owner and group kept (chown happens when running as root)"
    );
    assert_eq!(
        (target.mtime(), target.mtime_nsec()),
        (before.mtime(), before.mtime_nsec())
    );
    let upgraded = std::fs::metadata(&legacy).unwrap();
    assert_ne!(upgraded.ino(), legacy_before.ino(), "upgraded in place");
    assert_eq!(upgraded.permissions().mode() & 0o7777, 0o640);
    assert_eq!(upgraded.mtime(), legacy_before.mtime());
    let report_mode = std::fs::metadata(&report).unwrap().permissions().mode() & 0o777;
    assert_eq!(report_mode, 0o640, "reports follow the umask");
}

#[test]
fn nothing_outside_the_input_changes_and_links_stay_links() {
    let base = Tree::new();
    base.write("tree/IMG_0000.json", sidecar());
    base.write("tree/IMG_0000.jpg", b"jpg");
    base.write("outside/ext/IMG_0001.json", sidecar());
    base.write("outside/ext/IMG_0001.jpg", b"jpg");
    base.write("tree/real/IMG_0003.json", sidecar());
    std::os::unix::fs::symlink("../outside/ext", base.join("tree/ext")).unwrap();
    std::os::unix::fs::symlink("real/IMG_0003.json", base.join("tree/IMG_0002.json")).unwrap();
    base.write("tree/IMG_0002.jpg", b"jpg");
    base.write("tree/real/IMG_0003.jpg", b"jpg");
    let outside_before = std::fs::read_dir(base.join("outside/ext")).unwrap().count();
    let out = command(&["convert", "--format", "bin", "--input"])
        .arg(base.join("tree"))
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let report = parse(&out.stdout);
    assert_eq!(report["converted"], 2, "{report:#}");
    let entry = result_for(&report, "results", "ext/IMG_0001.json");
    assert_eq!(entry["status"], "skipped");
    assert!(entry["reason"]
        .as_str()
        .unwrap()
        .contains("outside the input root"));
    let link = result_for(&report, "results", "IMG_0002.json");
    assert!(link["reason"].as_str().unwrap().contains("symbolic link"));
    assert!(base.join("outside/ext/IMG_0001.json").exists());
    assert!(!base.join("outside/ext/IMG_0001.bin").exists());
    assert_eq!(
        std::fs::read_dir(base.join("outside/ext")).unwrap().count(),
        outside_before
    );
    let meta = std::fs::symlink_metadata(base.join("tree/IMG_0002.json")).unwrap();
    assert!(meta.file_type().is_symlink(), "the link is still a link");
    assert!(base.join("tree/IMG_0000.bin").exists());
    assert!(base.join("tree/real/IMG_0003.bin").exists());
}

/// Waits (bounded) for a file to appear.
fn wait_for(path: &Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn one_converting_run_per_tree() {
    let base = Tree::new();
    for dir in ["inner", "inner/deeper", "other"] {
        base.write(format!("{dir}/IMG_0000.json"), sidecar());
        base.write(format!("{dir}/IMG_0000.jpg"), b"jpg");
    }
    let signals = Tree::new();
    let (ready, go) = (signals.join("ready"), signals.join("go"));
    // The first run holds its tree while its hook waits for the test's go.
    let hook = format!(
        "touch {}; while [ ! -e {} ]; do sleep 0.02; done",
        ready.display(),
        go.display()
    );
    let first = command(&["convert", "--format", "bin", "--input"])
        .arg(base.join("inner"))
        .env(HOOK, hook)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&ready);
    for busy in [
        base.join("inner"),
        base.path().to_path_buf(),
        base.join("inner/deeper"),
    ] {
        let out = command(&["convert", "--format", "rkyv", "--input"])
            .arg(&busy)
            .output()
            .unwrap();
        assert_eq!(code(&out), Some(2), "{}", busy.display());
        let message = stderr(&out);
        assert!(message.contains("busy"), "{message}");
        assert!(
            message.contains(&format!("process {}", first.id())),
            "names the process: {message}"
        );
    }
    assert!(
        base.join("inner/deeper/IMG_0000.json").exists(),
        "the refused run changed nothing"
    );
    let sibling = command(&["convert", "--format", "rkyv", "--input"])
        .arg(base.join("other"))
        .output()
        .unwrap();
    assert_eq!(code(&sibling), Some(0), "a disjoint tree is free");
    let validate = command(&["validate", "--input"])
        .arg(base.path())
        .output()
        .unwrap();
    assert_eq!(code(&validate), Some(0), "reading runs are not held up");
    std::fs::write(&go, b"").unwrap();
    let out = first.wait_with_output().unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(parse(&out.stdout)["converted"], 2);
    assert_eq!(parse(&out.stdout)["removed_temporaries"], 0);
}

#[test]
fn a_file_size_limit_fails_files_not_the_run() {
    let tree = photos(2);
    let mut big: Json = serde_json::from_slice(&sidecar()).unwrap();
    big["padding"] = Json::from("x".repeat(20_000));
    tree.write("IMG_0001.json", serde_json::to_vec(&big).unwrap());
    let before = tree.snapshot();
    let mut cmd = command(&["convert", "--format", "bin", "--input"]);
    cmd.arg(tree.path());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = rustix::process::Rlimit {
                current: Some(8000),
                maximum: Some(8000),
            };
            rustix::process::setrlimit(rustix::process::Resource::Fsize, limit)?;
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        code(&out),
        Some(0),
        "not killed by SIGXFSZ: {}",
        stderr(&out)
    );
    let report = parse(&out.stdout);
    assert_eq!(report["converted"], 1, "{report:#}");
    let entry = result_for(&report, "results", "IMG_0001.json");
    assert_eq!(entry["status"], "failed");
    assert!(
        entry["reason"].as_str().unwrap().contains("too large"),
        "{entry}"
    );
    assert_eq!(
        std::fs::read(tree.join("IMG_0001.json")).unwrap(),
        before[Path::new("IMG_0001.json")]
    );
    assert!(!tree.files().iter().any(|f| f.contains(".image-sidecar-")));
}

#[test]
fn oversized_files_and_fifos_are_reported_not_read() {
    let tree = photos(2);
    let mut big: Json = serde_json::from_slice(&sidecar()).unwrap();
    big["padding"] = Json::from("x".repeat(5_000));
    tree.write("IMG_0001.json", serde_json::to_vec(&big).unwrap());
    rustix::fs::mknodat(
        rustix::fs::CWD,
        tree.join("IMG_0009.json"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let report = tree.report(&["validate", "--max-file-size", "4KiB"]);
    assert_eq!(report["invalid_files"], 2, "{report:#}");
    let big = result_for(&report, "results", "IMG_0001.json");
    assert!(
        big["error"]
            .as_str()
            .unwrap()
            .contains("over the size limit of 4096 bytes"),
        "{big}"
    );
    let fifo = result_for(&report, "results", "IMG_0009.json");
    assert!(fifo["error"].as_str().unwrap().contains("a FIFO"), "{fifo}");
    let convert = tree.report(&["convert", "--format", "bin", "--max-file-size", "4KiB"]);
    assert_eq!(convert["converted"], 1, "{convert:#}");
    assert!(tree.join("IMG_0001.json").exists());
    let out = tree.run(&["validate", "--max-file-size", "3GiB"]);
    assert_eq!(
        code(&out),
        Some(2),
        "the limit is bounded by what the formats address"
    );
}

#[test]
fn parked_files_of_a_killed_run_are_put_back_or_judged() {
    let tree = photos(3);
    // Killed after parking IMG_0000.json: its name is free, it goes back and is converted.
    std::fs::rename(
        tree.join("IMG_0000.json"),
        tree.join(".image-sidecar-old.IMG_0000.json"),
    )
    .unwrap();
    // Parked, and a new file took the name: kept and reported.
    tree.write(".image-sidecar-old.IMG_0001.json", other_sidecar());
    // Parked copy equal to what is there: removed.
    tree.write(".image-sidecar-old.IMG_0002.json", sidecar());
    let validate = tree.report(&["validate"]);
    assert_eq!(
        validate["invalid_files"], 3,
        "reading runs list parked files: {validate:#}"
    );
    assert!(
        result_for(&validate, "results", ".image-sidecar-old.IMG_0000.json")["error"]
            .as_str()
            .unwrap()
            .contains("interrupted conversion")
    );
    let report = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(report["restored_files"], 1, "{report:#}");
    assert_eq!(report["converted"], 2, "{report:#}");
    assert_eq!(report["conflicts"], 1, "{report:#}");
    let kept = result_for(&report, "results", ".image-sidecar-old.IMG_0001.json");
    assert!(kept["reason"].as_str().unwrap().contains("interrupted run"));
    // Its source stays until the user settles which copy is right.
    let blocked = result_for(&report, "results", "/IMG_0001.json");
    assert!(
        blocked["reason"]
            .as_str()
            .unwrap()
            .contains("is in the way"),
        "{blocked}"
    );
    assert!(tree.join("IMG_0001.json").exists());
    assert!(tree.join("IMG_0000.bin").exists());
    assert!(tree.join(".image-sidecar-old.IMG_0001.json").exists());
    assert!(!tree.join(".image-sidecar-old.IMG_0002.json").exists());
}

/// Kills conversions again and again while a writer keeps rewriting sidecars; afterwards every
/// writer's last write is in the source or in the target, and nothing else is in the tree.
#[test]
fn chaos_kills_and_a_concurrent_writer_lose_no_write() {
    const FILES: usize = 2000;
    let tree = photos(FILES);
    let root = tree.path().to_path_buf();
    let last: Arc<Mutex<Vec<Option<u64>>>> = Arc::new(Mutex::new(vec![None; FILES]));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (last, stop, root) = (last.clone(), stop.clone(), root.clone());
        std::thread::spawn(move || {
            let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let i = (seed >> 33) as usize % FILES;
                n += 1;
                let path = root.join(format!("IMG_{i:04}.json"));
                let bytes = with_marker(n);
                // Hold the record while writing, so that the record and the file agree.
                let mut last = last.lock().unwrap();
                if n.is_multiple_of(2) {
                    std::fs::write(&path, &bytes).unwrap();
                } else {
                    let swap = root.join(format!(".writer-{i}"));
                    std::fs::write(&swap, &bytes).unwrap();
                    std::fs::rename(&swap, &path).unwrap();
                }
                last[i] = Some(n);
                drop(last);
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    for round in 0..6u64 {
        let mut child = command(&["convert", "--format", "bin", "--workers", "2", "--input"])
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(40 + round * 70));
        let _ = child.kill();
        let _ = child.wait();
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let mut report = Json::Null;
    for _ in 0..2 {
        let out = command(&["convert", "--format", "bin", "--input"])
            .arg(&root)
            .output()
            .unwrap();
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
        report = parse(&out.stdout);
    }
    // A file parked at a kill whose name the writer then took again stays, as a conflict.
    let parked_conflicts: Vec<String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "conflict")
        .filter_map(|r| r["file_path"].as_str())
        .filter(|p| p.contains(".image-sidecar-old."))
        .map(|p| {
            Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let original = sidecar_json::JsonCodec.decode(&sidecar()).unwrap().value;
    let last = last.lock().unwrap();
    for (i, written) in last.iter().enumerate() {
        let json = root.join(format!("IMG_{i:04}.json"));
        let bin = root.join(format!("IMG_{i:04}.bin"));
        assert!(
            json.exists() || bin.exists(),
            "IMG_{i:04}: both copies gone"
        );
        match written {
            Some(n) => assert!(
                marker(&json) == Some(*n) || marker(&bin) == Some(*n),
                "IMG_{i:04}: the last write ({n}) is lost"
            ),
            None => {
                let bin_value = std::fs::read(&bin)
                    .ok()
                    .and_then(|b| sidecar_binary::BinaryCodec.decode(&b).ok())
                    .map(|d| d.value);
                assert!(
                    std::fs::read(&json).ok() == Some(sidecar())
                        || bin_value.as_ref() == Some(&original),
                    "IMG_{i:04}: never written, yet changed"
                );
            }
        }
    }
    let strays: Vec<String> = tree
        .files()
        .into_iter()
        .filter(|f| {
            !(f.ends_with(".json") || f.ends_with(".bin") || f.ends_with(".jpg"))
                || f.starts_with('.')
        })
        .filter(|f| !parked_conflicts.contains(f))
        .collect();
    assert!(strays.is_empty(), "left in the tree: {strays:?}");
}

#[test]
fn an_input_that_would_block_or_is_the_kernels_is_refused() {
    let dir = Tree::new();
    let fifo = dir.join("input.fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let fifo = fifo.to_str().unwrap();
    let tree = photos(1);
    let tree_path = tree.path().to_str().unwrap();
    let schema_option = format!("json-schema.schema={fifo}");
    for args in [
        &["validate", "--input", fifo][..],
        &["stats", "--input", fifo],
        &["format-stats", "--input", fifo],
        &["inspect", fifo],
        &["convert", "--format", "bin", "--input", fifo],
        &["run", "health-check", "--input", fifo],
        // A pipeline file and a schema that are FIFOs, with a real tree as the input.
        &["run", fifo, "--input", tree_path],
        &[
            "validate",
            "--validators",
            "json-schema",
            "--option",
            &schema_option,
            "--input",
            tree_path,
        ],
    ] {
        // A run that opened the FIFO would wait for a writer: the timeout fails the test.
        let out = assert_cmd::Command::new(BIN)
            .args(args)
            .env("XDG_CACHE_HOME", dir.cache())
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        assert_eq!(code(&out), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("a FIFO"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    for pseudo in ["/proc", "/proc/self", "/sys"] {
        if !Path::new(pseudo).exists() {
            continue;
        }
        let out = command(&["stats", "--input", pseudo]).output().unwrap();
        assert_eq!(code(&out), Some(2), "{pseudo}");
        assert!(
            stderr(&out).contains("a file system of the kernel's"),
            "{pseudo}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn the_walk_stays_on_the_inputs_file_system_unless_asked() {
    let tree = photos(2);
    std::os::unix::fs::symlink("/proc/self", tree.join("proc")).unwrap();
    let report = parse(
        &command(&["validate"])
            .arg("--input")
            .arg(tree.path())
            .output()
            .unwrap()
            .stdout,
    );
    let entry = result_for(&report, "results", "proc");
    assert!(
        entry["error"]
            .as_str()
            .unwrap()
            .contains("on another file system"),
        "{report:#}"
    );
    assert_eq!(
        report["total_files"], 3,
        "two sidecars and the mount point not entered"
    );
    std::fs::remove_file(tree.join("proc")).unwrap();

    // Crossing, where a file system of another device can be had without mounting one.
    let Ok(other) = tempfile::tempdir_in("/dev/shm") else {
        return;
    };
    let device = |p: &Path| std::fs::metadata(p).unwrap().dev();
    if device(other.path()) == device(tree.path()) {
        return;
    }
    std::fs::write(other.path().join("IMG_9000.json"), sidecar()).unwrap();
    std::os::unix::fs::symlink(other.path(), tree.join("elsewhere")).unwrap();
    let stats = |extra: &[&str]| {
        let out = command(&["stats", "--no-cache"])
            .args(extra)
            .arg("--input")
            .arg(tree.path())
            .output()
            .unwrap();
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
        parse(&out.stdout)
    };
    let staying = stats(&[]);
    assert_eq!(staying["total_sidecars"], 2, "{staying:#}");
    assert!(staying["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("--cross-file-systems"));
    let crossing = stats(&["--cross-file-systems"]);
    assert_eq!(crossing["total_sidecars"], 3, "{crossing:#}");
}

/// A photo whose JSON and Binary sidecars disagree: the Binary is made from `other_sidecar`,
/// the JSON is `sidecar`. The Binary is written first and made older, and readable only by
/// its owner, so that where it ends up shows.
fn disagreeing() -> Tree {
    let tree = Tree::new();
    tree.write("IMG_0001.jpg", b"jpg");
    tree.write("IMG_0001.json", other_sidecar());
    let made = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(made["converted"], 1, "{made:#}");
    let bin = tree.join("IMG_0001.bin");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o600)).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&bin)
        .unwrap()
        .set_modified(old)
        .unwrap();
    tree.write("IMG_0001.json", sidecar());
    tree
}

#[test]
fn prefer_resolves_a_conflict_and_sets_the_loser_aside_whole() {
    let tree = disagreeing();
    let (json, bin) = (tree.join("IMG_0001.json"), tree.join("IMG_0001.bin"));
    let old_bin = std::fs::read(&bin).unwrap();
    let conflict = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(
        conflict["conflicts"], 1,
        "no --prefer: a conflict: {conflict:#}"
    );
    let before = tree.snapshot();
    let dry = tree.report(&[
        "convert",
        "--format",
        "bin",
        "--prefer",
        "newer",
        "--dry-run",
    ]);
    assert_eq!(dry["superseded"], 1, "{dry:#}");
    assert_eq!(tree.snapshot(), before, "a dry run changes nothing");

    // The JSON is newer: its values win, the old Binary is set aside with its bytes and mode.
    let newer = tree.report(&["convert", "--format", "bin", "--prefer", "newer"]);
    assert_eq!(
        (newer["converted"].clone(), newer["conflicts"].clone()),
        (1.into(), 0.into()),
        "{newer:#}"
    );
    let kept = tree.join(".image-sidecar-superseded.IMG_0001.bin");
    assert_eq!(
        newer["superseded_files"][0]["kept_as"],
        kept.to_str().unwrap()
    );
    assert_eq!(std::fs::read(&kept).unwrap(), old_bin);
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !json.exists(),
        "the source is removed once its conversion is checked"
    );
    let out = Command::new(BIN).arg("inspect").arg(&bin).output().unwrap();
    let now = parse(&out.stdout);
    let expected: Json = serde_json::from_slice(&sidecar()).unwrap();
    assert_eq!(now["value"], expected, "{now:#}");
    let stats = tree.report(&["stats", "--no-cache"]);
    assert_eq!(
        stats["total_sidecars"], 1,
        "the set-aside file is no sidecar: {stats:#}"
    );
    assert!(stats["superseded_files"][0]
        .as_str()
        .unwrap()
        .ends_with(".image-sidecar-superseded.IMG_0001.bin"));

    // A second conflict of the same photo: the earlier set-aside copy is in the way, and stays.
    tree.write("IMG_0001.json", other_sidecar());
    let blocked = tree.report(&["convert", "--format", "bin", "--prefer", "source"]);
    assert_eq!(blocked["conflicts"], 1, "{blocked:#}");
    assert!(result_for(&blocked, "results", "IMG_0001.json")["reason"]
        .as_str()
        .unwrap()
        .contains("is in the way"));
    assert_eq!(std::fs::read(&kept).unwrap(), old_bin);
}

#[test]
fn prefer_target_keeps_the_target_and_sets_the_source_aside() {
    let tree = disagreeing();
    let (json, bin) = (tree.join("IMG_0001.json"), tree.join("IMG_0001.bin"));
    let old_bin = std::fs::read(&bin).unwrap();
    let report = tree.report(&["convert", "--format", "bin", "--prefer", "target"]);
    assert_eq!(report["converted"], 0, "{report:#}");
    assert_eq!(report["superseded"], 1);
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        old_bin,
        "the target is untouched"
    );
    assert!(!json.exists());
    assert_eq!(
        std::fs::read(tree.join(".image-sidecar-superseded.IMG_0001.json")).unwrap(),
        sidecar(),
        "the source is kept whole"
    );
    let again = tree.report(&["convert", "--format", "bin", "--prefer", "target"]);
    assert_eq!(
        (again["converted"].clone(), again["superseded"].clone()),
        (0.into(), 0.into()),
        "{again:#}"
    );

    // The same choice from a pipeline; a misspelt one is refused at its place.
    let work = Tree::new();
    let pipeline = work.write(
        "p.toml",
        "[[stage]]\nkind = \"convert\"\nto = \"bin\"\nprefer = \"newest\"\n",
    );
    let out = Command::new(BIN)
        .args(["pipelines", "check", pipeline.to_str().unwrap()])
        .output()
        .unwrap();
    let checked = parse(&out.stdout);
    assert_eq!(checked["errors"][0]["line"], 4, "{checked:#}");
    assert!(checked["errors"][0]["hint"]
        .as_str()
        .unwrap()
        .contains("newer"));
}

#[test]
fn stats_and_validate_say_when_sidecars_of_one_name_disagree() {
    let tree = disagreeing();
    tree.write("IMG_0002.jpg", b"jpg");
    tree.write("IMG_0002.json", sidecar());
    let copy = tree.report(&["convert", "--format", "bin", "--keep-source"]);
    assert_eq!(
        copy["converted"], 1,
        "IMG_0002.bin agrees with its JSON: {copy:#}"
    );
    // Fresh, then folded from the results cache twice: the same answer.
    for args in [&["stats", "--no-cache"][..], &["stats"][..], &["stats"][..]] {
        let stats = tree.report(args);
        assert_eq!(
            stats["disagreeing_sidecars"],
            serde_json::json!([{
                "file_path": tree.join("IMG_0001.json").to_str().unwrap(),
                "other": tree.join("IMG_0001.bin").to_str().unwrap(),
            }]),
            "{args:?}: {stats:#}"
        );
    }
    let validate = tree.report(&["validate", "--all-results", "--no-cache"]);
    assert_eq!(
        validate["warning_counts"]["disagrees-with-sibling"], 1,
        "{validate:#}"
    );
    assert_eq!(validate["invalid_files"], 0, "a warning, not an error");
    let warned = result_for(&validate, "results", "IMG_0001.json");
    assert!(
        warned["warnings"][0]
            .as_str()
            .unwrap()
            .contains("IMG_0001.bin"),
        "{warned}"
    );

    tree.report(&["convert", "--format", "bin", "--prefer", "newer"]);
    let after = tree.report(&["stats", "--no-cache"]);
    assert_eq!(
        after["disagreeing_sidecars"],
        serde_json::json!([]),
        "{after:#}"
    );
}
