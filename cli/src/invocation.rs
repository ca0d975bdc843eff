//! What every command does around its work: check where the report goes before anything is
//! touched, claim the tree for a converting run, walk the input, run on a pool of the
//! configured size with a progress bar on a terminal, and write the JSON report.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use sidecar_engine::cache::{cache_file, ResultsCache};
use sidecar_engine::discover::{discover, discover_visiting, Candidate, Tree, Visit, WalkError};
use sidecar_engine::fsio::{self, FileMeta, ReportFile, TreeLock};
use sidecar_engine::ops::convert::restore_parked;
use sidecar_engine::ops::{
    self, FileRecord, OtherSection, Plan, Progress, Records, Section, Stage, StageKind,
};
use sidecar_engine::{report_path, Registry};

use crate::config::{Config, Output};
use crate::exit::UsageError;
use crate::page;
use crate::plugins::{self, Loaded, PluginError};

/// One single-command run: its settings, its plugins and where its report goes.
pub struct Invocation {
    pub config: Config,
    pub loaded: Loaded,
    destination: Option<Destination>,
    /// Files folded from the results cache, when the command uses it.
    cached_files: std::sync::Mutex<Option<u64>>,
    /// Files the operation filter left out, when the command ran a pass.
    filtered_files: std::sync::Mutex<Option<u64>>,
    /// For one shard of a split run, what `merge` needs.
    shard: std::sync::Mutex<Option<ShardInfo>>,
}

impl Invocation {
    /// Loads the built-in plugins and the plugin directories, and prepares the report's
    /// destination (refused before any work if it is unusable).
    pub fn new(config: Config) -> anyhow::Result<Invocation> {
        let loaded = plugins::load(&config.plugin_dirs, plugins::Mode::Load).map_err(UsageError)?;
        let destination = Destination::prepare(
            &config.output,
            config.html.as_deref(),
            Some((&config.input, &loaded.registry)),
        )?;
        Ok(Invocation {
            config,
            loaded,
            destination: Some(destination),
            cached_files: std::sync::Mutex::new(None),
            filtered_files: std::sync::Mutex::new(None),
            shard: std::sync::Mutex::new(None),
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.loaded.registry
    }

    /// Walks the input and runs one stage over it; its report's `elapsed_seconds` is the
    /// run's wall-clock time.
    pub fn single_stage<'r, S>(&self, stage: S) -> anyhow::Result<S::Report>
    where
        S: StageKind<'r>,
        Stage<'r>: From<S>,
        S::Report: TryFrom<Section, Error = OtherSection>,
    {
        let plan = Plan {
            stages: vec![Stage::from(stage)],
            formats: Vec::new(),
            operations: self.config.operations.clone(),
            max_file_size: self.config.max_file_size,
        };
        let _lock = claim(&self.config, &plan)?;
        *self.shard.lock().unwrap_or_else(|e| e.into_inner()) =
            shard_info(&self.config, self.registry(), &plan, "single");
        let pool = pool(&self.config)?;
        let (config, registry) = (&self.config, self.registry());
        let (report, cached) = with_cache(config, registry, &plan, |records| {
            let report = if ops::runs_walking(&plan) {
                let (tree, report, _) = on_pool(&pool, 0, |progress| {
                    let walk = |visit: Visit<'_>| walk_visiting(config, registry, visit);
                    ops::run_walking(walk, &|_| true, registry, &plan, progress, records)
                });
                refuse_excluded(config, &tree)?;
                report
            } else {
                let tree = pool.install(|| walk(config, registry, &plan))?;
                on_pool(&pool, tree.len(), |progress| {
                    ops::run_with_records(&tree, registry, &plan, progress, records)
                })
            };
            Ok::<_, UsageError>((report, records.is_some()))
        })?;
        if cached {
            *self.cached_files.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(report.cached_files);
        }
        *self
            .filtered_files
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(report.filtered_files);
        let mut section = report
            .sections
            .into_iter()
            .next()
            .expect("one stage, one section");
        *section.elapsed_seconds_mut() = report.elapsed_seconds;
        Ok(section.try_into()?)
    }

    /// Writes the report, with the plugin load failures of the run (and, for commands that
    /// use the results cache, how many files came from it).
    pub fn emit(&mut self, report: &impl Serialize) -> anyhow::Result<()> {
        let destination = self.destination.take().expect("one report per run");
        let shard = self.shard.lock().unwrap_or_else(|e| e.into_inner()).take();
        let filtered_files = *self
            .filtered_files
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Said only when the command was asked to filter: other reports stay as they were.
        let selection = (!self.config.operations.is_empty()).then(|| Selection {
            operation_types: &self.config.operations,
            filtered_files: filtered_files.unwrap_or(0),
        });
        write(
            &WithPluginErrors {
                report,
                selection,
                cached_files: *self.cached_files.lock().unwrap_or_else(|e| e.into_inner()),
                plugin_errors: &self.loaded.errors,
                shard: shard.as_ref(),
            },
            destination,
        )
    }
}

/// What `--operation-type` chose: the names, and how many sidecars held none of them.
#[derive(Serialize)]
struct Selection<'a> {
    operation_types: &'a [String],
    filtered_files: u64,
}

/// The environment variable that sets the results cache's racy-file slack in nanoseconds
/// (default one second), for tests that must hit the cache right after writing files.
pub const CACHE_SLACK_VAR: &str = "IMAGE_SIDECAR_TEST_CACHE_SLACK_NS";

/// Everything that can change what a run makes of a tree, as text: the tool, its plugins and
/// their options, the plan, the walk rules and the (canonical) input root. The results cache
/// and the shards' fingerprints are hashes of it.
fn result_inputs(config: &Config, registry: &Registry, plan: &Plan<'_>, input: &Path) -> String {
    format!(
        "{} {}\n{}{}{}\ninput {}",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        registry.fingerprint(),
        plan.fingerprint(),
        config.rules.description(),
        input.display()
    )
}

/// What tells this build from another of the same version, for the results cache: the commit
/// it was built from and the executable file itself (its device, inode, size and modification
/// time), so that a rebuilt or reinstalled tool, whose validators may judge differently, never
/// believes an earlier build's records. Not part of the shard fingerprint: the shards of a run
/// execute copies of one build on other machines.
fn build_identity() -> String {
    use std::os::unix::fs::MetadataExt;
    let file = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            format!(
                "{} {} {} {}.{}",
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime(),
                m.mtime_nsec()
            )
        })
        .unwrap_or_default();
    format!("build {} {file}", env!("IMAGE_SIDECAR_COMMIT"))
}

