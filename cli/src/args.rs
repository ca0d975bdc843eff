//! Command-line syntax (clap). Nothing here is used past [`crate::config`], which turns these
//! into a validated `Config`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  the command ran (even if it found invalid files)
  1  with --strict: some file was invalid, unreadable, failed or in conflict;
     a pipeline was aborted; `pipelines check` found problems
  2  usage error, --input missing or unreadable, a pipeline that fails its check,
     a report path that is refused or could not be written, or a tree that another
     converting run holds (the message on stderr names the path)

stdout carries one JSON document; stderr stays quiet unless RUST_LOG asks for logs
(a progress bar is drawn on stderr only when it is a terminal).";

/// What `--version` prints: the version, the plugin ABI it loads, the commit it was built from.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nplugin ABI ",
    env!("IMAGE_SIDECAR_PLUGIN_ABI"),
    "\ncommit ",
    env!("IMAGE_SIDECAR_COMMIT")
);

#[derive(Debug, Parser)]
#[command(
    name = "image-sidecar-rust",
    version,
    long_version = LONG_VERSION,
    about = "Validate, count and convert image sidecar files (JSON, Binary, Rkyv, XMP) over whole photo trees",
    after_help = EXIT_CODES,
    propagate_version = true
)]
pub struct Cli {
    /// Load every plugin library in DIR (or the library DIR names), before any subcommand;
    /// repeatable
    #[arg(long = "plugin-dir", value_name = "DIR", id = "leading_plugin_dir")]
    pub plugin_dir: Vec<PathBuf>,

