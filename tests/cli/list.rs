//! `list`: one line per photo with all of its sidecars (both naming conventions, darktable
//! duplicates, upper-case extensions), photos without a sidecar, one line per orphan, what
//! cannot be read listed with its error, `--operation-type` and shards.

use crate::harness::{assert_exit, Tree};

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn tree() -> Tree {
    let tree = Tree::new();
    let xmp = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="3"/></rdf:RDF></x:xmpmeta>"#;
    for (name, text) in [
        ("a/IMG_0001.CR3", "raw"),
        (
            "a/IMG_0001.json",
            r#"{"sidecar_info": {"operation_type": "face_detection"}, "face_detection": {"faces": []}}"#,
        ),
        ("a/IMG_0001.CR3.xmp", xmp),
        ("a/IMG_0001_01.CR3.xmp", xmp),
        ("a/IMG_0002.JPG", "jpg"),
        ("a/IMG_0003.jpg", "jpg"),
        ("a/IMG_0003.json", r#"{"yolov8": {"objects": []}}"#),
        ("a/orphan.json", r#"{"yolov8": {}}"#),
        ("a/game_detection.json", r#"{"games": []}"#),
        ("b/IMG_0004.jpg", "jpg"),
        ("b/IMG_0004.json", "{"),
    ] {
        tree.write(name, text);
    }
    tree
}

fn names(line: &serde_json::Value) -> Vec<String> {
    line["sidecars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            std::path::Path::new(s["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn image_name(line: &serde_json::Value) -> Option<String> {
    line["image"].as_str().map(|p| {
        std::path::Path::new(p)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    })
}

#[test]
fn one_line_per_photo_with_all_its_sidecars_and_one_per_orphan() {
    let tree = tree();
    let before = tree.snapshot();
    let out = tree.run(&["list", "--workers", "1"]);
    assert_exit(&out, 0, "list");
    let rows = lines(&out.stdout);
    let by_image = |name: &str| {
        rows.iter()
            .find(|r| image_name(r).as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} listed"))
    };
    assert_eq!(
        names(by_image("IMG_0001.CR3")),
        ["IMG_0001.CR3.xmp", "IMG_0001.json", "IMG_0001_01.CR3.xmp"]
    );
    let first = &by_image("IMG_0001.CR3")["sidecars"];
    let json = first
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["format"] == "json")
        .unwrap();
    assert_eq!(json["operations"], serde_json::json!(["face_detection"]));
    assert!(
        names(by_image("IMG_0002.JPG")).is_empty(),
        "a photo without a sidecar"
    );
    assert_eq!(names(by_image("IMG_0003.jpg")), ["IMG_0003.json"]);
    let broken = &by_image("IMG_0004.jpg")["sidecars"][0];
    assert!(
        broken["error"].as_str().unwrap().contains("JSON"),
        "{broken}"
    );
    let orphans: Vec<_> = rows.iter().filter(|r| r["image"].is_null()).collect();
    assert_eq!(orphans.len(), 1);
    assert_eq!(names(orphans[0]), ["orphan.json"]);
    assert_eq!(
        rows.len(),
        5,
        "four photos and one orphan; game_detection.json is no sidecar"
    );
    assert_eq!(tree.snapshot(), before, "list changes nothing");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("photos.jsonl");
    let report = tree.report(&["list", "--output", file.to_str().unwrap()]);
    assert_eq!(report["photos"], 4);
    assert_eq!(report["photos_without_sidecar"], 1);
    assert_eq!(report["sidecars"], 6);
    assert_eq!(report["orphan_sidecars"], 1);
    assert_eq!(report["unreadable_sidecars"], 1);
    assert_eq!(report["directory_files"].as_array().unwrap().len(), 1);
    assert_eq!(lines(&std::fs::read(&file).unwrap()).len(), 5);
    let again = tree.run(&["list", "--output", file.to_str().unwrap()]);
    assert_exit(&again, 2, "list over an existing file");
    assert_exit(
        &tree.run(&[
            "list",
            "--strict",
            "--output",
            dir.path().join("s.jsonl").to_str().unwrap(),
        ]),
        1,
        "list --strict with an unreadable sidecar",
    );
}

#[test]
fn operation_type_keeps_the_photos_holding_it_and_shards_add_up() {
    let tree = tree();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("faces.jsonl");
    let report = tree.report(&[
        "list",
        "--operation-type",
        "face_detection",
        "--output",
        file.to_str().unwrap(),
    ]);
    let rows = lines(&std::fs::read(&file).unwrap());
    let mut listed: Vec<_> = rows.iter().filter_map(image_name).collect();
    listed.sort();
    // The unreadable sidecar is listed whatever the filter: it might hold anything.
    assert_eq!(listed, ["IMG_0001.CR3", "IMG_0004.jpg"], "{rows:?}");
    let first = rows
        .iter()
        .find(|r| image_name(r).as_deref() == Some("IMG_0001.CR3"))
        .unwrap();
    assert_eq!(names(first), ["IMG_0001.json"]);
    assert_eq!(
        report["operation_types"],
        serde_json::json!(["face_detection"])
    );
    assert_eq!(report["filtered_photos"], 2);

    let mut photos = 0;
    let mut orphans = 0;
    for shard in ["0/3", "1/3", "2/3"] {
        let out = dir.path().join(format!("part-{}.jsonl", &shard[..1]));
        let report = tree.report(&["list", "--shard", shard, "--output", out.to_str().unwrap()]);
        photos += report["photos"].as_u64().unwrap();
        orphans += report["orphan_sidecars"].as_u64().unwrap();
    }
    assert_eq!(
        (photos, orphans),
        (4, 1),
        "each photo listed by exactly one shard"
    );
}
