//! `image-present`: the sidecar's image (same stem, any image extension) sits beside it.

use std::path::Path;

use sidecar_model::{Check, FileContext, Finding, Validator, View};

pub struct ImagePresent;

impl Validator for ImagePresent {
    fn name(&self) -> &str {
        "image-present"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn description(&self) -> &str {
        "an image with the sidecar's stem sits beside it"
    }
    fn configure(&self, options: &serde_json::Value, _: &Path) -> Result<Box<dyn Check>, String> {
        crate::no_options(self.name(), options)?;
        Ok(Box::new(ImagePresent))
    }
}

impl Check for ImagePresent {
    fn check(&self, _: View<'_>, file: &FileContext<'_>, findings: &mut Vec<Finding>) {
        if !file.has_image {
            let stem = file.path.file_stem().unwrap_or_default().to_string_lossy();
            findings.push(Finding::error(
                format!("no image named {stem}.<jpg|jpeg|png|…> beside the sidecar"),
                "",
            ));
        }
    }
}

pub fn make() -> Box<dyn Validator> {
    Box::new(ImagePresent)
}