    /// When to colour messages on stderr (NO_COLOR=1 means never)
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that every sidecar decodes; list the ones that do not
    #[command(after_help = "Examples:
  image-sidecar-rust validate --input .
  image-sidecar-rust validate --input . --all-results --strict
  image-sidecar-rust validate --input . --validators well-formed,xmp --no-cache")]
    Validate(ValidateArgs),
    /// Count sidecars, images, operations, faces and objects, and bytes per format
    #[command(after_help = "Examples:
  image-sidecar-rust stats --input .
  image-sidecar-rust stats --input . --image-extensions jpg,cr3,heic")]
    Stats(StatsArgs),
    /// Convert sidecars to another format, never losing one
    #[command(after_help = "Examples:
  image-sidecar-rust convert --input . --format bin --dry-run
  image-sidecar-rust convert --input . --format json --keep-source")]
    Convert(ConvertArgs),
    /// Count sidecars per format, decided by content
    #[command(after_help = "Examples:
  image-sidecar-rust format-stats --input .
  image-sidecar-rust format-stats --input . --deep")]
    FormatStats(FormatStatsArgs),
    /// List the codecs, validators and summaries, built in or loaded from plugin libraries
    #[command(after_help = "Examples:
  image-sidecar-rust plugins list
  image-sidecar-rust plugins")]
    Plugins(PluginsArgs),
    /// Run a pipeline (a name or a TOML file): every stage in one pass over the tree
    #[command(after_help = "Examples:
  image-sidecar-rust run health-check --input .
  image-sidecar-rust run optimize-binary --input . --dry-run")]
    Run(RunArgs),
    /// List the pipelines that `run` finds, show one, or check a pipeline file
    #[command(after_help = "Examples:
  image-sidecar-rust pipelines list
  image-sidecar-rust pipelines show health-check
  image-sidecar-rust pipelines check health-check")]
    Pipelines(PipelinesArgs),
    /// Show what one file decodes to: its format, how it was detected, warnings, the value
    #[command(after_help = "Examples:
  image-sidecar-rust inspect IMG_0042.json
  image-sidecar-rust inspect IMG_0042.json --strict")]
    Inspect(InspectArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout
    #[command(after_help = "Examples:
  image-sidecar-rust completions bash > image-sidecar-rust.bash
  image-sidecar-rust completions zsh > _image-sidecar-rust")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Combine the reports of the shards of a split run (--shard I/N) into one run's report
    #[command(after_help = "Examples:
  image-sidecar-rust merge shard-0.json shard-1.json shard-2.json
  cat shard-*.json | image-sidecar-rust merge")]
    Merge(MergeArgs),
    /// Turn a saved JSON report (of any command, a pipeline or a merge) into its HTML page
    #[command(after_help = "Examples:
  image-sidecar-rust report health.json --html health.html
  image-sidecar-rust merge shard-*.json --output all.json && image-sidecar-rust report all.json --html all.html")]
    Report(ReportArgs),
    /// List sidecars whose image is gone (orphans); move them aside or remove them
    #[command(after_help = "Examples:
  image-sidecar-rust cleanup --input .                          # a dry run: lists the orphans
  image-sidecar-rust cleanup --input . --move-to ../photo-trash # keeps their paths below the input
  image-sidecar-rust cleanup --input . --delete")]
    Cleanup(CleanupArgs),
    /// Write every sidecar's document (or each element of one of its arrays) as rows of a
    /// table: JSON Lines or CSV. The run's JSON report goes to --report (stdout when the rows
    /// go to a file)
    #[command(
        mut_arg("output", |a| a
            .long("report")
            .short(None)
            .help("Where the JSON report goes: - for stdout (when the rows go to a file), or a file")),
        after_help = "Examples:
  image-sidecar-rust export --input . --format jsonl --output sidecars.jsonl
  image-sidecar-rust export --input . --format jsonl --rows /face_detection/faces --output faces.jsonl
  image-sidecar-rust export --input . --format csv --output tags.csv   # exiftool -csv=tags.csv reads it back")]
    Export(ExportArgs),
    /// One JSON line per photo (its image and each sidecar with format, size and operations)
    /// and one per sidecar whose photo is gone. The run's JSON report goes to --report
    #[command(
        mut_arg("output", |a| a
            .long("report")
            .short(None)
            .help("Where the JSON report goes: - for stdout (when the lines go to a file), or a file")),
        after_help = "Examples:
  image-sidecar-rust list --input . | jq -c 'select(.sidecars == [])'   # photos without a sidecar
  image-sidecar-rust list --input . --operation-type face_detection --output faces.jsonl")]
    List(ListArgs),
    /// Move or rename photos with all their sidecars (every naming convention, darktable
    /// duplicates), never over an existing file
    #[command(after_help = "Examples:
  image-sidecar-rust mv IMG_0001.CR3 IMG_0002.CR3 ../keepers/
  image-sidecar-rust mv IMG_0001.CR3 2025-09-20_goal.CR3   # IMG_0001.CR3.xmp becomes 2025-09-20_goal.CR3.xmp
  image-sidecar-rust mv --dry-run *.JPG ../season-2025/")]
    Mv(MoveArgs),
    /// Print the manual page (roff) on stdout
    #[command(after_help = "Examples:
  image-sidecar-rust man > image-sidecar-rust.1
  image-sidecar-rust man | gzip > image-sidecar-rust.1.gz")]
    Man,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' reports (files; - or none: standard input, one report after another)
    #[arg(value_name = "REPORT")]
    pub reports: Vec<PathBuf>,

    /// Where the merged report goes: - for stdout, or a file (written atomically)
    #[arg(long, short = 'o', value_name = "-|FILE", default_value = "-")]
    pub output: String,

    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A JSON report this tool wrote (of any command, a pipeline or a merge)
    #[arg(value_name = "FILE.json")]
    pub report: PathBuf,

    /// The HTML page to write (never over a file that is not an earlier page of this tool)
    #[arg(long, value_name = "OUT")]
    pub html: PathBuf,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The file to read
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Where the JSON report goes: - for stdout, or a file (written atomically)
    #[arg(long, short = 'o', value_name = "-|FILE", default_value = "-")]
    pub output: String,

    /// Exit with 1 when the file does not decode
    #[arg(long)]
    pub strict: bool,

    /// Files larger than SIZE are reported, not read [default: 1GiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    #[command(flatten)]
    pub plugins: PluginArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A pipeline name (looked up in IMAGE_SIDECAR_PIPELINE_PATH, the user's config
    /// directory, then the built-in ones) or the path of a pipeline file
    #[arg(value_name = "NAME|FILE")]
    pub pipeline: String,

    /// Directory to walk; overrides the pipeline's [input] root
    #[arg(long, short = 'i', value_name = "DIR")]
    pub input: Option<PathBuf>,

    /// Where the JSON report goes (- for stdout); overrides the pipeline's `report`
    #[arg(long, short = 'o', value_name = "-|FILE")]
    pub output: Option<String>,

    #[command(flatten)]
    pub page: PageArgs,

    /// Report what the convert stage would do; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Worker threads; overrides the pipeline's `workers` [default: number of CPUs]
    #[arg(long, short = 'w', value_name = "N")]
    pub workers: Option<usize>,

    /// Exit with 1 when any stage found a file invalid, unreadable, failed or in conflict
    #[arg(long)]
    pub strict: bool,

    /// Files larger than SIZE are reported, not read; overrides the pipeline's
    /// `max_file_size` [default: 1GiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// Image extensions and directory-file globs; override the pipeline's [input] lists
    #[command(flatten)]
    pub rules: RuleArgs,

    #[command(flatten)]
    pub pass: PassArgs,

    #[command(flatten)]
    pub plugins: PluginArgs,
}

#[derive(Debug, Args)]
pub struct PipelinesArgs {
    #[command(subcommand)]
    pub action: PipelinesAction,

    /// Where the JSON report goes: - for stdout, or a file (written atomically)
    #[arg(
        long,
        short = 'o',
        value_name = "-|FILE",
        default_value = "-",
        global = true
    )]
    pub output: String,

