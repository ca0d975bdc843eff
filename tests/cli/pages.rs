//! `--html` and `report --html`: every command that writes a report writes its page too, with
//! the report's own figures, linking to the JSON report; a page replaces only an earlier page
//! of this tool, is refused before any work otherwise, and never lands inside the input as a
//! sidecar. (The pages in a real browser and an HTML validator: `tests/browser`.)

use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

use crate::harness::{assert_exit, parse, Tree, BIN};

/// Every `data-field` pointer of a page with its `data-value`.
fn figures(page: &str) -> Vec<(String, String)> {
    page.split("data-field=\"")
        .skip(1)
        .map(|rest| {
            let (field, rest) = rest.split_once('"').unwrap();
            let value = rest.split_once("data-value=\"").unwrap().1;
            (
                field.to_owned(),
                value.split_once('"').unwrap().0.to_owned(),
            )
        })
        .collect()
}

/// Checks that the page shows the report's figures, and returns how many it shows.
fn assert_figures_are_the_reports(page: &str, report: &Json, what: &str) -> usize {
    let figures = figures(page);
    for (pointer, value) in &figures {
        let in_report = report
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{what}: {pointer} is not in the report"));
        assert_eq!(in_report.to_string(), *value, "{what}: {pointer}");
    }
    figures.len()
}

