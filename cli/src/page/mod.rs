//! The report as a page: one self-contained HTML file drawn from a JSON report (of any
//! command, a pipeline's or a merged one), for the person who ran the check rather than for
//! scripts. Nothing on it comes from the network: the style sheet and the small script are
//! inline, the charts are SVG drawn here (`chart`), and everything reads without the script,
//! which only adds a filter over the listed files and a button that saves the JSON report the
//! page embeds.
//!
//! The page stays small whatever the report holds: files are grouped by what is wrong with
//! them and only the first examples of each group are listed, within one budget for the whole
//! page; the embedded report is cut to its first entries when it is large (and says where it
//! was cut), the full one being the JSON report the page links to. [`SIZE_BOUND`] is the
//! bound, and the tests hold the page to it.

pub mod chart;
mod reading;

use std::fmt::Write;

use serde_json::{Map, Value};

use reading::Listing;
pub use reading::Reading;

/// The most a page weighs, in bytes, whatever the report: listed files, embedded report,
/// charts and all.
pub const SIZE_BOUND: usize = 5 * 1024 * 1024;
/// The embedded report's largest size; a larger report is embedded cut (see [`embedded`]).
const EMBED_LIMIT: usize = 1024 * 1024;
/// What the listed files' rows may weigh on one page, over every section.
const ROWS_BUDGET: usize = 3 * 1024 * 1024;
/// Groups of files listed per section (by what is wrong); the rest are counted.
const MAX_GROUPS: usize = 25;
/// Files listed per group.
pub const EXAMPLES_PER_GROUP: usize = 25;
/// Directories in the breakdown.
const WORST_DIRECTORIES: usize = 20;
/// Keywords in their chart.
const TOP_KEYWORDS: usize = 20;
/// Fields of plugins' summaries shown (each a figure or a chart); the rest are counted.
const MAX_SUMMARY_FIELDS: usize = 40;

/// Where the JSON report the page stands for went.
pub enum JsonReport {
    /// To a file; `href` links to it from the page's directory.
    File { href: String, shown: String },
    /// To standard output.
    Stdout,
}

/// What the page says about its report beyond the report itself.
pub struct Context<'a> {
    /// The input the command read, when known.
    pub input: Option<&'a str>,
    pub json: JsonReport,
}

/// What kind of report a JSON report is, by its fields (or a pipeline stage's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Validate,
    Stats,
    FormatStats,
    Convert,
    Cleanup,
    Run,
    Other,
}

impl Kind {
    fn of(report: &Map<String, Value>) -> Kind {
        match report.get("kind").and_then(Value::as_str) {
            Some("validate") => return Kind::Validate,
            Some("stats") => return Kind::Stats,
            Some("format-stats") => return Kind::FormatStats,
            Some("convert") => return Kind::Convert,
            Some(_) => return Kind::Other,
            None => {}
        }
        let has = |key: &str| report.contains_key(key);
        if has("stages") && has("pipeline") {
            Kind::Run
        } else if has("target_format") {
            Kind::Convert
        } else if has("mode") && has("orphans") {
            Kind::Cleanup
        } else if has("format_distribution") {
            Kind::FormatStats
        } else if has("files_by_format") && has("total_sidecars") {
            Kind::Stats
        } else if has("valid_files") && has("invalid_files") {
            Kind::Validate
        } else {
            Kind::Other
        }
    }

    fn command(self) -> &'static str {
        match self {
            Kind::Validate => "validate",
            Kind::Stats => "stats",
            Kind::FormatStats => "format-stats",
            Kind::Convert => "convert",
            Kind::Cleanup => "cleanup",
            Kind::Run => "run",
            Kind::Other => "",
        }
    }
}

