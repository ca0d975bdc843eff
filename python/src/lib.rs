//! `image_sidecar_rust._native`: every sidecar format read and written in-process from
//! Python, the earlier tool's calls (`read_data`, `save_data`, ...), and the command line run
//! in-process (the package's `image-sidecar-rust` script). The Python package
//! (`image_sidecar_rust/__init__.py`) re-exports it with the exception classes and enums.

mod convert;

use std::borrow::Cow;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use image_sidecar::{Error, Formats, Overwrite};
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString};
use sidecar_engine::discover::{discover, Rules};
use sidecar_engine::ops::format_stats::FormatStatsStage;
use sidecar_engine::ops::{self, Plan, Section, Stage};

use sidecar_model::tape::Tape;
use sidecar_model::View;

use crate::convert::{from_python, to_python, CollectorPause};

/// Files `load_many` reads (one worker) or decodes (each worker's batch) at a time.
const BATCH: usize = 64;

pyo3::import_exception!(image_sidecar_rust._errors, SidecarDecodeError);
pyo3::import_exception!(image_sidecar_rust._errors, SidecarEncodeError);
pyo3::import_exception!(image_sidecar_rust._errors, SidecarExistsError);
pyo3::import_exception!(image_sidecar_rust._errors, SidecarChangedError);
pyo3::import_exception!(image_sidecar_rust._errors, UnknownFormatError);
pyo3::import_exception!(image_sidecar_rust._errors, AmbiguousSidecarError);

/// The format `save_data`, `create_sidecar` and `dump` write when nothing else decides.
static DEFAULT_FORMAT: Mutex<String> = Mutex::new(String::new());

fn default_format() -> String {
    let held = DEFAULT_FORMAT.lock().unwrap_or_else(|e| e.into_inner());
    if held.is_empty() {
        "json".to_owned()
    } else {
        held.clone()
    }
}

fn formats() -> &'static Formats {
    Formats::builtin()
}

/// A library error as the Python exception the package documents.
fn raise(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::Io { path, source } => os_error(source, path),
        Error::NotRead { path, .. } => PyOSError::new_err((0, message, path.into_os_string())),
        Error::Unrecognized { path } => {
            with_fields(SidecarDecodeError::new_err(message), path, None, None)
        }
        Error::Decode {
            path,
            format,
            error,
        } => with_fields(
            SidecarDecodeError::new_err(message),
            path,
            Some(format),
            error.location.map(|l| l.to_string()),
        ),
        Error::Type { path, error } => with_fields(
            SidecarDecodeError::new_err(message),
            path,
            None,
            Some(error.pointer),
        ),
        Error::Encode { format, error } => with_fields(
            SidecarEncodeError::new_err(message),
            None,
            Some(format),
            error.location.map(|l| l.to_string()),
        ),
        Error::UnknownFormat { .. } | Error::ReadOnly(_) => UnknownFormatError::new_err(message),
        Error::Exists(path) => with_fields(
            SidecarExistsError::new_err(format!(
                "{}: exists already; nothing written (pass overwrite=True to replace it)",
                path.display()
            )),
            Some(path),
            None,
            None,
        ),
        Error::Changed { path, .. } => with_fields(
            SidecarChangedError::new_err(message),
            Some(path),
            None,
            None,
        ),
        Error::NotAnObject { path, .. } => {
            with_fields(SidecarDecodeError::new_err(message), Some(path), None, None)
        }
        Error::Ambiguous { image, .. } => with_fields(
            AmbiguousSidecarError::new_err(message),
            Some(image),
            None,
            None,
        ),
    }
}

/// An I/O error as the `OSError` subclass Python raises for it (`FileNotFoundError`,
/// `PermissionError`, ...), with its `filename`. Errors that carry no OS error number (those
/// that say which temporary file failed) are classed by their kind.
fn os_error(source: std::io::Error, path: PathBuf) -> PyErr {
    // A `str` filename, as `open()` gives.
    let path = path.into_os_string();
    let message = source.to_string();
    let error = match source.raw_os_error() {
        Some(code) => return PyOSError::new_err((code, message, path)),
        None => PyErr::from(std::io::Error::new(source.kind(), message)),
    };
    Python::attach(|py| {
        let _ = error.value(py).setattr("filename", path);
    });
    error
}

