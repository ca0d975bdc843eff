use serde_json::{json, Value};

use super::*;

fn page_of(report: &Value) -> String {
    let text = serde_json::to_vec_pretty(report).unwrap();
    render(
        &Reading::read(Text::Bytes(&text)).unwrap(),
        Text::Bytes(&text),
        &Context {
            input: Some("photos"),
            json: JsonReport::File {
                href: "report.json".into(),
                shown: "report.json".into(),
            },
        },
    )
}

fn invalid(path: &str, error: &str) -> Value {
    json!({"file_path": path, "is_valid": false, "format": "Json", "error": error, "warnings": []})
}

/// Every `data-field` pointer of the page with its `data-value`.
fn figures_of(page: &str) -> Vec<(String, String)> {
    page.split("data-field=\"")
        .skip(1)
        .map(|rest| {
            let (field, rest) = rest.split_once('"').unwrap();
            let value = rest
                .split_once("data-value=\"")
                .unwrap()
                .1
                .split_once('"')
                .unwrap()
                .0;
            (field.to_owned(), value.to_owned())
        })
        .collect()
}

#[test]
fn headline_figures_are_the_reports_numbers_with_their_pointers() {
    let report = json!({
        "generator": "image-sidecar-rust 0.1.0",
        "total_files": 1234567, "valid_files": 1234564, "invalid_files": 3, "warnings": 2,
        "warning_counts": {"non-standard-number": 2}, "directory_files": [],
        "results": [invalid("a/x.json", "invalid JSON: EOF while parsing a list at line 2, column 1")],
        "elapsed_seconds": 1.5, "cached_files": 7
    });
    let page = page_of(&report);
    let figures = figures_of(&page);
    for (pointer, value) in &figures {
        assert_eq!(
            report.pointer(pointer).unwrap().to_string(),
            *value,
            "{pointer}"
        );
    }
    let pointers: Vec<&str> = figures.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/total_files",
            "/valid_files",
            "/invalid_files",
            "/warnings",
            "/cached_files",
            "/elapsed_seconds"
        ]
    );
    assert!(
        page.contains(">1,234,567<"),
        "counts are grouped for reading"
    );
    assert!(page.contains("<h1>validate</h1>"));
    assert!(
        page.contains("<td>line 2, column 1</td>"),
        "the location is its own column"
    );
}

#[test]
fn nothing_in_a_report_can_become_markup_or_end_the_embedded_script() {
    let hostile = "d/</script><script>alert(1)</script>.json";
    let report = json!({
        "generator": "image-sidecar-rust 0.1.0",
        "total_files": 1, "valid_files": 0, "invalid_files": 1, "warnings": 0,
        "warning_counts": {"<b>": 1}, "directory_files": [],
        "results": [invalid(hostile, "sportball: <img src=x> at /a")],
        "elapsed_seconds": 0.0
    });
    let page = page_of(&report);
    assert_eq!(
        page.matches("<script").count(),
        2,
        "the embedded report and the page's own script"
    );
    assert!(!page.contains("<img"));
    assert!(!page.contains("<b>"));
    let data = page
        .split_once("<script type=\"application/json\" id=\"report-data\">")
        .unwrap()
        .1
        .split_once("</script>")
        .unwrap()
        .0;
    let embedded: Value = serde_json::from_str(data).unwrap();
    assert_eq!(embedded, report, "embedded whole, and read back equal");
}

#[test]
fn a_page_names_nothing_outside_itself() {
    let report = json!({
        "generator": "image-sidecar-rust 0.1.0", "total_files": 0, "valid_files": 0,
        "invalid_files": 0, "warnings": 0, "warning_counts": {}, "directory_files": [],
        "results": [], "elapsed_seconds": 0.0
    });
    let page = page_of(&report);
    assert!(!page.contains("http"), "no address of any network resource");
    assert!(
        !page.contains(" src="),
        "no external script, image or frame"
    );
    assert!(!page.contains("url("), "no style sheet resource");
    assert!(!page.contains("@import"));
    let hrefs: Vec<&str> = page
        .split("href=\"")
        .skip(1)
        .map(|r| r.split_once('"').unwrap().0)
        .collect();
    assert_eq!(
        hrefs,
        ["report.json", "report.json"],
        "only the JSON report"
    );
}

