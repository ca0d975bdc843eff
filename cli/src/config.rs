//! The validated settings of one run, built from the parsed arguments. Everything a command
//! needs is checked here (the input exists, the worker count is sane, the format is known), so
//! the commands never see clap and never fail on their arguments.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use sidecar_engine::discover::{Rules, Shard};
use sidecar_engine::fsio::DEFAULT_MAX_FILE_SIZE;

use crate::args::{CommonArgs, PluginArgs, RuleArgs};
use crate::exit::{Exit, UsageError};

/// Where the report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout,
    File(PathBuf),
}

impl Output {
    pub fn parse(arg: &str) -> Output {
        match arg {
            "-" => Output::Stdout,
            path => Output::File(PathBuf::from(path)),
        }
    }
}

/// The environment variable naming more plugin directories, `:`-separated.
pub const PLUGIN_PATH_VAR: &str = "IMAGE_SIDECAR_PLUGIN_PATH";

/// Plugin directories from the arguments, then from the environment.
/// Whether stderr messages are coloured, set once by `main` (`--color`, `NO_COLOR`).
static COLOUR: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Records whether to colour stderr messages.
pub fn set_colour(colour: bool) {
    let _ = COLOUR.set(colour);
}

/// Whether to colour stderr messages.
pub fn colour() -> bool {
    COLOUR.get().copied().unwrap_or(false)
}

/// `--plugin-dir` given before the subcommand, set once by `main`.
static LEADING_PLUGIN_DIRS: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();

/// Records the `--plugin-dir`s given before the subcommand.
pub fn set_leading_plugin_dirs(dirs: Vec<PathBuf>) {
    let _ = LEADING_PLUGIN_DIRS.set(dirs);
}

/// Plugin paths: those before the subcommand, then the subcommand's, then the environment's.
pub fn plugin_dirs(args: &PluginArgs) -> Vec<PathBuf> {
    let mut dirs = LEADING_PLUGIN_DIRS.get().cloned().unwrap_or_default();
    dirs.extend(args.plugin_dir.iter().cloned());
    if let Some(var) = std::env::var_os(PLUGIN_PATH_VAR) {
        dirs.extend(std::env::split_paths(&var).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs
}

/// This tool's directory in the user's cache: `$XDG_CACHE_HOME/image-sidecar-rust`, by
/// default `~/.cache/image-sidecar-rust`.
pub fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("image-sidecar-rust"))
}

/// The walk's rules: the command line's lists over a pipeline's, over the defaults.
pub fn rules(
    args: &RuleArgs,
    pipeline_images: Option<&[String]>,
    pipeline_directory_files: Option<&[String]>,
    shard: Option<&str>,
) -> Result<Rules, UsageError> {
    let mut rules = Rules::new(
        args.image_extensions.as_deref().or(pipeline_images),
        args.directory_files.as_deref().or(pipeline_directory_files),
    )
    .map_err(UsageError)?;
    rules.shard = shard.map(parse_shard).transpose()?;
    rules.cross_file_systems = args.cross_file_systems;
    Ok(rules)
}

/// The scheduler variables that give `--shard auto/N` its index, in the order they are read.
const SHARD_VARS: &str = "JOB_COMPLETION_INDEX (Kubernetes Indexed Job), SLURM_ARRAY_TASK_ID (Slurm job array) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job)";

/// `--shard I/N` or `auto/N`.
pub fn parse_shard(text: &str) -> Result<Shard, UsageError> {
    let bad = |why: &str| UsageError(format!("--shard {text}: {why}"));
    let (index, count) = text
        .split_once('/')
        .ok_or_else(|| bad("expected I/N (I from 0 to N-1) or auto/N"))?;
    let count: u64 = count
        .parse()
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(|| bad("N must be a number from 1 to 1000000"))?;
    let index: u64 = if index == "auto" {
        let read = |var: &str| std::env::var(var).ok().map(|v| (var.to_owned(), v));
        let (var, value) = read("JOB_COMPLETION_INDEX")
            .or_else(|| read("SLURM_ARRAY_TASK_ID"))
            .or_else(|| read("AWS_BATCH_JOB_ARRAY_INDEX"))
            .ok_or_else(|| bad(&format!("auto needs {SHARD_VARS} to be set")))?;
        let mut index: u64 = value
            .trim()
            .parse()
            .map_err(|_| bad(&format!("{var}={value} is not an index")))?;
        if var == "SLURM_ARRAY_TASK_ID" {
            let min: u64 = std::env::var("SLURM_ARRAY_TASK_MIN")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            index = index
                .checked_sub(min)
                .ok_or_else(|| bad("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN"))?;
        }
        index
    } else {
        index.parse().map_err(|_| bad("I must be a number"))?
    };
    if index >= count {
        return Err(bad(&format!(
            "the index {index} is not below the count {count}"
        )));
    }
    Ok(Shard { index, count })
}

/// The kind of kernel pseudo file system `path` is on (`/proc`, `/sys` and their like), if it
/// is on one.
fn pseudo_file_system(path: &Path) -> Option<&'static str> {
    let magic = rustix::fs::statfs(path).ok()?.f_type as u64;
    Some(match magic {
        0x9fa0 => "proc",
        0x6265_6572 => "sysfs",
        0x1cd1 => "devpts",
        0x0027_e0eb | 0x6367_7270 => "cgroup",
        0x6462_6720 => "debugfs",
        0x7472_6163 => "tracefs",
        0x7363_6673 => "securityfs",
        0xcafe_4a11 => "bpf",
        0x6165_676c => "pstore",
        0x6265_6570 => "configfs",
        0x6573_5543 => "fusectl",
        0xde5e_81e4 => "efivarfs",
        _ => return None,
    })
}