/// Sets `file`, `format` and `location` on an exception.
fn with_fields(
    error: PyErr,
    file: Option<PathBuf>,
    format: Option<String>,
    location: Option<String>,
) -> PyErr {
    Python::attach(|py| {
        let value = error.value(py);
        let _ = value.setattr("file", file.map(|p| p.to_string_lossy().into_owned()));
        let _ = value.setattr("format", format);
        let _ = value.setattr("location", location);
    });
    error
}

/// A path from a `str`, `bytes` or `os.PathLike` (of either), as `open()` takes it.
fn os_path(object: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    if let Ok(s) = object.cast::<PyString>() {
        return Ok(PathBuf::from(s.to_str()?));
    }
    if let Ok(b) = object.cast::<PyBytes>() {
        return Ok(PathBuf::from(
            <OsString as std::os::unix::ffi::OsStringExt>::from_vec(b.as_bytes().to_vec()),
        ));
    }
    let fspath = object
        .py()
        .import("os")?
        .call_method1("fspath", (object,))?;
    if fspath.cast::<PyString>().is_ok() || fspath.cast::<PyBytes>().is_ok() {
        os_path(&fspath)
    } else {
        Err(PyTypeError::new_err(
            "os.fspath returned neither str nor bytes",
        ))
    }
}

/// The bytes of `bytes` or `str` (UTF-8), borrowed; of a `bytearray` or `memoryview`, copied
/// (another thread may change them meanwhile).
fn bytes_of<'a>(data: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = data.cast::<PyString>() {
        return Ok(Cow::Borrowed(s.to_str()?.as_bytes()));
    }
    if let Ok(b) = data.cast::<PyByteArray>() {
        return Ok(Cow::Owned(b.to_vec()));
    }
    data.call_method0("tobytes")
        .and_then(|b| b.extract())
        .map(Cow::Owned)
        .map_err(|_| PyTypeError::new_err("data must be bytes, bytearray, memoryview or str"))
}

/// Reads the sidecar at `path` (format by content unless named) into Python objects.
#[pyfunction]
#[pyo3(signature = (path, format=None))]
fn load<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    format: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    load_with(py, formats(), path, format)
}

fn load_with<'py>(
    py: Python<'py>,
    formats: &Formats,
    path: &Bound<'py, PyAny>,
    format: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let path = os_path(path)?;
    let bytes = py.detach(|| read_file(&path))?;
    decode_to_python(py, formats, &bytes, format, Some(&path))
}

fn read_file(path: &Path) -> PyResult<Vec<u8>> {
    formats().read_bytes(path).map_err(raise)
}

fn decode_to_python<'py>(
    py: Python<'py>,
    formats: &Formats,
    bytes: &[u8],
    format: Option<&str>,
    path: Option<&Path>,
) -> PyResult<Bound<'py, PyAny>> {
    let visit = |view: View<'_>, _: &[sidecar_model::Warning]| to_python(py, view);
    let decoded = match path {
        Some(path) => formats.inspect_file(path, bytes, format, visit),
        None => formats.inspect(bytes, format, visit),
    };
    decoded.map_err(raise)?.0
}

/// Reads a sidecar from bytes (or str, for JSON), format by content unless named. Bytes whose
/// content names no format are read as JSON, so that `loads("null")` is what `json.loads`
/// makes of it.
#[pyfunction]
#[pyo3(signature = (data, format=None))]
fn loads<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    format: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    loads_with(py, formats(), data, format)
}

fn loads_with<'py>(
    py: Python<'py>,
    formats: &Formats,
    data: &Bound<'py, PyAny>,
    format: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let bytes = bytes_of(data)?;
    let format = format.or_else(|| formats.detect(&bytes).is_none().then_some("json"));
    decode_to_python(py, formats, &bytes, format, None)
}

/// A Python object as the document to write in `format`. JSON spells one NaN, as Python's
/// `json` module does: every NaN (a sign or payload bit set) is written as that one there, while
/// the binary formats keep its bits.
fn document(
    formats: &Formats,
    obj: &Bound<'_, PyAny>,
    format: &str,
) -> PyResult<sidecar_model::Value> {
    let mut value = from_python(obj)?;
    if formats.format(format).is_ok_and(|c| c.name() == "json") {
        one_nan(&mut value);
    }
    Ok(value)
}

