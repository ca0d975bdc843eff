//! Python objects to and from the value model, as Python's `json` module gives and takes them:
//! dicts in order, `int` within the model's range, floats with their bits, `bool` never an
//! int, tuples written as lists; numpy scalars and 1-D numeric arrays accepted without
//! importing numpy. A value no format can hold is a `TypeError` naming its path
//! (`$.faces[3].bbox[0]: numpy.complex64`).

use std::cell::RefCell;
use std::collections::HashMap;

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use sidecar_model::{Map, Value, View, MAX_DEPTH};

/// Object keys made once and reused (sidecars repeat a few hundred keys millions of times): a
/// reused `str` also brings its cached hash to every dict it goes into. Hashed with foldhash:
/// the keys are the file's, but a collision only costs a longer probe in a map of bounded size.
type Keys = HashMap<Box<str>, Py<PyString>, foldhash::fast::FixedState>;

thread_local! {
    static KEYS: RefCell<Keys> = RefCell::new(Keys::default());
}

/// Keys longer than this are made each time; so are all keys once the cache holds this many.
const CACHED_KEY_LEN: usize = 64;
const CACHED_KEYS: usize = 4096;

/// The cycle collector paused while this thread holds the GIL and makes a document's objects.
/// Nothing made here can form a cycle, so a collection run meanwhile would only traverse them
/// (and every older object, as the count of new ones climbs) to find nothing; paused, the
/// collector runs once, at the next allocation after the pause. A collector the program had
/// disabled stays disabled. Drop it before releasing the GIL, so that no other thread ever
/// runs with the collector paused by this one.
pub struct CollectorPause<'py> {
    _gil: Python<'py>,
    was_enabled: bool,
}

impl<'py> CollectorPause<'py> {
    pub fn new(py: Python<'py>) -> CollectorPause<'py> {
        // SAFETY: called with the GIL held (the `Python` token); PyGC_Disable (stable ABI
        // since 3.10) only flips the interpreter's flag and returns its previous state.
        let was_enabled = unsafe { pyo3::ffi::PyGC_Disable() } == 1;
        CollectorPause {
            _gil: py,
            was_enabled,
        }
    }
}

impl Drop for CollectorPause<'_> {
    fn drop(&mut self) {
        if self.was_enabled {
            // SAFETY: as in `new`; the token in `_gil` proves the GIL is still held.
            unsafe { pyo3::ffi::PyGC_Enable() };
        }
    }
}

/// A document as Python objects.
pub fn to_python<'py>(py: Python<'py>, view: View<'_>) -> PyResult<Bound<'py, PyAny>> {
    let _pause = CollectorPause::new(py);
    KEYS.with_borrow_mut(|keys| make(py, keys, view))
}

fn key<'py>(py: Python<'py>, keys: &mut Keys, key: &str) -> Bound<'py, PyString> {
    if key.len() > CACHED_KEY_LEN {
        return PyString::new(py, key);
    }
    if let Some(held) = keys.get(key) {
        return held.bind(py).clone();
    }
    let made = PyString::new(py, key);
    if keys.len() < CACHED_KEYS {
        keys.insert(key.into(), made.clone().unbind());
    }
    made
}

fn make<'py>(py: Python<'py>, keys: &mut Keys, view: View<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match view {
        View::Null => py.None().into_bound(py),
        View::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        View::Int(i) => i.into_pyobject(py)?.into_any(),
        View::UInt(u) => u.into_pyobject(py)?.into_any(),
        View::Float(f) => PyFloat::new(py, f).into_any(),
        View::Str(s) => PyString::new(py, s).into_any(),
        View::Array(items) => {
            // Embeddings and boxes: all floats, read in one loop where the source packs them.
            if let Some(floats) = items.floats() {
                return Ok(
                    PyList::new(py, floats.into_iter().map(|x| PyFloat::new(py, x)))?.into_any(),
                );
            }
            let mut list = Vec::with_capacity(items.len());
            for item in items.iter() {
                list.push(make(py, keys, item)?);
            }
            PyList::new(py, list)?.into_any()
        }
        View::Object(entries) => {
            let dict = PyDict::new(py);
            for (name, value) in entries.iter() {
                dict.set_item(key(py, keys, name), make(py, keys, value)?)?;
            }
            dict.into_any()
        }
    })
}

/// One step of the path to a value, for errors.
enum Step {
    Key(String),
    Index(usize),
}

/// Where a value is, as `$.faces[3].bbox[0]`.
fn path(steps: &[Step]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Key(key)
                if !key.is_empty()
                    && key.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && !key.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                out.push('.');
                out.push_str(key);
            }
            Step::Key(key) => out.push_str(&format!("[{key:?}]")),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A Python object as a document.
pub fn from_python(object: &Bound<'_, PyAny>) -> PyResult<Value> {
    let mut steps = Vec::new();
    convert(object, &mut steps)
}

