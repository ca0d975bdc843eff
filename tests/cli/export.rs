//! `export`: JSON Lines rows hold each document exactly (checked against the codecs' own
//! reading), `--rows` and `--fields` choose rows and columns, CSV takes ExifTool's layout, an
//! existing output is never replaced, nothing is left out silently. ExifTool reading the CSV
//! back, and Python, DuckDB and polars reading the JSON Lines, are in python/tests.

use crate::harness::{assert_exit, Tree};
use crate::read_value;

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The examples, with the one `NaN` file left out (serde_json, the oracle here, refuses NaN).
fn examples() -> Tree {
    let tree = Tree::examples();
    std::fs::remove_file(tree.join("IMG_0042.json")).unwrap();
    tree
}

#[test]
fn json_lines_hold_every_document_exactly() {
    let tree = examples();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("sidecars.jsonl");
    let report = tree.report(&[
        "export",
        "--format",
        "jsonl",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(report["exported_sidecars"], 5, "{report:#}");
    assert_eq!(report["rows"], 5);
    assert_eq!(report["not_exported"].as_array().unwrap().len(), 0);
    let rows = lines(&std::fs::read(&output).unwrap());
    assert_eq!(rows.len(), 5);
    for row in &rows {
        let path = std::path::Path::new(row["path"].as_str().unwrap());
        let expected: serde_json::Value = match path.extension().and_then(|e| e.to_str()) {
            // The legacy file: its JSON payload after the length prefix.
            Some("bin") => serde_json::from_slice(&std::fs::read(path).unwrap()[8..]).unwrap(),
            _ => sidecar_model::serde::from_view(read_value(path).view()).unwrap(),
        };
        assert_eq!(row["document"], expected, "{}", path.display());
        assert_eq!(row["size"], std::fs::metadata(path).unwrap().len());
    }
    let pending = rows
        .iter()
        .find(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .ends_with("20250920_153304.000.json")
        })
        .unwrap();
    assert!(pending["image"].is_null(), "its photo is missing");
    let legacy = rows
        .iter()
        .find(|r| r["format"] == "legacy")
        .expect("the legacy file is exported");
    assert!(legacy["image"]
        .as_str()
        .unwrap()
        .ends_with("20250101_000001.000.jpg"));
    assert_eq!(
        dir.path().read_dir().unwrap().count(),
        1,
        "no temporary file is left"
    );
}

#[test]
fn rows_and_fields_choose_one_row_per_face() {
    let tree = examples();
    let out = tree.run(&[
        "export",
        "--format",
        "jsonl",
        "--rows",
        "/face_detection/faces",
        "--fields",
        "/confidence,/bbox/x,/missing",
        "--workers",
        "1",
    ]);
    assert_exit(&out, 0, "export --rows");
    assert!(out.stderr.is_empty());
    let rows = lines(&out.stdout);
    let source = tree.join("20250920_153300.120.json");
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&source).unwrap()).unwrap();
    let faces = document["face_detection"]["faces"].as_array().unwrap();
    let mine: Vec<_> = rows
        .iter()
        .filter(|r| r["path"] == source.to_str().unwrap())
        .collect();
    assert_eq!(mine.len(), faces.len());
    for (i, row) in mine.iter().enumerate() {
        assert_eq!(row["index"], i);
        assert_eq!(row["/confidence"], faces[i]["confidence"]);
        assert_eq!(row["/bbox/x"], faces[i]["bbox"]["x"]);
        assert!(row["/missing"].is_null());
        assert!(row.get("row").is_none() && row.get("document").is_none());
    }
}