/// A report's JSON text: in memory, or in a file read as the page folds it.
#[derive(Clone, Copy)]
pub enum Text<'a> {
    Bytes(&'a [u8]),
    File(&'a std::path::Path),
}

/// The page of `reading`, the report whose JSON text is `text`.
pub fn render(reading: &Reading, text: Text<'_>, context: &Context<'_>) -> String {
    let empty = Map::new();
    let map = reading.value.as_object().unwrap_or(&empty);
    let kind = Kind::of(map);
    let title = match (kind.command(), map.get("pipeline").and_then(Value::as_str)) {
        ("run", Some(pipeline)) => format!("pipeline {pipeline}"),
        ("", _) if map.contains_key("exported_sidecars") => "export".to_owned(),
        ("", _) if map.contains_key("orphan_sidecars") => "list".to_owned(),
        ("", _) => "report".to_owned(),
        (command, _) => command.to_owned(),
    };
    let input = context
        .input
        .map(str::to_owned)
        .or_else(|| map.get("input").and_then(Value::as_str).map(str::to_owned))
        .or_else(|| {
            map.get("shard")
                .and_then(|s| s.get("input"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let generator = map
        .get("generator")
        .and_then(Value::as_str)
        .unwrap_or(concat!("image-sidecar-rust ", env!("CARGO_PKG_VERSION")));

    let mut page = Page {
        out: String::with_capacity(64 * 1024),
        rows_left: ROWS_BUDGET,
        sections: 0,
        reading,
    };
    let out = &mut page.out;
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         {marker} {version}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{title}{input_title} · image-sidecar-rust</title>\n<style>\n{style}</style>\n</head>\n<body>\n<header>\n\
         <h1>{title}</h1>\n<p class=\"meta\">",
        // The line by which `report_path::is_page` knows an earlier page of this tool.
        marker = sidecar_engine::report_path::PAGE_MARKER,
        version = env!("CARGO_PKG_VERSION"),
        title = escape(&title),
        input_title = input
            .as_deref()
            .map(|i| format!(" of {}", escape(&shorten(i, 120))))
            .unwrap_or_default(),
        style = include_str!("style.css"),
    );
    if let Some(input) = &input {
        let _ = write!(out, "Input <code>{}</code> · ", escape(input));
    }
    if let Some(shard) = map.get("shard") {
        let _ = write!(
            out,
            "Shard {} of {} · ",
            shard.get("index").map(Value::to_string).unwrap_or_default(),
            shard.get("count").map(Value::to_string).unwrap_or_default()
        );
    }
    let _ = write!(out, "Report by {} · ", escape(generator));
    match &context.json {
        JsonReport::File { href, shown } => {
            let _ = write!(
                out,
                "JSON report: <a href=\"{}\">{}</a>",
                escape(href),
                escape(shown)
            );
        }
        JsonReport::Stdout => {
            out.push_str(
                "The JSON report went to standard output; it is embedded at the end of this page.",
            );
        }
    }
    out.push_str("</p>\n<p class=\"filter\" id=\"filter-line\" hidden><label for=\"filter\">Filter the listed files</label> <input id=\"filter\" type=\"search\" placeholder=\"path, location or message\"></p>\n</header>\n<main>\n");

    plugin_errors(&mut page, map);
    match kind {
        Kind::Run => run(&mut page, map),
        kind => body(&mut page, kind, map, "", true),
    }

    let (json, cuts) = embedded(text, reading);
    let out = &mut page.out;
    out.push_str("</main>\n<footer>\n<section id=\"report-json\"><h2>The JSON report</h2>\n<p>");
    match &context.json {
        JsonReport::File { href, shown } => {
            let _ = write!(
                out,
                "Its file is <a href=\"{}\">{}</a>. ",
                escape(href),
                escape(shown)
            );
        }
        JsonReport::Stdout => out.push_str("It went to standard output. "),
    }
    if cuts.is_empty() {
        out.push_str("This page embeds it whole: ");
    } else {
        let _ = write!(
            out,
            "This page embeds it with its longest lists and maps cut to their first entries ({}; the field <code>html_embedded_cut</code> says where): ",
            cuts.iter()
                .take(10)
                .map(|(pointer, kept, of)| format!(
                    "<code>{}</code> {} of {}",
                    escape(pointer),
                    group_digits(*kept as u64),
                    group_digits(*of as u64)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out.push_str("<button type=\"button\" id=\"save\" hidden>Save the embedded JSON report</button> (or view this page's source).</p>\n");
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"report-data\">{json}</script>\n</section>\n</footer>\n<script>\n{}</script>\n</body>\n</html>\n",
        include_str!("script.js")
    );
    debug_assert!(page.out.len() <= SIZE_BOUND, "a page over its bound");
    page.out
}

/// The page being written, what is left of its budget for listed files, and the report.
struct Page<'r> {
    out: String,
    rows_left: usize,
    /// Sections opened so far, for unique ids.
    sections: usize,
    reading: &'r Reading,
}

impl<'r> Page<'r> {
    /// The list of files at `pointer`, folded.
    fn list(&self, pointer: &str) -> Option<&'r Listing> {
        self.reading.list(pointer)
    }

    /// The length of the list at `pointer` in the report (the page keeps only its start).
    fn len(&self, pointer: &str, kept: &[Value]) -> usize {
        self.reading
            .cuts
            .iter()
            .find(|(p, _)| p == pointer)
            .map_or(kept.len(), |(_, len)| *len)
    }

    fn section(&mut self, title: &str) {
        self.sections += 1;
        let _ = writeln!(
            self.out,
            "<section id=\"s{}\"><h2>{}</h2>",
            self.sections,
            escape(title)
        );
    }

    fn subsection(&mut self, title: &str) {
        let _ = writeln!(self.out, "<h3>{}</h3>", escape(title));
    }

    fn end_section(&mut self) {
        self.out.push_str("</section>\n");
    }
}

/// The failures to load plugin libraries, first and loud: a report without a plugin's findings
/// is not the report the reader expects.
fn plugin_errors(page: &mut Page<'_>, map: &Map<String, Value>) {
    let Some(errors) = map.get("plugin_errors").and_then(Value::as_array) else {
        return;
    };
    if errors.is_empty() {
        return;
    }
    page.out
        .push_str("<div class=\"alert\" role=\"alert\"><strong>Plugin libraries that did not load</strong><ul>");
    for error in errors.iter().take(EXAMPLES_PER_GROUP) {
        let text = match error {
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{k}: {}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        let _ = write!(page.out, "<li>{}</li>", escape(&shorten(&text, 400)));
    }
    page.out.push_str("</ul></div>\n");
}

/// A pipeline's report: its own figures, then one section per stage.
fn run(page: &mut Page<'_>, map: &Map<String, Value>) {
    if let Some(description) = map.get("description").and_then(Value::as_str) {
        let _ = writeln!(
            page.out,
            "<p class=\"lead\">{}</p>",
            escape(&shorten(description, 1000))
        );
    }
    if let Some(aborted) = map.get("aborted").filter(|a| !a.is_null()) {
        let text = aborted
            .as_str()
            .map_or_else(|| aborted.to_string(), str::to_owned);
        let _ = writeln!(
            page.out,
            "<div class=\"alert\" role=\"alert\"><strong>The pipeline was aborted:</strong> {}</div>",
            escape(&text)
        );
    }
    figures(
        page,
        map,
        "",
        &[
            ("Files", "total_files"),
            ("Left out by the filter", "filtered_files"),
            ("Not processed", "not_processed"),
        ],
        true,
    );
    if map.get("dry_run").and_then(Value::as_bool) == Some(true) {
        page.out
            .push_str("<p class=\"note\">A dry run: nothing in the tree was changed.</p>\n");
    }
    let Some(stages) = map.get("stages").and_then(Value::as_object) else {
        return;
    };
    for (i, (name, stage)) in stages.iter().enumerate() {
        let Some(stage) = stage.as_object() else {
            continue;
        };
        let kind = Kind::of(stage);
        let stage_kind = stage
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or(kind.command());
        if stage_kind == name {
            page.section(&format!("Stage {}: {name}", i + 1));
        } else {
            page.section(&format!("Stage {}: {name} ({stage_kind})", i + 1));
        }
        let pointer = format!("/stages/{}", pointer_escape(name));
        body(page, kind, stage, &pointer, false);
        page.end_section();
    }
}

/// The sections of one command's report (or one stage's), its figures under `pointer`.
fn body(page: &mut Page<'_>, kind: Kind, map: &Map<String, Value>, pointer: &str, top: bool) {
    match kind {
        Kind::Validate => validate(page, map, pointer, top),
        Kind::Stats => stats(page, map, pointer, top),
        Kind::FormatStats => format_stats(page, map, pointer, top),
        Kind::Convert => convert(page, map, pointer, top),
        Kind::Cleanup => cleanup(page, map, pointer, top),
        Kind::Run | Kind::Other => other(page, map, pointer, top),
    }
}

/// The headline figures: each field that the report holds as a number, with its label. Each
/// carries its JSON pointer and exact value (`data-field`, `data-value`), so the page can be
/// checked against the report it came from.
fn figures(
    page: &mut Page<'_>,
    map: &Map<String, Value>,
    pointer: &str,
    fields: &[(&str, &str)],
    top: bool,
) {
    let mut items: Vec<(&str, &str)> = fields.to_vec();
    if top {
        items.push(("Cached", "cached_files"));
    }
    items.push(("Elapsed", "elapsed_seconds"));
    let mut seen = Vec::new();
    page.out.push_str("<dl class=\"figures\">");
    for (label, key) in items {
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let Some(value) = map.get(key).filter(|v| v.is_number()) else {
            continue;
        };
        let shown = if key == "elapsed_seconds" {
            format!("{:.2} s", value.as_f64().unwrap_or(0.0))
        } else if key.contains("bytes") {
            bytes(value.as_u64().unwrap_or(0))
        } else {
            value
                .as_u64()
                .map_or_else(|| value.to_string(), group_digits)
        };
        figure(&mut page.out, label, pointer, key, value, &shown);
    }
    page.out.push_str("</dl>\n");
}

/// One figure: its label, and its value as shown, carrying the field's JSON pointer (`pointer`
/// then `key`) and its exact value.
fn figure(out: &mut String, label: &str, pointer: &str, key: &str, value: &Value, shown: &str) {
    let _ = write!(
        out,
        "<div><dt>{}</dt><dd data-field=\"{}/{}\" data-value=\"{value}\">{}</dd></div>",
        escape(label),
        escape(pointer),
        escape(&pointer_escape(key)),
        escape(shown)
    );
}

fn validate(page: &mut Page<'_>, map: &Map<String, Value>, pointer: &str, top: bool) {
    figures(
        page,
        map,
        pointer,
        &[
            ("Files", "total_files"),
            ("Valid", "valid_files"),
            ("Invalid", "invalid_files"),
            ("Warnings", "warnings"),
        ],
        top,
    );
    selection(page, map);
    let warnings = counts(map.get("warning_counts"));
    page.out.push_str("<div class=\"charts\">");
    page.out.push_str(&chart::bars(
        "Warnings by code",
        &chart::largest_first(&warnings),
        group_digits,
    ));
    page.out.push_str("</div>\n");
    let results = page.list(&format!("{pointer}/results"));
    problems(
        page,
        "Invalid files, by what is wrong",
        map.get("invalid_files").and_then(Value::as_u64),
        results,
    );
    directories(page, results);
    directory_files(page, map, pointer);
}

fn stats(page: &mut Page<'_>, map: &Map<String, Value>, pointer: &str, top: bool) {
    figures(
        page,
        map,
        pointer,
        &[
            ("Sidecars", "total_sidecars"),
            ("Images", "total_images"),
            ("Unreadable", "unreadable_sidecars"),
            ("Sidecars without image", "sidecars_without_image"),
            ("Images without sidecar", "images_without_sidecar"),
            (
                "Images with several sidecars",
                "images_with_several_sidecars",
            ),
            ("Faces", "total_faces"),
            ("Objects", "total_objects"),
            ("Bytes", "total_bytes"),
        ],
        top,
    );
    selection(page, map);
    formats(page, map, "files_by_format");

    page.subsection("What the sidecars hold");
    page.out.push_str("<div class=\"charts\">");
    let operations = counts(map.get("operation_counts"));
    page.out.push_str(&chart::bars(
        "Sidecars by operation",
        &chart::largest_first(&operations),
        group_digits,
    ));
    let confidence_buckets: Vec<String> =
        (0..20).map(|i| format!("{:.2}", i as f64 * 0.05)).collect();
    for (key, caption) in [
        ("face_confidences", "Face detection confidence"),
        ("object_confidences", "Object detection confidence"),
    ] {
        if let Some(buckets) = map.get(key) {
            let buckets = every_bucket(counts(Some(buckets)), &confidence_buckets);
            page.out.push_str(&chart::columns(caption, &buckets));
        }
    }
    if let Some(buckets) = map.get("faces_per_sidecar") {
        let buckets = counts(Some(buckets));
        let most = buckets
            .iter()
            .map(|(k, _)| numeric(k))
            .filter(|n| n.is_finite())
            .fold(0.0, f64::max);
        let names: Vec<String> = (0..=most as u32).map(|n| format!("{n:02}")).collect();
        page.out.push_str(&chart::columns(
            "Faces per sidecar (with a face section)",
            &every_bucket(buckets, &names),
        ));
    }
    if let Some(ratings) = map.get("xmp_ratings") {
        let names: Vec<String> = (-1..=5).map(|r| r.to_string()).collect();
        page.out.push_str(&chart::columns(
            "XMP ratings (-1: rejected)",
            &every_bucket(counts(Some(ratings)), &names),
        ));
    }
    if let Some(labels) = map.get("xmp_labels") {
        page.out.push_str(&chart::bars(
            "XMP colour labels",
            &chart::largest_first(&counts(Some(labels))),
            group_digits,
        ));
    }
    if let Some(keywords) = map.get("xmp_keywords") {
        let mut keywords = counts(Some(keywords));
        keywords.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        keywords.truncate(TOP_KEYWORDS);
        page.out.push_str(&chart::bars(
            &format!("Top {TOP_KEYWORDS} XMP keywords"),
            &keywords,
            group_digits,
        ));
    }
    page.out.push_str("</div>\n");
    summaries(page, map, pointer);

    let errors = page.list(&format!("{pointer}/errors"));
    problems(
        page,
        "Unreadable sidecars and what the walk could not enter, by what is wrong",
        None,
        errors,
    );
    directories(page, errors);
    let disagreeing = page.list(&format!("{pointer}/disagreeing_sidecars"));
    problems(
        page,
        "Sidecars whose values differ from a sidecar of the same name",
        None,
        disagreeing,
    );
    directory_files(page, map, pointer);
}

/// Fields of the stats report that the engine or the built-in summaries fill, and are shown
/// above; any other field is a plugin summary's, shown by [`summaries`].
const STATS_FIELDS: &[&str] = &[
    "generator",
    "kind",
    "total_sidecars",
    "total_images",
    "unreadable_sidecars",
    "operation_counts",
    "total_faces",
    "total_objects",
    "face_confidences",
    "object_confidences",
    "faces_per_sidecar",
    "xmp_ratings",
    "xmp_labels",
    "xmp_keywords",
    "files_by_format",
    "bytes_by_format",
    "total_bytes",
    "sidecars_without_image",
    "orphans",
    "images_without_sidecar",
    "images_with_several_sidecars",
    "disagreeing_sidecars",
    "superseded_files",
    "directory_files",
    "errors",
    "elapsed_seconds",
    "cached_files",
    "filtered_files",
    "operation_types",
    "plugin_errors",
    "shard",
];

/// The counters of summaries this page does not know (plugins'): totals as figures, tallies
/// as charts, each under its own field name.
fn summaries(page: &mut Page<'_>, map: &Map<String, Value>, pointer: &str) {
    let others: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, _)| !STATS_FIELDS.contains(&k.as_str()))
        .collect();
    if others.is_empty() {
        return;
    }
    page.subsection("Other summaries");
    if others.len() > MAX_SUMMARY_FIELDS {
        let _ = writeln!(
            page.out,
            "<p class=\"note\">The first {MAX_SUMMARY_FIELDS} of {} fields; every one is in the JSON report.</p>",
            group_digits(others.len() as u64)
        );
    }
    let others = &others[..others.len().min(MAX_SUMMARY_FIELDS)];
    let totals: Vec<(&str, &str)> = others
        .iter()
        .filter(|(_, v)| v.is_number())
        .map(|(k, _)| (k.as_str(), k.as_str()))
        .collect();
    if !totals.is_empty() {
        page.out.push_str("<dl class=\"figures\">");
        for (key, _) in &totals {
            let value = &map[*key];
            let shown = value
                .as_u64()
                .map_or_else(|| value.to_string(), group_digits);
            figure(
                &mut page.out,
                &shorten(key, 200),
                pointer,
                key,
                value,
                &shown,
            );
        }
        page.out.push_str("</dl>\n");
    }
    page.out.push_str("<div class=\"charts\">");
    for (key, value) in others {
        if value.is_object() {
            page.out.push_str(&chart::bars(
                key.as_str(),
                &chart::largest_first(&counts(Some(value))),
                group_digits,
            ));
        }
    }
    page.out.push_str("</div>\n");
}

fn format_stats(page: &mut Page<'_>, map: &Map<String, Value>, pointer: &str, top: bool) {
    figures(
        page,
        map,
        pointer,
        &[
            ("Files", "total_files"),
            ("Unrecognized", "unrecognized_files"),
            ("Undecodable", "undecodable_files"),
        ],
        top,
    );
    formats(page, map, "format_distribution");
    directory_files(page, map, pointer);
}

/// Files and bytes by format.
fn formats(page: &mut Page<'_>, map: &Map<String, Value>, files_key: &str) {
    page.subsection("Formats");
    page.out.push_str("<div class=\"charts\">");
    page.out.push_str(&chart::bars(
        "Files by format",
        &chart::largest_first(&counts(map.get(files_key))),
        group_digits,
    ));
    page.out.push_str(&chart::bars(
        "Bytes by format",
        &chart::largest_first(&counts(map.get("bytes_by_format"))),
        bytes,
    ));
    page.out.push_str("</div>\n");
}

fn convert(page: &mut Page<'_>, map: &Map<String, Value>, pointer: &str, top: bool) {
    let target = map
        .get("target_format")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let dry_run = map.get("dry_run").and_then(Value::as_bool) == Some(true);
    let _ = writeln!(
        page.out,
        "<p class=\"lead\">To {}{}</p>",
        escape(target),
        if dry_run {
            ": a dry run, nothing was changed"
        } else {
            ""
        }
    );
    figures(
        page,
        map,
        pointer,
        &[
            ("Files", "total_files"),
            ("Converted", "converted"),
            ("Skipped", "skipped"),
            ("Invalid", "invalid"),
            ("Failed", "failed"),
            ("Conflicts", "conflicts"),
            ("Superseded", "superseded"),
            ("Restored", "restored_files"),
        ],
        top,
    );
    let results = page.list(&format!("{pointer}/results"));
    problems(
        page,
        "Files not converted, by status and reason",
        None,
        results,
    );
    directory_files(page, map, pointer);
}

fn cleanup(page: &mut Page<'_>, map: &Map<String, Value>, pointer: &str, top: bool) {
    if let Some(mode) = map.get("mode").and_then(Value::as_str) {
        let _ = writeln!(page.out, "<p class=\"lead\">Mode: {}</p>", escape(mode));
    }
    figures(
        page,
        map,
        pointer,
        &[
            ("Sidecars", "total_sidecars"),
            ("Orphans", "orphans"),
            ("Moved", "moved"),
            ("Removed", "removed"),
            ("Kept", "kept"),
        ],
        top,
    );
    let results = page.list(&format!("{pointer}/results"));
    problems(page, "Orphans, by what was done", None, results);
    directories(page, results);
    directory_files(page, map, pointer);
}

/// A report of another command: its numbers, its maps of counts, and its lists of files.
fn other(page: &mut Page<'_>, map: &Map<String, Value>, pointer: &str, top: bool) {
    let numbers: Vec<(&str, &str)> = map
        .iter()
        .filter(|(k, v)| v.is_number() && k.as_str() != "elapsed_seconds")
        .map(|(k, _)| (k.as_str(), k.as_str()))
        .collect();
    figures(page, map, pointer, &numbers, top);
    page.out.push_str("<div class=\"charts\">");
    for (key, value) in map {
        if let Some(object) = value.as_object() {
            if !object.is_empty() && object.values().all(Value::is_u64) {
                page.out.push_str(&chart::bars(
                    key,
                    &chart::largest_first(&counts(Some(value))),
                    group_digits,
                ));
            }
        }
    }
    page.out.push_str("</div>\n");
    for (key, value) in map {
        if value.is_array() {
            let list = page.list(&format!("{pointer}/{}", pointer_escape(key)));
            problems(page, key, None, list);
        }
    }
}

/// The `--operation-type` filter, when the report says one was used.
fn selection(page: &mut Page<'_>, map: &Map<String, Value>) {
    if let Some(types) = map.get("operation_types").and_then(Value::as_array) {
        let names: Vec<String> = types.iter().map(|t| text_of(Some(t))).collect();
        let _ = writeln!(
            page.out,
            "<p class=\"note\">Only sidecars holding {}; {} left out.</p>",
            escape(&names.join(" or ")),
            group_digits(
                map.get("filtered_files")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            )
        );
    }
}

/// The directory-level files, which every count leaves out.
fn directory_files(page: &mut Page<'_>, map: &Map<String, Value>, pointer: &str) {
    let Some(files) = map.get("directory_files").and_then(Value::as_array) else {
        return;
    };
    let count = page.len(&format!("{pointer}/directory_files"), files);
    if count == 0 {
        return;
    }
    let _ = write!(
        page.out,
        "<p class=\"note\">{} directory-level result file{} left out of the counts",
        group_digits(count as u64),
        if count == 1 { "" } else { "s" }
    );
    let shown: Vec<String> = files
        .iter()
        .take(5)
        .map(|f| format!("<code>{}</code>", escape(&shorten(&text_of(Some(f)), 200))))
        .collect();
    let _ = writeln!(
        page.out,
        ": {}{}.</p>",
        shown.join(", "),
        if count > 5 { ", …" } else { "" }
    );
}

/// Files grouped by what is wrong, largest group first: the first [`EXAMPLES_PER_GROUP`] of
/// each of the first [`MAX_GROUPS`] groups listed (within the page's budget), the rest
/// counted. `total` is the report's own count, when it has one beside the list.
fn problems(page: &mut Page<'_>, title: &str, total: Option<u64>, listing: Option<&Listing>) {
    let Some(listing) = listing.filter(|l| l.listed > 0) else {
        return;
    };
    let listed = listing.listed;
    let groups = listing.groups();
    page.subsection(title);
    let total = total.unwrap_or(listed).max(listed);
    let _ = write!(
        page.out,
        "<p>{} file{} in {} group{}",
        group_digits(total),
        if total == 1 { "" } else { "s" },
        group_digits(groups.len() as u64),
        if groups.len() == 1 { "" } else { "s" }
    );
    if groups.len() > MAX_GROUPS || groups.iter().any(|g| g.count as usize > g.rows.len()) {
        let _ = write!(
            page.out,
            "; the first {EXAMPLES_PER_GROUP} of each of the {} largest groups are listed, every file is in the JSON report",
            MAX_GROUPS.min(groups.len())
        );
    }
    page.out.push_str(".</p>\n");
    for group in groups.iter().take(MAX_GROUPS) {
        let _ = write!(
            page.out,
            "<details class=\"group\" open><summary><span class=\"count\">{}</span> {}</summary>\n\
             <table class=\"examples\"><thead><tr><th scope=\"col\">File</th><th scope=\"col\">Where</th><th scope=\"col\">What</th></tr></thead><tbody>\n",
            group_digits(group.count),
            escape(&group.name)
        );
        let mut shown = 0usize;
        for row in &group.rows {
            let mut html = String::from("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let limit = if i == 0 { 400 } else { 300 };
                let _ = write!(html, "<td>{}</td>", escape(&shorten(cell, limit)));
            }
            html.push_str("</tr>\n");
            if html.len() > page.rows_left {
                break;
            }
            page.rows_left -= html.len();
            page.out.push_str(&html);
            shown += 1;
        }
        page.out.push_str("</tbody></table>\n");
        if (shown as u64) < group.count {
            let _ = writeln!(
                page.out,
                "<p class=\"more\">and {} more in the JSON report</p>",
                group_digits(group.count - shown as u64)
            );
        }
        page.out.push_str("</details>\n");
    }
    if groups.len() > MAX_GROUPS {
        let rest: u64 = groups[MAX_GROUPS..].iter().map(|g| g.count).sum();
        let _ = writeln!(
            page.out,
            "<p class=\"more\">{} more group{} with {} file{}, in the JSON report.</p>",
            group_digits((groups.len() - MAX_GROUPS) as u64),
            if groups.len() - MAX_GROUPS == 1 {
                ""
            } else {
                "s"
            },
            group_digits(rest),
            if rest == 1 { "" } else { "s" }
        );
    }
}

/// The directories with the most listed (invalid) files, from a report's list of files; with
/// every file listed (`--all-results`), each directory's share too.
fn directories(page: &mut Page<'_>, listing: Option<&Listing>) {
    let Some(listing) = listing else {
        return;
    };
    let (count, worst) = listing.worst_directories();
    if count == 0 {
        return;
    }
    let every_file = listing.every_file;
    let shown = count.min(WORST_DIRECTORIES);
    page.subsection(&format!(
        "Directories with the most of these files ({shown} of {})",
        group_digits(count as u64)
    ));
    page.out.push_str("<table class=\"directories\"><thead><tr><th scope=\"col\">Directory</th><th scope=\"col\">Files</th>");
    if every_file {
        page.out
            .push_str("<th scope=\"col\">Of all its files</th><th scope=\"col\">Share</th>");
    }
    page.out.push_str("</tr></thead><tbody>\n");
    for (dir, bad, all) in worst.into_iter().take(WORST_DIRECTORIES) {
        let _ = write!(
            page.out,
            "<tr><td>{}</td><td>{}</td>",
            escape(&shorten(dir, 400)),
            group_digits(bad)
        );
        if every_file {
            let _ = write!(
                page.out,
                "<td>{}</td><td>{:.0}%</td>",
                group_digits(all),
                100.0 * bad as f64 / all.max(1) as f64
            );
        }
        page.out.push_str("</tr>\n");
    }
    page.out.push_str("</tbody></table>\n");
}

/// The report as the page embeds it: its own text when small; else the report as read (its
/// lists cut to their first entries) with every map longer than a thousand entries cut too,
/// the cuts recorded under `html_embedded_cut` (pointer → entries kept and entries in the
/// report). `<` is written `\u003c`, so no text in it can end the script element.
fn embedded(text: Text<'_>, reading: &Reading) -> (String, Vec<(String, usize, usize)>) {
    let small = match text {
        Text::Bytes(bytes) => (bytes.len() <= EMBED_LIMIT + 1).then(|| bytes.to_vec()),
        Text::File(path) => std::fs::metadata(path)
            .is_ok_and(|m| m.len() <= EMBED_LIMIT as u64 + 1)
            .then(|| std::fs::read(path).ok())
            .flatten(),
    };
    if let Some(whole) = small {
        let whole = String::from_utf8_lossy(&whole);
        let whole = whole.trim();
        if whole.len() <= EMBED_LIMIT {
            return (whole.replace('<', "\\u003c"), Vec::new());
        }
    }
    let mut cut = reading.value.clone();
    let mut cuts: Vec<(String, usize, usize)> = reading
        .cuts
        .iter()
        .map(|(pointer, len)| (pointer.clone(), reading::KEPT, *len))
        .collect();
    shorten_maps(&mut cut, String::new(), &mut cuts);
    let record: Map<String, Value> = cuts
        .iter()
        .map(|(pointer, kept, of)| {
            (
                pointer.clone(),
                serde_json::json!({ "kept": kept, "of": of }),
            )
        })
        .collect();
    if let Value::Object(map) = &mut cut {
        map.insert("html_embedded_cut".into(), Value::Object(record));
    }
    let mut json = serde_json::to_string(&cut).unwrap_or_else(|_| "{}".into());
    if json.len() > EMBED_LIMIT {
        // Still too large (long strings everywhere): the figures alone, no lists or maps.
        let mut figures = Map::new();
        if let Value::Object(map) = &reading.value {
            for (k, v) in map {
                if !v.is_array() && !v.is_object() {
                    figures.insert(k.clone(), v.clone());
                }
            }
        }
        figures.insert(
            "html_embedded_cut".into(),
            serde_json::json!({ "": "only the report's top-level numbers and strings are embedded" }),
        );
        json = serde_json::to_string(&Value::Object(figures)).unwrap_or_default();
        cuts = vec![(String::new(), 0, 0)];
    }
    (json.replace('<', "\\u003c"), cuts)
}

fn shorten_maps(value: &mut Value, pointer: String, cuts: &mut Vec<(String, usize, usize)>) {
    const MAP_LIMIT: usize = 1000;
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                shorten_maps(item, format!("{pointer}/{i}"), cuts);
            }
        }
        Value::Object(map) => {
            if map.len() > MAP_LIMIT {
                cuts.push((pointer.clone(), MAP_LIMIT, map.len()));
                let mut i = 0;
                map.retain(|_, _| {
                    i += 1;
                    i <= MAP_LIMIT
                });
            }
            for (k, v) in map.iter_mut() {
                shorten_maps(v, format!("{pointer}/{}", pointer_escape(k)), cuts);
            }
        }
        _ => {}
    }
}

/// A map of counts (`{"Json": 3}`) as pairs, in the map's order; other values are skipped.
fn counts(value: Option<&Value>) -> Vec<(String, u64)> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
                .collect()
        })
        .unwrap_or_default()
}

