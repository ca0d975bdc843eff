//! A document laid out flat, for reading without building a [`Value`]: decoders append nodes to
//! a [`Tape`], and a [`TapeView`] serves them as [`View`]s. A tape is reused from file to file
//! (each worker keeps one, see [`with_tape`]), so reading a file allocates nothing once the
//! worker has warmed up.
//!
//! Numbers that are costly to convert stay as they are in the file until someone reads them:
//! a JSON float as its text, a packed float array as its bytes. Validators that only count or
//! measure such arrays never pay for parsing them.

use std::cell::RefCell;

use crate::error::{CodecError, Location};
use crate::value::{ArrayRef, ArraySource, ObjectRef, ObjectSource, Value, View};

#[derive(Debug, Clone, Copy)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A float's text in the source, parsed when read.
    FloatText {
        start: u32,
        len: u32,
    },
    /// A string in the tape's text.
    Str {
        start: u32,
        len: u32,
    },
    /// Children in `items`.
    Array {
        start: u32,
        len: u32,
    },
    /// Entries in `members`.
    Object {
        start: u32,
        len: u32,
    },
    /// Little-endian `f32`s in the source.
    Packed32 {
        start: u32,
        count: u32,
    },
    /// Little-endian `f64`s in the source.
    Packed64 {
        start: u32,
        count: u32,
    },
}

#[derive(Debug, Clone, Copy)]
struct Member {
    key_start: u32,
    key_len: u32,
    node: u32,
}

/// A flat document under construction or ready to view.
#[derive(Debug, Default)]
pub struct Tape {
    nodes: Vec<Node>,
    items: Vec<u32>,
    members: Vec<Member>,
    text: String,
    /// Children of the containers being built, innermost last.
    pending_items: Vec<u32>,
    pending_members: Vec<Member>,
    root: u32,
}

/// An array or object being built: where its node and its pending children start.
#[derive(Debug, Clone, Copy)]
pub struct OpenContainer {
    node: u32,
    pending: usize,
}

/// The id of a node on a tape.
pub type NodeId = u32;

/// A document too large for a tape's 32-bit indices. Kept apart from [`CodecError`] so that
/// the result of every push stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapeFull;

impl From<TapeFull> for CodecError {
    fn from(_: TapeFull) -> CodecError {
        CodecError::unrepresentable("a document of 4 GiB or more", Some(Location::Offset(0)))
    }
}

impl From<TapeFull> for Box<CodecError> {
    fn from(e: TapeFull) -> Box<CodecError> {
        Box::new(e.into())
    }
}

fn index(n: usize) -> Result<u32, TapeFull> {
    u32::try_from(n).map_err(|_| TapeFull)
}

