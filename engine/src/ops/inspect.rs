//! What one file decodes to: the format chosen (and how: by content or by extension), the
//! warnings, and the document as JSON, for `inspect FILE`.
//!
//! The document is written as JSON that any parser reads: duplicate keys are kept in order,
//! integers and floats as they are (a float keeps its `.0`), and the three numbers JSON has no
//! notation for become the strings `"NaN"`, `"Infinity"` and `"-Infinity"`.

use std::path::Path;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::codec::Detection;
use crate::ops::{display_path, with_identified, DocumentError};
use crate::registry::Registry;
use crate::value::{Value, View};

/// A file's decoding.
#[derive(Debug, Serialize)]
pub struct Inspection {
    pub file_path: String,
    /// Display name of the format the content was read as; `null` when none applied.
    pub format: Option<String>,
    /// `certain` (magic bytes), `plausible` (content and extension agree) or `extension`.
    pub detected_by: Option<&'static str>,
    pub extension_mismatch: bool,
    pub bytes: Option<u64>,
    pub is_valid: bool,
    pub error: Option<String>,
    pub warnings: Vec<String>,
    /// The document; `null` when it could not be read.
    pub value: Option<AsJson>,
}

/// A document serialized as plain JSON.
#[derive(Debug)]
pub struct AsJson(pub Value);

struct ViewJson<'a>(View<'a>);

impl Serialize for AsJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ViewJson(self.0.view()).serialize(serializer)
    }
}

impl Serialize for ViewJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            View::Null => serializer.serialize_unit(),
            View::Bool(b) => serializer.serialize_bool(b),
            View::Int(i) => serializer.serialize_i64(i),
            View::UInt(u) => serializer.serialize_u64(u),
            View::Float(x) if x.is_nan() => serializer.serialize_str("NaN"),
            View::Float(x) if x.is_infinite() => {
                serializer.serialize_str(if x > 0.0 { "Infinity" } else { "-Infinity" })
            }
            View::Float(x) => serializer.serialize_f64(x),
            View::Str(s) => serializer.serialize_str(s),
            View::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(&ViewJson(item))?;
                }
                seq.end()
            }
            View::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries.iter() {
                    map.serialize_entry(key, &ViewJson(value))?;
                }
                map.end()
            }
        }
    }
}

/// Reads and decodes one file.
pub fn inspect(path: &Path, registry: &Registry, limit: u64) -> Inspection {
    let mut inspection = Inspection {
        file_path: display_path(path),
        format: None,
        detected_by: None,
        extension_mismatch: false,
        bytes: None,
        is_valid: false,
        error: None,
        warnings: Vec::new(),
        value: None,
    };
    let outcome = with_identified(registry, path, limit, |identified, bytes, _| {
        let codec = identified.codec;
        inspection.format = Some(codec.display_name().to_owned());
        inspection.detected_by = Some(match identified.by_content {
            Detection::Certain => "certain",
            Detection::Plausible => "plausible",
            Detection::No => "extension",
        });
        inspection.extension_mismatch = identified.extension_mismatch;
        inspection.bytes = Some(bytes.len() as u64);
        codec
            .inspect(bytes, &mut |view, warnings| {
                inspection.warnings = warnings.iter().map(ToString::to_string).collect();
                inspection.value = Value::from_view(view, usize::MAX).ok().map(AsJson);
            })
            .map_err(|error| DocumentError::Codec {
                format: codec.display_name().to_owned(),
                recognized: identified.by_content != Detection::No,
                error,
            })
    });
    match outcome {
        Ok(()) => inspection.is_valid = true,
        Err(failure) => inspection.error = Some(failure.to_string()),
    }
    inspection
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    #[test]
    fn documents_become_plain_json_with_duplicates_and_special_floats() {
        let mut map = Map::new();
        map.push("a".into(), Value::Float(f64::NAN));
        map.push("a".into(), Value::Float(4000.0));
        map.push("b".into(), Value::Float(f64::NEG_INFINITY));
        map.push("c".into(), Value::UInt(u64::MAX));
        let json = serde_json::to_string(&AsJson(Value::Object(map))).unwrap();
        assert_eq!(
            json,
            r#"{"a":"NaN","a":4000.0,"b":"-Infinity","c":18446744073709551615}"#
        );
    }
}
