//! `sportball`: the structures photo pipelines write (see `tests/data/examples`) are coherent.
//!
//! In every face section (`face_detection`, the older `Face_detector`, or a `data` wrapper whose
//! `sidecar_info.operation_type` is `face_detection`): `faces` is a list; each face's `bbox`
//! values, `confidence` and `landmarks` points are numbers within [0, 1]; every face's
//! embedding (`encoding`, `face_encoding` or `embedding`) is a list, and all of them, under
//! any of these keys, have one length; `faces_found` (or `total_faces_found`), in the section
//! itself or in its `metadata`, equals the number of faces. In every object section (`yolov8`,
//! `object_detection`, `ball_detection`, `player_detection`; the sections are those the
//! `sportball` summary counts): each object's `confidence` is within [0, 1] and
//! `objects_found`, in the section or its `metadata`, equals the number of objects. Timestamps (`sidecar_info.created_at`,
//! `last_updated`, `metadata.extraction_timestamp`) parse as ISO 8601. Sections and keys that
//! are absent are not required.

use std::path::Path;

use chrono::{DateTime, NaiveDateTime};
use sidecar_model::{Check, FileContext, Finding, Validator, View};

use crate::sportball_summary::{section_operation, Items};

pub struct Sportball;

/// The keys a face's embedding is found under.
const EMBEDDING_KEYS: [&str; 3] = ["encoding", "face_encoding", "embedding"];

impl Validator for Sportball {
    fn name(&self) -> &str {
        "sportball"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn description(&self) -> &str {
        "face and object detections are coherent: ratios and confidences in [0, 1], one embedding length, counts match, timestamps parse"
    }
    fn configure(&self, options: &serde_json::Value, _: &Path) -> Result<Box<dyn Check>, String> {
        crate::no_options(self.name(), options)?;
        Ok(Box::new(Sportball))
    }
}

pub fn make() -> Box<dyn Validator> {
    Box::new(Sportball)
}

impl Check for Sportball {
    fn check(&self, document: View<'_>, _: &FileContext<'_>, findings: &mut Vec<Finding>) {
        let Some(root) = document.as_object() else {
            return;
        };
        let info = document.get("sidecar_info");
        let operation_type = info
            .and_then(|i| i.get("operation_type"))
            .and_then(View::as_str);
        if let Some(info) = info {
            let at = Ptr::Key(&Ptr::Root, "sidecar_info");
            for key in ["created_at", "last_updated"] {
                timestamp(info.get(key), &Ptr::Key(&at, key), findings);
            }
        }
        for (key, section) in root.iter() {
            let at = Ptr::Key(&Ptr::Root, key);
            match section_operation(key, operation_type).and_then(|o| o.items) {
                Some(Items::Faces) => faces(section, &at, findings),
                Some(Items::Objects) => objects(section, &at, findings),
                None => continue,
            }
            if let Some(metadata) = section.get("metadata") {
                let at = Ptr::Key(&at, "metadata");
                timestamp(
                    metadata.get("extraction_timestamp"),
                    &Ptr::Key(&at, "extraction_timestamp"),
                    findings,
                );
            }
        }
    }
}

/// Where a value is, built on the stack as the walk descends and written out as a JSON
/// pointer (RFC 6901) only when there is something to report.
enum Ptr<'p> {
    Root,
    Key(&'p Ptr<'p>, &'p str),
    Index(&'p Ptr<'p>, usize),
}

impl std::fmt::Display for Ptr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ptr::Root => Ok(()),
            Ptr::Key(parent, key) => {
                write!(f, "{parent}/{}", key.replace('~', "~0").replace('/', "~1"))
            }
            Ptr::Index(parent, index) => write!(f, "{parent}/{index}"),
        }
    }
}

fn error(message: String, at: &Ptr<'_>) -> Finding {
    Finding::error(message, at.to_string())
}

