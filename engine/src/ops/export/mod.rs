//! The export stage: each sidecar's document, or each element of one array in it, as a row of
//! a table other programs load (JSON Lines for pandas, polars and DuckDB; CSV in ExifTool's
//! layout).
//!
//! Rows are written as the walk goes: each worker fills a buffer and hands it to the shared
//! [`Sink`] when it is full, so memory stays flat at any tree size. With more than one worker
//! the order of rows follows the workers, not the paths; `--workers 1` writes them in walk
//! order.
//!
//! CSV needs its columns before its first row: [`Layout::Columns`] is a first pass that only
//! collects them (in the order files and keys first show them, decided by path so that any
//! number of workers finds the same header), and [`Layout::Csv`] the pass that writes.
//! Parquet needs its types: [`Layout::Types`] infers them ([`parquet`]), or they are declared
//! ([`parquet::read_types`]) and no first pass runs; [`Layout::Parquet`] writes record batches
//! the workers build and encode into column chunks themselves, each into a row group no other
//! worker is filling, so the file's lock is held only to append a finished row group.

pub mod parquet;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ::parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use ::parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use ::parquet::basic::Compression;
use ::parquet::errors::ParquetError;
use ::parquet::file::metadata::KeyValue;
use ::parquet::file::properties::{EnabledStatistics, WriterProperties};
use ::parquet::file::writer::SerializedFileWriter;
use arrow_array::RecordBatch;

use serde::Serialize;
use sidecar_model::json_text;

use crate::codec::Codec;
use crate::discover::{Candidate, Rules, Tree};
use crate::ops::{
    display_path, FailureRecord, FileState, Flow, NoRecord, PassContext, RecordedFile, StageKind,
};
use crate::value::View;

/// A worker hands its rows to the sink once it holds this many bytes of them.
const FLUSH_BYTES: usize = 256 * 1024;

/// How non-finite floats are written in JSON Lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonFinite {
    /// `NaN`, `Infinity`, `-Infinity`, as Python's `json` writes and reads them: lossless.
    Token,
    /// `null`, for readers of strict JSON (polars, DuckDB); the report counts them.
    Null,
}

/// What the stage writes.
#[derive(Debug, Clone)]
pub enum Layout {
    /// One JSON document per line.
    JsonLines { non_finite: NonFinite },
    /// Nothing: the first pass of a CSV export, finding its columns.
    Columns,
    /// CSV under this header (after `SourceFile`), each column a JSON pointer into the row.
    Csv { columns: Vec<Column> },
    /// Nothing: the first pass of a Parquet export, inferring its types.
    Types,
    /// Parquet in this table's layout.
    Parquet { table: Arc<parquet::Table> },
}

/// A Parquet writer starts a new row group once its buffers hold this many bytes. Each worker
/// fills one: 32 MiB doubled peak memory and made Binary exports a third slower (buffers
/// growing past the allocator's reuse), for no gain in readers' speed.
const ROW_GROUP_BYTES: usize = 8 * 1024 * 1024;

/// A worker builds a record batch of its rows once it holds this many, or this many bytes
/// (read as the files' sizes).
const BATCH_ROWS: usize = 4096;
const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// A CSV column: the JSON pointer of its cells and its header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub pointer: String,
    pub header: String,
    /// For an XMP language alternative: the language of this column's text (`x-default` is
    /// the column without a suffix, as ExifTool names them: `XMP-dc:Title`, `XMP-dc:Title-de`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// Where rows go, shared by the workers; the first write error stops further writing and is
/// kept for the report.
pub struct Sink {
    writer: Mutex<(Target, Option<String>)>,
    /// Parquet: what makes a row group's column writers, and the row groups begun that no
    /// worker is encoding into at this moment.
    encoding: Option<Encoding>,
}

enum Target {
    Bytes(Box<dyn Write + Send>),
    Parquet(Option<Box<SerializedFileWriter<Box<dyn Write + Send>>>>),
}

struct Encoding {
    factory: ArrowRowGroupWriterFactory,
    schema: Arc<arrow_schema::Schema>,
    idle: Mutex<Vec<Vec<ArrowColumnWriter>>>,
}

impl Sink {
    /// A sink for text rows (JSON Lines, CSV).
    pub fn new(writer: Box<dyn Write + Send>) -> Arc<Sink> {
        Arc::new(Sink {
            writer: Mutex::new((Target::Bytes(writer), None)),
            encoding: None,
        })
    }

