//! What every command does around its work: walk the input, run on a pool of the configured
//! size with a progress bar on a terminal, and write the JSON report.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use sidecar_engine::discover::{discover, Tree};
use sidecar_engine::fsio::{self, Durability};
use sidecar_engine::ops::{self, Plan, Progress, Section, Stage};
use sidecar_engine::Registry;

use crate::config::{Config, Output};
use crate::plugins::{self, Loaded, PluginError};

/// One single-command run: its settings and its plugins.
pub struct Run {
    pub config: Config,
    pub loaded: Loaded,
}

impl Run {
    /// Loads the built-in plugins and the plugin directories.
    pub fn new(config: Config) -> Run {
        let loaded = plugins::load(&config.plugin_dirs);
        Run { config, loaded }
    }

    pub fn registry(&self) -> &Registry {
        &self.loaded.registry
    }

    /// Walks the input and runs one stage over it; the section's `elapsed_seconds` is the
    /// run's wall-clock time.
    pub fn single_stage(&self, stage: Stage<'_>) -> anyhow::Result<Section> {
        let tree = walk(&self.config, self.registry());
        let plan = Plan {
            stages: vec![stage],
            formats: Vec::new(),
        };
        let report = on_pool(&self.config, tree.len(), |progress| {
            ops::run(&tree, self.registry(), &plan, progress)
        })?;
        let mut section = report
            .sections
            .into_iter()
            .next()
            .expect("one stage, one section");
        let elapsed = match &mut section {
            Section::Validate(r) => &mut r.elapsed_seconds,
            Section::Convert(r) => &mut r.elapsed_seconds,
            Section::Stats(r) => &mut r.elapsed_seconds,
            Section::FormatStats(r) => &mut r.elapsed_seconds,
        };
        *elapsed = report.elapsed_seconds;
        Ok(section)
    }

    /// Writes the report, with the plugin load failures of the run.
    pub fn emit(&self, report: &impl Serialize) -> anyhow::Result<()> {
        emit_report(report, &self.config.output, &self.loaded.errors)
    }
}

/// Walks the input, leaving out the report file of the run.
pub fn walk(config: &Config, registry: &Registry) -> Tree {
    discover(&config.input, registry, &config.excluded_paths())
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn advance(&self, files: u64) {
        self.0.inc(files);
    }
}

/// Runs `work` on a pool of `--workers` threads, with a progress bar over `files` drawn only
/// when stderr is a terminal.
pub fn on_pool<T: Send>(
    config: &Config,
    files: usize,
    work: impl FnOnce(&dyn Progress) -> T + Send,
) -> anyhow::Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.workers.get())
        .thread_name(|i| format!("sidecar-worker-{i}"))
        .build()
        .context("cannot start the worker threads")?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec} eta {eta}")
                .expect("valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let progress = Bar(bar);
    let result = pool.install(|| work(&progress));
    progress.0.finish_and_clear();
    Ok(result)
}

/// A report with the plugin load failures of the run, when there were any.
#[derive(Serialize)]
struct WithPluginErrors<'a, R: Serialize> {
    #[serde(flatten)]
    report: &'a R,
    #[serde(skip_serializing_if = "<[PluginError]>::is_empty")]
    plugin_errors: &'a [PluginError],
}

/// Writes a report and the run's plugin load failures.
pub fn emit_report(
    report: &impl Serialize,
    output: &Output,
    plugin_errors: &[PluginError],
) -> anyhow::Result<()> {
    emit(
        &WithPluginErrors {
            report,
            plugin_errors,
        },
        output,
    )
}

/// Writes a report to stdout or, atomically, to a file: pretty JSON (2-space indent) and a
/// newline.
pub fn emit(report: &impl Serialize, output: &Output) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(report).context("cannot encode the report")?;
    bytes.push(b'\n');
    match output {
        Output::Stdout => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&bytes)
                .and_then(|()| stdout.flush())
                .context("cannot write the report to stdout")
        }
        Output::File(path) => fsio::replace(path, &bytes, Durability::Atomic)
            .with_context(|| format!("cannot write the report to {}", path.display())),
    }
}
