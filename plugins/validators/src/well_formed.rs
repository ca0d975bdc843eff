//! `well-formed`: the file decodes. Decoding happens before any validator runs and a file that
//! fails it is invalid whatever else is asked, so this check itself finds nothing; it exists so
//! that "decodes, nothing more" can be asked for by name.

use std::path::Path;

use sidecar_model::{Check, FileContext, Finding, Validator, View};

pub struct WellFormed;

impl Validator for WellFormed {
    fn name(&self) -> &str {
        "well-formed"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn description(&self) -> &str {
        "the file decodes in its format (always checked)"
    }
    fn configure(&self, options: &serde_json::Value, _: &Path) -> Result<Box<dyn Check>, String> {
        crate::no_options(self.name(), options)?;
        Ok(Box::new(WellFormed))
    }
}

impl Check for WellFormed {
    fn check(&self, _: View<'_>, _: &FileContext<'_>, _: &mut Vec<Finding>) {}
}

pub fn make() -> Box<dyn Validator> {
    Box::new(WellFormed)
}
