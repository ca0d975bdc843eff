//! The built-in validators, each registered with `inventory`:
//!
//! - `well-formed`: the file decodes (every file is held to this; naming it changes nothing);
//! - `sportball`: the structures photo pipelines write are coherent (ratios and confidences in
//!   [0, 1], one embedding length per file, counts equal to the lists, timestamps that parse);
//! - `json-schema`: the document matches a JSON Schema file (option `schema`);
//! - `image-present`: the sidecar's image sits beside it.
//!
//! and the `sportball` summary, which adds `operation_counts`, `total_faces` and
//! `total_objects` to the stats report.

mod image_present;
mod json_schema;
mod sportball;
mod sportball_summary;
mod well_formed;

use sidecar_model::{SummaryRegistration, ValidatorRegistration};

/// The validators `validate` runs when none are named.
pub const DEFAULT_VALIDATORS: &[&str] = &["well-formed", "sportball", "xmp"];

/// Refuses options for a validator that takes none.
fn no_options(name: &str, options: &serde_json::Value) -> Result<(), String> {
    match options.as_object() {
        Some(map) if map.is_empty() => Ok(()),
        None if options.is_null() => Ok(()),
        _ => Err(format!("`{name}` takes no options, got {options}")),
    }
}

inventory::submit! { ValidatorRegistration::new(well_formed::make) }
inventory::submit! { ValidatorRegistration::new(sportball::make) }
inventory::submit! { ValidatorRegistration::new(json_schema::make) }
inventory::submit! { ValidatorRegistration::new(image_present::make) }
inventory::submit! { SummaryRegistration::new(sportball_summary::make) }