impl Tape {
    /// Empties the tape, keeping its memory.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.items.clear();
        self.members.clear();
        self.text.clear();
        self.pending_items.clear();
        self.pending_members.clear();
        self.root = 0;
    }

    fn push(&mut self, node: Node) -> Result<NodeId, TapeFull> {
        let id = index(self.nodes.len())?;
        self.nodes.push(node);
        Ok(id)
    }

    /// Appends a null.
    pub fn null(&mut self) -> Result<NodeId, TapeFull> {
        self.push(Node::Null)
    }

    /// Appends a boolean.
    pub fn bool(&mut self, b: bool) -> Result<NodeId, TapeFull> {
        self.push(Node::Bool(b))
    }

    /// Appends a signed integer.
    pub fn int(&mut self, i: i64) -> Result<NodeId, TapeFull> {
        self.push(Node::Int(i))
    }

    /// An unsigned integer, stored as `Int` where it fits (the model's invariant).
    pub fn uint(&mut self, u: u64) -> Result<NodeId, TapeFull> {
        match i64::try_from(u) {
            Ok(i) => self.int(i),
            Err(_) => self.push(Node::UInt(u)),
        }
    }

    /// Appends a float, its bits kept.
    pub fn float(&mut self, x: f64) -> Result<NodeId, TapeFull> {
        self.push(Node::Float(x))
    }

    /// A float whose text, at `range` of the source, is valid and parses to a finite value.
    pub fn float_text(&mut self, range: std::ops::Range<usize>) -> Result<NodeId, TapeFull> {
        let start = index(range.start)?;
        let len = index(range.len())?;
        self.push(Node::FloatText { start, len })
    }

    /// `count` packed floats of `width` (4 or 8) bytes at `start` of the source.
    pub fn packed(&mut self, start: usize, count: usize, width: usize) -> Result<NodeId, TapeFull> {
        let start = index(start)?;
        let count = index(count)?;
        self.push(if width == 4 {
            Node::Packed32 { start, count }
        } else {
            Node::Packed64 { start, count }
        })
    }

    fn text_range(&mut self, s: &str) -> Result<(u32, u32), TapeFull> {
        let start = index(self.text.len())?;
        let len = index(s.len())?;
        self.text.push_str(s);
        Ok((start, len))
    }

    /// Appends a string.
    pub fn string(&mut self, s: &str) -> Result<NodeId, TapeFull> {
        let (start, len) = self.text_range(s)?;
        self.push(Node::Str { start, len })
    }

    /// Opens an array: the values appended until [`Tape::end_array`] are its items.
    pub fn begin_array(&mut self) -> Result<OpenContainer, TapeFull> {
        Ok(OpenContainer {
            node: self.push(Node::Array { start: 0, len: 0 })?,
            pending: self.pending_items.len(),
        })
    }

    /// Adds a child to the innermost array being built.
    pub fn item(&mut self, node: NodeId) {
        self.pending_items.push(node);
    }

    /// Closes the array `frame` opened.
    pub fn end_array(&mut self, frame: OpenContainer) -> Result<NodeId, TapeFull> {
        let start = index(self.items.len())?;
        let len = index(self.pending_items.len() - frame.pending)?;
        self.items.extend(self.pending_items.drain(frame.pending..));
        self.nodes[frame.node as usize] = Node::Array { start, len };
        Ok(frame.node)
    }

    /// Opens an object: keys and values appended until [`Tape::end_object`] are its members.
    pub fn begin_object(&mut self) -> Result<OpenContainer, TapeFull> {
        Ok(OpenContainer {
            node: self.push(Node::Object { start: 0, len: 0 })?,
            pending: self.pending_members.len(),
        })
    }

    /// Records a key of the innermost object being built; its value follows with
    /// [`Tape::value_of_key`].
    pub fn key(&mut self, key: &str) -> Result<(), TapeFull> {
        let (key_start, key_len) = self.text_range(key)?;
        self.pending_members.push(Member {
            key_start,
            key_len,
            node: u32::MAX,
        });
        Ok(())
    }

    /// Sets the value of the key recorded last.
    pub fn value_of_key(&mut self, node: NodeId) {
        if let Some(member) = self.pending_members.last_mut() {
            member.node = node;
        }
    }

    /// The keys of the innermost object being built, but the last one.
    pub fn earlier_keys(&self, frame: &OpenContainer) -> impl Iterator<Item = &str> {
        let pending = &self.pending_members[frame.pending..];
        pending[..pending.len().saturating_sub(1)]
            .iter()
            .map(|m| self.text_at(m.key_start, m.key_len))
    }

    /// Whether the innermost object being built already has `key` (before the last one).
    pub fn has_key(&self, frame: &OpenContainer, key: &str) -> bool {
        self.earlier_keys(frame).any(|k| k == key)
    }

    /// The key recorded last.
    pub fn last_key(&self) -> &str {
        self.pending_members
            .last()
            .map_or("", |m| self.text_at(m.key_start, m.key_len))
    }

    /// Keys of the innermost object being built so far.
    pub fn pending_keys(&self, frame: &OpenContainer) -> usize {
        self.pending_members.len() - frame.pending
    }

    /// Closes the object `frame` opened.
    pub fn end_object(&mut self, frame: OpenContainer) -> Result<NodeId, TapeFull> {
        let start = index(self.members.len())?;
        let len = index(self.pending_members.len() - frame.pending)?;
        self.members
            .extend(self.pending_members.drain(frame.pending..));
        self.nodes[frame.node as usize] = Node::Object { start, len };
        Ok(frame.node)
    }

    /// Marks the document's root.
    pub fn finish(&mut self, root: NodeId) {
        self.root = root;
    }

    fn text_at(&self, start: u32, len: u32) -> &str {
        self.text
            .get(start as usize..start as usize + len as usize)
            .unwrap_or_default()
    }

    /// The document, with `source` the bytes the tape's ranges point into.
    pub fn view<'a>(&'a self, source: &'a [u8]) -> TapeView<'a> {
        TapeView { tape: self, source }
    }
}

/// A tape with the source it was read from, serving [`View`]s.
pub struct TapeView<'a> {
    tape: &'a Tape,
    source: &'a [u8],
}

