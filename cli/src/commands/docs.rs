//! `completions SHELL` and `man`: the shell completion scripts and the manual page, generated
//! from the same argument definitions as `--help`. These two print text, not a JSON report.

use std::io::Write;

use clap::CommandFactory;

use crate::args::Cli;
use crate::exit::Exit;

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "image-sidecar-rust", &mut out);
    std::io::stdout().lock().write_all(&out)?;
    Ok(Exit::Success)
}

pub fn man() -> anyhow::Result<Exit> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(Exit::Success)
}