fn ratio(value: Option<View<'_>>, at: &Ptr<'_>, findings: &mut Vec<Finding>) {
    let Some(value) = value else {
        return;
    };
    match value.as_f64() {
        Some(x) if (0.0..=1.0).contains(&x) => {}
        Some(_) => findings.push(error(format!("{} is outside [0, 1]", shown(value)), at)),
        None => findings.push(error(
            format!("expected a number within [0, 1], found {}", value.kind()),
            at,
        )),
    }
}

/// A number as the document writes it (`3.0` stays `3.0`, as Python prints it).
fn shown(value: View<'_>) -> String {
    let mut out = Vec::new();
    match sidecar_model::json_text::write_compact(value, &mut out) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => format!("{value:?}"),
    }
}

fn list<'a>(
    section: View<'a>,
    key: &str,
    at: &Ptr<'_>,
    findings: &mut Vec<Finding>,
) -> Option<sidecar_model::value::ArrayRef<'a>> {
    let value = section.get(key)?;
    let items = value.as_array();
    if items.is_none() {
        findings.push(error(
            format!("expected a list, found {}", value.kind()),
            &Ptr::Key(at, key),
        ));
    }
    items
}

/// Counts of a section's list, wherever the writer put them: under `metadata` (as the
/// sportball tools write them) or beside the list (as Python pipelines often do).
fn count_matches(
    section: View<'_>,
    keys: &[&str],
    actual: usize,
    at: &Ptr<'_>,
    findings: &mut Vec<Finding>,
) {
    let metadata_at = Ptr::Key(at, "metadata");
    let places = [(Some(section), at), (section.get("metadata"), &metadata_at)];
    for (place, place_at) in places {
        let Some(place) = place else {
            continue;
        };
        for key in keys {
            let Some(value) = place.get(key) else {
                continue;
            };
            match value.as_u64() {
                Some(n) if n == actual as u64 => {}
                Some(n) => findings.push(error(
                    format!("says {n} but the list holds {actual}"),
                    &Ptr::Key(place_at, key),
                )),
                None => findings.push(error(
                    format!("expected a count, found {}", value.kind()),
                    &Ptr::Key(place_at, key),
                )),
            }
        }
    }
}

