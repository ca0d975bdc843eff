//! Report snapshots on the shipped examples and a small generated tree: what every reading
//! command and a pipeline print, byte for byte but for timings and the tree's own path. They
//! hold optimisations to "no behaviour change": a faster reader that counts, orders or words
//! anything differently fails here.

use crate::harness::{comparable, Tree};

/// Runs `args` on the tree; its report as pretty text, comparable across runs.
fn stable_report(tree: &Tree, args: &[&str]) -> String {
    serde_json::to_string_pretty(&comparable(tree.report(args), tree.path())).unwrap()
}

/// Every reading command and the health-check pipeline, on one worker and on two: the same
/// report either way, and the snapshot's.
fn snapshot_all(tree_name: &str) {
    let tree = Tree::copy_of(tree_name);
    for (name, args) in [
        ("validate", &["validate", "--all-results"][..]),
        ("stats", &["stats"][..]),
        ("format_stats", &["format-stats"][..]),
        ("health_check", &["run", "health-check"][..]),
    ] {
        let one = stable_report(&tree, &[args, &["--workers", "1", "--no-cache"]].concat());
        let two = stable_report(&tree, &[args, &["--workers", "2", "--no-cache"]].concat());
        assert_eq!(one, two, "{name}: the report depends on the worker count");
        insta::assert_snapshot!(format!("{tree_name}_{name}"), one);
    }
}

#[test]
fn reports_on_the_examples_are_unchanged() {
    snapshot_all("examples");
}

#[test]
fn reports_on_a_generated_tree_are_unchanged() {
    snapshot_all("corpus");
}
