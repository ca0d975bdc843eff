//! The lossless value model every codec decodes into and encodes from, and [`View`], the
//! read-only access that lets a codec serve a document without building a [`Value`] (a
//! zero-copy archive, say).
//!
//! The model keeps what JSON as Python writes it can say, exactly: key order and duplicate
//! keys, integers (the whole `i64` and `u64` ranges) apart from floats (`25.0` stays a float),
//! every float bit (`-0.0`, `NaN`, infinities), and any Unicode string.

use std::fmt;

/// One sidecar value.
///
/// Invariant: `UInt` holds only values above `i64::MAX`; smaller unsigned values are `Int`.
/// Use [`Value::from_u64`] to build integers from unsigned input so that equal numbers have one
/// representation.
#[derive(Debug, Clone)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// A float, its bits kept (`NaN` and the infinities included).
    Float(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Map),
}

impl Value {
    /// An integer from an unsigned number, as `Int` where it fits.
    pub fn from_u64(n: u64) -> Value {
        match i64::try_from(n) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(n),
        }
    }

    /// Borrowed, representation-independent access to this value.
    pub fn view(&self) -> View<'_> {
        match self {
            Value::Null => View::Null,
            Value::Bool(b) => View::Bool(*b),
            Value::Int(i) => View::Int(*i),
            Value::UInt(u) => View::UInt(*u),
            Value::Float(f) => View::Float(*f),
            Value::String(s) => View::Str(s),
            Value::Array(items) => View::Array(ArrayRef::new(items, 0)),
            Value::Object(map) => View::Object(ObjectRef::new(map, 0)),
        }
    }

    /// Builds an owned value from any view, refusing trees deeper than `max_depth`.
    pub fn from_view(view: View<'_>, max_depth: usize) -> Result<Value, DepthExceeded> {
        Ok(match view {
            View::Null => Value::Null,
            View::Bool(b) => Value::Bool(b),
            View::Int(i) => Value::Int(i),
            View::UInt(u) => Value::from_u64(u),
            View::Float(f) => Value::Float(f),
            View::Str(s) => Value::String(s.to_owned()),
            View::Array(items) => {
                let depth = max_depth.checked_sub(1).ok_or(DepthExceeded)?;
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    out.push(Value::from_view(item, depth)?);
                }
                Value::Array(out)
            }
            View::Object(map) => {
                let depth = max_depth.checked_sub(1).ok_or(DepthExceeded)?;
                let mut out = Map::with_capacity(map.len());
                for (key, item) in map.iter() {
                    out.push(key.to_owned(), Value::from_view(item, depth)?);
                }
                Value::Object(out)
            }
        })
    }
}

/// Exact equality: floats compare by their bits (so `NaN == NaN` and `0.0 != -0.0`), integers
/// never equal floats, and objects compare entry by entry in order.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        views_equal(self.view(), other.view())
    }
}

/// Whether a float converts to `f32` and back to the same bits.
pub fn exact_in_f32(x: f64) -> bool {
    f64::from(x as f32).to_bits() == x.to_bits()
}

/// A nesting deeper than the codec allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("nesting deeper than the limit")]
pub struct DepthExceeded;

/// The entries of a JSON object, in document order. Duplicate keys are kept (and reported by
/// the codec that found them) so that no entry is ever dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Map {
    entries: Vec<(String, Value)>,
}

impl Map {
    /// An empty object.
    pub fn new() -> Map {
        Map::default()
    }

    /// An empty object with room for `n` members.
    pub fn with_capacity(n: usize) -> Map {
        Map {
            entries: Vec::with_capacity(n),
        }
    }

    /// Appends a member (keys may repeat; order is kept).
    pub fn push(&mut self, key: String, value: Value) {
        self.entries.push((key, value));
    }