/// A histogram with every bucket of `names` (empty ones too, in that order), then the buckets
/// the report has beyond them, in order of their numbers.
fn every_bucket(counts: Vec<(String, u64)>, names: &[String]) -> Vec<(String, u64)> {
    let mut all: Vec<(String, u64)> = names.iter().map(|n| (n.clone(), 0)).collect();
    let mut extra = Vec::new();
    for (name, n) in counts {
        match all.iter_mut().find(|(b, _)| *b == name) {
            Some(bucket) => bucket.1 += n,
            None => extra.push((name, n)),
        }
    }
    extra.sort_by(|a, b| {
        numeric(&a.0)
            .total_cmp(&numeric(&b.0))
            .then_with(|| a.0.cmp(&b.0))
    });
    all.extend(extra);
    all
}

/// A bucket name's number (`"-1"`, `"2.5"`, `"20+"`), for sorting; names that are no number
/// last.
fn numeric(name: &str) -> f64 {
    name.trim()
        .trim_end_matches('+')
        .parse()
        .unwrap_or(f64::INFINITY)
}

/// A value as text: a string as it is, null as nothing, anything else as JSON.
fn text_of(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A message cut at its location, if it ends with one (`… at line 2, column 1`,
/// `… at byte offset 8`, `… at /faces/0/confidence`): the rest and the location.
pub(crate) fn split_location(message: &str) -> (&str, &str) {
    if let Some(i) = message.rfind(" at ") {
        let location = &message[i + 4..];
        let position = ["line ", "byte offset ", "offset "]
            .iter()
            .any(|p| location.starts_with(p));
        let pointer = location.starts_with(['/', '$']) && !location.contains(char::is_whitespace);
        if position || pointer {
            return (&message[..i], location);
        }
    }
    (message, "")
}

/// The group a message falls in: the message with what differs from file to file taken out
/// (numbers as `N`, paths and quoted text as `…`), cut to 100 characters.
fn group_of(message: &str) -> String {
    let mut group = String::new();
    let mut first = true;
    for word in message.split_whitespace() {
        if !first {
            group.push(' ');
        }
        first = false;
        let bare =
            word.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';' | ':' | '[' | ']'));
        let starts_numeric = bare
            .trim_start_matches('-')
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit());
        let variable = bare.contains('/')
            || bare.contains('\\')
            || bare.starts_with(['"', '\'', '`', '\u{201c}']);
        if starts_numeric || variable {
            let (lead, rest) = word.split_at(word.find(bare).unwrap_or(0));
            let tail = &rest[bare.len().min(rest.len())..];
            group.push_str(lead);
            group.push_str(if starts_numeric { "N" } else { "…" });
            group.push_str(tail);
        } else {
            group.push_str(word);
        }
    }
    if message.trim().is_empty() {
        group.push_str("(no message)");
    }
    shorten(&group, 100)
}

/// Text cut to `max` characters, with an ellipsis in the middle, so both ends of a path show.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let head = (max - 1) * 2 / 3;
    let tail = max - 1 - head;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(count - tail));
    out
}

/// HTML text or attribute value with its special characters escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON pointer's escaping of one key.
pub(crate) fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A count with thousands separated (`1,234,567`).
pub(crate) fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in decimal units (`61.3 kB`), exact below a thousand.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests;
