//! What every command does around its operation: walk the input, run the operation on a pool of
//! the configured size with a progress bar on a terminal, and write the JSON report.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use sidecar_engine::discover::{discover, Tree};
use sidecar_engine::fsio::{self, Durability};
use sidecar_engine::ops::{self, Plan, Progress, Section, Stage};
use sidecar_engine::Registry;

use crate::config::{Config, Output};
use crate::plugins::{self, PluginError};

/// One command's run.
pub struct Run {
    pub config: Config,
    pub registry: Registry,
    /// Plugin libraries or directories that did not load; reported with the results.
    pub plugin_errors: Vec<PluginError>,
}

/// A report with the plugin load failures of the run, when there were any.
#[derive(Serialize)]
struct WithPluginErrors<'a, R: Serialize> {
    #[serde(flatten)]
    report: &'a R,
    #[serde(skip_serializing_if = "<[PluginError]>::is_empty")]
    plugin_errors: &'a [PluginError],
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn advance(&self, files: u64) {
        self.0.inc(files);
    }
}

impl Run {
    /// Loads the built-in plugins and the plugin directories.
    pub fn new(config: Config) -> Run {
        let loaded = plugins::load(&config.plugin_dirs);
        Run {
            config,
            registry: loaded.registry,
            plugin_errors: loaded.errors,
        }
    }

    /// Walks the input.
    pub fn tree(&self) -> Tree {
        discover(
            &self.config.input,
            &self.registry,
            &self.config.excluded_paths(),
        )
    }

    /// Runs `operation` on a pool of `--workers` threads, with a progress bar over `files`
    /// drawn only when stderr is a terminal.
    pub fn on_pool<T: Send>(
        &self,
        files: usize,
        operation: impl FnOnce(&dyn Progress) -> T + Send,
    ) -> anyhow::Result<T> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.config.workers.get())
            .thread_name(|i| format!("sidecar-worker-{i}"))
            .build()
            .context("cannot start the worker threads")?;
        let bar = if std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec} eta {eta}")
                    .expect("valid template"),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        let progress = Bar(bar);
        let result = pool.install(|| operation(&progress));
        progress.0.finish_and_clear();
        Ok(result)
    }

    /// Walks the input and runs one stage over it; the section's `elapsed_seconds` is the
    /// run's wall-clock time.
    pub fn single_stage(&self, stage: Stage<'_>) -> anyhow::Result<Section> {
        let tree = self.tree();
        let plan = Plan {
            stages: vec![stage],
            formats: Vec::new(),
        };
        let report = self.on_pool(tree.candidates.len(), |progress| {
            ops::run(&tree, &self.registry, &plan, progress)
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

    /// Writes the report: pretty JSON (2-space indent) and a newline.
    pub fn emit(&self, report: &impl Serialize) -> anyhow::Result<()> {
        let report = WithPluginErrors {
            report,
            plugin_errors: &self.plugin_errors,
        };
        emit(&report, &self.config.output)
    }
}

/// Writes a report to stdout or, atomically, to a file.
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