#[test]
fn files_are_grouped_by_what_is_wrong_and_a_groups_tail_is_counted() {
    let mut results = Vec::new();
    for i in 0..40 {
        results.push(invalid(
            &format!("d{}/f{i}.json", i % 3),
            &format!("invalid JSON: EOF while parsing a list at line {i}, column 1"),
        ));
    }
    for i in 0..3 {
        results.push(invalid(
            &format!("d9/g{i}.json"),
            &format!("sportball: {i}.5 is outside [0, 1] at /faces/{i}/confidence"),
        ));
    }
    let report = json!({
        "generator": "image-sidecar-rust 0.1.0", "total_files": 43, "valid_files": 0,
        "invalid_files": 43, "warnings": 0, "warning_counts": {}, "directory_files": [],
        "results": results, "elapsed_seconds": 0.0
    });
    let page = page_of(&report);
    assert!(page.contains("43 files in 2 groups"));
    assert!(page.contains(
        "<span class=\"count\">40</span> [Json] invalid JSON: EOF while parsing a list</summary>"
    ));
    assert!(page.contains(
        "<span class=\"count\">3</span> [Json] sportball: N is outside [N, N]</summary>"
    ));
    assert!(page.contains("and 15 more in the JSON report"));
    assert_eq!(
        page.matches("<tr><td>d").count(),
        EXAMPLES_PER_GROUP + 3 + 4,
        "25 and 3 examples, and the four directories"
    );
    let worst = page.split_once("Directories with the most").unwrap().1;
    let order: Vec<&str> = [
        "<td>d0</td><td>14</td>",
        "<td>d1</td><td>13</td>",
        "<td>d2</td><td>13</td>",
        "<td>d9</td><td>3</td>",
    ]
    .into_iter()
    .collect();
    let mut at = 0;
    for row in order {
        let found = worst[at..]
            .find(row)
            .unwrap_or_else(|| panic!("{row} in order"));
        at += found;
    }
}

#[test]
fn two_hundred_thousand_invalid_files_stay_within_the_bound() {
    // Long paths of characters that escaping grows, and a distinct message per file: the
    // worst case for the listed rows and for the embedded report.
    let long = "&<".repeat(300);
    let results: Vec<Value> = (0..200_000)
        .map(|i| {
            invalid(
                &format!("dir{}/{long}{i}.json", i % 500),
                &format!("kind{} {long}: broken at byte offset {i}", i % 1000),
            )
        })
        .collect();
    let report = json!({
        "generator": "image-sidecar-rust 0.1.0", "total_files": 200_000, "valid_files": 0,
        "invalid_files": 200_000, "warnings": 0, "warning_counts": {}, "directory_files": [],
        "results": results, "elapsed_seconds": 12.0
    });
    let page = page_of(&report);
    assert!(
        page.len() <= SIZE_BOUND,
        "{} bytes over the bound",
        page.len()
    );
    assert!(page.contains("200,000 files in 1,000 groups"));
    assert!(page.contains("975 more groups with"));
    assert!(page.contains("<code>/results</code> 25 of 200,000"));
    let data = page
        .split_once("id=\"report-data\">")
        .unwrap()
        .1
        .split_once("</script>")
        .unwrap()
        .0;
    let embedded: Value = serde_json::from_str(data).unwrap();
    assert_eq!(embedded["invalid_files"], 200_000);
    assert_eq!(
        embedded["results"].as_array().unwrap().len(),
        EXAMPLES_PER_GROUP
    );
    assert_eq!(
        embedded["html_embedded_cut"]["/results"],
        json!({"kept": EXAMPLES_PER_GROUP, "of": 200_000})
    );
}

