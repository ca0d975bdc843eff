//! `plugins list`: every codec, validator and summary with where it comes from, every library
//! that loaded, and every library or directory that did not, with the reason.

use serde::Serialize;
use sidecar_engine::registry::Provenance;
use sidecar_validators::DEFAULT_VALIDATORS;

use crate::args::PluginsArgs;
use crate::config::{plugin_dirs, Output};
use crate::exit::{Exit, UsageError};
use crate::invocation;
use crate::plugins::{self, PluginError};

#[derive(Serialize)]
struct CodecInfo {
    name: String,
    display_name: String,
    aliases: Vec<String>,
    extensions: Vec<String>,
    version: String,
    writes: bool,
    /// Other programs read its files: converting away from it keeps them by default.
    read_by_other_programs: bool,
    provenance: String,
}

#[derive(Serialize)]
struct ValidatorInfo {
    name: String,
    description: String,
    version: String,
    default: bool,
    provenance: String,
}

#[derive(Serialize)]
struct SummaryInfo {
    name: String,
    description: String,
    version: String,
    /// The stats report fields it adds.
    fields: Vec<String>,
    provenance: String,
}

#[derive(Serialize)]
struct LibraryInfo {
    path: String,
    name: String,
    version: String,
    codecs: Vec<String>,
    validators: Vec<String>,
    summaries: Vec<String>,
    /// `scanned` (by the scanner process, this run) or `cached` (an earlier scan).
    scan: &'static str,
}

#[derive(Serialize)]
struct PluginsReport {
    /// The plugin ABI version this tool loads (libraries built against 1.x for x ≤ this).
    plugin_api_version: &'static str,
    codecs: Vec<CodecInfo>,
    validators: Vec<ValidatorInfo>,
    summaries: Vec<SummaryInfo>,
    libraries: Vec<LibraryInfo>,
    failed: Vec<PluginError>,
}

fn provenance(p: &Provenance) -> String {
    match p {
        Provenance::BuiltIn => "built-in".into(),
        Provenance::Library { path, .. } => path.to_string_lossy().into_owned(),
    }
}

pub fn run(args: &PluginsArgs) -> anyhow::Result<Exit> {
    let loaded =
        plugins::load(&plugin_dirs(&args.plugins), plugins::Mode::Load).map_err(UsageError)?;
    let registry = &loaded.registry;
    let report = PluginsReport {
        plugin_api_version: sidecar_plugin_api::ABI_VERSION,
        codecs: registry
            .entries()
            .iter()
            .map(|e| CodecInfo {
                name: e.codec.name().into(),
                display_name: e.codec.display_name().into(),
                aliases: e.codec.aliases().iter().map(|a| a.to_string()).collect(),
                extensions: e.codec.extensions().iter().map(|x| x.to_string()).collect(),
                version: e.codec.version().into(),
                writes: e.codec.can_encode(),
                read_by_other_programs: e.codec.read_by_other_programs(),
                provenance: provenance(&e.provenance),
            })
            .collect(),
        validators: registry
            .validator_entries()
            .iter()
            .map(|e| ValidatorInfo {
                name: e.validator.name().into(),
                description: e.validator.description().into(),
                version: e.validator.version().into(),
                default: DEFAULT_VALIDATORS.contains(&e.validator.name()),
                provenance: provenance(&e.provenance),
            })
            .collect(),
        summaries: registry
            .summary_entries()
            .iter()
            .map(|e| SummaryInfo {
                name: e.summary.name().into(),
                description: e.summary.description().into(),
                version: e.summary.version().into(),
                fields: e.fields.iter().map(|f| f.name.clone()).collect(),
                provenance: provenance(&e.provenance),
            })
            .collect(),
        libraries: loaded
            .libraries
            .iter()
            .map(|l| LibraryInfo {
                path: l.path.to_string_lossy().into_owned(),
                name: l.name.clone(),
                version: l.version.clone(),
                codecs: l.codecs.iter().map(|c| c.name().to_owned()).collect(),
                validators: l.validators.iter().map(|v| v.name().to_owned()).collect(),
                summaries: l.summaries.iter().map(|s| s.name().to_owned()).collect(),
                scan: loaded
                    .scans
                    .iter()
                    .find(|(p, _)| *p == l.path)
                    .map_or("scanned", |(_, s)| *s),
            })
            .collect(),
        failed: loaded.errors,
    };
    invocation::emit(&report, &Output::parse(&args.output))?;
    Ok(Exit::Success)
}