    #[command(flatten)]
    pub plugins: PluginArgs,
}

#[derive(Debug, Subcommand)]
pub enum PipelinesAction {
    /// Every pipeline found, where it comes from, and its description
    List,
    /// Print a pipeline's TOML text and where it comes from
    Show {
        /// The pipeline name (or file)
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Report every problem of a pipeline file, each with file:line:column and a hint
    Check {
        /// The pipeline file (or name) to check
        #[arg(value_name = "FILE")]
        file: String,
    },
}

/// Where plugin libraries come from, on every command.
#[derive(Debug, Args)]
pub struct PluginArgs {
    /// Load every plugin library (*.so) in DIR, or the library DIR names; repeatable.
    /// IMAGE_SIDECAR_PLUGIN_PATH (`:`-separated) adds more
    #[arg(long, value_name = "DIR", global = true)]
    pub plugin_dir: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(subcommand)]
    pub action: Option<PluginsAction>,

    #[command(flatten)]
    pub plugins: PluginArgs,

    /// Where the JSON report goes: - for stdout, or a file (written atomically)
    #[arg(
        long,
        short = 'o',
        value_name = "-|FILE",
        default_value = "-",
        global = true
    )]
    pub output: String,
}

#[derive(Debug, Subcommand)]
pub enum PluginsAction {
    /// Every codec and validator with its provenance, and every library that failed to load
    /// (the default)
    List,
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Directory to walk (recursively), or a single sidecar file
    #[arg(long, short = 'i', value_name = "DIR")]
    pub input: PathBuf,

    /// Worker threads [default: number of CPUs]
    #[arg(long, short = 'w', value_name = "N")]
    pub workers: Option<usize>,

    /// Where the JSON report goes: - for stdout, or a file (written atomically)
    #[arg(long, short = 'o', value_name = "-|FILE", default_value = "-")]
    pub output: String,

    #[command(flatten)]
    pub page: PageArgs,

