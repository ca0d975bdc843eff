//! The `xmp` summary: what photographers count in a library of XMP sidecars: ratings
//! (`xmp_ratings`: files per `xmp:Rating`, `-1` being "rejected"), colour labels
//! (`xmp_labels`: files per `xmp:Label`) and keywords (`xmp_keywords`: files per `dc:subject`
//! keyword). Documents that are not XMP add nothing.

use sidecar_model::{Counter, Field, FieldKind, Summary, View};

use crate::{ns, property};

pub struct XmpSummary;

impl Summary for XmpSummary {
    fn name(&self) -> &str {
        "xmp"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn description(&self) -> &str {
        "XMP ratings histogram, colour labels and keyword counts"
    }
    fn fields(&self) -> Vec<Field> {
        ["xmp_ratings", "xmp_labels", "xmp_keywords"]
            .into_iter()
            .map(|name| Field {
                name: name.into(),
                kind: FieldKind::Tally,
            })
            .collect()
    }
    fn add(&self, document: View<'_>, counters: &mut [Counter]) {
        if let Some(rating) = property(document, ns::XMP, "Rating").and_then(View::as_str) {
            counters[0].add_to(rating.trim(), 1);
        }
        if let Some(label) = property(document, ns::XMP, "Label").and_then(View::as_str) {
            counters[1].add_to(label, 1);
        }
        let keywords = property(document, ns::DC, "subject")
            .and_then(|s| s.get("@bag"))
            .and_then(View::as_array);
        let mut seen: Vec<&str> = Vec::new();
        for keyword in keywords.into_iter().flat_map(|k| k.iter()) {
            if let Some(keyword) = keyword.as_str().filter(|k| !seen.contains(k)) {
                seen.push(keyword);
                counters[2].add_to(keyword, 1);
            }
        }
    }
}

pub fn make() -> Box<dyn Summary> {
    Box::new(XmpSummary)
}