    /// A sink for a Parquet file of `table`'s layout (Snappy-compressed).
    pub fn parquet(
        writer: Box<dyn Write + Send>,
        table: &parquet::Table,
    ) -> Result<Arc<Sink>, String> {
        // Statistics per column chunk, not per page, and no offset index: the writer keeps
        // those of every row group until the footer, memory that would grow with the tree.
        let mut properties = WriterProperties::builder();
        // Floats (embeddings, boxes) rarely repeat: a dictionary of them is built only to be
        // given up.
        let leaves = ArrowSchemaConverter::new()
            .convert(&table.schema)
            .map_err(|e| e.to_string())?;
        for leaf in leaves.columns() {
            if leaf.physical_type() == ::parquet::basic::Type::DOUBLE {
                properties = properties.set_column_dictionary_enabled(leaf.path().clone(), false);
            }
        }
        let properties = properties
            .set_compression(Compression::SNAPPY)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_offset_index_disabled(true)
            .set_created_by(concat!("image-sidecar-rust ", env!("CARGO_PKG_VERSION")).into())
            .set_key_value_metadata(Some(vec![KeyValue::new(
                parquet::TYPES_KEY.to_owned(),
                table.types.clone(),
            )]))
            .build();
        // The Arrow writer puts the Arrow schema in the footer; its parts let each worker
        // encode row groups of its own, in parallel, the file taking them whole.
        let (writer, factory) =
            ArrowWriter::try_new(writer, table.schema.clone(), Some(properties))
                .and_then(ArrowWriter::into_serialized_writer)
                .map_err(|e| e.to_string())?;
        Ok(Arc::new(Sink {
            writer: Mutex::new((Target::Parquet(Some(Box::new(writer))), None)),
            encoding: Some(Encoding {
                factory,
                schema: table.schema.clone(),
                idle: Mutex::new(Vec::new()),
            }),
        }))
    }

    fn failed(&self) -> bool {
        self.writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .is_some()
    }

    fn fail(&self, error: String) {
        self.writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .get_or_insert(error);
    }

    /// Writes `bytes` (whole rows) unless an earlier write failed.
    pub fn put(&self, bytes: &[u8]) {
        let mut held = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let (target, error) = &mut *held;
        if error.is_none() {
            if let Target::Bytes(writer) = target {
                if let Err(e) = writer.write_all(bytes) {
                    *error = Some(e.to_string());
                }
            }
        }
    }

    /// Encodes a record batch into a row group no other worker is encoding into (on this
    /// worker, without holding the file), and hands the row group to the file once it is large
    /// enough.
    fn put_batch(&self, batch: &RecordBatch) {
        let Some(encoding) = &self.encoding else {
            return;
        };
        if self.failed() {
            return;
        }
        let taken = encoding
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let encoded = taken
            .map(Ok)
            .unwrap_or_else(|| encoding.factory.create_column_writers(0))
            .and_then(|mut writers| {
                let mut leaves = writers.iter_mut();
                for (array, field) in batch.columns().iter().zip(encoding.schema.fields()) {
                    for leaf in compute_leaves(field, array)? {
                        let writer = leaves.next().ok_or_else(|| {
                            ParquetError::General("more leaves than column writers".into())
                        })?;
                        writer.write(&leaf)?;
                    }
                }
                Ok(writers)
            });
        match encoded {
            Ok(writers)
                if writers.iter().map(|w| w.memory_size()).sum::<usize>() >= ROW_GROUP_BYTES =>
            {
                self.append_row_group(writers)
            }
            Ok(writers) => encoding
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(writers),
            Err(e) => self.fail(e.to_string()),
        }
    }

    /// Closes a row group's column writers and appends the row group to the file.
    fn append_row_group(&self, writers: Vec<ArrowColumnWriter>) {
        let chunks = writers
            .into_iter()
            .map(ArrowColumnWriter::close)
            .collect::<Result<Vec<_>, _>>();
        let mut held = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let (target, error) = &mut *held;
        if error.is_some() {
            return;
        }
        let Target::Parquet(Some(writer)) = target else {
            return;
        };
        let appended = chunks.and_then(|chunks| {
            let mut row_group = writer.next_row_group()?;
            for chunk in chunks {
                chunk.append_to_row_group(&mut row_group)?;
            }
            row_group.close().map(|_| ())
        });
        if let Err(e) = appended {
            *error = Some(e.to_string());
        }
    }