    /// Exit with 1 when any file is invalid, unreadable, failed or in conflict
    #[arg(long)]
    pub strict: bool,

    /// Files larger than SIZE are reported invalid without being read (bytes, or with a unit:
    /// KB, MB, GB, KiB, MiB, GiB; at most 2GiB) [default: 1GiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    #[command(flatten)]
    pub rules: RuleArgs,

    #[command(flatten)]
    pub pass: PassArgs,

    #[command(flatten)]
    pub plugins: PluginArgs,
}

/// The report as an HTML page, beside the JSON report.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Also write the report as one self-contained HTML page to FILE (charts, files grouped by
    /// what is wrong; never over a file that is not an earlier page of this tool)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// How a reading pass goes over the tree: with or without the results cache, whole or one
/// shard (shared by the single commands and `run`).
#[derive(Debug, Args)]
pub struct PassArgs {
    /// Read every file, ignoring the results cache of earlier runs (and keeping none)
    #[arg(long)]
    pub no_cache: bool,

    /// Only shard I of N of the tree (I from 0), for array jobs; auto/N takes I from
    /// JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID (less SLURM_ARRAY_TASK_MIN) or
    /// AWS_BATCH_JOB_ARRAY_INDEX. `merge` combines the shards' reports
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

/// What counts as an image and as a directory-level file.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Extensions of the files sidecars describe, comma-separated; replaces the default list
    /// (JPEG, HEIF, AVIF, JXL, the common RAW formats, MP4, MOV, …; see the README)
    #[arg(long, value_name = "EXTS", value_delimiter = ',')]
    pub image_extensions: Option<Vec<String>>,

    /// Name globs of directory-level result files, comma-separated (a glob with a `/` is
    /// matched against the path below the input); replaces the default (game_detection.json).
    /// This tool's reports are recognised by their `generator` field whatever their name
    #[arg(long, value_name = "GLOBS", value_delimiter = ',')]
    pub directory_files: Option<Vec<String>>,

    /// Enter directories on other file systems than the input's (mount points), which are
    /// otherwise listed as not entered
    #[arg(long)]
    pub cross_file_systems: bool,
}

fn parse_size(text: &str) -> Result<u64, String> {
    sidecar_engine::pipeline::spec::parse_size(text)
}

/// Which sidecars a reading command looks at, by what they hold.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only sidecars holding this operation: a top-level section of that name, or
    /// `sidecar_info.operation_type` equal to it (compared exactly); repeatable, any one
    /// suffices. The report gives the names and `filtered_files`, the sidecars left out
    #[arg(long = "operation-type", value_name = "NAME")]
    pub operation_types: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// List the sidecars without an image (`orphans`), not only count them
    #[arg(long)]
    pub all_results: bool,
}