/// Where the results cache of a plan that changes nothing is, unless `--no-cache` (see
/// `sidecar_engine::cache`): one file per input root and fingerprint under
/// `~/.cache/image-sidecar-rust/results/`; with its fingerprint and racy-file slack.
fn cache_location(
    config: &Config,
    registry: &Registry,
    plan: &Plan<'_>,
) -> Option<(std::path::PathBuf, u128, std::time::Duration)> {
    if !config.cache || !plan.cacheable() {
        return None;
    }
    let dir = crate::config::cache_dir()?.join("results");
    let input = std::fs::canonicalize(&config.input).ok()?;
    let text = format!(
        "{}\n{}",
        result_inputs(config, registry, plan, &input),
        build_identity()
    );
    let fingerprint = sidecar_engine::fsio::fingerprint(text.as_bytes());
    let slack = std::env::var(CACHE_SLACK_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_nanos,
        );
    // Each shard of a split run keeps its own cache.
    let fingerprint = match config.rules.shard.filter(|s| s.count > 1) {
        Some(s) => fingerprint ^ (u128::from(s.index) << 32) ^ u128::from(s.count),
        None => fingerprint,
    };
    let file = cache_file(&dir, &config.root_dir(), fingerprint);
    Some((file, fingerprint, slack))
}

/// Runs `pass` with the records of the plan's results cache (none with `--no-cache` or for a
/// converting plan), then saves the cache. The cache loads on a thread of its own meanwhile
/// (loading one costs about as much as walking the tree it describes); the first lookup waits
/// for it.
pub fn with_cache<T: Send>(
    config: &Config,
    registry: &Registry,
    plan: &Plan<'_>,
    pass: impl FnOnce(Option<&dyn Records>) -> T + Send,
) -> T {
    let Some((file, fingerprint, slack)) = cache_location(config, registry, plan) else {
        return pass(None);
    };
    let (cache, started) = (OnceLock::new(), std::time::SystemTime::now());
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            // Lookups wait for the cell: it is set even if loading panics (the panic is
            // printed; the run goes on without a cache).
            let open = || ResultsCache::open(file, fingerprint, slack, started);
            let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(open)).ok();
            cache.get_or_init(|| opened);
        });
        pass(Some(&Loading(&cache)))
    });
    if let Some(Some(cache)) = cache.into_inner() {
        // Said once, on stderr: the report itself is right either way.
        if let Some(notice) = cache.notice() {
            eprintln!("image-sidecar-rust: {notice}");
        }
        if let Err(notice) = cache.save() {
            eprintln!("image-sidecar-rust: {notice}");
        }
    }
    result
}

