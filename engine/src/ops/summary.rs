//! What a sidecar holds, read from its top level: which operations wrote it, how many faces and
//! objects it lists, and whether it looks like a per-image sidecar at all.
//!
//! Operations are found deterministically: every top-level key in [`OPERATION_KEYS`] (under its
//! canonical name), plus the string in `sidecar_info.operation_type`. Faces are the lengths of
//! the `faces` arrays of face sections, objects those of the `objects` arrays of object
//! sections. A section named by `operation_type` but wrapped as `data` (older pipelines) counts
//! as that section.

use smallvec::SmallVec;

use crate::value::View;

/// Top-level keys that name an operation, with the canonical name reports use.
pub const OPERATION_KEYS: &[(&str, &str)] = &[
    ("face_detection", "face_detection"),
    ("Face_detector", "face_detection"),
    ("yolov8", "yolov8"),
    ("object_detection", "object_detection"),
    ("quality_assessment", "quality_assessment"),
    ("pose_estimation", "pose_estimation"),
    ("ball_detection", "ball_detection"),
    ("player_detection", "player_detection"),
    ("jersey_detection", "jersey_detection"),
    ("team_classification", "team_classification"),
    ("action_recognition", "action_recognition"),
];

/// Canonical operations whose sections list `faces`.
const FACE_OPERATIONS: &[&str] = &["face_detection"];
/// Canonical operations whose sections list `objects`.
const OBJECT_OPERATIONS: &[&str] = &[
    "yolov8",
    "object_detection",
    "ball_detection",
    "player_detection",
];

fn canonical(key: &str) -> Option<&'static str> {
    OPERATION_KEYS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, canonical)| *canonical)
}

/// The summary of one document, borrowing from it (no allocation for usual documents).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary<'a> {
    /// Each operation once, in the order found.
    pub operations: SmallVec<[&'a str; 4]>,
    pub faces: u64,
    pub objects: u64,
    /// Has `sidecar_info` or an operation section: the marks of a per-image sidecar.
    pub has_sidecar_marks: bool,
}

impl<'a> Summary<'a> {
    pub fn of(root: View<'a>) -> Summary<'a> {
        let mut summary = Summary::default();
        let Some(object) = root.as_object() else {
            return summary;
        };
        let operation_type = root
            .get("sidecar_info")
            .and_then(|info| info.get("operation_type"))
            .and_then(View::as_str);
        summary.has_sidecar_marks = root.get("sidecar_info").is_some();
        for (key, section) in object.iter() {
            let operation = canonical(key).or_else(|| {
                // The `data` wrapper stands for the section `operation_type` names.
                (key == "data")
                    .then_some(operation_type)
                    .flatten()
                    .and_then(canonical)
            });
            let Some(operation) = operation else {
                continue;
            };
            summary.has_sidecar_marks |= key != "data";
            summary.add(operation);
            if FACE_OPERATIONS.contains(&operation) {
                summary.faces += count(section, "faces");
            }
            if OBJECT_OPERATIONS.contains(&operation) {
                summary.objects += count(section, "objects");
            }
        }
        if let Some(operation) = operation_type {
            summary.add(operation);
        }
        summary
    }

    fn add(&mut self, operation: &'a str) {
        if !self.operations.contains(&operation) {
            self.operations.push(operation);
        }
    }
}

fn count(section: View<'_>, key: &str) -> u64 {
    section
        .get(key)
        .and_then(View::as_array)
        .map_or(0, |items| items.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Map, Value};

    fn object(entries: Vec<(&str, Value)>) -> Value {
        Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Map>(),
        )
    }

    fn list(n: usize) -> Value {
        Value::Array(vec![Value::Null; n])
    }

    #[test]
    fn counts_faces_objects_and_operations() {
        let doc = object(vec![
            (
                "sidecar_info",
                object(vec![(
                    "operation_type",
                    Value::String("face_detection".into()),
                )]),
            ),
            ("face_detection", object(vec![("faces", list(3))])),
            ("yolov8", object(vec![("objects", list(4))])),
            ("extra", object(vec![("faces", list(9))])),
        ]);
        let s = Summary::of(doc.view());
        assert_eq!(s.faces, 3);
        assert_eq!(s.objects, 4);
        assert_eq!(s.operations.as_slice(), ["face_detection", "yolov8"]);
        assert!(s.has_sidecar_marks);
    }

    #[test]
    fn the_data_wrapper_counts_as_the_named_operation() {
        let doc = object(vec![
            (
                "sidecar_info",
                object(vec![(
                    "operation_type",
                    Value::String("quality_assessment".into()),
                )]),
            ),
            ("data", object(vec![("quality", object(vec![]))])),
        ]);
        let s = Summary::of(doc.view());
        assert_eq!(
            s.operations.into_iter().collect::<Vec<_>>(),
            ["quality_assessment"]
        );
    }

    #[test]
    fn the_older_face_layout_counts_as_face_detection() {
        let doc = object(vec![("Face_detector", object(vec![("faces", list(2))]))]);
        let s = Summary::of(doc.view());
        assert_eq!(s.faces, 2);
        assert!(s.operations.contains(&"face_detection"));
        assert!(s.has_sidecar_marks);
    }

    #[test]
    fn a_directory_level_result_has_no_sidecar_marks() {
        let doc = object(vec![("success", Value::Bool(true)), ("games", list(1))]);
        assert!(!Summary::of(doc.view()).has_sidecar_marks);
        assert!(!Summary::of(Value::Array(vec![]).view()).has_sidecar_marks);
    }
}