#[test]
fn non_finite_floats_are_python_tokens_or_counted_nulls() {
    let tree = Tree::new();
    tree.write("IMG_0001.json", r#"{"a": NaN, "b": [Infinity, 1.5]}"#);
    let token = tree.run(&["export", "--format", "jsonl"]);
    assert_exit(&token, 0, "export");
    assert!(
        String::from_utf8_lossy(&token.stdout)
            .contains(r#""document":{"a":NaN,"b":[Infinity,1.5]}"#),
        "{}",
        String::from_utf8_lossy(&token.stdout)
    );
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("strict.jsonl");
    let report = tree.report(&[
        "export",
        "--format",
        "jsonl",
        "--non-finite",
        "null",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(report["non_finite_as_null"], 2);
    let rows = lines(&std::fs::read(&output).unwrap());
    assert_eq!(
        rows[0]["document"],
        serde_json::json!({"a": null, "b": [null, 1.5]})
    );
}

#[test]
fn an_existing_output_is_never_replaced_and_shards_name_their_own() {
    let tree = examples();
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("taken.jsonl");
    std::fs::write(&taken, "someone's data").unwrap();
    let out = tree.run(&[
        "export",
        "--format",
        "jsonl",
        "--output",
        taken.to_str().unwrap(),
    ]);
    assert_exit(&out, 2, "export over an existing file");
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    assert_eq!(std::fs::read_to_string(&taken).unwrap(), "someone's data");

    let pattern = dir.path().join("part-{shard}.jsonl");
    let mut total = 0;
    for shard in ["0/2", "1/2"] {
        let report = tree.report(&[
            "export",
            "--format",
            "jsonl",
            "--shard",
            shard,
            "--output",
            pattern.to_str().unwrap(),
        ]);
        total += report["rows"].as_u64().unwrap();
    }
    assert_eq!(total, 5, "the shards' rows add up to the tree's");
    let parts = |i| lines(&std::fs::read(dir.path().join(format!("part-{i}.jsonl"))).unwrap());
    assert_eq!(parts(0).len() + parts(1).len(), 5);

    let unsharded = tree.run(&[
        "export",
        "--format",
        "jsonl",
        "--output",
        pattern.to_str().unwrap(),
    ]);
    assert_exit(&unsharded, 2, "{shard} without --shard");
}

#[test]
fn what_cannot_be_read_is_reported_never_dropped() {
    let tree = examples();
    tree.write("broken.json", "{");
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("rows.jsonl");
    let report = tree.report(&[
        "export",
        "--format",
        "jsonl",
        "--output",
        output.to_str().unwrap(),
    ]);
    let skipped = report["not_exported"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{report:#}");
    assert!(skipped[0]["file_path"]
        .as_str()
        .unwrap()
        .ends_with("broken.json"));
    let strict = tree.run(&[
        "export",
        "--format",
        "jsonl",
        "--strict",
        "--output",
        dir.path().join("again.jsonl").to_str().unwrap(),
    ]);
    assert_exit(&strict, 1, "export --strict with an unreadable file");

    // With the rows on stdout, what was left out is said on stderr.
    let out = tree.run(&["export", "--format", "jsonl"]);
    assert_exit(&out, 0, "export to stdout");
    assert_eq!(lines(&out.stdout).len(), 5);
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.json: not exported"));

    let bad = tree.run(&["export", "--format", "jsonl", "--rows", "faces"]);
    assert_exit(&bad, 2, "a pointer without its slash");
}

#[test]
fn csv_follows_exiftools_layout() {
    let tree = Tree::copy_of("xmp");
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("tags.csv");
    let report = tree.report(&[
        "export",
        "--format",
        "csv",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(report["rows"], 4, "{report:#}");
    let mut reader = csv::Reader::from_path(&output).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header[0], "SourceFile");
    for tag in [
        "XMP-xmp:Rating",
        "XMP-dc:Subject",
        "XMP-exif:FlashFired",
        "XMP-dc:Title-de",
    ] {
        assert!(header.iter().any(|h| h == tag), "{tag} in {header:?}");
    }
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = records
        .iter()
        .find(|r| r[0].ends_with("IMG_0003.NEF.xmp"))
        .unwrap();
    assert_eq!(&row[column("XMP-xmp:Rating")], "5");
    assert_eq!(&row[column("XMP-dc:Subject")], "Football, Derby 2025");
    let lightroom = records
        .iter()
        .find(|r| r[0].ends_with("IMG_0002.xmp"))
        .unwrap();
    assert_eq!(&lightroom[column("XMP-dc:Title")], "Late winner");
    assert!(
        lightroom[column("XMP-xmpMM:History")].starts_with("[{Action=derived,Parameters=converted"),
        "{}",
        &lightroom[column("XMP-xmpMM:History")]
    );
    // The same header whatever the number of workers.
    let again = dir.path().join("again.csv");
    tree.report(&[
        "export",
        "--format",
        "csv",
        "--workers",
        "1",
        "--output",
        again.to_str().unwrap(),
    ]);
    let first_line = |p: &std::path::Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(first_line(&output), first_line(&again));
}

#[test]
fn parquet_types_each_column_and_refuses_a_conflict_naming_both_files() {
    let tree = examples();
    let dir = tempfile::tempdir().unwrap();
    let refused = tree.run(&[
        "export",
        "--format",
        "parquet",
        "--output",
        dir.path().join("all.parquet").to_str().unwrap(),
    ]);
    assert_exit(&refused, 2, "a list of lists and objects");
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("/extra/nested/*") && message.contains("20250920_153304.000.json"),
        "{message}"
    );
    assert_eq!(
        dir.path().read_dir().unwrap().count(),
        0,
        "nothing left behind"
    );

    let output = dir.path().join("faces.parquet");
    let report = tree.report(&[
        "export",
        "--format",
        "parquet",
        "--rows",
        "/face_detection/faces",
        "--fields",
        "/confidence,/bbox",
        "--output",
        output.to_str().unwrap(),
    ]);
    let file = std::fs::File::open(&output).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = 0;
    for batch in reader {
        let batch = batch.unwrap();
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "path",
                "image",
                "format",
                "size",
                "index",
                "/confidence",
                "/bbox"
            ]
        );
        let confidence = batch
            .column_by_name("/confidence")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::Float64Array>()
            .expect("a float column");
        assert!(confidence
            .iter()
            .all(|c| c.is_some_and(|c| (0.0..=1.0).contains(&c))));
        rows += batch.num_rows();
    }
    assert_eq!(rows as u64, report["rows"].as_u64().unwrap());
    assert!(rows > 0);
}

#[test]
fn a_json_documents_numbers_are_written_as_the_file_writes_them() {
    let tree = Tree::new();
    tree.write("IMG_0001.jpg", b"jpg");
    tree.write(
        "IMG_0001.json",
        "{\n  \"a\": 1.50,\n  \"b\": [\n    1e5,\n    NaN,\n    \"x \\\" y\"\n  ]\n}\n",
    );
    let out = tree.run(&["export", "--format", "jsonl"]);
    assert_exit(&out, 0, "export");
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.contains(r#","document":{"a":1.50,"b":[1e5,NaN,"x \" y"]}}"#),
        "{line}"
    );
    // Converted to Binary, the same values are written as Python's repr() prints them.
    tree.report(&["convert", "--format", "bin"]);
    let out = tree.run(&["export", "--format", "jsonl"]);
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.contains(r#","document":{"a":1.5,"b":[100000.0,NaN,"x \" y"]}}"#),
        "{line}"
    );
}

/// `export --format parquet --types TYPES --output OUTPUT` of `tree`.
fn export_declared(
    tree: &Tree,
    types: &std::path::Path,
    output: &std::path::Path,
) -> std::process::Output {
    tree.run(&[
        "export",
        "--format",
        "parquet",
        "--types",
        types.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ])
}

/// The column types of a Parquet file, as Arrow reads them back.
fn parquet_schema(path: &std::path::Path) -> arrow_schema::SchemaRef {
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .schema()
        .clone()
}

fn not_exported(report: &serde_json::Value) -> Vec<(String, String)> {
    report["not_exported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file_path"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn declared_types_are_the_columns_types_and_a_file_that_does_not_fit_is_reported() {
    use arrow_schema::DataType;
    let tree = Tree::new();
    for (name, doc) in [
        ("a", r#"{"n": 1, "tags": ["x"]}"#),
        ("b", r#"{"n": 2}"#),
        ("c", r#"{"n": "three"}"#),
        ("d", r#"{"n": 4, "extra": true}"#),
    ] {
        tree.write(format!("{name}.jpg"), b"jpg");
        tree.write(format!("{name}.json"), doc);
    }
    let dir = tempfile::tempdir().unwrap();
    let types = dir.path().join("types.json");
    std::fs::write(&types, r#"{"n": "float64", "tags": ["string"]}"#).unwrap();
    let output = dir.path().join("rows.parquet");
    let out = export_declared(&tree, &types, &output);
    assert_exit(&out, 0, "two files do not fit the declared types");
    let report = crate::harness::parse(&out.stdout);
    assert_eq!(report["exported_sidecars"], 2, "{report:#}");
    let schema = parquet_schema(&output);
    let DataType::Struct(fields) = schema.field_with_name("document").unwrap().data_type() else {
        panic!("{schema:?}")
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["n", "tags"], "the declared order");
    // Inferred, `n` would be int64: the declared type wins.
    assert_eq!(fields[0].data_type(), &DataType::Float64);
    assert!(
        matches!(fields[1].data_type(), DataType::List(item) if item.data_type() == &DataType::Utf8),
        "{fields:?}"
    );
    let left = not_exported(&report);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left[0].0.ends_with("c.json"), "{left:?}");
    assert!(
        left[0].1 == "/n holds a string, not float64 as the declared types say",
        "{left:?}"
    );
    assert!(left[1].0.ends_with("d.json"), "{left:?}");
    assert!(
        left[1].1 == "/extra is not in the declared types",
        "{left:?}"
    );

    // The file just written declares the same types again, footer and all.
    let again = dir.path().join("again.parquet");
    let out = export_declared(&tree, &output, &again);
    assert_exit(&out, 0, "the same two files do not fit");
    assert_eq!(parquet_schema(&again), schema);
    assert_eq!(
        not_exported(&crate::harness::parse(&out.stdout)),
        left,
        "the same files, for the same reasons"
    );
}

#[test]
fn an_inferred_export_declares_its_types_for_the_next_one() {
    let tree = examples();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("faces.parquet");
    let export = |output: &std::path::Path, types: Option<&std::path::Path>| {
        let mut args = vec![
            "export",
            "--format",
            "parquet",
            "--rows",
            "/face_detection/faces",
            "--workers",
            "1",
            "--output",
            output.to_str().unwrap(),
        ];
        if let Some(types) = types {
            args.extend(["--types", types.to_str().unwrap()]);
        }
        tree.report(&args)
    };
    let inferred = export(&first, None);
    let second = dir.path().join("again.parquet");
    let declared = export(&second, Some(&first));
    assert_eq!(parquet_schema(&first), parquet_schema(&second));
    assert_eq!(inferred["rows"], declared["rows"]);
    assert!(inferred["rows"].as_u64().unwrap() > 0);
    let read = |path: &std::path::Path| {
        let file = std::fs::File::open(path).unwrap();
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    assert_eq!(read(&first), read(&second), "the same rows");
}

#[test]
fn broken_types_are_usage_errors_that_say_where() {
    let tree = Tree::new();
    tree.write("a.jpg", b"jpg");
    tree.write("a.json", r#"{"n": 1}"#);
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("rows.parquet");
    let cases = [
        (
            "syntax.json",
            "{\n  \"n\": \"int64\",\n}",
            "syntax.json:3:1",
        ),
        (
            "unknown.json",
            r#"{"n": {"m": ["int"]}}"#,
            "at /n/m/0: unknown type \"int\"",
        ),
        (
            "two.json",
            r#"{"n": ["int64", "string"]}"#,
            "at /n: a list type holds one",
        ),
        ("number.json", r#"{"n": 3}"#, "at /n: 3 is not a type"),
    ];
    for (name, text, expect) in cases {
        let types = dir.path().join(name);
        std::fs::write(&types, text).unwrap();
        let out = export_declared(&tree, &types, &output);
        assert_exit(&out, 2, name);
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(message.contains(expect), "{name}: {message}");
    }
    let types = dir.path().join("number.json");
    let out = tree.run(&[
        "export",
        "--format",
        "jsonl",
        "--types",
        types.to_str().unwrap(),
    ]);
    assert_exit(&out, 2, "--types with JSON Lines");
    assert!(String::from_utf8_lossy(&out.stderr).contains("goes with --format parquet"));
    let missing = dir.path().join("missing.json");
    let out = export_declared(&tree, &missing, &output);
    assert_exit(&out, 2, "a types file that does not exist");
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));
    assert!(!output.exists(), "nothing written");
}
