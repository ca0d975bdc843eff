//! Parquet for `export`: the Arrow type of every field, inferred over the tree by a first
//! pass, then rows built into Arrow record batches by the workers and written row group by
//! row group.
//!
//! Types: `null`, booleans, 64-bit integers (unsigned past `i64::MAX`), 64-bit floats (an
//! integer where another file has a float widens to float, as JSON does not tell `1` from
//! `1.0` in a reader's eyes), strings, lists (of one element type) and structs (the union of
//! the keys seen, in the order first seen, each nullable). A field that holds a string in one
//! file and a number in another is a conflict: an error naming the field and both files. A
//! field only ever `null`, or an object only ever empty, is Arrow's `Null` type.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, NullArray, RecordBatch,
    StringArray, StructArray, UInt64Array,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields, Schema};
use serde::Serialize;

use sidecar_model::canonical;
use sidecar_model::tape::Tape;

use crate::value::View;

/// Where a field was first seen with its type: the file, and the field's position in the
/// walk of that file (which orders a struct's fields).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    /// Shared by every value of one file: comparing two of them is a pointer comparison.
    file: Arc<Path>,
    position: usize,
}

/// By file (path order), then position; values of one file compare by position alone.
impl Ord for Seen {
    fn cmp(&self, other: &Seen) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.file, &other.file) {
            return self.position.cmp(&other.position);
        }
        (&self.file, self.position).cmp(&(&other.file, other.position))
    }
}

impl PartialOrd for Seen {
    fn partial_cmp(&self, other: &Seen) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A field's inferred type.
#[derive(Debug, Clone)]
enum Kind {
    Null,
    Bool,
    Int,
    UInt,
    Float,
    Str,
    List(Box<Node>),
    Struct(Vec<(String, Node)>),
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "a boolean",
            Kind::Int => "an integer",
            Kind::UInt => "an unsigned integer",
            Kind::Float => "a float",
            Kind::Str => "a string",
            Kind::List(_) => "a list",
            Kind::Struct(_) => "an object",
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    /// Where its kind was decided (`None` while only `null` was seen).
    seen: Option<Seen>,
    /// Where it was first seen at all (`null` included): its place among its struct's fields.
    order: Option<Seen>,
}

impl Node {
    fn null() -> Node {
        Node {
            kind: Kind::Null,
            seen: None,
            order: None,
        }
    }
}

/// Two files disagree on a field's type.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    /// The field, as a JSON pointer (`/face_detection/faces/*/confidence`: `*` for a list's
    /// elements).
    pub field: String,
    pub first_file: String,
    pub first_type: &'static str,
    pub second_file: String,
    pub second_type: &'static str,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the field {} is {} in {} but {} in {}; Parquet needs one type per column",
            self.field, self.first_type, self.first_file, self.second_type, self.second_file
        )
    }
}

/// The inferred type of the rows' documents (or `--rows` elements), and the first conflict.
#[derive(Debug, Clone)]
pub struct Inferred {
    root: Node,
    pub conflict: Option<Conflict>,
}

impl Default for Inferred {
    fn default() -> Inferred {
        Inferred {
            root: Node::null(),
            conflict: None,
        }
    }
}

impl Inferred {
    /// Takes one row's value into the type.
    pub fn observe(&mut self, row: View<'_>, file: &Path) {
        let mut position = 0;
        let mut conflict = None;
        let file: Arc<Path> = Arc::from(file);
        let observed = node_of(row, &file, &mut position, &mut String::new(), &mut conflict);
        if let Some(conflict) = conflict {
            self.conflict.get_or_insert(conflict);
        }
        self.merge_node(observed);
    }

    fn merge_node(&mut self, other: Node) {
        let root = std::mem::replace(&mut self.root, Node::null());
        self.root = merge(root, other, &mut String::new(), &mut self.conflict);
    }