#[test]
fn a_pipelines_page_has_a_section_per_stage_with_its_own_figures() {
    let report = json!({
        "generator": "image-sidecar-rust 0.1.0", "pipeline": "health-check",
        "description": "Validate <all>", "input": "photos", "dry_run": false,
        "total_files": 10, "filtered_files": 0, "not_processed": 0, "aborted": null,
        "stages": {
            "validate": {"kind": "validate", "total_files": 9, "valid_files": 8, "invalid_files": 1,
                "warnings": 0, "warning_counts": {}, "directory_files": [],
                "results": [invalid("a.json", "invalid JSON: x at line 1, column 1")], "elapsed_seconds": 0.1},
            "count/all": {"kind": "stats", "total_sidecars": 9, "total_images": 9, "unreadable_sidecars": 0,
                "operation_counts": {"face_detection": 4}, "total_faces": 7, "total_objects": 0,
                "face_confidences": {"0.90": 6, "0.95": 1}, "faces_per_sidecar": {"01": 1, "02": 3},
                "xmp_ratings": {"-1": 1, "5": 2}, "xmp_labels": {}, "xmp_keywords": {"goal": 3},
                "plugin_total": 41, "plugin_tally": {"x": 2},
                "files_by_format": {"Json": 9}, "bytes_by_format": {"Json": 9000}, "total_bytes": 9000,
                "sidecars_without_image": 0, "images_without_sidecar": 0, "images_with_several_sidecars": 0,
                "disagreeing_sidecars": [], "directory_files": [], "errors": [], "elapsed_seconds": 0.2},
            "formats": {"kind": "format-stats", "total_files": 9, "format_distribution": {"Json": 9, "Binary": 0},
                "bytes_by_format": {"Json": 9000, "Binary": 0}, "unrecognized_files": 0,
                "directory_files": [], "elapsed_seconds": 0.0}
        },
        "elapsed_seconds": 0.5
    });
    let page = page_of(&report);
    assert!(page.contains("<h1>pipeline health-check</h1>"));
    assert!(page.contains("Validate &lt;all&gt;"));
    assert!(page.contains("<h2>Stage 1: validate</h2>"));
    assert!(page.contains("<h2>Stage 2: count/all (stats)</h2>"));
    assert!(page.contains("<h2>Stage 3: formats (format-stats)</h2>"));
    for (pointer, value) in figures_of(&page) {
        assert_eq!(
            report.pointer(&pointer).unwrap().to_string(),
            value,
            "{pointer}"
        );
    }
    let pointers: Vec<String> = figures_of(&page).into_iter().map(|(p, _)| p).collect();
    assert!(pointers.contains(&"/stages/count~1all/total_faces".to_owned()));
    assert!(
        pointers.contains(&"/stages/count~1all/plugin_total".to_owned()),
        "a plugin's total"
    );
    assert!(
        page.contains("<figcaption>plugin_tally</figcaption>"),
        "a plugin's tally"
    );
    assert!(page.contains("<figcaption>Face detection confidence</figcaption>"));
    assert!(page.contains("<title>0.90: 6</title>"));
    assert!(page.contains("<figcaption>XMP ratings (-1: rejected)</figcaption>"));
    let ratings = page.split_once("XMP ratings").unwrap().1;
    assert!(ratings.find("<title>-1: 1</title>") < ratings.find("<title>5: 2</title>"));
}

#[test]
fn each_commands_report_is_recognised() {
    let kind = |v: Value| Kind::of(v.as_object().unwrap());
    assert_eq!(
        kind(json!({"valid_files": 1, "invalid_files": 0})),
        Kind::Validate
    );
    assert_eq!(
        kind(json!({"total_sidecars": 1, "files_by_format": {}})),
        Kind::Stats
    );
    assert_eq!(kind(json!({"format_distribution": {}})), Kind::FormatStats);
    assert_eq!(kind(json!({"target_format": "Binary"})), Kind::Convert);
    assert_eq!(
        kind(json!({"mode": "dry-run", "orphans": 1})),
        Kind::Cleanup
    );
    assert_eq!(kind(json!({"pipeline": "p", "stages": {}})), Kind::Run);
    assert_eq!(kind(json!({"exported": 1})), Kind::Other);
}

