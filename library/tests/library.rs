//! The library against its promises: typed and untyped round trips in every written format, bit
//! for bit; pairing; safe writes that keep permissions and never replace unasked; merging an
//! operation's section in the sidecar's own format.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use image_sidecar::{Error, Formats, Overwrite, Value};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

/// The formats any document is written in. XMP holds what was read from XMP (its namespaces
/// travel with the document): tested on a file ExifTool wrote.
const WRITTEN: [&str; 3] = ["json", "bin", "rkyv"];

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Label {
    Person,
    Ball { radius: f64 },
    Scored(f32),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Detection {
    confidence: f64,
    id: i64,
    hash: u64,
    name: String,
    embedding: Vec<f32>,
    reviewed: Option<bool>,
    counts: BTreeMap<String, i64>,
    labels: Vec<Label>,
}

/// Floats compared by their bits; JSON spells one NaN, so any NaN stands for it there.
fn same_bits(a: f64, b: f64, format: &str) -> bool {
    a.to_bits() == b.to_bits() || (format == "json" && a.is_nan() && b.is_nan())
}

fn same(a: &Detection, b: &Detection, format: &str) -> bool {
    same_bits(a.confidence, b.confidence, format)
        && a.id == b.id
        && a.hash == b.hash
        && a.name == b.name
        && a.embedding.len() == b.embedding.len()
        && a.embedding
            .iter()
            .zip(&b.embedding)
            .all(|(x, y)| same_bits((*x).into(), (*y).into(), format))
        && a.reviewed == b.reviewed
        && a.counts == b.counts
        && a.labels.len() == b.labels.len()
        && a.labels.iter().zip(&b.labels).all(|pair| match pair {
            (Label::Person, Label::Person) => true,
            (Label::Ball { radius: x }, Label::Ball { radius: y }) => same_bits(*x, *y, format),
            (Label::Scored(x), Label::Scored(y)) => same_bits((*x).into(), (*y).into(), format),
            _ => false,
        })
}

fn label() -> impl Strategy<Value = Label> {
    prop_oneof![
        Just(Label::Person),
        any::<u64>().prop_map(|bits| Label::Ball {
            radius: f64::from_bits(bits)
        }),
        any::<f32>().prop_map(Label::Scored),
    ]
}

fn detection() -> impl Strategy<Value = Detection> {
    (
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            Just(-0.0),
            Just(f64::NAN),
            Just(f64::NEG_INFINITY),
            Just(f64::from_bits(1)),
        ],
        any::<i64>(),
        any::<u64>(),
        any::<String>(),
        prop::collection::vec(any::<f32>(), 0..20),
        any::<Option<bool>>(),
        prop::collection::btree_map(any::<String>(), any::<i64>(), 0..5),
        prop::collection::vec(label(), 0..4),
    )
        .prop_map(
            |(confidence, id, hash, name, embedding, reviewed, counts, labels)| Detection {
                confidence,
                id,
                hash,
                name,
                embedding,
                reviewed,
                counts,
                labels,
            },
        )
}

/// Whether a value holds a NaN other than the one JSON spells (a sign or payload bit set):
/// JSON refuses to write it rather than lose the bits.
fn has_unspellable_nan(value: &Value) -> bool {
    match value {
        Value::Float(x) => x.is_nan() && x.to_bits() != f64::NAN.to_bits(),
        Value::Array(items) => items.iter().any(has_unspellable_nan),
        Value::Object(map) => map.iter().any(|(_, v)| has_unspellable_nan(v)),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_type_comes_back_bit_for_bit_from_every_format(d in detection()) {
        let unspellable = has_unspellable_nan(&sidecar_model::serde::to_value(&d).unwrap());
        for format in WRITTEN {
            let bytes = match image_sidecar::to_vec(&d, format) {
                Err(Error::Encode { .. }) if format == "json" && unspellable => continue,
                written => written.unwrap(),
            };
            prop_assert_eq!(image_sidecar::detect(&bytes), Some(format));
            let back: Detection = image_sidecar::from_slice(&bytes).unwrap();
            prop_assert!(same(&d, &back, format), "{}: {:?} != {:?}", format, d, back);
        }
    }

    #[test]
    fn a_value_comes_back_equal_from_every_format(d in detection()) {
        let value = sidecar_model::serde::to_value(&d).unwrap();
        for format in WRITTEN {
            let written = image_sidecar::write(value.view(), format);
            if format == "json" && has_unspellable_nan(&value) {
                prop_assert!(matches!(written, Err(Error::Encode { .. })), "JSON refuses NaN bits it cannot spell");
                continue;
            }
            let back = image_sidecar::read_as(&written.unwrap(), format).unwrap();
            prop_assert!(back.value == value, "{}", format);
        }
    }

    /// The same with NaN payloads, which are common in random bits and rare in sidecars.
    #[test]
    fn nan_payloads_survive_the_binary_formats(bits in any::<u64>()) {
        let nan = f64::from_bits(bits | 0x7ff0_0000_0000_0001);
        for format in ["bin", "rkyv"] {
            let bytes = image_sidecar::to_vec(&vec![nan], format).unwrap();
            let back: Vec<f64> = image_sidecar::from_slice(&bytes).unwrap();
            prop_assert_eq!(back[0].to_bits(), nan.to_bits());
        }
        prop_assert!(image_sidecar::to_vec(&vec![nan], "json").is_err() || nan.to_bits() == f64::NAN.to_bits());
    }
}

#[test]
fn xmp_read_from_a_file_comes_back_from_every_format_and_as_xmp() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/xmp/IMG_0001.CR3.xmp"
    );
    let original = image_sidecar::read_path(std::path::Path::new(path)).unwrap();
    assert_eq!(original.format, "xmp");
    for format in ["xmp", "json", "bin", "rkyv"] {
        let bytes = image_sidecar::write(original.value.view(), format).unwrap();
        let back = image_sidecar::read(&bytes).unwrap();
        assert_eq!(back.format, format);
        assert!(back.value == original.value, "{format}");
        let again = image_sidecar::write(back.value.view(), "xmp").unwrap();
        assert!(
            image_sidecar::read(&again).unwrap().value == original.value,
            "{format} → xmp"
        );
    }
}

