//! An example plugin library: the validator `rules`, whose rules come from its options.
//!
//! ```json
//! {"rules": [
//!   {"path": "/sidecar_info/operation_type", "required": true,
//!    "one_of": ["face_detection", "yolov8", "quality_assessment"]},
//!   {"path": "/face_detection/faces", "max_items": 50},
//!   {"path": "/data/quality/overall_score", "min": 0, "max": 1, "severity": "warning"}
//! ]}
//! ```
//!
//! Each rule names a value by JSON pointer. `required` reports its absence; `one_of` lists the
//! allowed strings or numbers; `min`/`max` bound a number; `max_items` bounds the length of a
//! list or object. A rule's findings are errors unless `severity` is `"warning"`.
//!
//! The library also exports the summary `ratings`, which adds two fields to the stats report:
//! `rating_counts`, the number of sidecars per value of their top-level `rating`, and
//! `rated_files`, how many have one. Copy this crate to start a plugin of your own.

use std::path::Path;

use sidecar_plugin_api::{
    export_plugin, Check, Counter, Field, FieldKind, FileContext, Finding, Severity, Summary,
    Validator, View,
};

pub struct Rules;

/// One checked rule.
pub struct Rule {
    path: String,
    tokens: Vec<String>,
    required: bool,
    one_of: Vec<serde_json::Value>,
    min: Option<f64>,
    max: Option<f64>,
    max_items: Option<usize>,
    severity: Severity,
}

const KEYS: &[&str] = &[
    "path",
    "required",
    "one_of",
    "min",
    "max",
    "max_items",
    "severity",
];

fn rule(index: usize, spec: &serde_json::Value) -> Result<Rule, String> {
    let at = format!("rules[{index}]");
    let spec = spec.as_object().ok_or(format!("{at} must be an object"))?;
    if let Some(unknown) = spec.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "{at} has an unknown key `{unknown}` (known: {})",
            KEYS.join(", ")
        ));
    }
    let path = spec
        .get("path")
        .and_then(|p| p.as_str())
        .filter(|p| p.is_empty() || p.starts_with('/'))
        .ok_or(format!(
            "{at}.path must be a JSON pointer such as \"/sidecar_info/operation_type\""
        ))?;
    let number = |key: &str| -> Result<Option<f64>, String> {
        spec.get(key)
            .map(|v| v.as_f64().ok_or(format!("{at}.{key} must be a number")))
            .transpose()
    };
    Ok(Rule {
        path: path.to_owned(),
        tokens: path
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
        required: match spec.get("required") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or(format!("{at}.required must be true or false"))?,
        },
        one_of: match spec.get("one_of") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .ok_or(format!("{at}.one_of must be a list"))?
                .clone(),
        },
        min: number("min")?,
        max: number("max")?,
        max_items: spec
            .get("max_items")
            .map(|v| {
                v.as_u64()
                    .map(|n| n as usize)
                    .ok_or(format!("{at}.max_items must be a count"))
            })
            .transpose()?,
        severity: match spec.get("severity").and_then(|s| s.as_str()) {
            None | Some("error") => Severity::Error,
            Some("warning") => Severity::Warning,
            Some(other) => {
                return Err(format!(
                    "{at}.severity must be \"error\" or \"warning\", not {other:?}"
                ))
            }
        },
    })
}

fn resolve<'a>(root: View<'a>, tokens: &[String]) -> Option<View<'a>> {
    tokens.iter().try_fold(root, |node, token| match node {
        View::Object(map) => map.get(token),
        View::Array(items) => token.parse().ok().and_then(|i| items.at(i)),
        _ => None,
    })
}

fn matches(view: View<'_>, allowed: &serde_json::Value) -> bool {
    match (view, allowed) {
        (View::Str(s), serde_json::Value::String(a)) => s == a,
        (View::Bool(b), serde_json::Value::Bool(a)) => b == *a,
        (_, serde_json::Value::Number(a)) => view.as_f64() == a.as_f64(),
        _ => false,
    }
}

impl Validator for Rules {
    fn name(&self) -> &str {
        "rules"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn description(&self) -> &str {
        "rules read from the options: required values, allowed values, numeric bounds, list sizes"
    }
    fn configure(
        &self,
        options: &serde_json::Value,
        _base_dir: &Path,
    ) -> Result<Box<dyn Check>, String> {
        let rules = options
            .get("rules")
            .and_then(|r| r.as_array())
            .ok_or("`rules` needs the option `rules`: a list of rules")?;
        let rules = rules
            .iter()
            .enumerate()
            .map(|(i, spec)| rule(i, spec))
            .collect::<Result<_, _>>()?;
        Ok(Box::new(RuleSet(rules)))
    }
}

/// The configured rules.
struct RuleSet(Vec<Rule>);

impl Check for RuleSet {
    fn check(&self, document: View<'_>, _file: &FileContext<'_>, findings: &mut Vec<Finding>) {
        let rules = &self.0;
        for rule in rules {
            let mut report = |message: String| {
                findings.push(Finding {
                    severity: rule.severity,
                    message,
                    location: Some(rule.path.clone()),
                })
            };
            let Some(value) = resolve(document, &rule.tokens) else {
                if rule.required {
                    report("required value is missing".into());
                }
                continue;
            };
            if !rule.one_of.is_empty() && !rule.one_of.iter().any(|a| matches(value, a)) {
                report(format!(
                    "{value:?} is not one of {}",
                    serde_json::Value::from(rule.one_of.clone())
                ));
            }
            if let Some(x) = value.as_f64() {
                let within =
                    rule.min.is_none_or(|min| x >= min) && rule.max.is_none_or(|max| x <= max);
                if !within {
                    report(format!(
                        "{x} is outside [{}, {}]",
                        fmt(rule.min),
                        fmt(rule.max)
                    ));
                }
            }
            let len = match value {
                View::Array(items) => Some(items.len()),
                View::Object(map) => Some(map.len()),
                _ => None,
            };
            if let (Some(len), Some(max)) = (len, rule.max_items) {
                if len > max {
                    report(format!("holds {len} items, more than {max}"));
                }
            }
        }
    }
}

fn fmt(bound: Option<f64>) -> String {
    bound.map_or("…".into(), |b| b.to_string())
}

/// Counts sidecars by their top-level `rating`.
pub struct Ratings;

impl Summary for Ratings {
    fn name(&self) -> &str {
        "ratings"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn description(&self) -> &str {
        "sidecars per top-level rating"
    }
    fn fields(&self) -> Vec<Field> {
        vec![
            Field {
                name: "rating_counts".into(),
                kind: FieldKind::Tally,
            },
            Field {
                name: "rated_files".into(),
                kind: FieldKind::Total,
            },
        ]
    }
    fn add(&self, document: View<'_>, counters: &mut [Counter]) {
        let rating = match document.get("rating") {
            Some(View::Int(n)) => n.to_string(),
            Some(View::UInt(n)) => n.to_string(),
            Some(View::Str(s)) => s.to_owned(),
            _ => return,
        };
        counters[0].add_to(&rating, 1);
        counters[1].add(1);
    }
}

export_plugin! {
    codecs: [],
    validators: [Rules],
    summaries: [Ratings],
}