impl<'a> TapeView<'a> {
    /// The last value appended at the top level, as a view.
    pub fn root(&self) -> View<'_> {
        self.node(self.tape.root)
    }

    /// Builds an owned value of the document.
    pub fn to_value(&self) -> Value {
        Value::from_view(self.root(), usize::MAX)
            .expect("depth was bounded when the tape was built")
    }

    fn node(&self, id: u32) -> View<'_> {
        match self.tape.nodes.get(id as usize) {
            None | Some(Node::Null) => View::Null,
            Some(Node::Bool(b)) => View::Bool(*b),
            Some(Node::Int(i)) => View::Int(*i),
            Some(Node::UInt(u)) => View::UInt(*u),
            Some(Node::Float(x)) => View::Float(*x),
            Some(Node::FloatText { start, len }) => View::Float(self.parse_float(*start, *len)),
            Some(Node::Str { start, len }) => View::Str(self.tape.text_at(*start, *len)),
            Some(Node::Array { .. } | Node::Packed32 { .. } | Node::Packed64 { .. }) => {
                View::Array(ArrayRef::new(self, id as usize))
            }
            Some(Node::Object { .. }) => View::Object(ObjectRef::new(self, id as usize)),
        }
    }

    fn parse_float(&self, start: u32, len: u32) -> f64 {
        use lexical_parse_float::FromLexical;
        self.source
            .get(start as usize..start as usize + len as usize)
            .and_then(|t| f64::from_lexical(t).ok())
            .unwrap_or(f64::NAN)
    }

    /// The bytes of `count` packed floats of `width` bytes at `start` of the source.
    fn packed_bytes(&self, start: u32, count: u32, width: usize) -> Option<&[u8]> {
        let start = start as usize;
        self.source.get(start..start + count as usize * width)
    }

    fn packed(&self, start: u32, index: usize, width: usize) -> Option<f64> {
        let at = start as usize + index * width;
        let bytes = self.source.get(at..at + width)?;
        Some(if width == 4 {
            f64::from(f32::from_le_bytes(bytes.try_into().ok()?))
        } else {
            f64::from_le_bytes(bytes.try_into().ok()?)
        })
    }
}

impl ArraySource for TapeView<'_> {
    fn len(&self, id: usize) -> usize {
        match self.tape.nodes.get(id) {
            Some(Node::Array { len, .. }) => *len as usize,
            Some(Node::Packed32 { count, .. } | Node::Packed64 { count, .. }) => *count as usize,
            _ => 0,
        }
    }

    fn at(&self, id: usize, index: usize) -> Option<View<'_>> {
        match self.tape.nodes.get(id)? {
            Node::Array { start, len } if index < *len as usize => {
                Some(self.node(*self.tape.items.get(*start as usize + index)?))
            }
            Node::Packed32 { start, count } if index < *count as usize => {
                self.packed(*start, index, 4).map(View::Float)
            }
            Node::Packed64 { start, count } if index < *count as usize => {
                self.packed(*start, index, 8).map(View::Float)
            }
            _ => None,
        }
    }

    fn all_floats(&self, id: usize) -> bool {
        match self.tape.nodes.get(id) {
            Some(Node::Array { start, len }) => {
                *len > 0
                    && self
                        .tape
                        .items
                        .get(*start as usize..*start as usize + *len as usize)
                        .is_some_and(|items| {
                            items.iter().all(|&item| {
                                matches!(
                                    self.tape.nodes.get(item as usize),
                                    Some(Node::FloatText { .. } | Node::Float(_))
                                )
                            })
                        })
            }
            Some(Node::Packed32 { count, .. } | Node::Packed64 { count, .. }) => *count > 0,
            _ => false,
        }
    }

    fn floats(&self, id: usize, out: &mut Vec<f64>) -> bool {
        let mark = out.len();
        let all = match self.tape.nodes.get(id) {
            Some(Node::Array { start, len }) => {
                let items = self
                    .tape
                    .items
                    .get(*start as usize..*start as usize + *len as usize)
                    .unwrap_or_default();
                out.reserve(items.len());
                items.iter().all(|&item| {
                    let x = match self.tape.nodes.get(item as usize) {
                        Some(Node::FloatText { start, len }) => self.parse_float(*start, *len),
                        Some(Node::Float(x)) => *x,
                        _ => return false,
                    };
                    out.push(x);
                    true
                })
            }
            Some(Node::Packed32 { start, count }) => {
                self.packed_bytes(*start, *count, 4).is_some_and(|bytes| {
                    out.extend(
                        bytes
                            .chunks_exact(4)
                            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
                    );
                    true
                })
            }
            Some(Node::Packed64 { start, count }) => {
                self.packed_bytes(*start, *count, 8).is_some_and(|bytes| {
                    out.extend(bytes.chunks_exact(8).map(|b| {
                        f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
                    }));
                    true
                })
            }
            _ => false,
        };
        if !all {
            out.truncate(mark);
        }
        all
    }
}