    /// Merges another worker's inference.
    pub fn merge(mut self, other: Inferred) -> Inferred {
        if let Some(conflict) = other.conflict {
            match &self.conflict {
                Some(mine)
                    if (&mine.second_file, &mine.field)
                        <= (&conflict.second_file, &conflict.field) => {}
                _ => self.conflict = Some(conflict),
            }
        }
        self.merge_node(other.root);
        self
    }
}

/// The type of one value; a conflict inside it (a list of lists and objects) goes to
/// `conflict`.
fn node_of(
    view: View<'_>,
    file: &Arc<Path>,
    position: &mut usize,
    field: &mut String,
    conflict: &mut Option<Conflict>,
) -> Node {
    *position += 1;
    let seen = Some(Seen {
        file: Arc::clone(file),
        position: *position,
    });
    let kind = match view {
        View::Null => {
            return Node {
                kind: Kind::Null,
                seen: None,
                order: seen,
            }
        }
        View::Bool(_) => Kind::Bool,
        View::Int(_) => Kind::Int,
        View::UInt(_) => Kind::UInt,
        View::Float(_) => Kind::Float,
        View::Str(_) => Kind::Str,
        // Embeddings and boxes: lists of floats, typed without a node per element.
        View::Array(items) if items.all_floats() => {
            let first = Some(Seen {
                file: Arc::clone(file),
                position: *position + 1,
            });
            *position += items.len();
            Kind::List(Box::new(Node {
                kind: Kind::Float,
                order: first.clone(),
                seen: first,
            }))
        }
        View::Array(items) => {
            let mut element = Node::null();
            let len = field.len();
            field.push_str("/*");
            for item in items.iter() {
                let next = node_of(item, file, position, field, conflict);
                element = merge(element, next, field, conflict);
            }
            field.truncate(len);
            Kind::List(Box::new(element))
        }
        View::Object(map) => {
            let mut fields: Vec<(String, Node)> = Vec::with_capacity(map.len());
            for (key, value) in map.iter() {
                // A repeated key: the first one is the column.
                if fields.iter().any(|(k, _)| k == key) {
                    continue;
                }
                let len = field.len();
                field.push('/');
                field.push_str(&key.replace('~', "~0").replace('/', "~1"));
                fields.push((
                    key.to_owned(),
                    node_of(value, file, position, field, conflict),
                ));
                field.truncate(len);
            }
            Kind::Struct(fields)
        }
    };
    Node {
        kind,
        order: seen.clone(),
        seen,
    }
}

fn earlier(a: Option<Seen>, b: Option<Seen>) -> Option<Seen> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The union of two types; on a conflict, the one decided first is kept and the conflict
/// goes to `conflict` (the first one found stays).
fn merge(a: Node, b: Node, field: &mut String, conflict: &mut Option<Conflict>) -> Node {
    let scalar = |kind: &Kind| !matches!(kind, Kind::List(_) | Kind::Struct(_));
    if scalar(&a.kind) && std::mem::discriminant(&a.kind) == std::mem::discriminant(&b.kind) {
        return Node {
            kind: a.kind,
            seen: earlier(a.seen, b.seen),
            order: earlier(a.order, b.order),
        };
    }
    let seen = earlier(a.seen.clone(), b.seen.clone());
    let order = earlier(a.order.clone(), b.order.clone());
    let kind = match (a.kind, b.kind) {
        (Kind::Null, kind) | (kind, Kind::Null) => kind,
        (Kind::Bool, Kind::Bool) => Kind::Bool,
        (Kind::Int, Kind::Int) => Kind::Int,
        (Kind::UInt, Kind::UInt) => Kind::UInt,
        (Kind::Str, Kind::Str) => Kind::Str,
        (Kind::Float | Kind::Int, Kind::Float | Kind::Int) => Kind::Float,
        (Kind::List(x), Kind::List(y)) => {
            let len = field.len();
            field.push_str("/*");
            let element = merge(*x, *y, field, conflict);
            field.truncate(len);
            Kind::List(Box::new(element))
        }
        (Kind::Struct(mut mine), Kind::Struct(theirs)) => {
            for (key, node) in theirs {
                match mine.iter().position(|(k, _)| *k == key) {
                    Some(at) => {
                        let held = std::mem::replace(&mut mine[at].1, Node::null());
                        let len = field.len();
                        field.push('/');
                        field.push_str(&key.replace('~', "~0").replace('/', "~1"));
                        mine[at].1 = merge(held, node, field, conflict);
                        field.truncate(len);
                    }
                    None => mine.push((key, node)),
                }
            }
            // Fields in the order first seen, whichever file each came from.
            mine.sort_by(|(_, x), (_, y)| x.order.cmp(&y.order));
            Kind::Struct(mine)
        }
        (x, y) => {
            let shown = |seen: &Option<Seen>| {
                seen.as_ref()
                    .map(|s| crate::ops::display_path(&s.file))
                    .unwrap_or_default()
            };
            let (first, second) = if a.seen <= b.seen {
                ((x, a.seen), (y, b.seen))
            } else {
                ((y, b.seen), (x, a.seen))
            };
            conflict.get_or_insert(Conflict {
                field: if field.is_empty() {
                    "/".into()
                } else {
                    field.clone()
                },
                first_file: shown(&first.1),
                first_type: first.0.name(),
                second_file: shown(&second.1),
                second_type: second.0.name(),
            });
            return Node {
                kind: first.0,
                seen: first.1,
                order,
            };
        }
    };
    Node { kind, seen, order }
}