fn faces(section: View<'_>, at: &Ptr<'_>, findings: &mut Vec<Finding>) {
    let Some(faces) = list(section, "faces", at, findings) else {
        return;
    };
    let list_at = Ptr::Key(at, "faces");
    // The first embedding's length, and where it is (its face and key).
    let mut embedding: Option<(usize, usize, &str)> = None;
    for (i, face) in faces.iter().enumerate() {
        let face_at = Ptr::Index(&list_at, i);
        if let Some(bbox) = face.get("bbox") {
            let bbox_at = Ptr::Key(&face_at, "bbox");
            for key in ["x", "y", "width", "height"] {
                ratio(bbox.get(key), &Ptr::Key(&bbox_at, key), findings);
            }
        }
        ratio(
            face.get("confidence"),
            &Ptr::Key(&face_at, "confidence"),
            findings,
        );
        if let Some(landmarks) = list(face, "landmarks", &face_at, findings) {
            let landmarks_at = Ptr::Key(&face_at, "landmarks");
            for (j, point) in landmarks.iter().enumerate() {
                let point_at = Ptr::Index(&landmarks_at, j);
                match point.as_array() {
                    Some(xy) if xy.len() == 2 => {
                        ratio(xy.at(0), &Ptr::Index(&point_at, 0), findings);
                        ratio(xy.at(1), &Ptr::Index(&point_at, 1), findings);
                    }
                    _ => findings.push(error("expected an [x, y] pair".into(), &point_at)),
                }
            }
        }
        for key in EMBEDDING_KEYS {
            let Some(values) = list(face, key, &face_at, findings) else {
                continue;
            };
            match embedding {
                None => embedding = Some((values.len(), i, key)),
                Some((len, face, first_key)) if len != values.len() => {
                    let first = Ptr::Key(&Ptr::Index(&list_at, face), first_key);
                    findings.push(error(
                        format!(
                            "embedding has {} values but the one at {first} has {len}",
                            values.len()
                        ),
                        &Ptr::Key(&face_at, key),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    count_matches(
        section,
        &["faces_found", "total_faces_found"],
        faces.len(),
        at,
        findings,
    );
}

fn objects(section: View<'_>, at: &Ptr<'_>, findings: &mut Vec<Finding>) {
    let Some(objects) = list(section, "objects", at, findings) else {
        return;
    };
    let list_at = Ptr::Key(at, "objects");
    for (i, object) in objects.iter().enumerate() {
        let object_at = Ptr::Index(&list_at, i);
        ratio(
            object.get("confidence"),
            &Ptr::Key(&object_at, "confidence"),
            findings,
        );
    }
    count_matches(section, &["objects_found"], objects.len(), at, findings);
}

fn timestamp(value: Option<View<'_>>, at: &Ptr<'_>, findings: &mut Vec<Finding>) {
    let Some(value) = value else {
        return;
    };
    let Some(text) = value.as_str() else {
        if !matches!(value, View::Null) {
            findings.push(error(
                format!("expected an ISO 8601 timestamp, found {}", value.kind()),
                at,
            ));
        }
        return;
    };
    // `YYYY-MM-DDTHH:MM:SS[.f]` is NaiveDateTime's own form; Python's isoformat() with a space
    // or an offset is accepted too.
    let parses = text.parse::<NaiveDateTime>().is_ok()
        || NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        || DateTime::parse_from_rfc3339(text).is_ok();
    if !parses {
        findings.push(error(format!("{text:?} is not an ISO 8601 timestamp"), at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sidecar_model::Value;

    fn findings(json: &str) -> Vec<String> {
        let value = parse(json);
        let mut out = Vec::new();
        let file = FileContext {
            path: std::path::Path::new("x.json"),
            has_image: true,
            format: "Json",
        };
        Sportball.check(value.view(), &file, &mut out);
        out.iter().map(ToString::to_string).collect()
    }

    fn parse(json: &str) -> Value {
        fn convert(v: serde_json::Value) -> Value {
            match v {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::Bool(b) => Value::Bool(b),
                serde_json::Value::Number(n) => n
                    .as_i64()
                    .map(Value::Int)
                    .unwrap_or_else(|| Value::Float(n.as_f64().unwrap())),
                serde_json::Value::String(s) => Value::String(s),
                serde_json::Value::Array(a) => Value::Array(a.into_iter().map(convert).collect()),
                serde_json::Value::Object(m) => {
                    Value::Object(m.into_iter().map(|(k, v)| (k, convert(v))).collect())
                }
            }
        }
        convert(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn a_coherent_sidecar_passes() {
        let ok = r#"{"sidecar_info": {"created_at": "2025-08-23T21:32:35.457034"},
            "face_detection": {"faces": [
                {"bbox": {"x": 0.1, "y": 0.2, "width": 0.3, "height": 0.4}, "confidence": 0.9,
                 "landmarks": [[0.1, 0.2]], "encoding": [0.5, -1.5]},
                {"bbox": {"x": 0, "y": 1, "width": 0.3, "height": 0.4}, "confidence": 1,
                 "encoding": [2.5, 3.5]}],
              "metadata": {"faces_found": 2, "extraction_timestamp": "2025-08-05T04:10:06.940255"}},
            "yolov8": {"objects": [{"confidence": 0.7}], "metadata": {"objects_found": 1}}}"#;
        assert_eq!(findings(ok), Vec::<String>::new());
    }

    #[test]
    fn each_rule_reports_its_place() {
        let bad = r#"{"sidecar_info": {"created_at": "yesterday"},
            "face_detection": {"faces": [
                {"bbox": {"x": 1.5, "y": 0.2, "width": "wide", "height": 0.4}, "confidence": -0.1,
                 "landmarks": [[0.1, 2.0], [0.3]], "encoding": [0.5, -1.5]},
                {"encoding": [2.5]}],
              "metadata": {"faces_found": 3}},
            "yolov8": {"objects": [{"confidence": 7}], "metadata": {"objects_found": 0}}}"#;
        let found = findings(bad);
        let expected = [
            "\"yesterday\" is not an ISO 8601 timestamp at /sidecar_info/created_at",
            "1.5 is outside [0, 1] at /face_detection/faces/0/bbox/x",
            "expected a number within [0, 1], found string at /face_detection/faces/0/bbox/width",
            "-0.1 is outside [0, 1] at /face_detection/faces/0/confidence",
            "2.0 is outside [0, 1] at /face_detection/faces/0/landmarks/0/1",
            "expected an [x, y] pair at /face_detection/faces/0/landmarks/1",
            "embedding has 1 values but the one at /face_detection/faces/0/encoding has 2 at /face_detection/faces/1/encoding",
            "says 3 but the list holds 2 at /face_detection/metadata/faces_found",
            "7 is outside [0, 1] at /yolov8/objects/0/confidence",
            "says 0 but the list holds 1 at /yolov8/metadata/objects_found",
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn the_data_wrapper_and_older_layout_are_checked() {
        let wrapped = r#"{"sidecar_info": {"operation_type": "face_detection"},
            "data": {"faces": [{"confidence": 2}]}}"#;
        assert_eq!(
            findings(wrapped),
            ["2 is outside [0, 1] at /data/faces/0/confidence"]
        );
        let older = r#"{"Face_detector": {"faces": [{"face_encoding": [1.0]}],
            "metadata": {"total_faces_found": 2}}}"#;
        assert_eq!(
            findings(older),
            ["says 2 but the list holds 1 at /Face_detector/metadata/total_faces_found"]
        );
    }

    #[test]
    fn python_style_layouts_are_checked_too() {
        let embedding = |n: usize| format!("[{}]", vec!["0.5"; n].join(","));
        let section_level = format!(
            r#"{{"face_detection": {{"faces_found": 99, "faces": [
                {{"confidence": 0.9, "embedding": {}}},
                {{"confidence": 0.8, "embedding": {}}}]}},
              "object_detection": {{"objects_found": 3, "objects": [{{"confidence": 0.5}}]}}}}"#,
            embedding(100),
            embedding(512)
        );
        assert_eq!(
            findings(&section_level),
            [
                "embedding has 512 values but the one at /face_detection/faces/0/embedding has 100 at /face_detection/faces/1/embedding",
                "says 99 but the list holds 2 at /face_detection/faces_found",
                "says 3 but the list holds 1 at /object_detection/objects_found",
            ]
        );
        let agreeing = format!(
            r#"{{"face_detection": {{"faces_found": 1, "metadata": {{"faces_found": 1}},
                "faces": [{{"embedding": {}}}]}}}}"#,
            embedding(512)
        );
        assert!(findings(&agreeing).is_empty());
    }

    #[test]
    fn nan_is_not_a_ratio() {
        let mut value = parse(r#"{"face_detection": {"faces": [{"confidence": 0.5}]}}"#);
        if let Value::Object(root) = &mut value {
            let mut section = sidecar_model::Map::new();
            let mut face = sidecar_model::Map::new();
            face.push("confidence".into(), Value::Float(f64::NAN));
            section.push("faces".into(), Value::Array(vec![Value::Object(face)]));
            *root = [("face_detection".to_owned(), Value::Object(section))]
                .into_iter()
                .collect();
        }
        let mut out = Vec::new();
        let file = FileContext {
            path: std::path::Path::new("x"),
            has_image: true,
            format: "Json",
        };
        Sportball.check(value.view(), &file, &mut out);
        assert_eq!(out.len(), 1);
    }
}