/// The records of a results cache still loading on another thread: lookups wait for it.
struct Loading<'c>(&'c OnceLock<Option<ResultsCache>>);

impl Records for Loading<'_> {
    fn lookup(&self, candidate: Candidate<'_>, path: &Path) -> Option<FileRecord> {
        self.0.wait().as_ref()?.lookup(candidate, path)
    }

    fn store(&self, candidate: Candidate<'_>, meta: &FileMeta, record: FileRecord) {
        if let Some(cache) = self.0.wait() {
            cache.store(candidate, meta, record);
        }
    }
}

/// Whether a plan changes files.
fn converts(plan: &Plan<'_>) -> bool {
    plan.stages.iter().any(Stage::changes_files)
}

/// A converting run claims its tree (and refuses to start if another run has it); the shards
/// of a split run share it. A split pipeline that aborts on errors is refused: each shard
/// would judge only its own files.
pub fn claim(config: &Config, plan: &Plan<'_>) -> Result<Option<TreeLock>, UsageError> {
    let sharded = config.rules.shard.is_some_and(|s| s.count > 1);
    if sharded && plan.stages.iter().any(|s| s.aborts()) {
        return Err(UsageError(
            "--shard cannot split a pipeline whose validate stage aborts on errors: each shard would see only its own files; use on_error = \"skip-file\", or run it whole".into(),
        ));
    }
    if !converts(plan) {
        return Ok(None);
    }
    let root = config.root_dir();
    if sharded {
        TreeLock::acquire_shared(&root)
    } else {
        TreeLock::acquire(&root)
    }
    .map(Some)
    .map_err(|busy| UsageError(busy.to_string()))
}

/// What a shard's report carries so that `merge` can check the set: the shard and a
/// fingerprint of the command, its options, the tool and plugins, and the input.
#[derive(Debug, Clone, Serialize)]
pub struct ShardInfo {
    pub index: u64,
    pub count: u64,
    pub fingerprint: String,
    /// The input as the report's paths start with it: `merge` computes each listed file's
    /// shard again from the path below it.
    pub input: String,
}

/// The shard of a split run, and its fingerprint; `None` for an unsplit run.
pub fn shard_info(
    config: &Config,
    registry: &Registry,
    plan: &Plan<'_>,
    command: &str,
) -> Option<ShardInfo> {
    let shard = config.rules.shard.filter(|s| s.count > 1)?;
    let input = std::fs::canonicalize(&config.input).unwrap_or_else(|_| config.input.clone());
    let text = format!(
        "{command}\n{}",
        result_inputs(config, registry, plan, &input)
    );
    Some(ShardInfo {
        index: shard.index,
        count: shard.count,
        fingerprint: format!(
            "{:032x}",
            sidecar_engine::fsio::fingerprint(text.as_bytes())
        ),
        input: sidecar_engine::ops::display_path(&config.input),
    })
}

/// Walks the input. A converting run first puts back the files an interrupted run parked, and
/// walks again. The report's own path found among the sidecars is refused.
pub fn walk(config: &Config, registry: &Registry, plan: &Plan<'_>) -> Result<Tree, UsageError> {
    let excluded = config.excluded_paths();
    let mut tree = discover(&config.input, registry, &config.rules, &excluded);
    if converts(plan) && !tree.parked.is_empty() {
        let restored = restore_parked(&tree.parked);
        if restored > 0 {
            tree = discover(&config.input, registry, &config.rules, &excluded);
            tree.restored_files = restored;
        }
    } else if !converts(plan) {
        tree = parked_reported(tree);
    }
    refuse_excluded(config, &tree)?;
    Ok(tree)
}

/// Walks the input for a reading run that folds each directory as the walk goes, handing its
/// candidates to `visit`. The caller refuses the report's own path found among the sidecars
/// ([`refuse_excluded`]) once the walk is done.
pub fn walk_visiting(config: &Config, registry: &Registry, visit: Visit<'_>) -> Tree {
    let excluded = config.excluded_paths();
    parked_reported(discover_visiting(
        &config.input,
        registry,
        &config.rules,
        &excluded,
        visit,
    ))
}

