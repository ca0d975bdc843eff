//! The pass on its own: real trees in temporary directories, read with the JSON codec, folded
//! by every kind of stage; skipped files, directory-level files, unreadable and filtered files;
//! the same report from records as from reading, and on any number of workers.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::*;
use crate::discover::{discover, Rules};
use crate::ops::validate::ValidateStage;
use crate::registry::Provenance;
use crate::validator::{Check, FileContext, Finding, Validator};

/// Fails every document with a top-level `bad` key.
struct NoBad;

impl Validator for NoBad {
    fn name(&self) -> &str {
        "no-bad"
    }
    fn version(&self) -> &str {
        "0"
    }
    fn description(&self) -> &str {
        "no top-level `bad`"
    }
    fn configure(&self, _: &serde_json::Value, _: &Path) -> Result<Box<dyn Check>, String> {
        Ok(Box::new(NoBad))
    }
}

impl Check for NoBad {
    fn check(&self, document: View<'_>, _: &FileContext<'_>, findings: &mut Vec<Finding>) {
        if document.get("bad").is_some() {
            findings.push(Finding::error("has `bad`", "/bad"));
        }
    }
}

fn registry() -> Registry {
    let mut registry = Registry::default();
    registry
        .add(Arc::new(sidecar_json::JsonCodec), Provenance::BuiltIn)
        .unwrap();
    registry
}

