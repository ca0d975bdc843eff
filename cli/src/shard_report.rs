//! Checking a shard's report before `merge` believes it: a report is read back from a file
//! anyone may have edited, so every number is bounded, every count must agree with the list it
//! summarises, every listed file must belong to the shard that lists it (the partition is
//! deterministic, so it is computed again), and no file may be listed twice in the set. The
//! error names the report and the field (a JSON pointer).

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Map, Value};
use sidecar_engine::discover::{Shard, REPORT_MARKER};

/// No split has more shards than this (Kubernetes' Indexed Jobs stop at 100,000 completions,
/// Slurm's arrays and AWS Batch's at fewer).
pub const MAX_SHARDS: u64 = 1_000_000;

/// No count in a report is larger (ten trillion: files, or bytes of sidecars in one shard).
/// Sums of up to [`MAX_SHARDS`] such counts stay exact in a `u64`.
pub const MAX_COUNT: u64 = 10_000_000_000_000;

/// No run takes longer than this many seconds (about 31 years).
const MAX_SECONDS: f64 = 1e9;

/// Counts the engine writes, wherever they appear (a pipeline nests them per stage): each must
/// be a whole number.
const COUNTS: &[&str] = &[
    "total_files",
    "valid_files",
    "invalid_files",
    "warnings",
    "converted",
    "skipped",
    "invalid",
    "failed",
    "conflicts",
    "superseded",
    "removed_temporaries",
    "restored_files",
    "total_sidecars",
    "total_images",
    "unreadable_sidecars",
    "total_bytes",
    "sidecars_without_image",
    "images_without_sidecar",
    "images_with_several_sidecars",
    "unrecognized_files",
    "filtered_files",
    "not_processed",
    "cached_files",
];

/// What is wrong with a report, at which field.
pub struct Violation {
    pub pointer: String,
    pub message: String,
}

fn violation(pointer: &str, message: impl Into<String>) -> Violation {
    Violation {
        pointer: if pointer.is_empty() {
            "/".into()
        } else {
            pointer.into()
        },
        message: message.into(),
    }
}

/// The files a set of reports lists, by list (its pointer), to find one listed twice.
#[derive(Default)]
pub struct Listed {
    seen: HashSet<(String, String)>,
}

/// Checks one shard's report; `shard` is its index and count, `input` the input its paths
/// start with, `listed` the files of the reports checked before it.
pub fn check(
    report: &Map<String, Value>,
    shard: Shard,
    input: &str,
    listed: &mut Listed,
) -> Result<(), Violation> {
    match report.get(REPORT_MARKER.0).and_then(Value::as_str) {
        Some(g) if g.starts_with(REPORT_MARKER.1) => {}
        _ => {
            return Err(violation(
                "/generator",
                "missing or not this tool's: not a report of image-sidecar-rust",
            ))
        }
    }
    let context = Context {
        shard,
        input: Path::new(input),
    };
    for (key, value) in report {
        if key != "shard" {
            context.value(&format!("/{}", escape(key)), key, value, listed)?;
        }
    }
    context.section("", report)
}

struct Context<'a> {
    shard: Shard,
    input: &'a Path,
}

