//! The `Validator` trait: rules a sidecar must follow beyond decoding. A validator checks its
//! options once ([`Validator::configure`]) and returns a [`Check`] that runs on every document,
//! reading it through a [`View`] so that zero-copy formats are never deserialised for it.

use std::path::Path;

use serde::Serialize;

use crate::value::View;

/// How serious a finding is: errors make a file invalid, warnings are counted and listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The document is invalid.
    Error,
    /// Worth knowing; the document stays valid.
    Warning,
}

/// One thing a validator found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Whether it makes the document invalid.
    pub severity: Severity,
    /// What was found, in a sentence.
    pub message: String,
    /// Where in the document, as a JSON pointer (`/face_detection/faces/0/bbox/x`).
    pub location: Option<String>,
}

impl Finding {
    /// An error at `location` (a JSON pointer, empty for the whole document).
    pub fn error(message: impl Into<String>, location: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Error,
            message: message.into(),
            location: Some(location.into()),
        }
    }

    /// A warning at `location` (a JSON pointer, empty for the whole document).
    pub fn warning(message: impl Into<String>, location: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Warning,
            message: message.into(),
            location: Some(location.into()),
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        match &self.location {
            Some(location) if !location.is_empty() => write!(f, " at {location}"),
            _ => Ok(()),
        }
    }
}

/// What a check knows about the file besides its content.
#[derive(Debug, Clone, Copy)]
pub struct FileContext<'a> {
    /// The file's path, as the report shows it.
    pub path: &'a Path,
    /// Whether an image with the same stem sits beside the file.
    pub has_image: bool,
    /// Display name of the format the file was read as.
    pub format: &'a str,
}

/// A validation rule set.
pub trait Validator: Send + Sync {
    /// Name used on the command line and in pipelines (`sportball`).
    fn name(&self) -> &str;

    /// The version of the validator's implementation, for `plugins list`.
    fn version(&self) -> &str;

    /// One line saying what it checks, for `plugins list`.
    fn description(&self) -> &str;

    /// Checks the options (a JSON object, `{}` when none were given) and prepares the check.
    /// Relative paths in options are resolved against `base_dir` (the working directory on the
    /// command line, the pipeline file's directory in pipelines). The error says what is wrong
    /// with the options.
    fn configure(
        &self,
        options: &serde_json::Value,
        base_dir: &Path,
    ) -> Result<Box<dyn Check>, String>;
}

/// A configured validator, run on every document.
pub trait Check: Send + Sync {
    /// Adds what is wrong with `document` to `findings`.
    fn check(&self, document: View<'_>, file: &FileContext<'_>, findings: &mut Vec<Finding>);

    /// What results depend on besides the document, its [`FileContext`] and the options, as
    /// text that changes whenever that does (the contents of every file the check read while
    /// configuring, say): part of the results cache's key. `None` when that cannot be stated:
    /// the results are then never cached.
    fn depends_on(&self) -> Option<String> {
        Some(String::new())
    }
}

/// A validator linked into the binary, registered with `inventory::submit!`.
pub struct ValidatorRegistration {
    make: fn() -> Box<dyn Validator>,
}

impl ValidatorRegistration {
    /// A registration of the validator `make` builds.
    pub const fn new(make: fn() -> Box<dyn Validator>) -> ValidatorRegistration {
        ValidatorRegistration { make }
    }

    /// Builds the registered validator.
    pub fn make(&self) -> Box<dyn Validator> {
        (self.make)()
    }
}

inventory::collect!(ValidatorRegistration);