fn one_nan(value: &mut sidecar_model::Value) {
    use sidecar_model::Value;
    match value {
        Value::Float(f) if f.is_nan() => *f = f64::NAN,
        Value::Array(items) => items.iter_mut().for_each(one_nan),
        Value::Object(map) => map.values_mut().for_each(one_nan),
        _ => {}
    }
}

/// `obj` encoded in `format`, as bytes (JSON exactly as `json.dumps(obj, indent=2)` writes it).
#[pyfunction]
#[pyo3(signature = (obj, format="json"))]
fn dumps<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    format: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    dumps_with(py, formats(), obj, format)
}

fn dumps_with<'py>(
    py: Python<'py>,
    formats: &Formats,
    obj: &Bound<'py, PyAny>,
    format: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let value = document(formats, obj, format)?;
    let bytes = py
        .detach(|| formats.write(value.view(), format))
        .map_err(raise)?;
    Ok(PyBytes::new(py, &bytes))
}

/// Writes `obj` to `path` safely (a temporary file renamed into place; never over an existing
/// file unless `overwrite`), in `format`, or the one the path's extension names, or the
/// default format.
#[pyfunction]
#[pyo3(signature = (obj, path, format=None, overwrite=false))]
fn dump(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    path: &Bound<'_, PyAny>,
    format: Option<&str>,
    overwrite: bool,
) -> PyResult<()> {
    dump_with(py, formats(), obj, path, format, overwrite)
}

fn dump_with(
    py: Python<'_>,
    formats: &Formats,
    obj: &Bound<'_, PyAny>,
    path: &Bound<'_, PyAny>,
    format: Option<&str>,
    overwrite: bool,
) -> PyResult<()> {
    let path = os_path(path)?;
    let format = match format {
        Some(name) => name.to_owned(),
        None => path
            .file_name()
            .and_then(|n| formats.registry().by_file_name(n.as_encoded_bytes()))
            .filter(|c| c.can_encode())
            .map(|c| c.name().to_owned())
            .unwrap_or_else(default_format),
    };
    let value = document(formats, obj, &format)?;
    let overwrite = if overwrite {
        Overwrite::Replace
    } else {
        Overwrite::Never
    };
    py.detach(|| formats.write_path(&path, value.view(), &format, overwrite))
        .map_err(raise)
}

/// The format the content of bytes (or of the file at a path) names, or None.
#[pyfunction]
fn detect(py: Python<'_>, data_or_path: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    detect_with(py, formats(), data_or_path)
}

fn detect_with(
    py: Python<'_>,
    formats: &Formats,
    data_or_path: &Bound<'_, PyAny>,
) -> PyResult<Option<String>> {
    if data_or_path.cast::<PyBytes>().is_ok() || data_or_path.cast::<PyByteArray>().is_ok() {
        let bytes = bytes_of(data_or_path)?;
        return Ok(formats.detect(&bytes).map(str::to_owned));
    }
    let path = os_path(data_or_path)?;
    let bytes = py.detach(|| read_file(&path))?;
    Ok(formats.detect(&bytes).map(str::to_owned))
}