/// A reading run leaves files parked by an interrupted conversion alone, and says so.
fn parked_reported(mut tree: Tree) -> Tree {
    let parked = std::mem::take(&mut tree.parked);
    tree.walk_errors.extend(parked.into_iter().map(|path| WalkError {
        path,
        message: "a sidecar parked by an interrupted conversion; the next convert puts it back or reports it".into(),
    }));
    tree.walk_errors.sort_by(|a, b| a.path.cmp(&b.path));
    tree
}

/// Refuses a walk that found the report's own path among the sidecars.
pub fn refuse_excluded(config: &Config, tree: &Tree) -> Result<(), UsageError> {
    match tree.excluded_found.first() {
        Some(found) => Err(UsageError(format!(
            "the report {} is a sidecar of the input (found as {}); write the report outside the input",
            config.excluded_paths()[0].display(),
            found.display()
        ))),
        None => Ok(()),
    }
}

/// The progress display, when stderr is a terminal (a hidden bar would still read the clock on
/// every file): a bar once the number of files is known, a spinner with counts while the walk
/// is still finding them (a total learnt as the walk goes would put the bar near its end).
struct Bar(Option<ProgressBar>);

impl Progress for Bar {
    fn advance(&self, files: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(files);
        }
    }
}

/// The run's `--workers` threads: they walk the tree, then work through its files.
pub fn pool(config: &Config) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(config.workers.get())
        .thread_name(|i| format!("sidecar-worker-{i}"))
        .build()
        .context("cannot start the worker threads")
}

/// Runs `work` on `pool`, with a progress display drawn only when stderr is a terminal: a bar
/// over `files`, or, when the number is not known before the work starts (`0`: the pass runs
/// as the walk goes), a spinner with counts.
pub fn on_pool<T: Send>(
    pool: &rayon::ThreadPool,
    files: usize,
    work: impl FnOnce(&dyn Progress) -> T + Send,
) -> T {
    let bar = std::io::stderr().is_terminal().then(|| {
        let rate = |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}", state.per_sec());
        };
        if files == 0 {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {pos} files  {rate}/s  {elapsed_precise}")
                    .expect("valid template")
                    .with_key("rate", rate),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        } else {
            let bar =
                ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:20} {pos}/{len} files  {rate}/s  {elapsed_precise}{to_go}",
                )
                .expect("valid template")
                .with_key("rate", rate)
                .with_key(
                    "to_go",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let to_go =
                            time_to_go(state.pos(), state.len().unwrap_or(0), state.elapsed());
                        if let Some(to_go) = to_go {
                            let _ = write!(w, ", {} to go", indicatif::HumanDuration(to_go));
                        }
                    },
                ),
            );
            bar
        }
    });
    let progress = Bar(bar);
    let result = pool.install(|| work(&progress));
    if let Some(bar) = progress.0 {
        bar.finish_and_clear();
    }
    result
}

/// The time left at the rate so far, once there is a rate worth extrapolating: a second of work
/// and a file done (the first files of a run are the slowest, cold caches and all, and an
/// estimate from them alone says minutes for a job of seconds).
fn time_to_go(done: u64, total: u64, elapsed: std::time::Duration) -> Option<std::time::Duration> {
    if done == 0 || done >= total || elapsed < std::time::Duration::from_secs(1) {
        return None;
    }
    Some(elapsed.mul_f64((total - done) as f64 / done as f64))
}

/// Where a report goes, ready before the run starts: the JSON report, and its page when one
/// was asked for.
pub struct Destination {
    report: Target,
    page: Option<PageFile>,
}

enum Target {
    Stdout,
    /// The report file's temporary file exists already: the directory is writable.
    File(ReportFile, PathBuf),
}

/// The page's file, created (so refused, if at all, before the run) but not yet in place.
struct PageFile {
    file: ReportFile,
    path: PathBuf,
    /// The input the run reads, as the page names it.
    input: Option<String>,
}

