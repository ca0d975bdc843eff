use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sidecar_model::{canonical, Codec, Map, Value, View};

use crate::validator::{is_xmp_date, XmpValidator};
use crate::XmpCodec;

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/xmp");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xmp"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 4);
    files
}

fn canonical_of(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    canonical::encode(value.view(), &mut out);
    out
}

fn round_trip(value: &Value) -> Value {
    let mut bytes = Vec::new();
    XmpCodec.encode(value.view(), &mut bytes).unwrap();
    assert_eq!(
        XmpCodec.detect(&bytes[..bytes.len().min(64)], bytes.len() as u64),
        sidecar_model::Detection::Certain
    );
    XmpCodec
        .decode(&bytes)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&bytes)))
        .value
}

fn findings(value: &Value) -> Vec<String> {
    use sidecar_model::{Check, FileContext};
    let mut found = Vec::new();
    let file = FileContext {
        path: Path::new("x.xmp"),
        has_image: true,
        format: "Xmp",
    };
    XmpValidator.check(value.view(), &file, &mut found);
    found.into_iter().map(|f| f.to_string()).collect()
}

#[test]
fn every_sample_decodes_validates_and_round_trips_exactly() {
    for path in samples() {
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            XmpCodec.detect(&bytes[..64], bytes.len() as u64),
            sidecar_model::Detection::Certain,
            "{}",
            path.display()
        );
        let value = XmpCodec.decode(&bytes).unwrap().value;
        assert!(
            findings(&value).is_empty(),
            "{}: {:?}",
            path.display(),
            findings(&value)
        );
        assert_eq!(
            canonical_of(&round_trip(&value)),
            canonical_of(&value),
            "{}",
            path.display()
        );
    }
}

#[test]
fn the_mapping_keeps_namespaces_order_arrays_languages_and_structures() {
    let bytes = std::fs::read(samples()[2].clone()).unwrap();
    let value = XmpCodec.decode(&bytes).unwrap().value;
    let view = value.view();
    assert_eq!(
        view.get("@toolkit").and_then(View::as_str),
        Some("Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00        ")
    );
    let prefixes: Vec<&str> = view
        .get("@namespaces")
        .and_then(View::as_object)
        .unwrap()
        .iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(prefixes[..3], ["xmp", "tiff", "exif"]);
    assert_eq!(view.get("xmp:Rating").and_then(View::as_str), Some("4"));
    let keywords = view
        .get("dc:subject")
        .and_then(|s| s.get("@bag"))
        .and_then(View::as_array)
        .unwrap();
    assert_eq!(
        keywords.at(2).and_then(View::as_str),
        Some("Müller & Söhne")
    );
    let title = view
        .get("dc:title")
        .and_then(|t| t.get("@alt"))
        .and_then(View::as_array)
        .unwrap();
    assert_eq!(
        title
            .at(1)
            .and_then(|i| i.get("@lang"))
            .and_then(View::as_str),
        Some("de")
    );
    assert_eq!(
        title
            .at(1)
            .and_then(|i| i.get("@value"))
            .and_then(View::as_str),
        Some("Später Siegtreffer")
    );
    let history = view
        .get("xmpMM:History")
        .and_then(|h| h.get("@seq"))
        .and_then(View::as_array)
        .unwrap();
    assert_eq!(
        history
            .at(1)
            .and_then(|e| e.get("stEvt:action"))
            .and_then(View::as_str),
        Some("saved")
    );
    let look = view.get("crs:Look").unwrap();
    assert_eq!(
        look.get("crs:Name").and_then(View::as_str),
        Some("Adobe Color")
    );
    assert_eq!(
        look.get("crs:Parameters")
            .and_then(|p| p.get("crs:ConvertToGrayscale"))
            .and_then(View::as_str),
        Some("False")
    );
    let keys: Vec<&str> = view.as_object().unwrap().iter().map(|(k, _)| k).collect();
    let at = |k: &str| keys.iter().position(|x| *x == k).unwrap();
    assert!(
        at("xmp:ModifyDate") < at("crs:AlreadyApplied")
            && at("crs:AlreadyApplied") < at("dc:subject")
    );
}

