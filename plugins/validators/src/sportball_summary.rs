//! The `sportball` summary: what photo pipelines' sidecars hold, read from their top level:
//! which operations wrote them (`operation_counts`), how many faces (`total_faces`) and
//! objects (`total_objects`) they list. It also defines the sections the `sportball` validator
//! checks, so that the two agree on what a section is.
//!
//! Operations are found deterministically: every top-level key in [`OPERATIONS`] (under its
//! canonical name), plus the string in `sidecar_info.operation_type`. Faces are the lengths of
//! the `faces` arrays of face sections, objects those of the `objects` arrays of object
//! sections. A section named by `operation_type` but wrapped as `data` (older pipelines) counts
//! as that section.

use smallvec::SmallVec;

use sidecar_model::{Counter, Field, FieldKind, Summary, View};

/// What a section lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Items {
    Faces,
    Objects,
}

/// A top-level key that names an operation.
pub(crate) struct Operation {
    pub key: &'static str,
    /// The name reports use.
    pub canonical: &'static str,
    pub items: Option<Items>,
}

const fn op(key: &'static str, canonical: &'static str, items: Option<Items>) -> Operation {
    Operation {
        key,
        canonical,
        items,
    }
}

/// Every operation key sportball pipelines write.
pub(crate) const OPERATIONS: &[Operation] = &[
    op("face_detection", "face_detection", Some(Items::Faces)),
    op("Face_detector", "face_detection", Some(Items::Faces)),
    op("yolov8", "yolov8", Some(Items::Objects)),
    op("object_detection", "object_detection", Some(Items::Objects)),
    op("quality_assessment", "quality_assessment", None),
    op("pose_estimation", "pose_estimation", None),
    op("ball_detection", "ball_detection", Some(Items::Objects)),
    op("player_detection", "player_detection", Some(Items::Objects)),
    op("jersey_detection", "jersey_detection", None),
    op("team_classification", "team_classification", None),
    op("action_recognition", "action_recognition", None),
];

pub(crate) fn operation(key: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.key == key)
}

/// The operation a top-level section stands for: its own key, or for a `data` wrapper, the one
/// `sidecar_info.operation_type` names.
pub(crate) fn section_operation(
    key: &str,
    operation_type: Option<&str>,
) -> Option<&'static Operation> {
    operation(key).or_else(|| {
        (key == "data")
            .then_some(operation_type)
            .flatten()
            .and_then(operation)
    })
}

/// What one document holds, borrowing from it (no allocation for usual documents).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Found<'a> {
    /// Each operation once, in the order found.
    operations: SmallVec<[&'a str; 4]>,
    faces: u64,
    objects: u64,
}

impl<'a> Found<'a> {
    fn of(root: View<'a>) -> Found<'a> {
        let mut found = Found::default();
        let Some(object) = root.as_object() else {
            return found;
        };
        let operation_type = root
            .get("sidecar_info")
            .and_then(|info| info.get("operation_type"))
            .and_then(View::as_str);
        for (key, section) in object.iter() {
            let Some(operation) = section_operation(key, operation_type) else {
                continue;
            };
            found.add(operation.canonical);
            match operation.items {
                Some(Items::Faces) => found.faces += count(section, "faces"),
                Some(Items::Objects) => found.objects += count(section, "objects"),
                None => {}
            }
        }
        if let Some(operation) = operation_type {
            found.add(operation);
        }
        found
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

pub struct SportballSummary;

impl Summary for SportballSummary {
    fn name(&self) -> &str {
        "sportball"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn description(&self) -> &str {
        "operations that wrote each sidecar, faces and objects detected"
    }
    fn fields(&self) -> Vec<Field> {
        let field = |name: &str, kind| Field {
            name: name.into(),
            kind,
        };
        vec![
            field("operation_counts", FieldKind::Tally),
            field("total_faces", FieldKind::Total),
            field("total_objects", FieldKind::Total),
        ]
    }
    fn add(&self, document: View<'_>, counters: &mut [Counter]) {
        let found = Found::of(document);
        for operation in &found.operations {
            counters[0].add_to(operation, 1);
        }
        counters[1].add(found.faces);
        counters[2].add(found.objects);
    }
}

pub fn make() -> Box<dyn Summary> {
    Box::new(SportballSummary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sidecar_model::{Map, Value};

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
        let s = Found::of(doc.view());
        assert_eq!(s.faces, 3);
        assert_eq!(s.objects, 4);
        assert_eq!(s.operations.as_slice(), ["face_detection", "yolov8"]);
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
        let s = Found::of(doc.view());
        assert_eq!(
            s.operations.into_iter().collect::<Vec<_>>(),
            ["quality_assessment"]
        );
    }

    #[test]
    fn the_older_face_layout_counts_as_face_detection() {
        let doc = object(vec![("Face_detector", object(vec![("faces", list(2))]))]);
        let s = Found::of(doc.view());
        assert_eq!(s.faces, 2);
        assert!(s.operations.contains(&"face_detection"));
    }

    #[test]
    fn the_summary_fills_its_fields_in_order() {
        let doc = object(vec![
            ("face_detection", object(vec![("faces", list(2))])),
            ("yolov8", object(vec![("objects", list(1))])),
        ]);
        let fields = SportballSummary.fields();
        let mut counters: Vec<Counter> = fields.iter().map(|f| Counter::new(f.kind)).collect();
        SportballSummary.add(doc.view(), &mut counters);
        SportballSummary.add(Value::Array(vec![]).view(), &mut counters);
        assert_eq!(
            counters,
            [
                Counter::Tally(
                    [("face_detection".into(), 1), ("yolov8".into(), 1)]
                        .into_iter()
                        .collect()
                ),
                Counter::Total(2),
                Counter::Total(1)
            ]
        );
    }
}