fn type_name(object: &Bound<'_, PyAny>) -> String {
    let kind = object.get_type();
    let module = kind
        .module()
        .map(|m| m.to_string())
        .unwrap_or_else(|_| "builtins".into());
    let name = kind
        .qualname()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    if module == "builtins" {
        name
    } else {
        format!("{module}.{name}")
    }
}

fn convert(object: &Bound<'_, PyAny>, steps: &mut Vec<Step>) -> PyResult<Value> {
    if steps.len() > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "{}: nested deeper than {MAX_DEPTH} levels (a sidecar nests fewer; is the value circular?)",
            path(steps)
        )));
    }
    // The common exact types first; subclasses (str enums, OrderedDict) after.
    if let Ok(s) = object.cast_exact::<PyString>() {
        return Ok(Value::String(string(s, steps)?));
    }
    if let Ok(f) = object.cast_exact::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if object.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = object.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = object.cast::<PyInt>() {
        return integer(i, steps);
    }
    if let Ok(dict) = object.cast::<PyDict>() {
        let mut map = Map::with_capacity(dict.len());
        for (key, value) in dict.iter() {
            let key = dict_key(&key, steps)?;
            steps.push(Step::Key(key));
            let value = convert(&value, steps)?;
            let Some(Step::Key(key)) = steps.pop() else {
                unreachable!("pushed above")
            };
            map.push(key, value);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = object.cast::<PyList>() {
        let mut items = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            steps.push(Step::Index(i));
            items.push(convert(&item, steps)?);
            steps.pop();
        }
        return Ok(Value::Array(items));
    }
    if let Ok(tuple) = object.cast::<PyTuple>() {
        let mut items = Vec::with_capacity(tuple.len());
        for (i, item) in tuple.iter().enumerate() {
            steps.push(Step::Index(i));
            items.push(convert(&item, steps)?);
            steps.pop();
        }
        return Ok(Value::Array(items));
    }
    if let Ok(s) = object.cast::<PyString>() {
        return Ok(Value::String(string(s, steps)?));
    }
    if let Ok(f) = object.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    numpy(object, steps)
}

fn string(s: &Bound<'_, PyString>, steps: &[Step]) -> PyResult<String> {
    s.to_str().map(str::to_owned).map_err(|_| {
        PyValueError::new_err(format!(
            "{}: a string with a lone surrogate, which no sidecar format holds",
            path(steps)
        ))
    })
}

fn integer(i: &Bound<'_, PyInt>, steps: &[Step]) -> PyResult<Value> {
    if let Ok(n) = i.extract::<i64>() {
        return Ok(Value::Int(n));
    }
    if let Ok(n) = i.extract::<u64>() {
        return Ok(Value::from_u64(n));
    }
    Err(PyOverflowError::new_err(format!(
        "{}: {} is outside the integers a sidecar holds (-2**63 to 2**64 - 1)",
        path(steps),
        i
    )))
}

/// Keys as `json.dumps` takes them: strings, and `int`, `bool` and `None` written as text.
fn dict_key(key: &Bound<'_, PyAny>, steps: &[Step]) -> PyResult<String> {
    if let Ok(s) = key.cast::<PyString>() {
        return string(s, steps);
    }
    if key.is_none() {
        return Ok("null".into());
    }
    if let Ok(b) = key.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.into());
    }
    if let Ok(i) = key.cast::<PyInt>() {
        return Ok(i.to_string());
    }
    Err(PyTypeError::new_err(format!(
        "{}: a dict key of type {}; keys must be str, int, bool or None",
        path(steps),
        type_name(key)
    )))
}

/// numpy scalars (`numpy.float32`, `numpy.int64`, `numpy.bool_`) and 1-D numeric arrays, known
/// by their type's module so that numpy is never imported here.
fn numpy(object: &Bound<'_, PyAny>, steps: &mut Vec<Step>) -> PyResult<Value> {
    let name = type_name(object);
    let refused = || {
        PyTypeError::new_err(format!(
            "{}: {name} has no place in a sidecar (dict, list, tuple, str, int, float, bool, None, and numpy numbers and 1-D arrays do)",
            path(steps)
        ))
    };
    if !name.starts_with("numpy.") {
        return Err(refused());
    }
    let kind: String = object
        .getattr("dtype")
        .and_then(|d| d.getattr("kind"))
        .and_then(|k| k.extract())
        .map_err(|_| refused())?;
    if !matches!(kind.as_str(), "b" | "i" | "u" | "f") {
        return Err(refused());
    }
    if name == "numpy.ndarray" {
        let ndim: usize = object.getattr("ndim")?.extract()?;
        if ndim != 1 {
            return Err(PyTypeError::new_err(format!(
                "{}: a numpy array of {ndim} dimensions; only 1-D arrays are sidecar values (flatten it, or make it a list of lists)",
                path(steps)
            )));
        }
    }
    // `tolist()` of an array and `item()` of a scalar give Python numbers of the same value.
    let plain = if name == "numpy.ndarray" {
        object.call_method0("tolist")?
    } else {
        object.call_method0("item")?
    };
    convert(&plain, steps)
}