    /// Flushes the writer (a Parquet file gets its last row groups and its footer); the first
    /// error any write met, if one did.
    pub fn finish(&self) -> Result<(), String> {
        if let Some(encoding) = &self.encoding {
            let idle =
                std::mem::take(&mut *encoding.idle.lock().unwrap_or_else(|e| e.into_inner()));
            for writers in idle {
                self.append_row_group(writers);
            }
        }
        let mut held = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let (target, error) = &mut *held;
        if let Some(error) = error.take() {
            return Err(error);
        }
        match target {
            Target::Bytes(writer) => writer.flush().map_err(|e| e.to_string()),
            Target::Parquet(writer) => match writer.take() {
                Some(writer) => writer
                    .into_inner()
                    .and_then(|mut inner| inner.flush().map_err(Into::into))
                    .map_err(|e| e.to_string()),
                None => Ok(()),
            },
        }
    }
}

/// The export stage.
pub struct ExportStage {
    pub layout: Layout,
    /// A JSON pointer to an array: one row per element instead of one per sidecar.
    pub rows: Option<String>,
    /// JSON pointers (into the document, or into the row's element) to write instead of all of
    /// it: JSON Lines writes them; CSV and Parquet choose their columns by them after the first
    /// pass ([`writing_layout`]).
    pub fields: Vec<String>,
    /// To name each sidecar's image.
    pub rules: Rules,
    pub sink: Arc<Sink>,
    /// Where the rows go, for the report (`None`: stdout, or nowhere in a first pass).
    pub output: Option<String>,
}

impl ExportStage {
    /// A stage writing to nowhere (as a first pass does), in `layout`.
    pub fn new(layout: Layout, rows: Option<String>, fields: Vec<String>) -> ExportStage {
        ExportStage {
            layout,
            rows,
            fields,
            rules: Rules::default(),
            sink: Sink::new(Box::new(std::io::sink())),
            output: None,
        }
    }
}

/// Why the writing pass of a Parquet export cannot start.
#[derive(Debug)]
pub enum NotWritable {
    /// A field holds values of two types in the tree.
    Conflict(parquet::Conflict),
    /// The Parquet writer refused the table (the reason).
    Start(String),
}

/// The layout and sink of the pass that writes a CSV or Parquet export, from the report of its
/// first pass (in [`Layout::Columns`] or [`Layout::Types`]): the columns `fields` chooses, with
/// the header already in the sink, or the Parquet table of the inferred types. `rows`: the
/// export has one row per element of an array.
pub fn writing_layout(
    first: ExportReport,
    rows: bool,
    fields: &[String],
    writer: Box<dyn Write + Send>,
) -> Result<(Layout, Arc<Sink>), NotWritable> {
    match first.inferred {
        Some(mut inferred) => {
            if let Some(conflict) = inferred.conflict.take() {
                return Err(NotWritable::Conflict(conflict));
            }
            parquet_layout(&inferred, rows, fields, writer).map_err(NotWritable::Start)
        }
        None => {
            let (columns, header) = csv_columns(first.columns, fields);
            let sink = Sink::new(writer);
            sink.put(&header);
            Ok((Layout::Csv { columns }, sink))
        }
    }
}

/// The layout and sink of a Parquet export of `types` (inferred, or declared: no first pass).
pub fn parquet_layout(
    types: &parquet::Inferred,
    rows: bool,
    fields: &[String],
    writer: Box<dyn Write + Send>,
) -> Result<(Layout, Arc<Sink>), String> {
    let table = Arc::new(parquet::Table::new(types, rows, fields));
    let sink = Sink::parquet(writer, &table)?;
    Ok((Layout::Parquet { table }, sink))
}

/// The columns of a CSV export: those `fields` names, in its order, with the headers the first
/// pass found for them (every column found when it names none); and the header line.
fn csv_columns(found: Vec<Column>, fields: &[String]) -> (Vec<Column>, Vec<u8>) {
    let columns: Vec<Column> = if fields.is_empty() {
        found
    } else {
        fields
            .iter()
            .map(|pointer| {
                found
                    .iter()
                    .find(|c| &c.pointer == pointer)
                    .cloned()
                    .unwrap_or_else(|| Column {
                        pointer: pointer.clone(),
                        header: pointer.clone(),
                        lang: None,
                    })
            })
            .collect()
    };
    let mut header = vec!["SourceFile".to_owned()];
    header.extend(columns.iter().map(|c| c.header.clone()));
    let mut line = Vec::new();
    write_csv_record(&mut line, &header);
    (columns, line)
}

