//! Where `export` and `list` write their rows: stdout, or a new file written beside its target
//! and renamed into place at the end, never over an existing file.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use sidecar_engine::fsio::{StreamFile, WriteOutcome};

use crate::config::Config;
use crate::exit::UsageError;

pub struct RowsOutput {
    target: Option<(PathBuf, StreamFile)>,
}

impl RowsOutput {
    /// Opens `name` (`-` for stdout; `{shard}` becomes the `--shard` index), refusing one that
    /// exists; returns it and the writer for the rows. `what` names the setting in messages.
    pub fn open(
        what: &str,
        name: &str,
        config: &Config,
    ) -> anyhow::Result<(RowsOutput, Box<dyn Write + Send>)> {
        if name == "-" {
            return Ok((
                RowsOutput { target: None },
                Box::new(BufWriter::new(std::io::stdout())),
            ));
        }
        let path = output_path(what, name, config)?;
        if path.symlink_metadata().is_ok() {
            return Err(UsageError(format!(
                "{what} {}: exists already; nothing written (remove it or choose another name)",
                path.display()
            ))
            .into());
        }
        let (stream, file) = StreamFile::create(&path)
            .with_context(|| format!("{what} {}: cannot be written", path.display()))?;
        Ok((
            RowsOutput {
                target: Some((path, stream)),
            },
            Box::new(BufWriter::with_capacity(1 << 20, file)),
        ))
    }

    /// Whether the rows go to a file (and stdout is free for the report).
    pub fn is_file(&self) -> bool {
        self.target.is_some()
    }

    /// What the rows are written to, for messages.
    pub fn shown(&self) -> String {
        self.target.as_ref().map_or_else(
            || "stdout".to_owned(),
            |(path, _)| path.display().to_string(),
        )
    }

    /// Puts the file in place (the rows written and flushed).
    pub fn commit(self) -> anyhow::Result<()> {
        let Some((path, stream)) = self.target else {
            return Ok(());
        };
        match stream
            .commit()
            .with_context(|| format!("{}: cannot be put in place", path.display()))?
        {
            WriteOutcome::Written(_) => Ok(()),
            WriteOutcome::Exists => bail!(
                "{}: appeared while the rows were written; nothing was written over it",
                path.display()
            ),
        }
    }
}

/// The output's path, `{shard}` replaced by the shard's index.
fn output_path(what: &str, name: &str, config: &Config) -> Result<PathBuf, UsageError> {
    if !name.contains("{shard}") {
        return Ok(PathBuf::from(name));
    }
    match &config.rules.shard {
        Some(shard) => Ok(PathBuf::from(
            name.replace("{shard}", &shard.index.to_string()),
        )),
        None => Err(UsageError(format!(
            "{what} {name}: {{shard}} is replaced by the index of --shard I/N, and no --shard is given"
        ))),
    }
}