/// Settings every command shares.
#[derive(Debug, Clone)]
pub struct Config {
    pub input: PathBuf,
    pub workers: NonZeroUsize,
    pub output: Output,
    /// Where the report's HTML page goes (`--html`), if anywhere.
    pub html: Option<PathBuf>,
    pub strict: bool,
    /// Plugin directories: `--plugin-dir` first, then `IMAGE_SIDECAR_PLUGIN_PATH`.
    pub plugin_dirs: Vec<PathBuf>,
    /// Files larger than this are reported, not read.
    pub max_file_size: u64,
    /// What counts as an image and as a directory-level file.
    pub rules: Rules,
    /// Use the results cache (read-only commands).
    pub cache: bool,
    /// Only sidecars holding one of these operations (`--operation-type`); empty for all.
    pub operations: Vec<String>,
}

/// The input as reports show it: a path that steps up (`pl/../photos`) is resolved to the
/// directory it names, shown relative to the working directory when it lies below it
/// (`photos`), else absolute. Resolved, not cut lexically: `pl` may be a symlink, and then
/// `pl/..` is not the directory `pl` sits in. Other paths are shown as given.
fn without_parent_steps(input: PathBuf) -> PathBuf {
    if !input
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return input;
    }
    let Ok(resolved) = std::fs::canonicalize(&input) else {
        return input;
    };
    let below = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .ok()
        .and_then(|cwd| resolved.strip_prefix(cwd).ok().map(Path::to_path_buf));
    match below {
        Some(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Some(rel) => rel,
        None => resolved,
    }
}

impl Config {
    pub fn from_args(args: &CommonArgs) -> Result<Config, UsageError> {
        Config::new(
            args.input.clone(),
            args.workers,
            Output::parse(&args.output),
            args.strict,
            plugin_dirs(&args.plugins),
        )
        .and_then(|config| {
            Ok(Config {
                max_file_size: args.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
                rules: rules(&args.rules, None, None, args.pass.shard.as_deref())?,
                cache: !args.pass.no_cache,
                html: args.page.html.clone(),
                ..config
            })
        })
    }

    /// The same settings, looking only at the sidecars `select` chooses.
    pub fn selecting(self, select: &crate::args::SelectArgs) -> Config {
        Config {
            operations: select.operation_types.clone(),
            ..self
        }
    }

    /// Checks the input (it exists and can be read) and the worker count.
    pub fn new(
        input: PathBuf,
        workers: Option<usize>,
        output: Output,
        strict: bool,
        plugin_dirs: Vec<PathBuf>,
    ) -> Result<Config, UsageError> {
        if let Some(kind) = pseudo_file_system(&input) {
            return Err(UsageError(format!(
                "input path {} is on {kind}, a file system of the kernel's, not of sidecars",
                input.display()
            )));
        }
        match std::fs::metadata(&input) {
            Ok(meta) if meta.is_dir() => {
                std::fs::read_dir(&input).map_err(|e| {
                    UsageError(format!(
                        "cannot read input directory {}: {e}",
                        input.display()
                    ))
                })?;
            }
            Ok(meta) if !meta.is_file() => {
                return Err(UsageError(format!(
                    "input path {} is {}: give a directory or a sidecar file",
                    input.display(),
                    sidecar_engine::fsio::kind_of(meta.file_type())
                )))
            }
            Ok(_) => {
                std::fs::File::open(&input).map_err(|e| {
                    UsageError(format!("cannot read input file {}: {e}", input.display()))
                })?;
            }
            Err(e) => {
                return Err(UsageError(format!(
                    "input path {} {}",
                    input.display(),
                    match e.kind() {
                        std::io::ErrorKind::NotFound => "does not exist".to_owned(),
                        _ => format!("cannot be read: {e}"),
                    }
                )))
            }
        }
        let workers = match workers {
            None => std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            Some(n) => NonZeroUsize::new(n)
                .filter(|n| n.get() <= 1024)
                .ok_or_else(|| UsageError(format!("--workers must be from 1 to 1024, not {n}")))?,
        };
        Ok(Config {
            input: without_parent_steps(input),
            workers,
            output,
            html: None,
            strict,
            plugin_dirs,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            rules: Rules::default(),
            cache: true,
            operations: Vec::new(),
        })
    }

    /// Paths the walk must not take for sidecars (the report file of this run).
    pub fn excluded_paths(&self) -> Vec<PathBuf> {
        match &self.output {
            Output::File(path) => vec![path.clone()],
            Output::Stdout => Vec::new(),
        }
    }

    /// The directory the run works in: the input, or a single input file's directory, as its
    /// real path.
    pub fn root_dir(&self) -> PathBuf {
        let real = std::fs::canonicalize(&self.input).unwrap_or_else(|_| self.input.clone());
        if real.is_dir() {
            real
        } else {
            sidecar_engine::fsio::parent(&real).to_path_buf()
        }
    }
}

impl Config {
    /// The exit for a run that completed: findings matter only under `--strict`.
    pub fn verdict(&self, findings: bool) -> Exit {
        if self.strict && findings {
            Exit::Findings
        } else {
            Exit::Success
        }
    }
}