/// The Arrow type of a field.
fn data_type(kind: &Kind) -> DataType {
    match kind {
        Kind::Null => DataType::Null,
        Kind::Bool => DataType::Boolean,
        Kind::Int => DataType::Int64,
        Kind::UInt => DataType::UInt64,
        Kind::Float => DataType::Float64,
        Kind::Str => DataType::Utf8,
        Kind::List(element) => {
            DataType::List(Arc::new(Field::new("item", data_type(&element.kind), true)))
        }
        Kind::Struct(fields) if fields.is_empty() => DataType::Null,
        Kind::Struct(fields) => DataType::Struct(struct_fields(fields)),
    }
}

fn struct_fields(fields: &[(String, Node)]) -> Fields {
    fields
        .iter()
        .map(|(name, node)| Field::new(name, data_type(&node.kind), true))
        .collect()
}

/// The column of a row's value, or of one `--fields` pointer into it.
#[derive(Debug, Clone)]
pub struct ValueColumn {
    pub name: String,
    /// `None`: the whole row value.
    pub pointer: Option<String>,
    kind: Kind,
}

/// The table's layout: the fixed columns, then the value columns.
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: Arc<Schema>,
    with_index: bool,
    columns: Vec<ValueColumn>,
}

impl Table {
    /// The layout for `inferred`: `path`, `image`, `format`, `size`, with `--rows` `index`,
    /// then `document` (or `row`), or one column per `fields` pointer.
    pub fn new(inferred: &Inferred, rows: bool, fields: &[String]) -> Table {
        let columns = if fields.is_empty() {
            vec![ValueColumn {
                name: if rows { "row" } else { "document" }.into(),
                pointer: None,
                kind: inferred.root.kind.clone(),
            }]
        } else {
            fields
                .iter()
                .map(|pointer| ValueColumn {
                    name: pointer.clone(),
                    pointer: Some(pointer.clone()),
                    kind: at_pointer(&inferred.root, pointer).unwrap_or(Kind::Null),
                })
                .collect()
        };
        let mut schema = vec![
            Field::new("path", DataType::Utf8, false),
            Field::new("image", DataType::Utf8, true),
            Field::new("format", DataType::Utf8, false),
            Field::new("size", DataType::UInt64, false),
        ];
        if rows {
            schema.push(Field::new("index", DataType::UInt64, false));
        }
        schema.extend(
            columns
                .iter()
                .map(|c| Field::new(&c.name, data_type(&c.kind), true)),
        );
        Table {
            schema: Arc::new(Schema::new(schema)),
            with_index: rows,
            columns,
        }
    }