    /// The first entry under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The members in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The members' values in order, to change them in place.
    pub fn values_mut(&mut self) -> impl ExactSizeIterator<Item = &mut Value> {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Map {
        Map {
            entries: iter.into_iter().collect(),
        }
    }
}

/// Read-only access to one node of a document, whatever stores it.
#[derive(Clone, Copy)]
pub enum View<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// Only for values above `i64::MAX`.
    UInt(u64),
    /// A float, its bits kept.
    Float(f64),
    /// A string.
    Str(&'a str),
    /// An array.
    Array(ArrayRef<'a>),
    /// An object.
    Object(ObjectRef<'a>),
}

/// Where the elements of arrays live: a document representation implements this once, and
/// each array is an `id` within it (representations with one source per array ignore `id`).
pub trait ArraySource: Sync {
    /// The number of items of array `id`.
    fn len(&self, id: usize) -> usize;
    /// Item `index` of array `id`.
    fn at(&self, id: usize, index: usize) -> Option<View<'_>>;
    /// Whether array `id` is not empty and every element is a float, told without reading the
    /// floats where the representation can (a JSON float's text is not parsed).
    fn all_floats(&self, id: usize) -> bool {
        self.len(id) > 0
            && (0..self.len(id)).all(|i| matches!(self.at(id, i), Some(View::Float(_))))
    }

    /// Appends the elements to `out` and returns `true` when every one is a float; otherwise
    /// returns `false` and leaves `out` as it was. Representations that keep floats packed or
    /// as text override it to convert them in one loop.
    fn floats(&self, id: usize, out: &mut Vec<f64>) -> bool {
        let mark = out.len();
        for index in 0..self.len(id) {
            match self.at(id, index) {
                Some(View::Float(x)) => out.push(x),
                _ => {
                    out.truncate(mark);
                    return false;
                }
            }
        }
        true
    }
}

/// Where the entries of objects live, in document order; see [`ArraySource`].
pub trait ObjectSource: Sync {
    /// The number of members of object `id`.
    fn len(&self, id: usize) -> usize;
    /// Member `index` of object `id`.
    fn entry(&self, id: usize, index: usize) -> Option<(&str, View<'_>)>;
    /// The value of the first entry under `key`. Representations where making a value costs
    /// something (a float kept as text is parsed) override it to make only the one found.
    fn find(&self, id: usize, key: &str) -> Option<View<'_>> {
        (0..self.len(id))
            .filter_map(|i| self.entry(id, i))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

/// An array node: a handle into its source.
#[derive(Clone, Copy)]
pub struct ArrayRef<'a> {
    source: &'a dyn ArraySource,
    id: usize,
}

/// An object node: a handle into its source.
#[derive(Clone, Copy)]
pub struct ObjectRef<'a> {
    source: &'a dyn ObjectSource,
    id: usize,
}

impl<'a> ArrayRef<'a> {
    /// Array `id` of `source`.
    pub fn new(source: &'a dyn ArraySource, id: usize) -> ArrayRef<'a> {
        ArrayRef { source, id }
    }

    /// The number of items.
    pub fn len(self) -> usize {
        self.source.len(self.id)
    }

    /// Whether there are no items.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Item `index`, if there is one.
    pub fn at(self, index: usize) -> Option<View<'a>> {
        self.source.at(self.id, index)
    }

    /// The items in order.
    pub fn iter(self) -> impl Iterator<Item = View<'a>> {
        (0..self.len()).filter_map(move |i| self.at(i))
    }

    /// Whether it is not empty and holds floats only (see [`ArraySource::all_floats`]).
    pub fn all_floats(self) -> bool {
        self.source.all_floats(self.id)
    }

    /// The elements of a non-empty array whose elements are all floats, each read once
    /// (reading a float from some representations parses it).
    pub fn floats(self) -> Option<Vec<f64>> {
        if self.is_empty() {
            return None;
        }
        let mut xs = Vec::with_capacity(self.len());
        self.source.floats(self.id, &mut xs).then_some(xs)
    }
}

impl<'a> ObjectRef<'a> {
    /// Object `id` of `source`.
    pub fn new(source: &'a dyn ObjectSource, id: usize) -> ObjectRef<'a> {
        ObjectRef { source, id }
    }

    /// The number of members.
    pub fn len(self) -> usize {
        self.source.len(self.id)
    }

    /// Whether there are no members.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Member `index`, if there is one.
    pub fn entry(self, index: usize) -> Option<(&'a str, View<'a>)> {
        self.source.entry(self.id, index)
    }

    /// The members in order.
    pub fn iter(self) -> impl Iterator<Item = (&'a str, View<'a>)> {
        (0..self.len()).filter_map(move |i| self.entry(i))
    }

    /// The first entry under `key`.
    pub fn get(self, key: &str) -> Option<View<'a>> {
        self.source.find(self.id, key)
    }
}

impl ArraySource for Vec<Value> {
    fn len(&self, _: usize) -> usize {
        self.as_slice().len()
    }
    fn at(&self, _: usize, index: usize) -> Option<View<'_>> {
        self.get(index).map(Value::view)
    }
}

impl ObjectSource for Map {
    fn len(&self, _: usize) -> usize {
        self.entries.len()
    }
    fn entry(&self, _: usize, index: usize) -> Option<(&str, View<'_>)> {
        self.entries.get(index).map(|(k, v)| (k.as_str(), v.view()))
    }
}

impl<'a> View<'a> {
    /// The member `key` of an object; `None` for other kinds.
    pub fn get(self, key: &str) -> Option<View<'a>> {
        match self {
            View::Object(map) => map.get(key),
            _ => None,
        }
    }

