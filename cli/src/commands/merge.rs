//! `merge REPORT…`: combines the reports of the shards of a split run (`--shard I/N`) into the
//! report one unsplit run writes: every count summed, every list merged in path order, every
//! map complete; timings are the longest shard's. The set is checked first: every report must
//! be a shard of the same run (same fingerprint: command, options, tool and plugin versions,
//! input), each index from 0 to N-1 exactly once; and each report is checked on its own
//! (`crate::shard_report`): bounded numbers, counts that agree with their lists, files of its
//! own shard only, none listed twice. A field of one type in one shard and another in the next
//! is refused too. Every refusal is exit 2 naming the report and the field.

use std::io::Read;

use serde_json::{Map, Value};

use crate::args::MergeArgs;
use crate::config::Output;
use crate::exit::{Exit, UsageError};
use crate::invocation;
use crate::shard_report::{self, Listed, MAX_SHARDS};
use sidecar_engine::discover::Shard;

/// A report and where it came from (a file, or `stdin #N`).
struct Input {
    name: String,
    report: Map<String, Value>,
}

fn read(args: &MergeArgs) -> Result<Vec<Input>, UsageError> {
    let mut inputs = Vec::new();
    let mut from_stdin = |text: &str, label: &str| -> Result<(), UsageError> {
        for (i, value) in serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .enumerate()
        {
            let value =
                value.map_err(|e| UsageError(format!("{label}: not a JSON report: {e}")))?;
            let Value::Object(report) = value else {
                return Err(UsageError(format!("{label}: a report is a JSON object")));
            };
            inputs.push(Input {
                name: format!("{label} #{}", i + 1),
                report,
            });
        }
        Ok(())
    };
    if args.reports.is_empty() || args.reports.iter().any(|r| r.as_os_str() == "-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| UsageError(format!("cannot read standard input: {e}")))?;
        from_stdin(&text, "stdin")?;
    }
    for path in args.reports.iter().filter(|r| r.as_os_str() != "-") {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| UsageError(format!("{}: not a JSON report: {e}", path.display())))?;
        let Value::Object(report) = value else {
            return Err(UsageError(format!(
                "{}: a report is a JSON object",
                path.display()
            )));
        };
        inputs.push(Input {
            name: path.display().to_string(),
            report,
        });
    }
    Ok(inputs)
}

/// The shard fields of a report: index, count, fingerprint, input.
fn shard_of(input: &Input) -> Result<(u64, u64, String, String), UsageError> {
    let shard = input.report.get("shard").ok_or_else(|| {
        UsageError(format!(
            "{} is not a shard's report (no `shard` field: was it run with --shard?)",
            input.name
        ))
    })?;
    let index = shard.get("index").and_then(Value::as_u64);
    let count = shard.get("count").and_then(Value::as_u64);
    let fingerprint = shard.get("fingerprint").and_then(Value::as_str);
    let root = shard.get("input").and_then(Value::as_str);
    match (index, count, fingerprint, root) {
        (Some(i), Some(n), Some(f), Some(r)) if (2..=MAX_SHARDS).contains(&n) && i < n => {
            Ok((i, n, f.to_owned(), r.to_owned()))
        }
        (Some(i), Some(n), Some(_), Some(_)) => Err(UsageError(format!(
            "{}: /shard: shard {i} of {n} cannot be (a split is 2 to {MAX_SHARDS} ways, indices from 0)",
            input.name
        ))),
        _ => Err(UsageError(format!(
            "{}: its `shard` field is incomplete (index, count, fingerprint and input)",
            input.name
        ))),
    }
}