    /// Whether a row's value fits the table's types (a file changed since the first pass may
    /// not): `Err` names the field that does not.
    pub fn fits(&self, row: View<'_>) -> Result<(), String> {
        for column in &self.columns {
            let value = match &column.pointer {
                None => Some(row),
                Some(pointer) => row.pointer(pointer),
            };
            if let Some(value) = value {
                fits(
                    &column.kind,
                    value,
                    &mut column.pointer.clone().unwrap_or_default(),
                )?;
            }
        }
        Ok(())
    }

    /// A record batch of rows.
    pub fn batch(&self, rows: &[Row]) -> Result<RecordBatch, String> {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.path.as_str()),
            )),
            Arc::new(StringArray::from_iter(
                rows.iter().map(|r| r.image.as_deref()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.format.as_str()),
            )),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.size))),
        ];
        if self.with_index {
            arrays.push(Arc::new(UInt64Array::from_iter_values(
                rows.iter().map(|r| r.index.unwrap_or(0) as u64),
            )));
        }
        // Each row's value read back from its canonical encoding, in place.
        let mut tapes = Vec::with_capacity(rows.len());
        for row in rows {
            let mut tape = Tape::default();
            canonical::read(&row.value, 0, &mut tape).map_err(|e| e.to_string())?;
            tapes.push(tape);
        }
        let views: Vec<_> = tapes
            .iter()
            .zip(rows)
            .map(|(tape, row)| tape.view(&row.value))
            .collect();
        for column in &self.columns {
            let values: Vec<Option<View<'_>>> = views
                .iter()
                .map(|view| match &column.pointer {
                    None => Some(view.root()),
                    Some(pointer) => view.root().pointer(pointer),
                })
                .collect();
            arrays.push(build(&column.kind, &values));
        }
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| e.to_string())
    }
}

/// One row waiting for its batch.
pub struct Row {
    pub path: String,
    pub image: Option<String>,
    pub format: String,
    pub size: u64,
    pub index: Option<usize>,
    /// The row's value, in the canonical encoding (one allocation, not one per node).
    pub value: Vec<u8>,
}

/// The type at a pointer into the inferred type (`/faces/0/x`: any index, the element type).
fn at_pointer(root: &Node, pointer: &str) -> Option<Kind> {
    let mut at = &root.kind;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        at = match at {
            Kind::Struct(fields) => &fields.iter().find(|(k, _)| *k == token)?.1.kind,
            Kind::List(element) if token.bytes().all(|b| b.is_ascii_digit()) => &element.kind,
            _ => return None,
        };
    }
    Some(at.clone())
}

fn fits(kind: &Kind, view: View<'_>, field: &mut String) -> Result<(), String> {
    let ok = match (kind, view) {
        (_, View::Null) => true,
        (Kind::Bool, View::Bool(_)) | (Kind::Int, View::Int(_)) | (Kind::UInt, View::UInt(_)) => {
            true
        }
        (Kind::Float, View::Float(_) | View::Int(_)) | (Kind::Str, View::Str(_)) => true,
        (Kind::List(element), View::Array(items))
            if matches!(element.kind, Kind::Float) && items.all_floats() =>
        {
            true
        }
        (Kind::List(element), View::Array(items)) => {
            let len = field.len();
            field.push_str("/*");
            for item in items.iter() {
                fits(&element.kind, item, field)?;
            }
            field.truncate(len);
            true
        }
        (Kind::Struct(fields), View::Object(map)) => {
            for (key, value) in map.iter() {
                let len = field.len();
                field.push('/');
                field.push_str(key);
                match fields.iter().find(|(k, _)| k == key) {
                    Some((_, node)) => fits(&node.kind, value, field)?,
                    None => {
                        return Err(format!(
                            "{field} was not in the tree when its types were inferred"
                        ))
                    }
                }
                field.truncate(len);
            }
            true
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not {} as it was when the types were inferred (the file changed meanwhile)",
            if field.is_empty() { "/" } else { field },
            kind.name()
        ))
    }
}

