//! A pipeline file read into a [`Spec`]: every key checked, every problem collected (not only
//! the first), each at its place in the file. Names that only a registry can judge (formats,
//! validators) are kept with their spans for [`super::resolve`].

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::fsio::{Durability, MAX_FILE_SIZE_LIMIT};
use crate::ops::convert::Prefer;
use crate::ops::validate::OnError;
use crate::pipeline::diagnostic::{did_you_mean, Diagnostic};

/// A string as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub value: String,
    pub span: Range<usize>,
}

/// The `[input]` table.
#[derive(Debug, Default)]
pub struct InputSpec {
    pub root: Option<String>,
    pub include: Vec<Named>,
    pub exclude: Vec<Named>,
    /// Codec names: only files whose content is in one of these formats go through.
    pub formats: Vec<Named>,
    /// Replace the default image extensions and directory-file globs.
    pub image_extensions: Option<Vec<Named>>,
    pub directory_files: Option<Vec<Named>>,
}

/// Options for one validator of a validate stage.
#[derive(Debug)]
pub struct ValidatorOptions {
    pub validator: Named,
    pub options: serde_json::Value,
    /// Each option's key, where it is written (so that an error about it points there).
    pub keys: Vec<Named>,
}

#[derive(Debug)]
pub enum KindSpec {
    Validate {
        /// `None`: the default set.
        validators: Option<Vec<Named>>,
        on_error: OnError,
        options: Vec<ValidatorOptions>,
    },
    Convert {
        to: Named,
        keep_source: bool,
        remove_shared_sources: bool,
        /// `None`: the default, or what the command line says.
        durability: Option<Durability>,
        /// `None`: a target with other values is a conflict.
        prefer: Option<Prefer>,
    },
    Stats,
    FormatStats,
    Export {
        format: ExportFormat,
        /// A path relative to the pipeline file's directory (`{shard}` allowed), never `-`.
        output: Named,
        /// A JSON pointer to an array: one row per element.
        rows: Option<Named>,
        /// JSON pointers: the columns to write instead of all of them.
        fields: Vec<Named>,
        /// Parquet: a types document or an earlier export, relative to the pipeline file's
        /// directory, declaring the column types (no first pass).
        types: Option<Named>,
    },
}

/// What an export stage writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// JSON Lines; `null_non_finite` writes `NaN` and the infinities as `null`.
    JsonLines {
        null_non_finite: bool,
    },
    Csv,
    Parquet,
}

const EXPORT_FORMATS: &[&str] = &["jsonl", "csv", "parquet"];

#[derive(Debug)]
pub struct StageSpec {
    /// The stage's key in the report: its `name`, or its kind.
    pub name: String,
    pub kind: KindSpec,
    pub span: Range<usize>,
}

/// A pipeline file, checked for everything that needs no registry.
#[derive(Debug, Default)]
pub struct Spec {
    pub description: String,
    pub input: InputSpec,
    pub workers: Option<usize>,
    /// Relative to the pipeline file's directory.
    pub plugin_dirs: Vec<Named>,
    /// `-` or a path relative to the pipeline file's directory.
    pub report: Option<Named>,
    /// Files larger than this many bytes are reported, not read.
    pub max_file_size: Option<u64>,
    /// `I/N` or `auto/N`: only that shard of the tree (checked by the command line's parser).
    pub shard: Option<Named>,
    pub stages: Vec<StageSpec>,
}

pub const STAGE_KINDS: &[&str] = &["validate", "convert", "stats", "format-stats", "export"];
const TOP_KEYS: &[&str] = &[
    "description",
    "input",
    "stage",
    "workers",
    "plugin_dirs",
    "report",
    "max_file_size",
    "shard",
];
const INPUT_KEYS: &[&str] = &[
    "root",
    "include",
    "exclude",
    "formats",
    "image_extensions",
    "directory_files",
];
const ON_ERROR: &[&str] = &["skip-file", "abort"];

fn stage_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "validate" => &["kind", "name", "validators", "on_error", "options"],
        "convert" => &[
            "kind",
            "name",
            "to",
            "keep_source",
            "remove_shared_sources",
            "sync",
            "fsync",
            "prefer",
        ],
        "export" => &[
            "kind",
            "name",
            "format",
            "output",
            "rows",
            "fields",
            "non_finite",
            "types",
        ],
        _ => &["kind", "name"],
    }
}