impl ObjectSource for TapeView<'_> {
    fn len(&self, id: usize) -> usize {
        match self.tape.nodes.get(id) {
            Some(Node::Object { len, .. }) => *len as usize,
            _ => 0,
        }
    }

    fn entry(&self, id: usize, index: usize) -> Option<(&str, View<'_>)> {
        match self.tape.nodes.get(id)? {
            Node::Object { start, len } if index < *len as usize => {
                let member = self.tape.members.get(*start as usize + index)?;
                Some((
                    self.tape.text_at(member.key_start, member.key_len),
                    self.node(member.node),
                ))
            }
            _ => None,
        }
    }

    fn find(&self, id: usize, key: &str) -> Option<View<'_>> {
        let Some(Node::Object { start, len }) = self.tape.nodes.get(id) else {
            return None;
        };
        let members = self
            .tape
            .members
            .get(*start as usize..*start as usize + *len as usize)?;
        members
            .iter()
            .find(|m| self.tape.text_at(m.key_start, m.key_len) == key)
            .map(|m| self.node(m.node))
    }
}

thread_local! {
    /// Tapes not in use, one per level of nesting reached so far (conversion reads a copy
    /// back while the source is still being viewed).
    static TAPES: RefCell<Vec<Tape>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` with one of this thread's tapes, emptied; a nested call gets another.
pub fn with_tape<T>(f: impl FnOnce(&mut Tape) -> T) -> T {
    let mut tape = TAPES
        .with(|tapes| tapes.borrow_mut().pop())
        .unwrap_or_default();
    tape.clear();
    let result = f(&mut tape);
    TAPES.with(|tapes| tapes.borrow_mut().push(tape));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    #[test]
    fn arrays_of_floats_are_told_without_parsing_them() {
        // The texts are not numbers at all: telling the kind must not read them.
        let source = b"??? !!! \x00\x00\xc0\x3f";
        let mut tape = Tape::default();
        let outer = tape.begin_array().unwrap();
        let texts = tape.begin_array().unwrap();
        for range in [0..3, 4..7] {
            let text = tape.float_text(range).unwrap();
            tape.item(text);
        }
        let texts = tape.end_array(texts).unwrap();
        tape.item(texts);
        let packed = tape.packed(8, 1, 4).unwrap();
        tape.item(packed);
        let mixed = tape.begin_array().unwrap();
        let x = tape.float(1.0).unwrap();
        tape.item(x);
        let i = tape.int(1).unwrap();
        tape.item(i);
        let mixed = tape.end_array(mixed).unwrap();
        tape.item(mixed);
        let empty = tape.begin_array().unwrap();
        let empty = tape.end_array(empty).unwrap();
        tape.item(empty);
        let root = tape.end_array(outer).unwrap();
        tape.finish(root);
        let view = tape.view(source);
        let items = view.root().as_array().unwrap();
        let told: Vec<bool> = items
            .iter()
            .map(|item| item.as_array().unwrap().all_floats())
            .collect();
        assert_eq!(told, [true, true, false, false]);
    }

    #[test]
    fn a_built_tape_views_as_the_value() {
        let source = b"1.5 \x00\x00\xc0\x3f\x00\x00\x00\xc0";
        let mut tape = Tape::default();
        let object = tape.begin_object().unwrap();
        tape.key("a").unwrap();
        let text = tape.float_text(0..3).unwrap();
        tape.value_of_key(text);
        tape.key("packed").unwrap();
        let packed = tape.packed(4, 2, 4).unwrap();
        tape.value_of_key(packed);
        tape.key("list").unwrap();
        let array = tape.begin_array().unwrap();
        let s = tape.string("x").unwrap();
        tape.item(s);
        let big = tape.uint(u64::MAX).unwrap();
        tape.item(big);
        let small = tape.uint(7).unwrap();
        tape.item(small);
        let list = tape.end_array(array).unwrap();
        tape.value_of_key(list);
        assert!(tape.has_key(&object, "a"));
        let root = tape.end_object(object).unwrap();
        tape.finish(root);

        let expected: Map = [
            ("a".to_owned(), Value::Float(1.5)),
            (
                "packed".to_owned(),
                Value::Array(vec![Value::Float(1.5), Value::Float(-2.0)]),
            ),
            (
                "list".to_owned(),
                Value::Array(vec![
                    Value::String("x".into()),
                    Value::UInt(u64::MAX),
                    Value::Int(7),
                ]),
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(tape.view(source).to_value(), Value::Object(expected));
    }

    #[test]
    fn a_lookup_finds_the_first_entry_under_its_key() {
        let source = b"0.25 0.5";
        let mut tape = Tape::default();
        let object = tape.begin_object().unwrap();
        for (key, range) in [("a", 0..4), ("b", 5..8), ("a", 5..8)] {
            tape.key(key).unwrap();
            let value = tape.float_text(range).unwrap();
            tape.value_of_key(value);
        }
        let root = tape.end_object(object).unwrap();
        tape.finish(root);
        let view = tape.view(source);
        let root = view.root();
        assert!(matches!(root.get("a"), Some(View::Float(x)) if x == 0.25));
        assert!(matches!(root.get("b"), Some(View::Float(x)) if x == 0.5));
        assert!(root.get("c").is_none());
        assert!(View::Float(1.0).get("a").is_none());
    }

    #[test]
    fn float_arrays_convert_whole_or_not_at_all() {
        let source = b"0.25 \x00\x00\xc0\x3f";
        let mut tape = Tape::default();
        let outer = tape.begin_array().unwrap();
        let texts = tape.begin_array().unwrap();
        let text = tape.float_text(0..4).unwrap();
        tape.item(text);
        let x = tape.float(-1.0).unwrap();
        tape.item(x);
        let texts = tape.end_array(texts).unwrap();
        tape.item(texts);
        let packed = tape.packed(5, 1, 4).unwrap();
        tape.item(packed);
        let mixed = tape.begin_array().unwrap();
        let x = tape.float(2.0).unwrap();
        tape.item(x);
        let i = tape.int(2).unwrap();
        tape.item(i);
        let mixed = tape.end_array(mixed).unwrap();
        tape.item(mixed);
        let root = tape.end_array(outer).unwrap();
        tape.finish(root);
        let view = tape.view(source);
        let lists = view.root().as_array().unwrap();
        let floats = |i: usize| lists.at(i).unwrap().as_array().unwrap().floats();
        assert_eq!(floats(0), Some(vec![0.25, -1.0]));
        assert_eq!(floats(1), Some(vec![1.5]));
        assert_eq!(floats(2), None);
    }

    #[test]
    fn nested_tapes_are_distinct_and_kept_for_reuse() {
        with_tape(|outer| {
            outer.int(1).unwrap();
            with_tape(|inner| {
                assert!(inner.nodes.is_empty());
                inner.int(2).unwrap();
                inner.int(3).unwrap();
            });
            assert_eq!(outer.nodes.len(), 1);
        });
        let kept = with_tape(|_| with_tape(|inner| inner.nodes.capacity()));
        assert!(kept >= 2, "the nested tape was not kept: capacity {kept}");
    }

    #[test]
    fn a_tape_overflow_is_an_unrepresentable_document() {
        assert_eq!(index(u32::MAX as usize), Ok(u32::MAX));
        assert_eq!(index(u32::MAX as usize + 1), Err(TapeFull));
        let error = CodecError::from(TapeFull);
        assert_eq!(error.kind, crate::error::ErrorKind::Unrepresentable);
        assert!(error.message.contains("4 GiB"), "{}", error.message);
    }

    #[test]
    fn nested_containers_keep_their_children_apart() {
        let mut tape = Tape::default();
        let outer = tape.begin_array().unwrap();
        let inner = tape.begin_array().unwrap();
        let one = tape.int(1).unwrap();
        tape.item(one);
        let inner = tape.end_array(inner).unwrap();
        tape.item(inner);
        let two = tape.int(2).unwrap();
        tape.item(two);
        let root = tape.end_array(outer).unwrap();
        tape.finish(root);
        let value = tape.view(b"").to_value();
        assert_eq!(
            value,
            Value::Array(vec![Value::Array(vec![Value::Int(1)]), Value::Int(2)])
        );
    }
}