#[test]
fn a_document_that_does_not_fit_the_type_says_where() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Faces {
        faces: Vec<Face>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Face {
        bbox: Vec<f64>,
    }
    let bytes = br#"{"faces": [{"bbox": [1.0]}, {"bbox": [1.0, "x"]}]}"#;
    let error = image_sidecar::from_slice::<Faces>(bytes).unwrap_err();
    assert!(
        error.to_string().starts_with("/faces/1/bbox/1: "),
        "{error}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("IMG.json");
    std::fs::write(&path, bytes).unwrap();
    let error = image_sidecar::from_path::<Faces>(&path).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: /faces/1/bbox/1: ", path.display())),
        "{error}"
    );
}

#[test]
fn a_broken_file_names_itself_its_format_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("IMG.json");
    std::fs::write(&path, b"{\"a\": [1, 2").unwrap();
    let error = image_sidecar::read_path(&path).unwrap_err();
    let Error::Decode {
        path: Some(named),
        format,
        error: codec_error,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!((named, format.as_str()), (&path, "json"));
    assert!(codec_error.location.is_some(), "{error}");
}

#[test]
fn writing_never_replaces_unasked_and_keeps_the_replaced_files_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("IMG.bin");
    std::fs::write(&path, b"not mine").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let value = image_sidecar::read(b"{\"n\": 1}").unwrap().value;
    let error =
        image_sidecar::write_path(&path, value.view(), "bin", Overwrite::Never).unwrap_err();
    assert!(matches!(error, Error::Exists(_)), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), b"not mine");
    image_sidecar::write_path(&path, value.view(), "bin", Overwrite::Replace).unwrap();
    assert_eq!(image_sidecar::read_path(&path).unwrap().value, value);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file left");
}

#[test]
fn the_legacy_format_is_read_only() {
    let value = Value::Null;
    let error = image_sidecar::write(value.view(), "legacy").unwrap_err();
    assert!(matches!(error, Error::ReadOnly(_)), "{error}");
    let error = image_sidecar::write(value.view(), "yaml").unwrap_err();
    assert!(error.to_string().contains("known: bin, json"), "{error}");
}

#[test]
fn an_operation_is_merged_in_the_sidecars_own_format_and_place() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("IMG_0001.CR3");
    std::fs::write(&image, b"raw").unwrap();
    let sidecar = dir.path().join("IMG_0001.CR3.bin");
    let first = image_sidecar::read(br#"{"a": 1, "face_detection": {"old": true}, "z": 2}"#)
        .unwrap()
        .value;
    image_sidecar::write_path(&sidecar, first.view(), "bin", Overwrite::Never).unwrap();
    std::fs::set_permissions(&sidecar, std::fs::Permissions::from_mode(0o604)).unwrap();
    let section = image_sidecar::read(br#"{"faces_found": 3}"#).unwrap().value;
    let path = image_sidecar::save_operation(&image, "face_detection", &section, "json").unwrap();
    assert_eq!(path, sidecar);
    let merged = image_sidecar::read_path(&sidecar).unwrap();
    assert_eq!(merged.format, "bin");
    let expected =
        image_sidecar::read(br#"{"a": 1, "face_detection": {"faces_found": 3}, "z": 2}"#)
            .unwrap()
            .value;
    assert_eq!(merged.value, expected);
    let mode = std::fs::metadata(&sidecar).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o604);
    let added = image_sidecar::save_operation(&image, "quality", &Value::Int(7), "json").unwrap();
    assert_eq!(
        added, sidecar,
        "one sidecar: it is the one changed, whatever its format"
    );
    let keys: Vec<String> = image_sidecar::read_path(&sidecar)
        .unwrap()
        .value
        .view()
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, _)| k.to_owned())
        .collect();
    assert_eq!(keys, ["a", "face_detection", "z", "quality"]);
}

#[test]
fn several_sidecars_and_none_in_the_default_format_is_the_callers_choice() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("IMG_0001.jpg");
    let formats = Formats::builtin();
    for (name, format) in [("IMG_0001.bin", "bin"), ("IMG_0001.rkyv", "rkyv")] {
        let value = image_sidecar::read(b"{}").unwrap().value;
        formats
            .write_path(
                &dir.path().join(name),
                value.view(),
                format,
                Overwrite::Never,
            )
            .unwrap();
    }
    let error = formats
        .save_operation(&image, "quality", &Value::Int(1), "json")
        .unwrap_err();
    assert!(matches!(error, Error::Ambiguous { .. }), "{error}");
    let chosen = formats
        .save_operation(&image, "quality", &Value::Int(1), "rkyv")
        .unwrap();
    assert_eq!(chosen, dir.path().join("IMG_0001.rkyv"));
}

#[test]
fn a_document_that_is_not_an_object_gets_no_section() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("IMG.json"), b"[1]").unwrap();
    let error =
        image_sidecar::save_operation(&dir.path().join("IMG.jpg"), "x", &Value::Null, "json")
            .unwrap_err();
    assert!(matches!(error, Error::NotAnObject { .. }), "{error}");
    assert_eq!(std::fs::read(dir.path().join("IMG.json")).unwrap(), b"[1]");
}
