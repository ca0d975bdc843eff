//! The `sportball` summary: what photo pipelines' sidecars hold, read from their top level:
//! which operations wrote them (`operation_counts`), how many faces (`total_faces`) and
//! objects (`total_objects`) they list, and three histograms of fixed buckets, so that shards
//! merge them exactly by adding counts: face and object `confidence` values
//! (`face_confidences`, `object_confidences`: twenty buckets of 0.05 keyed by their lower
//! bound, `"0.00"` to `"0.95"`, 1.0 in the last, anything else under `"outside [0, 1]"`) and
//! faces per sidecar that has a face section (`faces_per_sidecar`: `"00"` to `"19"`, then
//! `"20+"`; two digits so the keys sort as numbers). It also defines the sections the
//! `sportball` validator checks, so that the two agree on what a section is.
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

/// The confidence buckets' keys: the lower bound of each 0.05 wide bucket.
const CONFIDENCE_BUCKETS: [&str; 20] = [
    "0.00", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30", "0.35", "0.40", "0.45", "0.50", "0.55",
    "0.60", "0.65", "0.70", "0.75", "0.80", "0.85", "0.90", "0.95",
];

/// The key of a confidence that is not a number in [0, 1].
pub const OUTSIDE: &str = "outside [0, 1]";

/// The bucket a confidence value falls in.
fn confidence_bucket(value: View<'_>) -> &'static str {
    match value.as_f64() {
        // Scaled by 20 and floored: 0.05 falls in "0.05", 1.0 in the last bucket.
        Some(c) if (0.0..=1.0).contains(&c) => CONFIDENCE_BUCKETS[((c * 20.0) as usize).min(19)],
        _ => OUTSIDE,
    }
}

/// The faces-per-sidecar buckets: exact counts up to 19, then one for the rest.
const FACE_COUNT_BUCKETS: [&str; 21] = [
    "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15",
    "16", "17", "18", "19", "20+",
];

/// What one document holds, borrowing from it (no allocation for usual documents).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Found<'a> {
    /// Each operation once, in the order found.
    operations: SmallVec<[&'a str; 4]>,
    faces: u64,
    objects: u64,
    /// Whether a face section was found (a sidecar without one has no count of faces).
    face_section: bool,
    /// The buckets of the faces' and of the objects' confidence values.
    face_confidences: SmallVec<[&'static str; 8]>,
    object_confidences: SmallVec<[&'static str; 8]>,
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
                Some(Items::Faces) => {
                    found.face_section = true;
                    found.faces += count(section, "faces");
                    confidences(section, "faces", &mut found.face_confidences);
                }
                Some(Items::Objects) => {
                    found.objects += count(section, "objects");
                    confidences(section, "objects", &mut found.object_confidences);
                }
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

/// The bucket of the `confidence` of every element of the section's `key` list that has one.
fn confidences(section: View<'_>, key: &str, into: &mut SmallVec<[&'static str; 8]>) {
    let items = section.get(key).and_then(View::as_array);
    into.extend(
        items
            .into_iter()
            .flat_map(|items| items.iter())
            .filter_map(|item| item.get("confidence"))
            .map(confidence_bucket),
    );
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
            field("face_confidences", FieldKind::Tally),
            field("object_confidences", FieldKind::Tally),
            field("faces_per_sidecar", FieldKind::Tally),
        ]
    }
    fn add(&self, document: View<'_>, counters: &mut [Counter]) {
        let found = Found::of(document);
        for operation in &found.operations {
            counters[0].add_to(operation, 1);
        }
        counters[1].add(found.faces);
        counters[2].add(found.objects);
        for bucket in found.face_confidences {
            counters[3].add_to(bucket, 1);
        }
        for bucket in found.object_confidences {
            counters[4].add_to(bucket, 1);
        }
        if found.face_section {
            let bucket = (found.faces as usize).min(FACE_COUNT_BUCKETS.len() - 1);
            counters[5].add_to(FACE_COUNT_BUCKETS[bucket], 1);
        }
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
                Counter::Total(1),
                Counter::Tally(Default::default()),
                Counter::Tally(Default::default()),
                Counter::Tally([("02".into(), 1)].into_iter().collect()),
            ]
        );
    }

    fn detection(confidence: Value) -> Value {
        object(vec![("confidence", confidence)])
    }

    #[test]
    fn confidences_and_faces_per_sidecar_fall_in_fixed_buckets() {
        let faces = [0.0, 0.049, 0.05, 0.5, 0.999, 1.0]
            .map(|c| detection(Value::Float(c)))
            .into_iter()
            .chain([
                detection(Value::Float(f64::NAN)),
                detection(Value::Float(1.5)),
                detection(Value::String("high".into())),
                object(vec![]),
            ])
            .collect();
        let many = (0..25).map(|_| detection(Value::Float(0.9))).collect();
        let docs = [
            object(vec![(
                "face_detection",
                object(vec![("faces", Value::Array(faces))]),
            )]),
            object(vec![(
                "face_detection",
                object(vec![("faces", Value::Array(vec![]))]),
            )]),
            object(vec![(
                "Face_detector",
                object(vec![("faces", Value::Array(many))]),
            )]),
            object(vec![(
                "yolov8",
                object(vec![(
                    "objects",
                    Value::Array(vec![detection(Value::Int(1))]),
                )]),
            )]),
        ];
        let mut counters: Vec<Counter> = SportballSummary
            .fields()
            .iter()
            .map(|f| Counter::new(f.kind))
            .collect();
        for doc in &docs {
            SportballSummary.add(doc.view(), &mut counters);
        }
        let tally = |pairs: &[(&str, u64)]| {
            Counter::Tally(pairs.iter().map(|(k, n)| ((*k).into(), *n)).collect())
        };
        assert_eq!(
            counters[3],
            tally(&[
                ("0.00", 2),
                ("0.05", 1),
                ("0.50", 1),
                ("0.90", 25),
                ("0.95", 2),
                (OUTSIDE, 3)
            ])
        );
        assert_eq!(counters[4], tally(&[("0.95", 1)]), "an integer 1 is 1.0");
        assert_eq!(
            counters[5],
            tally(&[("00", 1), ("10", 1), ("20+", 1)]),
            "the sidecar of objects only has no face count"
        );
    }
}