impl Destination {
    /// Checks the report's path (and the page's) against the input and creates their
    /// temporary files.
    pub fn prepare(
        output: &Output,
        html: Option<&Path>,
        input: Option<(&Path, &Registry)>,
    ) -> Result<Destination, UsageError> {
        let report = match output {
            Output::Stdout => Target::Stdout,
            Output::File(path) => {
                report_path::check(path, input)
                    .map_err(|refused| UsageError(refused.to_string()))?;
                let file = ReportFile::create(path).map_err(|e| {
                    UsageError(format!("cannot write the report {}: {e}", path.display()))
                })?;
                Target::File(file, path.clone())
            }
        };
        let page = html
            .map(|path| prepare_page(path, output, input))
            .transpose()?;
        Ok(Destination { report, page })
    }
}

/// Checks the page's path as a report's is checked, and apart from the JSON report's.
fn prepare_page(
    path: &Path,
    output: &Output,
    input: Option<(&Path, &Registry)>,
) -> Result<PageFile, UsageError> {
    if let Output::File(json) = output {
        let same = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        if same(json) == same(path) {
            return Err(UsageError(format!(
                "--html {} names the JSON report's own file: give the page another name (report.html beside report.json)",
                path.display()
            )));
        }
    }
    report_path::check_page(path, input).map_err(|refused| UsageError(refused.to_string()))?;
    let file = ReportFile::create(path)
        .map_err(|e| UsageError(format!("cannot write the page {}: {e}", path.display())))?;
    Ok(PageFile {
        file,
        path: path.to_path_buf(),
        input: input.map(|(input, _)| input.display().to_string()),
    })
}

/// A report with the plugin load failures of the run, when there were any.
#[derive(Serialize)]
struct WithPluginErrors<'a, R: Serialize> {
    #[serde(flatten)]
    report: &'a R,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    selection: Option<Selection<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_files: Option<u64>,
    #[serde(skip_serializing_if = "<[PluginError]>::is_empty")]
    plugin_errors: &'a [PluginError],
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<&'a ShardInfo>,
}

/// Writes a report and the run's plugin load failures.
pub fn emit_report(
    report: &impl Serialize,
    destination: Destination,
    plugin_errors: &[PluginError],
    shard: Option<&ShardInfo>,
) -> anyhow::Result<()> {
    write(
        &WithPluginErrors {
            report,
            selection: None,
            cached_files: None,
            plugin_errors,
            shard,
        },
        destination,
    )
}

/// Writes the report of a command that walks no input (`plugins`, `pipelines`).
pub fn emit(report: &impl Serialize, output: &Output) -> anyhow::Result<()> {
    write(report, Destination::prepare(output, None, None)?)
}

/// A report under the marker that tells this tool's reports from sidecars
/// (`sidecar_engine::discover::REPORT_MARKER`).
#[derive(Serialize)]
struct Marked<'a, R: Serialize> {
    generator: &'static str,
    #[serde(flatten)]
    report: &'a R,
}

/// Writes a report to stdout or, atomically, to its file: pretty JSON (2-space indent) and a
/// newline.
fn write(report: &impl Serialize, destination: Destination) -> anyhow::Result<()> {
    let marked = Marked {
        generator: concat!("image-sidecar-rust ", env!("CARGO_PKG_VERSION")),
        report,
    };
    let bytes = serde_json::to_vec_pretty(&marked).context("cannot encode the report")?;
    write_bytes(bytes, destination)
}

/// Writes a report that already carries its marker (`merge`'s).
pub fn write_value(report: &serde_json::Value, destination: Destination) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec_pretty(report).context("cannot encode the report")?;
    write_bytes(bytes, destination)
}

fn write_bytes(mut bytes: Vec<u8>, destination: Destination) -> anyhow::Result<()> {
    bytes.push(b'\n');
    let Destination { report, page } = destination;
    let json = match report {
        Target::Stdout => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&bytes)
                .and_then(|()| stdout.flush())
                .context("cannot write the report to stdout")?;
            None
        }
        Target::File(file, path) => {
            commit(file, &path, &bytes, "report", report_path::is_report)?;
            // Someone at a terminal sees where the report went and what it says in brief.
            if std::io::stderr().is_terminal() {
                eprintln!("report written to {}{}", path.display(), headline(&bytes));
            }
            Some(path)
        }
    };
    if let Some(page) = page {
        let text = page::Text::Bytes(&bytes);
        let reading = page::Reading::read(text).context("cannot read the report for its page")?;
        write_page(&reading, text, page, json.as_deref())?;
    }
    Ok(())
}

