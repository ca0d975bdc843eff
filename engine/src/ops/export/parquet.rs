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
//!
//! Types can be declared instead ([`read_types`]), which spares the first pass: a types
//! document in JSON says the shape of a row, `"bool"`, `"int64"`, `"uint64"`, `"float64"`,
//! `"string"` or `"null"` for a scalar, `[T]` for a list of `T`, and `{"key": T, …}` for a
//! struct with those fields in that order. Every Parquet file an export writes carries its
//! types document in its footer (under [`TYPES_KEY`]), so naming an earlier export declares
//! the same types again.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, ListArray, NullArray, RecordBatch, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBufferBuilder};
use arrow_schema::{DataType, Field, Fields, Schema};
use serde::Serialize;

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

    /// The name of the type as a types document writes it (a list or struct by its shape).
    fn declared_name(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "bool",
            Kind::Int => "int64",
            Kind::UInt => "uint64",
            Kind::Float => "float64",
            Kind::Str => "string",
            Kind::List(_) => "a list ([T])",
            Kind::Struct(_) => "a struct ({…})",
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
        Node::unseen(Kind::Null)
    }

    /// A node of `kind` no file showed (a declared type).
    fn unseen(kind: Kind) -> Node {
        Node {
            kind,
            seen: None,
            order: None,
        }
    }
}

/// Appends `key` to a JSON pointer, escaped.
fn push_key(pointer: &mut String, key: &str) {
    pointer.push('/');
    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
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

/// The inferred type of the rows' documents (or `--rows` elements), and the first conflict;
/// or the types declared.
#[derive(Debug, Clone)]
pub struct Inferred {
    root: Node,
    pub conflict: Option<Conflict>,
    declared: bool,
}

impl Default for Inferred {
    fn default() -> Inferred {
        Inferred {
            root: Node::null(),
            conflict: None,
            declared: false,
        }
    }
}

/// The key of the Parquet footer's metadata holding the rows' types document.
pub const TYPES_KEY: &str = "image-sidecar-rust:types";

/// Reads declared types from `path`: a types document, or a Parquet file an export wrote.
/// The error says what is wrong and where (line and column, or the JSON pointer of the
/// entry).
pub fn read_types(path: &Path) -> Result<Inferred, String> {
    let shown = crate::ops::display_path(path);
    let mut file = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let mut magic = [0u8; 4];
    let parquet = std::io::Read::read_exact(&mut file, &mut magic).is_ok() && &magic == b"PAR1";
    let text = if parquet {
        use ::parquet::file::reader::FileReader;
        let file = ::parquet::file::reader::SerializedFileReader::new(file)
            .map_err(|e| format!("{shown}: not a readable Parquet file: {e}"))?;
        file.metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|entries| entries.iter().find(|kv| kv.key == TYPES_KEY))
            .and_then(|kv| kv.value.clone())
            .ok_or_else(|| {
                format!("{shown}: this Parquet file holds no types of an image-sidecar-rust export (declare them in a types document instead)")
            })?
    } else {
        let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
        String::from_utf8(bytes).map_err(|e| format!("{shown}: not UTF-8 text: {e}"))?
    };
    let document: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{shown}:{}:{}: not a types document: {e}",
            e.line(),
            e.column()
        )
    })?;
    let kind = declared_kind(&document, &mut String::new())
        .map_err(|(at, what)| format!("{shown}: at {at}: {what}"))?;
    Ok(Inferred {
        root: Node::unseen(kind),
        conflict: None,
        declared: true,
    })
}