/// Reads many sidecars: one result per path, in order, each the document or the exception that
/// says why it could not be read (not raised). With `workers` above 1, that many threads share
/// the work: `workers - 1` read and decode files with the GIL released while this thread turns
/// the decoded documents into Python objects (which only a thread holding the GIL may make).
#[pyfunction]
#[pyo3(signature = (paths, workers=None))]
fn load_many<'py>(
    py: Python<'py>,
    paths: &Bound<'py, PyAny>,
    workers: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let paths: Vec<PathBuf> = paths
        .try_iter()?
        .map(|p| os_path(&p?))
        .collect::<PyResult<_>>()?;
    let workers =
        workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if workers == 0 {
        return Err(PyValueError::new_err("workers must be at least 1"));
    }
    if workers == 1 || paths.len() < 2 {
        // Files read a batch at a time with the GIL released, then made into objects under
        // one pause of the collector, as the workers' documents are below.
        let mut out = Vec::with_capacity(paths.len());
        for batch in paths.chunks(BATCH) {
            let read: Vec<_> =
                py.detach(|| batch.iter().map(|p| formats().read_bytes(p)).collect());
            let _pause = CollectorPause::new(py);
            for (path, bytes) in batch.iter().zip(read) {
                let loaded = bytes
                    .map_err(raise)
                    .and_then(|bytes| decode_to_python(py, formats(), &bytes, None, Some(path)));
                out.push(match loaded {
                    Ok(document) => document,
                    Err(error) => error.into_value(py).into_bound(py).into_any(),
                });
            }
        }
        return PyList::new(py, out);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers - 1)
        .build()
        .map_err(|e| PyValueError::new_err(format!("cannot start {workers} workers: {e}")))?;
    // Workers read and decode each file, down to a tape over its canonical encoding; this
    // thread only walks the tape making objects. Documents travel a batch at a time (one
    // wake-up per batch, not per file); bounded: decoded batches wait for this thread rather
    // than pile up in memory.
    type Decoded = (usize, Vec<Result<(Vec<u8>, Tape), Error>>);
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Decoded>(2 * workers);
    let mut out: Vec<Option<Bound<'py, PyAny>>> = Vec::with_capacity(paths.len());
    out.resize_with(paths.len(), || None);
    std::thread::scope(|scope| -> PyResult<()> {
        let paths = &paths;
        scope.spawn(move || {
            use rayon::prelude::*;
            pool.install(|| {
                paths.par_chunks(BATCH).enumerate().for_each_with(
                    sender,
                    |sender, (chunk, batch)| {
                        let decoded = batch.iter().map(|path| canonical_of(path)).collect();
                        // A closed channel means this thread gave up (an error): nothing to send.
                        let _ = sender.send((chunk * BATCH, decoded));
                    },
                );
            });
        });
        // Waiting releases the GIL; the (uncontended) lock lets the receiver cross into it.
        let receiver = Mutex::new(receiver);
        let held = || receiver.lock().unwrap_or_else(|e| e.into_inner());
        let mut done = 0;
        let mut pause = Some(CollectorPause::new(py));
        while done < paths.len() {
            let ready = held().try_recv();
            let ready = ready.or_else(|_| {
                drop(pause.take());
                let waited = py.detach(|| held().recv());
                pause = Some(CollectorPause::new(py));
                waited
            });
            let Ok((start, batch)) = ready else {
                break;
            };
            for (offset, decoded) in batch.into_iter().enumerate() {
                out[start + offset] = Some(match decoded {
                    Ok((canonical, tape)) => to_python(py, tape.view(&canonical).root())?,
                    Err(error) => raise(error).into_value(py).into_bound(py).into_any(),
                });
                done += 1;
            }
        }
        Ok(())
    })?;
    let out: Vec<Bound<'py, PyAny>> = out
        .into_iter()
        .map(|o| {
            o.ok_or_else(|| PyValueError::new_err("a worker stopped before reading every file"))
        })
        .collect::<PyResult<_>>()?;
    PyList::new(py, out)
}

/// A sidecar file's document as its canonical encoding, and a tape over it.
fn canonical_of(path: &Path) -> Result<(Vec<u8>, Tape), Error> {
    let bytes = formats().read_bytes(path)?;
    let mut canonical = Vec::with_capacity(bytes.len());
    let ((), format) = formats().inspect_file(path, &bytes, None, |view, _| {
        sidecar_model::canonical::encode(view, &mut canonical)
    })?;
    let mut tape = Tape::default();
    sidecar_model::canonical::read(&canonical, 0, &mut tape).map_err(|error| Error::Decode {
        path: Some(path.to_owned()),
        format: format.to_owned(),
        error,
    })?;
    Ok((canonical, tape))
}

/// The document of an image's sidecar, `{}` when it has none.
#[pyfunction]
fn read_data<'py>(py: Python<'py>, image_path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let image = os_path(image_path)?;
    let default = default_format();
    match py
        .detach(|| formats().sidecar_for(&image, &default))
        .map_err(raise)?
    {
        None => Ok(pyo3::types::PyDict::new(py).into_any()),
        Some(path) => {
            let bytes = py.detach(|| read_file(&path))?;
            decode_to_python(py, formats(), &bytes, None, Some(&path))
        }
    }
}