/// Renames a report (`what`: or its page) into place at `path`. The path was checked before the
/// run; a file that `is_ours` does not recognise, put there meanwhile, is kept.
fn commit(
    file: ReportFile,
    path: &Path,
    bytes: &[u8],
    what: &str,
    is_ours: fn(&Path) -> bool,
) -> anyhow::Result<()> {
    if path.exists() && !is_ours(path) {
        anyhow::bail!(
            "cannot write the {what} to {}: a file that is not a {what} of this tool appeared there during the run; it is left as it is",
            path.display()
        );
    }
    file.commit(bytes)
        .with_context(|| format!("cannot write the {what} to {}", path.display()))
}

/// Writes the page of the report `report`, linking to its JSON report's file when it has one.
fn write_page(
    reading: &page::Reading,
    text: page::Text<'_>,
    page: PageFile,
    json: Option<&Path>,
) -> anyhow::Result<()> {
    let json = match json {
        Some(json) => page::JsonReport::File {
            href: link(&page.path, json),
            shown: json.display().to_string(),
        },
        None => page::JsonReport::Stdout,
    };
    let html = page::render(
        reading,
        text,
        &page::Context {
            input: page.input.as_deref(),
            json,
        },
    );
    commit(
        page.file,
        &page.path,
        html.as_bytes(),
        "page",
        report_path::is_page,
    )?;
    if std::io::stderr().is_terminal() {
        eprintln!("page written to {}", page.path.display());
    }
    Ok(())
}

/// The address of `target` from the page at `page`: relative when the two share a root
/// (always, on Unix), its parts percent-encoded.
fn link(page: &Path, target: &Path) -> String {
    let real = |p: &Path| {
        let dir = std::fs::canonicalize(fsio::parent(p))
            .unwrap_or_else(|_| fsio::parent(p).to_path_buf());
        dir.join(p.file_name().unwrap_or_default())
    };
    let (from, to) = (real(page), real(target));
    let from_dir: Vec<_> = fsio::parent(&from).components().collect();
    let to_parts: Vec<_> = to.components().collect();
    let common = from_dir
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from_dir.len() - common];
    // Letters, digits and `-._~` stand for themselves in a path; everything else is escaped.
    const PART: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    parts.extend(to_parts[common..].iter().map(|c| {
        percent_encoding::utf8_percent_encode(&c.as_os_str().to_string_lossy(), PART).to_string()
    }));
    parts.join("/")
}

/// Writes the page of a saved report (`report FILE.json --html OUT`), under the same rules as
/// a run's page, reading the report once: a file that is not a report of this tool is refused.
pub fn write_saved_page(json: &Path, html: &Path) -> anyhow::Result<()> {
    let page = prepare_page(html, &Output::File(json.to_path_buf()), None)?;
    let text = page::Text::File(json);
    let reading = page::Reading::read(text)
        .map_err(|e| UsageError(format!("{}: not a JSON report: {e}", json.display())))?;
    if !reading.is_report() {
        return Err(UsageError(format!(
            "{} is not a report of this tool (a JSON object whose `generator` field names image-sidecar-rust)",
            json.display()
        ))
        .into());
    }
    write_page(&reading, text, page, Some(json))
}

/// The headline counts of a report, as `: 120 total_files, 3 invalid_files`.
fn headline(report: &[u8]) -> String {
    const KEYS: &[&str] = &[
        "total_files",
        "valid_files",
        "invalid_files",
        "converted",
        "failed",
        "conflicts",
        "total_sidecars",
        "unrecognized_files",
        "cached_files",
    ];
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(report) else {
        return String::new();
    };
    let counts: Vec<String> = KEYS
        .iter()
        .filter_map(|k| {
            map.get(*k)
                .and_then(|v| v.as_u64())
                .map(|n| format!("{n} {k}"))
        })
        .collect();
    if counts.is_empty() {
        String::new()
    } else {
        format!(": {}", counts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::time_to_go;
    use std::time::Duration;

    #[test]
    fn the_time_to_go_is_the_rate_so_far_once_there_is_one() {
        let second = Duration::from_secs(1);
        assert_eq!(time_to_go(0, 100, 10 * second), None, "nothing done yet");
        assert_eq!(
            time_to_go(5, 100, Duration::from_millis(300)),
            None,
            "too early"
        );
        assert_eq!(time_to_go(100, 100, 10 * second), None, "done");
        assert_eq!(time_to_go(25, 100, 10 * second), Some(30 * second));
        assert_eq!(time_to_go(1, 1000, 2 * second), Some(1998 * second));
    }
}