    /// The value a JSON pointer (RFC 6901: `""` is the whole document, `/faces/0/bbox`, `~1`
    /// for `/` and `~0` for `~` in keys) names; `None` when nothing is there or the pointer is
    /// not one.
    ///
    /// ```
    /// use sidecar_model::{Map, Value};
    /// let faces = Value::Array(vec![Value::Float(0.5)]);
    /// let doc = Value::Object([("a/b".to_string(), faces)].into_iter().collect::<Map>());
    /// assert_eq!(doc.view().pointer("/a~1b/0").and_then(|v| v.as_f64()), Some(0.5));
    /// assert!(doc.view().pointer("/a~1b/1").is_none());
    /// assert!(doc.view().pointer("a").is_none());
    /// ```
    pub fn pointer(self, pointer: &str) -> Option<View<'a>> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut at = self;
        for token in pointer.strip_prefix('/')?.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            at = match at {
                View::Object(map) => map.get(&token)?,
                View::Array(items) => {
                    // RFC 6901 indices: digits without a leading zero.
                    if token.is_empty()
                        || (token.len() > 1 && token.starts_with('0'))
                        || !token.bytes().all(|b| b.is_ascii_digit())
                    {
                        return None;
                    }
                    items.at(token.parse().ok()?)?
                }
                _ => return None,
            };
        }
        Some(at)
    }

    /// The string, if this is one.
    pub fn as_str(self) -> Option<&'a str> {
        match self {
            View::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(self) -> Option<bool> {
        match self {
            View::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// Any number as `f64` (integers may round).
    pub fn as_f64(self) -> Option<f64> {
        match self {
            View::Int(i) => Some(i as f64),
            View::UInt(u) => Some(u as f64),
            View::Float(f) => Some(f),
            _ => None,
        }
    }

    /// A non-negative integer.
    pub fn as_u64(self) -> Option<u64> {
        match self {
            View::Int(i) => u64::try_from(i).ok(),
            View::UInt(u) => Some(u),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(self) -> Option<ArrayRef<'a>> {
        match self {
            View::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(self) -> Option<ObjectRef<'a>> {
        match self {
            View::Object(map) => Some(map),
            _ => None,
        }
    }

    /// A short name of the node's kind, for messages.
    pub fn kind(self) -> &'static str {
        match self {
            View::Null => "null",
            View::Bool(_) => "boolean",
            View::Int(_) | View::UInt(_) => "integer",
            View::Float(_) => "float",
            View::Str(_) => "string",
            View::Array(_) => "array",
            View::Object(_) => "object",
        }
    }
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            View::Null => f.write_str("null"),
            View::Bool(b) => write!(f, "{b}"),
            View::Int(i) => write!(f, "{i}"),
            View::UInt(u) => write!(f, "{u}"),
            View::Float(x) => write!(f, "{x:?}"),
            View::Str(s) => write!(f, "{s:?}"),
            View::Array(items) => f.debug_list().entries(items.iter()).finish(),
            View::Object(map) => f.debug_map().entries(map.iter()).finish(),
        }
    }
}

/// Exact equality of two documents in any representations (see `PartialEq for Value`).
pub fn views_equal(a: View<'_>, b: View<'_>) -> bool {
    match (a, b) {
        (View::Null, View::Null) => true,
        (View::Bool(x), View::Bool(y)) => x == y,
        (View::Int(x), View::Int(y)) => x == y,
        (View::UInt(x), View::UInt(y)) => x == y,
        (View::Float(x), View::Float(y)) => x.to_bits() == y.to_bits(),
        (View::Str(x), View::Str(y)) => x == y,
        (View::Array(x), View::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| views_equal(p, q))
        }
        (View::Object(x), View::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((kp, p), (kq, q))| kp == kq && views_equal(p, q))
        }
        _ => false,
    }
}