/// A sidecar that wrote no row, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotExported {
    pub file_path: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct ExportReport {
    /// `jsonl`, `csv` or `parquet`.
    pub format: &'static str,
    /// The file written (a merged report lists every shard's); empty when the rows went to
    /// stdout.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_pointer: Option<String>,
    /// Sidecars looked at (directory-level files excluded).
    pub total_sidecars: u64,
    pub exported_sidecars: u64,
    pub rows: u64,
    /// Sidecars where `--rows` names no array (or an empty one): no row.
    pub without_rows: u64,
    /// Floats written as `null` (`--non-finite null`).
    pub non_finite_as_null: u64,
    /// CSV: the header after `SourceFile`, each column's JSON pointer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<Column>,
    /// Parquet's first pass: the types inferred.
    #[serde(skip)]
    pub inferred: Option<parquet::Inferred>,
    /// Every sidecar that could not be read or written as a row, with the reason.
    pub not_exported: Vec<NotExported>,
    pub directory_files: Vec<String>,
    pub elapsed_seconds: f64,
}

impl ExportReport {
    pub fn has_findings(&self) -> bool {
        !self.not_exported.is_empty()
    }
}

/// Columns found, by pointer and language: the header, and the path and position where each
/// was first seen (what orders them).
type Columns = HashMap<(String, Option<String>), (PathBuf, usize, String)>;

/// Notes a column, keeping where it was seen first in path order.
fn note_column(
    columns: &mut Columns,
    key: (String, Option<String>),
    seen: (PathBuf, usize, String),
) {
    match columns.entry(key) {
        std::collections::hash_map::Entry::Occupied(mut held) => {
            if (&seen.0, seen.1) < (&held.get().0, held.get().1) {
                held.insert(seen);
            }
        }
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(seen);
        }
    }
}

/// A worker's Parquet rows not yet in a record batch, and where the batches go.
struct Pending {
    batch: parquet::Batch,
    sink: Arc<Sink>,
    /// The bytes of the files whose rows the batch holds.
    bytes: usize,
}

impl Pending {
    /// Builds the rows held into a record batch (on this worker) and hands it to the sink.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        match self.batch.finish() {
            Ok(batch) => self.sink.put_batch(&batch),
            Err(e) => self.sink.fail(e),
        }
        self.bytes = 0;
    }
}

#[derive(Default)]
pub struct Fold {
    seen: u64,
    exported: u64,
    rows: u64,
    without_rows: u64,
    nulls: u64,
    buffer: Vec<u8>,
    columns: Columns,
    inferred: Box<parquet::Inferred>,
    /// Parquet rows waiting for their record batch.
    parquet: Option<Box<Pending>>,
    not_exported: Vec<NotExported>,
    directory_files: Vec<String>,
    /// The images of the directory last looked in (files are handed out by directory).
    images: Option<(PathBuf, Vec<std::ffi::OsString>)>,
}

impl ExportStage {
    fn flush(&self, fold: &mut Fold, at_least: usize) {
        if fold.buffer.len() >= at_least && !fold.buffer.is_empty() {
            self.sink.put(&fold.buffer);
            fold.buffer.clear();
        }
    }

    /// The image `sidecar` describes, looked up among its directory's files.
    fn image_of(&self, fold: &mut Fold, sidecar: &Path) -> Option<PathBuf> {
        let dir = crate::fsio::parent(sidecar);
        if fold.images.as_ref().is_none_or(|(held, _)| held != dir) {
            let names = crate::discover::images_in(dir, &self.rules).unwrap_or_default();
            fold.images = Some((dir.to_owned(), names));
        }
        let name = sidecar.file_name()?.as_encoded_bytes();
        let (_, names) = fold.images.as_ref()?;
        names
            .iter()
            .find(|image| crate::discover::pairs(name, image.as_encoded_bytes()))
            .map(|image| dir.join(image))
    }

