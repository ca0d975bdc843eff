//! `validate`: see `sidecar_engine::ops::validate`.

use std::path::Path;

use sidecar_engine::ops::validate::{NamedCheck, ValidateStage};
use sidecar_engine::Registry;
use sidecar_validators::DEFAULT_VALIDATORS;

use crate::args::ValidateArgs;
use crate::config::Config;
use crate::exit::{Exit, UsageError};
use crate::invocation::Invocation;

pub fn run(args: &ValidateArgs) -> anyhow::Result<Exit> {
    let mut run = Invocation::new(Config::from_args(&args.common)?.selecting(&args.select))?;
    let stage = ValidateStage {
        all_results: args.all_results,
        checks: checks(run.registry(), &args.validators, &args.options)?,
        on_error: Default::default(),
    };
    let report = run.single_stage(stage)?;
    run.emit(&report)?;
    Ok(run.config.verdict(report.invalid_files > 0))
}

/// Configures the named validators (the default set when none are named) with their options.
pub fn checks(
    registry: &Registry,
    names: &[String],
    options: &[String],
) -> Result<Vec<NamedCheck>, UsageError> {
    let names: Vec<String> = if names.is_empty() {
        DEFAULT_VALIDATORS.iter().map(|n| n.to_string()).collect()
    } else {
        names
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect()
    };
    let mut per_validator = serde_json::Map::new();
    for option in options {
        let (name, key, value) = parse_option(option)?;
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            return Err(UsageError(format!(
                "--option {option}: `{name}` is not among the validators run ({})",
                names.join(",")
            )));
        }
        per_validator
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .expect("options are objects")
            .insert(key, value);
    }
    names
        .iter()
        .map(|name| {
            let validator = registry.validator(name).ok_or_else(|| {
                let known: Vec<&str> = registry
                    .validator_entries()
                    .iter()
                    .map(|e| e.validator.name())
                    .collect();
                let hint =
                    sidecar_engine::pipeline::diagnostic::did_you_mean(name, known.iter().copied())
                        .map_or_else(String::new, |h| format!("; {h}"));
                UsageError(format!(
                    "unknown validator `{name}`{hint} (known: {})",
                    known.join(", ")
                ))
            })?;
            let options = per_validator
                .get(&name.to_ascii_lowercase())
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}));
            NamedCheck::configure(validator, &options, Path::new("."))
                .map_err(|e| UsageError(format!("validator `{name}`: {e}")))
        })
        .collect()
}

/// `VALIDATOR.KEY=VALUE`, VALUE read as JSON when it parses, as a string otherwise.
fn parse_option(option: &str) -> Result<(String, String, serde_json::Value), UsageError> {
    let malformed = || UsageError(format!("--option {option}: expected VALIDATOR.KEY=VALUE"));
    let (target, value) = option.split_once('=').ok_or_else(malformed)?;
    let (name, key) = target.split_once('.').ok_or_else(malformed)?;
    if name.is_empty() || key.is_empty() {
        return Err(malformed());
    }
    let value =
        serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.into()));
    Ok((name.to_owned(), key.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_as_json_or_text() {
        let (name, key, value) = parse_option("json-schema.schema=/tmp/s.json").unwrap();
        assert_eq!((name.as_str(), key.as_str()), ("json-schema", "schema"));
        assert_eq!(value, serde_json::json!("/tmp/s.json"));
        let (_, _, value) = parse_option("rules.rules=[{\"path\": \"/a\"}]").unwrap();
        assert!(value.is_array());
        assert!(parse_option("noequals").is_err());
        assert!(parse_option("nodot=1").is_err());
    }
}