/// The report the page embeds.
fn embedded(page: &str) -> Json {
    let data = page
        .split_once("<script type=\"application/json\" id=\"report-data\">")
        .expect("an embedded report")
        .1
        .split_once("</script>")
        .unwrap()
        .0;
    serde_json::from_str(data).unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Runs `args` on the tree with its JSON report (through `report_flag`) to `NAME.json` and its
/// page to `NAME.html` in `out`; expects exit 0, nothing on stdout or stderr, and returns the
/// report and the page.
fn report_and_page(
    tree: &Tree,
    out: &Path,
    name: &str,
    args: &[&str],
    report_flag: &str,
) -> (Json, String) {
    let (json, html) = (
        out.join(format!("{name}.json")),
        out.join(format!("{name}.html")),
    );
    let run = tree.run(
        &[
            args,
            &[
                report_flag,
                json.to_str().unwrap(),
                "--html",
                html.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert_exit(&run, 0, name);
    assert!(
        run.stderr.is_empty(),
        "{name}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.stdout.is_empty(), "{name}: the report went to its file");
    (serde_json::from_str(&read(&json)).unwrap(), read(&html))
}

#[test]
fn every_command_writes_its_page_with_the_reports_figures() {
    let tree = Tree::examples();
    tree.write("broken.json", b"{\"faces\": [1, 2");
    tree.write("broken.jpg", b"jpg");
    let out = tempfile::tempdir().unwrap();
    for (name, args, headline) in [
        (
            "validate",
            &["validate", "--no-cache"][..],
            "/invalid_files",
        ),
        ("stats", &["stats", "--no-cache"][..], "/total_faces"),
        ("format-stats", &["format-stats"][..], "/total_files"),
        (
            "convert",
            &["convert", "--format", "bin", "--dry-run"][..],
            "/converted",
        ),
        ("cleanup", &["cleanup"][..], "/orphans"),
        (
            "run",
            &["run", "health-check", "--no-cache"][..],
            "/stages/validate/invalid_files",
        ),
    ] {
        let (report, page) = report_and_page(&tree, out.path(), name, args, "--output");
        assert!(page.starts_with("<!DOCTYPE html>"), "{name}");
        let shown = assert_figures_are_the_reports(&page, &report, name);
        assert!(shown >= 3, "{name}: {shown} figures");
        assert!(
            figures(&page).iter().any(|(p, _)| p == headline),
            "{name}: {headline} is a headline figure"
        );
        assert!(
            page.contains(&format!("<a href=\"{name}.json\">")),
            "{name}: the page links to its JSON report beside it"
        );
        assert!(
            page.contains(&tree.path().display().to_string()),
            "{name}: names its input"
        );
        assert_eq!(embedded(&page), report, "{name}: embeds its report whole");
        assert!(!page.contains("http"), "{name}: names no network address");
    }
    for (name, args) in [
        ("export", &["export", "--format", "jsonl"][..]),
        ("list", &["list"][..]),
    ] {
        let rows = out.path().join(format!("{name}.rows"));
        let args = [args, &["--output", rows.to_str().unwrap()]].concat();
        let (report, page) = report_and_page(&tree, out.path(), name, &args, "--report");
        assert!(page.contains(&format!("<h1>{name}</h1>")), "{name}");
        assert!(
            assert_figures_are_the_reports(&page, &report, name) >= 3,
            "{name}"
        );
    }
    let export = read(&out.path().join("export.html"));
    assert!(
        export.contains("</span> invalid JSON: EOF while parsing a list</summary>"),
        "the file not exported is listed"
    );
    let validate = read(&out.path().join("validate.html"));
    assert!(validate.contains("[Json] invalid JSON: EOF while parsing a list"));
    assert!(validate.contains("broken.json"));
}

#[test]
fn a_report_on_stdout_is_the_one_the_page_embeds() {
    let tree = Tree::examples();
    let out = tempfile::tempdir().unwrap();
    let html = out.path().join("stats.html");
    let report = tree.report(&["stats", "--no-cache", "--html", html.to_str().unwrap()]);
    let page = read(&html);
    assert_eq!(embedded(&page), report);
    assert!(page.contains("The JSON report went to standard output"));
    assert_figures_are_the_reports(&page, &report, "stats");
    // The new histograms are in the report, and drawn.
    assert!(report["face_confidences"]
        .as_object()
        .is_some_and(|m| !m.is_empty()));
    assert!(report["faces_per_sidecar"]
        .as_object()
        .is_some_and(|m| !m.is_empty()));
    assert!(page.contains("<figcaption>Face detection confidence</figcaption><svg"));
}

#[test]
fn a_page_links_to_a_report_in_another_directory() {
    let tree = Tree::examples();
    let out = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(out.path().join("json reports")).unwrap();
    std::fs::create_dir_all(out.path().join("pages/today")).unwrap();
    let json = out.path().join("json reports/v ü.json");
    let html = out.path().join("pages/today/v.html");
    let run = tree.run(&[
        "validate",
        "--output",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_exit(&run, 0, "validate");
    assert!(read(&html).contains("<a href=\"../../json%20reports/v%20%C3%BC.json\">"));
}

#[test]
fn a_page_replaces_only_an_earlier_page_and_is_refused_before_any_work() {
    let tree = Tree::examples();
    let out = tempfile::tempdir().unwrap();
    let (json, html) = (out.path().join("r.json"), out.path().join("r.html"));
    std::fs::write(&html, "<!DOCTYPE html><p>someone's notes</p>").unwrap();
    let run = tree.run(&[
        "validate",
        "--output",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_exit(&run, 2, "over another file");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("cannot write the page to"), "{stderr}");
    assert!(stderr.contains("is not a page of this tool"), "{stderr}");
    assert_eq!(read(&html), "<!DOCTYPE html><p>someone's notes</p>");
    assert!(!json.exists(), "refused before the run: no report either");
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        1,
        "no temporary file left"
    );

    std::fs::remove_file(&html).unwrap();
    for _ in 0..2 {
        let run = tree.run(&[
            "validate",
            "--output",
            json.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ]);
        assert_exit(&run, 0, "a page over an earlier page");
    }

    let same = tree.run(&[
        "validate",
        "--output",
        json.to_str().unwrap(),
        "--html",
        json.to_str().unwrap(),
    ]);
    assert_exit(&same, 2, "--html naming the report");
    assert!(String::from_utf8_lossy(&same.stderr).contains("names the JSON report's own file"));

    let before = tree.snapshot();
    let inside = tree.join("IMG_9999.json");
    let run = tree.run(&["validate", "--html", inside.to_str().unwrap()]);
    assert_exit(&run, 2, "a page named like a sidecar inside the input");
    assert!(String::from_utf8_lossy(&run.stderr).contains("inside the input"));
    assert_eq!(tree.snapshot(), before, "nothing in the input changed");
}

#[test]
fn report_turns_a_saved_or_merged_report_into_its_page() {
    let tree = Tree::examples();
    let out = tempfile::tempdir().unwrap();
    let mut shards = Vec::new();
    for i in 0..2 {
        let json = out.path().join(format!("shard-{i}.json"));
        let run = tree.run(&[
            "stats",
            "--no-cache",
            "--shard",
            &format!("{i}/2"),
            "--output",
            json.to_str().unwrap(),
        ]);
        assert_exit(&run, 0, "a shard");
        shards.push(json);
    }
    let merged_json = out.path().join("merged.json");
    let merged_html = out.path().join("merged.html");
    let merge = Command::new(BIN)
        .arg("merge")
        .args(&shards)
        .args([
            "--output",
            merged_json.to_str().unwrap(),
            "--html",
            merged_html.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_exit(&merge, 0, "merge --html");
    let merged: Json = serde_json::from_str(&read(&merged_json)).unwrap();
    let whole = tree.report(&["stats", "--no-cache"]);
    for field in [
        "face_confidences",
        "object_confidences",
        "faces_per_sidecar",
        "total_faces",
    ] {
        assert_eq!(
            merged[field], whole[field],
            "{field}: the shards' histograms add up exactly"
        );
    }
    assert_figures_are_the_reports(&read(&merged_html), &merged, "merge --html");

    let page = out.path().join("again.html");
    let report = Command::new(BIN)
        .args([
            "report",
            merged_json.to_str().unwrap(),
            "--html",
            page.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_exit(&report, 0, "report --html");
    assert!(report.stderr.is_empty());
    let said = parse(&report.stdout);
    assert_eq!(said["page"], page.to_str().unwrap());
    assert_eq!(
        read(&page),
        read(&merged_html),
        "the same page as merge --html wrote"
    );

    let sidecar = tree.join("DSC01234.json");
    let refused = Command::new(BIN)
        .args([
            "report",
            sidecar.to_str().unwrap(),
            "--html",
            out.path().join("x.html").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_exit(&refused, 2, "report of a sidecar");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not a report of this tool"));
    assert!(!out.path().join("x.html").exists());
}