fn declared_kind(value: &serde_json::Value, at: &mut String) -> Result<Kind, (String, String)> {
    use serde_json::Value as J;
    let shown = |at: &String| {
        if at.is_empty() {
            "/".to_owned()
        } else {
            at.clone()
        }
    };
    Ok(match value {
        J::String(name) => match name.as_str() {
            "null" => Kind::Null,
            "bool" => Kind::Bool,
            "int64" => Kind::Int,
            "uint64" => Kind::UInt,
            "float64" => Kind::Float,
            "string" => Kind::Str,
            other => {
                return Err((
                    shown(at),
                    format!("unknown type {other:?} (bool, int64, uint64, float64, string or null; [T] for a list, {{…}} for a struct)"),
                ))
            }
        },
        J::Array(items) if items.len() == 1 => {
            let len = at.len();
            at.push_str("/0");
            let element = declared_kind(&items[0], at)?;
            at.truncate(len);
            Kind::List(Box::new(Node::unseen(element)))
        }
        J::Array(items) => {
            return Err((
                shown(at),
                format!("a list type holds one element type, [T], not {}", items.len()),
            ))
        }
        J::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (key, value) in map {
                let len = at.len();
                push_key(at, key);
                fields.push((key.clone(), Node::unseen(declared_kind(value, at)?)));
                at.truncate(len);
            }
            Kind::Struct(fields)
        }
        other => {
            return Err((
                shown(at),
                format!("{other} is not a type (a type name as a string, [T] or {{…}})"),
            ))
        }
    })
}

/// `kind` as a types document.
fn types_document(kind: &Kind) -> serde_json::Value {
    use serde_json::Value as J;
    match kind {
        Kind::Null => J::from("null"),
        Kind::Bool => J::from("bool"),
        Kind::Int => J::from("int64"),
        Kind::UInt => J::from("uint64"),
        Kind::Float => J::from("float64"),
        Kind::Str => J::from("string"),
        Kind::List(element) => J::Array(vec![types_document(&element.kind)]),
        Kind::Struct(fields) => J::Object(
            fields
                .iter()
                .map(|(key, node)| (key.clone(), types_document(&node.kind)))
                .collect(),
        ),
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
                push_key(field, key);
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
                        push_key(field, &key);
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
    /// The rows' types document (for the file's footer).
    pub types: String,
    /// Whether the types were declared, not inferred from the files.
    declared: bool,
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
            types: types_document(&inferred.root.kind).to_string(),
            declared: inferred.declared,
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
                )
                .map_err(|misfit| misfit.reason(self.declared))?;
            }
        }
        Ok(())
    }
}

/// Rows being built into a record batch, each value appended to its column's builder as its
/// file is read (nothing of a document is kept once its rows are in).
pub struct Batch {
    table: Arc<Table>,
    paths: StringBuilder,
    images: StringBuilder,
    formats: StringBuilder,
    sizes: UInt64Builder,
    indexes: UInt64Builder,
    columns: Vec<Builder>,
    rows: usize,
}

impl Batch {
    /// An empty batch of `table`'s layout.
    pub fn new(table: Arc<Table>) -> Batch {
        let columns = table
            .columns
            .iter()
            .map(|c| Builder::new(&c.kind))
            .collect();
        Batch {
            table,
            paths: StringBuilder::new(),
            images: StringBuilder::new(),
            formats: StringBuilder::new(),
            sizes: UInt64Builder::new(),
            indexes: UInt64Builder::new(),
            columns,
            rows: 0,
        }
    }

    /// The rows held.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row; `row` fits the table (see [`Table::fits`]).
    pub fn push(&mut self, file: RowFile<'_>, index: Option<usize>, row: View<'_>) {
        self.paths.append_value(file.path);
        self.images.append_option(file.image);
        self.formats.append_value(file.format);
        self.sizes.append_value(file.size);
        if self.table.with_index {
            self.indexes.append_value(index.unwrap_or(0) as u64);
        }
        for (builder, column) in self.columns.iter_mut().zip(&self.table.columns) {
            let value = match &column.pointer {
                None => Some(row),
                Some(pointer) => row.pointer(pointer),
            };
            builder.append(value);
        }
        self.rows += 1;
    }

    /// The rows held as a record batch; the batch is empty afterwards.
    pub fn finish(&mut self) -> Result<RecordBatch, String> {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(self.paths.finish()),
            Arc::new(self.images.finish()),
            Arc::new(self.formats.finish()),
            Arc::new(self.sizes.finish()),
        ];
        if self.table.with_index {
            arrays.push(Arc::new(self.indexes.finish()));
        }
        for builder in &mut self.columns {
            arrays.push(builder.finish()?);
        }
        self.rows = 0;
        RecordBatch::try_new(self.table.schema.clone(), arrays).map_err(|e| e.to_string())
    }
}