/// Sets the section `operation` of an image's sidecar to `data`, in the sidecar's own format
/// (a new sidecar in the default format when there is none); returns the sidecar's path.
#[pyfunction]
fn save_data(
    py: Python<'_>,
    image_path: &Bound<'_, PyAny>,
    operation: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let image = os_path(image_path)?;
    let operation = operation_name(operation)?;
    let section = from_python(data)?;
    let default = default_format();
    let path = py
        .detach(|| formats().save_operation(&image, &operation, &section, &default))
        .map_err(raise)?;
    Ok(path.to_string_lossy().into_owned())
}

/// An operation given as a str or an `OperationType` (a str enum).
fn operation_name(operation: &Bound<'_, PyAny>) -> PyResult<String> {
    let value = operation
        .getattr("value")
        .unwrap_or_else(|_| operation.clone());
    value
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("operation must be a str or an OperationType"))?
        .to_str()
        .map(str::to_owned)
}

/// Creates an image's sidecar holding `data` (`{}` by default) in `format` (the default
/// format), named by the image's stem; never over an existing file unless `overwrite`.
#[pyfunction]
#[pyo3(signature = (image_path, data=None, format=None, overwrite=false))]
fn create_sidecar(
    py: Python<'_>,
    image_path: &Bound<'_, PyAny>,
    data: Option<&Bound<'_, PyAny>>,
    format: Option<&Bound<'_, PyAny>>,
    overwrite: bool,
) -> PyResult<String> {
    let image = os_path(image_path)?;
    let value = match data {
        Some(data) => from_python(data)?,
        None => sidecar_model::Value::Object(sidecar_model::Map::new()),
    };
    let format = match format {
        Some(f) => operation_name(f)?,
        None => default_format(),
    };
    let codec = formats().format(&format).map_err(raise)?;
    let path = image.with_extension(sidecar_model::codec::written_extension(codec));
    let overwrite = if overwrite {
        Overwrite::Replace
    } else {
        Overwrite::Never
    };
    py.detach(|| formats().write_path(&path, value.view(), &format, overwrite))
        .map_err(raise)?;
    Ok(path.to_string_lossy().into_owned())
}

/// Every sidecar under `directory` (directory-level result files left out), in path order.
#[pyfunction]
fn find_sidecars(py: Python<'_>, directory: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let root = os_path(directory)?;
    if !root.is_dir() {
        return Err(PyOSError::new_err((2, "not a directory", root)));
    }
    Ok(py.detach(|| {
        let tree = discover(&root, formats().registry(), &Rules::default(), &[]);
        tree.candidates()
            .filter(|c| !c.directory_file)
            .map(|c| c.path().to_string_lossy().into_owned())
            .collect()
    }))
}

/// The `format-stats` report of `directory`, as a dict.
#[pyfunction]
fn get_format_statistics<'py>(
    py: Python<'py>,
    directory: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let root = os_path(directory)?;
    if !root.is_dir() {
        return Err(PyOSError::new_err((2, "not a directory", root)));
    }
    let text = py
        .detach(|| {
            let registry = formats().registry();
            let tree = discover(&root, registry, &Rules::default(), &[]);
            let plan = Plan {
                stages: vec![Stage::from(FormatStatsStage::default())],
                formats: Vec::new(),
                operations: Vec::new(),
                max_file_size: sidecar_engine::fsio::DEFAULT_MAX_FILE_SIZE,
            };
            let report = ops::run(&tree, registry, &plan, &());
            let section: Option<Section> = report.sections.into_iter().next();
            serde_json::to_string(&section)
        })
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// Sets the format new sidecars are written in (`json`, `bin`, `rkyv`, or an alias).
#[pyfunction]
fn set_default_format(format: &Bound<'_, PyAny>) -> PyResult<()> {
    let name = operation_name(format)?;
    let codec = formats().format(&name).map_err(raise)?;
    if !codec.can_encode() {
        return Err(raise(Error::ReadOnly(codec.name().to_owned())));
    }
    *DEFAULT_FORMAT.lock().unwrap_or_else(|e| e.into_inner()) = codec.name().to_owned();
    Ok(())
}