/// A tree: two good sidecars (one with an image), one failing `no-bad`, one that is not JSON,
/// a directory-level file, and a file no format claims.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("a/IMG_1.json", r#"{"n": 1}"#);
    write("a/IMG_1.jpg", "jpg");
    write("a/IMG_2.json", r#"{"n": 2}"#);
    write("b/IMG_3.json", r#"{"bad": true}"#);
    write("b/IMG_4.json", r#"{"n": "#);
    write("b/game_detection.json", r#"{"games": []}"#);
    write("b/notes.txt", "notes");
    dir
}

fn validate_stage() -> ValidateStage {
    ValidateStage {
        all_results: true,
        checks: vec![validate::NamedCheck::configure(
            &NoBad,
            &serde_json::json!({}),
            Path::new(""),
        )
        .unwrap()],
        on_error: validate::OnError::SkipFile,
    }
}

/// Validate, stats and format-stats, in that order.
fn reading_stages() -> Plan<'static> {
    plan(vec![
        Stage::Validate(validate_stage()),
        Stage::Stats(stats::StatsStage::default()),
        Stage::FormatStats(format_stats::FormatStatsStage::default()),
    ])
}

fn plan(stages: Vec<Stage<'_>>) -> Plan<'_> {
    Plan {
        stages,
        formats: Vec::new(),
        operations: Vec::new(),
        max_file_size: 1 << 20,
    }
}

/// The sections as JSON, without timings, for comparing passes.
fn comparable(report: &PassReport) -> serde_json::Value {
    let mut sections = serde_json::to_value(&report.sections).unwrap();
    for section in sections.as_array_mut().unwrap() {
        section
            .as_object_mut()
            .unwrap()
            .shift_remove("elapsed_seconds");
    }
    sections
}

fn paths(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let path = r["file_path"]
                .as_str()
                .unwrap_or_else(|| r.as_str().unwrap());
            Path::new(path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn every_stage_folds_every_kind_of_file() {
    let dir = tree();
    let registry = registry();
    let tree = discover(dir.path(), &registry, &Rules::default(), &[]);
    let report = run(&tree, &registry, &reading_stages(), &());
    let sections = comparable(&report);
    let validate = &sections[0];
    assert_eq!(validate["total_files"], 4, "{validate:#}");
    assert_eq!(validate["valid_files"], 2);
    assert_eq!(validate["invalid_files"], 2);
    assert_eq!(
        paths(&validate["results"]),
        ["IMG_1.json", "IMG_2.json", "IMG_3.json", "IMG_4.json"]
    );
    assert_eq!(paths(&validate["directory_files"]), ["game_detection.json"]);
    // A file the validator fails goes no further, nor does one that does not decode.
    let stats = &sections[1];
    assert_eq!(stats["total_sidecars"], 2, "{stats:#}");
    assert_eq!(stats["unreadable_sidecars"], 0);
    assert_eq!(stats["files_by_format"], serde_json::json!({"Json": 2}));
    assert_eq!(stats["sidecars_without_image"], 1);
    let formats = &sections[2];
    assert_eq!(formats["format_distribution"]["Json"], 2, "{formats:#}");
    assert_eq!(report.filtered_files, 0);
    assert!(report.aborted.is_none());
}

#[test]
fn an_aborting_stage_stops_before_anything_else_runs() {
    let dir = tree();
    let registry = registry();
    let tree = discover(dir.path(), &registry, &Rules::default(), &[]);
    let mut stage = validate_stage();
    stage.on_error = validate::OnError::Abort;
    let report = run(
        &tree,
        &registry,
        &plan(vec![
            Stage::Validate(stage),
            Stage::Stats(stats::StatsStage::default()),
        ]),
        &(),
    );
    let aborted = report.aborted.as_ref().expect("aborted");
    assert!(aborted.file_path.ends_with("IMG_3.json"), "{aborted:?}");
    assert_eq!(report.not_processed, tree.len() as u64);
    assert_eq!(
        comparable(&report)[1]["total_sidecars"],
        0,
        "stats never ran"
    );
}

#[test]
fn a_format_filter_leaves_files_out_and_counts_them() {
    let dir = tree();
    let registry = registry();
    let tree = discover(dir.path(), &registry, &Rules::default(), &[]);
    let mut only = plan(vec![Stage::FormatStats(
        format_stats::FormatStatsStage::default(),
    )]);
    only.formats = vec!["bin".into()];
    let report = run(&tree, &registry, &only, &());
    assert_eq!(comparable(&report)[0]["total_files"], 0);
    assert!(report.filtered_files >= 3, "{}", report.filtered_files);
}

/// Records kept in memory, as the results cache keeps them on disk.
#[derive(Default)]
struct Kept(Mutex<Vec<(std::path::PathBuf, FileRecord)>>);

impl Records for Kept {
    fn lookup(&self, candidate: Candidate<'_>, _: &Path) -> Option<FileRecord> {
        let kept = self.0.lock().unwrap();
        kept.iter()
            .find(|(rel, _)| rel == candidate.rel)
            .map(|(_, record)| record.clone())
    }
    fn store(&self, candidate: Candidate<'_>, _: &FileMeta, record: FileRecord) {
        self.0
            .lock()
            .unwrap()
            .push((candidate.rel.to_path_buf(), record));
    }
}

#[test]
fn records_fold_to_the_report_reading_makes() {
    let dir = tree();
    let registry = registry();
    let tree = discover(dir.path(), &registry, &Rules::default(), &[]);
    let kept = Kept::default();
    let read = run_with_records(&tree, &registry, &reading_stages(), &(), Some(&kept));
    assert_eq!(read.cached_files, 0);
    assert!(!kept.0.lock().unwrap().is_empty(), "records were left");
    // Remove the files: a second pass can only have its answers from the records.
    for entry in [
        "a/IMG_1.json",
        "a/IMG_2.json",
        "b/IMG_3.json",
        "b/IMG_4.json",
    ] {
        std::fs::write(dir.path().join(entry), "gone").unwrap();
    }
    let replayed = run_with_records(&tree, &registry, &reading_stages(), &(), Some(&kept));
    // Every sidecar's record (the directory-level file's is kept too, but is no sidecar).
    assert_eq!(replayed.cached_files, 4);
    assert_eq!(kept.0.lock().unwrap().len(), 5);
    assert_eq!(comparable(&replayed), comparable(&read));
}

#[test]
fn the_report_does_not_depend_on_the_number_of_workers() {
    let dir = tree();
    let registry = registry();
    let tree = discover(dir.path(), &registry, &Rules::default(), &[]);
    let reports: Vec<serde_json::Value> = [1, 2, 4]
        .into_iter()
        .map(|workers| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .build()
                .unwrap();
            pool.install(|| comparable(&run(&tree, &registry, &reading_stages(), &())))
        })
        .collect();
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
}

#[test]
fn walking_and_folding_as_the_walk_goes_agree_with_walking_first() {
    let dir = tree();
    let registry = registry();
    let rules = Rules::default();
    let walked = discover(dir.path(), &registry, &rules, &[]);
    let stages = || {
        plan(vec![
            Stage::Validate(validate_stage()),
            Stage::Stats(stats::StatsStage::default()),
        ])
    };
    let first = run(&walked, &registry, &stages(), &());
    let plan = stages();
    assert!(runs_walking(&plan));
    let (_, going, kept) = run_walking(
        |visit| crate::discover::discover_visiting(dir.path(), &registry, &rules, &[], visit),
        &|_| true,
        &registry,
        &plan,
        &(),
        None,
    );
    assert_eq!(kept, walked.len() as u64);
    assert_eq!(comparable(&going), comparable(&first));
}

#[test]
fn a_section_gives_its_own_report_and_names_another_kind() {
    let dir = tree();
    let registry = registry();
    let tree = discover(dir.path(), &registry, &Rules::default(), &[]);
    let mut report = run(
        &tree,
        &registry,
        &plan(vec![Stage::Stats(stats::StatsStage::default())]),
        &(),
    );
    let section = report.sections.pop().unwrap();
    let stats: Result<stats::StatsReport, _> = section.try_into();
    assert_eq!(
        stats.unwrap().total_sidecars,
        4,
        "no validate stage skips IMG_3"
    );
    let mut report = run(
        &tree,
        &registry,
        &plan(vec![Stage::FormatStats(
            format_stats::FormatStatsStage::default(),
        )]),
        &(),
    );
    let wrong: Result<validate::ValidateReport, _> = report.sections.pop().unwrap().try_into();
    assert_eq!(
        wrong.unwrap_err().to_string(),
        "the pass made a format-stats report where a validate report was asked for"
    );
}

/// The results cache stores each stage's record under its kind's position in the registration:
/// files written before a kind was added must read back as they were written.
#[test]
fn record_tags_are_the_ones_cache_files_hold() {
    let encode =
        |record: &StageRecord| bincode::serde::encode_to_vec(record, bincode::config::standard());
    let validate = StageRecord::Validate(validate::Outcome {
        error: None,
        warnings: Vec::new(),
    });
    assert_eq!(encode(&validate).unwrap(), [0, 0, 0]);
    let stats = StageRecord::Stats(stats::Outcome {
        counters: Vec::new(),
    });
    assert_eq!(encode(&stats).unwrap(), [1, 0]);
    assert_eq!(encode(&StageRecord::FormatStats(())).unwrap(), [2]);
}

#[test]
fn chunks_never_split_files_of_one_name() {
    // X.* sits at the boundary of a chunk of two and goes whole into the first chunk; with a
    // size of one, each name is a chunk of its own.
    let names = ["A.json", "X.bin", "X.json", "X.xmp", "Y.bin", "Y.json"];
    let paths: Vec<std::path::PathBuf> = names.iter().map(std::path::PathBuf::from).collect();
    let mut candidates: Vec<Candidate<'_>> = paths
        .iter()
        .map(|rel| Candidate {
            base: Path::new("."),
            rel,
            has_image: true,
            linked: false,
            outside: false,
            directory_file: false,
        })
        .collect();
    let items = super::with_siblings(&mut candidates);
    let flags: Vec<bool> = items.iter().map(|(_, siblings)| *siblings).collect();
    assert_eq!(flags, [false, true, true, true, true, true]);
    let chunks = |size| -> Vec<Vec<String>> {
        super::chunks_of_groups(&items, size)
            .iter()
            .map(|c| c.iter().map(|(c, _)| c.rel.display().to_string()).collect())
            .collect()
    };
    assert_eq!(
        chunks(2),
        [
            vec!["A.json", "X.bin", "X.json", "X.xmp"],
            vec!["Y.bin", "Y.json"]
        ]
    );
    assert_eq!(
        chunks(1),
        [
            vec!["A.json"],
            vec!["X.bin", "X.json", "X.xmp"],
            vec!["Y.bin", "Y.json"]
        ]
    );
}

#[test]
fn format_stats_reads_a_paired_sidecars_head_only_unless_deep() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!(r#"{{"n": "{}"}}"#, "x".repeat(1000));
    let truncated = format!(r#"{{"n": "{}"#, "x".repeat(1000));
    for (name, text) in [
        ("IMG_1.jpg", "jpg"),
        ("IMG_1.json", long.as_str()),
        ("IMG_2.json", long.as_str()),
        ("IMG_3.jpg", "jpg"),
        ("IMG_3.json", truncated.as_str()),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let registry = registry();
    let tree = discover(dir.path(), &registry, &Rules::default(), &[]);
    let reads = |deep: bool| {
        let stage = format_stats::FormatStatsStage { deep };
        let report = run(
            &tree,
            &registry,
            &plan(vec![Stage::FormatStats(stage)]),
            &(),
        );
        let mut reads: Vec<(String, usize)> = crate::fsio::READS
            .lock()
            .unwrap()
            .drain(..)
            .filter(|(path, _)| path.starts_with(dir.path()))
            .map(|(path, len)| (path.file_name().unwrap().to_string_lossy().into(), len))
            .collect();
        reads.sort();
        (comparable(&report)[0].clone(), reads)
    };
    let (report, head) = reads(false);
    assert_eq!(report["format_distribution"]["Json"], 3, "{report:#}");
    assert_eq!(
        report["bytes_by_format"]["Json"],
        2 * long.len() + truncated.len()
    );
    assert!(report.get("undecodable_files").is_none(), "{report:#}");
    // The orphan is read whole: it may be a directory-level file or a report of this tool.
    assert_eq!(
        head,
        [
            ("IMG_1.json".into(), DETECT_BYTES),
            ("IMG_2.json".into(), long.len()),
            ("IMG_3.json".into(), DETECT_BYTES),
        ]
    );

    let (report, whole) = reads(true);
    assert_eq!(report["format_distribution"]["Json"], 3, "{report:#}");
    assert_eq!(report["undecodable_files"], 1, "{report:#}");
    assert_eq!(
        whole,
        [
            ("IMG_1.json".into(), long.len()),
            ("IMG_2.json".into(), long.len()),
            ("IMG_3.json".into(), truncated.len()),
        ]
    );
}