/// Checks that the reports are exactly the shards of one run.
fn check(inputs: &[Input]) -> Result<(), UsageError> {
    let first = inputs
        .first()
        .ok_or_else(|| UsageError("no report to merge".into()))?;
    let (_, count, fingerprint, root) = shard_of(first)?;
    let mut seen: Vec<Option<&str>> = vec![None; count as usize];
    for input in inputs {
        let (index, n, f, r) = shard_of(input)?;
        if n != count || f != fingerprint || r != root {
            return Err(UsageError(format!(
                "{} is a shard of another run than {} ({}); merge only the shards of one run",
                input.name,
                first.name,
                if n != count {
                    format!("split {n} ways, not {count}")
                } else if r != root {
                    format!("its paths start with {r}, not {root}")
                } else {
                    "another command, options, tool, plugins or input".to_owned()
                }
            )));
        }
        // `shard_of` bounds the index by the count.
        match &mut seen[index as usize] {
            Some(other) => {
                return Err(UsageError(format!(
                    "shard {index} of {count} is given twice: {other} and {}",
                    input.name
                )))
            }
            slot => *slot = Some(&input.name),
        }
    }
    let mut listed = Listed::default();
    for input in inputs {
        let (index, count, _, root) = shard_of(input)?;
        shard_report::check(&input.report, Shard { index, count }, &root, &mut listed)
            .map_err(|v| UsageError(format!("{}: {}: {}", input.name, v.pointer, v.message)))?;
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(UsageError(format!(
            "shard{} {} of {count} missing",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Merges one field (at `pointer`) of every shard's report; the error names the field whose
/// type differs between shards.
fn merge(pointer: &str, key: &str, values: &[&Value]) -> Result<Value, String> {
    let kind = |v: &Value| std::mem::discriminant(v);
    if let Some(odd) = values
        .iter()
        .position(|v| !v.is_null() && !values[0].is_null() && kind(v) != kind(values[0]))
    {
        return Err(format!(
            "{}: {} in one shard, {} in another",
            if pointer.is_empty() { "/" } else { pointer },
            values[0],
            values[odd]
        ));
    }
    Ok(match values[0] {
        Value::Number(_) if key == "elapsed_seconds" => values
            .iter()
            .filter_map(|v| v.as_f64())
            .fold(0.0_f64, f64::max)
            .into(),
        // Counts are bounded (`shard_report::MAX_COUNT`), so the sum is exact.
        Value::Number(_) => values
            .iter()
            .map(|v| v.as_u64())
            .try_fold(0u64, |acc, n| n.and_then(|n| acc.checked_add(n)))
            .ok_or_else(|| format!("{pointer}: not a count in every shard"))?
            .into(),
        Value::Object(_) => {
            let objects: Vec<&Map<String, Value>> =
                values.iter().filter_map(|v| v.as_object()).collect();
            let mut keys: Vec<&String> = objects[0].keys().collect();
            let mut grew = false;
            for object in &objects[1..] {
                for key in object.keys() {
                    if !keys.contains(&key) {
                        keys.push(key);
                        grew = true;
                    }
                }
            }
            // A map whose keys differ between shards (counts by name) is sorted as one run's.
            if grew {
                keys.sort();
            }
            let mut merged = Map::new();
            for key in keys {
                let present: Vec<&Value> = objects.iter().filter_map(|o| o.get(key)).collect();
                let at = format!("{pointer}/{}", shard_report::escape(key));
                merged.insert(key.clone(), merge(&at, key, &present)?);
            }
            Value::Object(merged)
        }
        Value::Array(_) => {
            // The same list in every shard (the plugin load failures) is one list.
            if values.iter().all(|v| *v == values[0]) {
                return Ok(values[0].clone());
            }
            let mut items: Vec<Value> = values
                .iter()
                .filter_map(|v| v.as_array())
                .flatten()
                .cloned()
                .collect();
            // Records of no file (the columns each shard's CSV found): their union, in the
            // order the shards first give them.
            if items
                .iter()
                .all(|v| v.is_object() && v.get("file_path").is_none())
            {
                let mut union: Vec<Value> = Vec::with_capacity(items.len());
                for item in items {
                    if !union.contains(&item) {
                        union.push(item);
                    }
                }
                return Ok(Value::Array(union));
            }
            let order = |v: &Value| -> String {
                v.get("file_path")
                    .and_then(Value::as_str)
                    .or_else(|| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            items.sort_by_key(order);
            Value::Array(items)
        }
        other => values
            .iter()
            .find(|v| !v.is_null())
            .map_or_else(|| other.clone(), |v| (*v).clone()),
    })
}

pub fn run(args: &MergeArgs) -> anyhow::Result<Exit> {
    let destination = invocation::Destination::prepare(
        &Output::parse(&args.output),
        args.page.html.as_deref(),
        None,
    )?;
    let mut inputs = read(args)?;
    check(&inputs)?;
    inputs.sort_by_key(|i| shard_of(i).map(|(index, ..)| index).unwrap_or(0));
    let reports: Vec<Value> = inputs
        .into_iter()
        .map(|mut i| {
            i.report.remove("shard");
            Value::Object(i.report)
        })
        .collect();
    let refs: Vec<&Value> = reports.iter().collect();
    let merged = merge("", "", &refs)
        .map_err(|field| UsageError(format!("the shards' reports disagree at {field}")))?;
    invocation::write_value(&merged, destination)?;
    Ok(Exit::Success)
}