/// The format new sidecars are written in.
#[pyfunction]
fn get_default_format() -> String {
    default_format()
}

/// Runs the command line in this process on `argv` (the program's name first); returns its
/// exit code. `self_command` is how to start it again (the interpreter and its arguments).
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<OsString>, self_command: Vec<OsString>) -> PyResult<u8> {
    let mut command = self_command.into_iter();
    if let Some(program) = command.next() {
        image_sidecar_rust::set_self_command(program, command.collect());
    }
    Ok(py.detach(|| image_sidecar_rust::main_from(argv)))
}

/// The built-in formats and those of plugin libraries, loaded by the command line's rules
/// (trusted places only; each library scanned in a child process before it is loaded).
#[pyclass(frozen, name = "Formats", module = "image_sidecar_rust._native")]
struct PluginFormats {
    formats: Formats,
    errors: Vec<(String, String)>,
}

#[pymethods]
impl PluginFormats {
    #[new]
    #[pyo3(signature = (plugin_dirs=Vec::new()))]
    fn new(py: Python<'_>, plugin_dirs: Vec<Bound<'_, PyAny>>) -> PyResult<PluginFormats> {
        let dirs: Vec<PathBuf> = plugin_dirs.iter().map(os_path).collect::<PyResult<_>>()?;
        // The scanner that checks a library first is this package, started again.
        let sys = py.import("sys")?;
        let executable: OsString = sys.getattr("executable")?.extract()?;
        image_sidecar_rust::set_self_command(
            executable,
            vec!["-m".into(), "image_sidecar_rust".into()],
        );
        let (registry, errors) = py
            .detach(|| image_sidecar_rust::load_plugins(&dirs))
            .map_err(|reason| PyOSError::new_err((0, reason)))?;
        Ok(PluginFormats {
            formats: Formats::new(registry),
            errors,
        })
    }

    /// The formats' names.
    fn names(&self) -> Vec<String> {
        self.formats
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The libraries that did not load, as (path, reason).
    #[getter]
    fn plugin_errors(&self) -> Vec<(String, String)> {
        self.errors.clone()
    }

    #[pyo3(signature = (path, format=None))]
    fn load<'py>(
        &self,
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
        format: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        load_with(py, &self.formats, path, format)
    }

    #[pyo3(signature = (data, format=None))]
    fn loads<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        format: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        loads_with(py, &self.formats, data, format)
    }

    #[pyo3(signature = (obj, format="json"))]
    fn dumps<'py>(
        &self,
        py: Python<'py>,
        obj: &Bound<'py, PyAny>,
        format: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        dumps_with(py, &self.formats, obj, format)
    }

    #[pyo3(signature = (obj, path, format=None, overwrite=false))]
    fn dump(
        &self,
        py: Python<'_>,
        obj: &Bound<'_, PyAny>,
        path: &Bound<'_, PyAny>,
        format: Option<&str>,
        overwrite: bool,
    ) -> PyResult<()> {
        dump_with(py, &self.formats, obj, path, format, overwrite)
    }

    fn detect(&self, py: Python<'_>, data_or_path: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        detect_with(py, &self.formats, data_or_path)
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PluginFormats>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(loads, m)?)?;
    m.add_function(wrap_pyfunction!(dump, m)?)?;
    m.add_function(wrap_pyfunction!(dumps, m)?)?;
    m.add_function(wrap_pyfunction!(detect, m)?)?;
    m.add_function(wrap_pyfunction!(load_many, m)?)?;
    m.add_function(wrap_pyfunction!(read_data, m)?)?;
    m.add_function(wrap_pyfunction!(save_data, m)?)?;
    m.add_function(wrap_pyfunction!(create_sidecar, m)?)?;
    m.add_function(wrap_pyfunction!(find_sidecars, m)?)?;
    m.add_function(wrap_pyfunction!(get_format_statistics, m)?)?;
    m.add_function(wrap_pyfunction!(set_default_format, m)?)?;
    m.add_function(wrap_pyfunction!(get_default_format, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    Ok(())
}
