//! What every command does around its operation: walk the input, run the operation on a pool of
//! the configured size with a progress bar on a terminal, and write the JSON report.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use sidecar_engine::discover::{discover, Tree};
use sidecar_engine::fsio::{self, Durability};
use sidecar_engine::ops::Progress;
use sidecar_engine::Registry;

use crate::config::{Config, Output};

/// One command's run.
pub struct Run {
    pub config: Config,
    pub registry: Registry,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn advance(&self, files: u64) {
        self.0.inc(files);
    }
}

impl Run {
    pub fn new(config: Config) -> Run {
        Run {
            config,
            registry: Registry::builtin(),
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

    /// Writes the report: pretty JSON (2-space indent) and a newline.
    pub fn emit(&self, report: &impl Serialize) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(report).context("cannot encode the report")?;
        bytes.push(b'\n');
        match &self.config.output {
            Output::Stdout => {
                let mut stdout = std::io::stdout().lock();
                stdout
                    .write_all(&bytes)
                    .context("cannot write the report to stdout")?;
                stdout
                    .flush()
                    .context("cannot write the report to stdout")?;
            }
            Output::File(path) => fsio::replace(path, &bytes, Durability::Atomic)
                .with_context(|| format!("cannot write the report to {}", path.display()))?,
        }
        Ok(())
    }
}