#[test]
fn what_xmp_cannot_hold_is_refused_not_changed() {
    let json = |text: &str| -> Value {
        fn convert(v: serde_json::Value) -> Value {
            match v {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::Bool(b) => Value::Bool(b),
                serde_json::Value::Number(n) => Value::Int(n.as_i64().unwrap()),
                serde_json::Value::String(s) => Value::String(s),
                serde_json::Value::Array(a) => Value::Array(a.into_iter().map(convert).collect()),
                serde_json::Value::Object(o) => {
                    Value::Object(o.into_iter().map(|(k, v)| (k, convert(v))).collect::<Map>())
                }
            }
        }
        convert(serde_json::from_str(text).unwrap())
    };
    for (doc, why) in [
        (r#"{"face_detection": {"faces": []}}"#, "@namespaces"),
        (
            r#"{"@namespaces": {"xmp": "u"}, "xmp:Rating": 4}"#,
            "a number",
        ),
        (
            r#"{"@namespaces": {"xmp": "u"}, "dc:subject": "x"}"#,
            "prefix",
        ),
        (
            r#"{"@namespaces": {"xmp": "u"}, "xmp:List": ["a"]}"#,
            "plain list",
        ),
        (
            r#"{"@namespaces": {"xmp": "u"}, "xmp:Label": "a\u0001"}"#,
            "U+0001",
        ),
    ] {
        let mut out = Vec::new();
        let error = XmpCodec
            .encode(json(doc).view(), &mut out)
            .unwrap_err()
            .to_string();
        assert!(error.contains(why), "{doc}: {error}");
    }
}

#[test]
fn hostile_and_broken_packets_are_errors_with_a_place() {
    let deep = format!(
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">{}",
        "<a>".repeat(500)
    );
    for (bytes, why) in [
        (&b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF"[..], "XML"),
        (b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"></x:xmpmeta>", "rdf:RDF"),
        (b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x/>", "DOCTYPE"),
        (b"<x:xmpmeta>\xff</x:xmpmeta>", "UTF-8"),
        (deep.as_bytes(), "deeper"),
        (b"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description><p:a rdf:parseType=\"Literal\"/></rdf:Description></rdf:RDF>", "Literal"),
    ] {
        let error = XmpCodec.decode(bytes).unwrap_err().to_string();
        assert!(error.contains(why), "{}: {error}", String::from_utf8_lossy(bytes));
    }
    let sample = std::fs::read(samples()[0].clone()).unwrap();
    for end in 0..sample.len() {
        let _ = XmpCodec.decode(&sample[..end]);
    }
}

#[test]
fn the_validator_checks_ratings_dates_and_languages() {
    let bytes = std::fs::read(samples()[2].clone()).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let broken = text
        .replace("xmp:Rating=\"4\"", "xmp:Rating=\"7\"")
        .replace(
            "xmp:CreateDate=\"2025-09-20T15:33:02.48\"",
            "xmp:CreateDate=\"yesterday\"",
        )
        .replace(
            "<rdf:li xml:lang=\"de\">",
            "<rdf:li xml:lang=\"x-default\">",
        );
    let value = XmpCodec.decode(broken.as_bytes()).unwrap().value;
    let found = findings(&value);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].contains("xmp:Rating") && found[0].contains("\"7\""));
    assert!(found[1].contains("CreateDate"));
    assert!(found[2].contains("twice"));
    for good in [
        "2025",
        "2025-09",
        "2025-09-20",
        "2025-09-20T15:33Z",
        "2025-09-20T15:33:02.48+02:00",
        "2025:09:20 15:33:00.120",
    ] {
        assert!(is_xmp_date(good), "{good}");
    }
    for bad in [
        "2025-13",
        "2025-09-20T25:00",
        "20250920",
        "2025-09-20T15:33:02+2",
        "",
    ] {
        assert!(!is_xmp_date(bad), "{bad}");
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 |/.,:-]{0,12}",
        any::<String>().prop_map(|s| s
            .chars()
            .filter(|c| matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
            .collect()),
        Just(" <&>\"' \r\n\t ".to_owned()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["xmp", "dc", "my"]),
        "[A-Za-z][A-Za-z0-9]{0,6}",
    )
        .prop_map(|(p, l)| format!("{p}:{l}"))
}

fn property() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::String),
        (text(), "[a-z]{2}(-[A-Z]{2})?").prop_map(|(v, l)| {
            let mut m = Map::new();
            m.push("@lang".into(), Value::String(l));
            m.push("@value".into(), Value::String(v));
            Value::Object(m)
        }),
        "[a-z]{1,8}:[a-z/]{1,8}".prop_map(|uri| {
            let mut m = Map::new();
            m.push("@resource".into(), Value::String(uri));
            Value::Object(m)
        }),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec!["@bag", "@seq", "@alt"]),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(k, items)| {
                    let mut m = Map::new();
                    m.push(k.into(), Value::Array(items));
                    Value::Object(m)
                }),
            prop::collection::vec((name(), inner), 0..4)
                .prop_map(|fields| { Value::Object(fields.into_iter().collect::<Map>()) }),
        ]
    })
}

fn document() -> impl Strategy<Value = Value> {
    (
        prop::option::of(text()),
        prop::collection::vec((name(), property()), 0..6),
    )
        .prop_map(|(toolkit, properties)| {
            let mut doc = Map::new();
            if let Some(toolkit) = toolkit {
                doc.push("@toolkit".into(), Value::String(toolkit));
            }
            let mut namespaces = Map::new();
            for (prefix, uri) in [
                ("xmp", "http://ns.adobe.com/xap/1.0/"),
                ("dc", "http://purl.org/dc/elements/1.1/"),
                ("my", "urn:x-my:1.0/"),
            ] {
                namespaces.push(prefix.into(), Value::String(uri.into()));
            }
            doc.push("@namespaces".into(), Value::Object(namespaces));
            for (key, value) in properties {
                doc.push(key, value);
            }
            Value::Object(doc)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn xmp_shaped_documents_round_trip_bit_for_bit(doc in document()) {
        prop_assert_eq!(canonical_of(&round_trip(&doc)), canonical_of(&doc));
    }
}