    /// The rows of one document: the document itself, or the elements of its `--rows` array.
    fn rows_of<'d>(&self, document: View<'d>) -> Option<Vec<(Option<usize>, View<'d>)>> {
        match &self.rows {
            None => Some(vec![(None, document)]),
            Some(pointer) => {
                let items = document.pointer(pointer)?.as_array()?;
                Some(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (Some(i), v))
                        .collect(),
                )
            }
        }
    }

    fn write_json_line(
        &self,
        out: &mut Vec<u8>,
        file: &FileState<'_>,
        image: Option<&Path>,
        (index, row): (Option<usize>, View<'_>),
        non_finite: NonFinite,
        codec: Option<&dyn Codec>,
    ) -> Result<u64, String> {
        let mut nulls = 0;
        let mut value = |view: View<'_>, out: &mut Vec<u8>| match non_finite {
            NonFinite::Token => json_text::write_compact(view, out).map_err(|e| e.to_string()),
            NonFinite::Null => {
                nulls += json_text::write_compact_finite(view, out);
                Ok(())
            }
        };
        out.extend_from_slice(b"{\"path\":");
        json_text::write_string(&display_path(file.path), out);
        out.extend_from_slice(b",\"image\":");
        match image {
            Some(image) => json_text::write_string(&display_path(image), out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"format\":");
        json_text::write_string(file.codec, out);
        out.extend_from_slice(format!(",\"size\":{}", file.len).as_bytes());
        if let Some(index) = index {
            out.extend_from_slice(format!(",\"index\":{index}").as_bytes());
        }
        if self.fields.is_empty() {
            out.extend_from_slice(if index.is_some() {
                b",\"row\":"
            } else {
                b",\"document\":"
            });
            // The whole document with its non-finite floats as tokens: the codec may write it
            // from the file's bytes.
            let whole = index.is_none() && non_finite == NonFinite::Token;
            let written = whole && codec.is_some_and(|c| c.write_compact_json(file.bytes, out));
            if !written {
                value(row, out)?;
            }
        } else {
            for field in &self.fields {
                out.push(b',');
                json_text::write_string(field, out);
                out.push(b':');
                match row.pointer(field) {
                    Some(found) => value(found, out)?,
                    None => out.extend_from_slice(b"null"),
                }
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(nulls)
    }

    fn write_csv_row(
        &self,
        out: &mut Vec<u8>,
        file: &FileState<'_>,
        columns: &[Column],
        row: View<'_>,
        document: View<'_>,
    ) {
        let mut record = Vec::with_capacity(columns.len() + 1);
        record.push(display_path(file.path));
        let names = namespaces(document);
        for column in columns {
            let cell = row.pointer(&column.pointer);
            record.push(match (&column.lang, cell) {
                (Some(lang), Some(cell)) => alternative(cell, lang)
                    .map(|text| cell_text(text, names))
                    .unwrap_or_default(),
                (None, Some(cell)) => cell_text(cell, names),
                (_, None) => String::new(),
            });
        }
        write_csv_record(out, &record);
    }
}

/// Writes one CSV record (RFC 4180 quoting) to `out`.
pub fn write_csv_record(out: &mut Vec<u8>, fields: &[String]) {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    // Writing into a Vec cannot fail.
    let _ = writer.write_record(fields);
    let _ = writer.flush();
}

/// The prefixes an XMP document declares (its `@namespaces`), which make its keys ExifTool tags.
fn namespaces(document: View<'_>) -> Option<crate::value::ObjectRef<'_>> {
    document.get("@namespaces").and_then(View::as_object)
}

/// The list an XMP container (`{"@bag": […]}`, `@seq`, `@alt`) holds.
fn xmp_list(view: View<'_>) -> Option<crate::value::ArrayRef<'_>> {
    let map = view.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (key, items) = map.entry(0)?;
    matches!(key, "@bag" | "@seq" | "@alt")
        .then(|| items.as_array())
        .flatten()
}

/// A cell: scalars as text, lists of scalars joined by `, ` (ExifTool's `-sep ", "`), anything
/// else as compact JSON.
fn cell_text(cell: View<'_>, names: Option<crate::value::ObjectRef<'_>>) -> String {
    let scalar = |v: View<'_>| -> Option<String> {
        match v {
            View::Null => Some(String::new()),
            View::Str(s) => Some(s.to_owned()),
            View::Array(_) | View::Object(_) => None,
            View::Float(x) if x.is_nan() => Some("NaN".into()),
            View::Float(x) if x.is_infinite() => {
                Some(if x > 0.0 { "Infinity" } else { "-Infinity" }.into())
            }
            other => {
                let mut out = Vec::new();
                // A finite number or a boolean: nothing to refuse.
                let _ = json_text::write_compact(other, &mut out);
                Some(String::from_utf8_lossy(&out).into_owned())
            }
        }
    };
    if let Some(text) = scalar(cell) {
        return text;
    }
    if names.is_some() {
        if let Some(text) = alternative(cell, "x-default").and_then(scalar) {
            return text;
        }
    }
    let list = match cell {
        View::Array(items) => Some(items),
        _ if names.is_some() => xmp_list(cell),
        _ => None,
    };
    if let Some(items) = list {
        let texts: Option<Vec<String>> = items.iter().map(scalar).collect();
        if let Some(texts) = texts {
            return texts.join(", ");
        }
    }
    if names.is_some() {
        let mut out = String::new();
        serialized(cell, &mut out);
        return out;
    }
    let mut out = Vec::new();
    json_text::write_compact_finite(cell, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The text of language `lang` in an XMP language alternative
/// (`{"@alt": [{"@lang": "x-default", "@value": "…"}, …]}`).
fn alternative<'d>(cell: View<'d>, lang: &str) -> Option<View<'d>> {
    let items = cell.get("@alt")?.as_array()?;
    items
        .iter()
        .find(|item| item.get("@lang").and_then(View::as_str) == Some(lang))
        .and_then(|item| item.get("@value"))
}

/// The languages of an XMP language alternative, if `cell` is one.
fn languages(cell: View<'_>) -> Option<Vec<String>> {
    let items = cell.get("@alt")?.as_array()?;
    items
        .iter()
        .map(|item| item.get("@lang").and_then(View::as_str).map(str::to_owned))
        .collect()
}

/// An XMP structure or list in ExifTool's serialized form, which `exiftool -csv=` reads back:
/// `[{Action=saved,When=…},…]`, field names without their prefix (capitalized, as ExifTool
/// names them), and `|` before each of
/// `|,[]{}` in a value.
fn serialized(view: View<'_>, out: &mut String) {
    if let Some(items) = xmp_list(view).or_else(|| view.as_array()) {
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            serialized(item.get("@value").unwrap_or(item), out);
        }
        out.push(']');
        return;
    }
    match view {
        View::Object(map) => {
            out.push('{');
            let mut first = true;
            for (key, value) in map.iter().filter(|(k, _)| !k.starts_with('@')) {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&capitalized(
                    key.split_once(':').map_or(key, |(_, local)| local),
                ));
                out.push('=');
                serialized(value, out);
            }
            out.push('}');
        }
        scalar => {
            let text = cell_text(scalar, None);
            for c in text.chars() {
                if matches!(c, '|' | ',' | '[' | ']' | '{' | '}') {
                    out.push('|');
                }
                out.push(c);
            }
        }
    }
}

/// Every leaf column of a row, in document order: objects are walked into, XMP containers and
/// arrays are leaves, keys starting with `@` (XMP's `@namespaces`, `@toolkit`) are left out.
fn leaf_columns(row: View<'_>, names: Option<crate::value::ObjectRef<'_>>, out: &mut Vec<Column>) {
    fn walk(
        view: View<'_>,
        tokens: &mut Vec<String>,
        names: Option<crate::value::ObjectRef<'_>>,
        out: &mut Vec<Column>,
    ) {
        let leaf = match view {
            View::Object(map)
                if !map.is_empty()
                    && (names.is_none()
                        || (xmp_list(view).is_none() && view.get("@value").is_none())) =>
            {
                for (key, value) in map.iter() {
                    if key.starts_with('@') {
                        continue;
                    }
                    tokens.push(key.to_owned());
                    walk(value, tokens, names, out);
                    tokens.pop();
                }
                false
            }
            _ => true,
        };
        if !leaf || tokens.is_empty() {
            return;
        }
        let pointer = pointer_of(tokens);
        let header = header_of(tokens, names);
        match languages(view).filter(|_| names.is_some()) {
            Some(langs) => {
                for lang in langs {
                    out.push(Column {
                        pointer: pointer.clone(),
                        header: if lang == "x-default" {
                            header.clone()
                        } else {
                            format!("{header}-{lang}")
                        },
                        lang: Some(lang),
                    });
                }
            }
            None => out.push(Column {
                pointer,
                header,
                lang: None,
            }),
        }
    }
    walk(row, &mut Vec::new(), names, out);
}

/// RFC 6901 text of a path of keys.
fn pointer_of(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// A column's header: ExifTool's `XMP-prefix:TagName` for a key whose prefix the document
/// declares (struct fields flattened as ExifTool flattens them: `XMP-exif:FlashFired`), the
/// JSON pointer otherwise.
fn header_of(tokens: &[String], names: Option<crate::value::ObjectRef<'_>>) -> String {
    fn declared<'k>(
        key: &'k str,
        names: Option<crate::value::ObjectRef<'_>>,
    ) -> Option<(&'k str, &'k str)> {
        key.split_once(':')
            .filter(|(prefix, _)| names.is_some_and(|n| n.get(prefix).is_some()))
    }
    match declared(&tokens[0], names) {
        Some((prefix, local)) => {
            let mut header = format!("XMP-{prefix}:{}", capitalized(local));
            for token in &tokens[1..] {
                let local = declared(token, names).map_or(token.as_str(), |(_, l)| l);
                header.push_str(&capitalized(local));
            }
            header
        }
        None => pointer_of(tokens),
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl<'r> StageKind<'r> for ExportStage {
    type Fold = Fold;
    type Record = NoRecord;
    type Report = ExportReport;

    /// The format and the options, not what a first pass found (each shard of a split run
    /// finds the columns of its own files).
    fn fingerprint(&self) -> String {
        let format = match &self.layout {
            Layout::JsonLines { non_finite } => format!("jsonl {non_finite:?}"),
            Layout::Columns | Layout::Csv { .. } => "csv".to_owned(),
            Layout::Types | Layout::Parquet { .. } => "parquet".to_owned(),
        };
        format!(
            "export {format} rows {:?} fields {:?}\n",
            self.rows, self.fields
        )
    }

    /// It writes every file's document each run: nothing to keep.
    fn cacheable(&self) -> bool {
        false
    }

    fn apply<'f>(
        &self,
        fold: &mut Fold,
        file: &mut FileState<'f>,
        document: Option<View<'_>>,
        context: PassContext<'_>,
    ) -> (Option<NoRecord>, Flow)
    where
        'r: 'f,
    {
        fold.seen += 1;
        let Some(document) = document else {
            return (None, Flow::Continue);
        };
        let Some(rows) = self.rows_of(document) else {
            fold.without_rows += 1;
            return (None, Flow::Continue);
        };
        if rows.is_empty() {
            fold.without_rows += 1;
            return (None, Flow::Continue);
        }
        match &self.layout {
            Layout::Columns => {
                let names = namespaces(document);
                let mut found = Vec::new();
                for (_, row) in &rows {
                    leaf_columns(*row, names, &mut found);
                }
                for (position, column) in found.into_iter().enumerate() {
                    note_column(
                        &mut fold.columns,
                        (column.pointer, column.lang),
                        (file.path.to_owned(), position, column.header),
                    );
                }
                fold.exported += 1;
            }
            Layout::JsonLines { non_finite } => {
                let image = self.image_of(fold, file.path);
                let mark = fold.buffer.len();
                let mut nulls = 0;
                for (index, row) in &rows {
                    match self.write_json_line(
                        &mut fold.buffer,
                        file,
                        image.as_deref(),
                        (*index, *row),
                        *non_finite,
                        context.registry.by_name(file.codec),
                    ) {
                        Ok(n) => nulls += n,
                        Err(reason) => {
                            fold.buffer.truncate(mark);
                            fold.not_exported.push(NotExported {
                                file_path: display_path(file.path),
                                reason,
                            });
                            return (None, Flow::Continue);
                        }
                    }
                }
                fold.nulls += nulls;
                fold.rows += rows.len() as u64;
                fold.exported += 1;
            }
            Layout::Csv { columns } => {
                for (_, row) in &rows {
                    self.write_csv_row(&mut fold.buffer, file, columns, *row, document);
                }
                fold.rows += rows.len() as u64;
                fold.exported += 1;
            }
            Layout::Types => {
                for (_, row) in &rows {
                    fold.inferred.observe(*row, file.path);
                }
                fold.exported += 1;
            }
            Layout::Parquet { table } => {
                if let Err(reason) = rows.iter().try_for_each(|(_, row)| table.fits(*row)) {
                    fold.not_exported.push(NotExported {
                        file_path: display_path(file.path),
                        reason,
                    });
                    return (None, Flow::Continue);
                }
                let image = self.image_of(fold, file.path).map(|p| display_path(&p));
                let pending = fold.parquet.get_or_insert_with(|| {
                    Box::new(Pending {
                        batch: parquet::Batch::new(table.clone()),
                        sink: self.sink.clone(),
                        bytes: 0,
                    })
                });
                let path = display_path(file.path);
                let of = parquet::RowFile {
                    path: &path,
                    image: image.as_deref(),
                    format: file.codec,
                    size: file.len,
                };
                for (index, row) in &rows {
                    pending.batch.push(of, *index, *row);
                }
                pending.bytes += file.bytes.len();
                fold.rows += rows.len() as u64;
                fold.exported += 1;
                if pending.batch.len() >= BATCH_ROWS || pending.bytes >= BATCH_BYTES {
                    pending.flush();
                }
            }
        }
        self.flush(fold, FLUSH_BYTES);
        (None, Flow::Continue)
    }

    fn replay(
        &self,
        _: &mut Fold,
        record: &NoRecord,
        _: RecordedFile<'_>,
        _: PassContext<'_>,
    ) -> Flow {
        match *record {}
    }

    fn directory_file(&self, fold: &mut Fold, path: &Path) {
        fold.directory_files.push(display_path(path));
    }

    fn unreadable(
        &self,
        fold: &mut Fold,
        candidate: Candidate<'_>,
        failure: &FailureRecord,
    ) -> Flow {
        fold.seen += 1;
        fold.not_exported.push(NotExported {
            file_path: display_path(&candidate.path()),
            reason: failure.message.clone(),
        });
        Flow::Continue
    }

    fn merge(mut mine: Fold, mut theirs: Fold) -> Fold {
        mine.seen += theirs.seen;
        mine.exported += theirs.exported;
        mine.rows += theirs.rows;
        mine.without_rows += theirs.without_rows;
        mine.nulls += theirs.nulls;
        mine.buffer.append(&mut theirs.buffer);
        mine.inferred = Box::new(std::mem::take(&mut *mine.inferred).merge(*theirs.inferred));
        if let Some(mut pending) = theirs.parquet.take() {
            pending.flush();
        }
        for (key, seen) in theirs.columns {
            note_column(&mut mine.columns, key, seen);
        }
        mine.not_exported.extend(theirs.not_exported);
        mine.directory_files.extend(theirs.directory_files);
        mine
    }

    fn finish(
        &self,
        mut fold: Fold,
        _: &Tree,
        _: PassContext<'_>,
        elapsed_seconds: f64,
    ) -> ExportReport {
        self.flush(&mut fold, 0);
        if let Some(pending) = &mut fold.parquet {
            pending.flush();
        }
        fold.not_exported
            .sort_by(|a, b| a.file_path.cmp(&b.file_path));
        fold.directory_files.sort();
        let mut columns: Vec<_> = fold.columns.into_iter().collect();
        columns.sort_by(|(pa, a), (pb, b)| (&a.0, a.1, pa).cmp(&(&b.0, b.1, pb)));
        ExportReport {
            format: match self.layout {
                Layout::JsonLines { .. } => "jsonl",
                Layout::Columns | Layout::Csv { .. } => "csv",
                Layout::Types | Layout::Parquet { .. } => "parquet",
            },
            outputs: self.output.iter().cloned().collect(),
            rows_pointer: self.rows.clone(),
            total_sidecars: fold.seen,
            exported_sidecars: fold.exported,
            rows: fold.rows,
            without_rows: fold.without_rows,
            non_finite_as_null: fold.nulls,
            columns: match &self.layout {
                Layout::Columns => columns
                    .into_iter()
                    .map(|((pointer, lang), (_, _, header))| Column {
                        pointer,
                        header,
                        lang,
                    })
                    .collect(),
                Layout::Csv { columns } => columns.clone(),
                Layout::JsonLines { .. } | Layout::Types | Layout::Parquet { .. } => Vec::new(),
            },
            inferred: matches!(self.layout, Layout::Types).then_some(*fold.inferred),
            not_exported: fold.not_exported,
            directory_files: fold.directory_files,
            elapsed_seconds,
        }
    }
}