/// What a row says of its file.
#[derive(Clone, Copy)]
pub struct RowFile<'a> {
    pub path: &'a str,
    pub image: Option<&'a str>,
    pub format: &'a str,
    pub size: u64,
}

/// The builder of one column of an inferred type.
enum Builder {
    Null(usize),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    UInt(UInt64Builder),
    Float(Float64Builder),
    Str(StringBuilder),
    List {
        field: Arc<Field>,
        offsets: OffsetBufferBuilder<i32>,
        valid: NullBufferBuilder,
        element: Box<Builder>,
    },
    Struct {
        fields: Fields,
        valid: NullBufferBuilder,
        children: Vec<(String, Builder)>,
    },
}

impl Builder {
    fn new(kind: &Kind) -> Builder {
        match kind {
            Kind::Null => Builder::Null(0),
            Kind::Struct(fields) if fields.is_empty() => Builder::Null(0),
            Kind::Bool => Builder::Bool(BooleanBuilder::new()),
            Kind::Int => Builder::Int(Int64Builder::new()),
            Kind::UInt => Builder::UInt(UInt64Builder::new()),
            Kind::Float => Builder::Float(Float64Builder::new()),
            Kind::Str => Builder::Str(StringBuilder::new()),
            Kind::List(element) => Builder::List {
                field: Arc::new(Field::new("item", data_type(&element.kind), true)),
                offsets: OffsetBufferBuilder::new(0),
                valid: NullBufferBuilder::new(0),
                element: Box::new(Builder::new(&element.kind)),
            },
            Kind::Struct(fields) => Builder::Struct {
                fields: struct_fields(fields),
                valid: NullBufferBuilder::new(0),
                children: fields
                    .iter()
                    .map(|(name, node)| (name.clone(), Builder::new(&node.kind)))
                    .collect(),
            },
        }
    }

    /// Appends a value (`None`: none), which fits the builder's type.
    fn append(&mut self, value: Option<View<'_>>) {
        match self {
            Builder::Null(n) => *n += 1,
            Builder::Bool(b) => b.append_option(value.and_then(View::as_bool)),
            Builder::Int(b) => b.append_option(match value {
                Some(View::Int(i)) => Some(i),
                _ => None,
            }),
            Builder::UInt(b) => b.append_option(match value {
                Some(View::UInt(u)) => Some(u),
                Some(View::Int(i)) => u64::try_from(i).ok(),
                _ => None,
            }),
            Builder::Float(b) => b.append_option(match value {
                Some(View::Float(x)) => Some(x),
                Some(View::Int(i)) => Some(i as f64),
                _ => None,
            }),
            Builder::Str(b) => b.append_option(value.and_then(View::as_str)),
            Builder::List {
                offsets,
                valid,
                element,
                ..
            } => match value.and_then(View::as_array) {
                Some(items) => {
                    // Embeddings and boxes: floats converted in one loop, not one view each.
                    let floats = match &mut **element {
                        Builder::Float(b) => items.floats().map(|xs| b.append_slice(&xs)),
                        _ => None,
                    };
                    if floats.is_none() {
                        for item in items.iter() {
                            element.append(Some(item));
                        }
                    }
                    offsets.push_length(items.len());
                    valid.append_non_null();
                }
                None => {
                    offsets.push_length(0);
                    valid.append_null();
                }
            },
            Builder::Struct {
                valid, children, ..
            } => match value.and_then(View::as_object) {
                Some(map) => {
                    for (name, child) in children.iter_mut() {
                        child.append(map.get(name));
                    }
                    valid.append_non_null();
                }
                None => {
                    for (_, child) in children.iter_mut() {
                        child.append(None);
                    }
                    valid.append_null();
                }
            },
        }
    }