/// Reads a pipeline file. Returns the spec (as far as it could be read) and every problem.
pub fn parse(text: &str) -> (Spec, Vec<Diagnostic>) {
    let (document, errors) = DeTable::parse_recoverable(text);
    let mut reader = Reader {
        diagnostics: errors
            .iter()
            .map(|e| {
                Diagnostic::new(
                    e.span().unwrap_or(0..0),
                    format!("TOML syntax: {}", e.message()),
                )
                .hint("see https://toml.io for the syntax")
            })
            .collect(),
    };
    // After a syntax error the rest of the file is read as far as it goes, but only the
    // syntax errors are reported: anything else could be their echo.
    let syntax_errors = reader.diagnostics.len();
    let spec = reader.document(document.get_ref());
    let mut diagnostics = reader.diagnostics;
    if syntax_errors > 0 {
        diagnostics.truncate(syntax_errors);
    }
    diagnostics.sort_by_key(|d| d.span.start);
    (spec, diagnostics)
}

struct Reader {
    diagnostics: Vec<Diagnostic>,
}

type Entry<'t, 'i> = (
    &'t Spanned<std::borrow::Cow<'i, str>>,
    &'t Spanned<DeValue<'i>>,
);

impl Reader {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::new(span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn unknown_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], context: &str) {
        for (key, _) in table.iter() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                let hint = did_you_mean(key.get_ref(), allowed.iter().copied())
                    .unwrap_or_else(|| format!("{context} takes: {}", allowed.join(", ")));
                self.error(
                    key.span(),
                    format!("unknown key `{}` in {context}", key.get_ref()),
                )
                .hint = Some(hint);
            }
        }
    }

    fn find<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<Entry<'t, 'i>> {
        table.iter().find(|(k, _)| k.get_ref() == key)
    }

    fn string(&mut self, value: &Spanned<DeValue<'_>>, what: &str) -> Option<Named> {
        match value.get_ref() {
            DeValue::String(s) => Some(Named {
                value: s.to_string(),
                span: value.span(),
            }),
            other => {
                self.error(
                    value.span(),
                    format!("`{what}` must be a string, not {}", other.type_str()),
                );
                None
            }
        }
    }

    fn strings(&mut self, value: &Spanned<DeValue<'_>>, what: &str) -> Vec<Named> {
        match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .filter_map(|item| self.string(item, &format!("{what}[…]")))
                .collect(),
            other => {
                self.error(
                    value.span(),
                    format!(
                        "`{what}` must be a list of strings, not {}",
                        other.type_str()
                    ),
                )
                .hint = Some(format!("{what} = [\"…\"]"));
                Vec::new()
            }
        }
    }

    fn boolean(&mut self, value: &Spanned<DeValue<'_>>, what: &str) -> bool {
        match value.get_ref() {
            DeValue::Boolean(b) => *b,
            other => {
                self.error(
                    value.span(),
                    format!("`{what}` must be true or false, not {}", other.type_str()),
                );
                false
            }
        }
    }

    fn document(&mut self, root: &DeTable<'_>) -> Spec {
        // Only TOML syntax errors are known yet.
        let syntax_broken = !self.diagnostics.is_empty();
        self.unknown_keys(root, TOP_KEYS, "the pipeline");
        let mut spec = Spec::default();
        if let Some((_, v)) = Self::find(root, "description") {
            spec.description = self
                .string(v, "description")
                .map(|n| n.value)
                .unwrap_or_default();
        }
        if let Some((_, v)) = Self::find(root, "workers") {
            spec.workers = match v.get_ref() {
                DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n @ 1..=1024) => Some(n as usize),
                    _ => {
                        self.error(v.span(), "`workers` must be from 1 to 1024");
                        None
                    }
                },
                other => {
                    self.error(
                        v.span(),
                        format!("`workers` must be an integer, not {}", other.type_str()),
                    );
                    None
                }
            };
        }
        if let Some((_, v)) = Self::find(root, "plugin_dirs") {
            spec.plugin_dirs = self.strings(v, "plugin_dirs");
        }
        if let Some((_, v)) = Self::find(root, "report") {
            spec.report = self.string(v, "report");
        }
        if let Some((_, v)) = Self::find(root, "shard") {
            spec.shard = self.string(v, "shard");
        }
        if let Some((_, v)) = Self::find(root, "max_file_size") {
            spec.max_file_size = match v.get_ref() {
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                    .ok()
                    .and_then(|n| u64::try_from(n).ok())
                    .map(|n| n.to_string()),
                DeValue::String(text) => Some(text.to_string()),
                _ => None,
            }
            .and_then(|text| {
                parse_size(&text)
                    .map_err(|e| {
                        self.error(v.span(), format!("`max_file_size`: {e}")).hint =
                            Some("max_file_size = \"512MiB\" (or a number of bytes)".into())
                    })
                    .ok()
            });
            if spec.max_file_size.is_none()
                && !matches!(v.get_ref(), DeValue::Integer(_) | DeValue::String(_))
            {
                self.error(
                    v.span(),
                    "`max_file_size` must be a size such as \"512MiB\" or a number of bytes",
                );
            }
        }
        if let Some((_, v)) = Self::find(root, "input") {
            match v.get_ref() {
                DeValue::Table(input) => spec.input = self.input(input),
                other => {
                    self.error(
                        v.span(),
                        format!("`input` must be a table, not {}", other.type_str()),
                    )
                    .hint =
                        Some("write it as [input] with include = [...] and exclude = [...]".into());
                }
            }
        }
        match Self::find(root, "stage") {
            // A broken file may have lost its stages to the syntax error; say that once.
            None if syntax_broken => {}
            None => {
                self.error(0..0, "a pipeline needs at least one [[stage]]")
                    .hint = Some("add a stage: [[stage]] with kind = \"validate\"".into());
            }
            Some((key, v)) => match v.get_ref() {
                DeValue::Array(stages) if stages.len() > MAX_STAGES => {
                    self.error(
                        key.span(),
                        format!(
                            "{} stages; a pipeline has at most {MAX_STAGES}",
                            stages.len()
                        ),
                    )
                    .hint = Some("split the work into several pipelines".into());
                }
                DeValue::Array(stages) if !stages.is_empty() => {
                    for stage in stages.iter() {
                        if let Some(stage) = self.stage(stage) {
                            spec.stages.push(stage);
                        }
                    }
                }
                _ => {
                    self.error(key.span(), "`stage` must be a list of tables")
                        .hint = Some("write each stage as [[stage]] followed by its keys".into());
                }
            },
        }
        self.check_stages(&spec.stages);
        spec
    }

    fn input(&mut self, table: &DeTable<'_>) -> InputSpec {
        self.unknown_keys(table, INPUT_KEYS, "[input]");
        let mut input = InputSpec::default();
        if let Some((_, v)) = Self::find(table, "root") {
            input.root = self.string(v, "input.root").map(|n| n.value);
        }
        if let Some((_, v)) = Self::find(table, "include") {
            input.include = self.strings(v, "input.include");
        }
        if let Some((_, v)) = Self::find(table, "exclude") {
            input.exclude = self.strings(v, "input.exclude");
        }
        if let Some((_, v)) = Self::find(table, "formats") {
            input.formats = self.strings(v, "input.formats");
        }
        if let Some((_, v)) = Self::find(table, "image_extensions") {
            input.image_extensions = Some(self.strings(v, "input.image_extensions"));
        }
        if let Some((_, v)) = Self::find(table, "directory_files") {
            let globs = self.strings(v, "input.directory_files");
            for glob in &globs {
                if let Err(e) =
                    crate::discover::Rules::new(None, Some(std::slice::from_ref(&glob.value)))
                {
                    self.error(glob.span.clone(), e).hint =
                        Some("globs use *, **, ?, [abc] and {a,b}".into());
                }
            }
            input.directory_files = Some(globs);
        }
        input
    }

    fn stage(&mut self, value: &Spanned<DeValue<'_>>) -> Option<StageSpec> {
        let DeValue::Table(table) = value.get_ref() else {
            self.error(value.span(), "each stage must be a table");
            return None;
        };
        let Some((kind_key, kind_value)) = Self::find(table, "kind") else {
            self.error(value.span(), "a stage needs a `kind`").hint =
                Some(format!("kind = one of {}", STAGE_KINDS.join(", ")));
            return None;
        };
        let kind = self.string(kind_value, "kind")?;
        if !STAGE_KINDS.contains(&kind.value.as_str()) {
            let hint = did_you_mean(&kind.value, STAGE_KINDS.iter().copied())
                .unwrap_or_else(|| format!("kinds: {}", STAGE_KINDS.join(", ")));
            self.error(kind.span, format!("unknown stage kind `{}`", kind.value))
                .hint = Some(hint);
            return None;
        }
        self.unknown_keys(
            table,
            stage_keys(&kind.value),
            &format!("a {} stage", kind.value),
        );
        let name = match Self::find(table, "name") {
            Some((_, v)) => self
                .string(v, "name")
                .map_or(kind.value.clone(), |n| n.value),
            None => kind.value.clone(),
        };
        let kind_spec = match kind.value.as_str() {
            "validate" => self.validate(table),
            "convert" => {
                let to = match Self::find(table, "to") {
                    Some((_, v)) => self.string(v, "to")?,
                    None => {
                        self.error(
                            kind_key.span().start..kind_value.span().end,
                            "a convert stage needs `to`, the target format",
                        )
                        .hint = Some(
                            "add to = \"bin\" (or \"rkyv\", \"json\", or a plugin's format)".into(),
                        );
                        return None;
                    }
                };
                let flag = |reader: &mut Reader, key: &str| {
                    Self::find(table, key).is_some_and(|(_, v)| reader.boolean(v, key))
                };
                let mut durability = flag(self, "fsync").then_some(Durability::EachFile);
                if let Some((_, v)) = Self::find(table, "sync") {
                    if let Some(name) = self.string(v, "sync") {
                        match Durability::parse(&name.value) {
                            Some(d) => durability = Some(d),
                            None => {
                                self.error(name.span, format!("unknown sync `{}`", name.value))
                                    .hint = Some(
                                    "sync = \"batch\" (the default), \"file\" or \"none\"".into(),
                                );
                            }
                        }
                    }
                }
                let mut prefer = None;
                if let Some((_, v)) = Self::find(table, "prefer") {
                    if let Some(name) = self.string(v, "prefer") {
                        prefer = Prefer::parse(&name.value);
                        if prefer.is_none() {
                            let hint =
                                did_you_mean(&name.value, Prefer::NAMES).unwrap_or_else(|| {
                                    "prefer = \"newer\", \"source\" or \"target\"".into()
                                });
                            self.error(name.span, format!("unknown prefer `{}`", name.value))
                                .hint = Some(hint);
                        }
                    }
                }
                KindSpec::Convert {
                    to,
                    keep_source: flag(self, "keep_source"),
                    remove_shared_sources: flag(self, "remove_shared_sources"),
                    durability,
                    prefer,
                }
            }
            "stats" => KindSpec::Stats,
            "export" => self.export(table, kind_key.span().start..kind_value.span().end)?,
            _ => KindSpec::FormatStats,
        };
        Some(StageSpec {
            name,
            kind: kind_spec,
            span: kind_value.span(),
        })
    }

    fn validate(&mut self, table: &DeTable<'_>) -> KindSpec {
        let validators =
            Self::find(table, "validators").map(|(_, v)| self.strings(v, "validators"));
        let on_error = match Self::find(table, "on_error") {
            None => OnError::SkipFile,
            Some((_, v)) => match self.string(v, "on_error") {
                Some(n) if n.value == "skip-file" => OnError::SkipFile,
                Some(n) if n.value == "abort" => OnError::Abort,
                Some(n) => {
                    let hint = did_you_mean(&n.value, ON_ERROR.iter().copied())
                        .unwrap_or_else(|| "on_error = \"skip-file\" or \"abort\"".into());
                    self.error(n.span, format!("unknown on_error `{}`", n.value))
                        .hint = Some(hint);
                    OnError::SkipFile
                }
                None => OnError::SkipFile,
            },
        };
        let mut options = Vec::new();
        if let Some((_, v)) = Self::find(table, "options") {
            match v.get_ref() {
                DeValue::Table(per_validator) => {
                    for (name, value) in per_validator.iter() {
                        if !matches!(value.get_ref(), DeValue::Table(_)) {
                            self.error(
                                value.span(),
                                format!("options of `{}` must be a table", name.get_ref()),
                            )
                            .hint = Some(format!(
                                "[stage.options.{}] followed by its keys",
                                name.get_ref()
                            ));
                            continue;
                        }
                        match to_json(value) {
                            Ok(json) => options.push(ValidatorOptions {
                                validator: Named {
                                    value: name.get_ref().to_string(),
                                    span: name.span(),
                                },
                                options: json,
                                keys: match value.get_ref() {
                                    DeValue::Table(table) => table
                                        .iter()
                                        .map(|(k, _)| Named {
                                            value: k.get_ref().to_string(),
                                            span: k.span(),
                                        })
                                        .collect(),
                                    _ => Vec::new(),
                                },
                            }),
                            Err(span) => {
                                self.error(span, "nan and inf cannot be validator options")
                                    .hint = Some(
                                    "options are passed as JSON, which has no such numbers".into(),
                                );
                            }
                        }
                    }
                }
                other => {
                    self.error(
                        v.span(),
                        format!("`options` must be a table, not {}", other.type_str()),
                    )
                    .hint = Some("[stage.options.VALIDATOR] followed by its keys".into());
                }
            }
        }
        KindSpec::Validate {
            validators,
            on_error,
            options,
        }
    }

    fn export(&mut self, table: &DeTable<'_>, kind_span: Range<usize>) -> Option<KindSpec> {
        let required = |reader: &mut Reader, key: &str, hint: &str| match Self::find(table, key) {
            Some((_, v)) => reader.string(v, key),
            None => {
                reader
                    .error(kind_span.clone(), format!("an export stage needs `{key}`"))
                    .hint = Some(hint.into());
                None
            }
        };
        let format = required(self, "format", "format = \"jsonl\", \"csv\" or \"parquet\"");
        let output = required(
            self,
            "output",
            "output = \"exports/sidecars.jsonl\" (relative to the pipeline file; {shard} is the shard's index)",
        );
        let rows = Self::find(table, "rows").and_then(|(_, v)| self.string(v, "rows"));
        let fields =
            Self::find(table, "fields").map_or_else(Vec::new, |(_, v)| self.strings(v, "fields"));
        for pointer in rows.iter().chain(&fields) {
            if !pointer.value.is_empty() && !pointer.value.starts_with('/') {
                self.error(
                    pointer.span.clone(),
                    format!("`{}` is not a JSON pointer", pointer.value),
                )
                .hint = Some("a JSON pointer starts with /, as in /face_detection/faces".into());
            }
        }
        let non_finite =
            Self::find(table, "non_finite").and_then(|(_, v)| self.string(v, "non_finite"));
        let types = Self::find(table, "types").and_then(|(_, v)| self.string(v, "types"));
        if let Some(output) = &output {
            if output.value == "-" {
                self.error(output.span.clone(), "an export stage writes to a file, not to stdout")
                    .hint = Some("stdout holds the pipeline's report: name a file, as output = \"sidecars.jsonl\"".into());
            }
        }
        let format = format?;
        let format = match format.value.as_str() {
            "jsonl" => {
                let null_non_finite = match &non_finite {
                    None => false,
                    Some(n) if n.value == "token" => false,
                    Some(n) if n.value == "null" => true,
                    Some(n) => {
                        self.error(n.span.clone(), format!("unknown non_finite `{}`", n.value))
                            .hint = Some(
                            "non_finite = \"token\" (NaN, as Python writes it) or \"null\"".into(),
                        );
                        false
                    }
                };
                ExportFormat::JsonLines { null_non_finite }
            }
            name @ ("csv" | "parquet") => {
                if let (Some(t), "csv") = (&types, name) {
                    self.error(t.span.clone(), "`types` declares Parquet's column types")
                        .hint = Some(
                        "CSV needs no types: remove `types`, or write format = \"parquet\"".into(),
                    );
                }
                if let Some(n) = &non_finite {
                    self.error(n.span.clone(), "`non_finite` is an option of JSON Lines")
                        .hint =
                        Some("CSV and Parquet write NaN and the infinities as they are".into());
                }
                if name == "csv" {
                    ExportFormat::Csv
                } else {
                    ExportFormat::Parquet
                }
            }
            other => {
                let hint = did_you_mean(other, EXPORT_FORMATS.iter().copied())
                    .unwrap_or_else(|| "format = \"jsonl\", \"csv\" or \"parquet\"".into());
                self.error(
                    format.span.clone(),
                    format!("unknown export format `{other}`"),
                )
                .hint = Some(hint);
                return None;
            }
        };
        if let (Some(t), ExportFormat::JsonLines { .. }) = (&types, format) {
            self.error(t.span.clone(), "`types` declares Parquet's column types")
                .hint = Some(
                "JSON Lines needs no types: remove `types`, or write format = \"parquet\"".into(),
            );
        }
        Some(KindSpec::Export {
            format,
            output: output?,
            rows,
            fields,
            types,
        })
    }

    /// Stage names are keys of the report: they must be unique. One conversion per pass; one
    /// export stage per output file.
    fn check_stages(&mut self, stages: &[StageSpec]) {
        let mut names = std::collections::HashSet::with_capacity(stages.len());
        for stage in stages {
            if !names.insert(stage.name.as_str()) {
                self.error(
                    stage.span.clone(),
                    format!("two stages are named `{}`", stage.name),
                )
                .hint = Some("give one of them a distinct name = \"…\"".into());
            }
        }
        let converts: Vec<&StageSpec> = stages
            .iter()
            .filter(|s| matches!(s.kind, KindSpec::Convert { .. }))
            .collect();
        for extra in converts.iter().skip(1) {
            self.error(
                extra.span.clone(),
                "a pipeline converts once: only one convert stage",
            )
            .hint = Some("split it into two pipelines".into());
        }
        let mut outputs = std::collections::HashSet::new();
        let mut converted = false;
        for stage in stages {
            converted |= matches!(stage.kind, KindSpec::Convert { .. });
            if let KindSpec::Export { output, .. } = &stage.kind {
                if converted {
                    // Its rows would name each file's path before the conversion and its format
                    // after it.
                    self.error(stage.span.clone(), "an export stage cannot follow a convert stage")
                        .hint = Some("put the export before the convert: converting does not change the documents it writes".into());
                }
                if !outputs.insert(output.value.as_str()) {
                    self.error(
                        output.span.clone(),
                        format!("two export stages write `{}`", output.value),
                    )
                    .hint = Some("give each export stage its own output".into());
                }
            }
        }
    }
}