#[derive(Debug, Args)]
pub struct FormatStatsArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Decode every file and count those that do not decode (`undecodable_files`); without it
    /// a sidecar paired with an image is read only as far as detecting its format needs
    #[arg(long)]
    pub deep: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// List every file in `results`, not only the invalid ones
    #[arg(long)]
    pub all_results: bool,

    /// Validators to run, comma-separated [default: well-formed,sportball,xmp]; see `plugins list`
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub validators: Vec<String>,

    /// An option for a validator, as VALIDATOR.KEY=VALUE (VALUE is read as JSON when it parses,
    /// as a string otherwise); repeatable. Example: --option json-schema.schema=schema.json
    #[arg(long = "option", value_name = "VALIDATOR.KEY=VALUE")]
    pub options: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Move the orphans below DIR (made if missing; outside the input, on its file system),
    /// keeping their paths below the input: recoverable
    #[arg(long, value_name = "DIR", conflicts_with = "delete")]
    pub move_to: Option<PathBuf>,

    /// Remove the orphans
    #[arg(long)]
    pub delete: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Table format: jsonl (one JSON document per line), csv (ExifTool's layout: SourceFile
    /// first, lists joined by ", ") or parquet (a column type per field, inferred over the tree
    /// or declared with --types)
    #[arg(long, short = 'f', value_name = "FORMAT", value_parser = ["jsonl", "csv", "parquet"])]
    pub format: String,

    /// Where the rows go: - for stdout, or a new file (written beside it and renamed into place;
    /// never over an existing file). `{shard}` in the name becomes the --shard index
    #[arg(
        long = "output",
        short = 'o',
        id = "rows_output",
        value_name = "-|FILE",
        default_value = "-"
    )]
    pub rows_output: String,

    /// One row per element of the array at this JSON pointer (/face_detection/faces: one row
    /// per face, with its index) instead of one per sidecar
    #[arg(long, value_name = "POINTER")]
    pub rows: Option<String>,

    /// Columns to write, as JSON pointers into the document (or into the row's element with
    /// --rows), comma-separated; default: the whole document (jsonl) or every field (csv)
    #[arg(long, value_name = "POINTERS", value_delimiter = ',')]
    pub fields: Vec<String>,

    /// How jsonl writes NaN and the infinities: token (NaN, Infinity, as Python's json reads
    /// them; lossless) or null (strict JSON, for polars and DuckDB; counted in the report)
    #[arg(long, value_name = "HOW", default_value = "token", value_parser = ["token", "null"])]
    pub non_finite: String,

    /// Parquet: the column types, declared instead of inferred by a first pass over the tree
    /// (one pass instead of two): a types document (JSON: "int64", "float64", "string", …,
    /// [T] for a list, {...} for a struct) or a Parquet file an earlier export wrote. A file
    /// that does not fit them is not exported, and reported
    #[arg(long, value_name = "FILE")]
    pub types: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Where the lines go: - for stdout, or a new file (never over an existing one). `{shard}`
    /// in the name becomes the --shard index
    #[arg(
        long = "output",
        short = 'o',
        id = "rows_output",
        value_name = "-|FILE",
        default_value = "-"
    )]
    pub rows_output: String,
}

#[derive(Debug, Args)]
pub struct MoveArgs {
    /// Photos to move (their sidecars and other files of theirs go with them), then where:
    /// an existing directory, or for one photo a new name
    #[arg(value_name = "SOURCE… DEST", num_args = 2.., required = true)]
    pub paths: Vec<PathBuf>,

    /// Report what would be moved where; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Where the JSON report goes: - for stdout, or a file (written atomically)
    #[arg(long, short = 'o', value_name = "-|FILE", default_value = "-")]
    pub output: String,

    /// Exit with 1 when a photo had to stay where it is
    #[arg(long)]
    pub strict: bool,

    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Target format: json, bin (or binary), rkyv
    #[arg(long, short = 'f', value_name = "FORMAT")]
    pub format: String,

    /// Report what would happen; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Keep each source file after its conversion is verified
    #[arg(long)]
    pub keep_source: bool,

    /// Also remove sources in formats other programs read (XMP, for photo editors), which are
    /// kept by default
    #[arg(long)]
    pub remove_shared_sources: bool,

    /// How new files reach the disk before sources are removed: batch (one syncfs per batch
    /// of files: durable across power loss), file (fsync each file and directory: slowest),
    /// none (renamed into place only: survives a killed process, not a power cut)
    #[arg(long, value_name = "MODE", default_value = "batch", value_parser = ["batch", "file", "none"])]
    pub sync: String,

    /// The same as --sync file
    #[arg(long, hide = true)]
    pub fsync: bool,

    /// When a target exists with other values than its source: keep the newer copy, the
    /// source's or the target's values; the other is set aside as .image-sidecar-superseded.NAME
    /// beside it (default: a conflict, both left as they are)
    #[arg(long, value_name = "WHICH", value_parser = sidecar_engine::ops::convert::Prefer::NAMES)]
    pub prefer: Option<String>,
}