#[test]
fn a_convert_page_lists_what_was_not_converted_by_status_and_reason() {
    let report = json!({
        "generator": "image-sidecar-rust 0.1.0", "target_format": "Binary", "dry_run": true,
        "total_files": 4, "converted": 1, "skipped": 1, "invalid": 1, "failed": 0, "conflicts": 1,
        "superseded": 0, "removed_temporaries": 0, "restored_files": 0,
        "results": [
            {"file_path": "a.json", "target_path": null, "status": "invalid", "reason": "invalid JSON: EOF at line 2, column 1"},
            {"file_path": "b.json", "target_path": "b.bin", "status": "conflict", "reason": "the target exists with different values (first difference at /faces/0); both files left as they are"},
            {"file_path": "c.json", "target_path": "c.bin", "status": "converted", "reason": null}
        ],
        "elapsed_seconds": 0.0
    });
    let page = page_of(&report);
    assert!(page.contains("To Binary: a dry run, nothing was changed"));
    assert!(page.contains("</span> invalid: invalid JSON: EOF</summary>"));
    assert!(page.contains(
        "</span> conflict: the target exists with different values (first difference at …); both files left as they are</summary>"
    ));
    assert!(
        !page.contains("<td>c.json</td>"),
        "converted files are counted, not listed"
    );
}

#[test]
fn a_report_to_stdout_is_said_to_be_there_and_embedded() {
    let text = Text::Bytes(
        br#"{"generator": "image-sidecar-rust 0.1.0", "format_distribution": {"Json": 2}, "total_files": 2}"#,
    );
    let page = render(
        &Reading::read(text).unwrap(),
        text,
        &Context {
            input: None,
            json: JsonReport::Stdout,
        },
    );
    assert!(page.contains("The JSON report went to standard output"));
    assert!(!page.contains("href="));
}

#[test]
fn long_lists_are_read_folded_and_counted_whole() {
    let files: Vec<String> = (0..60).map(|i| format!("d/game_{i}.json")).collect();
    let results: Vec<Value> = (0..60)
        .map(|i| {
            json!({"file_path": format!("d{}/f{i}.json", i % 2), "is_valid": i % 3 != 0,
                   "format": "Json", "error": if i % 3 == 0 { json!("invalid JSON: x at line 1, column 1") } else { json!(null) },
                   "warnings": []})
        })
        .collect();
    let report = json!({
        "generator": "image-sidecar-rust 0.1.0", "pipeline": "p", "stages": {
            "check": {"kind": "validate", "total_files": 60, "valid_files": 40, "invalid_files": 20,
                "warnings": 0, "warning_counts": {}, "directory_files": files, "results": results,
                "elapsed_seconds": 0.0}
        }
    });
    let text = serde_json::to_vec(&report).unwrap();
    let reading = Reading::read(Text::Bytes(&text)).unwrap();
    assert_eq!(
        reading.cuts,
        [
            ("/stages/check/directory_files".to_owned(), 60),
            ("/stages/check/results".to_owned(), 60)
        ]
    );
    let listing = reading.list("/stages/check/results").unwrap();
    assert_eq!(
        listing.listed, 20,
        "every invalid file, past the kept ones too"
    );
    assert!(listing.every_file);
    let (count, worst) = listing.worst_directories();
    assert_eq!(count, 2);
    assert_eq!(worst[0], ("d0", 10, 30));
    let page = page_of(&report);
    assert!(page.contains("60 directory-level result files left out of the counts"));
    assert!(page.contains("<td>d0</td><td>10</td><td>30</td><td>33%</td>"));
}

#[test]
fn long_names_and_many_plugin_fields_stay_within_the_bound() {
    let long = "&".repeat(2_000);
    let tally = |n: usize| -> Value {
        Value::Object((0..n).map(|i| (format!("{long}{i}"), json!(i))).collect())
    };
    let mut report = json!({
        "generator": "image-sidecar-rust 0.1.0", "total_sidecars": 1, "total_images": 1,
        "unreadable_sidecars": 0, "operation_counts": tally(40), "xmp_keywords": tally(40),
        "xmp_labels": tally(40), "files_by_format": {"Json": 1}, "bytes_by_format": {"Json": 1},
        "total_bytes": 1, "sidecars_without_image": 0, "images_without_sidecar": 0,
        "images_with_several_sidecars": 0, "disagreeing_sidecars": [], "directory_files": [],
        "errors": [], "elapsed_seconds": 0.0
    });
    // Field names long enough that drawing them whole as captions would pass the bound.
    let long_name = "&".repeat(60_000);
    report[format!("{long_name}plugin_total")] = json!(7);
    for i in 0..299 {
        report[format!("{long_name}plugin_field_{i}")] = tally(40);
    }
    let page = page_of(&report);
    assert!(page.len() <= SIZE_BOUND, "{} bytes", page.len());
    assert!(page.contains("The first 40 of 300 fields"));
}