/// The first place where two documents differ, as a JSON-pointer-like path, for messages.
pub fn first_difference(a: View<'_>, b: View<'_>) -> Option<String> {
    fn walk(a: View<'_>, b: View<'_>, path: &mut String) -> bool {
        match (a, b) {
            (View::Array(x), View::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y.iter()).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("/{i}"));
                    if walk(p, q, path) {
                        return true;
                    }
                    path.truncate(len);
                }
                false
            }
            (View::Object(x), View::Object(y)) if x.len() == y.len() => {
                for ((kp, p), (kq, q)) in x.iter().zip(y.iter()) {
                    let len = path.len();
                    path.push('/');
                    // RFC 6901: `~` and `/` inside a key are escaped.
                    path.push_str(&kp.replace('~', "~0").replace('/', "~1"));
                    if kp != kq || walk(p, q, path) {
                        return true;
                    }
                    path.truncate(len);
                }
                false
            }
            _ => !views_equal(a, b),
        }
    }
    let mut path = String::new();
    walk(a, b, &mut path).then(|| if path.is_empty() { "/".into() } else { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_compare_by_bits() {
        assert_eq!(Value::Float(f64::NAN), Value::Float(f64::NAN));
        assert_ne!(Value::Float(0.0), Value::Float(-0.0));
        assert_ne!(Value::Float(25.0), Value::Int(25));
    }

    #[test]
    fn float_arrays_are_read_whole_and_packed_without_loss() {
        let floats = |items: Vec<Value>| Value::Array(items).view().as_array()?.floats();
        let xs = floats(vec![
            Value::Float(0.5),
            Value::Float(-2.25),
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
        ])
        .unwrap();
        assert_eq!(xs.len(), 4);
        assert!(xs.iter().all(|x| exact_in_f32(*x)));
        assert!(exact_in_f32(0.9728009104728699));
        assert!(!exact_in_f32(0.1));
        assert!(!exact_in_f32(1e300));
        assert_eq!(floats(vec![]), None);
        assert_eq!(floats(vec![Value::Float(1.0), Value::Int(1)]), None);
    }

    #[test]
    fn unsigned_integers_have_one_representation() {
        assert_eq!(Value::from_u64(5), Value::Int(5));
        assert_eq!(Value::from_u64(u64::MAX), Value::UInt(u64::MAX));
    }

    #[test]
    fn object_order_and_duplicates_matter() {
        let ab: Map = [("a".into(), Value::Null), ("b".into(), Value::Null)]
            .into_iter()
            .collect();
        let ba: Map = [("b".into(), Value::Null), ("a".into(), Value::Null)]
            .into_iter()
            .collect();
        assert_ne!(Value::Object(ab.clone()), Value::Object(ba));
        let mut aab = ab.clone();
        aab.push("a".into(), Value::Int(1));
        assert_ne!(Value::Object(aab.clone()), Value::Object(ab));
        assert_eq!(aab.get("a"), Some(&Value::Null));
    }

    #[test]
    fn from_view_honours_the_depth_limit() {
        let mut v = Value::Null;
        for _ in 0..10 {
            v = Value::Array(vec![v]);
        }
        assert!(Value::from_view(v.view(), 10).is_ok());
        assert_eq!(Value::from_view(v.view(), 9), Err(DepthExceeded));
    }

    #[test]
    fn first_difference_names_the_path() {
        let a: Map = [("x".into(), Value::Array(vec![Value::Int(1), Value::Int(2)]))]
            .into_iter()
            .collect();
        let b: Map = [("x".into(), Value::Array(vec![Value::Int(1), Value::Int(3)]))]
            .into_iter()
            .collect();
        let (a, b) = (Value::Object(a), Value::Object(b));
        assert_eq!(
            first_difference(a.view(), b.view()).as_deref(),
            Some("/x/1")
        );
        assert_eq!(first_difference(a.view(), a.view()), None);
    }

    #[test]
    fn first_difference_escapes_keys_as_json_pointers() {
        let one = |v| {
            Value::Object(
                [("a/b~c".into(), Value::Int(v))]
                    .into_iter()
                    .collect::<Map>(),
            )
        };
        assert_eq!(
            first_difference(one(1).view(), one(2).view()).as_deref(),
            Some("/a~1b~0c")
        );
    }
}