/// An Arrow array of `values` (`None`: no value) as `kind`; each value fits (see
/// [`Table::fits`]).
fn build(kind: &Kind, values: &[Option<View<'_>>]) -> ArrayRef {
    match kind {
        Kind::Null => Arc::new(NullArray::new(values.len())),
        Kind::Bool => Arc::new(BooleanArray::from_iter(
            values.iter().map(|v| v.and_then(View::as_bool)),
        )),
        Kind::Int => Arc::new(Int64Array::from_iter(values.iter().map(|v| match v {
            Some(View::Int(i)) => Some(*i),
            _ => None,
        }))),
        Kind::UInt => Arc::new(UInt64Array::from_iter(values.iter().map(|v| match v {
            Some(View::UInt(u)) => Some(*u),
            _ => None,
        }))),
        Kind::Float => Arc::new(Float64Array::from_iter(values.iter().map(|v| match v {
            Some(View::Float(x)) => Some(*x),
            Some(View::Int(i)) => Some(*i as f64),
            _ => None,
        }))),
        Kind::Str => Arc::new(StringArray::from_iter(
            values.iter().map(|v| v.and_then(View::as_str)),
        )),
        Kind::List(element) => {
            let mut children = Vec::new();
            let mut lengths = Vec::with_capacity(values.len());
            let mut valid = Vec::with_capacity(values.len());
            for value in values {
                match value.and_then(View::as_array) {
                    Some(items) => {
                        lengths.push(items.len());
                        children.extend(items.iter().map(Some));
                        valid.push(true);
                    }
                    None => {
                        lengths.push(0);
                        valid.push(false);
                    }
                }
            }
            let field = Arc::new(Field::new("item", data_type(&element.kind), true));
            Arc::new(ListArray::new(
                field,
                OffsetBuffer::from_lengths(lengths),
                build(&element.kind, &children),
                Some(NullBuffer::from(valid)),
            ))
        }
        Kind::Struct(fields) if fields.is_empty() => Arc::new(NullArray::new(values.len())),
        Kind::Struct(fields) => {
            let valid: Vec<bool> = values
                .iter()
                .map(|v| v.is_some_and(|v| v.as_object().is_some()))
                .collect();
            let arrays: Vec<ArrayRef> = fields
                .iter()
                .map(|(name, node)| {
                    let children: Vec<Option<View<'_>>> =
                        values.iter().map(|v| v.and_then(|v| v.get(name))).collect();
                    build(&node.kind, &children)
                })
                .collect();
            Arc::new(StructArray::new(
                struct_fields(fields),
                arrays,
                Some(NullBuffer::from(valid)),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn json(text: &str) -> Value {
        sidecar_model::serde::to_value(&serde_json::from_str::<serde_json::Value>(text).unwrap())
            .unwrap()
    }

    #[test]
    fn types_widen_merge_and_conflict_with_both_files_named() {
        let mut inferred = Inferred::default();
        inferred.observe(
            json(r#"{"a": 1, "b": null, "c": [1]}"#).view(),
            Path::new("x.json"),
        );
        inferred.observe(
            json(r#"{"a": 2.5, "b": "s", "d": {}}"#).view(),
            Path::new("y.json"),
        );
        assert!(inferred.conflict.is_none());
        let table = Table::new(&inferred, false, &[]);
        let document = table.schema.field_with_name("document").unwrap();
        let DataType::Struct(fields) = document.data_type() else {
            panic!("{document:?}")
        };
        let names: Vec<_> = fields.iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert_eq!(fields[0].data_type(), &DataType::Float64);
        assert_eq!(fields[1].data_type(), &DataType::Utf8);
        assert_eq!(fields[3].data_type(), &DataType::Null);

        inferred.observe(json(r#"{"c": ["text"]}"#).view(), Path::new("z.json"));
        let conflict = inferred.conflict.unwrap();
        assert_eq!(conflict.field, "/c/*");
        assert_eq!(
            (conflict.first_file.as_str(), conflict.second_file.as_str()),
            ("x.json", "z.json")
        );
        assert_eq!(
            (conflict.first_type, conflict.second_type),
            ("an integer", "a string")
        );
    }
}