    /// The values appended as an array; the builder is empty afterwards.
    fn finish(&mut self) -> Result<ArrayRef, String> {
        Ok(match self {
            Builder::Null(n) => Arc::new(NullArray::new(std::mem::take(n))),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::UInt(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::List {
                field,
                offsets,
                valid,
                element,
            } => {
                let offsets = std::mem::replace(offsets, OffsetBufferBuilder::new(0))
                    .try_finish()
                    .map_err(|_| "a batch's list holds more than 2^31 elements".to_owned())?;
                Arc::new(
                    ListArray::try_new(field.clone(), offsets, element.finish()?, valid.finish())
                        .map_err(|e| e.to_string())?,
                )
            }
            Builder::Struct {
                fields,
                valid,
                children,
            } => {
                let arrays = children
                    .iter_mut()
                    .map(|(_, child)| child.finish())
                    .collect::<Result<Vec<_>, _>>()?;
                Arc::new(
                    StructArray::try_new(fields.clone(), arrays, valid.finish())
                        .map_err(|e| e.to_string())?,
                )
            }
        })
    }
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

/// Where a value does not fit its column's type.
enum Misfit<'k> {
    /// The field (a JSON pointer) has no column.
    Unknown(String),
    /// The field holds a value of another type than its column's, `expected`.
    Other {
        field: String,
        expected: &'k Kind,
        found: &'static str,
    },
}

impl Misfit<'_> {
    fn reason(self, declared: bool) -> String {
        match (self, declared) {
            (Misfit::Unknown(field), true) => format!("{field} is not in the declared types"),
            (Misfit::Unknown(field), false) => {
                format!("{field} was not in the tree when its types were inferred")
            }
            (
                Misfit::Other {
                    field,
                    expected,
                    found,
                },
                true,
            ) => format!(
                "{field} holds {found}, not {} as the declared types say",
                expected.declared_name()
            ),
            (Misfit::Other { field, expected, .. }, false) => format!(
                "{field} is not {} as it was when the types were inferred (the file changed meanwhile)",
                expected.name()
            ),
        }
    }
}

fn fits<'k>(kind: &'k Kind, view: View<'_>, field: &mut String) -> Result<(), Misfit<'k>> {
    let ok = match (kind, view) {
        (_, View::Null) => true,
        (Kind::Bool, View::Bool(_)) | (Kind::Int, View::Int(_)) | (Kind::UInt, View::UInt(_)) => {
            true
        }
        // Declared unsigned: a document's non-negative integers are `Int`s.
        (Kind::UInt, View::Int(i)) => i >= 0,
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
                    None => return Err(Misfit::Unknown(field.clone())),
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
        Err(Misfit::Other {
            field: if field.is_empty() {
                "/".into()
            } else {
                field.clone()
            },
            expected: kind,
            found: match view {
                View::Null => "null",
                View::Bool(_) => "a boolean",
                View::Int(_) | View::UInt(_) => "an integer",
                View::Float(_) => "a float",
                View::Str(_) => "a string",
                View::Array(_) => "a list",
                View::Object(_) => "an object",
            },
        })
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

    #[test]
    fn a_types_document_reads_back_as_the_types_it_declares() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("types.json");
        let text = r#"{"z":"uint64","a":{"b":["float64"],"c":[["string"]]},"d":"bool","e":"int64","f":"null"}"#;
        std::fs::write(&path, text).unwrap();
        let types = read_types(&path).unwrap();
        assert!(types.declared);
        // Written back in the declared order, not sorted.
        assert_eq!(types_document(&types.root.kind).to_string(), text);
        let table = Table::new(&types, false, &[]);
        assert_eq!(table.types, text);

        let mut inferred = Inferred::default();
        inferred.observe(
            json(r#"{"z": 1, "a": {"b": [1.5]}}"#).view(),
            Path::new("x.json"),
        );
        let table = Table::new(&inferred, false, &[]);
        std::fs::write(&path, &table.types).unwrap();
        let again = Table::new(&read_types(&path).unwrap(), false, &[]);
        assert_eq!(again.schema, table.schema, "{}", table.types);
    }
}