impl Context<'_> {
    fn value(
        &self,
        pointer: &str,
        key: &str,
        value: &Value,
        listed: &mut Listed,
    ) -> Result<(), Violation> {
        match value {
            Value::Number(n) if key == "elapsed_seconds" => match n.as_f64() {
                Some(s) if (0.0..=MAX_SECONDS).contains(&s) => Ok(()),
                _ => Err(violation(
                    pointer,
                    format!("{n} is not a duration in seconds (0 to {MAX_SECONDS})"),
                )),
            },
            Value::Number(n) => match n.as_u64() {
                Some(c) if c <= MAX_COUNT => Ok(()),
                _ => Err(violation(
                    pointer,
                    format!("{n} is not a count (a whole number from 0 to {MAX_COUNT})"),
                )),
            },
            _ if COUNTS.contains(&key) || key == "elapsed_seconds" => Err(violation(
                pointer,
                format!("{value} where a number belongs"),
            )),
            Value::Object(map) => {
                for (k, v) in map {
                    self.value(&format!("{pointer}/{}", escape(k)), k, v, listed)?;
                }
                self.section(pointer, map)
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let at = format!("{pointer}/{i}");
                    let file = match item {
                        Value::String(path) if key == "directory_files" => Some(path.as_str()),
                        Value::Object(entry) => {
                            // An entry's fields are no report counts (its `warnings` is a list).
                            for (k, v) in entry {
                                self.value(&format!("{at}/{}", escape(k)), "", v, listed)?;
                            }
                            entry.get("file_path").and_then(Value::as_str)
                        }
                        _ => None,
                    };
                    if let Some(path) = file {
                        self.file(&at, path)?;
                        if !listed.seen.insert((pointer.to_owned(), path.to_owned())) {
                            return Err(violation(
                                &at,
                                format!("{path} is listed twice in the set"),
                            ));
                        }
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A listed file must be below the input and belong to this shard.
    fn file(&self, pointer: &str, path: &str) -> Result<(), Violation> {
        let Ok(rel) = Path::new(path).strip_prefix(self.input) else {
            return Err(violation(
                pointer,
                format!("{path} is not below the input {}", self.input.display()),
            ));
        };
        // A name that was not UTF-8 is shown with U+FFFD: its shard cannot be computed again.
        if rel.as_os_str().is_empty() || path.contains('\u{fffd}') {
            return Ok(());
        }
        if !self.shard.owns_path(Path::new(""), rel) {
            return Err(violation(
                pointer,
                format!(
                    "{path} belongs to another shard than {} of {}",
                    self.shard.index, self.shard.count
                ),
            ));
        }
        Ok(())
    }

    /// The counts of one report (or pipeline stage) against the lists they summarise.
    fn section(&self, pointer: &str, map: &Map<String, Value>) -> Result<(), Violation> {
        let count = |key: &str| map.get(key).and_then(Value::as_u64);
        let list = |key: &str| map.get(key).and_then(Value::as_array);
        let at = |key: &str| format!("{pointer}/{key}");
        let differs = |key: &str, n: u64, listed: usize, what: &str| {
            violation(
                &at(key),
                format!("{n}, but the report lists {listed} {what}"),
            )
        };
        if let (Some(total), Some(valid), Some(invalid), Some(results)) = (
            count("total_files"),
            count("valid_files"),
            count("invalid_files"),
            list("results"),
        ) {
            if valid + invalid != total {
                return Err(violation(
                    &at("total_files"),
                    format!(
                        "{total}, but valid_files {valid} and invalid_files {invalid} add up to {}",
                        valid + invalid
                    ),
                ));
            }
            let listed_invalid = results
                .iter()
                .filter(|r| r.get("is_valid") == Some(&Value::Bool(false)))
                .count();
            if listed_invalid as u64 != invalid {
                return Err(differs(
                    "invalid_files",
                    invalid,
                    listed_invalid,
                    "invalid files",
                ));
            }
            let all_listed = results
                .iter()
                .any(|r| r.get("is_valid") == Some(&Value::Bool(true)));
            if results.len() as u64 > total || (all_listed && results.len() as u64 != total) {
                return Err(differs("total_files", total, results.len(), "files"));
            }
        }
        if let (Some(_), Some(results)) = (count("converted"), list("results")) {
            for (key, status) in [
                ("skipped", "skipped"),
                ("invalid", "invalid"),
                ("failed", "failed"),
                ("conflicts", "conflict"),
            ] {
                let n = count(key).unwrap_or(0);
                let listed = results
                    .iter()
                    .filter(|r| r.get("status").and_then(Value::as_str) == Some(status))
                    .count();
                if listed as u64 != n {
                    return Err(differs(key, n, listed, &format!("{status} files")));
                }
            }
        }
        if let (Some(unreadable), Some(errors)) = (count("unreadable_sidecars"), list("errors")) {
            if unreadable > errors.len() as u64 {
                return Err(differs(
                    "unreadable_sidecars",
                    unreadable,
                    errors.len(),
                    "errors",
                ));
            }
        }
        if let (Some(total), Some(unrecognized), Some(Value::Object(formats))) = (
            count("total_files"),
            count("unrecognized_files"),
            map.get("format_distribution"),
        ) {
            let sum = formats.values().filter_map(Value::as_u64).sum::<u64>() + unrecognized;
            if sum != total {
                return Err(violation(
                    &at("total_files"),
                    format!(
                        "{total}, but format_distribution and unrecognized_files add up to {sum}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A key as a JSON pointer token.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
