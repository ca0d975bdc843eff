//! XMP against a real client: ExifTool reads every XMP file the tool writes with the same tags
//! as the original, and the tool reads, validates and counts what ExifTool writes. ExifTool is
//! required (`make test` installs it): these tests fail, never skip, without it.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value as Json};

use crate::harness::{data, parse, result_for, Tree};

const SAMPLES: &[&str] = &[
    "IMG_0001.CR3.xmp",
    "IMG_0001_01.CR3.xmp",
    "IMG_0002.xmp",
    "IMG_0003.NEF.xmp",
];

fn exiftool() -> Command {
    let available = Command::new("exiftool")
        .arg("-ver")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        available,
        "ExifTool is needed for the XMP interop tests: apt-get install libimage-exiftool-perl \
         (the README's test command, make test, installs it)"
    );
    Command::new("exiftool")
}

/// Every XMP tag ExifTool reads from a file, by group and name, numbers as numbers.
fn tags(path: &Path) -> Json {
    let out = exiftool()
        .args(["-j", "-G1", "-XMP:all", "-n"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut tags = parse(&out.stdout)[0].clone();
    tags.as_object_mut().unwrap().shift_remove("SourceFile");
    assert!(
        tags.as_object().unwrap().len() > 3,
        "ExifTool read nothing: {tags}"
    );
    tags
}

/// A tree of the hand-written samples beside their images (Lightroom's beside a CR3 too).
fn library() -> Tree {
    let tree = Tree::new();
    for name in SAMPLES {
        tree.write(name, std::fs::read(data(&format!("xmp/{name}"))).unwrap());
    }
    for image in ["IMG_0001.CR3", "IMG_0002.CR3", "IMG_0003.NEF"] {
        tree.write(image, b"raw");
    }
    tree
}

#[test]
fn xmp_through_bin_and_rkyv_reads_back_in_exiftool_with_the_same_tags() {
    let tree = library();
    let originals = Tree::new();
    let to_bin = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(to_bin["converted"], 4, "{to_bin:#}");
    for name in SAMPLES {
        assert!(tree.join(name).exists(), "{name}: XMP sources stay");
        std::fs::rename(tree.join(name), originals.join(name)).unwrap();
    }
    assert!(
        tree.join("IMG_0001_01.CR3.bin").exists(),
        "the naming convention is kept"
    );
    assert_eq!(
        tree.report(&["convert", "--format", "rkyv"])["converted"],
        4
    );
    assert_eq!(tree.report(&["convert", "--format", "xmp"])["converted"], 4);
    for name in SAMPLES {
        assert_eq!(
            tags(&tree.join(name)),
            tags(&originals.join(name)),
            "{name}: ExifTool reads other tags after XMP → bin → rkyv → XMP"
        );
    }
    assert_eq!(
        tree.files(),
        [
            "IMG_0001.CR3",
            "IMG_0001.CR3.xmp",
            "IMG_0001_01.CR3.xmp",
            "IMG_0002.CR3",
            "IMG_0002.xmp",
            "IMG_0003.NEF",
            "IMG_0003.NEF.xmp"
        ]
    );
}

#[test]
fn what_exiftool_writes_is_read_validated_and_counted() {
    let tree = Tree::new();
    tree.write("IMG_0004.CR3", b"raw");
    tree.write("IMG_0005.HEIC", b"heic");
    for (file, args) in [
        (
            "IMG_0004.CR3.xmp",
            &[
                "-XMP-xmp:Rating=4",
                "-XMP-xmp:Label=Green",
                "-XMP-dc:Subject=goal",
                "-XMP-dc:Subject=match",
                "-XMP-dc:Title=Late winner",
                "-XMP-dc:Title-de=Später Siegtreffer",
                "-XMP-xmp:CreateDate=2025:09:20 15:33:02+02:00",
            ][..],
        ),
        (
            "IMG_0005.xmp",
            &["-XMP-xmp:Rating=4", "-XMP-dc:Subject=goal"][..],
        ),
        ("alone.xmp", &["-XMP-xmp:Rating=-1"][..]),
    ] {
        let out = exiftool()
            .arg("-q")
            .args(args)
            .arg(tree.join(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let validate = tree.report(&["validate"]);
    assert_eq!(validate["total_files"], 3, "{validate:#}");
    assert_eq!(validate["invalid_files"], 0, "{validate:#}");
    let stats = tree.report(&["stats"]);
    assert_eq!(stats["sidecars_without_image"], 1, "{stats:#}");
    assert_eq!(stats["files_by_format"]["Xmp"], 3);
    assert_eq!(stats["xmp_ratings"], json!({"-1": 1, "4": 2}));
    assert_eq!(stats["xmp_labels"], json!({"Green": 1}));
    assert_eq!(stats["xmp_keywords"], json!({"goal": 2, "match": 1}));

    let before = tags(&tree.join("IMG_0004.CR3.xmp"));
    let to_json = tree.report(&["convert", "--format", "json"]);
    assert_eq!(to_json["converted"], 3);
    let json: Json =
        serde_json::from_slice(&std::fs::read(tree.join("IMG_0004.CR3.json")).unwrap()).unwrap();
    assert_eq!(
        json["xmp:Rating"], "4",
        "JSON for a Python pipeline: {json:#}"
    );
    assert_eq!(json["dc:title"]["@alt"][1]["@lang"], "de");
    // Back to XMP under a new name: ExifTool reads the same tags.
    let aside = Tree::new();
    std::fs::rename(
        tree.join("IMG_0004.CR3.xmp"),
        aside.join("IMG_0004.CR3.xmp"),
    )
    .unwrap();
    let back = tree.report(&["convert", "--format", "xmp"]);
    assert_eq!(
        back["converted"], 3,
        "one written, two found equal: {back:#}"
    );
    assert!(!tree.join("IMG_0004.CR3.json").exists());
    assert_eq!(tags(&tree.join("IMG_0004.CR3.xmp")), before);
}

#[test]
fn xmp_libraries_pair_validate_and_count_and_keep_their_files() {
    let tree = library();
    tree.write(
        "alone.xmp",
        std::fs::read(data("xmp/IMG_0002.xmp")).unwrap(),
    );
    let validate = tree.report(&["validate"]);
    assert_eq!(validate["total_files"], 5);
    assert_eq!(validate["invalid_files"], 0, "{validate:#}");
    let stats = tree.report(&["stats"]);
    assert_eq!(stats["total_images"], 3);
    assert_eq!(stats["images_without_sidecar"], 0, "{stats:#}");
    assert_eq!(
        stats["sidecars_without_image"], 1,
        "the darktable duplicate belongs to IMG_0001.CR3: {stats:#}"
    );
    assert_eq!(
        stats["xmp_ratings"],
        json!({"-1": 1, "3": 1, "4": 2, "5": 1})
    );
    assert_eq!(stats["xmp_labels"], json!({"Red": 2}));
    assert_eq!(stats["xmp_keywords"]["goal"], 4);

    tree.write(
        "broken.xmp",
        b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF",
    );
    let text = std::fs::read_to_string(data("xmp/IMG_0002.xmp"))
        .unwrap()
        .replace("xmp:Rating=\"4\"", "xmp:Rating=\"9\"");
    tree.write("rated9.xmp", text);
    let validate = tree.report(&["validate"]);
    assert_eq!(validate["invalid_files"], 2);
    assert!(result_for(&validate, "results", "broken.xmp")["error"]
        .as_str()
        .unwrap()
        .contains("line 1"));
    assert!(result_for(&validate, "results", "rated9.xmp")["error"]
        .as_str()
        .unwrap()
        .contains("xmp:Rating"));
    std::fs::remove_file(tree.join("broken.xmp")).unwrap();
    std::fs::remove_file(tree.join("rated9.xmp")).unwrap();

    let removed = tree.report(&["convert", "--format", "bin", "--remove-shared-sources"]);
    assert_eq!(removed["converted"], 5);
    assert!(
        !tree.join("IMG_0002.xmp").exists(),
        "removed only when asked"
    );
}

/// A packet with `body` as the properties of its one description (dc and xmp declared).
fn packet(body: &str, attributes: &str) -> String {
    format!(
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" {attributes}><xmp:Rating>3</xmp:Rating><xmp:Nickname>n</xmp:Nickname>{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
}

#[test]
fn line_ends_and_white_space_in_values_come_back_as_exiftool_read_them() {
    let tree = Tree::new();
    let original = packet(
        "<xmp:Identifier>x\ry\r\nz\tw</xmp:Identifier><xmp:CreatorTool>one\ntwo</xmp:CreatorTool>",
        "xmp:Label=\"a\r\nb\tc\"",
    );
    tree.write("IMG_0001.CR3.xmp", &original);
    tree.write("IMG_0001.CR3", b"raw");
    let originals = Tree::new();
    let kept = originals.write("IMG_0001.CR3.xmp", &original);
    let before = tags(&kept);
    assert_eq!(
        before["XMP-xmp:Identifier"], "x\ry\r\nz\tw",
        "ExifTool keeps them"
    );
    let to_bin = tree.report(&["convert", "--format", "bin", "--remove-shared-sources"]);
    assert_eq!(to_bin["converted"], 1, "{to_bin:#}");
    assert!(!tree.join("IMG_0001.CR3.xmp").exists());
    assert_eq!(tree.report(&["convert", "--format", "xmp"])["converted"], 1);
    assert_eq!(tags(&tree.join("IMG_0001.CR3.xmp")), before);
}

#[test]
fn packets_readers_disagree_on_or_that_xml_forbids_are_refused_and_kept() {
    let cases = [
        (
            "comment",
            packet("<xmp:CreatorTool>a<!-- c -->b</xmp:CreatorTool>", ""),
            "a comment or processing instruction inside the value",
        ),
        (
            "processing instruction",
            packet("<xmp:CreatorTool>a<?pi x?>b</xmp:CreatorTool>", ""),
            "a comment or processing instruction inside the value",
        ),
        (
            "two prefixes",
            packet(
                "<xap:Label>Red</xap:Label>",
                "xmlns:xap=\"http://ns.adobe.com/xap/1.0/\"",
            ),
            "bound to two prefixes",
        ),
        (
            "NUL",
            packet("<xmp:CreatorTool>a\u{0}b</xmp:CreatorTool>", ""),
            "U+0000 (NUL) is not allowed in XML",
        ),
        (
            "NUL by reference",
            packet("<xmp:CreatorTool>a&#0;b</xmp:CreatorTool>", ""),
            "&#0; names a character XML forbids",
        ),
        (
            "control character in an attribute",
            packet("", "xmp:Label=\"a&#x1;b\""),
            "which XML forbids",
        ),
    ];
    for (what, text, says) in cases {
        let tree = Tree::new();
        tree.write("IMG_0001.CR3", b"raw");
        let path = tree.write("IMG_0001.CR3.xmp", &text);
        let out = tree.run(&[
            "convert",
            "--format",
            "bin",
            "--remove-shared-sources",
            "--strict",
        ]);
        assert_eq!(out.status.code(), Some(1), "{what}: the file is refused");
        let report = parse(&out.stdout);
        assert_eq!(report["invalid"], 1, "{what}");
        let entry = result_for(&report, "results", "IMG_0001.CR3.xmp");
        assert!(
            entry["reason"].as_str().unwrap().contains(says),
            "{what}: {entry:#}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            text.as_bytes(),
            "{what}: kept"
        );
        assert!(
            !tree.join("IMG_0001.CR3.bin").exists(),
            "{what}: nothing written"
        );
    }
}

#[test]
fn a_rerun_over_kept_xmp_sources_converts_nothing_again() {
    let tree = library();
    let first = tree.report(&["convert", "--format", "bin"]);
    let converted = first["converted"].as_u64().unwrap();
    assert!(converted > 0, "{first:#}");
    let after_first = tree.snapshot();
    let again = tree.report(&["convert", "--format", "bin"]);
    assert_eq!(again["converted"], 0, "nothing left to do: {again:#}");
    let recognised = again["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["file_path"].as_str().unwrap().ends_with(".xmp")
                && r["status"] == "skipped"
                && r["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("already converted")
        })
        .count() as u64;
    assert_eq!(recognised, converted, "each kept XMP source: {again:#}");
    assert_eq!(tree.snapshot(), after_first, "and nothing was written");
}

#[test]
fn stats_say_which_images_more_than_one_sidecar_describes() {
    let tree = Tree::new();
    for image in ["IMG_0002.CR3", "IMG_0005.CR3"] {
        tree.write(image, b"raw");
        tree.write(
            format!("{image}.xmp"),
            std::fs::read(data("xmp/IMG_0002.xmp")).unwrap(),
        );
    }
    let before = tree.report(&["stats", "--no-cache"]);
    assert_eq!(before["images_with_several_sidecars"], 0, "{before:#}");
    let ratings = |report: &Json| report["xmp_ratings"]["4"].as_u64().unwrap_or(0);
    assert_eq!(ratings(&before), 2);
    let converted = tree.report(&["convert", "--format", "json"]);
    assert_eq!(
        converted["converted"], 2,
        "the XMP files stay: {converted:#}"
    );
    let after = tree.report(&["stats", "--no-cache"]);
    // Each image is described twice, and each description is counted.
    assert_eq!(after["images_with_several_sidecars"], 2, "{after:#}");
    assert_eq!(ratings(&after), 4);
}