/// The most stages a pipeline may have: one pass runs them all on every file.
pub const MAX_STAGES: usize = 256;

/// A TOML value as JSON, for validator options; the span of a float JSON cannot hold.
fn to_json(value: &Spanned<DeValue<'_>>) -> Result<serde_json::Value, Range<usize>> {
    Ok(match value.get_ref() {
        DeValue::String(s) => serde_json::Value::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).map_or_else(
            |_| serde_json::Value::String(i.to_string()),
            serde_json::Value::from,
        ),
        DeValue::Float(x) => x
            .as_str()
            .replace('_', "")
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(serde_json::Value::Number)
            .ok_or_else(|| value.span())?,
        DeValue::Boolean(b) => serde_json::Value::Bool(*b),
        DeValue::Datetime(d) => serde_json::Value::String(d.to_string()),
        DeValue::Array(items) => items.iter().map(to_json).collect::<Result<_, _>>()?,
        DeValue::Table(table) => serde_json::Value::Object(
            table
                .iter()
                .map(|(k, v)| Ok::<_, Range<usize>>((k.get_ref().to_string(), to_json(v)?)))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Reads a size: a number of bytes, or a number with a unit (`KB`, `MB`, `GB`: powers of
/// 1000; `KiB`, `MiB`, `GiB`: powers of 1024). At most [`MAX_FILE_SIZE_LIMIT`].
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let unit_bytes: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (B, KB, KiB, MB, MiB, GB, GiB)"
            ))
        }
    };
    let size = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_bytes))
        .ok_or_else(|| format!("`{text}` is not a size"))?;
    if size == 0 || size > MAX_FILE_SIZE_LIMIT {
        return Err(format!(
            "`{text}` is out of range: from 1 byte to {} bytes (2 GiB, what the formats address)",
            MAX_FILE_SIZE_LIMIT
        ));
    }
    Ok(size)
}
